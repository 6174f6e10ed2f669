package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.keys.Strategy;
import io.gemgate.server.AdminClient.Answer;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Live settings: read, changed all or nothing, applied at once, kept across a restart. */
@ExtendWith(LeakDetection.class)
class AdminSettingsTest {
    private GatewayHarness gw;
    private AdminClient admin;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
    }

    private void start(int keys) {
        gw = GatewayHarness.start(keys, AdminClient.env());
        admin = new AdminClient(gw, keys);
    }

    @Test
    void getAnswersEverySetting() {
        start(1);
        Answer a = admin.get("/admin/api/settings");
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.json().path("strategy").asText()).isEqualTo("round_robin");
        assertThat(a.json().path("maxAttempts").asInt()).isEqualTo(3);
        assertThat(a.json().path("probeInterval").asText()).isEqualTo("5m");
        assertThat(a.json().has("keyBudgets")).isTrue();
    }

    @Test
    void aPatchAppliesAtOnceAndSurvivesARestart() {
        start(3);
        // Key 0 serves three requests alone: the most used key of the day.
        admin.patch("/admin/api/keys/" + io.gemgate.core.keys.KeyMask.fingerprint(key(1)), "{\"enabled\":false}");
        admin.patch("/admin/api/keys/" + io.gemgate.core.keys.KeyMask.fingerprint(key(2)), "{\"enabled\":false}");
        for (int i = 0; i < 3; i++) {
            gw.generate("gemini-2.5-flash");
        }
        admin.patch("/admin/api/keys/" + io.gemgate.core.keys.KeyMask.fingerprint(key(1)), "{\"enabled\":true}");
        admin.patch("/admin/api/keys/" + io.gemgate.core.keys.KeyMask.fingerprint(key(2)), "{\"enabled\":true}");

        Answer a = admin.patch("/admin/api/settings", "{\"strategy\":\"least_used\",\"maxAttempts\":2,"
                + "\"failoverDeadline\":\"45s\",\"systemInstruction\":\"Be brief.\"}");
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.json().path("strategy").asText()).isEqualTo("least_used");
        assertThat(gw.server().pool().settings().strategy()).isEqualTo(Strategy.LEAST_USED);
        assertThat(gw.server().pool().maxAttempts()).isEqualTo(2);

        gw.fake().reset();
        for (int i = 0; i < 4; i++) {
            gw.generate("gemini-2.5-flash");
        }
        assertThat(gw.fake().keysUsed()).containsOnly(key(1), key(2)); // round robin would have used key 0 too

        gw.restart();

        Answer after = admin.get("/admin/api/settings");
        assertThat(after.json().path("strategy").asText()).isEqualTo("least_used");
        assertThat(after.json().path("maxAttempts").asInt()).isEqualTo(2);
        assertThat(after.json().path("failoverDeadline").asText()).isEqualTo("45s");
        assertThat(gw.server().context().settings().failoverDeadline()).isEqualTo(java.time.Duration.ofSeconds(45));
        assertThat(after.json().path("systemInstruction").asText()).isEqualTo("Be brief.");
        assertThat(gw.server().pool().settings().strategy()).isEqualTo(Strategy.LEAST_USED);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "{\"strategy\":\"random\"}                        | strategy",
            "{\"maxAttempts\":0}                              | maxAttempts",
            "{\"failoverDeadline\":\"0s\"}                     | failoverDeadline",
            "{\"maxAttempts\":2,\"probeInterval\":\"1s\"}     | probeInterval",
            "{\"strategy\":\"adaptive\",\"colour\":\"red\"}   | colour",
            "{\"rateLimitCooldown\":\"soon\"}                 | rateLimitCooldown",
            "{\"strategy\":null}                              | strategy",
            "[]                                               | ",
            "{\"strategy\":                                   | ",
    })
    void aBadValueIsRefusedWhole(String body, String field) {
        start(1);
        Answer a = admin.patch("/admin/api/settings", body);
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.errorField()).isEqualTo(field);
        Answer now = admin.get("/admin/api/settings");
        assertThat(now.json().path("strategy").asText()).isEqualTo("round_robin");
        assertThat(now.json().path("maxAttempts").asInt()).isEqualTo(3);
    }
}
