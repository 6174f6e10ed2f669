package io.gemgate.core.route;

import io.gemgate.core.keys.KeyPool;

/**
 * What a native Gemini request path names: the model and the method, e.g. {@code /v1beta/models/gemini-2.5-flash:
 * streamGenerateContent?alt=sse}. Allocation is limited to the substrings returned.
 */
public final class NativePath {
    private NativePath() {
    }

    /**
     * The model named by a path like {@code /v1beta/models/{model}:{method}} or {@code /v1/tunedModels/{m}:{method}},
     * or {@link KeyPool#ANY_MODEL} when the call names none (lists, {@code GET /models/{id}}, files, caches).
     *
     * @param path the path without the query
     */
    public static String model(String path) {
        int colon = path.lastIndexOf(':');
        if (colon < 0) {
            return KeyPool.ANY_MODEL;
        }
        int slash = path.lastIndexOf('/', colon);
        if (slash < 0 || slash + 1 == colon) {
            return KeyPool.ANY_MODEL;
        }
        return path.substring(slash + 1, colon);
    }

    /** The method after the colon ({@code generateContent}), or "" when there is none. */
    public static String method(String path) {
        int colon = path.lastIndexOf(':');
        int slash = path.lastIndexOf('/');
        return colon < 0 || colon < slash ? "" : path.substring(colon + 1);
    }

    /** True for the paths this gateway forwards as native Gemini API calls. */
    public static boolean isNative(String path) {
        return path.startsWith("/v1beta/") || path.startsWith("/v1alpha/") || path.startsWith("/upload/v1beta/")
                || path.startsWith("/upload/v1/") || path.startsWith("/v1/models") || path.startsWith("/v1/files")
                || path.startsWith("/v1/cachedContents") || path.startsWith("/v1/tunedModels")
                || path.startsWith("/v1/batches") || path.startsWith("/v1/operations") || path.startsWith("/v1/corpora")
                || path.startsWith("/v1/generatedFiles") || path.startsWith("/v1/dynamic")
                || path.equals("/v1beta") || path.startsWith("/v1beta:");
    }

    /**
     * The query string without the parameters that carry a credential ({@link #isCredentialName}: {@code key},
     * {@code api_key}, {@code access_token}...), names percent-decoded before they are compared, parameters separated
     * by {@code &} or {@code ;}: the client's token must not travel upstream (where {@code %6bey} is {@code key})
     * nor into a log line. "" when nothing remains. Accepts the query without its leading {@code ?}; allocates only
     * when something is removed.
     */
    public static String withoutKey(String query) {
        int len = query.length();
        StringBuilder out = null;
        int start = 0;
        int kept = 0; // query[0, kept) is copied to out when out is made
        while (start <= len) {
            int end = nextSeparator(query, start);
            if (isCredentialName(query, start, nameEnd(query, start, end))) {
                if (out == null) {
                    out = new StringBuilder(len);
                    appendParam(out, query, 0, kept);
                }
            } else if (end > start) {
                if (out != null) {
                    appendParam(out, query, start, end);
                } else {
                    kept = end;
                }
            }
            start = end + 1;
        }
        return out == null ? query : out.toString();
    }

    private static void appendParam(StringBuilder out, String query, int from, int to) {
        if (to <= from) {
            return;
        }
        if (out.length() > 0) {
            out.append('&');
        }
        out.append(query, from, to);
    }

    private static int nextSeparator(String query, int from) {
        for (int i = from; i < query.length(); i++) {
            char c = query.charAt(i);
            if (c == '&' || c == ';') {
                return i;
            }
        }
        return query.length();
    }

    private static int nameEnd(String query, int from, int to) {
        int eq = query.indexOf('=', from);
        return eq < 0 || eq > to ? to : eq;
    }

    /**
     * True when {@code query[from, to)}, percent-decoded, names a credential some API accepts in a query:
     * {@code key} (Google's), {@code api_key}, {@code apikey}, {@code api-key}, {@code access_token},
     * {@code oauth_token}, compared ignoring case.
     */
    public static boolean isCredentialName(String query, int from, int to) {
        if (to - from > 64 || to <= from) {
            return false;
        }
        String name = decode(query, from, to);
        return name.equalsIgnoreCase("key") || name.equalsIgnoreCase("api_key") || name.equalsIgnoreCase("apikey")
                || name.equalsIgnoreCase("api-key") || name.equalsIgnoreCase("access_token")
                || name.equalsIgnoreCase("oauth_token");
    }

    /** {@code s[from, to)} with %XX and + decoded as bytes of UTF-8 (malformed escapes left as they are). */
    private static String decode(String s, int from, int to) {
        boolean plain = true;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c == '%' || c == '+') {
                plain = false;
                break;
            }
        }
        if (plain) {
            return s.substring(from, to);
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(to - from);
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c == '%' && i + 2 < to) {
                int h = Character.digit(s.charAt(i + 1), 16);
                int l = Character.digit(s.charAt(i + 2), 16);
                if (h >= 0 && l >= 0) {
                    out.write(h * 16 + l);
                    i += 2;
                    continue;
                }
            }
            if (c == '+') {
                out.write(' ');
            } else {
                byte[] b = String.valueOf(c).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                out.write(b, 0, b.length);
            }
        }
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * The value of the first {@code key} query parameter (name and value percent-decoded; separators {@code &} and
     * {@code ;}), or null.
     */
    public static String keyParam(String query) {
        int len = query.length();
        int start = 0;
        while (start < len) {
            int end = nextSeparator(query, start);
            int eq = nameEnd(query, start, end);
            if (eq < end && decode(query, start, eq).equals("key")) {
                return decode(query, eq + 1, end);
            }
            start = end + 1;
        }
        return null;
    }
}
