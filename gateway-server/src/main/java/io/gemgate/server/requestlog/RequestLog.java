package io.gemgate.server.requestlog;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.config.GatewayConfig;
import io.gemgate.core.keys.QuotaCalendar;
import io.gemgate.core.requestlog.RequestRecord;
import io.gemgate.core.requestlog.UsageCounters;
import io.netty.util.internal.PlatformDependent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The request log (issue 17): each ended request's {@link RequestRecord} goes into a bounded lock-free queue from its
 * event loop, and one thread ({@code gemgate-request-log}) writes them to the database in batches, one transaction
 * each. The event loop never waits: when the database cannot keep up and the queue is past half full, successes are
 * sampled (one in {@code requests.sampleWhenBusy}) while failures are kept; when it is full, records are dropped.
 * Every drop is counted ({@link #dropped}).
 *
 * <p>Usage is counted apart from the records, on the event loop ({@link UsageCounters}), so that it stays exact
 * whatever is dropped; the writer adds the counts to the database every {@code requests.flushInterval}. The writer
 * also prunes, every minute: records past {@code requests.retention} or beyond {@code requests.maxSize}, usage per
 * day past {@code requests.usageRetention}, usage per minute past a day.
 *
 * <p>Reads for the admin API run on the same thread ({@link #read}), after what was queued before them is written,
 * so an answer shows every request that ended before it was asked. A database that is down is retried every second
 * (the batch in hand kept); reads then fail, and the queue's bound protects the gateway meanwhile.
 */
public final class RequestLog implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(RequestLog.class);
    private static final int BATCH = 500;
    private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    private static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long PRUNE_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);
    private static final long DAY = 86_400_000L;

    /** A read of the database, run on the writer's thread. */
    @FunctionalInterface
    public interface Read<T> {
        T run(RequestStore store) throws SQLException;
    }

    /** Why records were not written: sampled while the queue was busy, or dropped because it was full. */
    public enum Drop {
        SAMPLED("sampled"), FULL("full");

        private final String label;

        Drop(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** The request log of a gateway that keeps none ({@code requests.enabled: false}). */
    public static final RequestLog OFF = new RequestLog();

    private final boolean on;
    private final GatewayConfig.RequestLog settings;
    private final Database db;
    private final QuotaCalendar calendar;
    private final LongSupplier clock;
    private final Queue<RequestRecord> queue;
    private final int capacity;
    private final UsageCounters usage = new UsageCounters();
    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicLong sampled = new AtomicLong();
    private final AtomicLong full = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong writeErrors = new AtomicLong();
    private final Thread writer;
    private volatile boolean stopping;
    private volatile String lastError;
    private RequestStore store;
    private List<RequestRecord> pending = List.of();
    private List<UsageCounters.Row> pendingUsage = new ArrayList<>();
    private long retryAtNanos;
    private long nextUsageNanos;
    private long nextPruneNanos;

    private RequestLog() {
        this.on = false;
        this.settings = null;
        this.db = null;
        this.calendar = null;
        this.clock = System::currentTimeMillis;
        this.queue = null;
        this.capacity = 0;
        this.writer = null;
    }

    private RequestLog(GatewayConfig.RequestLog settings, Database db, QuotaCalendar calendar, LongSupplier clock) {
        this.on = true;
        this.settings = settings;
        this.db = db;
        this.calendar = calendar;
        this.clock = clock;
        this.capacity = settings.queueSize();
        this.queue = PlatformDependent.newFixedMpscQueue(capacity);
        this.writer = new Thread(this::run, "gemgate-request-log");
        this.writer.setDaemon(true);
    }

    /**
     * Starts the writer, which opens the database named by the settings (the SQLite file {@code requests.db} in
     * {@code dataDir} by default) and applies the schema's migrations on its own thread: the gateway's start does not
     * wait for them (Flyway and the driver's login cost about a second of CPU, many seconds on a loaded machine).
     * Records queue meanwhile. A database that cannot be reached is not fatal: the writer keeps trying, and the
     * gateway serves meanwhile.
     *
     * @param clock epoch milliseconds, for retention and usage buckets (the gateway's clock)
     */
    public static RequestLog start(GatewayConfig.RequestLog settings, Path dataDir, QuotaCalendar calendar,
                                   LongSupplier clock) {
        requireNonNull(settings, "settings");
        if (!settings.enabled()) {
            return OFF;
        }
        Database db;
        if (settings.databaseUrl() == null) {
            try {
                Files.createDirectories(dataDir);
            } catch (java.io.IOException e) {
                throw new io.gemgate.core.config.ConfigException("state.dataDir: cannot create " + dataDir
                        + " for the request log (" + e.getMessage() + ")");
            }
            db = Database.sqlite(dataDir.resolve("requests.db"));
        } else {
            db = Database.postgres(settings.databaseUrl());
        }
        RequestLog l = new RequestLog(settings, db, calendar, clock);
        l.retryAtNanos = System.nanoTime(); // connect at the writer's first round
        l.writer.start();
        log.info("request log in {}", db);
        return l;
    }

    /** True when records are kept. */
    public boolean isOn() {
        return on;
    }

    /** Where the records are kept ({@code sqlite /path} or {@code postgresql host:port/db}), "off" when not. */
    public String where() {
        return on ? db.toString() : "off";
    }

    /**
     * Takes one ended request, on its event loop: counts its usage, then queues the record (or samples or drops it,
     * counted, when the queue is busy). Never blocks.
     */
    public void add(RequestRecord r) {
        if (!on) {
            return;
        }
        usage.count(clock.getAsLong(), r);
        int size = queue.size(); // lock-free, approximate under contention: the bounds below hold to a few records
        if (size >= capacity / 2 && !r.isFailure() && settings.sampleWhenBusy() > 1
                && ThreadLocalRandom.current().nextInt(settings.sampleWhenBusy()) != 0) {
            sampled.incrementAndGet();
            return;
        }
        // The queue's array is a power of two, up to twice requests.queueSize: the setting is the bound.
        if (size >= capacity || !queue.offer(r)) {
            full.incrementAndGet();
        }
    }

    /**
     * Runs {@code read} on the writer's thread once what is queued now is written; the future completes there (the
     * caller hops back to its own thread). Fails when the database is unavailable or the log is off.
     */
    public <T> CompletableFuture<T> read(Read<T> read) {
        CompletableFuture<T> f = new CompletableFuture<>();
        if (!on) {
            f.completeExceptionally(new IllegalStateException("the request log is off (requests.enabled: false)"));
            return f;
        }
        if (stopping) {
            f.completeExceptionally(new SQLException("the gateway is stopping"));
            return f;
        }
        tasks.add(() -> {
            try {
                drainQueue(true);
                flushUsage();
                if (store == null) { // not connected: the writer's retry stands, a read does not delay it
                    f.completeExceptionally(new SQLException(lastError == null ? "not connected" : lastError));
                    return;
                }
                f.complete(read.run(store));
            } catch (SQLException e) {
                f.completeExceptionally(e);
                failed(e);
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        });
        LockSupport.unpark(writer);
        return f;
    }

    /** Prunes now (tests drive the clock), then completes with the records deleted. */
    public CompletableFuture<Long> pruneNow() {
        return read(s -> s.prune(clock.getAsLong() - settings.retention().toMillis(), settings.maxSize(),
                calendar.dayStart(clock.getAsLong() - settings.usageRetention().toMillis()),
                clock.getAsLong() - DAY));
    }

    /** Records not written, by why. */
    public long dropped(Drop why) {
        return why == Drop.SAMPLED ? sampled.get() : full.get();
    }

    /** Records written to the database. */
    public long written() {
        return written.get();
    }

    /** Failed writes (each retried: a batch is only lost when the queue overflows meanwhile). */
    public long writeErrors() {
        return writeErrors.get();
    }

    /** Records waiting for the writer. */
    public int queued() {
        return on ? queue.size() : 0;
    }

    public int capacity() {
        return capacity;
    }

    /** The last database error, or null. */
    public String lastError() {
        return lastError;
    }

    /** The usage counters (the writer drains them). */
    UsageCounters usage() {
        return usage;
    }

    QuotaCalendar calendar() {
        return calendar;
    }

    long now() {
        return clock.getAsLong();
    }

    // ------------------------------------------------------------------------------------------------ writer

    private void run() {
        long now = System.nanoTime();
        nextUsageNanos = now + settings.flushInterval().toNanos();
        nextPruneNanos = now + TimeUnit.SECONDS.toNanos(5);
        while (!stopping) {
            try {
                round();
            } catch (RuntimeException e) {
                log.warn("request log writer: {}", e.toString());
            }
        }
        // Stopping: what is queued, and the usage counts, go out once more.
        drainQueue(true);
        flushUsage();
        failPendingTasks();
        if (store != null) {
            store.close();
            store = null;
        }
    }

    private void round() {
        Runnable t;
        while ((t = tasks.poll()) != null) {
            t.run();
        }
        boolean more = drainQueue(false);
        long now = System.nanoTime();
        if (now - nextUsageNanos >= 0) {
            nextUsageNanos = now + settings.flushInterval().toNanos();
            flushUsage();
        }
        if (now - nextPruneNanos >= 0) {
            nextPruneNanos = now + PRUNE_EVERY_NANOS;
            prune();
        }
        if (!more && tasks.isEmpty()) {
            LockSupport.parkNanos(this, IDLE_PARK_NANOS);
        }
    }

    /**
     * Writes queued records in batches: all of them when {@code all}, else one batch. Returns true when more are
     * waiting. While the database is failing, nothing is taken from the queue until the retry time.
     */
    private boolean drainQueue(boolean all) {
        do {
            if (!ensureStore()) {
                return false;
            }
            List<RequestRecord> batch = pending;
            if (batch.isEmpty()) {
                batch = new ArrayList<>(Math.min(BATCH, Math.max(16, queue.size())));
                RequestRecord r;
                while (batch.size() < BATCH && (r = queue.poll()) != null) {
                    batch.add(r);
                }
                if (batch.isEmpty()) {
                    return false;
                }
            }
            try {
                store.insert(batch);
                written.addAndGet(batch.size());
                pending = List.of();
            } catch (SQLException | RuntimeException e) {
                pending = batch; // kept for the retry; new records wait in the queue meanwhile
                failed(e);
                return false;
            }
        } while (all || queue.size() >= BATCH);
        return !queue.isEmpty();
    }

    private void flushUsage() {
        List<UsageCounters.Row> rows = usage.drain(clock.getAsLong());
        if (!pendingUsage.isEmpty()) {
            pendingUsage.addAll(rows);
            rows = pendingUsage;
        }
        if (rows.isEmpty()) {
            return;
        }
        if (!ensureStore()) {
            pendingUsage = rows instanceof ArrayList<UsageCounters.Row> a ? a : new ArrayList<>(rows);
            return;
        }
        try {
            store.addUsage(rows, calendar);
            pendingUsage = new ArrayList<>();
        } catch (SQLException | RuntimeException e) {
            pendingUsage = new ArrayList<>(rows);
            failed(e);
        }
    }

    private void prune() {
        if (!ensureStore()) {
            return;
        }
        long now = clock.getAsLong();
        try {
            long n = store.prune(now - settings.retention().toMillis(), settings.maxSize(),
                    calendar.dayStart(now - settings.usageRetention().toMillis()), now - DAY);
            if (n > 0) {
                log.debug("request log: pruned {} records", n);
            }
        } catch (SQLException | RuntimeException e) {
            failed(e);
        }
    }

    /** Connects (and migrates) on the first use and after a failure, at most once a second. */
    private boolean ensureStore() {
        if (store != null) {
            return true;
        }
        if (System.nanoTime() - retryAtNanos < 0) {
            return false;
        }
        connect();
        return store != null;
    }

    private void connect() {
        try {
            db.migrate();
            store = new RequestStore(db, clock.getAsLong());
            if (lastError != null) {
                log.info("request log database {} is back", db);
            }
            lastError = null;
        } catch (RuntimeException | SQLException e) {
            failed(e);
        }
    }

    private void failed(Exception e) {
        writeErrors.incrementAndGet();
        // The first line, capped: a driver's message of a failed batch quotes the statement and its values.
        String why = e.getMessage() == null ? e.getClass().getSimpleName()
                : io.gemgate.core.requestlog.ErrorText.cap(e.getMessage().lines().findFirst().orElse(""), 300);
        if (!why.equals(lastError)) {
            log.warn("request log database {}: {}; retrying every second", db, why);
        }
        lastError = why;
        if (store != null) {
            store.close();
            store = null;
        }
        retryAtNanos = System.nanoTime() + RETRY_NANOS;
    }

    private void failPendingTasks() {
        Runnable t;
        while ((t = tasks.poll()) != null) {
            t.run(); // each completes: with the store closed below, or with its error
        }
    }

    /** Stops the writer after it wrote what was queued and the last usage counts (waits up to 10 s). */
    @Override
    public void close() {
        if (!on || stopping) {
            return;
        }
        stopping = true;
        LockSupport.unpark(writer);
        try {
            writer.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
