package io.gemgate.core.keys;

/** One key's counters for one model and the current quota day. */
public record KeyUsage(long requests, long successes, long failures, long rateLimited, long promptTokens,
                       long outputTokens) {
    public static final KeyUsage ZERO = new KeyUsage(0, 0, 0, 0, 0, 0);
}
