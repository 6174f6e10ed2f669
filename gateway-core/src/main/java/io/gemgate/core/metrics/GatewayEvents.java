package io.gemgate.core.metrics;

/**
 * What the gateway's hot path reports, for metrics and stats. Implementations must be thread-safe, must not block
 * and should not allocate per call: they are called on event loops for every request and attempt. Labels passed in
 * are bounded: route names from {@link #ROUTES}, model names interned by the key pool (at most a few hundred), status
 * codes, verdict labels ({@code io.gemgate.core.keys.VerdictKind#label()}), and masked key ids.
 */
public interface GatewayEvents {
    /** Route labels. */
    String NATIVE = "native";
    String OPENAI_CHAT = "openai_chat";
    String OPENAI_MODELS = "openai_models";
    String OPENAI_EMBEDDINGS = "openai_embeddings";
    String OPENAI_RESPONSES = "openai_responses";
    String OPENAI_IMAGES = "openai_images";
    String ANTHROPIC_MESSAGES = "anthropic_messages";
    String ANTHROPIC_COUNT_TOKENS = "anthropic_count_tokens";
    String ADMIN = "admin";
    String OTHER = "other";
    java.util.List<String> ROUTES = java.util.List.of(NATIVE, OPENAI_CHAT, OPENAI_MODELS, OPENAI_EMBEDDINGS,
            OPENAI_RESPONSES, OPENAI_IMAGES, ADMIN, OTHER, ANTHROPIC_MESSAGES, ANTHROPIC_COUNT_TOKENS);

    /** Does nothing. */
    GatewayEvents NOOP = new GatewayEvents() {
    };

    /** A client connection opened or closed. */
    default void connection(boolean opened) {
    }

    /** A request was handed to an exchange (it is in flight until {@link #requestFinished}). */
    default void requestStarted(String route) {
    }

    /**
     * A request ended (answered, failed or abandoned by the client: status 499).
     *
     * @param firstByteNanos time from the request's start to the first byte written to the client, -1 if none
     */
    default void requestFinished(String route, String model, int status, long durationNanos, long firstByteNanos) {
    }

    /**
     * A request was answered (status below 400) by a key of this tier (0 to 9, {@code KeySpec.MAX_TIER}), after
     * {@link #requestFinished}.
     */
    default void servedByTier(int tier) {
    }

    /** A request answered before reaching an exchange (auth, limits, 404, health). */
    default void requestRejected(String route, int status) {
    }

    /**
     * One upstream attempt ended with this verdict.
     *
     * @param verdict  {@code VerdictKind.label()}: success, client_error, quota_day, rate_minute, invalid_key,
     *                 server_error, connect_failure, timeout, empty_answer
     * @param failover true when the request goes on to another key because of it
     */
    default void attempt(String model, String verdict, boolean failover) {
    }

    /** SSE events relayed or produced for a client. */
    default void sseEvents(int count) {
    }

    /** Body bytes received from clients and sent to them. */
    default void bytes(long in, long out) {
    }

    /**
     * Tokens an answer reported in its usageMetadata.
     *
     * @param user the user token's name, or null for the shared token
     */
    default void tokens(String model, String user, long promptTokens, long outputTokens) {
    }
}
