package io.gemgate.server;

import io.gemgate.core.requestlog.AttemptRecord;
import io.gemgate.core.requestlog.RequestRecord;
import io.gemgate.core.route.NativePath;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.concurrent.atomic.LongAdder;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The access log ({@code gemgate.access}): one line per request, and what it shows of a request: its method and
 * target made safe for one log line (no credential parameter, no control or non-ASCII character, bounded length), and
 * a hint of the client's token.
 *
 * <p>Cost (the targets, README, "Benchmarks": Gemgate with both logs as shipped at least as fast as nginx with its
 * own logging, and at least 0.97 of itself with both logs off): the line is written from the request's
 * {@link RequestRecord} by the request log's one writer thread ({@code RequestLog}), not by the event loop: the event
 * loop's only work for both logs is to queue the record. The writer encodes each line from the record's fields into
 * the access logger's appenders' streams itself when their layout is the shipped one ({@link AccessLineWriter}: the
 * same bytes at half the thread's cost), or builds it in a builder of its own, reused, and hands it to log4j2 (a
 * synchronous logger in config/log4j2.xml: the thread is already not an event loop) whose appender buffers it; either
 * way the appenders are flushed once per batch of records ({@link #flush()}), so a line reaches the console or the
 * file within the writer's idle wait (20 ms) and a busy gateway writes in large blocks. A record the queue had no room
 * for loses its line too, counted in {@link #dropped()}.
 */
public final class AccessLog {
    private static final int MAX_TARGET = 512;
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();
    private static final Logger ACCESS = LogManager.getLogger("gemgate.access");
    /** Access lines dropped: the request log's queue was full, or log4j2's ring buffer when a configuration makes
     *  the access logger asynchronous. */
    private static final LongAdder DROPPED = new LongAdder();
    private static final FastThreadLocal<Line> LINE = new FastThreadLocal<>() {
        @Override
        protected Line initialValue() {
            return new Line();
        }
    };

    /** A thread's line builder, the last token hint it made, and whether it is handing a line to log4j2 now. */
    private static final class Line {
        final StringBuilder text = new StringBuilder(256);
        final StringBuilder request = new StringBuilder(128);
        String token;
        String hint;
        boolean writing;
        /** The request log's writer's: lines written straight to the appenders' streams ({@link AccessLineWriter}). */
        AccessLineWriter direct;

        String hint(String t) {
            if (t == null) {
                return "-";
            }
            if (!t.equals(token)) {
                hint = tokenHint(t);
                token = t;
            }
            return hint;
        }
    }

    private AccessLog() {
    }

    /** Whether access lines are written at all (the {@code gemgate.access} logger's level): check before building. */
    public static boolean isEnabled() {
        return ACCESS.isInfoEnabled();
    }

    /**
     * Writes one access line, {@code REQUEST STATUS model=M key=K tier=T attempts=N Nms token=H} (README, Logging).
     * Call on the thread that served the request; it never blocks.
     *
     * @param request    method and target as the line shows them, already made safe ({@link #target},
     *                   {@code ClientConnection.forLog})
     * @param model      the model, {@code *} or {@code -}
     * @param keyMasked  the last key tried, masked; null when none was
     * @param tier       that key's tier (ignored without a key)
     * @param tokenHint  the token the client presented as the line shows it ({@link #cachedHint})
     */
    public static void write(CharSequence request, int status, String model, String keyMasked, int tier,
                             int attempts, long millis, String tokenHint) {
        Line line = LINE.get();
        log(line, format(line, request, status, model, keyMasked, tier, attempts, millis, tokenHint));
    }

    private static StringBuilder format(Line line, CharSequence request, int status, String model, String keyMasked,
                                        int tier, int attempts, long millis, String tokenHint) {
        StringBuilder b = line.text;
        if (b.capacity() > 4096) {
            line.text.setLength(0);
            line.text.trimToSize(); // a long target once does not keep a large builder per thread
        }
        b.setLength(0);
        b.append(request).append(' ').append(status).append(" model=").append(model).append(" key=");
        if (keyMasked == null) {
            b.append("- tier=-");
        } else {
            b.append(keyMasked).append(" tier=").append(tier);
        }
        b.append(" attempts=").append(attempts).append(' ').append(millis).append("ms token=").append(tokenHint);
        return b;
    }

    private static void log(Line line, StringBuilder b) {
        line.writing = true;
        try {
            ACCESS.info(b); // log4j2 copies the text before returning (its reusable messages): the builder is ours again
        } finally {
            line.writing = false;
        }
    }

    /**
     * Writes the access line of {@code r} (on the request log's writer thread), {@code REQUEST STATUS model=M key=K
     * tier=T attempts=N Nms token=H}: the key and tier of its last attempt, {@code model=-} for an answer the gateway
     * gave before any exchange, {@code *} for a call that names no model.
     */
    public static void write(RequestRecord r) {
        Line line = LINE.get();
        if (line.direct == null && ACCESS instanceof org.apache.logging.log4j.core.Logger core) {
            line.direct = new AccessLineWriter(core);
        }
        if (line.direct == null || !line.direct.write(r)) {
            log(line, message(line, r));
        }
    }

    /** The access line's text of {@code r} (what {@link AccessLineWriter} encodes straight to bytes). */
    static String message(RequestRecord r) {
        return message(LINE.get(), r).toString();
    }

    private static StringBuilder message(Line line, RequestRecord r) {
        StringBuilder req = line.request;
        req.setLength(0);
        req.append(r.method()).append(' ').append(r.path());
        AttemptRecord last = r.lastAttempt();
        return format(line, req, r.status(), model(r), last == null ? null : last.keyMasked(),
                last == null ? 0 : last.tier(), r.attempts().size(), r.latencyMillis(), r.tokenHint());
    }

    /** The access line's model: {@code -} for an answer the gateway gave before any exchange, {@code *} for a call
     *  that names no model. */
    static String model(RequestRecord r) {
        return r.edge() ? "-" : r.model().isEmpty() ? (r.attempts().isEmpty() ? "-" : "*") : r.model();
    }

    /**
     * Writes out what the access logger's appenders hold in their buffers (their {@code immediateFlush} is off):
     * the request log's writer calls it after each batch of lines.
     */
    public static void flush() {
        Line line = LINE.getIfExists();
        if (line != null && line.direct != null) {
            line.direct.push();
        }
        if (ACCESS instanceof org.apache.logging.log4j.core.Logger core) {
            for (org.apache.logging.log4j.core.Appender a : core.getAppenders().values()) {
                if (a instanceof org.apache.logging.log4j.core.appender.AbstractOutputStreamAppender<?> o) {
                    o.getManager().flush();
                }
            }
        }
    }

    /** Counts an access line lost with its record (the request log's queue was full). */
    public static void lost() {
        DROPPED.increment();
    }

    /**
     * {@link #tokenHint} of {@code token}, remembered per thread for the last token seen: a connection's requests
     * (and most of a loop's) carry the same token, so the hint is made once, not per request.
     */
    public static String cachedHint(String token) {
        return LINE.get().hint(token);
    }

    /** Access lines dropped so far because the log's queue was full (metric {@code gemgate_access_log_dropped_total}). */
    public static long dropped() {
        return DROPPED.sum();
    }

    /**
     * Called by {@link LogQueueFullPolicy} when log4j2 drops an event on this thread: true (and counted here) when it
     * was an access line.
     */
    static boolean droppedOnThisThread() {
        Line line = LINE.getIfExists();
        if (line == null || !line.writing) {
            return false;
        }
        DROPPED.increment();
        return true;
    }

    /**
     * {@code uri} without its credential query parameters ({@link NativePath#withoutKey}), with every byte outside
     * visible ASCII written as {@code %XX}, cut at 512 characters.
     */
    public static String target(String uri) {
        int q = uri.indexOf('?');
        String t = q < 0 ? uri : uri.substring(0, q + 1) + NativePath.withoutKey(uri.substring(q + 1));
        if (t.endsWith("?")) {
            t = t.substring(0, t.length() - 1);
        }
        return visible(maskKeys(t), MAX_TARGET);
    }

    /**
     * {@code s} with every run shaped like a Google API key ({@code AIza} and 35 more of {@code [A-Za-z0-9_-]}) cut
     * to its first and last 4 characters: a key pasted into a path (an admin call by secret) is never logged whole.
     */
    public static String maskKeys(String s) {
        int at = s.indexOf("AIza");
        if (at < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length());
        int from = 0;
        while (at >= 0) {
            int end = at + 4;
            while (end < s.length() && isKeyChar(s.charAt(end))) {
                end++;
            }
            if (end - at >= 39) {
                b.append(s, from, at + 4).append("...").append(s, end - 4, end);
            } else {
                b.append(s, from, end);
            }
            from = end;
            at = s.indexOf("AIza", from);
        }
        return b.append(s, from, s.length()).toString();
    }

    private static boolean isKeyChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    }

    /** {@code target} with every occurrence of the client's {@code token} replaced by its {@link #tokenHint}. */
    public static String withoutToken(String target, String token) {
        if (token == null || token.length() < 4 || !target.contains(token)) {
            return target;
        }
        return target.replace(token, tokenHint(token));
    }

    /** {@code s} with characters outside visible ASCII as {@code %XX} (their low byte), cut at {@code max}. */
    public static String visible(String s, int max) {
        int n = Math.min(s.length(), max);
        boolean clean = true;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c <= ' ' || c >= 0x7f) {
                clean = false;
                break;
            }
        }
        if (clean) {
            return n == s.length() ? s : s.substring(0, n) + "...";
        }
        StringBuilder b = new StringBuilder(n + 16);
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c <= ' ' || c >= 0x7f) {
                b.append('%').append(HEX[(c >> 4) & 0xf]).append(HEX[c & 0xf]);
            } else {
                b.append(c);
            }
        }
        if (n < s.length()) {
            b.append("...");
        }
        return b.toString();
    }

    /**
     * A hint of a client token that does not give it away: its first and last 4 characters when it has 16 or more,
     * fewer for shorter ones (a quarter of its length on each side), "-" for none.
     */
    public static String tokenHint(String token) {
        if (token == null || token.isEmpty()) {
            return "-";
        }
        int side = Math.min(4, token.length() / 4);
        if (side == 0) {
            return "...";
        }
        return visible(token.substring(0, side), side) + "..." + visible(token.substring(token.length() - side), side);
    }
}
