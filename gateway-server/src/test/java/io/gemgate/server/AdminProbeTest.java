package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gemgate.core.keys.KeyMask;
import io.gemgate.server.AdminClient.Answer;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RecordedRequest;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Probes: on demand through the check routes, and in the background for keys set aside as invalid. */
@ExtendWith(LeakDetection.class)
class AdminProbeTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private GatewayHarness gw;
    private FakeGemini ownFake;
    private AdminClient admin;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
        if (ownFake != null) {
            ownFake.close();
        }
    }

    private static String id(int i) {
        return KeyMask.fingerprint(key(i));
    }

    private JsonNode awaitCheck(String id) {
        return AdminClient.await(() -> admin.key(id),
                k -> !k.path("checking").asBoolean() && !k.path("lastCheck").isNull(), WAIT);
    }

    @Test
    void checkReportsAKeyThatIsStillInvalidAndRevivesItOnceGood() {
        gw = GatewayHarness.start(2, AdminClient.env());
        admin = new AdminClient(gw, 2);
        gw.fake().always(key(0), Behavior.invalidKey());
        assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200); // key 0 set aside, key 1 serves
        assertThat(admin.key(id(0)).path("status").asText()).isEqualTo("invalid");

        Answer started = admin.post("/admin/api/keys/" + id(0) + "/check", "");
        assertThat(started.status()).isEqualTo(202);
        assertThat(started.json().path("checking").get(0).asText()).isEqualTo(id(0));
        JsonNode still = awaitCheck(id(0));
        assertThat(still.path("lastCheck").path("outcome").asText()).isEqualTo("invalid");
        assertThat(still.path("lastCheck").path("reason").asText()).contains("API_KEY_INVALID");
        assertThat(still.path("status").asText()).isEqualTo("invalid");
        RecordedRequest probe = gw.fake().lastRequest();
        assertThat(probe.method()).isEqualTo("GET");
        assertThat(probe.path()).isEqualTo("/v1beta/models");
        assertThat(probe.queryParam("pageSize")).isEqualTo("1");
        assertThat(probe.header("x-goog-api-key")).isEqualTo(key(0));

        gw.fake().always(key(0), Behavior.ok());
        admin.post("/admin/api/keys/" + id(0) + "/check", "");
        JsonNode good = AdminClient.await(() -> admin.key(id(0)), k -> k.path("status").asText().equals("active"),
                WAIT);
        assertThat(good.path("lastCheck").path("outcome").asText()).isIn("good", "invalid");
        awaitCheck(id(0));
        assertThat(admin.key(id(0)).path("lastCheck").path("outcome").asText()).isEqualTo("good");

        gw.fake().reset();
        for (int i = 0; i < 2; i++) {
            gw.generate("gemini-2.5-flash");
        }
        assertThat(gw.fake().keysUsed()).contains(key(0));
    }

    @Test
    void checkingEveryKeyFindsOneThatTurnedInvalidAndLeavesTheOthers() {
        gw = GatewayHarness.start(3, AdminClient.env());
        admin = new AdminClient(gw, 3);
        gw.fake().always(key(2), Behavior.forbidden());
        Answer started = admin.post("/admin/api/keys/check", "");
        assertThat(started.status()).isEqualTo(202);
        assertThat(started.json().path("checking")).hasSize(3);
        AdminClient.await(() -> admin.get("/admin/api/keys").json(), all -> {
            for (JsonNode k : all.path("keys")) {
                if (k.path("lastCheck").isNull() || k.path("checking").asBoolean()) {
                    return false;
                }
            }
            return true;
        }, WAIT);
        assertThat(admin.key(id(0)).path("status").asText()).isEqualTo("active");
        assertThat(admin.key(id(1)).path("lastCheck").path("outcome").asText()).isEqualTo("good");
        assertThat(admin.key(id(2)).path("status").asText()).isEqualTo("invalid");
        assertThat(admin.key(id(2)).path("lastCheck").path("outcome").asText()).isEqualTo("invalid");
        assertThat(gw.fake().requestCount()).isEqualTo(3);

        Answer some = admin.post("/admin/api/keys/check", "{\"ids\":[\"" + id(1) + "\"]}");
        assertThat(some.status()).isEqualTo(202);
        assertThat(some.json().path("checking")).hasSize(1);
        assertThat(admin.post("/admin/api/keys/check", "{\"ids\":\"" + id(1) + "\"}").errorField())
                .isEqualTo("ids");
    }

    @Test
    void anUpstreamFailureDuringAProbeChangesNothing() {
        gw = GatewayHarness.start(1, AdminClient.env());
        admin = new AdminClient(gw, 1);
        gw.fake().script(key(0), Behavior.unavailable());
        admin.post("/admin/api/keys/" + id(0) + "/check", "");
        JsonNode k = awaitCheck(id(0));
        assertThat(k.path("lastCheck").path("outcome").asText()).isEqualTo("error");
        assertThat(k.path("status").asText()).isEqualTo("active");
    }

    @Test
    void anInvalidKeyIsProbedInTheBackgroundAfterTheProbeIntervalAndComesBack() {
        ownFake = FakeGemini.start();
        AtomicLong clock = new AtomicLong(System.currentTimeMillis());
        gw = GatewayHarness.start(ownFake, GatewayHarness.specs(2), AdminClient.env(), clock::get);
        admin = new AdminClient(gw, 2);
        ownFake.always(key(0), Behavior.invalidKey());
        gw.generate("gemini-2.5-flash");
        assertThat(admin.key(id(0)).path("status").asText()).isEqualTo("invalid");
        ownFake.always(key(0), Behavior.ok());
        int before = ownFake.requestCount();

        clock.addAndGet(Duration.ofMinutes(5).plusSeconds(1).toMillis()); // the default probe interval
        JsonNode back = AdminClient.await(() -> admin.key(id(0)), k -> k.path("status").asText().equals("active"),
                WAIT);
        assertThat(back.path("lastCheck").path("outcome").asText()).isEqualTo("good");
        assertThat(ownFake.requests().subList(before, ownFake.requestCount()))
                .anySatisfy(r -> assertThat(r.path()).isEqualTo("/v1beta/models"));
    }

    @Test
    void selfHealingRunsWithoutTheAdminApiToo() {
        ownFake = FakeGemini.start();
        AtomicLong clock = new AtomicLong(System.currentTimeMillis());
        gw = GatewayHarness.start(ownFake, GatewayHarness.specs(2), java.util.Map.of(), clock::get);
        ownFake.always(key(0), Behavior.forbidden());
        gw.generate("gemini-2.5-flash");
        assertThat(gw.poolKey(key(0)).isInvalid()).isTrue();
        ownFake.always(key(0), Behavior.ok());

        clock.addAndGet(Duration.ofMinutes(5).toMillis());
        AdminClient.await(() -> gw.poolKey(key(0)).isInvalid(), invalid -> !invalid, WAIT);
    }
}
