package io.gemgate.server;

/**
 * Checks of a request's target and Host field before it is routed (RFC 9112 §3.2, RFC 3986): what is refused here
 * never reaches a route, a key or a log line as it came.
 *
 * <ul>
 *   <li>Only visible ASCII (RFC 3986 §2): control characters, spaces and raw non-ASCII bytes are refused, as is a
 *       fragment ({@code #}) and a {@code %} not followed by two hex digits.</li>
 *   <li>Absolute form ({@code http://host/path}, RFC 9112 §3.2.2) is accepted and reduced to its path and query.</li>
 *   <li>A path with a {@code .} or {@code ..} segment, in any encoding ({@code %2e}; {@code %252e} too, for a server
 *       that decodes twice), is refused: the upstream would
 *       resolve it (RFC 3986 §5.2.4) and reach paths outside the route allow-list with the gateway's keys. So is an
 *       encoded slash or backslash ({@code %2f}, {@code %5c}, {@code \}) or NUL inside a segment, and a {@code ;}
 *       (path parameters, where some servers read {@code ;key=}).</li>
 * </ul>
 */
final class RequestTarget {
    private RequestTarget() {
    }

    /**
     * The origin form of {@code uri} (path and query), or null when it is not an acceptable target: see the class
     * comment. {@code "*"} comes back as it is (OPTIONS' asterisk form).
     */
    static String originForm(String uri) {
        int n = uri.length();
        if (n == 0) {
            return null;
        }
        for (int i = 0; i < n; i++) {
            char c = uri.charAt(i);
            if (c <= ' ' || c >= 0x7f || c == '#') {
                return null;
            }
            if (c == '%' && (i + 2 >= n || Character.digit(uri.charAt(i + 1), 16) < 0
                    || Character.digit(uri.charAt(i + 2), 16) < 0)) {
                return null;
            }
        }
        String target = uri;
        char first = uri.charAt(0);
        if (first != '/') {
            if (uri.equals("*")) {
                return uri;
            }
            int scheme = schemeEnd(uri);
            if (scheme < 0) {
                return null;
            }
            int pathStart = scheme + 3;
            while (pathStart < n && uri.charAt(pathStart) != '/' && uri.charAt(pathStart) != '?') {
                pathStart++;
            }
            if (pathStart == scheme + 3 || !isHostAndPort(uri, scheme + 3, pathStart)) {
                return null;
            }
            target = pathStart == n ? "/" : uri.charAt(pathStart) == '?' ? "/" + uri.substring(pathStart)
                    : uri.substring(pathStart);
        }
        return hasSafePath(target) ? target : null;
    }

    /** The index of "://" after "http" or "https" (any case) at the start, or -1. */
    private static int schemeEnd(String uri) {
        if (uri.regionMatches(true, 0, "http://", 0, 7)) {
            return 4;
        }
        if (uri.regionMatches(true, 0, "https://", 0, 8)) {
            return 5;
        }
        return -1;
    }

    /** True when the path of {@code target} (up to its query) has no dot segment, encoded separator or {@code ;}. */
    private static boolean hasSafePath(String target) {
        int end = target.indexOf('?');
        if (end < 0) {
            end = target.length();
        }
        int segStart = 1;
        for (int i = 1; i <= end; i++) {
            char c = i < end ? target.charAt(i) : '/';
            if (c == '/') {
                if (isDotSegment(target, segStart, i)) {
                    return false;
                }
                segStart = i + 1;
            } else if (c == '\\' || c == ';') {
                return false;
            } else if (c == '%') {
                char h = target.charAt(i + 1);
                char l = Character.toLowerCase(target.charAt(i + 2));
                if ((h == '2' && l == 'f') || (h == '5' && l == 'c') || (h == '0' && l == '0')) {
                    return false;
                }
                if (h == '2' && l == '5' && i + 4 < end && isEncodedSeparatorOrDot(target.charAt(i + 3),
                        Character.toLowerCase(target.charAt(i + 4)))) {
                    return false; // %252e, %252f: a dot or slash for a server that decodes twice
                }
            }
        }
        return true;
    }

    private static boolean isEncodedSeparatorOrDot(char h, char l) {
        return (h == '2' && (l == 'e' || l == 'f')) || (h == '5' && l == 'c') || (h == '0' && l == '0');
    }

    /** True when {@code s[from, to)} is {@code .} or {@code ..}, each dot plain or {@code %2e}. */
    private static boolean isDotSegment(String s, int from, int to) {
        int dots = 0;
        int i = from;
        while (i < to) {
            if (s.charAt(i) == '.') {
                i++;
            } else if (s.charAt(i) == '%' && i + 2 < to && s.charAt(i + 1) == '2'
                    && (s.charAt(i + 2) == 'e' || s.charAt(i + 2) == 'E')) {
                i += 3;
            } else {
                return false;
            }
            dots++;
        }
        return dots == 1 || dots == 2;
    }

    /**
     * True for a Host field value (RFC 9110 §7.2): {@code uri-host [ ":" port ]}, the host a reg-name, an IPv4
     * address or a bracketed IP literal (RFC 3986 §3.2.2). Empty is allowed (RFC 9112 §3.2).
     */
    static boolean isHost(String value) {
        return isHostAndPort(value, 0, value.length());
    }

    private static boolean isHostAndPort(String s, int from, int to) {
        int i = from;
        if (i < to && s.charAt(i) == '[') {
            int close = s.indexOf(']', i);
            if (close < 0 || close >= to || close == i + 1) {
                return false;
            }
            for (int j = i + 1; j < close; j++) {
                char c = s.charAt(j);
                if (!(Character.digit(c, 16) >= 0 || c == ':' || c == '.' || c == 'v' || c == 'V')) {
                    return false;
                }
            }
            i = close + 1;
        } else {
            while (i < to && isRegNameChar(s.charAt(i))) {
                i++;
            }
        }
        if (i == to) {
            return true;
        }
        if (s.charAt(i) != ':') {
            return false;
        }
        int digits = 0;
        for (int j = i + 1; j < to; j++) {
            char c = s.charAt(j);
            if (c < '0' || c > '9' || ++digits > 5) {
                return false;
            }
        }
        return true;
    }

    /** RFC 3986 reg-name: unreserved, pct-encoded (its %), sub-delims. */
    private static boolean isRegNameChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
                || c == '_' || c == '~' || c == '%' || c == '!' || c == '$' || c == '&' || c == '\'' || c == '('
                || c == ')' || c == '*' || c == '+' || c == ',' || c == ';' || c == '=';
    }
}
