package io.gemgate.server.internal;

/** RFC 9110 5.6.2 tchar, the bytes of a field name or a method: for the gateway's own HTTP/1.1 parsers. */
public final class HttpToken {
    private static final boolean[] TCHAR = new boolean[128];

    static {
        for (int c = '0'; c <= '9'; c++) {
            TCHAR[c] = true;
        }
        for (int c = 'a'; c <= 'z'; c++) {
            TCHAR[c] = true;
            TCHAR[c - 'a' + 'A'] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TCHAR[c] = true;
        }
    }

    private HttpToken() {
    }

    /** True when {@code b} is a tchar (never for a byte of 0x80 and above). */
    public static boolean isTchar(byte b) {
        return b >= 0 && TCHAR[b];
    }
}
