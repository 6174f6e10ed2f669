package io.gemgate.core.state;

import io.gemgate.core.tokens.TokenRecord;
import java.util.List;
import java.util.Objects;

/**
 * What the gateway persists: per key, its marks and, per model, cooldowns, exhaustion and the day's counters; since
 * version 2 also the keys added at run time, the admin's edits of configured keys, the user tokens (hashed) and the
 * settings changed at run time. All times are absolute epoch milliseconds, so a restart resumes a cooldown where it
 * was; {@code 0} means "not set".
 *
 * <p>Keys are identified by {@link #fingerprint(String) fingerprint}. The only secrets a snapshot may hold are those
 * of {@link AddedKey keys added at run time}, encrypted ({@code v1:...}) when a master key is configured; user tokens
 * are stored as their SHA-256 only. Instances are immutable: lists are copied with {@link List#copyOf}. Constructors
 * reject {@code null} and negative numbers with {@link NullPointerException} / {@link IllegalArgumentException}, so
 * a snapshot that exists can always be written and read back.
 *
 * <h2>Versions</h2>
 * <ul>
 *   <li>1: {@code keys} only.</li>
 *   <li>2: adds {@code removed} to each key, and {@code addedKeys}, {@code keyEdits}, {@code tokens} and
 *       {@code settings}. A version 1 file reads as a version 2 snapshot with those empty. {@code health} came
 *       later within version 2: a file without it reads with no history, and older readers skip it.</li>
 * </ul>
 *
 * @param version       format version, {@link #CURRENT_VERSION} for snapshots built by this code; at least 1
 * @param savedAtMillis when the snapshot was taken (epoch millis, {@code >= 0})
 * @param keys          one record per upstream key
 * @param addedKeys     the keys added at run time (through the admin API), which the keys file does not list
 * @param keyEdits      project, weight and label of configured keys as last set through the admin API
 * @param tokens        the user tokens with their counters, never their secrets
 * @param settings      the settings changed at run time, as the JSON object of
 *                      {@code SettingsCodec.encodeOverrides}; {@code ""} when none was ever stored
 * @param health        per key, its daily health history and clean-up marks ({@code KeyHealthHistory})
 */
public record StateSnapshot(int version, long savedAtMillis, List<KeyRecord> keys, List<AddedKey> addedKeys,
                            List<KeyEdit> keyEdits, List<TokenRecord> tokens, String settings,
                            List<KeyHealth> health, List<AffinityRecord> affinity) {

    /** The newest format this code writes and the newest it can read; newer files are treated as corrupt. */
    public static final int CURRENT_VERSION = 2;

    /**
     * Validates the fields and copies the lists.
     *
     * @throws IllegalArgumentException if {@code version < 1} or {@code savedAtMillis < 0}
     * @throws NullPointerException     if a list or {@code settings} is null
     */
    public StateSnapshot {
        if (version < 1) {
            throw new IllegalArgumentException("version must be >= 1: " + version);
        }
        requireNonNegative("savedAtMillis", savedAtMillis);
        keys = List.copyOf(Objects.requireNonNull(keys, "keys"));
        addedKeys = List.copyOf(Objects.requireNonNull(addedKeys, "addedKeys"));
        keyEdits = List.copyOf(Objects.requireNonNull(keyEdits, "keyEdits"));
        tokens = List.copyOf(Objects.requireNonNull(tokens, "tokens"));
        Objects.requireNonNull(settings, "settings");
        health = List.copyOf(Objects.requireNonNull(health, "health"));
        affinity = List.copyOf(Objects.requireNonNull(affinity, "affinity"));
    }

    /** A snapshot without affinity entries (what files written before they were kept hold). */
    public StateSnapshot(int version, long savedAtMillis, List<KeyRecord> keys, List<AddedKey> addedKeys,
                         List<KeyEdit> keyEdits, List<TokenRecord> tokens, String settings, List<KeyHealth> health) {
        this(version, savedAtMillis, keys, addedKeys, keyEdits, tokens, settings, health, List.of());
    }

    /** A snapshot without health history (what files written before it was kept hold). */
    public StateSnapshot(int version, long savedAtMillis, List<KeyRecord> keys, List<AddedKey> addedKeys,
                         List<KeyEdit> keyEdits, List<TokenRecord> tokens, String settings) {
        this(version, savedAtMillis, keys, addedKeys, keyEdits, tokens, settings, List.of());
    }

    /**
     * The key pool's part alone (what version 1 holds): no added keys, edits, tokens or settings.
     *
     * @param version       format version, at least 1
     * @param savedAtMillis epoch millis, {@code >= 0}
     * @param keys          key records, copied
     */
    public StateSnapshot(int version, long savedAtMillis, List<KeyRecord> keys) {
        this(version, savedAtMillis, keys, List.of(), List.of(), List.of(), "", List.of());
    }

    /**
     * The state of a fresh start.
     *
     * @return a snapshot with nothing in it, {@link #CURRENT_VERSION} and {@code savedAtMillis} 0
     */
    public static StateSnapshot empty() {
        return new StateSnapshot(CURRENT_VERSION, 0L, List.of());
    }

    /** This snapshot with other key records (the rest unchanged). */
    public StateSnapshot withKeys(List<KeyRecord> newKeys) {
        return new StateSnapshot(version, savedAtMillis, newKeys, addedKeys, keyEdits, tokens, settings, health,
                affinity);
    }

    /**
     * The identity under which a key's state is stored: the first 16 lowercase hex characters of the SHA-256 of the
     * secret's UTF-8 bytes. It cannot be turned back into the secret.
     *
     * @param secret the upstream API key
     * @return 16 lowercase hex characters
     */
    public static String fingerprint(String secret) {
        return io.gemgate.core.keys.KeyMask.fingerprint(secret);
    }

    /**
     * The persisted state of one upstream key.
     *
     * @param fingerprint        {@link StateSnapshot#fingerprint(String)} of the secret; the secret itself is never
     *                           stored here
     * @param disabled           disabled by an operator (kept out of rotation until re-enabled)
     * @param removed            soft-removed by an operator or the clean-up (out of rotation, listed as removed,
     *                           until restored); version 2
     * @param invalidSinceMillis when the key was marked invalid (e.g. upstream said the key is bad); 0 = valid
     * @param invalidReason      why it was marked invalid; {@code ""} if none
     * @param models             per-model state of this key
     */
    public record KeyRecord(String fingerprint, boolean disabled, boolean removed, long invalidSinceMillis,
                            String invalidReason, List<ModelRecord> models) {

        /**
         * Validates the fields and copies {@code models}.
         *
         * @throws IllegalArgumentException if {@code invalidSinceMillis < 0}
         * @throws NullPointerException     if a reference is null
         */
        public KeyRecord {
            Objects.requireNonNull(fingerprint, "fingerprint");
            requireNonNegative("invalidSinceMillis", invalidSinceMillis);
            Objects.requireNonNull(invalidReason, "invalidReason");
            models = List.copyOf(Objects.requireNonNull(models, "models"));
        }

        /** A key that is not removed (the version 1 shape). */
        public KeyRecord(String fingerprint, boolean disabled, long invalidSinceMillis, String invalidReason,
                         List<ModelRecord> models) {
            this(fingerprint, disabled, false, invalidSinceMillis, invalidReason, models);
        }

        /** This record with the removed mark set as given. */
        public KeyRecord withRemoved(boolean value) {
            return new KeyRecord(fingerprint, disabled, value, invalidSinceMillis, invalidReason, models);
        }
    }

    /**
     * A key added at run time. Its secret is stored here because no keys file holds it: encrypted
     * ({@code KeyCipher}, {@code v1:...}) when a master key is configured, else as given.
     *
     * @param fingerprint   {@link StateSnapshot#fingerprint(String)} of the plain secret, to check a decryption and
     *                      to match the key's {@link KeyRecord}
     * @param secret        the secret as stored: {@code v1:...} or the key itself
     * @param project       its Google Cloud project, {@code ""} when unknown
     * @param weight        its weight, {@code >= 0} here (the pool refuses values outside 1 to 100 on restore)
     * @param label         free text, {@code ""} if none
     * @param addedAtMillis when it was first stored
     * @param tier          its tier, {@code >= 0} here (the pool refuses values above 9 on restore); 0 in older files
     * @param groups        its groups; empty in older files
     * @param proxy         its own exit ({@code KeySpec.proxy()}): {@code ""}, {@code direct} or a proxy URL, the URL
     *                      encrypted ({@code v1:...}) like the secret when a master key is configured; {@code ""} in
     *                      older files
     */
    public record AddedKey(String fingerprint, String secret, String project, int weight, String label,
                           long addedAtMillis, int tier, java.util.Set<String> groups, String proxy) {
        /**
         * Validates the fields.
         *
         * @throws IllegalArgumentException if a number is negative
         * @throws NullPointerException     if a reference is null
         */
        public AddedKey {
            Objects.requireNonNull(fingerprint, "fingerprint");
            Objects.requireNonNull(secret, "secret");
            Objects.requireNonNull(project, "project");
            requireNonNegative("weight", weight);
            Objects.requireNonNull(label, "label");
            requireNonNegative("addedAtMillis", addedAtMillis);
            requireNonNegative("tier", tier);
            groups = java.util.Set.copyOf(Objects.requireNonNull(groups, "groups"));
            Objects.requireNonNull(proxy, "proxy");
        }

        /** A key with the default exit. */
        public AddedKey(String fingerprint, String secret, String project, int weight, String label,
                        long addedAtMillis, int tier, java.util.Set<String> groups) {
            this(fingerprint, secret, project, weight, label, addedAtMillis, tier, groups, "");
        }

        /** A key of tier 0 in no group (as files before tiers and groups). */
        public AddedKey(String fingerprint, String secret, String project, int weight, String label,
                        long addedAtMillis) {
            this(fingerprint, secret, project, weight, label, addedAtMillis, 0, java.util.Set.of(), "");
        }

        /** Leaves the secret out. */
        @Override
        public String toString() {
            return "AddedKey[fingerprint=" + fingerprint + ", project=" + project + ", weight=" + weight + ", label="
                    + label + ", addedAtMillis=" + addedAtMillis + "]";
        }
    }

    /**
     * The project, weight and label an operator gave a configured key through the admin API; they win over the
     * keys file's until changed again.
     *
     * @param fingerprint the key
     * @param project     its project, {@code ""} for none
     * @param weight      its weight, {@code >= 0} here (the pool refuses values outside 1 to 100 on restore)
     * @param label       its label, {@code ""} for none
     * @param tier        its tier, {@code >= 0} here; 0 in older files
     * @param groups      its groups; empty in older files
     */
    public record KeyEdit(String fingerprint, String project, int weight, String label, int tier,
                          java.util.Set<String> groups) {
        /**
         * Validates the fields.
         *
         * @throws IllegalArgumentException if {@code weight < 0}
         * @throws NullPointerException     if a reference is null
         */
        public KeyEdit {
            Objects.requireNonNull(fingerprint, "fingerprint");
            Objects.requireNonNull(project, "project");
            requireNonNegative("weight", weight);
            Objects.requireNonNull(label, "label");
            requireNonNegative("tier", tier);
            groups = java.util.Set.copyOf(Objects.requireNonNull(groups, "groups"));
        }

        /** An edit of tier 0 in no group (as files before tiers and groups). */
        public KeyEdit(String fingerprint, String project, int weight, String label) {
            this(fingerprint, project, weight, label, 0, java.util.Set.of());
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

    /**
     * The health history of one key.
     *
     * @param fingerprint      the key
     * @param streakFromMillis bad days that start before this instant do not count towards removal (the key was
     *                         restored then); 0 = all count
     * @param removedReason    why the clean-up removed the key, {@code ""} when it did not
     * @param days             one entry per quota day with activity, newest first, at most the history's length
     */
    public record KeyHealth(String fingerprint, long streakFromMillis, String removedReason, List<HealthDay> days) {
        /**
         * Validates the fields and copies {@code days}.
         *
         * @throws IllegalArgumentException if {@code streakFromMillis < 0}
         * @throws NullPointerException     if a reference is null
         */
        public KeyHealth {
            Objects.requireNonNull(fingerprint, "fingerprint");
            requireNonNegative("streakFromMillis", streakFromMillis);
            Objects.requireNonNull(removedReason, "removedReason");
            days = List.copyOf(Objects.requireNonNull(days, "days"));
        }
    }

    /**
     * What one key did on one quota day. Every number is {@code >= 0}.
     *
     * @param dayStartMillis start of the quota day
     * @param ok             calls that succeeded
     * @param failed         calls that failed for a reason of the key's or the upstream's: invalid key, 5xx,
     *                       connect failure, timeout (not rate limits or daily exhaustion, which are quota)
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
                throw new IllegalArgumentException("checksFailed must be <= checks: " + checksFailed + " > "
                        + checks);
            }
        }
    }

    private static void requireNonNegative(String field, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(field + " must be >= 0: " + value);
        }
    }

    /**
     * Which key holds a project-bound resource (README, key affinity; {@code io.gemgate.core.affinity.AffinityMap}).
     *
     * @param name          {@code files/abc}, {@code cachedContents/xyz}, {@code batches/b}, {@code fileSearchStores/s}
     *                      or {@code upload_id/<id>}
     * @param fingerprint   the holding key's fingerprint
     * @param project       that key's project label, or ""
     * @param createdMillis when it was recorded
     * @param expiresMillis when it ends
     * @param owner         the user token id that created it, or ""
     * @param meta          what the OpenAI files routes keep about a file, or ""
     */
    public record AffinityRecord(String name, String fingerprint, String project, long createdMillis,
                                 long expiresMillis, String owner, String meta) {
        public AffinityRecord {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(fingerprint, "fingerprint");
            project = project == null ? "" : project;
            owner = owner == null ? "" : owner;
            meta = meta == null ? "" : meta;
        }
    }
}
