package io.gemgate.core.keys;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.LongSupplier;

/**
 * What the parts of a {@link KeyPool} share: the keys (an immutable {@link Keys} array with its weighted schedule,
 * swapped whole on change), the interned models and group sets with their {@link ModelLanes}, the live settings and
 * budgets, the clock and calendar, the dirty flag the persister reads, and the {@link KeyPool.Listener} a shared
 * store hears changes through.
 *
 * <p>Callers: {@link KeySelector} (reads the keys, builds lanes), {@link KeyVerdicts} and {@link KeyAdmin} (refile
 * keys in the lanes after a change, tell the listener), {@link KeyPool} (models, groups, dirty flag).
 *
 * <p>Threads: any. Reads take no lock and allocate nothing once a model and group set are interned; structural
 * changes (a new ring, new lanes, a new group set, refiling a key in every lane) hold this object's monitor, which
 * only admin calls, shared-store updates and the first request of a model take.
 */
final class KeyRing {
    /** Bound on distinct model names, so that clients cannot grow the state without limit. */
    static final int MAX_MODELS = KeyPool.MAX_MODELS;

    final LongSupplier clock;
    final QuotaCalendar calendar;
    final KeyBudgetMeter budgets;
    /** Every key: what requests without a group restriction use. Its lanes (per model) hold the usable keys. */
    final KeyGroups allKeys = new KeyGroups(Set.of(), true, false);
    /** Every interned group set, {@link #allKeys} first; copied on write (new sets are rare). */
    private volatile KeyGroups[] groupSets = {allKeys};
    private final ConcurrentHashMap<Set<String>, KeyGroups> groupsByNames = new ConcurrentHashMap<>();
    /** By the model's groups: the closed sets (none open to the request's token), which match no key. */
    private final ConcurrentHashMap<Set<String>, KeyGroups> closedByNames = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, ModelRef> models = new ConcurrentHashMap<>();
    private final AtomicReferenceArray<ModelRef> modelsByIndex = new AtomicReferenceArray<>(MAX_MODELS + 1);
    private final AtomicInteger nextModelIndex = new AtomicInteger();
    private final ModelRef otherModels;
    /** Slots are never reused, so that a request's tried-keys list stays right across ring changes. */
    private int nextSlot;
    volatile PoolSettings settings;
    private volatile Keys keys;
    /** Set on every change worth persisting; cleared by {@link #takeDirty()}. */
    private volatile boolean dirty;
    /** Told of the changes a shared store publishes; null: none. */
    private volatile KeyPool.Listener listener;

    /** The keys and the weighted round-robin schedule over them; immutable. */
    record Keys(ApiKey[] keys, int[] schedule) {
    }

    KeyRing(List<KeySpec> specs, PoolSettings settings, QuotaCalendar calendar, LongSupplier clock) {
        requireNonNull(specs, "keys");
        this.settings = requireNonNull(settings, "settings");
        this.calendar = requireNonNull(calendar, "calendar");
        this.clock = requireNonNull(clock, "clock");
        this.budgets = new KeyBudgetMeter(calendar);
        if (specs.isEmpty()) {
            throw new IllegalArgumentException("keys: empty (expected: at least one key)");
        }
        LinkedHashMap<String, ApiKey> unique = new LinkedHashMap<>();
        for (KeySpec spec : specs) {
            ApiKey k = new ApiKey(nextSlot, spec);
            if (unique.putIfAbsent(k.fingerprint(), k) == null) {
                nextSlot++;
            }
        }
        ApiKey[] ring = unique.values().toArray(new ApiKey[0]);
        linkProjects(ring);
        index(ring);
        this.keys = new Keys(ring, schedule(ring));
        model(KeyPool.ANY_MODEL);
        this.otherModels = intern(KeyPool.OTHER_MODELS);
    }

    // ---------------------------------------------------------------------------------------------------- models

    /** See {@link KeyPool#model}. */
    ModelRef model(String name) {
        requireNonNull(name, "name");
        ModelRef m = models.get(name);
        if (m != null) {
            return m;
        }
        String bare = name.startsWith("models/") ? name.substring(7) : name;
        m = models.get(bare);
        if (m != null) {
            return m;
        }
        return intern(bare);
    }

    private ModelRef intern(String bare) {
        synchronized (models) {
            ModelRef m = models.get(bare);
            if (m != null) {
                return m;
            }
            int index = nextModelIndex.get();
            if (index >= MAX_MODELS && otherModels != null) {
                return otherModels;
            }
            nextModelIndex.incrementAndGet();
            m = new ModelRef(bare, index);
            budgets.add(m);
            modelsByIndex.set(index, m);
            models.put(bare, m);
            return m;
        }
    }

    /** Every model met so far, in order of first use. */
    List<ModelRef> models() {
        List<ModelRef> out = new ArrayList<>();
        for (int i = 0; i < nextModelIndex.get(); i++) {
            ModelRef m = modelsByIndex.get(i);
            if (m != null) {
                out.add(m);
            }
        }
        return out;
    }

    /** Replaces the budgets under the model lock, so that a model met meanwhile gets the new budgets too. */
    void budgets(java.util.function.Function<String, io.gemgate.core.settings.KeyBudget> budgetFor) {
        synchronized (models) {
            budgets.budgets(budgetFor, models());
        }
    }

    // ---------------------------------------------------------------------------------------------------- groups

    /** See {@link KeyPool#groups}. */
    KeyGroups groups(Set<String> modelGroups, Set<String> tokenGroups) {
        boolean tokenLimited = tokenGroups != null && !tokenGroups.isEmpty();
        if (modelGroups == null && !tokenLimited) {
            return allKeys;
        }
        Set<String> names;
        if (modelGroups == null) {
            names = tokenGroups;
        } else if (!tokenLimited) {
            names = modelGroups;
        } else {
            names = new TreeSet<>(modelGroups);
            names.retainAll(tokenGroups);
        }
        boolean closed = names.isEmpty();
        if (closed) {
            names = modelGroups;
        }
        KeyGroups g = (closed ? closedByNames : groupsByNames).get(names);
        return g != null ? g : internGroups(names, closed);
    }

    private synchronized KeyGroups internGroups(Set<String> names, boolean closed) {
        ConcurrentHashMap<Set<String>, KeyGroups> byNames = closed ? closedByNames : groupsByNames;
        KeyGroups g = byNames.get(names);
        if (g == null) {
            Set<String> copy = Collections.unmodifiableSortedSet(new TreeSet<>(names));
            g = new KeyGroups(copy, false, closed);
            KeyGroups[] next = Arrays.copyOf(groupSets, groupSets.length + 1);
            next[next.length - 1] = g;
            groupSets = next;
            byNames.put(copy, g);
        }
        return g;
    }

    // ------------------------------------------------------------------------------------------------------ keys

    /** The current keys, in ring order: never modify the array. */
    ApiKey[] keys() {
        return keys.keys;
    }

    /** The key with this id (fingerprint), or null. */
    ApiKey find(String id) {
        for (ApiKey k : keys.keys) {
            if (k.fingerprint().equals(id)) {
                return k;
            }
        }
        return null;
    }

    /** Keys in the pool that are not removed. */
    int poolSize() {
        int n = 0;
        for (ApiKey k : keys.keys) {
            if (!k.isRemoved()) {
                n++;
            }
        }
        return n;
    }

    /** A new key at the next slot; call under this object's monitor. */
    ApiKey newKey(KeySpec spec) {
        assert Thread.holdsLock(this);
        return new ApiKey(nextSlot, spec);
    }

    /** Takes the slot of a key made by {@link #newKey} that joins the ring. */
    void useSlot() {
        assert Thread.holdsLock(this);
        nextSlot++;
    }

    /**
     * Publishes a new ring over {@code next} (project groups, positions and schedule from the keys' current
     * definitions). Requests in flight keep the ring they started with; lanes made for the old ring are rebuilt on
     * next use.
     */
    synchronized void rebuild(ApiKey[] next) {
        linkProjects(next);
        index(next);
        keys = new Keys(next, schedule(next));
        markDirty();
    }

    // ----------------------------------------------------------------------------------------------------- lanes

    /** Tells the lanes of a model (of every group set) that a key's state for it changed (a rest began or ended). */
    void refile(ApiKey k, ModelRef model, long now) {
        for (KeyGroups g : groupSets) {
            ModelLanes l = g.lanes.get(model.index());
            if (l != null) {
                l.update(k, now);
            }
        }
    }

    /** Tells every model's lanes that a key changed as a whole (enabled, disabled, invalid, valid, removed). */
    synchronized void refile(ApiKey k) {
        long now = clock.getAsLong();
        for (KeyGroups g : groupSets) {
            for (int i = 0; i < g.lanes.length(); i++) {
                ModelLanes l = g.lanes.get(i);
                if (l != null) {
                    l.update(k, now);
                }
            }
        }
    }

    /** Drops every model's lanes: they are built again, from the keys' state, on next use. */
    synchronized void dropLanes() {
        for (KeyGroups g : groupSets) {
            for (int i = 0; i < g.lanes.length(); i++) {
                g.lanes.set(i, null);
            }
        }
    }

    // ----------------------------------------------------------------------------------------- dirty and listener

    /** True (once) when something changed since the last call. */
    boolean takeDirty() {
        if (!dirty) {
            return false;
        }
        dirty = false;
        return true;
    }

    /**
     * Marks the state changed. Written only when it flips: a store on every call would bounce the cache line between
     * cores on the hot path.
     */
    void markDirty() {
        if (!dirty) {
            dirty = true;
        }
    }

    void listener(KeyPool.Listener l) {
        this.listener = l;
    }

    void restChanged(ApiKey k, ModelRef model) {
        KeyPool.Listener l = listener;
        if (l != null) {
            l.restChanged(k, model);
        }
    }

    void keyChanged(ApiKey k) {
        KeyPool.Listener l = listener;
        if (l != null) {
            l.keyChanged(k);
        }
    }

    void keysAdded(List<ApiKey> added) {
        KeyPool.Listener l = listener;
        if (l != null && !added.isEmpty()) {
            l.keysAdded(added);
        }
    }

    // ----------------------------------------------------------------------------------------------- ring building

    /** Each key's position in the ring, for the lanes (a key's index changes only with a new ring). */
    private static void index(ApiKey[] keys) {
        for (int i = 0; i < keys.length; i++) {
            keys[i].index = i;
        }
    }

    private static void linkProjects(ApiKey[] keys) {
        Map<String, List<ApiKey>> byProject = new LinkedHashMap<>();
        for (ApiKey k : keys) {
            k.projectGroup = new ApiKey[] {k};
            if (!k.project().isEmpty()) {
                byProject.computeIfAbsent(k.project(), p -> new ArrayList<>()).add(k);
            }
        }
        for (List<ApiKey> group : byProject.values()) {
            ApiKey[] g = group.toArray(new ApiKey[0]);
            for (ApiKey k : g) {
                k.projectGroup = g;
            }
        }
    }

    /**
     * Smooth weighted round robin (as nginx does it): each key appears {@code weight / gcd} times, spread out rather
     * than in runs. Equal weights give the keys in order.
     */
    static int[] schedule(ApiKey[] keys) {
        int g = 0;
        for (ApiKey k : keys) {
            g = gcd(g, k.weight());
        }
        int total = 0;
        int[] w = new int[keys.length];
        for (int i = 0; i < keys.length; i++) {
            w[i] = keys[i].weight() / g;
            total += w[i];
        }
        int[] schedule = new int[total];
        if (total == keys.length) {
            for (int i = 0; i < total; i++) {
                schedule[i] = i;
            }
            return schedule;
        }
        if ((long) keys.length * total > 4_000_000L) {
            return spread(w, total);
        }
        int[] current = new int[keys.length];
        for (int n = 0; n < total; n++) {
            int best = 0;
            for (int i = 0; i < keys.length; i++) {
                current[i] += w[i];
                if (current[i] > current[best]) {
                    best = i;
                }
            }
            current[best] -= total;
            schedule[n] = best;
        }
        return schedule;
    }

    /**
     * The same shares for pools too large for the O(keys x total) smooth round robin: key i's j-th turn is placed at
     * virtual time (j + 0.5) / w[i] and the turns are sorted by it (stride scheduling), O(total log total).
     */
    private static int[] spread(int[] w, int total) {
        long[] turns = new long[total];
        int n = 0;
        for (int i = 0; i < w.length; i++) {
            for (int j = 0; j < w[i]; j++) {
                // virtual time in 1/2^20 steps in the high bits, the key in the low 22 bits (ties keep key order)
                long t = ((2L * j + 1) << 19) / w[i];
                turns[n++] = (t << 22) | i;
            }
        }
        Arrays.sort(turns);
        int[] schedule = new int[total];
        for (int k = 0; k < total; k++) {
            schedule[k] = (int) (turns[k] & ((1 << 22) - 1));
        }
        return schedule;
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }
}
