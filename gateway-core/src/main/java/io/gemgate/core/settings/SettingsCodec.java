package io.gemgate.core.settings;

import io.gemgate.core.json.JsonTokens;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.gemgate.core.json.Databind;
import io.gemgate.core.keys.KeySpec;
import io.gemgate.core.keys.Strategy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@link RuntimeSettings} as JSON: what {@code GET /admin/api/settings} answers, what {@code PATCH} accepts, and what
 * the state file or a shared store keeps.
 *
 * <h2>Format</h2>
 * <pre>{@code
 * {"strategy":"round_robin","maxAttempts":3,"rateLimitCooldown":"1m","rateLimitCooldownMax":"15m",
 *  "serverErrorCooldown":"5s","probeInterval":"5m","failoverMaxWait":"0s","failoverDeadline":"30s",
 *  "streamMode":"auto","defaultThinking":"auto","systemInstruction":"","allowedModels":["gemini-2.5-flash"],
 *  "modelAliases":{"fast":"gemini-2.5-flash"},"keyBudgets":{"*":{"rpm":10,"tpm":250000,"rpd":250}},
 *  "probeAfterServerErrors":3,"removeAfterBadDays":3,"minChecksPerDay":3,
 *  "modelGroups":{"*":["free"],"gemini-2.5-pro*":["paid"]}}
 * }</pre>
 * Field names are the {@link RuntimeSettings} component names, always in this order; collections are sorted.
 * Durations are written in their largest exact unit ({@code 500ms}, {@code 90s}, {@code 15m}, {@code 2h},
 * {@code 1d}) and read in the grammar of {@code gateway.yaml}: digits with an optional unit {@code ms}, {@code s},
 * {@code m}, {@code h} or {@code d}, a bare number meaning seconds; a JSON integer is a number of seconds too.
 * Enums use their wire names ({@link Strategy#wireName()}, {@link StreamMode#wireName()},
 * {@link Thinking#wireName()}), read case-insensitively.
 *
 * <h2>Patching</h2>
 * {@link #patch} takes a JSON object holding any subset of the fields. Each field present replaces that setting
 * whole: {@code allowedModels}, {@code modelAliases} and {@code keyBudgets} are replaced, not merged, so send the
 * complete new value ({@code []} or {@code {}} to clear). In a {@code keyBudgets} entry, a missing {@code rpm},
 * {@code tpm} or {@code rpd} is -1 (unlimited). {@code null} is refused everywhere. The patch is all or nothing: the
 * first unknown field, wrong type, bad value, duplicate field or cross-field violation throws a
 * {@link SettingsException} naming the field, and nothing is applied.
 *
 * <h2>Persisting</h2>
 * Only settings changed at run time are worth keeping: {@link #encodeOverrides} writes the fields that differ from
 * the defaults, and {@link #decodeOverrides} applies them to the defaults of the next start, so that a value changed
 * in {@code gateway.yaml} later still takes effect unless it was overridden live. Unknown fields are skipped there
 * (a newer version wrote them).
 *
 * <h2>Implementation</h2>
 * The document is one record ({@code SettingsJson}, a nullable component per field, null meaning "not given")
 * bound by jackson-databind ({@link Databind}); its values are then checked and applied one by one through
 * {@link RuntimeSettings.Builder}, so that every refusal names its field as before.
 *
 * <p>Thread-safe: the mapper is configured once, then only used.
 */
public final class SettingsCodec {

    /** Every field, in encoding order. */
    public static final List<String> FIELDS = List.of("strategy", "maxAttempts", "rateLimitCooldown",
            "rateLimitCooldownMax", "serverErrorCooldown", "probeInterval", "failoverMaxWait", "failoverDeadline",
            "streamMode", "defaultThinking", "systemInstruction", "allowedModels", "modelAliases", "keyBudgets",
            "probeAfterServerErrors", "removeAfterBadDays", "minChecksPerDay", "modelGroups");

    private static final ObjectMapper MAPPER = Databind.newMapper();
    private static final Pattern DURATION = Pattern.compile("(\\d{1,18})(ms|s|m|h|d)?");
    private static final String DURATION_EXPECTED =
            "a duration such as 500ms, 30s, 5m, 2h, 1d, or a number of seconds";
    private static final long[] UNIT_MILLIS = {86_400_000L, 3_600_000L, 60_000L, 1000L};
    private static final String[] UNIT_NAMES = {"d", "h", "m", "s"};
    private static final String BUDGET_RANGE = "-1 or >= 1";
    private static final List<String> BUDGET_FIELDS = List.of("rpm", "tpm", "rpd");

    private SettingsCodec() {
    }

    /**
     * The JSON document, a component per field in {@link #FIELDS} order; null = not given (not written, not
     * changed). Durations are a string or a number of seconds, hence a tree; a group list may be a single string.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    private record SettingsJson(String strategy, Long maxAttempts, JsonNode rateLimitCooldown,
                                JsonNode rateLimitCooldownMax, JsonNode serverErrorCooldown, JsonNode probeInterval,
                                JsonNode failoverMaxWait, JsonNode failoverDeadline, String streamMode,
                                String defaultThinking, String systemInstruction, List<String> allowedModels,
                                Map<String, String> modelAliases, Map<String, BudgetJson> keyBudgets,
                                Long probeAfterServerErrors, Long removeAfterBadDays, Long minChecksPerDay,
                                Map<String, JsonNode> modelGroups) {

        /** The settings of {@code s}; with a {@code base}, only those that differ from it. */
        static SettingsJson of(RuntimeSettings s, RuntimeSettings base) {
            return new SettingsJson(
                    changed(s, base, RuntimeSettings::strategy, Strategy::wireName),
                    changed(s, base, RuntimeSettings::maxAttempts, Integer::longValue),
                    changed(s, base, RuntimeSettings::rateLimitCooldown, SettingsCodec::durationNode),
                    changed(s, base, RuntimeSettings::rateLimitCooldownMax, SettingsCodec::durationNode),
                    changed(s, base, RuntimeSettings::serverErrorCooldown, SettingsCodec::durationNode),
                    changed(s, base, RuntimeSettings::probeInterval, SettingsCodec::durationNode),
                    changed(s, base, RuntimeSettings::failoverMaxWait, SettingsCodec::durationNode),
                    changed(s, base, RuntimeSettings::failoverDeadline, SettingsCodec::durationNode),
                    changed(s, base, RuntimeSettings::streamMode, StreamMode::wireName),
                    changed(s, base, RuntimeSettings::defaultThinking, Thinking::wireName),
                    changed(s, base, RuntimeSettings::systemInstruction, Function.identity()),
                    changed(s, base, RuntimeSettings::allowedModels, List::copyOf),
                    changed(s, base, RuntimeSettings::modelAliases, Function.identity()),
                    changed(s, base, RuntimeSettings::keyBudgets, SettingsCodec::budgetsJson),
                    changed(s, base, RuntimeSettings::probeAfterServerErrors, Integer::longValue),
                    changed(s, base, RuntimeSettings::removeAfterBadDays, Integer::longValue),
                    changed(s, base, RuntimeSettings::minChecksPerDay, Integer::longValue),
                    changed(s, base, RuntimeSettings::modelGroups, SettingsCodec::groupsJson));
        }

        private static <T, W> W changed(RuntimeSettings s, RuntimeSettings base, Function<RuntimeSettings, T> get,
                                        Function<T, W> wire) {
            T value = get.apply(s);
            return base != null && value.equals(get.apply(base)) ? null : wire.apply(value);
        }
    }

    /** One {@code keyBudgets} entry; a missing value is -1 (unlimited); no other field is accepted. */
    private record BudgetJson(Long rpm, Long tpm, Long rpd) {
        KeyBudget toBudget() {
            return new KeyBudget(rpm == null ? KeyBudget.UNLIMITED : rpm, tpm == null ? KeyBudget.UNLIMITED : tpm,
                    rpd == null ? KeyBudget.UNLIMITED : rpd);
        }
    }

    // ------------------------------------------------------------------------------------------------------ encode

    /** Every setting, as compact UTF-8 JSON. */
    public static byte[] encode(RuntimeSettings s) {
        return write(SettingsJson.of(requireNonNull(s, "settings"), null));
    }

    /**
     * The settings of {@code current} that differ from {@code defaults}: what to persist. {@code {}} when none does.
     */
    public static byte[] encodeOverrides(RuntimeSettings current, RuntimeSettings defaults) {
        return write(SettingsJson.of(requireNonNull(current, "current"), requireNonNull(defaults, "defaults")));
    }

    private static byte[] write(SettingsJson json) {
        try {
            return MAPPER.writeValueAsBytes(json);
        } catch (JacksonException e) {
            throw new UncheckedIOException("encoding settings in memory", e); // cannot happen with a record
        }
    }

    private static JsonNode durationNode(Duration d) {
        return TextNode.valueOf(formatDuration(d));
    }

    private static Map<String, BudgetJson> budgetsJson(Map<String, KeyBudget> budgets) {
        Map<String, BudgetJson> out = new LinkedHashMap<>();
        budgets.forEach((model, b) -> out.put(model, new BudgetJson(b.rpm(), b.tpm(), b.rpd())));
        return out;
    }

    private static Map<String, JsonNode> groupsJson(Map<String, Set<String>> groups) {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        groups.forEach((pattern, names) -> out.put(pattern, MAPPER.valueToTree(names)));
        return out;
    }

    // ------------------------------------------------------------------------------------------------------ decode

    /**
     * Applies a partial JSON object to {@code current}, all or nothing (see the class documentation).
     *
     * @param current the settings in force
     * @param json    the request body
     * @return the new settings; {@code current} itself is immutable and unchanged
     * @throws SettingsException naming the first refused field ({@link SettingsException#field()} is empty when the
     *                           body is not a JSON object)
     */
    public static RuntimeSettings patch(RuntimeSettings current, byte[] json) {
        return read(requireNonNull(current, "current"), json, true);
    }

    /**
     * Reads what {@link #encodeOverrides} wrote, on top of {@code defaults}. Unknown fields are skipped.
     *
     * @throws SettingsException when a known field is invalid; the caller logs it and keeps the defaults
     */
    public static RuntimeSettings decodeOverrides(RuntimeSettings defaults, byte[] json) {
        return read(requireNonNull(defaults, "defaults"), json, false);
    }

    private static RuntimeSettings read(RuntimeSettings base, byte[] json, boolean strict) {
        if (json == null || json.length == 0) {
            throw new SettingsException("", "empty body (expected: a JSON object)");
        }
        try {
            Databind.Document d = Databind.read(MAPPER, json);
            if (d.first() != JsonToken.START_OBJECT) {
                throw new SettingsException("", (d.first() == null ? "empty body" : JsonTokens.describe(d.first()))
                        + " (expected: a JSON object)");
            }
            if (d.trailing() != null) {
                throw new SettingsException("", JsonTokens.describe(d.trailing())
                        + " after the object (expected: one JSON object)");
            }
            checkFields((ObjectNode) d.root(), strict);
            return apply(base.toBuilder(), MAPPER.treeToValue(d.root(), SettingsJson.class));
        } catch (JacksonException e) {
            throw refusal(Databind.problem(e));
        } catch (IOException e) {
            throw new UncheckedIOException("reading settings from memory", e); // cannot happen with a byte array
        }
    }

    /**
     * What binding does not refuse: unknown settings (refused by a patch, skipped otherwise), nulls (databind would
     * read them as "not given") and unknown fields of a {@code keyBudgets} entry (refused always).
     */
    private static void checkFields(ObjectNode object, boolean strict) {
        for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String field = e.getKey();
            if (!FIELDS.contains(field)) {
                if (strict) {
                    throw new SettingsException(field, "unknown setting (expected one of: "
                            + String.join(", ", FIELDS) + ")");
                }
            } else if (e.getValue().isNull()) {
                throw new SettingsException(field, "null (expected: a value; null is not accepted)");
            } else if (field.equals("keyBudgets")) {
                e.getValue().fields().forEachRemaining(budget -> budget.getValue().fieldNames().forEachRemaining(
                        name -> {
                            if (!BUDGET_FIELDS.contains(name)) {
                                throw new SettingsException("keyBudgets." + budget.getKey() + "." + name,
                                        "unknown field (expected: rpm, tpm or rpd)");
                            }
                        }));
            }
        }
    }

    private static RuntimeSettings apply(RuntimeSettings.Builder b, SettingsJson j) {
        if (j.strategy() != null) {
            b.strategy(parse("strategy", j.strategy(), Strategy::parse));
        }
        if (j.maxAttempts() != null) {
            b.maxAttempts((int) range("maxAttempts", j.maxAttempts(), 1, 20));
        }
        if (j.rateLimitCooldown() != null) {
            b.rateLimitCooldown(duration("rateLimitCooldown", j.rateLimitCooldown()));
        }
        if (j.rateLimitCooldownMax() != null) {
            b.rateLimitCooldownMax(duration("rateLimitCooldownMax", j.rateLimitCooldownMax()));
        }
        if (j.serverErrorCooldown() != null) {
            b.serverErrorCooldown(duration("serverErrorCooldown", j.serverErrorCooldown()));
        }
        if (j.probeInterval() != null) {
            b.probeInterval(duration("probeInterval", j.probeInterval()));
        }
        if (j.failoverMaxWait() != null) {
            b.failoverMaxWait(duration("failoverMaxWait", j.failoverMaxWait()));
        }
        if (j.failoverDeadline() != null) {
            b.failoverDeadline(duration("failoverDeadline", j.failoverDeadline()));
        }
        if (j.streamMode() != null) {
            b.streamMode(parse("streamMode", j.streamMode(), StreamMode::parse));
        }
        if (j.defaultThinking() != null) {
            b.defaultThinking(parse("defaultThinking", j.defaultThinking(), Thinking::parse));
        }
        if (j.systemInstruction() != null) {
            b.systemInstruction(j.systemInstruction());
        }
        if (j.allowedModels() != null) {
            b.allowedModels(new LinkedHashSet<>(entries("allowedModels", j.allowedModels())));
        }
        if (j.modelAliases() != null) {
            b.modelAliases(entries("modelAliases", j.modelAliases()));
        }
        if (j.keyBudgets() != null) {
            Map<String, KeyBudget> budgets = new LinkedHashMap<>();
            entries("keyBudgets", j.keyBudgets()).forEach((model, budget) -> {
                try {
                    budgets.put(model, budget.toBudget());
                } catch (SettingsException e) {
                    throw e.within("keyBudgets." + model);
                }
            });
            b.keyBudgets(budgets);
        }
        if (j.probeAfterServerErrors() != null) {
            b.probeAfterServerErrors((int) range("probeAfterServerErrors", j.probeAfterServerErrors(), 0,
                    RuntimeSettings.MAX_SERVER_ERRORS));
        }
        if (j.removeAfterBadDays() != null) {
            b.removeAfterBadDays((int) range("removeAfterBadDays", j.removeAfterBadDays(), 0,
                    RuntimeSettings.MAX_BAD_DAYS));
        }
        if (j.minChecksPerDay() != null) {
            b.minChecksPerDay((int) range("minChecksPerDay", j.minChecksPerDay(), 1,
                    RuntimeSettings.MAX_CHECKS_PER_DAY));
        }
        if (j.modelGroups() != null) {
            Map<String, Set<String>> groups = new LinkedHashMap<>();
            entries("modelGroups", j.modelGroups()).forEach((pattern, names) ->
                    groups.put(pattern, groupNames("modelGroups." + pattern, names)));
            b.modelGroups(groups);
        }
        return b.build();
    }

    /** {@code ["group",..]}, or a single group as a string. */
    private static Set<String> groupNames(String entry, JsonNode names) {
        Set<String> out = new LinkedHashSet<>();
        if (names.isTextual()) {
            out.add(names.textValue());
            return out;
        }
        if (!names.isArray()) {
            throw wrongType(entry, names.asToken(), "an array of group names");
        }
        for (JsonNode name : names) {
            if (!name.isTextual()) {
                throw wrongType(entry + "[" + out.size() + "]", name.asToken(), "a group name");
            }
            out.add(name.textValue());
            if (out.size() > KeySpec.MAX_GROUPS) {
                throw new SettingsException(entry, "more than " + KeySpec.MAX_GROUPS + " groups");
            }
        }
        return out;
    }

    private static <C> C entries(String field, C collection) {
        int n = collection instanceof Map<?, ?> m ? m.size() : ((List<?>) collection).size();
        if (n > RuntimeSettings.MAX_ENTRIES) {
            throw new SettingsException(field, "more than " + RuntimeSettings.MAX_ENTRIES + " entries");
        }
        return collection;
    }

    private static long range(String field, long v, long min, long max) {
        if (v < min || v > max) {
            throw new SettingsException(field, v + " (expected: " + min + " to " + max + ")");
        }
        return v;
    }

    private static Duration duration(String field, JsonNode value) {
        if (value.isTextual()) {
            return parseDuration(field, value.textValue());
        }
        if (!value.isIntegralNumber()) {
            throw wrongType(field, value.asToken(), DURATION_EXPECTED);
        }
        if (!value.canConvertToLong() || value.longValue() < 0) {
            throw new SettingsException(field, value.asText() + " (expected: " + DURATION_EXPECTED + ")");
        }
        return saturatedMillis(value.longValue(), 1000);
    }

    /** A databind problem in this class's words: {@code "maxAttempts: a string (expected: an integer)"}. */
    private static SettingsException refusal(Databind.Problem p) {
        String field = p.path();
        return switch (p.kind()) {
            case TRUNCATED, MALFORMED -> new SettingsException("", "malformed JSON: " + p.detail() + " at line "
                    + p.line() + " column " + p.column());
            case WRONG_TYPE -> wrongType(field, p.found(), expected(field, p));
            case OUT_OF_RANGE -> new SettingsException(field, p.detail() + " (expected: " + switch (field) {
                case "maxAttempts" -> "1 to 20";
                case "probeAfterServerErrors" -> "0 to " + RuntimeSettings.MAX_SERVER_ERRORS;
                case "removeAfterBadDays" -> "0 to " + RuntimeSettings.MAX_BAD_DAYS;
                case "minChecksPerDay" -> "1 to " + RuntimeSettings.MAX_CHECKS_PER_DAY;
                default -> BUDGET_RANGE;
            } + ")");
            case INVALID -> new SettingsException(field, p.detail());
        };
    }

    /** What a field or an element takes, in the words of the class documentation. */
    private static String expected(String path, Databind.Problem p) {
        Class<?> target = p.target();
        if (target == BudgetJson.class) {
            return "an object with rpm, tpm and rpd";
        }
        if (path.equals("allowedModels")) {
            return "an array of model names";
        }
        if (path.equals("modelAliases")) {
            return "an object of alias to model";
        }
        if (path.equals("keyBudgets")) {
            return "an object of model to {rpm, tpm, rpd}";
        }
        if (path.equals("modelGroups")) {
            return "an object of model pattern to groups";
        }
        if (target == String.class && (path.startsWith("allowedModels[") || path.startsWith("modelAliases."))) {
            return "a model name";
        }
        return p.expected();
    }

    private interface Parser<T> {
        T parse(String text);
    }

    private static <T> T parse(String field, String text, Parser<T> parser) {
        try {
            return parser.parse(text);
        } catch (IllegalArgumentException e) {
            String m = e.getMessage();
            // Strategy.parse says "unknown strategy '...' (expected: ...)"; keep only the value and expectation
            int quote = m.indexOf('\'');
            throw new SettingsException(field, quote >= 0 ? m.substring(quote) : m);
        }
    }

    private static SettingsException wrongType(String field, JsonToken t, String expected) {
        return new SettingsException(field, JsonTokens.describe(t) + " (expected: " + expected + ")");
    }

    // --------------------------------------------------------------------------------------------------- durations

    /**
     * Parses {@code 500ms}, {@code 30s}, {@code 5m}, {@code 2h}, {@code 1d}, or a bare number of seconds, as
     * {@code gateway.yaml} does. Range checks are the caller's ({@link RuntimeSettings} does them).
     *
     * @param field named in the exception
     * @throws SettingsException if {@code text} is not a duration
     */
    public static Duration parseDuration(String field, String text) {
        Matcher m = DURATION.matcher(text.trim());
        if (!m.matches()) {
            throw new SettingsException(field, "'" + abbreviate(text) + "' (expected: " + DURATION_EXPECTED + ")");
        }
        long unit = m.group(2) == null ? 1000 : switch (m.group(2)) {
            case "ms" -> 1;
            case "s" -> 1000;
            case "m" -> 60_000;
            case "h" -> 3_600_000;
            default -> 86_400_000;
        };
        return saturatedMillis(Long.parseLong(m.group(1)), unit);
    }

    /**
     * {@code d} in its largest exact unit: {@code 0s}, {@code 1500ms}, {@code 90s}, {@code 1m}, {@code 2h},
     * {@code 1d}.
     */
    public static String formatDuration(Duration d) {
        long ms = d.toMillis();
        if (ms == 0) {
            return "0s";
        }
        for (int i = 0; i < UNIT_MILLIS.length; i++) {
            if (ms % UNIT_MILLIS[i] == 0) {
                return ms / UNIT_MILLIS[i] + UNIT_NAMES[i];
            }
        }
        return ms + "ms";
    }

    private static Duration saturatedMillis(long n, long unitMillis) {
        long ms = n > Long.MAX_VALUE / unitMillis ? Long.MAX_VALUE : n * unitMillis;
        return Duration.ofMillis(ms);
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }
}
