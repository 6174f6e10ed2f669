package io.gemgate.server.shared;

import static java.util.Objects.requireNonNull;

import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The leaser that makes limits hold across every gateway of a prefix without a Redis round trip per request
 * (README, "Limits across gateways"): one thread that, every {@link #TICK_MILLIS} and at once when a {@link Ledger}
 * asks ({@link #wake}), lets each ledger say which shares to lease, renew or give back, sends those script calls to
 * Redis together, and hands each answer back to its ledger. Two ledgers use it: the user tokens' limits
 * ({@link TokenLeases}) and the keys' budgets ({@link BudgetLeases}); the hot paths only spend what the ledgers put in
 * local counters.
 *
 * <p>Redis away: the first failed call (or none connected) switches every ledger to "split" ({@link
 * Ledger#sharing}: each gateway allows its part of each limit on its own counters); the engine then tries a PING once
 * a second and switches them back when Redis answers.
 *
 * <p>Threads: {@link #wake} is called on event loops and only schedules; everything else runs on the leaser thread,
 * which waits for Lettuce's futures with a timeout and is not an event loop.
 */
final class LeaseEngine implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(LeaseEngine.class);
    /** The leaser looks at the shares in use this often, and at once when one runs low. */
    static final long TICK_MILLIS = 100;
    private static final long COMMAND_TIMEOUT_MILLIS = 3_000;

    /** One kind of shares leased through the engine. Called on the leaser thread only. */
    interface Ledger {
        /** Asks Redis for what is due ({@code calls}); not called while Redis is away. */
        void round(long now, int gateways, Calls calls);

        /** Leasing ({@code leased}) or each gateway on its part ({@code !leased}) among {@code gateways}. */
        void sharing(boolean leased, int gateways);

        /** Redis lost its data: every share held is void. */
        void reset();

        /** Gives back everything held (the gateway stops). */
        void giveBack(long now, Calls calls);

        /** The engine stopped. */
        void closed();
    }

    /** A Lua script and its SHA-1 (EVALSHA first, EVAL when the server does not know it yet). */
    record Script(String text, String sha) {
        static Script of(String text) {
            return new Script(text, sha1(text));
        }
    }

    private record Pending(Script script, String[] keys, String[] args, RedisFuture<List<Object>> answer,
                           Consumer<List<Object>> answered, Runnable failed) {
    }

    /** The calls of one round, sent at once and answered together. */
    final class Calls {
        private final RedisClusterAsyncCommands<String, String> r;
        private final List<Pending> pending = new ArrayList<>();
        /** A call was due while there was no connection. */
        private boolean unreachable;

        private Calls(RedisClusterAsyncCommands<String, String> r) {
            this.r = r;
        }

        /**
         * Sends one script call; {@code answered} gets its answer at the end of the round, or {@code failed} runs
         * (maybe at once, when no connection is there) when the call may not have reached Redis.
         */
        void add(Script s, String[] keys, String[] args, Consumer<List<Object>> answered, Runnable failed) {
            if (r == null) {
                unreachable = true;
                failed.run();
                return;
            }
            calls.incrementAndGet();
            pending.add(new Pending(s, keys, args, r.evalsha(s.sha(), ScriptOutputType.MULTI, keys, args), answered,
                    failed));
        }

        /** Waits for every answer; false when one failed (Redis is then taken as away). */
        private boolean finish() throws InterruptedException {
            Exception first = null;
            for (Pending p : pending) {
                List<Object> a;
                try {
                    a = answer(r, p);
                } catch (InterruptedException e) {
                    p.failed().run();
                    throw e;
                } catch (Exception e) {
                    p.failed().run();
                    if (first == null) {
                        first = e;
                    }
                    continue;
                }
                p.answered().accept(a);
            }
            if (first == null && unreachable) {
                first = new IllegalStateException("no connection");
            }
            if (first != null) {
                down(first);
            }
            return first == null;
        }
    }

    private final Supplier<RedisClusterAsyncCommands<String, String>> redis;
    private final IntSupplier gateways;
    private final LongSupplier clock;
    private final List<Ledger> ledgers = new CopyOnWriteArrayList<>();
    private final Thread thread;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private final AtomicLong calls = new AtomicLong();
    private volatile boolean closed;

    // Leaser thread only.
    /** Until the first answer, the ledgers split the limits (by one: each gateway counts its own). */
    private boolean down = true;
    private long lastTry;
    private int lastGateways = 1;

    /**
     * @param redis    the commands of the current connection, or null while there is none
     * @param gateways how many gateways share the state now (instances seen), at least 1
     */
    LeaseEngine(Supplier<RedisClusterAsyncCommands<String, String>> redis, IntSupplier gateways, LongSupplier clock) {
        this.redis = requireNonNull(redis, "redis");
        this.gateways = requireNonNull(gateways, "gateways");
        this.clock = requireNonNull(clock, "clock");
        this.thread = new Thread(this::loop, "gemgate-leases");
        thread.setDaemon(true);
    }

    /** Adds a ledger, before {@link #start}. It starts split by one (each gateway counts its own). */
    void add(Ledger l) {
        ledgers.add(requireNonNull(l, "ledger"));
        l.sharing(false, 1);
    }

    void start() {
        thread.start();
    }

    /** The leaser thread: a round every {@link #TICK_MILLIS}, or at once when woken. */
    private void loop() {
        while (!closed) {
            for (Runnable t; (t = tasks.poll()) != null;) {
                t.run();
            }
            if (closed) {
                break;
            }
            tick();
            if (!wakePending.get()) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS));
            }
        }
        for (Runnable t; (t = tasks.poll()) != null;) {
            t.run();
        }
    }

    /** Script calls made so far (tests and the sizing figures). */
    long calls() {
        return calls.get();
    }

    /**
     * A share runs low (or a request was refused for want of one): look now. Any thread; no I/O, no allocation, no
     * store when a wake-up is already pending.
     */
    void wake() {
        if (!wakePending.get() && wakePending.compareAndSet(false, true)) {
            LockSupport.unpark(thread);
        }
    }

    /** Runs {@code task} on the leaser thread, before its next round. */
    void execute(Runnable task) {
        tasks.add(task);
        wake();
    }

    /** Redis lost its data: every share held is void (its counts went with it). */
    void reset() {
        execute(() -> ledgers.forEach(Ledger::reset));
    }

    private void tick() {
        wakePending.set(false);
        try {
            long now = clock.getAsLong();
            if (down) {
                if (now - lastTry < 1000) {
                    return;
                }
                lastTry = now;
                tryUp();
                if (down) {
                    int g = Math.max(1, gateways.getAsInt());
                    ledgers.forEach(l -> l.sharing(false, g));
                    return;
                }
            }
            int g = Math.max(1, gateways.getAsInt());
            if (g != lastGateways) {
                lastGateways = g;
                ledgers.forEach(l -> l.sharing(true, g));
            }
            Calls c = new Calls(redis.get());
            for (Ledger l : ledgers) {
                l.round(now, g, c);
            }
            if (c.finish() && !c.pending.isEmpty()) {
                up();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.warn("leases: {}", e.toString());
        }
    }

    /** While Redis is away: notice its return. */
    private void tryUp() {
        RedisClusterAsyncCommands<String, String> r = redis.get();
        if (r == null) {
            return;
        }
        try {
            await(r.ping());
            up();
        } catch (Exception e) {
            // still away
        }
    }

    /** The script's answer; loads the script when this Redis does not know it yet (EVAL caches it). */
    private static List<Object> answer(RedisClusterAsyncCommands<String, String> r, Pending p) throws Exception {
        try {
            return await(p.answer());
        } catch (RedisNoScriptException e) {
            return await(r.eval(p.script().text(), ScriptOutputType.MULTI, p.keys(), p.args()));
        }
    }

    private void up() {
        if (down) {
            log.info("limits: leasing shares from Redis again");
            down = false;
        }
        int g = Math.max(1, gateways.getAsInt());
        lastGateways = g;
        ledgers.forEach(l -> l.sharing(true, g));
    }

    private void down(Exception e) {
        int g = Math.max(1, gateways.getAsInt());
        ledgers.forEach(l -> l.sharing(false, g));
        if (!down) {
            down = true;
            log.debug("limits: Redis unreachable ({}); each of {} gateway(s) allows its part of each limit",
                    e.toString(), g);
        }
    }

    static <T> T await(RedisFuture<T> f) throws Exception {
        try {
            return f.get(COMMAND_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception c ? c : e;
        } catch (TimeoutException e) {
            f.cancel(true);
            throw e;
        }
    }

    static String sha1(String script) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1")
                    .digest(script.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Gives back what every ledger holds (one last round, a few seconds at most) and stops. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        CompletableFuture<Void> last = new CompletableFuture<>();
        tasks.add(() -> {
            try {
                RedisClusterAsyncCommands<String, String> r = redis.get();
                if (r != null && !down) {
                    Calls c = new Calls(r);
                    long now = clock.getAsLong();
                    for (Ledger l : ledgers) {
                        l.giveBack(now, c);
                    }
                    c.finish();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                log.debug("leases not given back: {}", e.toString());
            } finally {
                last.complete(null);
            }
        });
        closed = true;
        LockSupport.unpark(thread);
        if (!thread.isAlive()) {
            last.complete(null); // never started
        }
        try {
            last.get(COMMAND_TIMEOUT_MILLIS + 1000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.debug("leases not given back: {}", e.toString());
        }
        ledgers.forEach(Ledger::closed);
    }
}
