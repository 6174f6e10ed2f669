package io.gemgate.server;

import io.gemgate.core.route.NativePath;
import io.gemgate.server.internal.HttpToken;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Cross-origin calls from web pages to the API routes (the Fetch standard's CORS protocol), as
 * {@code server.corsAllowOrigins} allows them: any origin ({@code *}), the origins listed, or none. The admin API and
 * the admin page never answer cross-origin: they keep their strict headers. No credentials mode: clients send their
 * token in a header, so {@code *} is a valid answer and cookies are never involved.
 */
final class Cors {
    /** Methods a preflight may ask for: those the API routes serve. */
    static final String METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
    /** How long a browser may cache a preflight answer, in seconds. */
    static final String MAX_AGE = "86400";

    private final boolean any;
    private final Set<String> origins;

    Cors(List<String> allowed) {
        this.any = allowed.contains("*");
        this.origins = Set.copyOf(allowed);
    }

    /** True when some origin may call (CORS is not off). */
    boolean isOn() {
        return any || !origins.isEmpty();
    }

    /** True when the answers depend on the Origin (a list, not {@code *}): caches must key on it. */
    boolean variesByOrigin() {
        return !any && !origins.isEmpty();
    }

    /** The {@code Access-Control-Allow-Origin} value for a request from {@code origin}, or null when not allowed. */
    String allowOrigin(String origin) {
        if (origin == null || origin.isEmpty()) {
            return null;
        }
        if (any) {
            return "*";
        }
        return origins.contains(origin.toLowerCase(Locale.ROOT)) ? origin : null;
    }

    /**
     * True for the routes a web page may call cross-origin: the native, OpenAI (chat, embeddings, models, files,
     * responses, images) and Anthropic APIs (never admin, metrics).
     */
    static boolean isApiPath(String path) {
        return NativePath.isNative(path) || path.startsWith("/openai/v1/") || path.startsWith("/anthropic/v1/")
                || path.equals("/v1/chat/completions") || path.equals("/v1/embeddings") || path.equals("/v1/models")
                || path.startsWith("/v1/models/") || path.equals("/v1/files") || path.startsWith("/v1/files/")
                || path.equals("/v1/responses") || path.startsWith("/v1/responses/")
                || path.equals("/v1/images/generations") || path.equals("/v1/messages")
                || path.equals("/v1/messages/count_tokens");
    }

    /**
     * The header names a preflight asked for ({@code Access-Control-Request-Headers}), to be allowed as asked, or null
     * when the list is not a comma-separated list of field names.
     */
    static String requestedHeaders(String requested) {
        if (requested == null) {
            return null;
        }
        String t = requested.trim();
        if (t.isEmpty() || t.length() > 2048) {
            return null;
        }
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c != ',' && c != ' ' && c != '\t' && (c > 0x7f || !HttpToken.isTchar((byte) c))) {
                return null;
            }
        }
        return t;
    }
}
