package io.gemgate.server.requestlog;

import io.gemgate.core.config.GatewayConfig;
import io.gemgate.core.keys.QuotaCalendar;
import io.gemgate.core.requestlog.RequestRecord;
import io.gemgate.core.requestlog.UsageCounters;
import io.netty.util.internal.PlatformDependent;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The request log's database writer, on its own thread ({@code gemgate-request-log}): {@link RequestLog}'s pump
 * passes it the records to keep, into a backlog bounded by {@code requests.queueSize}, and it writes them in batches,
 * one transaction each. The pump alone offers rows and queues reads; the rest runs on the writer's thread, which
 * publishes its counters and measures for the other threads to read.
 *
 * <p>The pump samples successes when writing every one would take the database work past {@code requests.cpuPercent}
 * of one core (RequestLog's class comment), from what the writer measures: what a row costs (the thread's CPU time
 * around each batch, {@link #rowCostNanos}) and what the usage counts and pruning cost ({@link #fixedShare}), each
 * second.
 *
 * <p>The usage counts, taken on the event loops ({@link UsageCounters}), are added to the database every {@code
 * requests.flushInterval}. The writer also prunes, every minute: records past {@code requests.retention} or beyond
 * {@code requests.maxSize}, usage per day past {@code requests.usageRetention}, usage per minute past a day.
 *
 * <p>Reads for the admin API run on the same thread ({@link RequestLog#read}), after what was queued before them is
 * written, so an answer shows every request that ended before it was asked (bar the sampled ones). A database that is
 * down is retried every second (the backlog kept); reads then fail, and the backlog's bound protects the gateway
 * meanwhile.
 */
final class RequestWriter {
    /** RequestLog's logger: the writer's lines are the request log's, and a level set for RequestLog covers them. */
    private static final Logger log = LogManager.getLogger(RequestLog.class);
    private static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long PRUNE_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);
    private static final long CPU_WINDOW_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long WRITE_EVERY_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    /** What a row is taken to cost before the writer has measured it (CPU of its share of a batch insert). */
    private static final long FIRST_ROW_COST_NANOS = 20_000;
    private static final java.lang.management.ThreadMXBean THREADS =
            java.lang.management.ManagementFactory.getThreadMXBean();

    private final GatewayConfig.RequestLog settings;
    private final Database db;
    private final QuotaCalendar calendar;
    private final LongSupplier clock;
    private final UsageCounters usage;
    private final Queue<RequestRecord> rows;
    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong writeErrors = new AtomicLong();
    private final Thread thread;
    private volatile boolean stopping;
    private volatile String lastError;
    /** The writer's measures, for the pump's sampling: CPU per row written, and the share of a core the work that
     *  sampling does not change takes (usage counts, pruning). */
    private volatile long rowCostNanos = FIRST_ROW_COST_NANOS;
    private volatile double fixedShare;
    // the writer's thread's
    private RequestStore store;
    private List<RequestRecord> pending = List.of();
    private List<UsageCounters.Row> pendingUsage = new ArrayList<>();
    private long retryAtNanos;
    private long nextUsageNanos;
    private long nextPruneNanos;
    private long windowStartNanos;
    private long windowCpuNanos;
    private long windowRows;
    private long windowFixedNanos;
    private long lastWriteNanos;

    /** @param usage the request log's usage counters, which the writer drains */
    RequestWriter(GatewayConfig.RequestLog settings, Database db, QuotaCalendar calendar, LongSupplier clock,
                  UsageCounters usage) {
        this.settings = settings;
        this.db = db;
        this.calendar = calendar;
        this.clock = clock;
        this.usage = usage;
        this.rows = PlatformDependent.newFixedMpscQueue(settings.queueSize());
        this.thread = new Thread(this::run, "gemgate-request-log");
        this.thread.setDaemon(true);
    }

    /** Starts the writer's thread. */
    void start() {
        retryAtNanos = System.nanoTime(); // the writer connects at its first round
        thread.start();
    }

    /** Where the records are kept ({@code sqlite /path} or {@code postgresql host:port/db}). */
    String where() {
        return db.toString();
    }

    /** Queues a row to write, from the pump; false when the backlog is full. */
    boolean offer(RequestRecord r) {
        return rows.offer(r);
    }

    /** Rows waiting to be written (their queue's size: an index the writer moves with every row it takes). */
    int backlog() {
        return rows.size();
    }

    /** CPU per row written, as last measured (the pump's sampling). */
    long rowCostNanos() {
        return rowCostNanos;
    }

    /** The share of a core the work that sampling does not change takes, as last measured (the pump's sampling). */
    double fixedShare() {
        return fixedShare;
    }

    /**
     * Queues {@code read} on the writer's thread, after the rows queued before it (from the pump, so that the records
     * it passed on before are among them), and wakes the writer: the rows and usage counts go out first, then the read
     * runs and {@code f} completes there. Fails {@code f} when the database is not connected.
     */
    <T> void read(RequestLog.Read<T> read, CompletableFuture<T> f) {
        tasks.add(() -> {
            try {
                drainRows(true);
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
        LockSupport.unpark(thread);
    }

    /** Records written to the database. */
    long written() {
        return written.get();
    }

    /** Failed writes (each retried: a batch is only lost when the queue overflows meanwhile). */
    long writeErrors() {
        return writeErrors.get();
    }

    /** The last database error, or null. */
    String lastError() {
        return lastError;
    }

    /**
     * Stops the writer after it wrote the rows queued and the last usage counts, and closed the database; waits up to
     * 10 s for it. The pump must have stopped first, so that nothing is queued after.
     */
    void stop() throws InterruptedException {
        stopping = true;
        LockSupport.unpark(thread);
        thread.join(10_000);
    }

    private void run() {
        long now = System.nanoTime();
        nextUsageNanos = now + settings.flushInterval().toNanos();
        nextPruneNanos = now + TimeUnit.SECONDS.toNanos(5);
        windowStartNanos = now;
        while (!stopping) {
            try {
                round();
            } catch (RuntimeException e) {
                log.warn("request log writer: {}", e.toString());
            }
        }
        // Stopping: what is queued, and the usage counts, go out once more.
        drainRows(true);
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
        long now = System.nanoTime();
        boolean more = false;
        // A transaction costs more than its rows at low rates: records are written when a batch is full, and at
        // least every WRITE_EVERY_NANOS.
        if (rows.size() >= RequestLog.BATCH || now - lastWriteNanos >= WRITE_EVERY_NANOS) {
            lastWriteNanos = now;
            more = drainRows(false);
        }
        if (now - nextUsageNanos >= 0) {
            nextUsageNanos = now + settings.flushInterval().toNanos();
            long cpu = cpuNanos();
            flushUsage();
            windowFixedNanos += cpuNanos() - cpu; // database work too (requests.cpuPercent), not sampled
        }
        if (now - nextPruneNanos >= 0) {
            nextPruneNanos = now + PRUNE_EVERY_NANOS;
            long cpu = cpuNanos();
            prune();
            windowFixedNanos += cpuNanos() - cpu;
        }
        if (now - windowStartNanos >= CPU_WINDOW_NANOS) {
            measure(now);
        }
        if (!more && tasks.isEmpty()) {
            LockSupport.parkNanos(this, RequestLog.IDLE_PARK_NANOS);
        }
    }

    /**
     * Publishes the last window's measures for the pump's sampling ({@link RequestLog#keepOneIn(double, long, double,
     * int)}): the CPU a written row costs (when enough rows were written to tell; halfway towards the new figure, so
     * that one slow batch does not swing it) and the share of a core of the work sampling does not change.
     */
    private void measure(long now) {
        double span = now - windowStartNanos;
        if (windowRows >= 20) {
            rowCostNanos = Math.max(1, (rowCostNanos + windowCpuNanos / windowRows) / 2);
        }
        fixedShare = (fixedShare + windowFixedNanos / span) / 2;
        windowStartNanos = now;
        windowCpuNanos = 0;
        windowRows = 0;
        windowFixedNanos = 0;
    }

    private static long cpuNanos() {
        long t = THREADS.getCurrentThreadCpuTime();
        return t < 0 ? System.nanoTime() : t;
    }

    /**
     * Writes waiting records in batches: all of them when {@code all}, else one batch. Returns true when more are
     * waiting. While the database is failing, nothing is taken until the retry time.
     */
    private boolean drainRows(boolean all) {
        do {
            if (!ensureStore()) {
                return false;
            }
            List<RequestRecord> batch = pending;
            if (batch.isEmpty()) {
                batch = new ArrayList<>(Math.min(RequestLog.BATCH, Math.max(16, rows.size())));
                RequestRecord r;
                while (batch.size() < RequestLog.BATCH && (r = rows.poll()) != null) {
                    batch.add(r);
                }
                if (batch.isEmpty()) {
                    return false;
                }
            }
            long cpu = cpuNanos();
            try {
                store.insert(batch);
                written.addAndGet(batch.size());
                windowRows += batch.size();
                pending = List.of();
            } catch (SQLException | RuntimeException e) {
                pending = batch; // kept for the retry; new records wait in the backlog meanwhile
                failed(e);
                return false;
            } finally {
                windowCpuNanos += cpuNanos() - cpu;
            }
        } while (all || rows.size() >= RequestLog.BATCH);
        return !rows.isEmpty();
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
                    calendar.dayStart(now - settings.usageRetention().toMillis()), now - RequestLog.DAY);
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
}
