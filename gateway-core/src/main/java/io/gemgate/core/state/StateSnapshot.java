package io.gemgate.core.state;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * The persisted view of the key pool: per key, its invalid mark and, per model, cooldowns, exhaustion and the day's
 * counters. All times are absolute epoch milliseconds, so a restart resumes a cooldown where it was; {@code 0} means
 * "not set".
 *
 * <p>Keys are identified by {@link #fingerprint(String) fingerprint}; the secret itself is never part of a snapshot.
 * Instances are immutable: lists are copied with {@link List#copyOf}. Constructors reject {@code null} and negative
 * numbers with {@link NullPointerException} / {@link IllegalArgumentException}, so a snapshot that exists can always
 * be written and read back.
 *
 * @param version       format version, {@link #CURRENT_VERSION} for snapshots built by this code; at least 1
 * @param savedAtMillis when the snapshot was taken (epoch millis, {@code >= 0})
 * @param keys          one record per upstream key
 */
public record StateSnapshot(int version, long savedAtMillis, List<KeyRecord> keys) {

    /** The newest format this code writes and the newest it can read; newer files are treated as corrupt. */
    public static final int CURRENT_VERSION = 1;

    private static final int FINGERPRINT_CHARS = 16;

    /**
     * Validates the fields and copies {@code keys}.
     *
     * @param version       format version, at least 1
     * @param savedAtMillis epoch millis, {@code >= 0}
     * @param keys          key records, copied
     * @throws IllegalArgumentException if {@code version < 1} or {@code savedAtMillis < 0}
     */
    public StateSnapshot {
        if (version < 1) {
            throw new IllegalArgumentException("version must be >= 1: " + version);
        }
        requireNonNegative("savedAtMillis", savedAtMillis);
        keys = List.copyOf(Objects.requireNonNull(keys, "keys"));
    }

    /**
     * The state of a fresh start.
     *
     * @return a snapshot with no keys, {@link #CURRENT_VERSION} and {@code savedAtMillis} 0
     */
    public static StateSnapshot empty() {
        return new StateSnapshot(CURRENT_VERSION, 0L, List.of());
    }

    /**
     * The identity under which a key's state is stored: the first 16 lowercase hex characters of the SHA-256 of the
     * secret's UTF-8 bytes. It cannot be turned back into the secret.
     *
     * @param secret the upstream API key
     * @return 16 lowercase hex characters
     */
    public static String fingerprint(String secret) {
        Objects.requireNonNull(secret, "secret");
        MessageDigest sha256;
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
        byte[] digest = sha256.digest(secret.getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(digest, 0, FINGERPRINT_CHARS / 2);
    }

    /**
     * The persisted state of one upstream key.
     *
     * @param fingerprint        {@link StateSnapshot#fingerprint(String)} of the secret; the secret itself is never
     *                           stored here
     * @param disabled           disabled by an operator (kept out of rotation until re-enabled)
     * @param invalidSinceMillis when the key was marked invalid (e.g. upstream said the key is bad); 0 = valid
     * @param invalidReason      why it was marked invalid; {@code ""} if none
     * @param models             per-model state of this key
     */
    public record KeyRecord(String fingerprint, boolean disabled, long invalidSinceMillis, String invalidReason,
                            List<ModelRecord> models) {

        /**
         * Validates the fields and copies {@code models}.
         *
         * @param fingerprint        key fingerprint, not null
         * @param disabled           disabled by an operator
         * @param invalidSinceMillis {@code >= 0}, 0 = valid
         * @param invalidReason      not null, {@code ""} if none
         * @param models             model records, copied
         * @throws IllegalArgumentException if {@code invalidSinceMillis < 0}
         */
        public KeyRecord {
            Objects.requireNonNull(fingerprint, "fingerprint");
            requireNonNegative("invalidSinceMillis", invalidSinceMillis);
            Objects.requireNonNull(invalidReason, "invalidReason");
            models = List.copyOf(Objects.requireNonNull(models, "models"));
        }
    }

    /**
     * The persisted state of one (key, model) pair. Every number is {@code >= 0}; times are epoch millis, 0 = unset.
     *
     * @param model                the model name, e.g. {@code gemini-2.5-flash}
     * @param cooldownUntilMillis  the pair is not used before this instant (after a 429)
     * @param rateLimitStreak      consecutive rate-limited answers, drives the cooldown back-off
     * @param exhaustedUntilMillis the daily quota is used up until this instant
     * @param dayStartMillis       start of the quota day the counters below belong to
     * @param requests             requests sent this day
     * @param successes            successful answers this day
     * @param failures             failed answers this day (other than rate limiting)
     * @param rateLimited          rate-limited answers this day
     * @param promptTokens         prompt tokens consumed this day
     * @param outputTokens         output tokens produced this day
     */
    public record ModelRecord(String model, long cooldownUntilMillis, int rateLimitStreak, long exhaustedUntilMillis,
                              long dayStartMillis, long requests, long successes, long failures, long rateLimited,
                              long promptTokens, long outputTokens) {

        /**
         * Validates the fields.
         *
         * @param model                model name, not null
         * @param cooldownUntilMillis  {@code >= 0}
         * @param rateLimitStreak      {@code >= 0}
         * @param exhaustedUntilMillis {@code >= 0}
         * @param dayStartMillis       {@code >= 0}
         * @param requests             {@code >= 0}
         * @param successes            {@code >= 0}
         * @param failures             {@code >= 0}
         * @param rateLimited          {@code >= 0}
         * @param promptTokens         {@code >= 0}
         * @param outputTokens         {@code >= 0}
         * @throws IllegalArgumentException if a number is negative
         */
        public ModelRecord {
            Objects.requireNonNull(model, "model");
            requireNonNegative("cooldownUntilMillis", cooldownUntilMillis);
            requireNonNegative("rateLimitStreak", rateLimitStreak);
            requireNonNegative("exhaustedUntilMillis", exhaustedUntilMillis);
            requireNonNegative("dayStartMillis", dayStartMillis);
            requireNonNegative("requests", requests);
            requireNonNegative("successes", successes);
            requireNonNegative("failures", failures);
            requireNonNegative("rateLimited", rateLimited);
            requireNonNegative("promptTokens", promptTokens);
            requireNonNegative("outputTokens", outputTokens);
        }
    }

    private static void requireNonNegative(String field, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(field + " must be >= 0: " + value);
        }
    }
}
