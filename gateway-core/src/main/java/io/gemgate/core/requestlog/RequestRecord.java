package io.gemgate.core.requestlog;

import java.util.List;

/**
 * What the request log keeps of one client request: built once on the event loop, when the request ends, from what
 * the exchange already knows, and handed to the log's writer without blocking. Immutable. It never holds a secret:
 * the user token appears as its id and name, keys as their id and masked form, and the path without credentials.
 *
 * @param startMillis      when the request arrived, epoch milliseconds
 * @param method           the HTTP method
 * @param path             the request target without credential parameters, keys cut to their hints
 * @param route            the route label ({@code native}, {@code openai_chat}...; {@code other} for no route)
 * @param protocol         {@code gemini}, {@code openai}, or {@code -} for requests refused before routing
 * @param model            the model the request was accounted to, "" when none
 * @param tokenId          the user token's id, "" for the shared token, {@value #UNAUTHENTICATED} for a request
 *                         refused without a token the gateway accepts
 * @param tokenName        the user token's name, "" for the shared token or none
 * @param client           the client's address ({@code 127.0.0.1}), "" when unknown
 * @param stream           true for a streamed answer (SSE)
 * @param status           the status the client got (499: the client left before the end)
 * @param bytesOut         answer bytes written to the client
 * @param latencyMillis    from arrival to the end of the answer
 * @param firstByteMillis  from arrival to the first answer byte, -1 when none was sent
 * @param promptTokens     prompt tokens reported by the upstream
 * @param outputTokens     output tokens (answer and thoughts) reported by the upstream
 * @param reasoningTokens  thought tokens among the output tokens
 * @param attempts         the upstream calls, in order; empty when the gateway answered itself
 * @param errorReason      why the request failed, in a word (Google's reason, or the gateway's); null on success
 * @param errorMessage     the error message the client got (Google's, or the gateway's), capped; null on success
 * @param errorBody        Google's error body of the last failed call, capped; null when none or not kept
 * @param tokenHint        the access line's hint of the token the client presented ({@code gg-t...5d1c}, {@code -})
 * @param stored           false for an answer the gateway gave itself that only the access log shows (health,
 *                         metrics, the admin page): not stored in the database, not counted in the usage
 * @param edge             true when the gateway answered before any exchange (a refusal, a local endpoint): the
 *                         access line shows {@code model=-}
 */
public record RequestRecord(long startMillis, String method, String path, String route, String protocol,
                            String model, String tokenId, String tokenName, String client, boolean stream,
                            int status, long bytesOut, long latencyMillis, long firstByteMillis, long promptTokens,
                            long outputTokens, long reasoningTokens, List<AttemptRecord> attempts,
                            String errorReason, String errorMessage, String errorBody, String tokenHint,
                            boolean stored, boolean edge) {

    /** The token id of a request that presented no token the gateway accepts. */
    public static final String UNAUTHENTICATED = "-";

    public RequestRecord {
        attempts = attempts == null ? List.of() : attempts;
        tokenHint = tokenHint == null ? "-" : tokenHint;
    }

    /**
     * A record of the database and the access log, as a test or a tool makes one: no token hint, stored, not an
     * edge answer.
     */
    public RequestRecord(long startMillis, String method, String path, String route, String protocol, String model,
                         String tokenId, String tokenName, String client, boolean stream, int status, long bytesOut,
                         long latencyMillis, long firstByteMillis, long promptTokens, long outputTokens,
                         long reasoningTokens, List<AttemptRecord> attempts, String errorReason, String errorMessage,
                         String errorBody) {
        this(startMillis, method, path, route, protocol, model, tokenId, tokenName, client, stream, status, bytesOut,
                latencyMillis, firstByteMillis, promptTokens, outputTokens, reasoningTokens, attempts, errorReason,
                errorMessage, errorBody, "-", true, false);
    }

    /** True when the client got an error status (4xx, 5xx, or 499 when it left). */
    public boolean isFailure() {
        return status >= 400;
    }

    /** The attempt that answered the client, or null when the gateway answered itself. */
    public AttemptRecord lastAttempt() {
        return attempts.isEmpty() ? null : attempts.get(attempts.size() - 1);
    }
}
