package io.gemgate.core.keys;

import java.util.Locale;

/** How the key pool picks the next key. Switchable at run time. */
public enum Strategy {
    /** Weighted round robin over the available keys, interleaved (smooth) so heavy keys do not come in bursts. */
    ROUND_ROBIN("round_robin"),
    /** The available key with the fewest requests today for the requested model. */
    LEAST_USED("least_used"),
    /** Power of two choices on a health score (moving averages of success rate and latency): see ModelLanes. */
    ADAPTIVE("adaptive");

    private final String wireName;

    Strategy(String wireName) {
        this.wireName = wireName;
    }

    /** The name used in gateway.yaml, environment variables and the admin API. */
    public String wireName() {
        return wireName;
    }

    /**
     * Parses {@code round_robin}, {@code least_used} or {@code adaptive} (case and {@code -}/{@code _} insensitive).
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static Strategy parse(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        for (Strategy s : values()) {
            if (s.wireName.equals(v)) {
                return s;
            }
        }
        throw new IllegalArgumentException(
                "unknown strategy '" + value + "' (expected: round_robin, least_used or adaptive)");
    }
}
