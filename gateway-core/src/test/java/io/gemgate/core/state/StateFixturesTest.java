package io.gemgate.core.state;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.keys.Strategy;
import io.gemgate.core.settings.KeyBudget;
import io.gemgate.core.settings.RuntimeSettings;
import io.gemgate.core.settings.SettingsCodec;
import io.gemgate.core.settings.StreamMode;
import io.gemgate.core.settings.Thinking;
import io.gemgate.core.state.StateSnapshot.AddedKey;
import io.gemgate.core.state.StateSnapshot.AffinityRecord;
import io.gemgate.core.state.StateSnapshot.HealthDay;
import io.gemgate.core.state.StateSnapshot.KeyEdit;
import io.gemgate.core.state.StateSnapshot.KeyHealth;
import io.gemgate.core.state.StateSnapshot.KeyRecord;
import io.gemgate.core.state.StateSnapshot.ModelRecord;
import io.gemgate.core.tokens.TokenCodec;
import io.gemgate.core.tokens.TokenLimits;
import io.gemgate.core.tokens.TokenRecord;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Files written by the hand-written codecs of main at 46fef19 (before the codecs moved to jackson-databind), kept
 * under {@code src/test/resources/fixtures}: a state file of each version and the token and settings values that
 * the state file embeds and Redis stores. The current codecs must read them to the same values (a restart after an
 * upgrade loses nothing), and must write the same values back in the same shape (a gateway of the older version
 * sharing Redis, or rolled back onto the state file, reads them as before).
 */
class StateFixturesTest {

    static final String FP_A = StateSnapshot.fingerprint("AIzaFixtureKeyA0000000000000000000000001");
    static final String FP_B = StateSnapshot.fingerprint("AIzaFixtureKeyB0000000000000000000000002");
    static final String FP_C = StateSnapshot.fingerprint("AIzaFixtureKeyC0000000000000000000000003");
    static final String FP_D = StateSnapshot.fingerprint("AIzaFixtureKeyD0000000000000000000000004");

    /** The live settings the fixtures hold: every field differs from the defaults. */
    static RuntimeSettings liveSettings() {
        Map<String, KeyBudget> budgets = new LinkedHashMap<>();
        budgets.put("*", new KeyBudget(10, 250000, 250));
        budgets.put("gemini-2.5-pro", new KeyBudget(5, -1, 100));
        Map<String, Set<String>> groups = new LinkedHashMap<>();
        groups.put("*", Set.of("free"));
        groups.put("gemini-2.5-pro*", new LinkedHashSet<>(List.of("paid", "pro")));
        return RuntimeSettings.defaults().toBuilder().strategy(Strategy.LEAST_USED).maxAttempts(5)
                .rateLimitCooldown(Duration.ofSeconds(90)).rateLimitCooldownMax(Duration.ofMinutes(20))
                .serverErrorCooldown(Duration.ofMillis(1500)).probeInterval(Duration.ofHours(2))
                .failoverMaxWait(Duration.ofSeconds(3)).failoverDeadline(Duration.ofSeconds(45))
                .streamMode(StreamMode.ALWAYS).defaultThinking(Thinking.LOW)
                .systemInstruction("Be brief. \"Quoted\" \u00e9")
                .allowedModels(new LinkedHashSet<>(List.of("gemini-2.5-flash", "gemini-2.5-pro")))
                .modelAliases(Map.of("fast", "gemini-2.5-flash"))
                .keyBudgets(budgets).probeAfterServerErrors(4).removeAfterBadDays(5).minChecksPerDay(2)
                .modelGroups(groups).build();
    }

    static TokenRecord alice() {
        return new TokenRecord("tok_0123456789ab", "alice", 1765000000000L, "a".repeat(64),
                TokenLimits.builder().requestsPerMinute(60).requestsPerDay(1000).tokensPerDay(2000000)
                        .maxConcurrency(4).allowedModels(Set.of("gemini-2.5-flash", "gemini-2.5-pro"))
                        .expiresAtMillis(1798675200000L).keyGroups(new LinkedHashSet<>(List.of("paid", "free")))
                        .build(),
                true, 1765100000000L, 1765094400000L, 12, 3400, 5600, 120, 90000);
    }

    static TokenRecord bob() {
        return new TokenRecord("tok_fedcba987654", "bob", 1765000001000L, "0123456789abcdef".repeat(4),
                TokenLimits.unlimited(), false, 0, 0, 0, 0, 0, 0, 0);
    }

    static List<KeyRecord> keys() {
        return List.of(
                new KeyRecord(FP_A, false, false, 0, "", List.of(
                        new ModelRecord("gemini-2.5-flash", 1765100060000L, 2, 0, 1765094400000L, 40, 35, 2, 3,
                                12000, 8000),
                        new ModelRecord("gemini-2.5-pro", 0, 0, 1765180800000L, 1765094400000L, 100, 97, 0, 3,
                                50000, 20000))),
                new KeyRecord(FP_B, true, false, 1765090000000L, "API_KEY_INVALID", List.of()),
                new KeyRecord(FP_C, false, true, 0, "", List.of(
                        new ModelRecord("gemini-2.5-flash", 0, 0, 0, 1765094400000L, 1, 0, 1, 0, 0, 0))),
                new KeyRecord(FP_D, false, false, 0, "", List.of()));
    }

    /** What state-v2.json holds, with {@code settings} as the given text. */
    static StateSnapshot v2(String settings) {
        List<AddedKey> added = List.of(
                new AddedKey(FP_D, "v1:bm9uY2U=:Y2lwaGVydGV4dA==", "team-b", 3, "added \"live\"", 1765050000000L, 1,
                        Set.of("pro", "paid"), "v1:cHJveHk=:dXJs"),
                new AddedKey(StateSnapshot.fingerprint("AIzaPlain"), "AIzaPlainSecretNotEncrypted0000000000000", "",
                        1, "", 1765050001000L));
        List<KeyEdit> edits = List.of(new KeyEdit(FP_A, "team-a", 7, "primary", 2, Set.of("paid")),
                new KeyEdit(FP_B, "", 1, "old"));
        List<KeyHealth> health = List.of(new KeyHealth(FP_C, 1764950400000L, "bad 3 days in a row", List.of(
                new HealthDay(1765094400000L, 0, 4, 2, 2), new HealthDay(1765008000000L, 1, 3, 3, 1))));
        List<AffinityRecord> affinity = List.of(
                new AffinityRecord("files/abc123", FP_A, "team-a", 1765090000000L, 1765262800000L,
                        "tok_0123456789ab", ""),
                new AffinityRecord("cachedContents/xyz", FP_D, "", 1765090001000L, 1765093601000L, "",
                        "{\"purpose\":\"assistants\",\"filename\":\"a.txt\",\"bytes\":12}"));
        return new StateSnapshot(2, 1765100123456L, keys(), added, edits, List.of(alice(), bob()), settings, health,
                affinity);
    }

    static byte[] fixture(String name) {
        try (InputStream in = StateFixturesTest.class.getResourceAsStream("/fixtures/" + name)) {
            assertThat(in).as("fixture %s", name).isNotNull();
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @Test
    void aVersion2StateFileOfTheOldWriterLoadsEveryValue() throws Exception {
        StateSnapshot s = StateCodec.decode(fixture("state-v2.json"));

        assertThat(s).isEqualTo(v2(s.settings()));
        assertThat(s.keys().get(0).models().get(0).cooldownUntilMillis()).isEqualTo(1765100060000L);
        assertThat(s.keys().get(0).models().get(1).exhaustedUntilMillis()).isEqualTo(1765180800000L);
        assertThat(s.keys().get(1).invalidReason()).isEqualTo("API_KEY_INVALID");
        assertThat(s.keys().get(2).removed()).isTrue();
        assertThat(s.addedKeys().get(0).proxy()).isEqualTo("v1:cHJveHk=:dXJs");
        assertThat(s.addedKeys().get(0).groups()).containsExactlyInAnyOrder("paid", "pro");
        assertThat(s.tokens().get(0).limits().keyGroups()).containsExactlyInAnyOrder("free", "paid");
        assertThat(s.affinity().get(1).meta()).contains("assistants");
        assertThat(SettingsCodec.decodeOverrides(RuntimeSettings.defaults(),
                s.settings().getBytes(StandardCharsets.UTF_8))).isEqualTo(liveSettings());
    }

    @Test
    void theCurrentWriterWritesTheOldWritersVersion2FileByteForByte() {
        String settings = text(SettingsCodec.encodeOverrides(liveSettings(), RuntimeSettings.defaults()));

        assertThat(text(StateCodec.encode(v2(settings)))).isEqualTo(text(fixture("state-v2.json")));
    }

    @Test
    void aVersion1StateFileLoadsItsKeysAndNothingElse() throws Exception {
        StateSnapshot s = StateCodec.decode(fixture("state-v1.json"));

        assertThat(s).isEqualTo(new StateSnapshot(1, 1765100000000L, keys().subList(0, 2)));
        assertThat(text(StateCodec.encode(s))).isEqualTo(text(fixture("state-v1.json")));
    }

    @Test
    void anEmptyStateFileLoadsAsEmptyAndIsWrittenTheSame() throws Exception {
        assertThat(StateCodec.decode(fixture("state-v2-empty.json"))).isEqualTo(StateSnapshot.empty());
        assertThat(text(StateCodec.encode(StateSnapshot.empty()))).isEqualTo(text(fixture("state-v2-empty.json")));
    }

    @Test
    void tokenRecordsAsRedisHoldsThemReadAndWriteAsBefore() {
        assertThat(TokenCodec.decodeRecord(fixture("token-record.json"))).isEqualTo(alice());
        assertThat(TokenCodec.decodeRecord(fixture("token-record-unlimited.json"))).isEqualTo(bob());
        assertThat(text(TokenCodec.encodeRecord(alice()))).isEqualTo(text(fixture("token-record.json")));
        assertThat(text(TokenCodec.encodeRecord(bob()))).isEqualTo(text(fixture("token-record-unlimited.json")));
    }

    @Test
    void settingsAsRedisHoldsThemReadAndWriteAsBefore() {
        assertThat(SettingsCodec.decodeOverrides(RuntimeSettings.defaults(), fixture("settings.json")))
                .isEqualTo(liveSettings());
        assertThat(text(SettingsCodec.encode(liveSettings()))).isEqualTo(text(fixture("settings.json")));
    }
}
