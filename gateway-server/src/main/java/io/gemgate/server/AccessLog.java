package io.gemgate.server;

import io.gemgate.core.route.NativePath;

/**
 * What the access log ({@code gemgate.access}) shows of a request: its method and target made safe for one log line
 * (no credential parameter, no control or non-ASCII character, bounded length), and a hint of the client's token.
 */
public final class AccessLog {
    private static final int MAX_TARGET = 512;
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private AccessLog() {
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
