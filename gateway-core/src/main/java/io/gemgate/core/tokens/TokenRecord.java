package io.gemgate.core.tokens;

import static java.util.Objects.requireNonNull;

/**
 * The persisted form of one user token: its definition and its counters, never its secret (only the SHA-256). What
 * {@link TokenRegistry#snapshot()} returns and {@link TokenRegistry#restore} reads back; also what a shared store
 * (Redis) exchanges.
 *
 * @param id                {@code tok_} followed by 12 lowercase letters or digits
 * @param name              1 to {@value UserToken#MAX_NAME} characters, no control characters
 * @param createdAtMillis   epoch millis, {@code >= 0}
 * @param secretHash        64 lowercase hex characters: SHA-256 of the secret's UTF-8 bytes
 * @param limits            the token's limits
 * @param enabled           false: refused with 401 until enabled again
 * @param lastUsedMillis    epoch millis of the last admitted request, 0 = never
 * @param dayStartMillis    start of the quota day the {@code *Today} counters belong to; counters of an earlier day
 *                          are cleared at the first request of the current one
 * @param requestsToday     requests admitted that day
 * @param promptTokensToday prompt tokens recorded that day
 * @param outputTokensToday output tokens recorded that day
 * @param totalRequests     requests admitted since creation
 * @param totalTokens       prompt + output tokens since creation
 */
public record TokenRecord(String id, String name, long createdAtMillis, String secretHash, TokenLimits limits,
                          boolean enabled, long lastUsedMillis, long dayStartMillis, long requestsToday,
                          long promptTokensToday, long outputTokensToday, long totalRequests, long totalTokens) {

    /**
     * Validates every field.
     *
     * @throws IllegalArgumentException naming the first invalid field
     * @throws NullPointerException     if a reference is null
     */
    public TokenRecord {
        UserToken.checkId(id);
        UserToken.checkName(name);
        requireNonNull(secretHash, "secretHash");
        requireNonNull(limits, "limits");
        if (!isSha256Hex(secretHash)) {
            throw new IllegalArgumentException("secretHash: not 64 lowercase hex characters");
        }
        requireNonNegative("createdAtMillis", createdAtMillis);
        requireNonNegative("lastUsedMillis", lastUsedMillis);
        requireNonNegative("dayStartMillis", dayStartMillis);
        requireNonNegative("requestsToday", requestsToday);
        requireNonNegative("promptTokensToday", promptTokensToday);
        requireNonNegative("outputTokensToday", outputTokensToday);
        requireNonNegative("totalRequests", totalRequests);
        requireNonNegative("totalTokens", totalTokens);
    }

    private static boolean isSha256Hex(String s) {
        if (s.length() != 64) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }

    private static void requireNonNegative(String field, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: >= 0)");
        }
    }
}
