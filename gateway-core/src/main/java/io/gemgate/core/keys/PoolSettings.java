package io.gemgate.core.keys;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.config.GatewayConfig;

/**
 * The pool's live settings, replaced whole when changed at run time.
 *
 * @param strategy                   how the next key is picked
 * @param maxAttempts                costly failures ({@link VerdictKind#isCostly()}) one request may meet, 1 to 20
 * @param rateLimitCooldownMillis    cooldown after a 429 without RetryInfo; doubles on each repeat
 * @param rateLimitCooldownMaxMillis ceiling of that doubling
 * @param serverErrorCooldownMillis  cooldown after a 5xx, connect failure, timeout or empty answer
 */
public record PoolSettings(Strategy strategy, int maxAttempts, long rateLimitCooldownMillis,
                           long rateLimitCooldownMaxMillis, long serverErrorCooldownMillis) {
    public PoolSettings {
        requireNonNull(strategy, "strategy");
        if (maxAttempts < 1 || maxAttempts > 20) {
            throw new IllegalArgumentException("maxAttempts: " + maxAttempts + " (expected: 1 to 20)");
        }
        if (rateLimitCooldownMillis <= 0 || rateLimitCooldownMaxMillis < rateLimitCooldownMillis) {
            throw new IllegalArgumentException("rateLimitCooldown: " + rateLimitCooldownMillis + "ms, max "
                    + rateLimitCooldownMaxMillis + "ms (expected: 0 < cooldown <= max)");
        }
        if (serverErrorCooldownMillis < 0) {
            throw new IllegalArgumentException("serverErrorCooldown: " + serverErrorCooldownMillis + " (expected: >= 0)");
        }
    }

    public static PoolSettings from(GatewayConfig.Pool pool) {
        return new PoolSettings(pool.strategy(), pool.maxAttempts(), pool.rateLimitCooldown().toMillis(),
                pool.rateLimitCooldownMax().toMillis(), pool.serverErrorCooldown().toMillis());
    }

    public PoolSettings withStrategy(Strategy s) {
        return new PoolSettings(s, maxAttempts, rateLimitCooldownMillis, rateLimitCooldownMaxMillis,
                serverErrorCooldownMillis);
    }
}
