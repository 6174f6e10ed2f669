package io.gemgate.core.keys;

/**
 * Why and until when one key rests for one model: its cooldown (a per-minute 429, a 5xx, a connection failure), its
 * daily exhaustion (a per-day 429) and the streak of 429s without RetryInfo that grows the default cooldown.
 * Immutable: a verdict, a lifted cooldown, a replicated rest or a restore replaces it whole by compare-and-set
 * ({@code KeyModelState}), so that a reader never pairs one verdict's cooldown with another's streak.
 *
 * @param cooldownUntilMillis  epoch millis until which the key rests for the model; 0 = none
 * @param exhaustedUntilMillis epoch millis until which the key's daily quota for the model is spent (the next reset);
 *                             0 = none
 * @param rateLimitStreak      consecutive 429s without RetryInfo
 */
public record KeyRest(long cooldownUntilMillis, long exhaustedUntilMillis, int rateLimitStreak) {
    /** No rest, no streak. */
    public static final KeyRest NONE = new KeyRest(0, 0, 0);

    /** True while either end is after {@code now}. */
    public boolean restsAt(long now) {
        return cooldownUntilMillis > now || exhaustedUntilMillis > now;
    }

    /** The later of the two ends: when the key may serve the model again (it may be past). */
    public long until() {
        return Math.max(cooldownUntilMillis, exhaustedUntilMillis);
    }
}
