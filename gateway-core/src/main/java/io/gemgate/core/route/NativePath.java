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
     * The query string with every {@code key} parameter removed (the client's token must not travel upstream nor
     * into a log line), or "" when nothing remains. Accepts the query without its leading {@code ?}.
     */
    public static String withoutKey(String query) {
        if (query.isEmpty() || (!query.startsWith("key=") && !query.contains("&key="))) {
            return query;
        }
        StringBuilder out = new StringBuilder(query.length());
        int start = 0;
        while (start <= query.length()) {
            int amp = query.indexOf('&', start);
            int end = amp < 0 ? query.length() : amp;
            if (end > start && !query.startsWith("key=", start)) {
                if (out.length() > 0) {
                    out.append('&');
                }
                out.append(query, start, end);
            }
            if (amp < 0) {
                break;
            }
            start = amp + 1;
        }
        return out.toString();
    }

    /** The value of the {@code key} query parameter (URL-decoded only for %XX of ASCII), or null. */
    public static String keyParam(String query) {
        int start = 0;
        while (start < query.length()) {
            int amp = query.indexOf('&', start);
            int end = amp < 0 ? query.length() : amp;
            if (query.startsWith("key=", start)) {
                return java.net.URLDecoder.decode(query.substring(start + 4, end), java.nio.charset.StandardCharsets.UTF_8);
            }
            if (amp < 0) {
                break;
            }
            start = amp + 1;
        }
        return null;
    }
}
