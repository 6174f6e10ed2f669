package io.gemgate.core.keys;

import io.gemgate.core.settings.KeyBudget;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The keys that can serve one model now, by tier, kept up to date when something changes a key rather than found
 * by a scan on every request: selection is O(1) amortized (round robin: O(log64 keys) to find the next usable
 * position), whatever the pool size and however many keys rest.
 *
 * <p>Each tier is a {@link Lane}: its keys' smooth weighted round-robin schedule with a {@link UsableBits} over the
 * schedule's positions (set: the key may serve), a shared cursor that every request moves past the positions it
 * skips (a resting key's turns are shared by all usable keys, not handed to its neighbour), the usable keys as a
 * dense array for random choices, each beside the figure least_used or adaptive last read for it ({@link
 * Lane#slots}), so that a key drawn at random is first compared without reading its objects, and per key its
 * per-model state ({@link Lane#states}) and weight, so that the key selected reaches its rest and counters in one step
 * rather than through the key and its table of models. A verdict that rests a key takes it out of every lane of the model
 * ({@link #update}) and files its end in a {@link WakeHeap}; the first selection after that end puts it back
 * ({@link #wake}). A key that rests without the lanes having heard of it yet (a concurrent verdict, a budget spent,
 * another gateway's cooldown) is found when a selection meets it: the selection takes it out and moves on, so each
 * such key costs one extra probe, once.
 *
 * <p>Thread-safety: readers (selection) take no lock and allocate nothing; they read the arrays as they are and check
 * the key they land on; the figures they keep are written by compare-and-set on the slot they read (whole values; a
 * slot that a writer moved meanwhile keeps the writer's value). Writers ({@link #update}, {@link #wake}) hold the lock; {@link #wake} and the selection's own
 * updates only try it, so that no event loop waits for another.
 */
final class ModelLanes {
    /** Lanes of at most this many usable keys are scanned whole by least_used (exact); larger ones use two choices. */
    static final int EXACT_SCAN = 8;
    /** Bits of a {@link Lane#slots} entry that hold the lane-local index of the key (as many as {@link WakeHeap}). */
    private static final int LOCAL_BITS = WakeHeap.INDEX_BITS;
    private static final long LOCAL_MASK = (1L << LOCAL_BITS) - 1;
    /** Bits of a slot above the local index: what its figure is a figure of (0: no figure). */
    private static final int STAMP_BITS = 10;
    /** What an adaptive figure is stamped with; least_used figures carry a stamp of their quota day, below it. */
    private static final int ADAPTIVE_STAMP = (1 << STAMP_BITS) - 1;
    /** Day stamps run from 1 to this (a prime, so that two quota days close in time never share one). */
    private static final int DAY_STAMPS = 1021;
    /** Whole (never torn) reads of {@link Lane#slots} and compare-and-set of their figures. */
    private static final VarHandle SLOTS = MethodHandles.arrayElementVarHandle(long[].class);
    /** Acquire/release access to {@link Lane#states}, filled by the selections that first meet a key's state. */
    private static final VarHandle STATES = MethodHandles.arrayElementVarHandle(KeyModelState[].class);
    /** Acquire/release access to {@link Lane#days}. */
    private static final VarHandle DAYS = MethodHandles.arrayElementVarHandle(DayCounters[].class);

    final ApiKey[] keys;
    final ModelRef model;
    final Lane[] lanes;
    /** Says whether a key can serve and when it will ({@link KeySelector#usable}, {@link KeySelector#wakeAt}). */
    private final KeySelector pool;
    /** Per key index: its lane (high bits) and its index in the lane (low {@link WakeHeap#INDEX_BITS} bits). */
    private final int[] where;
    private final ReentrantLock lock = new ReentrantLock();
    private final WakeHeap heap = new WakeHeap();
    /** Per key index: whether it is in {@link #heap}; guarded by {@link #lock}. */
    private final boolean[] queued;
    /** The earliest wake-up in the heap, read without the lock by every selection. */
    private volatile long nextWake = Long.MAX_VALUE;
    /** The last answer to "why no key", reused briefly while none can serve (see KeySelector.unavailable). */
    volatile Answer unavailable;

    /** An answer of {@link KeySelector#unavailable} and when it was made. */
    record Answer(long atMillis, Unavailable answer) {
    }

    /** The keys of one tier. */
    static final class Lane {
        final int tier;
        final ApiKey[] keys;
        final int[] indexOf;
        /** Lane-local key index at each position of the smooth weighted round robin. */
        final int[] schedule;
        /** Lane-local index to its positions in {@link #schedule}; null when each key has one, at its own index. */
        final int[][] positions;
        final UsableBits bits;
        /**
         * The usable keys, dense ({@code [0, size)}), each with the figure two choices compare for it: one long per
         * key, the lane-local index in the low {@value #LOCAL_BITS} bits, then {@value #STAMP_BITS} bits saying what
         * the figure is a figure of (0: none; a quota day for least_used; {@link #ADAPTIVE_STAMP}), and in the high
         * half the figure as a float (least_used: today's requests per weight, a lower bound; adaptive: the health
         * score) as it was when a selection last read the key. A key drawn at random is thus first compared by one
         * read in this array, one cache line, rather than by a walk through the key's objects (see
         * {@link #twoChoices}). The index bits are written only under the lock (admit, remove); selections update
         * the figure by compare-and-set on the value they read, so they never move a key, and a racy figure only
         * costs a closer look.
         */
        final long[] slots;
        /** Per lane-local index: its position in {@link #slots}, -1 when the key is not usable. */
        final int[] memberPos;
        volatile int size;
        /** The next schedule position to look at, shared by every request. */
        final AtomicInteger cursor = new AtomicInteger();
        /**
         * Per lane-local index: the key's state for the model ({@link ApiKey#peek}) once it exists (it is made on
         * the key's first request for the model and never replaced), so that a selection reaches the key's rest and
         * today's counters from here in one read, not through the key and its table of models. Filled by the
         * selection that first finds it ({@link #STATES}: release, acquire).
         */
        final KeyModelState[] states;
        /**
         * Per lane-local index: the key's counters of a quota day as a selection last found them ({@link
         * KeyModelState#day()}; used only while that day lasts: a state has one set of counters per day), so that
         * the counters are read beside the state rather than after it ({@link #DAYS}: release, acquire).
         */
        final DayCounters[] days;
        /** Per lane-local index: the key's weight (a change of weight builds new lanes, {@code KeyAdmin}). */
        final int[] weights;

        Lane(int tier, List<ApiKey> list, int[] indexOf) {
            this.tier = tier;
            this.keys = list.toArray(new ApiKey[0]);
            this.indexOf = indexOf;
            this.schedule = KeyRing.schedule(keys);
            this.bits = new UsableBits(schedule.length);
            this.slots = new long[keys.length];
            this.memberPos = new int[keys.length];
            this.states = new KeyModelState[keys.length];
            this.days = new DayCounters[keys.length];
            this.weights = new int[keys.length];
            for (int i = 0; i < keys.length; i++) {
                weights[i] = keys[i].weight();
            }
            java.util.Arrays.fill(memberPos, -1);
            if (schedule.length == keys.length) {
                positions = null;
            } else {
                int[] counts = new int[keys.length];
                for (int local : schedule) {
                    counts[local]++;
                }
                positions = new int[keys.length][];
                for (int i = 0; i < keys.length; i++) {
                    positions[i] = new int[counts[i]];
                    counts[i] = 0;
                }
                for (int p = 0; p < schedule.length; p++) {
                    int local = schedule[p];
                    positions[local][counts[local]++] = p;
                }
            }
        }

        /** Usable keys now (a reader's snapshot). */
        int usable() {
            return size;
        }

        /** Makes the key usable, with no figure (a kept one may be above the truth: a request counted, then refused). */
        private void admit(int local) {
            int at = memberPos[local];
            if (at >= 0) {
                SLOTS.setVolatile(slots, at, (long) local);
                return;
            }
            if (positions == null) {
                bits.set(local);
            } else {
                for (int p : positions[local]) {
                    bits.set(p);
                }
            }
            int n = size;
            SLOTS.setVolatile(slots, n, (long) local);
            memberPos[local] = n;
            size = n + 1;
        }

        private void remove(int local) {
            int pos = memberPos[local];
            if (pos < 0) {
                return;
            }
            if (positions == null) {
                bits.clear(local);
            } else {
                for (int p : positions[local]) {
                    bits.clear(p);
                }
            }
            int last = size - 1;
            long moved = (long) SLOTS.getVolatile(slots, last);
            SLOTS.setVolatile(slots, pos, moved);
            memberPos[(int) (moved & LOCAL_MASK)] = pos;
            memberPos[local] = -1;
            size = last;
        }
    }

    /**
     * Builds the lanes of {@code model} over the keys of {@code keys} (the pool's current ring) that {@code groups}
     * matches, and files each one's state.
     */
    ModelLanes(KeySelector pool, ApiKey[] keys, ModelRef model, KeyGroups groups, long now) {
        if (keys.length > WakeHeap.MAX_KEYS) {
            throw new IllegalArgumentException("keys: " + keys.length + " (expected: at most " + WakeHeap.MAX_KEYS
                    + ")");
        }
        this.pool = pool;
        this.keys = keys;
        this.model = model;
        this.where = new int[keys.length];
        this.queued = new boolean[keys.length];
        java.util.Arrays.fill(where, -1);
        TreeMap<Integer, List<Integer>> byTier = new TreeMap<>();
        for (int i = 0; i < keys.length; i++) {
            if (groups.matches(keys[i])) {
                byTier.computeIfAbsent(keys[i].tier(), t -> new ArrayList<>()).add(i);
            }
        }
        lanes = new Lane[byTier.size()];
        int l = 0;
        for (var e : byTier.entrySet()) {
            List<Integer> idx = e.getValue();
            List<ApiKey> list = new ArrayList<>(idx.size());
            int[] indexOf = new int[idx.size()];
            for (int j = 0; j < idx.size(); j++) {
                int i = idx.get(j);
                list.add(keys[i]);
                indexOf[j] = i;
                where[i] = (l << WakeHeap.INDEX_BITS) | j;
            }
            lanes[l++] = new Lane(e.getKey(), list, indexOf);
        }
        lock.lock();
        try {
            for (int i = 0; i < keys.length; i++) {
                if (where[i] >= 0) {
                    file(i, now);
                }
            }
            nextWake = heap.firstWake();
        } finally {
            lock.unlock();
        }
    }

    /** The index of {@code k} in {@link #keys}, or -1 when these lanes were built from another ring or leave it out. */
    private int indexOf(ApiKey k) {
        int i = k.index;
        return i >= 0 && i < keys.length && keys[i] == k && where[i] >= 0 ? i : -1;
    }

    /** Files a key by what the pool says of it now: in its lane, or out and (when its rest has an end) in the heap. */
    void update(ApiKey k, long now) {
        int i = indexOf(k);
        if (i < 0) {
            return;
        }
        lock.lock();
        try {
            file(i, now);
            nextWake = heap.firstWake();
        } finally {
            lock.unlock();
        }
    }

    /** {@link #update} unless another thread is writing: a selection never waits. */
    private void tryUpdate(int i, long now) {
        if (lock.tryLock()) {
            try {
                file(i, now);
                nextWake = heap.firstWake();
            } finally {
                lock.unlock();
            }
        }
    }

    /** Puts back the keys whose rest is over; cheap when none is (one volatile read). */
    void wake(long now) {
        if (now < nextWake || !lock.tryLock()) {
            return;
        }
        try {
            while (heap.firstWake() <= now) {
                int i = heap.pop();
                queued[i] = false;
                file(i, now);
            }
            nextWake = heap.firstWake();
        } finally {
            lock.unlock();
        }
    }

    private void file(int i, long now) {
        ApiKey k = keys[i];
        int w = where[i];
        Lane lane = lanes[w >>> WakeHeap.INDEX_BITS];
        int local = w & (WakeHeap.MAX_KEYS - 1);
        long wake = pool.wakeAt(k, model, now);
        if (wake <= now) {
            lane.admit(local);
            return;
        }
        lane.remove(local);
        if (wake != Long.MAX_VALUE && !queued[i]) {
            queued[i] = true;
            heap.push(wake, i);
        }
    }

    /** True while some lane has a key that looked usable when last filed. */
    boolean hasUsable() {
        for (Lane l : lanes) {
            if (l.size > 0) {
                return true;
            }
        }
        return false;
    }

    // ------------------------------------------------------------------------------------------------- selection

    /**
     * A usable key of the lowest tier that has one, not yet tried by this request; null when none is left. Where the
     * key was found is left in {@link KeyAttempts#selectedLane} and {@link KeyAttempts#selectedLocal}, for the caller
     * to reach its state and counters with {@link #selectedState} and {@link #selectedDay}.
     */
    ApiKey select(Strategy strategy, KeyAttempts attempts, long now, long day, KeyBudget budget) {
        Lane[] all = lanes;
        for (int t = 0; t < all.length; t++) {
            Lane l = all[t];
            if (l.size == 0) {
                continue;
            }
            int local = switch (strategy) {
                case ROUND_ROBIN -> nextInRotation(l, attempts, now, budget);
                case LEAST_USED -> twoChoices(l, attempts, now, day, budget, true);
                case ADAPTIVE -> twoChoices(l, attempts, now, day, budget, false);
            };
            if (local >= 0) {
                attempts.selectedLane = t;
                attempts.selectedLocal = local;
                return l.keys[local];
            }
        }
        return null;
    }

    /**
     * The state for the model of the key {@link #select} returned last for {@code attempts}, or null when the key has
     * not met the model yet.
     */
    KeyModelState selectedState(KeyAttempts attempts) {
        return state(lanes[attempts.selectedLane], attempts.selectedLocal);
    }

    /**
     * The counters of the quota day {@code day} of the key {@link #select} returned last for {@code attempts}, or
     * null when it has none for that day yet (the caller makes them through the key).
     */
    DayCounters selectedDay(KeyAttempts attempts, long day) {
        return today(lanes[attempts.selectedLane], attempts.selectedLocal, day);
    }

    /**
     * The key's counters of the quota day {@code day}, or null when it has none (it has not met the model, or its
     * counters are of an earlier day). One read in the lane once a selection has found them this day; the key's state
     * is looked up only when they are not there.
     */
    private DayCounters today(Lane l, int local, long day) {
        DayCounters d = (DayCounters) DAYS.getAcquire(l.days, local);
        if (d != null && d.dayStart == day) {
            return d;
        }
        KeyModelState s = state(l, local);
        if (s == null) {
            return null;
        }
        d = s.day();
        if (d.dayStart != day) {
            return null;
        }
        DAYS.setRelease(l.days, local, d);
        return d;
    }

    /** The key's state for the model, or null when it has not met the model yet; kept in the lane once found. */
    private KeyModelState state(Lane l, int local) {
        KeyModelState s = (KeyModelState) STATES.getAcquire(l.states, local);
        if (s == null) {
            s = l.keys[local].peek(model.index());
            if (s != null) {
                STATES.setRelease(l.states, local, s);
            }
        }
        return s;
    }

    /**
     * Whether the key may serve this request; one that may not serve at all (it rests, or spent its budget) is taken
     * out of the lanes. A key this request already tried stays.
     */
    private boolean check(Lane l, int local, KeyAttempts attempts, long now, KeyBudget budget) {
        ApiKey k = l.keys[local];
        if (attempts.contains(k.slot())) {
            return false;
        }
        if (pool.usable(k, state(l, local), now, budget)) {
            return true;
        }
        tryUpdate(l.indexOf[local], now);
        return false;
    }

    /**
     * The lane-local index of the next usable key of the rotation that this request has not tried, the shared cursor
     * moved past it; -1 when none is left.
     */
    private int nextInRotation(Lane l, KeyAttempts attempts, long now, KeyBudget budget) {
        int len = l.schedule.length;
        // Each turn moves the shared cursor or takes a key out of the lane: bounded by both counts.
        for (int guard = 2 * l.keys.length + attempts.count() + 4; guard > 0; guard--) {
            if (l.size == 0) {
                return -1;
            }
            int c = l.cursor.get();
            int p = l.bits.nextWrapping(c < len ? c : 0);
            if (p < 0) {
                return -1;
            }
            if (!l.cursor.compareAndSet(c, p + 1 == len ? 0 : p + 1)) {
                continue; // another request took this turn: look again from where it left the cursor
            }
            int local = l.positions == null ? p : l.schedule[p];
            if (check(l, local, attempts, now, budget)) {
                return local;
            }
        }
        return -1;
    }

    /**
     * least_used ({@code byUse}): the usable key with the fewest requests today for the model divided by its weight;
     * adaptive: the one with the best health score. Small lanes ({@value #EXACT_SCAN} usable keys or fewer) are
     * scanned whole. Larger ones use the power of two choices, which keeps the load within a small gap of even at
     * O(1): the first choice is the next key of the weighted rotation (the round-robin cursor), the second a usable
     * key drawn at random, and the better of the two serves. Returns the lane-local index of the key, or -1.
     *
     * <p>Why the first choice is not drawn at random too: a key drawn at random among 100,000 is a walk through
     * objects that are in no cache (the key, its per-model state, its counters), twice per request; the rotation meets
     * the keys in the order their objects were made, which the caches and the prefetcher serve well (round robin
     * selects 8 times faster than two random choices at 100,000 keys, docs/benchmarks.md). The second choice is first
     * compared by the figure it had when a selection last read it, kept beside it in {@link Lane#slots}: drawing it
     * and reading its figure is one read, one cache line. The key itself is read only when that figure says it may
     * beat the first. For least_used that figure is a lower bound of the key's load for the quota day (requests only
     * grow within a day; a figure from another day counts as unknown), so the comparison gives the answer a full read
     * would. For adaptive it is the score when last read, at most one rotation old. The balance: every key is the
     * first choice once per rotation and the second at random, as often as with two random choices; a key behind the
     * others wins both; TwoChoicesBalanceTest compares the spread with that of two random choices.
     */
    private int twoChoices(Lane l, KeyAttempts attempts, long now, long day, KeyBudget budget, boolean byUse) {
        int n = l.size;
        if (n == 0) {
            return -1;
        }
        if (n <= EXACT_SCAN) {
            return scan(l, n, attempts, now, budget, byUse, day);
        }
        int la = nextInRotation(l, attempts, now, budget);
        if (la < 0) {
            return -1;
        }
        int stamp = byUse ? dayStamp(day) : ADAPTIVE_STAMP;
        float fa = down(figure(l, la, now, byUse, day));
        int pa = l.memberPos[la];
        n = l.size;
        if (n > 1) {
            // A key other than the first choice: draw among the n - 1 other positions of the dense array.
            int j = ThreadLocalRandom.current().nextInt(n - 1);
            if (j >= pa && pa >= 0) {
                j++;
            }
            long seen = (long) SLOTS.getOpaque(l.slots, j);
            int lb = (int) (seen & LOCAL_MASK);
            float fs = Float.intBitsToFloat((int) (seen >>> 32));
            boolean known = stampOf(seen) == stamp;
            if (lb != la && (!known || (byUse ? fs < fa : fs > fa)) && check(l, lb, attempts, now, budget)) {
                float fb = down(figure(l, lb, now, byUse, day));
                if (byUse ? fb < fa : fb > fa) {
                    remember(l, pa, la, stamp, fa);
                    rememberSeen(l, j, seen, stamp, byUse ? down(fb + 1.0 / l.weights[lb]) : fb);
                    return lb;
                }
                rememberSeen(l, j, seen, stamp, fb);
            }
        }
        // The chosen key's load as it is once the pool has counted this request for it.
        remember(l, pa, la, stamp, byUse ? down(fa + 1.0 / l.weights[la]) : fa);
        return la;
    }

    /** least_used: today's requests for the model per weight; adaptive: the health score. */
    private double figure(Lane l, int local, long now, boolean byUse, long day) {
        if (!byUse) {
            return l.keys[local].health().score(now);
        }
        DayCounters d = today(l, local, day);
        return (d == null ? 0 : d.get(DayCounters.REQUESTS)) / (double) l.weights[local];
    }

    /** The largest float not above {@code v}: a lower bound stays one once stored as a float. */
    private static float down(double v) {
        float f = (float) v;
        return f > v ? Math.nextDown(f) : f;
    }

    /**
     * The quota day a least_used figure belongs to: from 1 to {@value #DAY_STAMPS}, the minutes since the epoch of
     * the day's start modulo that prime, so that two quota days (1,380 to 1,500 minutes apart) a few days apart never
     * share a stamp; a figure kept that long without the key being read again would need a lane idle for months.
     */
    private static int dayStamp(long dayStart) {
        return 1 + (int) Math.floorMod(Math.floorDiv(dayStart, 60_000L), (long) DAY_STAMPS);
    }

    private static int stampOf(long slot) {
        return (int) (slot >>> LOCAL_BITS) & ADAPTIVE_STAMP;
    }

    private static long slot(long local, int stamp, float figure) {
        return ((long) Float.floatToRawIntBits(figure) << 32) | ((long) stamp << LOCAL_BITS) | local;
    }

    /** Keeps the figure of the key at position {@code pos} of the dense array, if it is still there. */
    private static void remember(Lane l, int pos, int local, int stamp, float figure) {
        if (pos >= 0 && pos < l.slots.length) {
            long seen = (long) SLOTS.getOpaque(l.slots, pos);
            if ((seen & LOCAL_MASK) == local) {
                rememberSeen(l, pos, seen, stamp, figure);
            }
        }
    }

    /** Keeps a figure in the slot read as {@code seen}, unless a writer or another selection changed it since. */
    private static void rememberSeen(Lane l, int pos, long seen, int stamp, float figure) {
        long next = slot(seen & LOCAL_MASK, stamp, figure);
        if (next != seen) {
            SLOTS.compareAndSet(l.slots, pos, seen, next);
        }
    }

    /** Small lanes: every usable key is looked at; the lane-local index of the best one, or -1. */
    private int scan(Lane l, int n, KeyAttempts attempts, long now, KeyBudget budget, boolean byUse, long day) {
        int best = -1;
        double bestFigure = 0;
        for (int m = 0; m < n && m < l.slots.length; m++) {
            int local = (int) ((long) SLOTS.getOpaque(l.slots, m) & LOCAL_MASK);
            if (check(l, local, attempts, now, budget)) {
                double f = figure(l, local, now, byUse, day);
                // least_used: the first of the least loaded; adaptive: the last of the best scored.
                if (best < 0 || (byUse ? f < bestFigure : f >= bestFigure)) {
                    best = local;
                    bestFigure = f;
                }
            }
        }
        return best;
    }
}
