package io.gemgate.core.json;

import io.gemgate.core.bytes.ByteSearch;
import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Picks the {@code usageMetadata} token counters out of a Gemini response body as its bytes go by, without parsing
 * or buffering the body.
 *
 * <p>It looks for {@code "promptTokenCount"}, {@code "candidatesTokenCount"}, {@code "thoughtsTokenCount"},
 * {@code "totalTokenCount"} and {@code "cachedContentTokenCount"} (quotes included), then optional whitespace,
 * {@code :}, optional whitespace and a non-negative integer. It works the same on one JSON object, a streamed JSON
 * array or an SSE stream of {@code data:} events, and across any split of the body into buffers: the match state is
 * kept between calls. For each counter the last complete value wins, since stream events carry cumulative usage and
 * the last one is authoritative. A quote preceded by an unescaped backslash never starts a name, so text such as
 * {@code \"promptTokenCount\": 5} inside a string value is not counted. A number cut off by the end of the input is
 * not counted (the previous value stays).
 *
 * <p>Hot path: no allocation per byte or per buffer. Not thread-safe: one instance per response, used on the
 * connection's event loop; {@link #reset()} makes it reusable.
 */
public final class UsageScanner {
    private static final int PROMPT = 0;
    private static final int CANDIDATES = 1;
    private static final int THOUGHTS = 2;
    private static final int TOTAL = 3;
    private static final int CACHED = 4;

    /** Key names without quotes, indexed by the constants above. */
    private static final byte[][] NAMES = {
            ascii("promptTokenCount"),
            ascii("candidatesTokenCount"),
            ascii("thoughtsTokenCount"),
            ascii("totalTokenCount"),
            ascii("cachedContentTokenCount"),
    };
    private static final int ALL = (1 << NAMES.length) - 1;
    private static final int LONGEST_NAME = longest(NAMES);
    /** The bytes after an opening quote that need the state machine: a name's first letter, a quote, a backslash. */
    private static final boolean[] MAY_FOLLOW_QUOTE = new boolean[256];

    static {
        for (byte[] name : NAMES) {
            MAY_FOLLOW_QUOTE[name[0]] = true;
        }
        MAY_FOLLOW_QUOTE['"'] = true;
        MAY_FOLLOW_QUOTE['\\'] = true;
    }
    /** Where {@link #scan(ByteBuf)} copies the bytes it scans; one per thread. */
    private static final FastThreadLocal<byte[]> SCRATCH = new FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
            return new byte[4096];
        }
    };
    /** Saturate instead of overflowing on absurd digit runs. */
    private static final long MAX_BEFORE_DIGIT = (Long.MAX_VALUE - 9) / 10;

    private static final int IDLE = 0;
    /** After an unescaped quote: matching a name. */
    private static final int NAME = 1;
    /** After a matched name's closing quote: whitespace, then ':'. */
    private static final int COLON = 2;
    /** After ':': whitespace, then the first digit. */
    private static final int VALUE = 3;
    /** Inside the digits. */
    private static final int NUMBER = 4;

    private final long[] values = new long[NAMES.length];
    /** Bit i set: counter i has a value. */
    private int seen;

    private int state = IDLE;
    /** The previous byte was an unescaped backslash. */
    private boolean escaped;
    /** NAME: bytes of the name matched so far; candidate names still possible. */
    private int pos;
    private int candidates;
    /** COLON..NUMBER: the counter being read and its digits so far. */
    private int target;
    private long number;

    /** Creates a scanner that has seen nothing. */
    public UsageScanner() {
    }

    /**
     * Scans the readable bytes of {@code buf}.
     *
     * <p>The bytes are copied, a few kilobytes at a time, into an array of the thread's (a plain copy is cheaper
     * than reading a buffer byte by byte through its bounds checks). Between names (most of a body: text, other
     * keys) it does not step byte by byte: it jumps to the next quote eight bytes at a time ({@link ByteSearch}) and
     * works out from the run of backslashes just before that quote whether the quote is escaped.
     *
     * @param buf a slice of the response body; its reader index is not moved and it is not released: the caller
     *            keeps ownership (typically it forwards the buffer to the client afterwards)
     */
    public void scan(ByteBuf buf) {
        byte[] b = SCRATCH.get();
        int i = buf.readerIndex();
        int end = buf.writerIndex();
        while (i < end) {
            int n = Math.min(b.length, end - i);
            buf.getBytes(i, b, 0, n);
            scanArray(b, 0, n);
            i += n;
        }
    }

    /**
     * Scans {@code len} bytes of {@code b} from {@code off}.
     *
     * @param b   body bytes; not modified
     * @param off first byte
     * @param len number of bytes
     */
    public void scan(byte[] b, int off, int len) {
        if (off < 0 || len < 0 || off > b.length - len) {
            throw new IndexOutOfBoundsException("off: " + off + ", len: " + len + ", length: " + b.length);
        }
        scanArray(b, off, off + len);
    }

    private void scanArray(byte[] b, int from, int end) {
        int i = from;
        while (i < end) {
            if (state != IDLE) {
                step(b[i++]);
                continue;
            }
            int quote = ByteSearch.indexOf(b, i, end, (byte) '"');
            if (quote < 0) {
                escaped = endsEscaping(b, i, end);
                return;
            }
            boolean quoteEscaped = endsEscaping(b, i, quote);
            escaped = false;
            i = quote + 1;
            if (quoteEscaped) {
                continue;
            }
            if (i < end && !MAY_FOLLOW_QUOTE[b[i] & 0xff]) {
                i++; // most strings: no name of ours starts so, and the byte neither quotes nor escapes
                continue;
            }
            if (end - i > LONGEST_NAME) {
                // The whole name and its closing quote are here: match it in place instead of byte by byte.
                int m = nameAt(b, i);
                if (m >= 0) {
                    target = m;
                    state = COLON;
                    i += NAMES[m].length + 1;
                }
                continue; // no name: the quote opened (or closed) some other string; on to the next quote
            }
            state = NAME;
            pos = 0;
            candidates = ALL;
        }
    }

    /** The counter whose name, then a quote, starts at {@code b[i]} (at least the longest name's bytes there), or -1. */
    private static int nameAt(byte[] b, int i) {
        byte first = b[i];
        for (int n = 0; n < NAMES.length; n++) {
            byte[] name = NAMES[n];
            if (name[0] != first || b[i + name.length] != '"') {
                continue;
            }
            int k = 1;
            while (k < name.length && b[i + k] == name[k]) {
                k++;
            }
            if (k == name.length) {
                return n;
            }
        }
        return -1;
    }

    /**
     * Whether the byte at {@code end} would be escaped, given the bytes {@code [from, end)} (no quote among them)
     * and {@link #escaped} before {@code from}: each backslash of the run that ends at {@code end} flips it.
     */
    private boolean endsEscaping(byte[] b, int from, int end) {
        int j = end;
        while (j > from && b[j - 1] == '\\') {
            j--;
        }
        boolean odd = ((end - j) & 1) == 1;
        return j == from ? escaped != odd : odd;
    }

    /** {@code promptTokenCount}, or 0 if none was seen. */
    public long promptTokens() {
        return values[PROMPT];
    }

    /** {@code candidatesTokenCount}, or 0 if none was seen. Excludes thoughts. */
    public long candidatesTokens() {
        return values[CANDIDATES];
    }

    /** {@code thoughtsTokenCount}, or 0 if none was seen. */
    public long thoughtsTokens() {
        return values[THOUGHTS];
    }

    /** Output tokens as billed: {@link #candidatesTokens()} plus {@link #thoughtsTokens()}. */
    public long outputTokens() {
        return values[CANDIDATES] + values[THOUGHTS];
    }

    /** {@code totalTokenCount}, or 0 if none was seen. */
    public long totalTokens() {
        return values[TOTAL];
    }

    /** {@code cachedContentTokenCount} (a part of the prompt), or 0 if none was seen. */
    public long cachedTokens() {
        return values[CACHED];
    }

    /** True once any counter was read. */
    public boolean sawUsage() {
        return seen != 0;
    }

    /** The counters as a value (allocates; call once per response, not per buffer). */
    public Usage usage() {
        if (seen == 0) {
            return Usage.NONE;
        }
        return new Usage(values[PROMPT], values[CANDIDATES], values[THOUGHTS], values[TOTAL], values[CACHED]);
    }

    /** Forgets all counters and any partial match, for the next response. */
    public void reset() {
        Arrays.fill(values, 0);
        seen = 0;
        state = IDLE;
        escaped = false;
        pos = 0;
        candidates = 0;
        target = 0;
        number = 0;
    }

    private void step(byte b) {
        boolean wasEscaped = escaped;
        escaped = b == '\\' && !wasEscaped;
        switch (state) {
            case IDLE -> idle(b, wasEscaped);
            case NAME -> name(b, wasEscaped);
            case COLON -> {
                if (b == ':') {
                    state = VALUE;
                } else if (!isSpace(b)) {
                    idle(b, wasEscaped);
                }
            }
            case VALUE -> {
                if (b >= '0' && b <= '9') {
                    number = b - '0';
                    state = NUMBER;
                } else if (!isSpace(b)) {
                    idle(b, wasEscaped);
                }
            }
            default -> { // NUMBER
                if (b >= '0' && b <= '9') {
                    number = number > MAX_BEFORE_DIGIT ? Long.MAX_VALUE : number * 10 + (b - '0');
                } else {
                    values[target] = number;
                    seen |= 1 << target;
                    idle(b, wasEscaped);
                }
            }
        }
    }

    /** Looks for the quote that may open a key name. */
    private void idle(byte b, boolean wasEscaped) {
        if (b == '"' && !wasEscaped) {
            state = NAME;
            pos = 0;
            candidates = ALL;
        } else {
            state = IDLE;
        }
    }

    private void name(byte b, boolean wasEscaped) {
        int p = pos;
        if (b == '"') {
            // A closing quote ends a name if one candidate has exactly p bytes. Names contain no backslash, so
            // wasEscaped cannot be true here while a candidate is left.
            for (int m = candidates; m != 0; m &= m - 1) {
                int i = Integer.numberOfTrailingZeros(m);
                if (NAMES[i].length == p) {
                    target = i;
                    state = COLON;
                    return;
                }
            }
            idle(b, wasEscaped); // may open the next string
            return;
        }
        int left = 0;
        for (int m = candidates; m != 0; m &= m - 1) {
            int i = Integer.numberOfTrailingZeros(m);
            byte[] name = NAMES[i];
            if (p < name.length && name[p] == b) {
                left |= 1 << i;
            }
        }
        if (left == 0) {
            state = IDLE;
            return;
        }
        candidates = left;
        pos = p + 1;
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\t' || b == '\r' || b == '\n';
    }

    private static int longest(byte[][] names) {
        int n = 0;
        for (byte[] name : names) {
            n = Math.max(n, name.length);
        }
        return n;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
