package io.gemgate.core.state;

import io.gemgate.core.state.StateSnapshot.AddedKey;
import io.gemgate.core.state.StateSnapshot.KeyEdit;
import io.gemgate.core.state.StateSnapshot.KeyRecord;
import io.gemgate.core.tokens.TokenLimits;
import io.gemgate.core.tokens.TokenRecord;
import io.gemgate.core.state.StateSnapshot.ModelRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StateCodecTest {

    static StateSnapshot sample() {
        ModelRecord flash = new ModelRecord("gemini-2.5-flash", 1_700_000_123_456L, 3, 1_700_086_400_000L,
                1_700_000_000_000L, 1234, 1200, 20, 14, 987_654_321_012L, 123_456_789L);
        ModelRecord pro = new ModelRecord("gemini-2.5-pro", 0, 0, 0, 1_700_000_000_000L, 1, 1, 0, 0, 10, 20);
        ModelRecord max = new ModelRecord("m\u00e9t\u00e9o \"quoted\" \\ \n", Long.MAX_VALUE, Integer.MAX_VALUE,
                Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE,
                Long.MAX_VALUE, Long.MAX_VALUE);
        return new StateSnapshot(StateSnapshot.CURRENT_VERSION, 1_700_000_999_000L, List.of(
                new KeyRecord(StateSnapshot.fingerprint("AIzaSyA-first-secret-000000000000000"), false, 0, "",
                        List.of(flash, pro)),
                new KeyRecord(StateSnapshot.fingerprint("AIzaSyB-second-secret-11111111111111"), true,
                        1_700_000_500_000L, "API_KEY_INVALID: API key not valid", List.of(max)),
                new KeyRecord(StateSnapshot.fingerprint("AIzaSyC-third-secret-2222222222222222"), false, 0, "",
                        List.of())));
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String corruption(String json) {
        try {
            StateCodec.decode(utf8(json));
        } catch (StateCorruptException e) {
            return e.getMessage();
        }
        throw new AssertionError("decoded without error: " + json);
    }

    @Test
    void roundTripsEveryField() throws Exception {
        StateSnapshot s = sample();
        StateSnapshot back = StateCodec.decode(StateCodec.encode(s));
        assertThat(back).isEqualTo(s);
        assertThat(back.keys()).hasSize(3);
        assertThat(back.keys().get(1).models().get(0).rateLimitStreak()).isEqualTo(Integer.MAX_VALUE);
    }

    @Test
    void roundTripsEmpty() throws Exception {
        assertThat(StateCodec.decode(StateCodec.encode(StateSnapshot.empty()))).isEqualTo(StateSnapshot.empty());
    }

    @Test
    void encodingIsJsonWithVersionFirstAndTrailingNewline() {
        String text = new String(StateCodec.encode(sample()), StandardCharsets.UTF_8);
        assertThat(text).startsWith("{").endsWith("}\n");
        assertThat(text.indexOf("\"version\"")).isLessThan(text.indexOf("\"keys\""));
        assertThat(text).contains("\"cooldownUntilMillis\"", "\"outputTokens\"", "\"invalidReason\"");
    }

    @Test
    void everyStrictPrefixOfAnEncodingIsCorrupt() {
        byte[] full = StateCodec.encode(sample());
        String complete = new String(full, StandardCharsets.UTF_8).strip();
        for (int len = 0; len < full.length; len++) {
            byte[] prefix = Arrays.copyOf(full, len);
            if (new String(prefix, StandardCharsets.UTF_8).strip().equals(complete)) {
                continue; // only the trailing newline is missing: still complete
            }
            int n = len;
            assertThatThrownBy(() -> StateCodec.decode(prefix))
                    .as("prefix of %d bytes", n)
                    .isInstanceOf(StateCorruptException.class);
        }
    }

    @Test
    void emptyAndWhitespaceAreCorrupt() {
        assertThatThrownBy(() -> StateCodec.decode(new byte[0]))
                .isInstanceOf(StateCorruptException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> StateCodec.decode(null))
                .isInstanceOf(StateCorruptException.class).hasMessageContaining("empty");
        assertThat(corruption(" \n\t ")).contains("empty");
    }

    @Test
    void truncatedIsReportedAsTruncated() {
        assertThat(corruption("{\"version\":1,\"keys\":[{\"fingerprint\":\"ab\"")).startsWith("truncated");
    }

    @Test
    void garbageIsCorrupt() {
        assertThat(corruption("\u0000\u0000\u0000\u0000")).startsWith("malformed JSON");
        assertThat(corruption("hello world")).startsWith("malformed JSON");
        assertThat(corruption("{\"version\":1,}")).startsWith("malformed JSON");
        assertThatThrownBy(() -> StateCodec.decode(new byte[] {(byte) 0xff, (byte) 0xfe, 0x00, 0x41, 0x7b}))
                .isInstanceOf(StateCorruptException.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"[]", "null", "1", "\"state\"", "true"})
    void topLevelMustBeAnObject(String json) {
        assertThat(corruption(json)).startsWith("top level is");
    }

    @Test
    void trailingContentIsCorrupt() {
        assertThat(corruption("{\"version\":1} {\"version\":1}")).contains("after the top-level object");
        assertThat(corruption("{\"version\":1} x")).isNotEmpty();
    }

    @Test
    void duplicateFieldIsCorrupt() {
        assertThat(corruption("{\"version\":1,\"version\":1}")).contains("version");
    }

    @Test
    void versionIsRequiredAndBounded() {
        assertThat(corruption("{}")).isEqualTo("version: missing");
        assertThat(corruption("{\"keys\":[]}")).isEqualTo("version: missing");
        assertThat(corruption("{\"version\":0}")).contains("version 0");
        assertThat(corruption("{\"version\":\"1\"}")).isEqualTo("version: expected an integer, found a string");
        assertThat(corruption("{\"version\":" + (StateSnapshot.CURRENT_VERSION + 1) + ",\"keys\":[]}"))
                .contains("newer than the supported " + StateSnapshot.CURRENT_VERSION);
    }

    @Test
    void newerVersionIsRejectedEvenWithAnUnknownShape() {
        assertThat(corruption("{\"version\":" + (StateSnapshot.CURRENT_VERSION + 1) + ",\"keys\":{\"new\":\"shape\"}}"))
                .contains("newer");
    }

    @Test
    void wrongTypesAreCorrupt() {
        assertThat(corruption("{\"version\":1,\"savedAtMillis\":1.5}"))
                .isEqualTo("savedAtMillis: expected an integer, found a fractional number");
        assertThat(corruption("{\"version\":1,\"keys\":{}}")).isEqualTo("keys: expected an array, found an object");
        assertThat(corruption("{\"version\":1,\"keys\":[1]}")).isEqualTo("keys[0]: expected an object, found an integer");
        assertThat(corruption("{\"version\":1,\"keys\":[{\"disabled\":1}]}"))
                .isEqualTo("keys[0].disabled: expected a boolean, found an integer");
        assertThat(corruption("{\"version\":1,\"keys\":[{\"fingerprint\":null}]}"))
                .isEqualTo("keys[0].fingerprint: expected a string, found null");
        assertThat(corruption("{\"version\":1,\"keys\":[{},{\"models\":[{\"requests\":\"5\"}]}]}"))
                .isEqualTo("keys[1].models[0].requests: expected an integer, found a string");
        assertThat(corruption("{\"version\":1,\"keys\":[{\"models\":[{},[]]}]}"))
                .isEqualTo("keys[0].models[1]: expected an object, found an array");
    }

    @Test
    void outOfRangeNumbersAreCorrupt() {
        assertThat(corruption("{\"version\":1,\"keys\":[{\"models\":[{\"rateLimitStreak\":3000000000}]}]}"))
                .isEqualTo("keys[0].models[0].rateLimitStreak: out of range (3000000000)");
        assertThat(corruption("{\"version\":1,\"savedAtMillis\":99999999999999999999}"))
                .isEqualTo("savedAtMillis: out of range (99999999999999999999)");
        assertThat(corruption("{\"version\":99999999999}")).contains("version: out of range");
    }

    @ParameterizedTest
    @ValueSource(strings = {"cooldownUntilMillis", "rateLimitStreak", "exhaustedUntilMillis", "dayStartMillis",
            "requests", "successes", "failures", "rateLimited", "promptTokens", "outputTokens"})
    void negativeModelNumbersAreCorrupt(String field) {
        assertThat(corruption("{\"version\":1,\"keys\":[{\"models\":[{\"model\":\"m\",\"" + field + "\":-3}]}]}"))
                .isEqualTo("keys[0].models[0]." + field + ": negative (-3)");
    }

    @Test
    void negativeTopLevelAndKeyNumbersAreCorrupt() {
        assertThat(corruption("{\"version\":1,\"savedAtMillis\":-1}")).isEqualTo("savedAtMillis: negative (-1)");
        assertThat(corruption("{\"version\":1,\"keys\":[{\"invalidSinceMillis\":-1}]}"))
                .isEqualTo("keys[0].invalidSinceMillis: negative (-1)");
    }

    @Test
    void unknownFieldsAreIgnoredAtEveryLevel() throws Exception {
        String json = """
                {
                  "future": {"nested": [1, 2, {"deep": null}], "x": "y"},
                  "version": 1,
                  "savedAtMillis": 42,
                  "tokens": [{"hash": "abc"}],
                  "keys": [{
                    "fingerprint": "0123456789abcdef",
                    "label": "added at run time",
                    "weight": 2.5,
                    "disabled": true,
                    "models": [{"model": "gemini-2.5-flash", "requests": 7, "newCounter": 99, "tier": null,
                                "extra": [[], {}]}]
                  }],
                  "zzz": null
                }
                """;
        StateSnapshot s = StateCodec.decode(utf8(json));
        assertThat(s).isEqualTo(new StateSnapshot(1, 42, List.of(new KeyRecord("0123456789abcdef", true, 0, "",
                List.of(new ModelRecord("gemini-2.5-flash", 0, 0, 0, 0, 7, 0, 0, 0, 0, 0))))));
    }

    @Test
    void missingFieldsDefault() throws Exception {
        StateSnapshot s = StateCodec.decode(utf8("{\"version\":1,\"keys\":[{\"models\":[{}]},{}]}"));
        assertThat(s.savedAtMillis()).isZero();
        assertThat(s.keys()).containsExactly(
                new KeyRecord("", false, 0, "", List.of(new ModelRecord("", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))),
                new KeyRecord("", false, 0, "", List.of()));
        assertThat(StateCodec.decode(utf8("{\"version\":1}"))).isEqualTo(new StateSnapshot(1, 0, List.of()));
        assertThat(StateCodec.decode(utf8("{\"version\":2}"))).isEqualTo(StateSnapshot.empty());
    }

    @Test
    void fingerprintIsFirst16HexCharsOfSha256() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        assertThat(StateSnapshot.fingerprint("abc")).isEqualTo("ba7816bf8f01cfea");
        assertThat(StateSnapshot.fingerprint("AIzaSyExample")).hasSize(16).matches("[0-9a-f]{16}")
                .isNotEqualTo(StateSnapshot.fingerprint("AIzaSyExample2"));
    }

    @Test
    void recordsAreImmutableAndValidated() {
        List<ModelRecord> models = new ArrayList<>();
        models.add(new ModelRecord("m", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
        KeyRecord key = new KeyRecord("f", false, 0, "", models);
        models.clear();
        assertThat(key.models()).hasSize(1);
        assertThatThrownBy(() -> key.models().clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> new ModelRecord("m", 0, 0, 0, 0, -1, 0, 0, 0, 0, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("requests");
        assertThatThrownBy(() -> new KeyRecord(null, false, 0, "", List.of()))
                .isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> new StateSnapshot(0, 0, List.of())).isInstanceOf(IllegalArgumentException.class);
        assertThat(StateSnapshot.empty().version()).isEqualTo(StateSnapshot.CURRENT_VERSION);
        assertThat(StateSnapshot.empty().keys()).isEmpty();
    }

    static StateSnapshot sampleV2() {
        TokenRecord token = new TokenRecord("tok_abcdefghijk1", "alice", 1_700_000_000_000L, "ab".repeat(32),
                TokenLimits.builder().requestsPerMinute(60).allowedModels(Set.of("gemini-2.5-*")).build(), false,
                1_700_000_100_000L, 1_699_990_000_000L, 12, 300, 40, 99, 4000);
        return new StateSnapshot(StateSnapshot.CURRENT_VERSION, 1_700_000_999_000L,
                List.of(new KeyRecord("0123456789abcdef", true, true, 5, "why", List.of())),
                List.of(new AddedKey("1123456789abcdef", "v1:c2VjcmV0", "team-a", 3, "Alice's \"key\"", 77),
                        new AddedKey("2123456789abcdef", "AIzaPlain", "", 1, "", 0, 2, Set.of("paid", "pro"))),
                List.of(new KeyEdit("3123456789abcdef", "team-b", 100, "edited"),
                        new KeyEdit("4123456789abcdef", "", 1, "", 1, Set.of("paid"))),
                List.of(token), "{\"strategy\":\"least_used\",\"keyBudgets\":{\"*\":{\"rpm\":5}}}");
    }

    @Test
    void roundTripsVersion2Parts() throws Exception {
        StateSnapshot s = sampleV2();
        StateSnapshot back = StateCodec.decode(StateCodec.encode(s));
        assertThat(back.keys()).isEqualTo(s.keys());
        assertThat(back.addedKeys()).isEqualTo(s.addedKeys());
        assertThat(back.keyEdits()).isEqualTo(s.keyEdits());
        assertThat(back.tokens()).isEqualTo(s.tokens());
        assertThat(back.settings()).isEqualTo(s.settings()); // compact in, compact out
        assertThat(back).isEqualTo(s);
    }

    @Test
    void addedKeysAndEditsWithoutTierOrGroupsReadAsTierZeroInNoGroup() throws Exception {
        StateSnapshot s = StateCodec.decode(utf8("""
                {"version": %d, "savedAtMillis": 1, "keys": [],
                 "addedKeys": [{"fingerprint": "1123456789abcdef", "secret": "AIzaPlain", "project": "", "weight": 2,
                                "label": "", "addedAtMillis": 5}],
                 "keyEdits": [{"fingerprint": "2123456789abcdef", "project": "p", "weight": 3, "label": "l"}]}
                """.formatted(StateSnapshot.CURRENT_VERSION)));
        assertThat(s.addedKeys().get(0).tier()).isZero();
        assertThat(s.addedKeys().get(0).groups()).isEmpty();
        assertThat(s.keyEdits().get(0)).isEqualTo(new KeyEdit("2123456789abcdef", "p", 3, "l"));
        assertThat(new String(StateCodec.encode(sampleV2()), StandardCharsets.UTF_8))
                .contains("\"tier\" : 2,", "\"groups\" : [ \"paid\", \"pro\" ]");
    }

    @Test
    void version2PartsAreLeftOutOfAVersion1FileWhateverTheirShape() throws Exception {
        StateSnapshot s = StateCodec.decode(utf8("""
                {"tokens": [{"hash": "abc"}], "settings": 3, "addedKeys": {"x": 1}, "version": 1,
                 "keys": [{"fingerprint": "0123456789abcdef", "removed": true}]}
                """));
        assertThat(s.version()).isEqualTo(1);
        assertThat(s.tokens()).isEmpty();
        assertThat(s.addedKeys()).isEmpty();
        assertThat(s.settings()).isEmpty();
        assertThat(s.keys().get(0).removed()).isTrue();
    }

    @Test
    void version2PartsOfTheWrongShapeAreCorrupt() {
        assertThat(corruption("{\"version\":2,\"settings\":[]}")).isEqualTo("settings: expected an object, found an array");
        assertThat(corruption("{\"version\":2,\"addedKeys\":{}}")).isEqualTo("addedKeys: expected an array, found an object");
        assertThat(corruption("{\"version\":2,\"addedKeys\":[{\"weight\":-1}]}"))
                .isEqualTo("addedKeys[0].weight: negative (-1)");
        assertThat(corruption("{\"version\":2,\"keyEdits\":[{\"label\":5}]}"))
                .isEqualTo("keyEdits[0].label: expected a string, found an integer");
        assertThat(corruption("{\"version\":2,\"tokens\":[{\"name\":\"a\"}]}")).isEqualTo("tokens[0].id: missing");
        assertThat(corruption("{\"version\":2,\"tokens\":[1]}")).isEqualTo("tokens[0]: expected an object, found an integer");
    }

    @Test
    void theSecretOfAnAddedKeyIsNotInItsToString() {
        assertThat(new AddedKey("f", "AIzaSecretSecret", "", 1, "", 0).toString()).doesNotContain("Secret");
    }

    @Test
    void encodingPutsSettingsInlineAndOmitsThemWhenEmpty() {
        String with = new String(StateCodec.encode(sampleV2()), StandardCharsets.UTF_8);
        assertThat(with).contains("\"settings\" : {").contains("\"least_used\"");
        String without = new String(StateCodec.encode(StateSnapshot.empty()), StandardCharsets.UTF_8);
        assertThat(without).doesNotContain("settings").contains("\"tokens\" : [ ]");
        assertThatThrownBy(() -> StateCodec.encode(new StateSnapshot(2, 0, List.of(), List.of(), List.of(),
                List.of(), "[1]"))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("settings");
    }
}
