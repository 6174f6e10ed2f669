package io.gemgate.core.tokens;

import static java.util.Objects.requireNonNull;

import java.util.LinkedHashSet;
import java.util.Set;

/**
 * What one user token may do. Immutable; validated on construction with messages that name the field, such as
 * {@code "requestsPerMinute: 0 (expected: -1 or >= 1)"}.
 *
 * <p>Every numeric limit is {@link #UNLIMITED} ({@code -1}) or at least 1; there is no "0 = blocked" value, disable
 * the token instead.
 *
 * @param requestsPerMinute requests admitted in any sliding 60-second window
 * @param requestsPerDay    requests admitted per quota day (the day of {@link io.gemgate.core.keys.QuotaCalendar})
 * @param tokensPerDay      prompt + output tokens per quota day. Tokens are only known when a request ends, so a
 *                          request is admitted while the day's count is below the limit and may overshoot it by
 *                          its own tokens; the next one is refused
 * @param maxConcurrency    requests in flight at once
 * @param allowedModels     models this token may call; empty = all. Entries are model names without the
 *                          {@code models/} prefix (it is stripped if given); an entry ending in {@code *} matches
 *                          every model starting with what precedes it ({@code gemini-2.5-*})
 * @param expiresAtMillis   epoch millis from which the token is refused with 401; {@code 0} = never
 * @param keyGroups         the key groups ({@code group=} in the keys file) this token's requests may use, among
 *                          those its model is routed to; empty = no limit. Names as {@code KeySpec.checkGroup}
 */
public record TokenLimits(int requestsPerMinute, long requestsPerDay, long tokensPerDay, int maxConcurrency,
                          Set<String> allowedModels, long expiresAtMillis, Set<String> keyGroups) {

    /** The value of a numeric limit that does not limit. */
    public static final int UNLIMITED = -1;

    /** Longest model name accepted in {@link #allowedModels}. */
    public static final int MAX_MODEL_NAME = 200;

    private static final String MODELS_PREFIX = "models/";
    private static final TokenLimits NONE = new TokenLimits(UNLIMITED, UNLIMITED, UNLIMITED, UNLIMITED, Set.of(), 0,
            Set.of());

    /**
     * Validates every field and copies {@code allowedModels} (stripping a {@code models/} prefix).
     *
     * @throws IllegalArgumentException naming the first invalid field
     * @throws NullPointerException     if {@code allowedModels} is null
     */
    public TokenLimits {
        requireLimit("requestsPerMinute", requestsPerMinute);
        requireLimit("requestsPerDay", requestsPerDay);
        requireLimit("tokensPerDay", tokensPerDay);
        requireLimit("maxConcurrency", maxConcurrency);
        requireNonNull(allowedModels, "allowedModels");
        Set<String> models = new LinkedHashSet<>();
        for (String m : allowedModels) {
            models.add(checkModel(m));
        }
        allowedModels = Set.copyOf(models);
        if (expiresAtMillis < 0) {
            throw new IllegalArgumentException("expiresAtMillis: " + expiresAtMillis
                    + " (expected: 0 for never, or epoch millis > 0)");
        }
        requireNonNull(keyGroups, "keyGroups");
        if (keyGroups.size() > io.gemgate.core.keys.KeySpec.MAX_GROUPS) {
            throw new IllegalArgumentException("keyGroups: " + keyGroups.size() + " groups (expected: at most "
                    + io.gemgate.core.keys.KeySpec.MAX_GROUPS + ")");
        }
        java.util.TreeSet<String> groups = new java.util.TreeSet<>();
        for (String g : keyGroups) {
            try {
                groups.add(io.gemgate.core.keys.KeySpec.checkGroup(g));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("keyGroups: " + e.getMessage().substring("group: ".length()));
            }
        }
        keyGroups = java.util.Collections.unmodifiableSortedSet(groups);
    }

    /** Limits without a key-group restriction. */
    public TokenLimits(int requestsPerMinute, long requestsPerDay, long tokensPerDay, int maxConcurrency,
                       Set<String> allowedModels, long expiresAtMillis) {
        this(requestsPerMinute, requestsPerDay, tokensPerDay, maxConcurrency, allowedModels, expiresAtMillis,
                Set.of());
    }

    /** No limit at all: every model, no expiry. */
    public static TokenLimits unlimited() {
        return NONE;
    }

    /** A builder starting from {@link #unlimited()}. */
    public static Builder builder() {
        return new Builder(NONE);
    }

    /** A builder starting from these limits. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** True when {@link #expiresAtMillis} is set and {@code nowMillis} has reached it. */
    public boolean isExpired(long nowMillis) {
        return expiresAtMillis != 0 && nowMillis >= expiresAtMillis;
    }

    /** True when at least one limit other than the model list is set. */
    public boolean hasRateLimits() {
        return requestsPerMinute != UNLIMITED || requestsPerDay != UNLIMITED || tokensPerDay != UNLIMITED
                || maxConcurrency != UNLIMITED;
    }

    /**
     * Whether {@code model} may be called. A {@code null}, empty or {@code "*"} model (calls that name none, such as
     * model lists) is always allowed. Allocates only when the list is not empty and the name carries the
     * {@code models/} prefix.
     *
     * @param model a model name, with or without the {@code models/} prefix
     */
    public boolean isModelAllowed(String model) {
        if (allowedModels.isEmpty() || model == null || model.isEmpty() || "*".equals(model)) {
            return true;
        }
        String m = model.startsWith(MODELS_PREFIX) ? model.substring(MODELS_PREFIX.length()) : model;
        if (allowedModels.contains(m)) {
            return true;
        }
        for (String pattern : allowedModels) {
            int last = pattern.length() - 1;
            if (pattern.charAt(last) == '*' && m.regionMatches(0, pattern, 0, last)) {
                return true;
            }
        }
        return false;
    }

    private static void requireLimit(String field, long value) {
        if (value != UNLIMITED && value < 1) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: -1 or >= 1)");
        }
    }

    private static String checkModel(String model) {
        if (model == null) {
            throw new IllegalArgumentException("allowedModels: null entry (expected: a model name)");
        }
        String m = model.startsWith(MODELS_PREFIX) ? model.substring(MODELS_PREFIX.length()) : model;
        if (m.isBlank()) {
            throw new IllegalArgumentException("allowedModels: blank entry (expected: a model name)");
        }
        if (m.length() > MAX_MODEL_NAME) {
            throw new IllegalArgumentException("allowedModels: '" + m.substring(0, 20) + "...' is "
                    + m.length() + " characters (expected: at most " + MAX_MODEL_NAME + ")");
        }
        for (int i = 0; i < m.length(); i++) {
            char c = m.charAt(i);
            if (Character.isWhitespace(c) || Character.isISOControl(c) || (c == '*' && i != m.length() - 1)) {
                throw new IllegalArgumentException("allowedModels: '" + m
                        + "' (expected: a model name without spaces, optionally ending in *)");
            }
        }
        return m;
    }

    /** Builds {@link TokenLimits}; validation happens in {@link #build()}. Not thread-safe. */
    public static final class Builder {
        private int requestsPerMinute;
        private long requestsPerDay;
        private long tokensPerDay;
        private int maxConcurrency;
        private Set<String> allowedModels;
        private long expiresAtMillis;
        private Set<String> keyGroups;

        private Builder(TokenLimits from) {
            requestsPerMinute = from.requestsPerMinute;
            requestsPerDay = from.requestsPerDay;
            tokensPerDay = from.tokensPerDay;
            maxConcurrency = from.maxConcurrency;
            allowedModels = from.allowedModels;
            expiresAtMillis = from.expiresAtMillis;
            keyGroups = from.keyGroups;
        }

        public Builder requestsPerMinute(int value) {
            requestsPerMinute = value;
            return this;
        }

        public Builder requestsPerDay(long value) {
            requestsPerDay = value;
            return this;
        }

        public Builder tokensPerDay(long value) {
            tokensPerDay = value;
            return this;
        }

        public Builder maxConcurrency(int value) {
            maxConcurrency = value;
            return this;
        }

        public Builder allowedModels(Set<String> value) {
            allowedModels = requireNonNull(value, "allowedModels");
            return this;
        }

        public Builder expiresAtMillis(long value) {
            expiresAtMillis = value;
            return this;
        }

        public Builder keyGroups(Set<String> value) {
            keyGroups = requireNonNull(value, "keyGroups");
            return this;
        }

        /** @throws IllegalArgumentException naming the first invalid field */
        public TokenLimits build() {
            return new TokenLimits(requestsPerMinute, requestsPerDay, tokensPerDay, maxConcurrency, allowedModels,
                    expiresAtMillis, keyGroups);
        }
    }
}
