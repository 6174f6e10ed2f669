package io.gemgate.core.settings;

import io.gemgate.core.json.JsonTokens;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import io.gemgate.core.keys.Strategy;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * <p>Thread-safe: the class is stateless.
 */
public final class SettingsCodec {

    /** Every field, in encoding order. */
    public static final List<String> FIELDS = List.of("strategy", "maxAttempts", "rateLimitCooldown",
            "rateLimitCooldownMax", "serverErrorCooldown", "probeInterval", "failoverMaxWait", "failoverDeadline",
            "streamMode", "defaultThinking", "systemInstruction", "allowedModels", "modelAliases", "keyBudgets",
            "probeAfterServerErrors", "removeAfterBadDays", "minChecksPerDay", "modelGroups");

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();
    private static final Pattern DURATION = Pattern.compile("(\\d{1,18})(ms|s|m|h|d)?");
    private static final String DURATION_EXPECTED =
            "a duration such as 500ms, 30s, 5m, 2h, 1d, or a number of seconds";
    private static final long[] UNIT_MILLIS = {86_400_000L, 3_600_000L, 60_000L, 1000L};
    private static final String[] UNIT_NAMES = {"d", "h", "m", "s"};

    private SettingsCodec() {
    }

    // ------------------------------------------------------------------------------------------------------ encode

    /** Every setting, as compact UTF-8 JSON. */
    public static byte[] encode(RuntimeSettings s) {
        return write(s, null);
    }

    /**
     * The settings of {@code current} that differ from {@code defaults}: what to persist. {@code {}} when none does.
     */
    public static byte[] encodeOverrides(RuntimeSettings current, RuntimeSettings defaults) {
        return write(current, requireNonNull(defaults, "defaults"));
    }

    /**
     * Writes the overrides ({@link #encodeOverrides}) as one object into a larger document, such as the state file.
     */
    public static void writeOverrides(JsonGenerator g, RuntimeSettings current, RuntimeSettings defaults)
            throws IOException {
        write(g, requireNonNull(current, "current"), requireNonNull(defaults, "defaults"));
    }

    private static byte[] write(RuntimeSettings s, RuntimeSettings base) {
        requireNonNull(s, "settings");
        ByteArrayOutputStream out = new ByteArrayOutputStream(512);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            write(g, s, base);
        } catch (IOException e) {
            throw new UncheckedIOException("encoding settings in memory", e); // cannot happen with a byte array
        }
        return out.toByteArray();
    }

    private static void write(JsonGenerator g, RuntimeSettings s, RuntimeSettings base) throws IOException {
        g.writeStartObject();
        if (base == null || s.strategy() != base.strategy()) {
            g.writeStringField("strategy", s.strategy().wireName());
        }
        if (base == null || s.maxAttempts() != base.maxAttempts()) {
            g.writeNumberField("maxAttempts", s.maxAttempts());
        }
        duration(g, "rateLimitCooldown", s.rateLimitCooldown(), base == null ? null : base.rateLimitCooldown());
        duration(g, "rateLimitCooldownMax", s.rateLimitCooldownMax(),
                base == null ? null : base.rateLimitCooldownMax());
        duration(g, "serverErrorCooldown", s.serverErrorCooldown(),
                base == null ? null : base.serverErrorCooldown());
        duration(g, "probeInterval", s.probeInterval(), base == null ? null : base.probeInterval());
        duration(g, "failoverMaxWait", s.failoverMaxWait(), base == null ? null : base.failoverMaxWait());
        duration(g, "failoverDeadline", s.failoverDeadline(), base == null ? null : base.failoverDeadline());
        if (base == null || s.streamMode() != base.streamMode()) {
            g.writeStringField("streamMode", s.streamMode().wireName());
        }
        if (base == null || s.defaultThinking() != base.defaultThinking()) {
            g.writeStringField("defaultThinking", s.defaultThinking().wireName());
        }
        if (base == null || !s.systemInstruction().equals(base.systemInstruction())) {
            g.writeStringField("systemInstruction", s.systemInstruction());
        }
        if (base == null || !s.allowedModels().equals(base.allowedModels())) {
            g.writeArrayFieldStart("allowedModels");
            for (String m : s.allowedModels()) {
                g.writeString(m);
            }
            g.writeEndArray();
        }
        if (base == null || !s.modelAliases().equals(base.modelAliases())) {
            g.writeObjectFieldStart("modelAliases");
            for (Map.Entry<String, String> e : s.modelAliases().entrySet()) {
                g.writeStringField(e.getKey(), e.getValue());
            }
            g.writeEndObject();
        }
        if (base == null || !s.keyBudgets().equals(base.keyBudgets())) {
            g.writeObjectFieldStart("keyBudgets");
            for (Map.Entry<String, KeyBudget> e : s.keyBudgets().entrySet()) {
                g.writeObjectFieldStart(e.getKey());
                g.writeNumberField("rpm", e.getValue().rpm());
                g.writeNumberField("tpm", e.getValue().tpm());
                g.writeNumberField("rpd", e.getValue().rpd());
                g.writeEndObject();
            }
            g.writeEndObject();
        }
        integer(g, "probeAfterServerErrors", s.probeAfterServerErrors(),
                base == null ? null : base.probeAfterServerErrors());
        integer(g, "removeAfterBadDays", s.removeAfterBadDays(), base == null ? null : base.removeAfterBadDays());
        integer(g, "minChecksPerDay", s.minChecksPerDay(), base == null ? null : base.minChecksPerDay());
        if (base == null || !s.modelGroups().equals(base.modelGroups())) {
            g.writeObjectFieldStart("modelGroups");
            for (Map.Entry<String, Set<String>> e : s.modelGroups().entrySet()) {
                g.writeArrayFieldStart(e.getKey());
                for (String group : e.getValue()) {
                    g.writeString(group);
                }
                g.writeEndArray();
            }
            g.writeEndObject();
        }
        g.writeEndObject();
    }

    private static void integer(JsonGenerator g, String field, int value, Integer base) throws IOException {
        if (base == null || value != base) {
            g.writeNumberField(field, value);
        }
    }

    private static void duration(JsonGenerator g, String field, Duration value, Duration base) throws IOException {
        if (base == null || !value.equals(base)) {
            g.writeStringField(field, formatDuration(value));
        }
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
        try (JsonParser p = FACTORY.createParser(json)) {
            JsonToken t = p.nextToken();
            if (t != JsonToken.START_OBJECT) {
                throw new SettingsException("", (t == null ? "empty body" : JsonTokens.describe(t))
                        + " (expected: a JSON object)");
            }
            RuntimeSettings s = readObject(p, base, strict);
            JsonToken trailing = p.nextToken();
            if (trailing != null) {
                throw new SettingsException("", JsonTokens.describe(trailing) + " after the object (expected: one JSON object)");
            }
            return s;
        } catch (JsonProcessingException e) {
            throw new SettingsException("", "malformed JSON: " + e.getOriginalMessage() + " at line "
                    + e.getLocation().getLineNr() + " column " + e.getLocation().getColumnNr());
        } catch (IOException e) {
            throw new UncheckedIOException("reading settings from memory", e); // cannot happen with a byte array
        }
    }

    /**
     * Reads overrides written by {@link #writeOverrides} from a larger document: the parser is on the object's
     * {@code START_OBJECT} and is left on its {@code END_OBJECT}. Unknown fields are skipped.
     *
     * @throws SettingsException when a known field is invalid, or the value is not an object
     * @throws IOException       from the parser (malformed JSON)
     */
    public static RuntimeSettings readOverrides(JsonParser p, RuntimeSettings defaults) throws IOException {
        requireNonNull(defaults, "defaults");
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw wrongType("settings", p.currentToken(), "an object");
        }
        return readObject(p, defaults, false);
    }

    private static RuntimeSettings readObject(JsonParser p, RuntimeSettings base, boolean strict) throws IOException {
        RuntimeSettings.Builder b = base.toBuilder();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            if (value == JsonToken.VALUE_NULL) {
                if (!strict && !FIELDS.contains(field)) {
                    continue;
                }
                throw unknownOr(field, "null (expected: a value; null is not accepted)");
            }
            switch (field) {
                case "strategy" -> b.strategy(parse(field, text(p, field), Strategy::parse));
                case "maxAttempts" -> b.maxAttempts((int) integer(p, field, 1, 20));
                case "rateLimitCooldown" -> b.rateLimitCooldown(duration(p, field));
                case "rateLimitCooldownMax" -> b.rateLimitCooldownMax(duration(p, field));
                case "serverErrorCooldown" -> b.serverErrorCooldown(duration(p, field));
                case "probeInterval" -> b.probeInterval(duration(p, field));
                case "failoverMaxWait" -> b.failoverMaxWait(duration(p, field));
                case "failoverDeadline" -> b.failoverDeadline(duration(p, field));
                case "modelGroups" -> b.modelGroups(groups(p, field));
                case "streamMode" -> b.streamMode(parse(field, text(p, field), StreamMode::parse));
                case "defaultThinking" -> b.defaultThinking(parse(field, text(p, field), Thinking::parse));
                case "systemInstruction" -> b.systemInstruction(text(p, field));
                case "allowedModels" -> b.allowedModels(models(p, field));
                case "modelAliases" -> b.modelAliases(aliases(p, field));
                case "keyBudgets" -> b.keyBudgets(budgets(p, field));
                case "probeAfterServerErrors" -> b.probeAfterServerErrors((int) integer(p, field, 0,
                        RuntimeSettings.MAX_SERVER_ERRORS));
                case "removeAfterBadDays" -> b.removeAfterBadDays((int) integer(p, field, 0,
                        RuntimeSettings.MAX_BAD_DAYS));
                case "minChecksPerDay" -> b.minChecksPerDay((int) integer(p, field, 1,
                        RuntimeSettings.MAX_CHECKS_PER_DAY));
                default -> {
                    if (strict) {
                        throw unknownOr(field, null);
                    }
                    p.skipChildren();
                }
            }
        }
        return b.build();
    }

    private static SettingsException unknownOr(String field, String detail) {
        if (!FIELDS.contains(field)) {
            return new SettingsException(field, "unknown setting (expected one of: " + String.join(", ", FIELDS)
                    + ")");
        }
        return new SettingsException(field, detail);
    }

    private static String text(JsonParser p, String field) throws IOException {
        if (p.currentToken() != JsonToken.VALUE_STRING) {
            throw wrongType(field, p.currentToken(), "a string");
        }
        return p.getText();
    }

    private static long integer(JsonParser p, String field, long min, long max) throws IOException {
        if (p.currentToken() != JsonToken.VALUE_NUMBER_INT) {
            throw wrongType(field, p.currentToken(), "an integer");
        }
        if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            throw new SettingsException(field, p.getText() + " (expected: " + range(min, max) + ")");
        }
        long v = p.getLongValue();
        if (v < min || v > max) {
            throw new SettingsException(field, v + " (expected: " + range(min, max) + ")");
        }
        return v;
    }

    private static String range(long min, long max) {
        if (min == KeyBudget.UNLIMITED && max == Long.MAX_VALUE) {
            return "-1 or >= 1";
        }
        return min + " to " + max;
    }

    private static Duration duration(JsonParser p, String field) throws IOException {
        return switch (p.currentToken()) {
            case VALUE_STRING -> parseDuration(field, p.getText());
            case VALUE_NUMBER_INT -> {
                if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER || p.getLongValue() < 0) {
                    throw new SettingsException(field, p.getText() + " (expected: " + DURATION_EXPECTED + ")");
                }
                yield saturatedMillis(p.getLongValue(), 1000);
            }
            default -> throw wrongType(field, p.currentToken(), DURATION_EXPECTED);
        };
    }

    private static Set<String> models(JsonParser p, String field) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw wrongType(field, p.currentToken(), "an array of model names");
        }
        Set<String> out = new LinkedHashSet<>();
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            String element = field + "[" + out.size() + "]";
            if (t != JsonToken.VALUE_STRING) {
                throw wrongType(element, t, "a model name");
            }
            out.add(p.getText());
            if (out.size() > RuntimeSettings.MAX_ENTRIES) {
                throw new SettingsException(field, "more than " + RuntimeSettings.MAX_ENTRIES + " entries");
            }
        }
        return out;
    }

    /** {@code {"pattern":["group",..]}}; a single group may be given as a string. */
    private static Map<String, Set<String>> groups(JsonParser p, String field) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw wrongType(field, p.currentToken(), "an object of model pattern to groups");
        }
        Map<String, Set<String>> out = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String pattern = p.currentName();
            String entry = field + "." + pattern;
            JsonToken t = p.nextToken();
            Set<String> names = new LinkedHashSet<>();
            if (t == JsonToken.VALUE_STRING) {
                names.add(p.getText());
            } else if (t == JsonToken.START_ARRAY) {
                while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                    if (t != JsonToken.VALUE_STRING) {
                        throw wrongType(entry + "[" + names.size() + "]", t, "a group name");
                    }
                    names.add(p.getText());
                    if (names.size() > io.gemgate.core.keys.KeySpec.MAX_GROUPS) {
                        throw new SettingsException(entry, "more than " + io.gemgate.core.keys.KeySpec.MAX_GROUPS
                                + " groups");
                    }
                }
            } else {
                throw wrongType(entry, t, "an array of group names");
            }
            out.put(pattern, names);
            if (out.size() > RuntimeSettings.MAX_ENTRIES) {
                throw new SettingsException(field, "more than " + RuntimeSettings.MAX_ENTRIES + " entries");
            }
        }
        return out;
    }

    private static Map<String, String> aliases(JsonParser p, String field) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw wrongType(field, p.currentToken(), "an object of alias to model");
        }
        Map<String, String> out = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String alias = p.currentName();
            JsonToken t = p.nextToken();
            if (t != JsonToken.VALUE_STRING) {
                throw wrongType(field + "." + alias, t, "a model name");
            }
            out.put(alias, p.getText());
            if (out.size() > RuntimeSettings.MAX_ENTRIES) {
                throw new SettingsException(field, "more than " + RuntimeSettings.MAX_ENTRIES + " entries");
            }
        }
        return out;
    }

    private static Map<String, KeyBudget> budgets(JsonParser p, String field) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw wrongType(field, p.currentToken(), "an object of model to {rpm, tpm, rpd}");
        }
        Map<String, KeyBudget> out = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String model = p.currentName();
            String path = field + "." + model;
            JsonToken t = p.nextToken();
            if (t != JsonToken.START_OBJECT) {
                throw wrongType(path, t, "an object with rpm, tpm and rpd");
            }
            long rpm = KeyBudget.UNLIMITED;
            long tpm = KeyBudget.UNLIMITED;
            long rpd = KeyBudget.UNLIMITED;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                switch (name) {
                    case "rpm" -> rpm = integer(p, path + ".rpm", KeyBudget.UNLIMITED, Long.MAX_VALUE);
                    case "tpm" -> tpm = integer(p, path + ".tpm", KeyBudget.UNLIMITED, Long.MAX_VALUE);
                    case "rpd" -> rpd = integer(p, path + ".rpd", KeyBudget.UNLIMITED, Long.MAX_VALUE);
                    default -> throw new SettingsException(path + "." + name,
                            "unknown field (expected: rpm, tpm or rpd)");
                }
            }
            try {
                out.put(model, new KeyBudget(rpm, tpm, rpd));
            } catch (SettingsException e) {
                throw e.within(path);
            }
            if (out.size() > RuntimeSettings.MAX_ENTRIES) {
                throw new SettingsException(field, "more than " + RuntimeSettings.MAX_ENTRIES + " entries");
            }
        }
        return out;
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
