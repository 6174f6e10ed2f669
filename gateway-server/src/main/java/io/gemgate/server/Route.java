package io.gemgate.server;

import io.gemgate.core.metrics.GatewayEvents;
import io.gemgate.core.route.NativePath;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.AsciiString;

/**
 * Which API a request calls. {@code /v1/...} is shared: paths with a {@code :method} and the Gemini resources are
 * native; {@code /v1/chat/completions}, {@code /v1/embeddings}, {@code /v1/responses[/{id}]} and
 * {@code /v1/images/generations} are OpenAI's; {@code GET /v1/models[/{id}]} is
 * OpenAI's when the caller authenticated with {@code Authorization: Bearer} and not the Google way
 * ({@code x-goog-api-key} or {@code ?key=}); so are {@code /v1/files[/{id}]} (also for a {@code multipart/form-data}
 * upload). {@code /openai/v1/...} is always OpenAI's. {@code /v1/messages} and {@code /v1/messages/count_tokens}
 * (also under {@code /anthropic}) are Anthropic's Messages API, and {@code GET /v1/models[/{id}]} is Anthropic's
 * Models API for a caller that sends {@code anthropic-version} without a Google-style key (always under
 * {@code /anthropic}).
 */
enum Route {
    NATIVE(false, GatewayEvents.NATIVE),
    OPENAI_CHAT(true, GatewayEvents.OPENAI_CHAT),
    OPENAI_MODELS(true, GatewayEvents.OPENAI_MODELS),
    OPENAI_MODEL(true, GatewayEvents.OPENAI_MODELS),
    OPENAI_EMBEDDINGS(true, GatewayEvents.OPENAI_EMBEDDINGS),
    /** {@code POST /v1/responses} (OpenAI's Responses API). */
    OPENAI_RESPONSES(true, GatewayEvents.OPENAI_RESPONSES),
    /** {@code GET} and {@code DELETE /v1/responses/{id}}: a stored response. */
    OPENAI_RESPONSE(true, GatewayEvents.OPENAI_RESPONSES),
    /** {@code POST /v1/images/generations}. */
    OPENAI_IMAGES(true, GatewayEvents.OPENAI_IMAGES),
    /** {@code POST /v1/files} (upload) and {@code GET /v1/files} (list). */
    OPENAI_FILES(true, GatewayEvents.OTHER),
    /** {@code GET} and {@code DELETE /v1/files/{id}}. */
    OPENAI_FILE(true, GatewayEvents.OTHER),
    /** {@code POST /v1/messages}, Anthropic's Messages API. */
    ANTHROPIC_MESSAGES(false, GatewayEvents.ANTHROPIC_MESSAGES),
    /** {@code POST /v1/messages/count_tokens}. */
    ANTHROPIC_COUNT_TOKENS(false, GatewayEvents.ANTHROPIC_COUNT_TOKENS),
    /** {@code GET /v1/models} from an Anthropic client ({@code anthropic-version}), or under {@code /anthropic}. */
    ANTHROPIC_MODELS(false, GatewayEvents.OPENAI_MODELS),
    /** {@code GET /v1/models/{id}} from an Anthropic client, or under {@code /anthropic}. */
    ANTHROPIC_MODEL(false, GatewayEvents.OPENAI_MODELS),
    ADMIN(false, GatewayEvents.ADMIN),
    WRONG_METHOD(false, GatewayEvents.OTHER),
    NOT_FOUND(false, GatewayEvents.OTHER);

    /** Google's key header; an AsciiString keeps its hash, so a lookup hashes nothing per request. */
    static final AsciiString X_GOOG_API_KEY = AsciiString.cached("x-goog-api-key");
    /** Anthropic's key header. */
    static final AsciiString X_API_KEY = AsciiString.cached("x-api-key");
    /** The API version header every Anthropic SDK sends. */
    static final AsciiString ANTHROPIC_VERSION = AsciiString.cached("anthropic-version");

    /** Errors go out in OpenAI's shape. */
    final boolean openAi;
    /** The route label of metrics. */
    final String label;

    Route(boolean openAi, String label) {
        this.openAi = openAi;
        this.label = label;
    }

    static Route of(HttpRequest req, String path) {
        if (path.startsWith("/admin/api/") || path.equals("/admin/api")) {
            return ADMIN;
        }
        Route anthropic = anthropic(req, path);
        if (anthropic != null) {
            return anthropic;
        }
        boolean prefixed = path.startsWith("/openai/v1/");
        String p = prefixed ? path.substring("/openai".length()) : path;
        HttpMethod m = req.method();
        if (p.equals("/v1/chat/completions")) {
            return m.equals(HttpMethod.POST) ? OPENAI_CHAT : WRONG_METHOD;
        }
        if (p.equals("/v1/embeddings")) {
            return m.equals(HttpMethod.POST) ? OPENAI_EMBEDDINGS : WRONG_METHOD;
        }
        if (p.equals("/v1/responses")) {
            return m.equals(HttpMethod.POST) ? OPENAI_RESPONSES : WRONG_METHOD;
        }
        if (p.startsWith("/v1/responses/") && p.indexOf('/', "/v1/responses/".length()) < 0
                && p.length() > "/v1/responses/".length()) {
            return m.equals(HttpMethod.GET) || m.equals(HttpMethod.DELETE) ? OPENAI_RESPONSE : WRONG_METHOD;
        }
        if (p.equals("/v1/images/generations")) {
            return m.equals(HttpMethod.POST) ? OPENAI_IMAGES : WRONG_METHOD;
        }
        boolean modelsPath = p.equals("/v1/models") || (p.startsWith("/v1/models/") && p.indexOf(':') < 0);
        if (modelsPath && m.equals(HttpMethod.GET) && (prefixed || isBearerCaller(req))) {
            return p.equals("/v1/models") ? OPENAI_MODELS : OPENAI_MODEL;
        }
        boolean filesPath = p.equals("/v1/files") || (p.startsWith("/v1/files/") && p.indexOf(':') < 0
                && p.indexOf('/', "/v1/files/".length()) < 0);
        if (filesPath && (prefixed || isBearerCaller(req) || isFormUpload(req))) {
            if (p.equals("/v1/files")) {
                return m.equals(HttpMethod.POST) || m.equals(HttpMethod.GET) ? OPENAI_FILES : WRONG_METHOD;
            }
            return m.equals(HttpMethod.GET) || m.equals(HttpMethod.DELETE) ? OPENAI_FILE : WRONG_METHOD;
        }
        if (!prefixed && NativePath.isNative(path)) {
            return NATIVE;
        }
        return NOT_FOUND;
    }

    /** The Anthropic routes, with or without the {@code /anthropic} prefix; null for other paths. */
    private static Route anthropic(HttpRequest req, String path) {
        String p = path.startsWith("/anthropic/") ? path.substring("/anthropic".length()) : path;
        boolean post = req.method().equals(HttpMethod.POST);
        if (p.equals("/v1/messages")) {
            return post ? ANTHROPIC_MESSAGES : WRONG_METHOD;
        }
        if (p.equals("/v1/messages/count_tokens")) {
            return post ? ANTHROPIC_COUNT_TOKENS : WRONG_METHOD;
        }
        boolean one = p.startsWith("/v1/models/") && p.length() > "/v1/models/".length() && p.indexOf(':') < 0
                && p.indexOf('/', "/v1/models/".length()) < 0;
        if ((p.equals("/v1/models") || one) && req.method().equals(HttpMethod.GET)
                && (path.startsWith("/anthropic/") || isAnthropicCaller(req))) {
            return one ? ANTHROPIC_MODEL : ANTHROPIC_MODELS;
        }
        return null;
    }

    /**
     * An Anthropic SDK: it sends {@code anthropic-version} on every call (Anthropic's API reference, "Versions"), and
     * no Google-style key.
     */
    private static boolean isAnthropicCaller(HttpRequest req) {
        return req.headers().contains(ANTHROPIC_VERSION) && !req.headers().contains(X_GOOG_API_KEY)
                && !req.uri().contains("key=");
    }

    /** Errors go out in Anthropic's shape. */
    boolean anthropic() {
        return this == ANTHROPIC_MESSAGES || this == ANTHROPIC_COUNT_TOKENS || this == ANTHROPIC_MODELS
                || this == ANTHROPIC_MODEL;
    }

    /** For a 404: answer in Anthropic's shape when the path is clearly meant for the Anthropic API. */
    static boolean looksAnthropic(String path) {
        return path.startsWith("/anthropic/") || path.startsWith("/v1/messages");
    }

    /** Bearer, and no Google-style key: an OpenAI client. */
    private static boolean isBearerCaller(HttpRequest req) {
        String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION);
        if (auth == null || !auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        return !req.headers().contains(X_GOOG_API_KEY) && !req.uri().contains("key=");
    }

    /** An OpenAI SDK upload ({@code multipart/form-data}); Gemini's uploads go to {@code /upload/...} instead. */
    private static boolean isFormUpload(HttpRequest req) {
        String ct = req.headers().get(HttpHeaderNames.CONTENT_TYPE);
        return ct != null && ct.regionMatches(true, 0, "multipart/form-data", 0, 19);
    }

    /** For a 404: answer in OpenAI's shape when the path is clearly meant for the OpenAI API. */
    static boolean looksOpenAi(String path) {
        return path.startsWith("/openai/") || path.startsWith("/v1/chat/") || path.startsWith("/v1/completions")
                || path.startsWith("/v1/embeddings") || path.startsWith("/v1/responses")
                || path.startsWith("/v1/images/");
    }
}
