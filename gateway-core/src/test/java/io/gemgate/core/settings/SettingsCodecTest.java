package io.gemgate.core.settings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.gemgate.core.keys.Strategy;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SettingsCodecTest {
    private static final RuntimeSettings DEFAULTS = RuntimeSettings.defaults();

    static RuntimeSettings sample() {
        return RuntimeSettings.builder()
                .strategy(Strategy.ADAPTIVE).maxAttempts(5)
                .rateLimitCooldown(Duration.ofMillis(1500)).rateLimitCooldownMax(Duration.ofHours(2))
                .serverErrorCooldown(Duration.ZERO).probeInterval(Duration.ofSeconds(90))
                .failoverMaxWait(Duration.ofSeconds(3)).streamMode(StreamMode.ALWAYS)
                .defaultThinking(Thinking.HIGH)
                .systemInstruction("Réponds en français. \"Quotes\", \\ and\nnewlines.")
                .allowedModels(Set.of("gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.0-*"))
                .modelAliases(Map.of("fast", "gemini-2.5-flash", "smart", "gemini-2.5-pro"))
                .keyBudgets(Map.of("gemini-2.5-pro", new KeyBudget(5, 250_000, 100), "*", new KeyBudget(-1, -1, 250)))
                .build();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @Test
    void encodesTheDefaultsInTheDocumentedShape() {
        assertThat(text(SettingsCodec.encode(DEFAULTS))).isEqualTo("{\"strategy\":\"round_robin\",\"maxAttempts\":3,"
                + "\"rateLimitCooldown\":\"1m\",\"rateLimitCooldownMax\":\"15m\",\"serverErrorCooldown\":\"5s\","
                + "\"probeInterval\":\"5m\",\"failoverMaxWait\":\"0s\",\"failoverDeadline\":\"30s\",\"streamMode\":\"auto\","
                + "\"defaultThinking\":\"auto\",\"systemInstruction\":\"\",\"allowedModels\":[],\"modelAliases\":{},"
                + "\"keyBudgets\":{},\"probeAfterServerErrors\":3,\"removeAfterBadDays\":3,\"minChecksPerDay\":3,\"modelGroups\":{}}");
    }

    @Test
    void encodesCollectionsSortedAndBudgetsWhole() {
        String json = text(SettingsCodec.encode(sample()));
        assertThat(json).contains("\"allowedModels\":[\"gemini-2.0-*\",\"gemini-2.5-flash\",\"gemini-2.5-pro\"]",
                "\"modelAliases\":{\"fast\":\"gemini-2.5-flash\",\"smart\":\"gemini-2.5-pro\"}",
                "\"keyBudgets\":{\"*\":{\"rpm\":-1,\"tpm\":-1,\"rpd\":250},"
                        + "\"gemini-2.5-pro\":{\"rpm\":5,\"tpm\":250000,\"rpd\":100}}",
                "\"rateLimitCooldown\":\"1500ms\"", "\"probeInterval\":\"90s\"", "\"strategy\":\"adaptive\"",
                "\"streamMode\":\"always\"", "\"defaultThinking\":\"high\"");
    }

    @Test
    void aFullEncodingPatchedOntoAnythingGivesTheSameSettings() {
        RuntimeSettings s = sample();
        assertThat(SettingsCodec.patch(DEFAULTS, SettingsCodec.encode(s))).isEqualTo(s);
        assertThat(SettingsCodec.patch(s, SettingsCodec.encode(DEFAULTS))).isEqualTo(DEFAULTS);
    }

    @Test
    void aPatchChangesOnlyTheFieldsItNames() {
        RuntimeSettings s = SettingsCodec.patch(sample(),
                utf8("{\"maxAttempts\": 7, \"strategy\": \"Least-Used\", \"allowedModels\": []}"));
        assertThat(s).isEqualTo(sample().toBuilder().maxAttempts(7).strategy(Strategy.LEAST_USED)
                .allowedModels(Set.of()).build());
        assertThat(SettingsCodec.patch(sample(), utf8("{}"))).isEqualTo(sample());
    }

    @Test
    void collectionsAreReplacedNotMerged() {
        RuntimeSettings s = SettingsCodec.patch(sample(), utf8("{\"modelAliases\":{\"quick\":\"gemini-2.5-pro\"},"
                + "\"keyBudgets\":{\"gemini-2.5-pro\":{\"rpm\":9}}}"));
        assertThat(s.modelAliases()).containsOnly(Map.entry("quick", "gemini-2.5-pro"));
        assertThat(s.keyBudgets()).containsOnly(Map.entry("gemini-2.5-pro", new KeyBudget(9, -1, -1)));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "'\"90\"'     | 90s",
            "'90'         | 90s",
            "'\"500ms\"'  | 500ms",
            "'\"2h\"'     | 2h",
            "'\" 1d \"'   | 1d",
            "'0'          | 0s",
    })
    void readsDurationsAsStringsOrSeconds(String value, String formatted) {
        RuntimeSettings s = SettingsCodec.patch(DEFAULTS, utf8("{\"serverErrorCooldown\":" + value + "}"));
        assertThat(SettingsCodec.formatDuration(s.serverErrorCooldown())).isEqualTo(formatted);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "0      | 0s",
            "1      | 1ms",
            "1500   | 1500ms",
            "60000  | 1m",
            "90000  | 90s",
            "900000 | 15m",
            "7200000 | 2h",
            "86400000 | 1d",
            "90000000 | 25h",
    })
    void formatsDurationsInTheirLargestExactUnit(long millis, String text) {
        assertThat(SettingsCodec.formatDuration(Duration.ofMillis(millis))).isEqualTo(text);
        assertThat(SettingsCodec.parseDuration("f", text)).isEqualTo(Duration.ofMillis(millis));
    }

    @ParameterizedTest(name = "[{index}] {2}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            // scalars
            "{\"maxAttempts\":0}                  | maxAttempts          | maxAttempts: 0 (expected: 1 to 20)",
            "{\"maxAttempts\":\"3\"}              | maxAttempts          | maxAttempts: a string (expected: an integer)",
            "{\"maxAttempts\":3.5}                | maxAttempts          | maxAttempts: a fractional number (expected: an integer)",
            "{\"maxAttempts\":99999999999999999999} | maxAttempts        | maxAttempts: 99999999999999999999 (expected: 1 to 20)",
            "{\"maxAttempts\":null}               | maxAttempts          | maxAttempts: null (expected: a value; null is not accepted)",
            "{\"strategy\":\"fastest\"}           | strategy             | strategy: 'fastest' (expected: round_robin, least_used or adaptive)",
            "{\"strategy\":1}                     | strategy             | strategy: an integer (expected: a string)",
            "{\"streamMode\":\"sometimes\"}       | streamMode           | streamMode: 'sometimes' (expected: auto, always or never)",
            "{\"defaultThinking\":\"max\"}        | defaultThinking      | defaultThinking: 'max' (expected: auto, off, low, medium or high)",
            "{\"systemInstruction\":5}            | systemInstruction    | systemInstruction: an integer (expected: a string)",
            // durations
            "{\"rateLimitCooldown\":\"5x\"}       | rateLimitCooldown    | rateLimitCooldown: '5x' (expected: a duration such as 500ms, 30s, 5m, 2h, 1d, or a number of seconds)",
            "{\"rateLimitCooldown\":-5}           | rateLimitCooldown    | rateLimitCooldown: -5 (expected: a duration such as 500ms, 30s, 5m, 2h, 1d, or a number of seconds)",
            "{\"rateLimitCooldown\":true}         | rateLimitCooldown    | rateLimitCooldown: a boolean (expected: a duration such as 500ms, 30s, 5m, 2h, 1d, or a number of seconds)",
            "{\"rateLimitCooldown\":\"0s\"}       | rateLimitCooldown    | rateLimitCooldown: 0s (expected: 1ms to 365d)",
            "{\"rateLimitCooldown\":\"20m\"}      | rateLimitCooldownMax | rateLimitCooldownMax: 15m (expected: >= rateLimitCooldown, 20m)",
            "{\"serverErrorCooldown\":\"999999999999999999d\"} | serverErrorCooldown | serverErrorCooldown: 9223372036854775807ms (expected: 0s to 365d)",
            "{\"probeInterval\":\"1s\"}           | probeInterval        | probeInterval: 1s (expected: 10s to 7d)",
            "{\"failoverMaxWait\":\"2m\"}         | failoverMaxWait      | failoverMaxWait: 2m (expected: 0s to 1m)",
            "{\"failoverDeadline\":\"500ms\"}     | failoverDeadline     | failoverDeadline: 500ms (expected: 1s to 10m)",
            // health
            "{\"probeAfterServerErrors\":-1}     | probeAfterServerErrors | probeAfterServerErrors: -1 (expected: 0 to 1000)",
            "{\"probeAfterServerErrors\":\"3\"} | probeAfterServerErrors | probeAfterServerErrors: a string (expected: an integer)",
            "{\"removeAfterBadDays\":31}         | removeAfterBadDays   | removeAfterBadDays: 31 (expected: 0 to 30)",
            "{\"minChecksPerDay\":0}             | minChecksPerDay      | minChecksPerDay: 0 (expected: 1 to 100000)",
            // collections
            "{\"allowedModels\":\"gemini\"}       | allowedModels        | allowedModels: a string (expected: an array of model names)",
            "{\"allowedModels\":[\"ok\",1]}       | allowedModels[1]     | allowedModels[1]: an integer (expected: a model name)",
            "{\"allowedModels\":[\"a b\"]}        | allowedModels        | allowedModels: 'a b' (expected: a model name without spaces, optionally ending in *)",
            "{\"modelAliases\":[]}                | modelAliases         | modelAliases: an array (expected: an object of alias to model)",
            "{\"modelAliases\":{\"fast\":1}}      | modelAliases.fast    | modelAliases.fast: an integer (expected: a model name)",
            "{\"modelAliases\":{\"a\":\"b\",\"b\":\"c\"}} | modelAliases.a | modelAliases.a: target 'b' is itself an alias (expected: a model)",
            "{\"keyBudgets\":{\"m\":5}}           | keyBudgets.m         | keyBudgets.m: an integer (expected: an object with rpm, tpm and rpd)",
            "{\"keyBudgets\":{\"m\":{\"rpm\":0}}} | keyBudgets.m.rpm     | keyBudgets.m.rpm: 0 (expected: -1 or >= 1)",
            "{\"keyBudgets\":{\"m\":{\"tpm\":-5}}} | keyBudgets.m.tpm    | keyBudgets.m.tpm: -5 (expected: -1 or >= 1)",
            "{\"keyBudgets\":{\"m\":{\"rpd\":1.5}}} | keyBudgets.m.rpd   | keyBudgets.m.rpd: a fractional number (expected: an integer)",
            "{\"keyBudgets\":{\"m\":{\"rpx\":5}}} | keyBudgets.m.rpx     | keyBudgets.m.rpx: unknown field (expected: rpm, tpm or rpd)",
            // document
            "{\"foo\":1}                          | foo                  | foo: unknown setting (expected one of: strategy, maxAttempts, rateLimitCooldown, rateLimitCooldownMax, serverErrorCooldown, probeInterval, failoverMaxWait, failoverDeadline, streamMode, defaultThinking, systemInstruction, allowedModels, modelAliases, keyBudgets, probeAfterServerErrors, removeAfterBadDays, minChecksPerDay, modelGroups)",
            "[]                                   | ``                   | an array (expected: a JSON object)",
            "`   `                                | ``                   | empty body (expected: a JSON object)",
            "{} {}                                | ``                   | an object after the object (expected: one JSON object)",
    })
    void refusesBadPatchesNamingTheField(String json, String field, String message) {
        assertThatThrownBy(() -> SettingsCodec.patch(DEFAULTS, utf8(json)))
                .isInstanceOfSatisfying(SettingsException.class, e -> {
                    assertThat(e.getMessage()).isEqualTo(message);
                    assertThat(e.field()).isEqualTo(field);
                });
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "{\"maxAttempts\":3,\"maxAttempts\":4} | malformed JSON: Duplicate field 'maxAttempts'",
            "{\"maxAttempts\":3                    | malformed JSON: Unexpected end-of-input",
            "{maxAttempts:3}                       | malformed JSON: Unexpected character",
    })
    void refusesMalformedJson(String json, String start) {
        assertThatThrownBy(() -> SettingsCodec.patch(DEFAULTS, utf8(json)))
                .isInstanceOfSatisfying(SettingsException.class, e -> {
                    assertThat(e.field()).isEmpty();
                    assertThat(e.getMessage()).startsWith(start).contains(" at line 1 column ");
                });
    }

    @Test
    void refusesAnEmptyBody() {
        assertThatThrownBy(() -> SettingsCodec.patch(DEFAULTS, new byte[0]))
                .hasMessage("empty body (expected: a JSON object)");
        assertThatThrownBy(() -> SettingsCodec.patch(DEFAULTS, null))
                .hasMessage("empty body (expected: a JSON object)");
    }

    @Test
    void aPatchIsAllOrNothing() {
        RuntimeSettings before = sample();
        byte[] patch = utf8("{\"maxAttempts\":9,\"systemInstruction\":\"new\",\"strategy\":\"nope\"}");
        assertThatThrownBy(() -> SettingsCodec.patch(before, patch)).isInstanceOf(SettingsException.class);
        assertThat(before).isEqualTo(sample());
        assertThat(before.maxAttempts()).isEqualTo(5);
    }

    @Test
    void overridesHoldOnlyWhatDiffersFromTheDefaults() {
        assertThat(text(SettingsCodec.encodeOverrides(DEFAULTS, DEFAULTS))).isEqualTo("{}");
        RuntimeSettings live = DEFAULTS.toBuilder().maxAttempts(6).systemInstruction("Be brief.")
                .keyBudgets(Map.of("*", new KeyBudget(10, -1, -1))).build();
        assertThat(text(SettingsCodec.encodeOverrides(live, DEFAULTS))).isEqualTo("{\"maxAttempts\":6,"
                + "\"systemInstruction\":\"Be brief.\",\"keyBudgets\":{\"*\":{\"rpm\":10,\"tpm\":-1,\"rpd\":-1}}}");
        assertThat(SettingsCodec.decodeOverrides(DEFAULTS, SettingsCodec.encodeOverrides(sample(), DEFAULTS)))
                .isEqualTo(sample());
    }

    @Test
    void overridesApplyToTheDefaultsOfTheNextStart() {
        byte[] saved = SettingsCodec.encodeOverrides(DEFAULTS.toBuilder().maxAttempts(6).build(), DEFAULTS);
        RuntimeSettings newConfig = DEFAULTS.toBuilder().strategy(Strategy.LEAST_USED).build();
        RuntimeSettings restored = SettingsCodec.decodeOverrides(newConfig, saved);
        assertThat(restored.strategy()).as("changed in gateway.yaml since").isEqualTo(Strategy.LEAST_USED);
        assertThat(restored.maxAttempts()).as("changed live").isEqualTo(6);
    }

    @Test
    void decodingOverridesSkipsUnknownFieldsButNotBadValues() {
        RuntimeSettings s = SettingsCodec.decodeOverrides(DEFAULTS,
                utf8("{\"futureSetting\":{\"deep\":[1,2]},\"gone\":null,\"maxAttempts\":4}"));
        assertThat(s).isEqualTo(DEFAULTS.toBuilder().maxAttempts(4).build());
        assertThatThrownBy(() -> SettingsCodec.decodeOverrides(DEFAULTS, utf8("{\"maxAttempts\":40}")))
                .isInstanceOfSatisfying(SettingsException.class, e -> assertThat(e.field()).isEqualTo("maxAttempts"));
    }
}
