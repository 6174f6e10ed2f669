package io.gemgate.core.settings;

/**
 * What one upstream key may be sent for one model, so that the pool paces requests instead of collecting 429s. Each
 * value is {@link #UNLIMITED} ({@code -1}) or at least 1.
 *
 * @param rpm requests per minute per key
 * @param tpm tokens (prompt + output) per minute per key
 * @param rpd requests per quota day per key
 */
public record KeyBudget(long rpm, long tpm, long rpd) {
    /** The value of a budget that does not limit. */
    public static final long UNLIMITED = -1;
    /** No budget at all. */
    public static final KeyBudget NONE = new KeyBudget(UNLIMITED, UNLIMITED, UNLIMITED);

    /**
     * Validates the values.
     *
     * @throws SettingsException naming the field ({@code rpm}, {@code tpm} or {@code rpd}) when a value is neither
     *                           -1 nor at least 1
     */
    public KeyBudget {
        check("rpm", rpm);
        check("tpm", tpm);
        check("rpd", rpd);
    }

    /** True when no value limits. */
    public boolean isUnlimited() {
        return rpm == UNLIMITED && tpm == UNLIMITED && rpd == UNLIMITED;
    }

    private static void check(String field, long value) {
        if (value != UNLIMITED && value < 1) {
            throw new SettingsException(field, value + " (expected: -1 or >= 1)");
        }
    }
}
