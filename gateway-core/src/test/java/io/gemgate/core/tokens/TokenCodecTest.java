package io.gemgate.core.tokens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.gemgate.core.keys.QuotaCalendar;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TokenCodecTest {
    private static final long NOON = Instant.parse("2026-03-10T12:00:00Z").toEpochMilli();
    private final TokenRegistry registry = new TokenRegistry(() -> NOON, new SecureRandom());

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void parsesACreationWithEveryLimit() {
        TokenCodec.CreateRequest r = TokenCodec.parseCreate(utf8("{\"name\":\"alice\",\"requestsPerMinute\":60,"
                + "\"requestsPerDay\":1000,\"tokensPerDay\":2000000,\"maxConcurrency\":4,"
                + "\"allowedModels\":[\"gemini-2.5-flash\",\"models/gemini-2.5-pro\"],"
                + "\"expiresAt\":\"2026-12-31T00:00:00Z\"}"));
        assertThat(r.name()).isEqualTo("alice");
        assertThat(r.limits()).isEqualTo(new TokenLimits(60, 1000, 2_000_000, 4,
                Set.of("gemini-2.5-flash", "gemini-2.5-pro"), Instant.parse("2026-12-31T00:00:00Z").toEpochMilli()));
    }

    @Test
    void missingOrNullLimitsAreUnlimited() {
        assertThat(TokenCodec.parseCreate(utf8("{\"name\":\"a\"}")).limits()).isEqualTo(TokenLimits.unlimited());
        assertThat(TokenCodec.parseCreate(utf8("{\"name\":\"a\",\"requestsPerMinute\":null,\"requestsPerDay\":null,"
                + "\"tokensPerDay\":null,\"maxConcurrency\":null,\"allowedModels\":null,\"expiresAt\":null}"))
                .limits()).isEqualTo(TokenLimits.unlimited());
        assertThat(TokenCodec.parseCreate(utf8("{\"name\":\"a\",\"expiresAtMillis\":1234}")).limits()
                .expiresAtMillis()).isEqualTo(1234);
    }

    @ParameterizedTest(name = "[{index}] {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "{}                                          | name: missing",
            "{\"name\":\"  \"}                           | name: blank (expected: 1 to 100 characters)",
            "{\"name\":5}                                | name: an integer (expected: a string)",
            "{\"name\":\"a\",\"requestsPerMinute\":0}    | requestsPerMinute: 0 (expected: -1 or >= 1)",
            "{\"name\":\"a\",\"requestsPerMinute\":\"60\"} | requestsPerMinute: a string (expected: an integer)",
            "{\"name\":\"a\",\"requestsPerMinute\":-5000000000} | requestsPerMinute: -5000000000 (expected: -1 or 1 to 2147483647)",
            "{\"name\":\"a\",\"maxConcurrency\":3000000000} | maxConcurrency: 3000000000 (expected: -1 or 1 to 2147483647)",
            "{\"name\":\"a\",\"tokensPerDay\":1.5}       | tokensPerDay: a fractional number (expected: an integer)",
            "{\"name\":\"a\",\"requestsPerDay\":99999999999999999999} | requestsPerDay: 99999999999999999999 (expected: a 64-bit integer)",
            "{\"name\":\"a\",\"allowedModels\":\"x\"}    | allowedModels: a string (expected: an array of model names)",
            "{\"name\":\"a\",\"allowedModels\":[\"x\",2]} | allowedModels[1]: an integer (expected: a model name)",
            "{\"name\":\"a\",\"allowedModels\":[\"a b\"]} | allowedModels: 'a b' (expected: a model name without spaces, optionally ending in *)",
            "{\"name\":\"a\",\"expiresAt\":\"tomorrow\"} | expiresAt: 'tomorrow' (expected: an ISO-8601 instant such as 2026-12-31T00:00:00Z)",
            "{\"name\":\"a\",\"expiresAtMillis\":-1}     | expiresAtMillis: -1 (expected: 0 for never, or epoch millis > 0)",
            "{\"name\":\"a\",\"enabled\":false}          | enabled: unknown field (expected one of: name, requestsPerMinute, requestsPerDay, tokensPerDay, maxConcurrency, allowedModels, expiresAt, expiresAtMillis, keyGroups)",
            "{\"name\":\"a\",\"rpm\":5}                  | rpm: unknown field (expected one of: name, requestsPerMinute, requestsPerDay, tokensPerDay, maxConcurrency, allowedModels, expiresAt, expiresAtMillis, keyGroups)",
            "{\"name\":null}                             | name: null (expected: a string)",
            "{\"name\":\"a\",\"allowedModels\":[null]} | allowedModels[0]: null (expected: a model name)",
            "{\"name\":\"a\",\"keyGroups\":{}}       | keyGroups: an object (expected: an array of model names)",
            "[]                                          | body: an array (expected: a JSON object)",
            "{\"name\":\"a\"} {}                         | body: content after the object (expected: one JSON object)",
    })
    void refusesBadCreationsNamingTheField(String json, String message) {
        assertThatThrownBy(() -> TokenCodec.parseCreate(utf8(json)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
    }

    @Test
    void refusesEmptyAndMalformedBodies() {
        assertThatThrownBy(() -> TokenCodec.parseCreate(new byte[0]))
                .hasMessage("body: empty (expected: a JSON object)");
        assertThatThrownBy(() -> TokenCodec.parseCreate(utf8("{\"name\":")))
                .hasMessageStartingWith("body: malformed JSON: Unexpected end-of-input");
        assertThatThrownBy(() -> TokenCodec.parseCreate(utf8("{\"name\":\"a\",\"name\":\"b\"}")))
                .hasMessageStartingWith("body: malformed JSON: Duplicate field 'name'");
    }

    @Test
    void anUpdateChangesOnlyWhatItNames() {
        UserToken t = registry.create("alice", TokenLimits.builder().requestsPerMinute(60).requestsPerDay(100)
                .build()).token();
        TokenCodec.Update u = TokenCodec.parseUpdate(t, utf8("{\"enabled\":false,\"requestsPerDay\":null}"));
        assertThat(u).isEqualTo(new TokenCodec.Update("alice", false,
                TokenLimits.builder().requestsPerMinute(60).build()));
        assertThat(TokenCodec.parseUpdate(t, utf8("{\"name\":\"bob\"}")))
                .isEqualTo(new TokenCodec.Update("bob", true, t.limits()));
        assertThat(TokenCodec.parseUpdate(t, utf8("{}"))).isEqualTo(new TokenCodec.Update("alice", true, t.limits()));
        assertThatThrownBy(() -> TokenCodec.parseUpdate(t, utf8("{\"enabled\":\"no\"}")))
                .hasMessage("enabled: a string (expected: true or false)");
        assertThatThrownBy(() -> TokenCodec.parseUpdate(t, utf8("{\"enabled\":null}")))
                .hasMessage("enabled: null (expected: true or false)");
        UserToken grouped = registry.create("g", TokenLimits.builder().keyGroups(Set.of("paid")).build()).token();
        assertThat(TokenCodec.parseUpdate(grouped, utf8("{\"keyGroups\":null}")).limits().keyGroups()).isEmpty();
    }

    @Test
    void theCreationAnswerCarriesTheSecretOnce() {
        TokenRegistry.Created c = registry.create("alice", TokenLimits.unlimited());
        assertThat(new String(TokenCodec.encodeCreated(c), StandardCharsets.UTF_8))
                .isEqualTo("{\"id\":\"" + c.id() + "\",\"name\":\"alice\",\"token\":\"" + c.secret() + "\"}");
    }

    @Test
    void listsATokenWithLimitsAndUsageButNoSecret() throws Exception {
        TokenRegistry.Created c = registry.create("alice", TokenLimits.builder().requestsPerMinute(60)
                .allowedModels(Set.of("b", "a")).expiresAtMillis(Instant.parse("2027-01-01T00:00:00Z").toEpochMilli())
                .build());
        TokenLimiter limiter = new TokenLimiter(new QuotaCalendar(ZoneOffset.UTC));
        limiter.admit(c.token(), "a", NOON + 1000);
        limiter.recordTokens(c.token(), 3, 4, NOON + 1000);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = new JsonFactory().createGenerator(out)) {
            TokenCodec.writeToken(g, c.token(), limiter.usage(c.token(), NOON + 2000));
        }
        String json = out.toString(StandardCharsets.UTF_8);
        assertThat(json).isEqualTo("{\"id\":\"" + c.id() + "\",\"name\":\"alice\",\"enabled\":true,"
                + "\"createdAt\":\"2026-03-10T12:00:00Z\",\"lastUsedAt\":\"2026-03-10T12:00:01Z\","
                + "\"limits\":{\"requestsPerMinute\":60,\"requestsPerDay\":-1,\"tokensPerDay\":-1,"
                + "\"maxConcurrency\":-1,\"allowedModels\":[\"a\",\"b\"],\"expiresAt\":\"2027-01-01T00:00:00Z\",\"keyGroups\":[]},"
                + "\"usage\":{\"requestsToday\":1,\"promptTokensToday\":3,\"outputTokensToday\":4,\"tokensToday\":7,"
                + "\"requestsLastMinute\":1,\"inFlight\":1,\"totalRequests\":1,\"totalTokens\":7}}");
        assertThat(json).doesNotContain(c.secret()).doesNotContain(c.token().secretHash());
    }

    @Test
    void recordsRoundTripAndRestoreWorkingTokens() {
        TokenRegistry.Created a = registry.create("a", TokenLimits.builder().requestsPerDay(5)
                .allowedModels(Set.of("gemini-2.5-*")).expiresAtMillis(NOON * 2).build());
        TokenRegistry.Created b = registry.create("b \"quoted\" é", TokenLimits.unlimited());
        registry.setEnabled(b.id(), false);
        a.token().usage.requestsToday = 3;
        a.token().usage.totalTokens = 99;
        List<TokenRecord> decoded = new ArrayList<>();
        for (TokenRecord r : registry.snapshot()) {
            byte[] json = TokenCodec.encodeRecord(r);
            assertThat(new String(json, StandardCharsets.UTF_8)).doesNotContain(a.secret()).doesNotContain(b.secret());
            TokenRecord back = TokenCodec.decodeRecord(json);
            assertThat(back).isEqualTo(r);
            decoded.add(back);
        }
        TokenRegistry restored = new TokenRegistry(() -> NOON, new SecureRandom());
        restored.restore(decoded);
        assertThat(restored.authenticate(a.secret()).toRecord()).isEqualTo(a.token().toRecord());
        assertThat(restored.authenticate(b.secret()).isEnabled()).isFalse();
    }

    @Test
    void decodingRecordsSkipsUnknownFieldsAndDefaultsCounters() {
        String hash = "c".repeat(64);
        TokenRecord r = TokenCodec.decodeRecord(utf8("{\"id\":\"tok_abcdefghijkl\",\"name\":\"n\",\"secretHash\":\""
                + hash + "\",\"future\":{\"x\":[1]},\"limits\":{\"requestsPerMinute\":5,\"later\":true}}"));
        assertThat(r).isEqualTo(new TokenRecord("tok_abcdefghijkl", "n", 0, hash,
                TokenLimits.builder().requestsPerMinute(5).build(), true, 0, 0, 0, 0, 0, 0, 0));
    }

    @ParameterizedTest(name = "[{index}] {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "{\"name\":\"n\",\"secretHash\":\"x\"}                      | id: missing",
            "{\"id\":\"tok_abcdefghijkl\",\"secretHash\":\"x\"}         | name: missing",
            "{\"id\":\"tok_abcdefghijkl\",\"name\":\"n\"}               | secretHash: missing",
            "{\"id\":\"tok_abcdefghijkl\",\"name\":\"n\",\"secretHash\":\"x\"} | secretHash: not 64 lowercase hex characters",
            "{\"id\":\"tok_abcdefghijkl\",\"name\":\"n\",\"requestsToday\":-1} | requestsToday: -1 (expected: >= 0)",
            "{\"id\":\"tok_abcdefghijkl\",\"name\":\"n\",\"enabled\":1}  | enabled: an integer (expected: true or false)",
            "{\"id\":\"tok_abcdefghijkl\",\"limits\":{\"maxConcurrency\":0}} | maxConcurrency: 0 (expected: -1 or >= 1)",
            "[1]                                                         | record: an array (expected: an object)",
    })
    void refusesBrokenRecordsNamingTheField(String json, String message) {
        assertThatThrownBy(() -> TokenCodec.decodeRecord(utf8(json)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
    }
}
