package io.gemgate.server.internal;

import io.netty.util.AsciiString;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A fixed set of header names, looked up without regard to case and without allocating: names are grouped by length,
 * so a lookup compares the few names of the right length, byte by byte. Used per header of every request and
 * response, where a hash set would hash (and lower-case) each name first.
 */
public final class HeaderNameSet {
    /** Index: name length; each entry the names of that length, or null. */
    private final AsciiString[][] byLength;

    public HeaderNameSet(CharSequence... names) {
        int longest = 0;
        for (CharSequence n : names) {
            longest = Math.max(longest, n.length());
        }
        List<List<AsciiString>> groups = new ArrayList<>();
        for (int i = 0; i <= longest; i++) {
            groups.add(new ArrayList<>());
        }
        for (CharSequence n : names) {
            groups.get(n.length()).add(AsciiString.of(n).toLowerCase());
        }
        byLength = new AsciiString[longest + 1][];
        for (int i = 0; i <= longest; i++) {
            List<AsciiString> g = groups.get(i);
            byLength[i] = g.isEmpty() ? null : g.toArray(new AsciiString[0]);
        }
    }

    /** True when {@code name}, in any case, is one of the set's names. */
    public boolean contains(CharSequence name) {
        int n = name.length();
        if (n >= byLength.length) {
            return false;
        }
        AsciiString[] group = byLength[n];
        if (group == null) {
            return false;
        }
        for (AsciiString a : group) {
            if (a.contentEqualsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }

    /** True when the ASCII bytes {@code b[off, off + len)}, in any case, spell one of the set's names. */
    public boolean contains(byte[] b, int off, int len) {
        if (len >= byLength.length) {
            return false;
        }
        AsciiString[] group = byLength[len];
        if (group == null) {
            return false;
        }
        for (AsciiString a : group) {
            if (equalsLowerAscii(a, b, off, len)) {
                return true;
            }
        }
        return false;
    }

    /** True when {@code b[off, off + len)} equals the lower-case ASCII {@code lower}, ignoring the case of b. */
    public static boolean equalsLowerAscii(AsciiString lower, byte[] b, int off, int len) {
        if (lower.length() != len) {
            return false;
        }
        byte[] a = lower.array();
        int ao = lower.arrayOffset();
        for (int i = 0; i < len; i++) {
            int c = b[off + i];
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != a[ao + i]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return Arrays.deepToString(byLength);
    }
}
