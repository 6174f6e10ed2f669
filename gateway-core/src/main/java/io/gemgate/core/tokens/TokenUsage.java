package io.gemgate.core.tokens;

/**
 * One token's usage at one instant, for the admin API. Day counters belong to the quota day starting at
 * {@link #dayStartMillis()}; they read 0 once that day is over.
 *
 * @param tokenId           the token
 * @param dayStartMillis    start of the current quota day
 * @param requestsToday     requests admitted today
 * @param promptTokensToday prompt tokens recorded today
 * @param outputTokensToday output tokens recorded today
 * @param requestsLastMinute requests admitted in the last 60 seconds (what {@code requestsPerMinute} is checked
 *                          against)
 * @param inFlight          requests admitted and not yet released
 * @param lastUsedMillis    epoch millis of the last admitted request, 0 = never
 * @param totalRequests     requests admitted since creation
 * @param totalTokens       prompt + output tokens since creation
 */
public record TokenUsage(String tokenId, long dayStartMillis, long requestsToday, long promptTokensToday,
                         long outputTokensToday, int requestsLastMinute, int inFlight, long lastUsedMillis,
                         long totalRequests, long totalTokens) {

    /** Prompt + output tokens today: what {@code tokensPerDay} is checked against. */
    public long tokensToday() {
        return promptTokensToday + outputTokensToday;
    }
}
