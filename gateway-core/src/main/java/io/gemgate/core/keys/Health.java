package io.gemgate.core.keys;

/**
 * A key's health as exponential moving averages (alpha 0.1) of success and latency, replaced whole by CAS.
 *
 * @param successRate   moving average of 1 (success) and 0 (failure), starts at 1
 * @param latencyMillis moving average of answer latency (time to response head), starts at 0 (unknown)
 * @param lastFailureMillis epoch millis of the last failure, 0 = never
 */
public record Health(double successRate, double latencyMillis, long lastFailureMillis) {
    static final double ALPHA = 0.1;
    static final Health INITIAL = new Health(1.0, 0.0, 0);
    /** A failure in the last minute costs this much score, fading linearly. */
    private static final double RECENT_FAILURE_PENALTY = 0.2;
    private static final long RECENT_WINDOW_MILLIS = 60_000;

    Health success(long latency) {
        double lat = latencyMillis == 0 ? latency : latencyMillis + ALPHA * (latency - latencyMillis);
        return new Health(successRate + ALPHA * (1 - successRate), lat, lastFailureMillis);
    }

    Health failure(long now) {
        return new Health(successRate * (1 - ALPHA), latencyMillis, now);
    }

    /**
     * Score in [0, 1]: 0.7 of the success rate plus 0.3 of a latency score (1 at 0 ms, 0.5 at 2 s), minus a fading
     * penalty for a failure in the last minute.
     */
    public double score(long now) {
        double latencyScore = 1.0 / (1.0 + latencyMillis / 2000.0);
        double s = 0.7 * successRate + 0.3 * latencyScore;
        long since = now - lastFailureMillis;
        if (lastFailureMillis != 0 && since < RECENT_WINDOW_MILLIS) {
            s -= RECENT_FAILURE_PENALTY * (RECENT_WINDOW_MILLIS - since) / RECENT_WINDOW_MILLIS;
        }
        return Math.max(0, s);
    }
}
