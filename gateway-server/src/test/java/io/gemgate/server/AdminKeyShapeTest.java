package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gemgate.core.keys.KeyMask;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The shape of a key in the admin API's answers, field by field and in order, as the admin page and scripts read it
 * (the answer is written from records; this pins that nothing was renamed, moved or dropped).
 */
@ExtendWith(LeakDetection.class)
class AdminKeyShapeTest {
    private GatewayHarness gw;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
    }

    private static List<String> names(JsonNode object) {
        List<String> out = new ArrayList<>();
        object.fieldNames().forEachRemaining(out::add);
        return out;
    }

    @Test
    void aKeyIsAnsweredWithEveryFieldInItsPlace() {
        gw = GatewayHarness.start(2, AdminClient.env());
        AdminClient admin = new AdminClient(gw, 2);
        assertThat(admin.patch("/admin/api/settings",
                "{\"keyBudgets\":{\"gemini-2.5-flash\":{\"rpm\":50,\"rpd\":1000}}}").status()).isEqualTo(200);
        gw.fake().script(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(300)));
        assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200); // key 0 cools, key 1 serves

        JsonNode k0 = admin.key(KeyMask.fingerprint(key(0)));
        List<String> fields = names(k0);
        assertThat(fields.subList(0, 27)).containsExactly("id", "key", "label", "project", "weight", "resources",
                "tier", "groups", "enabled", "removed", "proxy", "exit", "exitNow", "status", "reason", "model",
                "until", "untilMillis", "invalid", "invalidReason", "invalidSince", "invalidSinceMillis", "health",
                "models", "today", "checking", "lastCheck");
        assertThat(fields.subList(27, fields.size())).isIn(List.of(),
                List.of("serverErrorsInARow", "badDays", "history"));
        assertThat(k0.path("key").asText()).isEqualTo(KeyMask.mask(key(0)));
        assertThat(k0.path("invalidSince").isNull()).isTrue();
        assertThat(k0.path("lastCheck").isNull()).isTrue();
        assertThat(k0.path("exitNow").asText()).isEqualTo("direct");
        assertThat(names(k0.path("health"))).containsExactly("score", "successRate", "latencyMillis",
                "lastFailureAt");
        assertThat(names(k0.path("today"))).containsExactly("requests", "successes", "failures", "rateLimited",
                "promptTokens", "outputTokens", "tokens", "successRate");
        assertThat(k0.path("today").path("successRate").isNull()).isFalse();
        JsonNode flash = k0.path("models").get(0);
        assertThat(names(flash)).containsExactly("model", "status", "reason", "until", "untilMillis", "requests",
                "successes", "failures", "rateLimited", "promptTokens", "outputTokens", "tokens", "budget");
        assertThat(names(flash.path("budget"))).containsExactly("rpm", "tpm", "rpd", "minuteRequests",
                "minuteTokens");
        assertThat(flash.path("budget").path("tpm").asLong()).isEqualTo(-1);

        JsonNode k1 = admin.key(KeyMask.fingerprint(key(1)));
        assertThat(k1.path("model").isNull()).isTrue();
        assertThat(k1.path("until").isNull()).isTrue();
        assertThat(k1.path("untilMillis").asLong()).isZero();
        assertThat(k1.toString()).doesNotContain(key(1));
    }
}
