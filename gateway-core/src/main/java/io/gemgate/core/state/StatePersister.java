package io.gemgate.core.state;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.keys.KeyPool;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Keeps the key pool's state on disk: restores it at start, writes it on its own thread at most {@code interval}
 * after a change, and once more at shutdown. A kill between writes loses at most one interval of counters; cooldowns,
 * exhaustion and invalid marks are absolute times and survive as they were last written.
 */
public final class StatePersister implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(StatePersister.class);

    private final KeyPool pool;
    private final StateFile file;
    private final Duration interval;
    private final ScheduledExecutorService writer;
    private boolean closed;

    public StatePersister(KeyPool pool, StateFile file, Duration interval) {
        this.pool = requireNonNull(pool, "pool");
        this.file = requireNonNull(file, "file");
        this.interval = requireNonNull(interval, "interval");
        this.writer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "gemgate-state-writer");
            t.setDaemon(true);
            return t;
        });
    }

    /** Loads the state file (falling back to its backup when corrupt) into the pool. */
    public StateFile.LoadResult restore() {
        StateFile.LoadResult r = file.load();
        int matched = pool.restore(r.snapshot());
        log.info("state restored from {} ({}): {} of {} keys known", file.primaryPath(), r.source(), matched,
                pool.keys().size());
        return r;
    }

    /** Starts the periodic writer. */
    public void start() {
        long ms = Math.max(50, interval.toMillis());
        writer.scheduleWithFixedDelay(this::flushIfDirty, ms, ms, TimeUnit.MILLISECONDS);
    }

    private void flushIfDirty() {
        try {
            if (pool.takeDirty()) {
                file.write(pool.snapshot());
            }
        } catch (RuntimeException e) {
            pool.markDirty(); // try again next round
            log.error("could not write the state file {}: {}", file.primaryPath(), e.toString());
        }
    }

    /** Writes the state now, on the writer thread, and waits for it. */
    public void flushNow() {
        try {
            writer.submit(() -> file.write(pool.snapshot())).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.error("could not write the state file {}: {}", file.primaryPath(), e.toString());
        }
    }

    /** Stops the writer after a last write. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        flushNow();
        writer.shutdownNow();
    }
}
