package io.gemgate.core.keys;

/** What an upstream answer (or its absence) says about the key that was used. */
public enum VerdictKind {
    /** 2xx: the key served. */
    SUCCESS(false, "success"),
    /** Any other 4xx (bad request, not found ...): the client's fault. Passed through, never retried, no penalty. */
    CLIENT_ERROR(false, "client_error"),
    /** 429 whose QuotaFailure names a per-day quota: the key is exhausted for the model until the daily reset. */
    QUOTA_DAY(true, "quota_day"),
    /** 429 per-minute (or unspecified): the key cools down for the model for the RetryInfo delay, or a default. */
    RATE_LIMIT(true, "rate_minute"),
    /**
     * 400/401/403 whose ErrorInfo reason blames the key (see {@link VerdictClassifier}): the key leaves the rotation
     * until a probe finds it good, unless {@link SetAsideBrake} holds it back.
     */
    INVALID_KEY(true, "invalid_key"),
    /** 500/502/503/504: short cooldown, health penalty, next key. */
    SERVER_ERROR(true, "server_error"),
    /** TCP or TLS connection could not be made, or was reset before the response head. */
    CONNECT_FAILURE(true, "connect_failure"),
    /** No response head within the upstream response timeout. */
    TIMEOUT(true, "timeout"),
    /** 200 whose body carried no candidate, text or call (OpenAI routes): retried like a 5xx. */
    EMPTY_ANSWER(true, "empty_answer");

    private final boolean retryOnNextKey;
    private final String label;

    VerdictKind(boolean retryOnNextKey, String label) {
        this.retryOnNextKey = retryOnNextKey;
        this.label = label;
    }

    /** True when the request should be tried again on another key (if one is left and no byte reached the client). */
    public boolean retryOnNextKey() {
        return retryOnNextKey;
    }

    /**
     * True for the failures that cost the client time or the upstream work (5xx, connection failure, timeout, an
     * empty answer): only these use up {@code pool.maxAttempts}. A 429 or an invalid key is an immediate answer.
     */
    public boolean isCostly() {
        return this == SERVER_ERROR || this == CONNECT_FAILURE || this == TIMEOUT || this == EMPTY_ANSWER;
    }

    /** Bounded label for metrics and logs. */
    public String label() {
        return label;
    }
}
