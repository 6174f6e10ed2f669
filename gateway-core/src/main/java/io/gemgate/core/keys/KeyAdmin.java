package io.gemgate.core.keys;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Changes to the keys themselves: keys added at run time, enabled, disabled, soft-removed, restored, marked invalid or
 * valid, edited ({@link KeyChange}), whether by an admin, a probe, a restore at start or another gateway (the
 * {@code apply*} methods, which do not tell the {@link KeyPool.Listener}, so that a change is not sent back).
 *
 * <p>Each change to a key is one compare-and-set of its {@link KeyState}: a reader (selection, the admin API, the
 * shared store's writer) sees all of an edit or none of it. A change of weight, tier, project or groups then
 * publishes a new ring; any change refiles the key in the lanes and, unless it came from elsewhere, tells the
 * listener once.
 *
 * <p>Callers: {@link KeyPool} (admin API, prober, clean-up, shared store, state restore). Threads: any, never an
 * event loop's hot path; changes that rebuild the ring hold the {@link KeyRing}'s monitor.
 */
final class KeyAdmin {
    private final KeyRing ring;

    KeyAdmin(KeyRing ring) {
        this.ring = ring;
    }

    // ------------------------------------------------------------------------------------------------------ add

    /** See {@link KeyPool#addKeys}. */
    KeyPool.AddResult addKeys(List<KeySpec> specs) {
        synchronized (ring) {
            KeyPool.AddResult r = add(specs);
            ring.keysAdded(r.added());
            return r;
        }
    }

    /** See {@link KeyPool#applyAddedKeys}. */
    KeyPool.AddResult applyAddedKeys(List<KeySpec> specs) {
        synchronized (ring) {
            return add(specs);
        }
    }

    private KeyPool.AddResult add(List<KeySpec> specs) {
        Map<String, ApiKey> byId = new LinkedHashMap<>();
        for (ApiKey k : ring.keys()) {
            byId.put(k.fingerprint(), k);
        }
        List<ApiKey> added = new ArrayList<>();
        int duplicates = 0;
        for (KeySpec spec : specs) {
            ApiKey k = ring.newKey(spec);
            if (byId.putIfAbsent(k.fingerprint(), k) != null) {
                duplicates++;
                continue;
            }
            ring.useSlot();
            added.add(k);
        }
        if (!added.isEmpty()) {
            ring.rebuild(byId.values().toArray(new ApiKey[0]));
        }
        return new KeyPool.AddResult(List.copyOf(added), duplicates);
    }

    // ---------------------------------------------------------------------------------------------------- marks

    /** See {@link KeyPool#setEnabled}. */
    boolean setEnabled(String id, boolean enabled) {
        return change(id, st -> st.withEnabled(enabled));
    }

    /** See {@link KeyPool#setRemoved}. */
    boolean setRemoved(String id, boolean removed) {
        return change(id, st -> st.withRemoved(removed));
    }

    /** See {@link KeyPool#markInvalid}. */
    boolean markInvalid(String id, String reason) {
        requireNonNull(reason, "reason");
        long now = ring.clock.getAsLong();
        return change(id, st -> st.withInvalid(st.isInvalid() ? st.invalidSinceMillis() : now, reason));
    }

    /** See {@link KeyPool#markValid}. */
    boolean markValid(String id) {
        return change(id, st -> st.withInvalid(0, ""));
    }

    /** One mark changed whole, then the lanes, the persister and the listener hear of it. */
    private boolean change(String id, java.util.function.UnaryOperator<KeyState> c) {
        ApiKey k = ring.find(id);
        if (k == null) {
            return false;
        }
        k.update(c);
        ring.refile(k);
        ring.markDirty();
        ring.keyChanged(k);
        return true;
    }

    // ---------------------------------------------------------------------------------------------------- edits

    /** See {@link KeyPool#edit}. */
    boolean edit(String id, KeyChange change) {
        requireNonNull(change, "change");
        synchronized (ring) {
            ApiKey k = ring.find(id);
            if (k == null) {
                return false;
            }
            change.applyTo(k.spec()); // IllegalArgumentException before anything changes
            KeyState before = k.state();
            KeyState after = k.update(st -> {
                KeyState next = st.withSpec(change.applyTo(st.spec()));
                return change.enabled() == null ? next : next.withEnabled(change.enabled());
            });
            publish(k, before, after);
            ring.markDirty();
            ring.keyChanged(k);
            return true;
        }
    }

    /** See {@link KeyPool#applyKeyState}. */
    boolean applyKeyState(String id, boolean enabled, boolean removed, long invalidSince, String invalidReason,
                          int weight, String label, String project, Integer tier, Set<String> groups) {
        synchronized (ring) {
            ApiKey k = ring.find(id);
            if (k == null) {
                return false;
            }
            String reason = invalidSince == 0 ? "" : requireNonNull(invalidReason, "invalidReason");
            KeyState before = k.state();
            KeySpec now = before.spec();
            KeySpec spec = new KeySpec(now.secret(), project, weight, label, tier == null ? now.tier() : tier,
                    groups == null ? now.groups() : groups, now.proxy());
            KeyState next = new KeyState(spec, enabled, removed, invalidSince, reason);
            if (next.sameAs(before)) {
                return true; // the periodic re-read of the shared state finds most keys unchanged
            }
            KeyState after = k.update(st -> new KeyState(spec, enabled, removed, invalidSince, reason));
            publish(k, before, after);
            ring.markDirty();
            return true;
        }
    }

    /**
     * After a key's state changed: a new ring when its weight, tier, project or groups changed (schedule, project
     * groups and lanes follow them), and the key refiled in every lane.
     */
    private void publish(ApiKey k, KeyState before, KeyState after) {
        KeySpec a = before.spec();
        KeySpec b = after.spec();
        if (a.weight() != b.weight() || a.tier() != b.tier() || !a.project().equals(b.project())
                || !a.groups().equals(b.groups())) {
            ring.rebuild(ring.keys().clone());
        }
        if (before.isInRotation() != after.isInRotation()) {
            ring.refile(k);
        }
    }

    // -------------------------------------------------------------------------------------------------- restore

    /** See {@link KeyPool#restoreKey}. */
    boolean restoreKey(String id, boolean disabled, long invalidSince, String invalidReason) {
        ApiKey k = ring.find(id);
        if (k == null) {
            return false;
        }
        k.update(st -> new KeyState(st.spec(), !disabled, st.isRemoved(), invalidSince, invalidReason));
        return true;
    }

    /** See {@link KeyPool#restoreModel}. */
    void restoreModel(ApiKey k, ModelRef model, long cooldownUntil, long exhaustedUntil, int rateLimitStreak,
                      long[] today) {
        long now = ring.clock.getAsLong();
        long day = ring.calendar.dayStart(now);
        KeyModelState s = k.state(model.index(), day);
        KeyRest r = s.rest();
        s.rest(new KeyRest(cooldownUntil > now ? cooldownUntil : r.cooldownUntilMillis(),
                exhaustedUntil > now ? exhaustedUntil : r.exhaustedUntilMillis(),
                today == null ? r.rateLimitStreak() : rateLimitStreak));
        if (today != null) {
            DayCounters c = s.today(day);
            for (int i = 0; i < DayCounters.COUNT; i++) {
                c.set(i, today[i]);
            }
        }
    }
}
