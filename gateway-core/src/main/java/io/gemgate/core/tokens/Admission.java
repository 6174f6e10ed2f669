package io.gemgate.core.tokens;

import static java.util.Objects.requireNonNull;

/**
 * {@link TokenLimiter#admit}'s answer: go ahead, or the HTTP status, {@code Retry-After} and message to refuse
 * with. {@link #ACCEPTED} is a shared constant, so admitting allocates nothing; refusals are new instances.
 *
 * @param outcome           why
 * @param retryAfterSeconds for 429: seconds until the limit frees up, at least 1 (the {@code Retry-After} value);
 *                          0 otherwise
 * @param message           for the client's error body; names the limit, e.g. {@code "requestsPerMinute limit of 60
 *                          reached; retry in 12s"}. Empty for {@link #ACCEPTED}
 */
public record Admission(Outcome outcome, long retryAfterSeconds, String message) {

    /** Why a request was admitted or refused. */
    public enum Outcome {
        /** The request may proceed. */
        ACCEPTED(200, ""),
        /** The token is disabled: 401. */
        DISABLED(401, "enabled"),
        /** The token's {@code expiresAtMillis} has passed: 401. */
        EXPIRED(401, "expiresAtMillis"),
        /** The model is not in the token's {@code allowedModels}: 403. */
        MODEL_NOT_ALLOWED(403, "allowedModels"),
        /** Prompt + output tokens today reached {@code tokensPerDay}: 429 until the quota day ends. */
        TOKENS_PER_DAY(429, "tokensPerDay"),
        /** Requests today reached {@code requestsPerDay}: 429 until the quota day ends. */
        REQUESTS_PER_DAY(429, "requestsPerDay"),
        /** Requests in the last 60 seconds reached {@code requestsPerMinute}: 429 until the oldest leave. */
        REQUESTS_PER_MINUTE(429, "requestsPerMinute"),
        /** Requests in flight reached {@code maxConcurrency}: 429, retry in 1 s. */
        MAX_CONCURRENCY(429, "maxConcurrency");

        private final int status;
        private final String limit;

        Outcome(int status, String limit) {
            this.status = status;
            this.limit = limit;
        }

        /** The HTTP status to answer with; 200 for {@link #ACCEPTED}. */
        public int status() {
            return status;
        }

        /** The {@link TokenLimits} field (or {@code enabled}) behind the refusal; empty for {@link #ACCEPTED}. */
        public String limit() {
            return limit;
        }
    }

    /** The request may proceed; {@link TokenLimiter#release} must be called once when it ends. */
    public static final Admission ACCEPTED = new Admission(Outcome.ACCEPTED, 0, "");

    /** @throws IllegalArgumentException if {@code retryAfterSeconds} is negative */
    public Admission {
        requireNonNull(outcome, "outcome");
        requireNonNull(message, "message");
        if (retryAfterSeconds < 0) {
            throw new IllegalArgumentException("retryAfterSeconds: " + retryAfterSeconds + " (expected: >= 0)");
        }
    }

    /** True for {@link #ACCEPTED}: the request may proceed. */
    public boolean isAccepted() {
        return outcome == Outcome.ACCEPTED;
    }

    /** The HTTP status: 200 when accepted, else 401, 403 or 429. */
    public int status() {
        return outcome.status;
    }
}
