package io.gemgate.server;

import java.util.concurrent.atomic.LongAdder;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.async.AsyncQueueFullPolicy;
import org.apache.logging.log4j.core.async.EventRoute;

/**
 * What log4j2's asynchronous loggers do with an event when their ring buffer is full: drop it and count it, rather than
 * wait for room as log4j2's default policy does, which would hold an event loop as long as the disk or the console
 * is slower than the requests (STYLE.md T2). Named by {@code log4j2.asyncQueueFullPolicy} in
 * {@code log4j2.component.properties}; access lines are counted by {@link AccessLog#dropped()}, other events by
 * {@link #droppedOther()}. The logging thread itself (an appender logging an error) writes at once, as with log4j2's
 * default, since it cannot wait for itself.
 */
public final class LogQueueFullPolicy implements AsyncQueueFullPolicy {
    private static final LongAdder OTHER = new LongAdder();

    /** Instantiated by log4j2 (public, no arguments). */
    public LogQueueFullPolicy() {
    }

    @Override
    public EventRoute getRoute(long backgroundThreadId, Level level) {
        if (Thread.currentThread().getId() == backgroundThreadId) {
            return EventRoute.SYNCHRONOUS;
        }
        if (!AccessLog.droppedOnThisThread()) {
            OTHER.increment();
        }
        return EventRoute.DISCARD;
    }

    /** Events other than access lines dropped so far (metric {@code gemgate_log_dropped_total}). */
    public static long droppedOther() {
        return OTHER.sum();
    }
}
