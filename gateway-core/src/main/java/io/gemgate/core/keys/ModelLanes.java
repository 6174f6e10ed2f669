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
 * dense array for random choices, and per key the figure least_used or adaptive last read for it ({@link
 * Lane#figures}), so that a key drawn at random is first compared without reading its objects. A verdict that rests a key takes it out of every lane of the model
 * ({@link #update}) and files its end in a {@link WakeHeap}; the first selection after that end puts it back
 * ({@link #wake}). A key that rests without the lanes having heard of it yet (a concurrent verdict, a budget spent,
 * another gateway's cooldown) is found when a selection meets it: the selection takes it out and moves on, so each
 * such key costs one extra probe, once.
 *
 * <p>Thread-safety: readers (selection) take no lock and allocate nothing; they read the arrays as they are and check
 * the key they land on; the figures they keep are written with opaque stores (whole values, no order). Writers ({@link #update}, {@link #wake}) hold the lock; {@link #wake} and the selection's own
 * updates only try it, so that no event loop waits for another.
 */
final class ModelLanes {
    /** Lanes of at most this many usable keys are scanned whole by least_used (exact); larger ones use two choices. */
    static final int EXACT_SCAN = 8;
    /** What an adaptive figure is stamped with in {@link Lane#figures}; a stamp of 0 means "not known". */
    private static final int ADAPTIVE_STAMP = Integer.MIN_VALUE;
    /** Whole (never torn) reads and writes of {@link Lane#figures}, without ordering: on x86 plain moves. */
    private static final VarHandle FIGURES = MethodHandles.arrayElementVarHandle(long[].class);

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
        /** The usable keys (lane-local indexes), dense: {@code [0, size)}. */
        final int[] members;
        final int[] memberPos;
        volatile int size;
        /** The next schedule position to look at, shared by every request. */
        final AtomicInteger cursor = new AtomicInteger();
        /**
         * Per lane-local index: the figure two choices compare (least_used: today's requests per weight; adaptive:
         * the health score) as it was when a selection last read the key, with what it is a figure of in the high
         * half ({@link #stamp}). Contiguous, so that looking at a key drawn at random costs one read in this array
         * rather than a walk through the key's objects (see {@link #twoChoices}). Read and written with
         * {@link #FIGURES} (opaque: whole, never torn); a racy value only costs a closer look.
         */
        final long[] figures;

        Lane(int tier, List<ApiKey> list, int[] indexOf) {
            this.tier = tier;
            this.keys = list.toArray(new ApiKey[0]);
            this.indexOf = indexOf;
            this.schedule = KeyRing.schedule(keys);
            this.bits = new UsableBits(schedule.length);
            this.members = new int[keys.length];
            this.memberPos = new int[keys.length];
            this.figures = new long[keys.length];
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

        private void admit(int local) {
            if (memberPos[local] >= 0) {
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
            members[n] = local;
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
            int moved = members[last];
            members[pos] = moved;
            memberPos[moved] = pos;
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
        // Forget the figure the selection kept: it may be above the truth (a request counted ahead, then refused).
        FIGURES.setOpaque(lane.figures, local, 0L);
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

    /** A usable key of the lowest tier that has one, not yet tried by this request; null when none is left. */
    ApiKey select(Strategy strategy, KeyAttempts attempts, long now, KeyBudget budget) {
        for (Lane l : lanes) {
            if (l.size == 0) {
                continue;
            }
            ApiKey k = switch (strategy) {
                case ROUND_ROBIN -> roundRobin(l, attempts, now, budget);
                case LEAST_USED -> twoChoices(l, attempts, now, budget, true);
                case ADAPTIVE -> twoChoices(l, attempts, now, budget, false);
            };
            if (k != null) {
                return k;
            }
        }
        return null;
    }

    /** Takes a key that failed the check at selection out of the lanes (unless tried by this request). */
    private boolean check(ApiKey k, int index, KeyAttempts attempts, long now, KeyBudget budget) {
        if (attempts.contains(k.slot())) {
            return false;
        }
        if (pool.usable(k, model, now, budget)) {
            return true;
        }
        tryUpdate(index, now);
        return false;
    }

    private ApiKey roundRobin(Lane l, KeyAttempts attempts, long now, KeyBudget budget) {
        int local = nextInRotation(l, attempts, now, budget);
        return local < 0 ? null : l.keys[local];
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
            if (check(l.keys[local], l.indexOf[local], attempts, now, budget)) {
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
     * key drawn at random, and the better of the two serves.
     *
     * <p>Why the first choice is not drawn at random too: a key drawn at random among 100,000 is a walk through
     * objects that are in no cache (the key, its per-model state, its counters), twice per request; the rotation meets
     * the keys in the order their objects were made, which the caches and the prefetcher serve well (round robin
     * selects 8 times faster than two random choices at 100,000 keys, docs/benchmarks.md). The second choice is first
     * compared by the figure it had when a selection last read it ({@link Lane#figures}, one read in a contiguous
     * array); the key itself is read only when that figure says it may beat the first. For least_used that figure is
     * a lower bound of the key's load for the quota day (requests only grow within a day; a figure from another day
     * counts as 0), so the comparison gives the answer a full read would. For adaptive it is the score when last read,
     * at most one rotation old. The balance: every key is the first choice once per rotation and the second at random,
     * as often as with two random choices; a key behind the others wins both; TwoChoicesBalanceTest compares the spread
     * with that of two random choices.
     */
    private ApiKey twoChoices(Lane l, KeyAttempts attempts, long now, KeyBudget budget, boolean byUse) {
        int n = l.size;
        if (n == 0) {
            return null;
        }
        long day = byUse ? pool.calendar().dayStart(now) : 0;
        if (n <= EXACT_SCAN) {
            return scan(l, n, attempts, now, budget, byUse, day);
        }
        int la = nextInRotation(l, attempts, now, budget);
        if (la < 0) {
            return null;
        }
        ApiKey a = l.keys[la];
        int stamp = byUse ? dayStamp(day) : ADAPTIVE_STAMP;
        float fa = down(figure(a, now, byUse, day));
        n = l.size;
        if (n > 1) {
            // A key other than the first choice: draw among the n - 1 other positions of the dense array.
            int j = ThreadLocalRandom.current().nextInt(n - 1);
            int pa = l.memberPos[la];
            if (j >= pa && pa >= 0) {
                j++;
            }
            int lb = l.members[j];
            long seen = (long) FIGURES.getOpaque(l.figures, lb);
            float fs = Float.intBitsToFloat((int) seen);
            boolean known = (int) (seen >>> 32) == stamp;
            if (!known || (byUse ? fs < fa : fs > fa)) {
                ApiKey b = l.keys[lb];
                if (check(b, l.indexOf[lb], attempts, now, budget)) {
                    float fb = down(figure(b, now, byUse, day));
                    if (byUse ? fb < fa : fb > fa) {
                        remember(l, la, stamp, fa);
                        remember(l, lb, stamp, byUse ? down(fb + 1.0 / b.weight()) : fb);
                        return b;
                    }
                    remember(l, lb, stamp, fb);
                }
            }
        }
        // The chosen key's load as it is once the pool has counted this request for it.
        remember(l, la, stamp, byUse ? down(fa + 1.0 / a.weight()) : fa);
        return a;
    }

    private double figure(ApiKey k, long now, boolean byUse, long day) {
        return byUse ? load(k, day) : k.health().score(now);
    }

    /** The largest float not above {@code v}: a lower bound stays one once stored as a float. */
    private static float down(double v) {
        float f = (float) v;
        return f > v ? Math.nextDown(f) : f;
    }

    /** The quota day a least_used figure belongs to: minutes since the epoch of the day's start (never 0). */
    private static int dayStamp(long dayStart) {
        return (int) (dayStart / 60_000);
    }

    private static void remember(Lane l, int local, int stamp, float figure) {
        FIGURES.setOpaque(l.figures, local, ((long) stamp << 32) | (Float.floatToRawIntBits(figure) & 0xFFFF_FFFFL));
    }

    private ApiKey scan(Lane l, int n, KeyAttempts attempts, long now, KeyBudget budget, boolean byUse, long day) {
        ApiKey best = null;
        for (int m = 0; m < n && m < l.members.length; m++) {
            int local = l.members[m];
            ApiKey k = l.keys[local];
            if (check(k, l.indexOf[local], attempts, now, budget) && (best == null || better(k, best, now, byUse, day))) {
                best = k;
            }
        }
        return best;
    }

    private boolean better(ApiKey a, ApiKey b, long now, boolean byUse, long day) {
        if (byUse) {
            return load(a, day) < load(b, day);
        }
        return a.health().score(now) >= b.health().score(now);
    }

    private double load(ApiKey k, long day) {
        KeyModelState s = k.peek(model.index());
        return (s == null ? 0 : s.todayValue(DayCounters.REQUESTS, day)) / (double) k.weight();
    }
}
