package io.gemgate.bench;

import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.KeyAttempts;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.KeySpec;
import io.gemgate.core.keys.ModelRef;
import io.gemgate.core.keys.PoolSettings;
import io.gemgate.core.keys.QuotaCalendar;
import io.gemgate.core.keys.Strategy;
import io.gemgate.core.keys.Verdict;
import io.gemgate.core.settings.KeyBudget;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.runner.RunnerException;

/**
 * The key pool's hot path: {@link KeyPool#acquire} (one call per upstream attempt, on an event loop) and
 * {@link KeyPool#record} of a success (one call per answer). Selection must allocate nothing (docs/architecture.md) and
 * to scale with threads; run with {@code -prof gc} and read {@code gc.alloc.rate.norm} (bytes per operation).
 *
 * <p>Each selection starts from a cleared {@link KeyAttempts} of its thread ({@link KeyAttempts#reset()}), as each
 * request starts from a fresh one (made once per request in the gateway, not once per attempt), so that
 * {@code gc.alloc.rate.norm} counts what {@code acquire} itself allocates: 0 B/op.
 *
 * <p>{@code resting}: {@code none}, every key healthy (the common case); {@code 99pct}, 99 of every 100 keys cooling
 * down for the model (late in a quota day). Selection is O(1) amortized in both (see {@code ModelLanes}): round robin
 * finds the next usable position in a bit set with summary levels, least used and adaptive compare two keys drawn among
 * the usable ones (all of them when a tier has 8 or fewer, as with 10 keys 99 % resting).
 *
 * <p>The 2-thread variants share one pool, as the event loops of one gateway do: the shared round-robin cursor, the
 * per-key counters and the pool's dirty flag are written by both threads.
 *
 * <p>{@code budget}: {@code none} is the default gateway (no {@code keyBudgets}); {@code set} gives the model a
 * per-key budget too large to bind ({@link #LOOSE}), so that every selection pays for the budget checks and the
 * per-minute claim (a compare-and-set on the key's minute window) without ever running out.
 */
public class KeySelectionBenchmark extends AbstractBenchmark {
    static final String MODEL = "gemini-2.5-flash";
    /** A budget that never binds within a benchmark run. */
    static final KeyBudget LOOSE = new KeyBudget(1L << 36, 1L << 36, 1L << 50);

    /** Fake keys in Google's shape ("AIza" + 35 characters); nothing here talks to a network. */
    static List<KeySpec> keys(int n) {
        List<KeySpec> specs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String secret = String.format("AIzaSyBench%028d", i);
            specs.add(new KeySpec(secret, "", 1, "bench-" + i));
        }
        return specs;
    }

    static KeyPool pool(int keys, Strategy strategy) {
        return pool(keys, strategy, false);
    }

    /**
     * @param resting99 99 keys of every 100 (all but 1 in 10 when there are fewer than 100) cool down for the model
     *                  for an hour: longer than any run
     */
    static KeyPool pool(int keys, Strategy strategy, boolean resting99) {
        KeyPool pool = new KeyPool(keys(keys), new PoolSettings(strategy, 3, 60_000, 900_000, 5_000),
                new QuotaCalendar(ZoneId.of("America/Los_Angeles")), System::currentTimeMillis);
        // Steady state: every key has met the model (its per-model state exists) and has a latency average.
        ModelRef model = pool.model(MODEL);
        List<ApiKey> all = pool.keys();
        int every = keys >= 100 ? 100 : 10;
        for (int i = 0; i < all.size(); i++) {
            ApiKey k = all.get(i);
            pool.record(k, model, Verdict.SUCCESS, 300);
            if (resting99 && i % every != 0) {
                pool.record(k, model, new Verdict(io.gemgate.core.keys.VerdictKind.RATE_LIMIT, 3_600_000, "bench"),
                        300);
            }
        }
        return pool;
    }

    /** One pool per trial, shared by the benchmark threads. */
    @State(Scope.Benchmark)
    public static class Selection {
        @Param({"10", "1000", "10000", "100000"})
        public int keys;

        @Param({"ROUND_ROBIN", "LEAST_USED", "ADAPTIVE"})
        public Strategy strategy;

        /** {@code none}: every key healthy; {@code 99pct}: 99 % of the keys cooling down for the model. */
        @Param({"none", "99pct"})
        public String resting;

        /** {@code set} ({@code -p budget=set}): a per-key budget that never binds, so every selection pays its checks. */
        @Param({"none"})
        public String budget;

        KeyPool pool;
        ModelRef model;

        @Setup
        public void setUp() {
            pool = pool(keys, strategy, resting.equals("99pct"));
            if (budget.equals("set")) {
                pool.budgets(m -> LOOSE);
            }
            model = pool.model(MODEL);
        }
    }

    /** Recording does not depend on the strategy: a pool of its own, so the strategy is not a parameter here. */
    @State(Scope.Benchmark)
    public static class Recording {
        @Param({"10", "1000"})
        public int keys;

        KeyPool pool;
        ModelRef model;
        ApiKey[] ring;

        @Setup
        public void setUp() {
            pool = pool(keys, Strategy.ROUND_ROBIN);
            model = pool.model(MODEL);
            ring = pool.keys().toArray(new ApiKey[0]);
        }
    }

    /** The thread's request state, cleared before each selection as a new request's would be. */
    @State(Scope.Thread)
    public static class Request {
        final KeyAttempts attempts = new KeyAttempts(3);
    }

    /** Which key this thread records on next: threads walk the keys from different starts, like distinct requests. */
    @State(Scope.Thread)
    public static class Cursor {
        int next;

        @Setup
        public void setUp(Recording r) {
            next = System.identityHashCode(this) % r.ring.length;
        }
    }

    @Benchmark
    @Threads(1)
    public ApiKey select1Thread(Selection s, Request r) {
        r.attempts.reset();
        return s.pool.acquire(s.model, r.attempts);
    }

    @Benchmark
    @Threads(2)
    public ApiKey select2Threads(Selection s, Request r) {
        r.attempts.reset();
        return s.pool.acquire(s.model, r.attempts);
    }

    /** Baseline: what a request's {@link KeyAttempts} costs (an object and its table), made once per request. */
    @Benchmark
    @Threads(1)
    public KeyAttempts newKeyAttempts() {
        return new KeyAttempts(1);
    }

    @Benchmark
    @Threads(1)
    public void recordSuccess1Thread(Recording r, Cursor c) {
        recordSuccess(r, c);
    }

    @Benchmark
    @Threads(2)
    public void recordSuccess2Threads(Recording r, Cursor c) {
        recordSuccess(r, c);
    }

    private static void recordSuccess(Recording r, Cursor c) {
        ApiKey[] ring = r.ring;
        int i = c.next;
        c.next = i + 1 == ring.length ? 0 : i + 1;
        r.pool.record(ring[i], r.model, Verdict.SUCCESS, 250 + (i & 63));
    }

    public static void main(String[] args) throws RunnerException {
        run(KeySelectionBenchmark.class);
    }

    /**
     * Counts what {@code acquire} and {@code record} allocate by themselves, with the per-request {@link KeyAttempts}
     * made beforehand, outside the counted region (JMH's {@code -prof gc} cannot leave them out: they have no reset).
     * Uses the HotSpot per-thread allocation counter; prints bytes per call after a warmup.
     *
     * <pre>
     * java -cp gateway-bench/target/benchmarks.jar 'io.gemgate.bench.KeySelectionBenchmark$AllocationCheck'
     * </pre>
     */
    public static final class AllocationCheck {
        private AllocationCheck() {
        }

        public static void main(String[] args) {
            var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            long self = Thread.currentThread().getId();
            int calls = 1_000_000;
            long sink = 0;
            for (Strategy strategy : Strategy.values()) {
                for (int n : new int[] {10, 100, -10}) { // -10: 10 keys with a budget set
                    KeyPool pool = pool(Math.abs(n), strategy);
                    if (n < 0) {
                        pool.budgets(m -> LOOSE);
                    }
                    ModelRef model = pool.model(MODEL);
                    ApiKey[] ring = pool.keys().toArray(new ApiKey[0]);
                    double acquireBytes = 0;
                    double recordBytes = 0;
                    for (int round = 0; round < 5; round++) { // the last round counts, after the JIT has compiled
                        KeyAttempts[] attempts = new KeyAttempts[calls];
                        for (int i = 0; i < calls; i++) {
                            attempts[i] = new KeyAttempts(1);
                        }
                        long t0 = threads.getThreadAllocatedBytes(self);
                        for (int i = 0; i < calls; i++) {
                            sink += pool.acquire(model, attempts[i]).slot();
                        }
                        long t1 = threads.getThreadAllocatedBytes(self);
                        for (int i = 0; i < calls; i++) {
                            pool.record(ring[i % ring.length], model, Verdict.SUCCESS, 250 + (i & 63));
                        }
                        long t2 = threads.getThreadAllocatedBytes(self);
                        acquireBytes = (t1 - t0) / (double) calls;
                        recordBytes = (t2 - t1) / (double) calls;
                    }
                    System.out.printf("%-11s keys=%3d budget=%-4s  acquire %6.2f B/call  record(SUCCESS) %6.2f B/call%n",
                            strategy, Math.abs(n), n < 0 ? "set" : "none", acquireBytes, recordBytes);
                }
            }
            if (sink == 42) {
                System.out.println(); // keeps the results alive
            }
        }
    }
}
