package io.gemgate.server;

import io.gemgate.server.proxy.ClientConnection.Deadline;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The one timer of a client connection: a single deadline (idle, request read, request head, lingering close, or the
 * current exchange's upstream response timeout), kept in fields with its owner, and one wake-up task that is never
 * scheduled later than {@code step} from when it was scheduled (the shorter of the idle and request read timeouts).
 * A deadline set afterwards that falls later than the pending wake-up needs no new task, so setting or clearing a
 * deadline per request touches no timer queue (a schedule and a cancel per request cost more than the check). A
 * wake-up that finds the deadline moved or cleared reschedules itself or stops.
 *
 * <p>Not thread-safe: used on the connection's event loop only. One per connection.
 */
final class ConnectionTimer implements Runnable {
    private final EventExecutor executor;
    private final long stepNanos;
    /** Whose deadline is set, or null for none. */
    private Deadline owner;
    private long deadlineNanos;
    /** The pending wake-up, or null, and when it runs ({@link System#nanoTime()}). */
    private ScheduledFuture<?> wake;
    private long wakeNanos;

    ConnectionTimer(EventExecutor executor, long stepNanos) {
        this.executor = executor;
        this.stepNanos = stepNanos;
    }

    /** Sets the deadline for {@code owner}, replacing any other; reschedules only when the wake-up would be late. */
    void set(Deadline owner, long millis, long nowNanos) {
        this.owner = owner;
        deadlineNanos = nowNanos + TimeUnit.MILLISECONDS.toNanos(millis);
        if (wake == null || wakeNanos - deadlineNanos > 0) {
            schedule(nowNanos);
        }
    }

    /** Clears the deadline if {@code owner} set it. */
    void clear(Deadline owner) {
        if (this.owner == owner) {
            this.owner = null; // a pending wake-up finds nothing to do and stops
        }
    }

    /** Clears whatever deadline is set. */
    void clear() {
        owner = null;
    }

    /** Whose deadline is set, or null. */
    Deadline owner() {
        return owner;
    }

    /** When the deadline falls ({@link System#nanoTime()}); meaningful while {@link #owner()} is not null. */
    long deadlineNanos() {
        return deadlineNanos;
    }

    /** The connection closed: no more wake-ups. */
    void stop() {
        owner = null;
        if (wake != null) {
            wake.cancel(false);
            wake = null;
        }
    }

    private void schedule(long now) {
        if (wake != null) {
            wake.cancel(false);
        }
        long at = deadlineNanos - now < stepNanos ? deadlineNanos : now + stepNanos;
        wakeNanos = at;
        wake = executor.schedule(this, Math.max(0, at - now), TimeUnit.NANOSECONDS);
    }

    @Override
    public void run() {
        wake = null;
        Deadline o = owner;
        if (o == null) {
            return;
        }
        long now = System.nanoTime();
        if (deadlineNanos - now > 0) {
            schedule(now);
            return;
        }
        owner = null;
        o.onDeadline();
    }
}
