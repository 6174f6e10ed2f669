package io.gemgate.core.bytes;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Finds a byte in a byte array eight bytes at a time (SWAR: a word is XORed with the byte repeated, and the classic
 * "has a zero byte" test finds the first match). For the scans of every proxied response: heads, and bodies for
 * their usage counters.
 */
public final class ByteSearch {
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGHS = 0x8080808080808080L;

    private ByteSearch() {
    }

    /** The index of the first {@code c} in {@code b[from, to)}, or -1. */
    public static int indexOf(byte[] b, int from, int to, byte c) {
        long pattern = (c & 0xffL) * ONES;
        int i = from;
        for (; i + 8 <= to; i += 8) {
            long x = (long) LONGS.get(b, i) ^ pattern;
            long t = (x - ONES) & ~x & HIGHS;
            if (t != 0) {
                // The lowest flagged byte is a true match: a borrow only flags bytes above a zero byte.
                return i + (Long.numberOfTrailingZeros(t) >>> 3);
            }
        }
        for (; i < to; i++) {
            if (b[i] == c) {
                return i;
            }
        }
        return -1;
    }

    /**
     * True when {@code b[from, to)} holds a byte below 0x20 or DEL, HTAB excepted: what a header value may not
     * contain (RFC 9110 5.5).
     */
    public static boolean hasControl(byte[] b, int from, int to) {
        int i = from;
        for (; i + 8 <= to; i += 8) {
            long w = (long) LONGS.get(b, i);
            // bytes < 0x20 (for bytes < 0x80) or == 0x7f: look closer only when the word may hold one
            long low = (w - 0x2020202020202020L) & ~w & HIGHS;
            long x = w ^ 0x7f7f7f7f7f7f7f7fL;
            long del = (x - ONES) & ~x & HIGHS;
            if ((low | del) != 0 && slowHasControl(b, i, i + 8)) {
                return true;
            }
        }
        return slowHasControl(b, i, to);
    }

    private static boolean slowHasControl(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            int c = b[i] & 0xff;
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                return true;
            }
        }
        return false;
    }
}
