package io.gemgate.core.settings;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.config.GatewayConfig;
import io.gemgate.core.keys.PoolSettings;
import io.gemgate.core.keys.Strategy;
import java.time.Duration;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The settings that change at run time, through {@code PATCH /admin/api/settings}, without a restart. Immutable and
 * validated on construction ({@link SettingsException} naming the field), so an instance that exists can be applied:
 * the gateway keeps the current one in a volatile field and swaps it whole. Durations are kept to the
 * millisecond. Collections are copied into sorted,
 * unmodifiable ones, so that equal settings encode identically.
 *
 * <p>Defaults come from {@link #from(GatewayConfig)}: the pool settings of {@code gateway.yaml}, the rest as in
 * {@link #defaults()}. JSON: {@link SettingsCodec}.
 *
 * @param strategy             how the next key is picked
 * @param maxAttempts          costly failed attempts (5xx, connection failure, timeout, empty answer) one request
 *                             may make before it gives up, 1 to 20; 429s and invalid keys do not count (see
 *                             {@code failoverDeadline})
 * @param rateLimitCooldown    cooldown after a 429 without RetryInfo; doubles on repeats. 1ms to 365d
 * @param rateLimitCooldownMax ceiling of that doubling; at least {@code rateLimitCooldown}, at most 365d
 * @param serverErrorCooldown  cooldown after a 5xx, connect failure or timeout; 0 to 365d
 * @param probeInterval        a key set aside as invalid or failing is probed (a cheap call) this long after it was
 *                             set aside, and again at this interval while it fails; 10s to 7d, default 5m
 * @param failoverMaxWait      when every key is cooling down but one frees within this, the request waits for it
 *                             (on a timer) instead of failing with 429; 0 (never wait, the default) to 60s
 * @param streamMode           how the OpenAI routes call Gemini
 * @param defaultThinking      thinking level for requests that set none
 * @param systemInstruction    text put before every request's own system instruction; empty = none. At most
 *                             {@value #MAX_SYSTEM_INSTRUCTION} characters
 * @param allowedModels        models clients may call, after alias resolution; empty = all. Names without
 *                             {@code models/} (stripped if given); a trailing {@code *} matches by prefix
 * @param modelAliases         alias → model, resolved once (an alias may not point at another alias); when
 *                             {@code allowedModels} is set, every target must be allowed. An alias name with
 *                             {@code *} is a pattern ({@code claude-*opus*}), used when no exact name matches
 * @param keyBudgets           model → what one key may be sent for it; the model {@value #ANY_MODEL} applies to
 *                             models without an entry of their own
 * @param probeAfterServerErrors a key whose calls end this many times in a row in a 5xx, connect failure or timeout
 *                             is set aside and probed after {@code probeInterval} instead of taking more client
 *                             traffic; 0 (off) to {@value #MAX_SERVER_ERRORS}, default 3
 * @param removeAfterBadDays   a key bad this many quota days in a row is soft-removed (see {@code KeyCleanup});
 *                             0 (off) to {@value #MAX_BAD_DAYS}, default 3
 * @param minChecksPerDay      failed calls and probes that make a day without any success a bad day; 1 to
 *                             {@value #MAX_CHECKS_PER_DAY}, default 3
 * @param failoverDeadline     a request tries keys that can serve until one does, none is left, or this long after
 *                             it arrived; 1s to 10m, default 30s ({@code failover.deadline} in {@code gateway.yaml})
 * @param modelGroups          model pattern → the key groups its requests use ({@code group=} in the keys file);
 *                             a pattern is a model name, a prefix ending in {@code *}, or {@code *} alone for every
 *                             other model; the group {@value #ANY_MODEL} stands for every key. The exact name wins,
 *                             then the longest prefix, then {@code *}; a model no pattern matches uses every key
 */
public record RuntimeSettings(Strategy strategy, int maxAttempts, Duration rateLimitCooldown,
                              Duration rateLimitCooldownMax, Duration serverErrorCooldown, Duration probeInterval,
                              Duration failoverMaxWait, StreamMode streamMode, Thinking defaultThinking,
                              String systemInstruction, Set<String> allowedModels, Map<String, String> modelAliases,
                              Map<String, KeyBudget> keyBudgets, int probeAfterServerErrors,
                              int removeAfterBadDays, int minChecksPerDay, Duration failoverDeadline,
                              Map<String, Set<String>> modelGroups) {

    /** Longest {@link #systemInstruction}. */
    public static final int MAX_SYSTEM_INSTRUCTION = 100_000;
    /** Most entries in each of {@link #allowedModels}, {@link #modelAliases} and {@link #keyBudgets}. */
    public static final int MAX_ENTRIES = 1_000;
    /** Longest model name or alias. */
    public static final int MAX_MODEL_NAME = 200;
    /** The {@link #keyBudgets} key that applies to every model without an entry. */
    public static final String ANY_MODEL = "*";

    /** Largest {@link #probeAfterServerErrors}. */
    public static final int MAX_SERVER_ERRORS = 1_000;
    /** Largest {@link #removeAfterBadDays}: the days of health history a key keeps. */
    public static final int MAX_BAD_DAYS = io.gemgate.core.keys.KeyHealthHistory.DAYS;
    /** Largest {@link #minChecksPerDay}. */
    public static final int MAX_CHECKS_PER_DAY = 100_000;

    static final Duration MAX_DURATION = Duration.ofDays(365);
    static final Duration MIN_PROBE_INTERVAL = Duration.ofSeconds(10);
    static final Duration MAX_PROBE_INTERVAL = Duration.ofDays(7);
    static final Duration MAX_FAILOVER_WAIT = Duration.ofSeconds(60);
    static final Duration MIN_FAILOVER_DEADLINE = Duration.ofSeconds(1);
    static final Duration MAX_FAILOVER_DEADLINE = Duration.ofMinutes(10);

    private static final String MODELS_PREFIX = "models/";
    private static final RuntimeSettings DEFAULTS = new RuntimeSettings(Strategy.ROUND_ROBIN, 3,
            Duration.ofSeconds(60), Duration.ofMinutes(15), Duration.ofSeconds(5), Duration.ofMinutes(5),
            Duration.ZERO, StreamMode.AUTO, Thinking.AUTO, "", Set.of(), Map.of(), Map.of(), 3, 3, 3,
            Duration.ofSeconds(30), Map.of());

    /**
     * Validates every field and copies the collections.
     *
     * @throws SettingsException naming the first invalid field
     */
    public RuntimeSettings {
        required("strategy", strategy);
        if (maxAttempts < 1 || maxAttempts > 20) {
            throw new SettingsException("maxAttempts", maxAttempts + " (expected: 1 to 20)");
        }
        rateLimitCooldown = between("rateLimitCooldown", rateLimitCooldown, Duration.ofMillis(1), MAX_DURATION);
        rateLimitCooldownMax = between("rateLimitCooldownMax", rateLimitCooldownMax, Duration.ofMillis(1),
                MAX_DURATION);
        if (rateLimitCooldownMax.compareTo(rateLimitCooldown) < 0) {
            throw new SettingsException("rateLimitCooldownMax", SettingsCodec.formatDuration(rateLimitCooldownMax)
                    + " (expected: >= rateLimitCooldown, " + SettingsCodec.formatDuration(rateLimitCooldown) + ")");
        }
        serverErrorCooldown = between("serverErrorCooldown", serverErrorCooldown, Duration.ZERO, MAX_DURATION);
        probeInterval = between("probeInterval", probeInterval, MIN_PROBE_INTERVAL, MAX_PROBE_INTERVAL);
        failoverMaxWait = between("failoverMaxWait", failoverMaxWait, Duration.ZERO, MAX_FAILOVER_WAIT);
        required("streamMode", streamMode);
        required("defaultThinking", defaultThinking);
        required("systemInstruction", systemInstruction);
        if (systemInstruction.length() > MAX_SYSTEM_INSTRUCTION) {
            throw new SettingsException("systemInstruction", systemInstruction.length()
                    + " characters (expected: at most " + MAX_SYSTEM_INSTRUCTION + ")");
        }
        allowedModels = copyModels(required("allowedModels", allowedModels));
        modelAliases = copyAliases(required("modelAliases", modelAliases), allowedModels);
        keyBudgets = copyBudgets(required("keyBudgets", keyBudgets));
        between("probeAfterServerErrors", probeAfterServerErrors, 0, MAX_SERVER_ERRORS);
        between("removeAfterBadDays", removeAfterBadDays, 0, MAX_BAD_DAYS);
        between("minChecksPerDay", minChecksPerDay, 1, MAX_CHECKS_PER_DAY);
        failoverDeadline = between("failoverDeadline", failoverDeadline, MIN_FAILOVER_DEADLINE,
                MAX_FAILOVER_DEADLINE);
        modelGroups = copyGroups(required("modelGroups", modelGroups));
    }

    /**
     * The built-in defaults: round robin, 3 costly attempts within a 30s failover deadline, cooldowns 60s / 15m / 5s, probe 5m, no wait, a key set aside
     * after 3 server errors in a row and removed after 3 bad days (3 failures without a success each), the rest off.
     */
    public static RuntimeSettings defaults() {
        return DEFAULTS;
    }

    /** The defaults with the pool settings of {@code config} ({@code pool.*} in {@code gateway.yaml}). */
    public static RuntimeSettings from(GatewayConfig config) {
        GatewayConfig.Pool p = config.pool();
        return DEFAULTS.toBuilder().strategy(p.strategy()).maxAttempts(p.maxAttempts())
                .rateLimitCooldown(p.rateLimitCooldown()).rateLimitCooldownMax(p.rateLimitCooldownMax())
                .serverErrorCooldown(p.serverErrorCooldown()).failoverDeadline(p.failoverDeadline()).build();
    }

    /** What the key pool needs of these settings. Never throws: the ranges here are within the pool's. */
    public PoolSettings toPoolSettings() {
        return new PoolSettings(strategy, maxAttempts, rateLimitCooldown.toMillis(), rateLimitCooldownMax.toMillis(),
                serverErrorCooldown.toMillis());
    }

    /** A builder starting from these settings: change some, {@link Builder#build()} validates the whole. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** A builder starting from {@link #defaults()}. */
    public static Builder builder() {
        return new Builder(DEFAULTS);
    }

    /**
     * The model a request for {@code requested} goes to: the alias target, or {@code requested} itself. Strips a
     * {@code models/} prefix only when looking up aliases; the result is what was given when no alias matches.
     */
    public String resolveModel(String requested) {
        if (modelAliases.isEmpty() || requested == null) {
            return requested;
        }
        String target = modelAliases.get(requested);
        if (target == null && requested.startsWith(MODELS_PREFIX)) {
            target = modelAliases.get(requested.substring(MODELS_PREFIX.length()));
        }
        return target != null ? target : requested;
    }

    /**
     * Whether clients may call {@code model} (after {@link #resolveModel}). A {@code null}, empty or {@code "*"}
     * model, for calls that name none, is always allowed.
     */
    public boolean isModelAllowed(String model) {
        if (allowedModels.isEmpty() || model == null || model.isEmpty() || ANY_MODEL.equals(model)) {
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

    /**
     * The key groups requests for {@code model} use ({@link #modelGroups}): the exact entry, else the longest prefix
     * pattern, else the {@value #ANY_MODEL} entry; null when every key may serve (no entry matches, or the entry
     * holds the group {@value #ANY_MODEL}).
     */
    public Set<String> groupsFor(String model) {
        if (modelGroups.isEmpty()) {
            return null;
        }
        String m = model == null ? ANY_MODEL : model.startsWith(MODELS_PREFIX) ? model.substring(MODELS_PREFIX.length())
                : model;
        Set<String> g = modelGroups.get(m);
        if (g == null) {
            int best = -1;
            for (Map.Entry<String, Set<String>> e : modelGroups.entrySet()) {
                String pattern = e.getKey();
                int last = pattern.length() - 1;
                if (last > best && pattern.charAt(last) == '*' && m.regionMatches(0, pattern, 0, last)) {
                    best = last;
                    g = e.getValue();
                }
            }
        }
        return g == null || g.contains(ANY_MODEL) ? null : g;
    }

    /** The per-key budget for {@code model}: its own entry, else the {@value #ANY_MODEL} entry, else none. */
    public KeyBudget budgetFor(String model) {
        if (keyBudgets.isEmpty()) {
            return KeyBudget.NONE;
        }
        KeyBudget b = model == null ? null : keyBudgets.get(model);
        if (b == null) {
            b = keyBudgets.get(ANY_MODEL);
        }
        return b != null ? b : KeyBudget.NONE;
    }

    // ------------------------------------------------------------------------------------------------ validation

    private static <T> T required(String field, T value) {
        if (value == null) {
            throw new SettingsException(field, "missing");
        }
        return value;
    }

    /** Checks the range and truncates to whole milliseconds, the precision of the pool and of the JSON form. */
    private static Duration between(String field, Duration d, Duration min, Duration max) {
        required(field, d);
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw new SettingsException(field, SettingsCodec.formatDuration(d) + " (expected: "
                    + SettingsCodec.formatDuration(min) + " to " + SettingsCodec.formatDuration(max) + ")");
        }
        return d.getNano() % 1_000_000 == 0 ? d : Duration.ofMillis(d.toMillis());
    }

    private static void between(String field, int value, int min, int max) {
        if (value < min || value > max) {
            throw new SettingsException(field, value + " (expected: " + min + " to " + max + ")");
        }
    }

    private static Set<String> copyModels(Set<String> models) {
        checkSize("allowedModels", models.size());
        TreeSet<String> out = new TreeSet<>();
        for (String m : models) {
            out.add(modelName("allowedModels", m, true));
        }
        return Collections.unmodifiableSortedSet(out);
    }

    private static Map<String, String> copyAliases(Map<String, String> aliases, Set<String> allowed) {
        checkSize("modelAliases", aliases.size());
        TreeMap<String, String> out = new TreeMap<>();
        for (Map.Entry<String, String> e : aliases.entrySet()) {
            String alias = aliasName(e.getKey());
            String field = "modelAliases." + alias;
            out.put(alias, modelName(field, e.getValue(), false));
        }
        for (Map.Entry<String, String> e : out.entrySet()) {
            String field = "modelAliases." + e.getKey();
            if (e.getKey().equals(e.getValue())) {
                throw new SettingsException(field, "points at itself");
            }
            if (out.containsKey(e.getValue())) {
                throw new SettingsException(field, "target '" + e.getValue()
                        + "' is itself an alias (expected: a model)");
            }
            if (!allowed.isEmpty() && !allowedBy(allowed, e.getValue())) {
                throw new SettingsException(field, "target '" + e.getValue() + "' is not in allowedModels");
            }
        }
        return Collections.unmodifiableSortedMap(out);
    }

    /**
     * An alias's name: a model name, or a pattern with {@code *} standing for any run of characters (see
     * {@code ModelResolver}), checked as a name with its stars replaced.
     */
    private static String aliasName(String key) {
        if (key == null || key.indexOf('*') < 0 || key.replace("*", "").isBlank()) {
            return modelName("modelAliases", key, false);
        }
        modelName("modelAliases", key.replace('*', 'x'), false);
        return key.startsWith(MODELS_PREFIX) ? key.substring(MODELS_PREFIX.length()) : key;
    }

    private static boolean allowedBy(Set<String> allowed, String model) {
        if (allowed.contains(model)) {
            return true;
        }
        for (String pattern : allowed) {
            int last = pattern.length() - 1;
            if (pattern.charAt(last) == '*' && model.regionMatches(0, pattern, 0, last)) {
                return true;
            }
        }
        return false;
    }

    private static Map<String, KeyBudget> copyBudgets(Map<String, KeyBudget> budgets) {
        checkSize("keyBudgets", budgets.size());
        TreeMap<String, KeyBudget> out = new TreeMap<>();
        for (Map.Entry<String, KeyBudget> e : budgets.entrySet()) {
            String model = ANY_MODEL.equals(e.getKey()) ? ANY_MODEL : modelName("keyBudgets", e.getKey(), false);
            out.put(model, required("keyBudgets." + model, e.getValue()));
        }
        return Collections.unmodifiableSortedMap(out);
    }

    private static Map<String, Set<String>> copyGroups(Map<String, Set<String>> groups) {
        checkSize("modelGroups", groups.size());
        TreeMap<String, Set<String>> out = new TreeMap<>();
        for (Map.Entry<String, Set<String>> e : groups.entrySet()) {
            String pattern = ANY_MODEL.equals(e.getKey()) ? ANY_MODEL : modelName("modelGroups", e.getKey(), true);
            String field = "modelGroups." + pattern;
            Set<String> names = required(field, e.getValue());
            if (names.isEmpty()) {
                throw new SettingsException(field, "no group (expected: group names, or \"*\" for every key)");
            }
            TreeSet<String> copy = new TreeSet<>();
            for (String g : names) {
                if (ANY_MODEL.equals(g)) {
                    copy.add(g);
                    continue;
                }
                try {
                    copy.add(io.gemgate.core.keys.KeySpec.checkGroup(g));
                } catch (IllegalArgumentException ex) {
                    throw new SettingsException(field, ex.getMessage().substring("group: ".length()));
                }
            }
            out.put(pattern, Collections.unmodifiableSortedSet(copy));
        }
        return Collections.unmodifiableSortedMap(out);
    }

    private static void checkSize(String field, int size) {
        if (size > MAX_ENTRIES) {
            throw new SettingsException(field, size + " entries (expected: at most " + MAX_ENTRIES + ")");
        }
    }

    /** A model name without {@code models/}; {@code pattern}: may end in {@code *}. */
    static String modelName(String field, String name, boolean pattern) {
        if (name == null) {
            throw new SettingsException(field, "null (expected: a model name)");
        }
        String m = name.startsWith(MODELS_PREFIX) ? name.substring(MODELS_PREFIX.length()) : name;
        if (m.isBlank()) {
            throw new SettingsException(field, "blank entry (expected: a model name)");
        }
        if (m.length() > MAX_MODEL_NAME) {
            throw new SettingsException(field, "'" + m.substring(0, 20) + "...' is " + m.length()
                    + " characters (expected: at most " + MAX_MODEL_NAME + ")");
        }
        for (int i = 0; i < m.length(); i++) {
            char c = m.charAt(i);
            boolean star = c == '*' && (!pattern || i != m.length() - 1);
            if (Character.isWhitespace(c) || Character.isISOControl(c) || star) {
                throw new SettingsException(field, "'" + m + "' (expected: a model name without spaces"
                        + (pattern ? ", optionally ending in *)" : ")"));
            }
        }
        return m;
    }

    /** Builds {@link RuntimeSettings}; validation happens in {@link #build()}. Not thread-safe. */
    public static final class Builder {
        private Strategy strategy;
        private int maxAttempts;
        private Duration rateLimitCooldown;
        private Duration rateLimitCooldownMax;
        private Duration serverErrorCooldown;
        private Duration probeInterval;
        private Duration failoverMaxWait;
        private StreamMode streamMode;
        private Thinking defaultThinking;
        private String systemInstruction;
        private Set<String> allowedModels;
        private Map<String, String> modelAliases;
        private Map<String, KeyBudget> keyBudgets;
        private int probeAfterServerErrors;
        private int removeAfterBadDays;
        private int minChecksPerDay;
        private Duration failoverDeadline;
        private Map<String, Set<String>> modelGroups;

        private Builder(RuntimeSettings s) {
            strategy = s.strategy;
            maxAttempts = s.maxAttempts;
            rateLimitCooldown = s.rateLimitCooldown;
            rateLimitCooldownMax = s.rateLimitCooldownMax;
            serverErrorCooldown = s.serverErrorCooldown;
            probeInterval = s.probeInterval;
            failoverMaxWait = s.failoverMaxWait;
            streamMode = s.streamMode;
            defaultThinking = s.defaultThinking;
            systemInstruction = s.systemInstruction;
            allowedModels = s.allowedModels;
            modelAliases = s.modelAliases;
            keyBudgets = s.keyBudgets;
            probeAfterServerErrors = s.probeAfterServerErrors;
            removeAfterBadDays = s.removeAfterBadDays;
            minChecksPerDay = s.minChecksPerDay;
            failoverDeadline = s.failoverDeadline;
            modelGroups = s.modelGroups;
        }

        public Builder strategy(Strategy value) {
            strategy = value;
            return this;
        }

        public Builder maxAttempts(int value) {
            maxAttempts = value;
            return this;
        }

        public Builder rateLimitCooldown(Duration value) {
            rateLimitCooldown = value;
            return this;
        }

        public Builder rateLimitCooldownMax(Duration value) {
            rateLimitCooldownMax = value;
            return this;
        }

        public Builder serverErrorCooldown(Duration value) {
            serverErrorCooldown = value;
            return this;
        }

        public Builder probeInterval(Duration value) {
            probeInterval = value;
            return this;
        }

        public Builder failoverMaxWait(Duration value) {
            failoverMaxWait = value;
            return this;
        }

        public Builder streamMode(StreamMode value) {
            streamMode = value;
            return this;
        }

        public Builder defaultThinking(Thinking value) {
            defaultThinking = value;
            return this;
        }

        public Builder systemInstruction(String value) {
            systemInstruction = value;
            return this;
        }

        public Builder allowedModels(Set<String> value) {
            allowedModels = value;
            return this;
        }

        public Builder modelAliases(Map<String, String> value) {
            modelAliases = value;
            return this;
        }

        public Builder keyBudgets(Map<String, KeyBudget> value) {
            keyBudgets = value;
            return this;
        }

        public Builder probeAfterServerErrors(int value) {
            probeAfterServerErrors = value;
            return this;
        }

        public Builder removeAfterBadDays(int value) {
            removeAfterBadDays = value;
            return this;
        }

        public Builder minChecksPerDay(int value) {
            minChecksPerDay = value;
            return this;
        }

        public Builder failoverDeadline(Duration value) {
            failoverDeadline = value;
            return this;
        }

        public Builder modelGroups(Map<String, Set<String>> value) {
            modelGroups = value;
            return this;
        }

        /** @throws SettingsException naming the first invalid field */
        public RuntimeSettings build() {
            return new RuntimeSettings(strategy, maxAttempts, rateLimitCooldown, rateLimitCooldownMax,
                    serverErrorCooldown, probeInterval, failoverMaxWait, streamMode, defaultThinking,
                    systemInstruction, allowedModels, modelAliases, keyBudgets, probeAfterServerErrors,
                    removeAfterBadDays, minChecksPerDay, failoverDeadline, modelGroups);
        }
    }
}
