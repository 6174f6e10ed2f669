package io.gemgate.core.keys;

import io.gemgate.core.settings.KeyBudget;

/**
 * Selection and availability: which key a request gets ({@link #acquire}, {@link #acquireKey}), whether any can
 * serve a model ({@link #hasAvailableKey}, {@link #hasUsableKey}), when one will ({@link #nextFreeMillis}), why none
 * can ({@link #unavailable}) and each key's state for a model ({@link #status}, {@link #usage}).
 *
 * <p>Per model and group set, the keys that can serve are kept by tier in {@link ModelLanes}, which this class builds
 * on first use and which call back {@link #usable} and {@link #wakeAt} to file a key. Round robin walks a shared
 * cursor over a precomputed smooth weighted schedule, skipping resting keys for every request; least used and
 * adaptive compare two keys drawn among the usable ones (by today's requests per weight, or by health), or all of
 * them when a tier has {@value ModelLanes#EXACT_SCAN} or fewer. A request uses the lowest tier that has a usable key.
 * Optional per-key budgets pass over a key that has spent its requests or tokens of the minute, or its requests of
 * the day, for a model (see {@link KeyBudgetMeter}).
 *
 * <p>Callers: {@link KeyPool} (the proxy's exchanges on event loops, admin and metrics reads), {@link ModelLanes}.
 * Threads: any; selection is lock-free and allocation-free, O(1) amortized; it reads each key's in-rotation flag
 * (copied from its {@link KeyState}) and its {@link KeyRest} once, so it never acts on half a change.
 */
final class KeySelector {
    /** How long {@link #unavailable} reuses an answer while no key can serve. */
    static final long UNAVAILABLE_REUSE_MILLIS = 500;

    private final KeyRing ring;
    private final KeyBudgetMeter budgets;
    private final QuotaCalendar calendar;

    KeySelector(KeyRing ring) {
        this.ring = ring;
        this.budgets = ring.budgets;
        this.calendar = ring.calendar;
    }

    QuotaCalendar calendar() {
        return calendar;
    }

    // ------------------------------------------------------------------------------------------------- selection

    /** See {@link KeyPool#acquire(ModelRef, KeyGroups, KeyAttempts)}. */
    ApiKey acquire(ModelRef model, KeyGroups groups, KeyAttempts attempts) {
        if (attempts.isSpent()) {
            return null;
        }
        long now = ring.clock.getAsLong();
        ModelLanes l = lanes(model, groups, now);
        l.wake(now);
        KeyBudget budget = budgets.of(model);
        Strategy strategy = ring.settings.strategy();
        long day = calendar.dayStart(now);
        // Without a budget, the constant NONE lets the JIT drop the budget checks from the inlined selection.
        ApiKey k = budget == KeyBudget.NONE ? l.select(strategy, attempts, now, day, KeyBudget.NONE)
                : selectWithinBudget(l, strategy, model, attempts, now, day, budget);
        if (k != null) {
            attempts.add(k.slot());
            // Today's counters as the lanes keep them (one cache miss fewer than from the key, at 100,000 keys).
            DayCounters today = l.selectedDay(attempts, day);
            if (today == null) {
                today = selectedState(l, k, model, attempts, day).today(day);
            }
            today.add(DayCounters.REQUESTS, 1);
            ring.markDirty();
        }
        return k;
    }

    /** The selected key's state for the model, as the lanes found it, made when the key meets the model first. */
    private static KeyModelState selectedState(ModelLanes l, ApiKey k, ModelRef model, KeyAttempts attempts,
                                               long day) {
        KeyModelState s = l.selectedState(attempts);
        return s != null ? s : k.state(model.index(), day);
    }

    /** The lanes of a model and group set for the current ring, built when missing or made for an earlier ring. */
    private ModelLanes lanes(ModelRef model, KeyGroups groups, long now) {
        ModelLanes l = groups.lanes.get(model.index());
        if (l != null && l.keys == ring.keys()) {
            return l;
        }
        return buildLanes(model, groups, now);
    }

    private ModelLanes buildLanes(ModelRef model, KeyGroups groups, long now) {
        synchronized (ring) { // with KeyRing.refile(ApiKey) and dropLanes: no change is missed by lanes being built
            ModelLanes l = groups.lanes.get(model.index());
            ApiKey[] keys = ring.keys();
            if (l == null || l.keys != keys) {
                l = new ModelLanes(this, keys, model, groups, now);
                groups.lanes.set(model.index(), l);
            }
            return l;
        }
    }

    /** See {@link KeyPool#acquireKey}. */
    ApiKey acquireKey(ApiKey holder, ModelRef model, KeyAttempts attempts) {
        if (attempts.isSpent()) {
            return null;
        }
        long now = ring.clock.getAsLong();
        long day = calendar.dayStart(now);
        KeyBudget budget = budgets.of(model);
        ApiKey k = null;
        if (!attempts.contains(holder.slot()) && usable(holder, model, now, budget)
                && (budget == KeyBudget.NONE || budgets.take(holder.state(model.index(), day), budget, now))) {
            k = holder;
        } else {
            for (ApiKey m : holder.projectGroup) {
                if (m != holder && !attempts.contains(m.slot()) && usable(m, model, now, budget)
                        && (budget == KeyBudget.NONE || budgets.take(m.state(model.index(), day), budget, now))) {
                    k = m;
                    break;
                }
            }
        }
        if (k != null) {
            attempts.add(k.slot());
            k.state(model.index(), day).today(day).add(DayCounters.REQUESTS, 1);
            ring.markDirty();
        }
        return k;
    }

    /**
     * Selects a key with budget left and counts the minute's request for it. When a concurrent request took the
     * key's last one, that key is now over its budget: it leaves the lanes and another is selected.
     */
    private ApiKey selectWithinBudget(ModelLanes l, Strategy strategy, ModelRef model, KeyAttempts attempts, long now,
                                      long day, KeyBudget budget) {
        ApiKey k = l.select(strategy, attempts, now, day, budget);
        for (int i = 0; k != null && !budgets.take(selectedState(l, k, model, attempts, day), budget, now); i++) {
            l.update(k, now);
            k = i < l.keys.length ? l.select(strategy, attempts, now, day, budget) : null;
        }
        return k;
    }

    /** Whether a key may serve the model now: in rotation, not resting, within its budget. */
    boolean usable(ApiKey k, ModelRef model, long now, KeyBudget budget) {
        return usable(k, k.peek(model.index()), now, budget);
    }

    /** {@link #usable(ApiKey, ModelRef, long, KeyBudget)} with the key's state for the model ({@code s}) at hand. */
    boolean usable(ApiKey k, KeyModelState s, long now, KeyBudget budget) {
        if (!k.isInRotation()) {
            return false;
        }
        if (s == null) {
            return true;
        }
        KeyRest r = s.rest();
        return r.cooldownUntilMillis() <= now && r.exhaustedUntilMillis() <= now
                && (budget == KeyBudget.NONE || budgets.allows(s, budget, now));
    }

    /**
     * When a key may serve the model again: {@code now} when it may now; the end of its cooldown, daily exhaustion,
     * or of the minute (day) whose budget it spent; {@code Long.MAX_VALUE} when it is out of rotation (disabled,
     * removed, invalid: an edit or a probe brings it back).
     */
    long wakeAt(ApiKey k, ModelRef model, long now) {
        if (!k.isInRotation()) {
            return Long.MAX_VALUE;
        }
        KeyModelState s = k.peek(model.index());
        if (s == null) {
            return now;
        }
        long w = s.rest().until();
        KeyBudget b = budgets.of(model);
        if (b != KeyBudget.NONE) {
            if (budgets.overForDay(s, b, now)) {
                w = Math.max(w, calendar.nextReset(now));
            } else if (budgets.overForMinute(s, b, now)) {
                w = Math.max(w, budgets.minuteFree(s, b, now));
            }
        }
        return w <= now ? now : w;
    }

    // ------------------------------------------------------------------------------------------------ availability

    /** See {@link KeyPool#unavailable(ModelRef, KeyGroups)}. */
    Unavailable unavailable(ModelRef model, KeyGroups groups) {
        long now = ring.clock.getAsLong();
        // While no key can serve, every request asks this: reuse the answer for a moment rather than count the keys
        // again (O(keys)) each time. The lanes say in O(1) that none can serve; a new answer is made when one can.
        ModelLanes l = groups.lanes.get(model.index());
        boolean cacheable = l != null && l.keys == ring.keys() && !l.hasUsable();
        if (cacheable) {
            ModelLanes.Answer a = l.unavailable;
            if (a != null && now - a.atMillis() < UNAVAILABLE_REUSE_MILLIS && now >= a.atMillis()) {
                return a.answer();
            }
        }
        Unavailable u = countUnavailable(model, groups, now);
        if (cacheable) {
            l.unavailable = new ModelLanes.Answer(now, u);
        }
        return u;
    }

    private Unavailable countUnavailable(ModelRef model, KeyGroups groups, long now) {
        ApiKey[] all = ring.keys();
        ApiKey[] keys = all;
        if (!groups.isAll()) {
            int n = 0;
            for (ApiKey k : all) {
                if (groups.matches(k)) {
                    n++;
                }
            }
            keys = new ApiKey[n];
            n = 0;
            for (ApiKey k : all) {
                if (groups.matches(k)) {
                    keys[n++] = k;
                }
            }
        }
        KeyBudget budget = budgets.of(model);
        long firstFree = Long.MAX_VALUE;
        int exhausted = 0;
        int invalid = 0;
        int disabled = 0;
        int paced = 0;
        for (ApiKey k : keys) {
            KeyState st = k.state();
            if (!st.isEnabled() || st.isRemoved()) {
                disabled++;
                continue;
            }
            if (st.isInvalid()) {
                invalid++;
                continue;
            }
            KeyModelState s = k.peek(model.index());
            long free = freeAt(s, budget, now);
            if (free == Long.MAX_VALUE) {
                exhausted++;
            } else {
                firstFree = Math.min(firstFree, free); // now: usable, but already tried by this request
                if (s != null && budget != KeyBudget.NONE && budgets.overForMinute(s, budget, now)) {
                    paced++;
                }
            }
        }
        String name = model.name().equals(KeyPool.ANY_MODEL) ? "this call" : "model " + model.name();
        String of = groups.isAll() ? "" : " of " + groups.describe();
        if (groups.isClosed()) {
            return new Unavailable(503, 3600, name.substring(0, 1).toUpperCase(java.util.Locale.ROOT)
                    + name.substring(1) + " is served by the keys of " + groups.describe()
                    + ", which this client token may not use.");
        }
        if (keys.length == 0) {
            return new Unavailable(503, 3600, "No upstream key is in " + groups.describe() + ", to which " + name
                    + " is routed.");
        }
        if (firstFree != Long.MAX_VALUE) {
            long seconds = Math.max(1, ceilSeconds(firstFree - now));
            return new Unavailable(429, seconds, "All " + keys.length + " upstream keys" + of + " are cooling down for "
                    + name + (paced == 0 ? "" : " (" + paced + " at their budget for the minute)") + "; retry in "
                    + seconds + "s.");
        }
        long seconds = Math.max(1, ceilSeconds(calendar.nextReset(now) - now));
        return new Unavailable(503, seconds, "No upstream key" + of + " can serve " + name + ": " + exhausted
                + " exhausted for today, " + invalid + " invalid, " + disabled + " disabled. Daily quotas reset in "
                + seconds + "s.");
    }

    /**
     * When a valid, enabled key is free for the model again: {@code now} or earlier when it is; the end of its
     * cooldown or of the minute whose budget it spent; {@code Long.MAX_VALUE} when it is exhausted for the day or has
     * spent the day's budget.
     */
    private long freeAt(KeyModelState s, KeyBudget budget, long now) {
        if (s == null) {
            return now;
        }
        KeyRest r = s.rest();
        if (r.exhaustedUntilMillis() > now || (budget != KeyBudget.NONE && budgets.overForDay(s, budget, now))) {
            return Long.MAX_VALUE;
        }
        long free = Math.max(now, r.cooldownUntilMillis());
        return budget != KeyBudget.NONE && budgets.overForMinute(s, budget, now)
                ? Math.max(free, budgets.minuteFree(s, budget, now)) : free;
    }

    private static long ceilSeconds(long millis) {
        return (millis + 999) / 1000;
    }

    /** See {@link KeyPool#hasAvailableKey(ModelRef, KeyGroups)}. */
    boolean hasAvailableKey(ModelRef model, KeyGroups groups) {
        long now = ring.clock.getAsLong();
        ApiKey[] keys = ring.keys();
        ModelLanes l = groups.lanes.get(model.index());
        if (l != null && l.keys == keys) {
            l.wake(now);
            if (!l.hasUsable()) {
                return false; // O(1) when every key rests (the lanes never miss a key that can serve)
            }
        }
        KeyBudget budget = budgets.of(model);
        for (ApiKey k : keys) {
            if (k.isInRotation() && groups.matches(k) && freeAt(k.peek(model.index()), budget, now) <= now) {
                return true;
            }
        }
        return false;
    }

    /** See {@link KeyPool#nextFreeMillis(ModelRef, KeyGroups, KeyAttempts)}. */
    long nextFreeMillis(ModelRef model, KeyGroups groups, KeyAttempts attempts) {
        long first = Long.MAX_VALUE;
        long now = ring.clock.getAsLong();
        KeyBudget budget = budgets.of(model);
        for (ApiKey k : ring.keys()) {
            if (!k.isInRotation() || attempts.contains(k.slot()) || !groups.matches(k)) {
                continue;
            }
            first = Math.min(first, freeAt(k.peek(model.index()), budget, now));
        }
        return first;
    }

    /** True while at least one key is enabled and valid (for {@code /ready}). */
    boolean hasUsableKey() {
        for (ApiKey k : ring.keys()) {
            if (k.isInRotation()) {
                return true;
            }
        }
        return false;
    }

    // --------------------------------------------------------------------------------------------- inspection

    /** See {@link KeyPool#status}. */
    KeyStatus status(ApiKey k, ModelRef model) {
        long now = ring.clock.getAsLong();
        KeyState st = k.state();
        if (st.isRemoved()) {
            return new KeyStatus(KeyStatus.State.REMOVED, "removed", 0);
        }
        if (!st.isEnabled()) {
            return new KeyStatus(KeyStatus.State.DISABLED, "disabled", 0);
        }
        if (st.isInvalid()) {
            return new KeyStatus(KeyStatus.State.INVALID, st.invalidReason(), 0);
        }
        KeyModelState s = k.peek(model.index());
        KeyRest r = s == null ? KeyRest.NONE : s.rest();
        if (r.exhaustedUntilMillis() > now) {
            return new KeyStatus(KeyStatus.State.EXHAUSTED, "daily quota", r.exhaustedUntilMillis());
        }
        if (r.cooldownUntilMillis() > now) {
            return new KeyStatus(KeyStatus.State.COOLING, "cooling down", r.cooldownUntilMillis());
        }
        KeyBudget b = budgets.of(model);
        if (s != null && b != KeyBudget.NONE) {
            if (budgets.overForDay(s, b, now)) {
                return new KeyStatus(KeyStatus.State.EXHAUSTED, "daily budget", calendar.nextReset(now));
            }
            if (budgets.overForMinute(s, b, now)) {
                return new KeyStatus(KeyStatus.State.COOLING, "budget for the minute", budgets.minuteFree(s, b, now));
            }
        }
        return new KeyStatus(KeyStatus.State.ACTIVE, "", 0);
    }

    /** See {@link KeyPool#usage}. */
    KeyUsage usage(ApiKey k, ModelRef model) {
        long day = calendar.dayStart(ring.clock.getAsLong());
        KeyModelState s = k.peek(model.index());
        if (s == null) {
            return KeyUsage.ZERO;
        }
        return new KeyUsage(s.todayValue(DayCounters.REQUESTS, day), s.todayValue(DayCounters.SUCCESSES, day),
                s.todayValue(DayCounters.FAILURES, day), s.todayValue(DayCounters.RATE_LIMITED, day),
                s.todayValue(DayCounters.PROMPT_TOKENS, day), s.todayValue(DayCounters.OUTPUT_TOKENS, day));
    }

    /** See {@link KeyPool#budgetUse}. */
    BudgetUse budgetUse(ApiKey k, ModelRef model) {
        KeyBudget b = budgets.of(model);
        return b == KeyBudget.NONE ? null : budgets.use(k.peek(model.index()), b, ring.clock.getAsLong());
    }
}
