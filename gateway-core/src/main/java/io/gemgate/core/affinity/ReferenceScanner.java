package io.gemgate.core.affinity;

import io.gemgate.core.bytes.ByteSearch;
import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds the project-bound resources a Gemini request body references, by a scan of its bytes (no tree, no copy):
 * {@code "fileUri"} in any part ({@code https://generativelanguage.googleapis.com/v1beta/files/abc} or
 * {@code files/abc}), {@code "cachedContent"} ({@code cachedContents/xyz}), {@code "fileSearchStoreNames"} (an array
 * of {@code fileSearchStores/...}) in a file search tool, and {@code "fileName"} (a batch's input file,
 * {@code files/abc}). See Google's Gemini API reference: Files, Caching, File Search, Batch Mode.
 *
 * <p>How: the body is copied 4 KB at a time into a thread-local scratch array (one memcpy per piece, as
 * {@code UsageScanner} does), where {@link ByteSearch#indexOf} finds each quote eight bytes at a time and only a quote
 * followed by one of the four names is looked at further, in place (the name, optional whitespace, {@code :} and the
 * value), before the fast scan goes on after the value. A body without references allocates nothing and reads
 * each byte once. A quote preceded by an unescaped backslash (text inside a string value) never
 * starts a name. Values with escapes other than {@code \/} are skipped (no resource name has them).
 *
 * <p>Stateless and thread-safe.
 */
public final class ReferenceScanner {
    private static final byte[] FILE_URI = ascii("fileUri\"");
    private static final byte[] FILE_NAME = ascii("fileName\"");
    private static final byte[] CACHED_CONTENT = ascii("cachedContent\"");
    private static final byte[] STORE_NAMES = ascii("fileSearchStoreNames\"");
    /** Bound on references read from one body: more is not a real request. */
    public static final int MAX_REFERENCES = 64;
    /** At least the longest name with its quotes. */
    private static final int OVERLAP = 32;
    /** Where {@link #scan} copies the bytes it scans; one per thread. */
    private static final FastThreadLocal<byte[]> SCRATCH = new FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
            return new byte[4096];
        }
    };

    private ReferenceScanner() {
    }

    /**
     * The resource names ({@code files/abc}, {@code cachedContents/xyz}, {@code fileSearchStores/s}) the body
     * references, each once, in order of appearance; null when there is none.
     *
     * @param body read from its reader index to its writer index; indexes and reference count are not changed, the
     *             caller keeps ownership
     */
    public static List<String> scan(ByteBuf body) {
        int from = body.readerIndex();
        int to = body.writerIndex();
        byte[] scratch = SCRATCH.get();
        List<String> out = null;
        int pos = from;
        while (pos < to) {
            int n = Math.min(scratch.length, to - pos);
            body.getBytes(pos, scratch, 0, n);
            boolean last = pos + n >= to;
            // A quote before `limit` has its whole name in this piece; later ones are seen again in the next piece.
            int limit = last ? n : n - OVERLAP;
            int i = 0;
            int next = -1;
            while (i < limit) {
                int q = ByteSearch.indexOf(scratch, i, limit, (byte) '"');
                if (q < 0) {
                    break;
                }
                if (startsName(scratch, q + 1, n)) {
                    if (out == null) {
                        out = new ArrayList<>(2);
                    }
                    next = parseAt(body, from, pos + q, to, out); // in place; then back to the fast scan
                    break;
                }
                i = q + 1;
            }
            if (out != null && out.size() >= MAX_REFERENCES) {
                break;
            }
            if (next >= 0) {
                pos = next;
            } else if (last) {
                break;
            } else {
                pos += limit;
            }
        }
        return out == null || out.isEmpty() ? null : out;
    }

    /** True when {@code b[at, n)} starts with one of the names (closing quote included). */
    private static boolean startsName(byte[] b, int at, int n) {
        if (at >= n) {
            return false;
        }
        byte c = b[at];
        if (c == 'f') {
            return starts(b, at, n, FILE_URI) || starts(b, at, n, FILE_NAME) || starts(b, at, n, STORE_NAMES);
        }
        return c == 'c' && starts(b, at, n, CACHED_CONTENT);
    }

    private static boolean starts(byte[] b, int at, int n, byte[] name) {
        if (at + name.length > n) {
            return false;
        }
        for (int k = 0; k < name.length; k++) {
            if (b[at + k] != name[k]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Reads, in place, the reference whose name starts after the quote at {@code q} into {@code out}.
     *
     * @return where scanning goes on ({@code to} when the body ends inside it)
     */
    private static int parseAt(ByteBuf body, int from, int q, int to, List<String> out) {
        byte c = body.getByte(q + 1);
        byte[] name;
        if (c == 'f') {
            name = matches(body, q + 1, to, FILE_URI) ? FILE_URI : matches(body, q + 1, to, FILE_NAME) ? FILE_NAME
                    : matches(body, q + 1, to, STORE_NAMES) ? STORE_NAMES : null;
        } else {
            name = matches(body, q + 1, to, CACHED_CONTENT) ? CACHED_CONTENT : null;
        }
        if (name == null || escaped(body, from, q)) {
            return q + 1;
        }
        int p = skipSpace(body, q + 1 + name.length, to);
        if (p >= to || body.getByte(p) != ':') {
            return q + 1;
        }
        p = skipSpace(body, p + 1, to);
        if (p >= to) {
            return to;
        }
        if (name == STORE_NAMES && body.getByte(p) == '[') {
            p++;
            while (true) {
                p = skipSpace(body, p, to);
                if (p >= to || body.getByte(p) != '"') {
                    return p;
                }
                int end = stringEnd(body, p + 1, to);
                if (end < 0) {
                    return to;
                }
                add(out, resource(body, p + 1, end, "fileSearchStores/"));
                p = skipSpace(body, end + 1, to);
                if (p < to && body.getByte(p) == ',') {
                    p++;
                }
            }
        }
        if (body.getByte(p) != '"') {
            return p;
        }
        int end = stringEnd(body, p + 1, to);
        if (end < 0) {
            return to;
        }
        String prefix = name == CACHED_CONTENT ? "cachedContents/" : name == STORE_NAMES ? "fileSearchStores/"
                : "files/";
        add(out, resource(body, p + 1, end, prefix));
        return end + 1;
    }

    private static void add(List<String> out, String name) {
        if (name != null && !out.contains(name)) {
            out.add(name);
        }
    }

    /**
     * The resource name in the string value {@code [from, to)}: {@code prefix} and the id after its last occurrence,
     * up to a {@code /}, {@code ?}, {@code #} or {@code :}; null when the value holds no such name (a YouTube URL).
     */
    static String resource(ByteBuf b, int from, int to, String prefix) {
        String value = b.toString(from, to - from, java.nio.charset.StandardCharsets.UTF_8);
        if (value.indexOf('\\') >= 0) {
            value = value.replace("\\/", "/");
            if (value.indexOf('\\') >= 0) {
                return null;
            }
        }
        int at = value.lastIndexOf(prefix);
        if (at < 0 || (at > 0 && value.charAt(at - 1) != '/')) {
            return null;
        }
        int start = at + prefix.length();
        int end = start;
        while (end < value.length() && "/?#:".indexOf(value.charAt(end)) < 0) {
            end++;
        }
        if (end == start || end - start > 128) {
            return null;
        }
        return prefix + value.substring(start, end);
    }

    private static boolean matches(ByteBuf b, int at, int to, byte[] name) {
        if (at + name.length > to) {
            return false;
        }
        for (int k = 0; k < name.length; k++) {
            if (b.getByte(at + k) != name[k]) {
                return false;
            }
        }
        return true;
    }

    /** True when the quote at {@code q} is preceded by an odd run of backslashes. */
    private static boolean escaped(ByteBuf b, int from, int q) {
        int n = 0;
        for (int k = q - 1; k >= from && b.getByte(k) == '\\'; k--) {
            n++;
        }
        return (n & 1) == 1;
    }

    private static int skipSpace(ByteBuf b, int p, int to) {
        while (p < to) {
            byte c = b.getByte(p);
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
                break;
            }
            p++;
        }
        return p;
    }

    /** The index of the closing quote of the string whose content starts at {@code p}, or -1. */
    private static int stringEnd(ByteBuf b, int p, int to) {
        while (p < to) {
            int q = b.indexOf(p, to, (byte) '"');
            if (q < 0) {
                return -1;
            }
            if (!escaped(b, p, q)) {
                return q;
            }
            p = q + 1;
        }
        return -1;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }
}
