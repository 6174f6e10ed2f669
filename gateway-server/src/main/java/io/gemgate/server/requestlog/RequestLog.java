package io.gemgate.server.requestlog;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.config.GatewayConfig;
import io.gemgate.server.AccessLog;
import io.gemgate.core.keys.QuotaCalendar;
import io.gemgate.core.requestlog.RequestRecord;
import io.gemgate.core.requestlog.UsageCounters;
import io.netty.util.concurrent.FastThreadLocalThread;
import io.netty.util.internal.PlatformDependent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
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
 * The request log (README, "Request log and usage") and the access log's writer: each ended request's
 * {@link RequestRecord} goes into a bounded lock-free queue from its event loop (the event loop's only work for both
 * logs, with the usage counts), and one thread, the pump ({@code gemgate-access-log}), takes them out, writes each
 * one's access line ({@link AccessLog#write}, flushed once per batch) and passes the records to keep to the database's
 * writer ({@link RequestWriter}, thread {@code gemgate-request-log}), which writes them in batches, one transaction
 * each. The event loop never waits, never wakes the pump (which looks every 20 ms when idle), and a slow or absent
 * database never holds the access log: the queue is drained whatever the database does, into a backlog of rows to write
 * bounded by {@code requests.queueSize}.
 *
 * <p>What is not written is counted ({@link #dropped}): when the queue is full, the record and its access line
 * ({@link Drop#FULL}); when the database cannot keep up, successes are sampled and failures kept ({@link
 * Drop#SAMPLED}): past half the backlog one success in {@code requests.sampleWhenBusy} is kept, and when writing
 * every success would take the database work past {@code requests.cpuPercent} of one core, one success in N where N
 * keeps it under: from what the writer measures its work to cost, the pump sets N every 50 ms from the rate successes
 * arrive at (on a busy gateway the writer would otherwise take its share of the cores from the event loops). {@link
 * #keepOneIn()} tells the current N. A burst is written whole first: a bucket of the writer's CPU time fills at the
 * rate N aims at ({@value #AIM} of {@code cpuPercent} of a core, less the work sampling does not change), up to
 * {@value #BURST_MILLIS} ms of CPU, every row passed on takes its measured cost out of it, and a success N would drop
 * is still written while the bucket holds its cost. So a burst after a quiet spell (a client's batch of a few thousand
 * requests) is written whole, and only a rate kept up for longer than the bucket lasts is sampled; the rows N keeps
 * then empty the bucket as fast as it fills, and the writer's work stays where N puts it.
 *
 * <p>Usage is counted apart from the records, on the event loop ({@link UsageCounters}), so that it stays exact
 * whatever is dropped. The writer adds the counts to the database, prunes, and runs the admin API's reads ({@link
 * #read}) after what was queued before them; {@link RequestWriter} tells how, and what happens while the database is
 * down. With {@code requests.enabled: false} there is no database writer and the pump only writes access lines; with
 * the access log off too there is no pump and no record ({@link #OFF}).
 */
public final class RequestLog implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(RequestLog.class);
    /** Records a batch: the pump's, and the writer's transaction ({@link RequestWriter}). */
    static final int BATCH = 500;
    /** How long the pump, and the writer, park when idle. */
    static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    /**
     * The pump's inbound queue holds at least this many records whatever {@code requests.queueSize} says: the pump
     * never waits on the database, so this queue only covers the pump's park (20 ms) and scheduling delays, and a
     * small database backlog (the setting) must not cost access lines. Rounded up to a power of two.
     */
    private static final int PUMP_QUEUE_MIN = 4096;
    /**
     * Access lines the pump writes before it yields its core (when another thread waits for it). Under load it wakes
     * to about 1,400 records; encoding them in one spell of a millisecond kept an event loop off its core and left the
     * pipeline's other stages idle (docs/benchmarks.md, fifth session): 64 lines are a spell of about 40 us. A power
     * of two.
     */
    private static final int SPELL = 64;
    private static final int MAX_KEEP_ONE_IN = 1000;
    /** The share of the budget the sampling aims at, and the burst bucket fills at. */
    static final double AIM = 0.8;
    /**
     * The CPU time a burst may take beyond {@code requests.cpuPercent}: about 2,500 rows at SQLite's 20 us a row here
     * (README, Request log and usage), refilled in about 6 s of a quiet gateway at the default 1 %.
     */
    static final long BURST_MILLIS = 50;
    private static final long BURST_NANOS = TimeUnit.MILLISECONDS.toNanos(BURST_MILLIS);
    /** How often the pump sets the sampling from the rate successes arrive at. */
    private static final long SAMPLE_EVERY_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    static final long DAY = 86_400_000L;

    /** A read of the database, run on the writer's thread. */
    @FunctionalInterface
    public interface Read<T> {
        T run(RequestStore store) throws SQLException;
    }

    /**
     * Why records were not written: sampled because the database could not keep up (its backlog past half, or its
     * work past {@code requests.cpuPercent}), or dropped because a queue was full.
     */
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

    /** The request log of a gateway that keeps no records and writes no access lines. */
    public static final RequestLog OFF = new RequestLog();

    private final boolean on;
    private final boolean lines;
    private final GatewayConfig.RequestLog settings;
    private final QuotaCalendar calendar;
    private final LongSupplier clock;
    private final Queue<RequestRecord> queue;
    private final int capacity;
    private final UsageCounters usage = new UsageCounters();
    private final Queue<Runnable> pumpTasks = new ConcurrentLinkedQueue<>();
    private final AtomicLong sampled = new AtomicLong();
    private final AtomicLong full = new AtomicLong();
    private final Thread pump;
    /** The database's writer; null when records are not kept. */
    private final RequestWriter writer;
    private volatile boolean stopping;
    private volatile int keepOneIn = 1;
    // the pump's
    private long successes;
    private long offered;
    private long failuresOffered;
    private long sampleWindowStart = System.nanoTime();
    /** The bucket of the writer's CPU time, in nanoseconds: negative after failures (always written) overdrew it. */
    private long credit = BURST_NANOS;
    /** What a row costs the writer, read once a batch. */
    private long rowCost;
    /**
     * The writer's backlog as the pump counts it within a batch: read from the queue once a batch (its size reads an
     * index the writer moves with every row it takes), then counted up with each row passed on, so an overestimate.
     */
    private int backlog;

    private RequestLog() {
        this.on = false;
        this.lines = false;
        this.settings = null;
        this.calendar = null;
        this.clock = System::currentTimeMillis;
        this.queue = null;
        this.capacity = 0;
        this.pump = null;
        this.writer = null;
    }

    private RequestLog(GatewayConfig.RequestLog settings, Database db, boolean lines, QuotaCalendar calendar,
                       LongSupplier clock) {
        this.on = true;
        this.lines = lines;
        this.settings = settings;
        this.calendar = calendar;
        this.clock = clock;
        this.capacity = settings.queueSize();
        // A power of two: the queue's own bound, so that queuing a record reads no index the pump writes.
        this.queue = PlatformDependent.newFixedMpscQueue(io.netty.util.internal.MathUtil
                .safeFindNextPositivePowerOfTwo(Math.max(capacity, PUMP_QUEUE_MIN)));
        // A FastThreadLocalThread: AccessLog finds its line writer per line through a FastThreadLocal, an array read
        // on such a thread and a hash lookup on any other.
        this.pump = new FastThreadLocalThread(this::pumpLoop, "gemgate-access-log");
        this.pump.setDaemon(true);
        this.writer = db == null ? null : new RequestWriter(settings, db, calendar, clock, usage);
    }

    /**
     * Starts the writer, which opens the database named by the settings (the SQLite file {@code requests.db} in
     * {@code dataDir} by default) and applies the schema's migrations on its own thread: the gateway's start does not
     * wait for them (Flyway and the driver's login cost about a second of CPU, many seconds on a loaded machine).
     * Records queue meanwhile. A database that cannot be reached is not fatal: the writer keeps trying, and the
     * gateway serves meanwhile. With {@code requests.enabled: false} only the
     * access log's writer starts, when the access log is on ({@link AccessLog#isEnabled()} at start).
     *
     * @param clock epoch milliseconds, for retention and usage buckets (the gateway's clock)
     */
    public static RequestLog start(GatewayConfig.RequestLog settings, Path dataDir, QuotaCalendar calendar,
                                   LongSupplier clock) {
        requireNonNull(settings, "settings");
        boolean lines = AccessLog.isEnabled();
        if (!settings.enabled() && !lines) {
            return OFF;
        }
        Database db = null;
        if (!settings.enabled()) {
            db = null;
        } else if (settings.databaseUrl() == null) {
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
        RequestLog l = new RequestLog(settings, db, lines, calendar, clock);
        if (l.writer != null) {
            l.writer.start();
            log.info("request log in {}", db);
        }
        l.pump.start();
        return l;
    }

    /** True when ended requests are handed here (records kept, or access lines written, or both). */
    public boolean isOn() {
        return on;
    }

    /** True when records are kept in a database. */
    public boolean stores() {
        return writer != null;
    }

    /** Where the records are kept ({@code sqlite /path} or {@code postgresql host:port/db}), "off" when not. */
    public String where() {
        return writer == null ? "off" : writer.where();
    }

    /**
     * Takes one ended request, on its event loop: counts its usage, then queues the record for its access line and
     * the database (or drops it, counted, when the queue is full). Never blocks, never wakes a thread.
     */
    public void add(RequestRecord r) {
        if (!on) {
            return;
        }
        boolean kept = writer != null && r.stored();
        if (kept) {
            usage.count(clock.getAsLong(), r);
        }
        if (!queue.offer(r)) {
            if (kept) {
                full.incrementAndGet();
            }
            if (lines) {
                AccessLog.lost();
            }
        }
    }

    /**
     * Runs {@code read} on the writer's thread once what is queued now is written; the future completes there (the
     * caller hops back to its own thread). Fails when the database is unavailable or records are not kept.
     */
    public <T> CompletableFuture<T> read(Read<T> read) {
        CompletableFuture<T> f = new CompletableFuture<>();
        if (writer == null) {
            f.completeExceptionally(new IllegalStateException("the request log is off (requests.enabled: false)"));
            return f;
        }
        if (stopping) {
            f.completeExceptionally(new SQLException("the gateway is stopping"));
            return f;
        }
        // Through the pump first, so that the records queued before this read reach the writer before it.
        pumpTasks.add(() -> writer.read(read, f));
        LockSupport.unpark(pump);
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
        return writer == null ? 0 : writer.written();
    }

    /** Failed writes (each retried: a batch is only lost when the queue overflows meanwhile). */
    public long writeErrors() {
        return writer == null ? 0 : writer.writeErrors();
    }

    /** Records waiting: for their access line, and for the database. */
    public int queued() {
        return !on ? 0 : queue.size() + (writer == null ? 0 : writer.backlog());
    }

    public int capacity() {
        return capacity;
    }

    /**
     * One success in this many is written now because of {@code requests.cpuPercent} (1: every one); set by the pump
     * every 50 ms from the rate successes arrive at and what the writer measured its work to cost, each second.
     */
    public int keepOneIn() {
        return keepOneIn;
    }

    /** The last database error, or null. */
    public String lastError() {
        return writer == null ? null : writer.lastError();
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

    // ------------------------------------------------------------------------------------------------ pump

    private void pumpLoop() {
        while (!stopping) {
            try {
                Runnable t;
                while ((t = pumpTasks.poll()) != null) {
                    pumpAll();
                    t.run();
                }
                if (!pumpBatch()) {
                    LockSupport.parkNanos(this, IDLE_PARK_NANOS);
                }
            } catch (RuntimeException e) {
                log.warn("access log writer: {}", e.toString());
            }
        }
        pumpAll();
        Runnable t;
        while ((t = pumpTasks.poll()) != null) {
            t.run();
        }
    }

    private void pumpAll() {
        while (pumpBatch()) {
            // more
        }
    }

    /**
     * Takes up to a batch of records from the queue: writes their access lines (flushed once for the batch) and
     * passes the ones to keep on to the writer. Returns true when the batch was full (more may wait).
     */
    private boolean pumpBatch() {
        int n = 0;
        if (writer != null) {
            backlog = writer.backlog();
            rowCost = writer.rowCostNanos();
        }
        RequestRecord r;
        while (n < BATCH && (r = queue.poll()) != null) {
            n++;
            if (lines) {
                AccessLog.write(r);
                if ((n & (SPELL - 1)) == 0) {
                    Thread.yield(); // a short spell: see SPELL
                }
            }
            if (writer != null && r.stored()) {
                toWriter(r);
            }
        }
        if (n > 0 && lines) {
            AccessLog.flush();
        }
        if (writer != null) {
            resample();
        }
        return n == BATCH;
    }

    /** Failures always go on (unless the writer's backlog is full); successes are sampled when it cannot keep up. */
    private void toWriter(RequestRecord r) {
        if (r.isFailure()) {
            failuresOffered++;
        } else {
            offered++;
            int sample = settings.sampleWhenBusy();
            if (backlog >= capacity / 2 && sample > 1 && ThreadLocalRandom.current().nextInt(sample) != 0) {
                sampled.incrementAndGet();
                return;
            }
            int k = keepOneIn;
            if (k > 1 && ++successes % k != 0 && credit < rowCost) {
                sampled.incrementAndGet();
                return;
            }
        }
        if (backlog >= capacity || !writer.offer(r)) {
            full.incrementAndGet();
        } else {
            backlog++;
            credit = Math.max(-BURST_NANOS, credit - rowCost);
        }
    }

    /** Every {@value #SAMPLE_EVERY_NANOS} ns of the pump: the sampling for the rate successes arrived at since. */
    private void resample() {
        long now = System.nanoTime();
        long span = now - sampleWindowStart;
        if (span < SAMPLE_EVERY_NANOS) {
            return;
        }
        double perSecond = offered * 1e9 / span;
        long cost = rowCost; // read at this batch's start
        double unsampled = writer.fixedShare();
        // failures are always written: their rows come out of the budget with the usage counts and pruning
        double fixed = unsampled + failuresOffered * (double) cost / span;
        int k = keepOneIn(perSecond, cost, fixed, settings.cpuPercent());
        credit = Math.min(BURST_NANOS,
                credit + (long) (span * AIM * Math.max(0, settings.cpuPercent() / 100.0 - unsampled)));
        if (k != keepOneIn) {
            log.debug("request log: one success in {} written ({} successes/s, {} us of CPU a row)", k,
                    Math.round(perSecond), cost / 1000);
        }
        keepOneIn = k;
        offered = 0;
        failuresOffered = 0;
        sampleWindowStart = now;
    }

    /**
     * The sampling that keeps the database work under {@code cpuPercent} of one core: successes arrive at
     * {@code perSecond} and a written row costs {@code rowCostNanos} of CPU, so writing all of them would take
     * {@code perSecond * rowCostNanos / 1e9} of a core; {@code fixed} is the share of the work that sampling does not
     * change (the usage counts, pruning), taken from the budget first. Within the budget every success is written;
     * past it, one in N where N aims at {@value #AIM} of what the budget leaves (at most one in {@value
     * #MAX_KEEP_ONE_IN}).
     */
    static int keepOneIn(double perSecond, long rowCostNanos, double fixed, int cpuPercent) {
        double budget = cpuPercent / 100.0 - fixed;
        double whole = perSecond * rowCostNanos / 1e9;
        if (whole <= Math.max(budget, 0)) {
            return 1;
        }
        return budget <= 0 ? MAX_KEEP_ONE_IN : (int) Math.min(MAX_KEEP_ONE_IN, Math.ceil(whole / (AIM * budget)));
    }

    /**
     * Stops the access log's writer after it wrote the lines of what was queued, then the database's writer after
     * it wrote the records and the last usage counts (waits up to 10 s for each).
     */
    @Override
    public void close() {
        if (!on || stopping) {
            return;
        }
        stopping = true;
        LockSupport.unpark(pump);
        try {
            pump.join(10_000);
            if (writer != null) {
                writer.stop();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
