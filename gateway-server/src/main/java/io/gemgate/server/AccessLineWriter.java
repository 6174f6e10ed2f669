package io.gemgate.server;

import io.gemgate.core.requestlog.AttemptRecord;
import io.gemgate.core.requestlog.RequestRecord;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.Layout;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractOutputStreamAppender;
import org.apache.logging.log4j.core.appender.OutputStreamManager;
import org.apache.logging.log4j.core.appender.rolling.RollingFileManager;
import org.apache.logging.log4j.core.config.AppenderRef;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.impl.MutableLogEvent;
import org.apache.logging.log4j.message.SimpleMessage;

/**
 * Writes access lines straight into the output streams of the access logger's appenders, formatted as the shipped
 * layout formats them ({@link #PATTERN}, config/log4j2.xml), without going through log4j2's logger, event and layout
 * for each line: the writer thread spends 0.7 us a request this way where it spent 1.5 through them
 * (docs/benchmarks.md, "End to end", fourth session).
 *
 * <p>Only when that gives the very bytes log4j2 would write: the logger configuration of {@code gemgate.access} has
 * no filter and is not additive, its appender references no level or filter, and every appender is a stream appender
 * (console, file, rolling file) without a filter whose layout formats two probe events byte for byte as this class
 * does (which the shipped pattern in UTF-8 does; a pattern, charset or replacement of one's own does not, and then
 * every line goes through log4j2 as before: {@link #write} returns false). Checked again whenever log4j2's
 * configuration changes (a reload, {@code GEMGATE_LOG_CONFIG}).
 *
 * <p>Lines are gathered in a buffer of this writer's and handed to each appender's manager in blocks (its
 * {@code writeBytes}, synchronized with the other loggers' lines, whole lines only); a rolling file's manager is
 * asked whether to roll over before each block, as its appender asks before each event. One thread only: the access
 * log's writer.
 */
final class AccessLineWriter {
    /** The layout of the access lines in config/log4j2.xml and the embedded log4j2.xml. */
    static final String PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%t] %c{1} - %msg%n%throwable";
    private static final DateTimeFormatter SECOND = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss");
    private static final DateTimeFormatter OFFSET = DateTimeFormatter.ofPattern("XXX");
    private static final int BLOCK = 64 * 1024;
    private static final byte[] MODEL = bytes(" model=");
    private static final byte[] KEY = bytes(" key=");
    private static final byte[] NO_KEY = bytes("- tier=-");
    private static final byte[] TIER = bytes(" tier=");
    private static final byte[] ATTEMPTS = bytes(" attempts=");
    private static final byte[] TOKEN = bytes("ms token=");

    private final org.apache.logging.log4j.core.Logger logger;
    private final byte[] buffer = new byte[BLOCK];
    private final byte[] shortNameText;
    private int used;
    private Configuration resolvedFor;
    private List<OutputStreamManager> managers = List.of();
    private boolean direct;
    private MutableLogEvent rolloverProbe;
    // the time prefix of the current second and the zone's offset after the milliseconds
    private long secondStart = Long.MIN_VALUE;
    private long secondEnd = Long.MIN_VALUE;
    private byte[] secondText = new byte[0];
    private byte[] offsetText = new byte[0];
    private long previousStart = Long.MIN_VALUE;
    private byte[] previousText = new byte[0];
    private byte[] previousOffset = new byte[0];
    private ZoneId zone;
    private byte[] threadText = Thread.currentThread().getName().getBytes(StandardCharsets.UTF_8);
    // the fields that repeat from one line to the next, each with the bytes of its last text
    private final Memo method = new Memo();
    private final Memo model = new Memo();
    private final Memo key = new Memo();
    private final Memo token = new Memo();

    /**
     * The UTF-8 bytes of the last text of one field: a gateway's lines mostly repeat a few methods, models, masked
     * keys and token hints, often the very same strings, so they are encoded once and copied.
     */
    private static final class Memo {
        private String text = "";
        private byte[] bytes = new byte[0];

        int copy(String s, byte[] out, int p) {
            if (s != text && !s.equals(text)) {
                bytes = s.getBytes(StandardCharsets.UTF_8);
                text = s;
            }
            System.arraycopy(bytes, 0, out, p, bytes.length);
            return p + bytes.length;
        }
    }

    AccessLineWriter(org.apache.logging.log4j.core.Logger logger) {
        this.logger = logger;
        String name = logger.getName();
        this.shortNameText = name.substring(name.lastIndexOf('.') + 1).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Adds one access line (its message; the time, level, thread and logger are added here) to the block, or returns
     * false when lines must go through log4j2 (see the class comment). Call {@link #push()} after a batch.
     */
    boolean write(CharSequence message) {
        if (!resolve()) {
            return false;
        }
        if (!logger.isInfoEnabled()) {
            return true; // the level now says no line (a reload, a level set at run time): none, as log4j2 would
        }
        if (!room(64 + threadText.length + 3 * message.length())) { // the prefix, and UTF-8's worst case per char
            return false;
        }
        used = line(System.currentTimeMillis(), message, buffer, used);
        return true;
    }

    /**
     * Adds the access line of {@code r} to the block, encoded from its fields (the text {@link AccessLog#message}
     * makes, without making it), or returns false when lines must go through log4j2.
     */
    boolean write(RequestRecord r) {
        if (!resolve()) {
            return false;
        }
        if (!logger.isInfoEnabled()) {
            return true;
        }
        AttemptRecord last = r.lastAttempt();
        String model = AccessLog.model(r);
        if (!room(160 + threadText.length + 3 * (r.method().length() + r.path().length() + model.length()
                + r.tokenHint().length() + (last == null ? 0 : last.keyMasked().length())))) {
            return false;
        }
        used = line(r, buffer, used);
        return true;
    }

    /**
     * Makes room for a line of at most {@code max} bytes, writing out the block when it is too full; false for a line
     * longer than a block (never: targets are cut at 512), which log4j2 then writes.
     */
    private boolean room(int max) {
        if (used + max > buffer.length) {
            push();
        }
        return max <= buffer.length;
    }

    /**
     * Formats {@code message} as the shipped layout does at {@code millis} into {@code out} from {@code at}; returns
     * the end. Package-private for the test that holds it against log4j2's own layout.
     */
    int line(long millis, CharSequence message, byte[] out, int at) {
        int p = prefix(millis, out, at);
        p = utf8(message, out, p);
        out[p++] = '\n';
        return p;
    }

    /**
     * The line of {@code r} at the time its request ended ({@code startMillis + latencyMillis}, the gateway's clock
     * when the record was made), as the event loop that ended it would have logged it: the writer reads no clock per
     * line, and a line's time does not depend on when the writer got to it.
     */
    int line(RequestRecord r, byte[] out, int at) {
        return line(r.startMillis() + r.latencyMillis(), r, out, at);
    }

    /** The line of {@code r} ({@link AccessLog#message}'s text after the prefix) at {@code millis}, as {@link #line}. */
    int line(long millis, RequestRecord r, byte[] out, int at) {
        int p = prefix(millis, out, at);
        p = method.copy(r.method(), out, p);
        out[p++] = ' ';
        p = utf8(r.path(), out, p);
        out[p++] = ' ';
        p = decimal(r.status(), out, p);
        p = copy(MODEL, out, p);
        p = model.copy(AccessLog.model(r), out, p);
        p = copy(KEY, out, p);
        AttemptRecord last = r.lastAttempt();
        if (last == null) {
            p = copy(NO_KEY, out, p);
        } else {
            p = key.copy(last.keyMasked(), out, p);
            p = copy(TIER, out, p);
            p = decimal(last.tier(), out, p);
        }
        p = copy(ATTEMPTS, out, p);
        p = decimal(r.attempts().size(), out, p);
        out[p++] = ' ';
        p = decimal(r.latencyMillis(), out, p);
        p = copy(TOKEN, out, p);
        p = token.copy(r.tokenHint(), out, p);
        out[p++] = '\n';
        return p;
    }

    private int prefix(long millis, byte[] out, int at) {
        if (millis < secondStart || millis >= secondEnd) {
            second(millis);
        }
        int p = copy(secondText, out, at);
        int ms = (int) (millis - secondStart);
        out[p++] = '.';
        out[p++] = (byte) ('0' + ms / 100);
        out[p++] = (byte) ('0' + ms / 10 % 10);
        out[p++] = (byte) ('0' + ms % 10);
        p = copy(offsetText, out, p);
        out[p++] = ' ';
        out[p++] = 'I';
        out[p++] = 'N';
        out[p++] = 'F';
        out[p++] = 'O';
        out[p++] = ' ';
        out[p++] = ' ';
        out[p++] = '[';
        p = copy(threadText, out, p);
        out[p++] = ']';
        out[p++] = ' ';
        p = copy(shortNameText, out, p);
        out[p++] = ' ';
        out[p++] = '-';
        out[p++] = ' ';
        return p;
    }

    /** {@code v} in decimal, as {@link StringBuilder#append(long)} writes it. */
    private static int decimal(long v, byte[] out, int p) {
        // The common sizes (tier, attempts, status, most latencies) without a loop or a long division.
        if (v >= 0 && v < 1000) {
            int i = (int) v;
            if (i >= 100) {
                out[p++] = (byte) ('0' + i / 100);
                i %= 100;
                out[p++] = (byte) ('0' + i / 10);
            } else if (i >= 10) {
                out[p++] = (byte) ('0' + i / 10);
            }
            out[p++] = (byte) ('0' + i % 10);
            return p;
        }
        if (v < 0) {
            if (v == Long.MIN_VALUE) {
                return ascii("-9223372036854775808", out, p);
            }
            out[p++] = '-';
            v = -v;
        }
        int digits = 1;
        for (long x = v; x >= 10; x /= 10) {
            digits++;
        }
        int end = p + digits;
        for (int i = end - 1; i >= p; i--) {
            out[i] = (byte) ('0' + v % 10);
            v /= 10;
        }
        return end;
    }

    /**
     * Makes the second of {@code millis} the current one. The one before is kept: lines are in the order their records
     * were queued, and two event loops' requests that ended about a second's turn apart may come in either order.
     */
    private void second(long millis) {
        if (zone == null) {
            zone = ZoneId.systemDefault();
        }
        long start = Math.floorDiv(millis, 1000L) * 1000L;
        long before = secondStart;
        byte[] beforeText = secondText;
        byte[] beforeOffset = offsetText;
        if (start == previousStart) {
            secondText = previousText;
            offsetText = previousOffset;
        } else {
            ZonedDateTime t = Instant.ofEpochMilli(start).atZone(zone);
            secondText = SECOND.format(t).getBytes(StandardCharsets.US_ASCII);
            offsetText = OFFSET.format(t).getBytes(StandardCharsets.US_ASCII);
        }
        secondStart = start;
        secondEnd = start + 1000L;
        previousStart = before;
        previousText = beforeText;
        previousOffset = beforeOffset;
    }

    /** The zone the times are written in (the default zone, as log4j2's date converter without a zone uses). */
    void zone(ZoneId z) {
        zone = z;
        secondStart = Long.MIN_VALUE;
        secondEnd = Long.MIN_VALUE;
        previousStart = Long.MIN_VALUE;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static int copy(byte[] src, byte[] out, int p) {
        System.arraycopy(src, 0, out, p, src.length);
        return p + src.length;
    }

    private static int ascii(String s, byte[] out, int p) {
        for (int i = 0; i < s.length(); i++) {
            out[p++] = (byte) s.charAt(i);
        }
        return p;
    }

    /**
     * UTF-8 of {@code s}, as {@link #utf8(CharSequence, byte[], int)}: the string's own encoder, which for the usual
     * ASCII text checks and copies its bytes in bulk where the loop goes a char at a time.
     */
    private static int utf8(String s, byte[] out, int p) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(b, 0, out, p, b.length);
        return p + b.length;
    }

    /** UTF-8 of {@code s}, an unpaired surrogate as {@code ?} (as Java's encoder replaces it). */
    private static int utf8(CharSequence s, byte[] out, int p) {
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                out[p++] = (byte) c;
            } else if (c < 0x800) {
                out[p++] = (byte) (0xc0 | (c >> 6));
                out[p++] = (byte) (0x80 | (c & 0x3f));
            } else if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                    int cp = Character.toCodePoint(c, s.charAt(++i));
                    out[p++] = (byte) (0xf0 | (cp >> 18));
                    out[p++] = (byte) (0x80 | ((cp >> 12) & 0x3f));
                    out[p++] = (byte) (0x80 | ((cp >> 6) & 0x3f));
                    out[p++] = (byte) (0x80 | (cp & 0x3f));
                } else {
                    out[p++] = '?';
                }
            } else {
                out[p++] = (byte) (0xe0 | (c >> 12));
                out[p++] = (byte) (0x80 | ((c >> 6) & 0x3f));
                out[p++] = (byte) (0x80 | (c & 0x3f));
            }
        }
        return p;
    }

    /** Hands the lines gathered so far to the appenders' managers (which write them out when flushed). */
    void push() {
        if (used == 0) {
            return;
        }
        int n = used;
        used = 0;
        for (OutputStreamManager m : managers) {
            try {
                if (m instanceof RollingFileManager r) {
                    rolloverProbe.setTimeMillis(System.currentTimeMillis());
                    r.checkRollover(rolloverProbe);
                }
                m.writeBytes(buffer, 0, n);
            } catch (RuntimeException e) {
                resolvedFor = null; // stopped by a reconfiguration: look again at the next line
            }
        }
    }

    /** True when lines may be written here under the current configuration (looked at again when it changes). */
    private boolean resolve() {
        Configuration config = logger.getContext().getConfiguration();
        if (config != resolvedFor) {
            push(); // lines of the old configuration go to its streams
            resolvedFor = config;
            threadText = Thread.currentThread().getName().getBytes(StandardCharsets.UTF_8);
            zone = null;
            secondStart = Long.MIN_VALUE;
            secondEnd = Long.MIN_VALUE;
            previousStart = Long.MIN_VALUE;
            List<OutputStreamManager> found = streams(config);
            direct = found != null;
            managers = found == null ? List.of() : found;
            if (rolloverProbe == null) {
                rolloverProbe = new MutableLogEvent();
                rolloverProbe.setLoggerName(logger.getName());
                rolloverProbe.setLevel(Level.INFO);
                rolloverProbe.setMessage(new SimpleMessage(""));
            }
        }
        return direct;
    }

    /** The managers to write to, or null when the configuration asks for log4j2's own path. */
    private List<OutputStreamManager> streams(Configuration config) {
        LoggerConfig lc = config.getLoggerConfig(logger.getName());
        if (!lc.getName().equals(logger.getName()) || lc.isAdditive() || lc.getFilter() != null
                || lc.getAppenders().isEmpty()) {
            return null;
        }
        for (AppenderRef ref : lc.getAppenderRefs()) {
            if (ref.getLevel() != null || ref.getFilter() != null) {
                return null;
            }
        }
        List<OutputStreamManager> out = new ArrayList<>();
        for (Appender a : lc.getAppenders().values()) {
            if (!(a instanceof AbstractOutputStreamAppender<?> s) || s.getFilter() != null || !a.isStarted()
                    || !formatsAsWe(a.getLayout())) {
                return null;
            }
            out.add(s.getManager());
        }
        return List.copyOf(out);
    }

    /** True when {@code layout} writes two probe events exactly as {@link #line} does. */
    private boolean formatsAsWe(Layout<?> layout) {
        if (layout == null) {
            return false;
        }
        String thread = new String(threadText, StandardCharsets.UTF_8);
        String[] probes = {"GET /v1beta/models 200 model=* key=AIza...0000 tier=0 attempts=1 3ms token=gg-t...5d1c",
            "POST /p%C3%A9 429 model=gemini-\u00e9\u4e2d\ud83d\ude00 key=- tier=- attempts=0 0ms token=-"};
        long[] times = {1_700_000_000_123L, 1_712_345_678_009L};
        for (int i = 0; i < probes.length; i++) {
            MutableLogEvent e = new MutableLogEvent();
            e.setLoggerName(logger.getName());
            e.setLoggerFqcn(org.apache.logging.log4j.spi.AbstractLogger.class.getName());
            e.setLevel(Level.INFO);
            e.setMessage(new SimpleMessage(probes[i]));
            e.setThreadName(thread);
            e.setTimeMillis(times[i]);
            byte[] theirs;
            try {
                theirs = layout.toByteArray(e);
            } catch (RuntimeException ex) {
                return false;
            }
            byte[] ours = new byte[64 + threadText.length + 3 * probes[i].length()];
            int n = line(times[i], probes[i], ours, 0);
            if (!java.util.Arrays.equals(theirs, 0, theirs.length, ours, 0, n)) {
                return false;
            }
        }
        return true;
    }
}
