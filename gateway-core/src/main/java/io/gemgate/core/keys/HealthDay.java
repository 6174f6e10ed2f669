package io.gemgate.core.keys;

/**
 * What one key did on one quota day ({@link KeyHealthHistory}). Every number is {@code >= 0}.
 *
 * @param dayStartMillis start of the quota day
 * @param ok             calls that succeeded
 * @param failed         calls that failed for a reason of the key's or the upstream's: invalid key, 5xx, connect
 *                       failure, timeout (not rate limits or daily exhaustion, which are quota)
 * @param checks         probes
 * @param checksFailed   probes that found the key refused or failing
 */
public record HealthDay(long dayStartMillis, long ok, long failed, long checks, long checksFailed) {
    /**
     * Validates the fields.
     *
     * @throws IllegalArgumentException if a number is negative or {@code checksFailed > checks}
     */
    public HealthDay {
        requireNonNegative("dayStartMillis", dayStartMillis);
        requireNonNegative("ok", ok);
        requireNonNegative("failed", failed);
        requireNonNegative("checks", checks);
        requireNonNegative("checksFailed", checksFailed);
        if (checksFailed > checks) {
            throw new IllegalArgumentException("checksFailed must be <= checks: " + checksFailed + " > " + checks);
        }
    }

    private static void requireNonNegative(String field, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(field + " must be >= 0: " + value);
        }
    }
}
