package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gemgate.core.keys.KeyMask;
import io.gemgate.core.keys.QuotaCalendar;
import io.gemgate.server.AdminClient.Answer;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Self-healing keys: keys that keep failing are set aside and probed, every key has a daily health history, keys
 * bad for days are removed (never the last good one), and the admin can remove the unhealthy ones at once.
 */
@ExtendWith(LeakDetection.class)
class KeyHealthTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final QuotaCalendar LA = new QuotaCalendar(ZoneId.of("America/Los_Angeles"));
    private final FakeGemini fake = FakeGemini.start();
    /** Noon today in Los Angeles: the tests' few minutes stay within one quota day. */
    private final AtomicLong clock = new AtomicLong(LA.dayStart(System.currentTimeMillis())
            + Duration.ofHours(12).toMillis());
    private GatewayHarness gw;
    private AdminClient admin;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
        fake.close();
    }

    private void start(int keys) {
        gw = GatewayHarness.start(fake, GatewayHarness.specs(keys), AdminClient.env(), clock::get);
        admin = new AdminClient(gw, keys);
    }

    private static String id(int i) {
        return KeyMask.fingerprint(key(i));
    }

    /** Sends requests until key {@code i} has been tried once more (the rotation decides which key goes first). */
    private void tryKey(int i) {
        int before = fake.requestCount(key(i));
        for (int n = 0; n < 6 && fake.requestCount(key(i)) == before; n++) {
            gw.generate("gemini-2.5-flash");
        }
        assertThat(fake.requestCount(key(i))).as("key %d tried", i).isGreaterThan(before);
    }

    /** Moves the gateway's clock to 01:00 of the next quota day in Los Angeles. */
    private void nextDay() {
        clock.set(LA.nextReset(clock.get()) + Duration.ofHours(1).toMillis());
    }

    private JsonNode awaitStatus(int i, String status) {
        return AdminClient.await(() -> admin.key(id(i)), k -> k.path("status").asText().equals(status), WAIT);
    }

    private void settings(String json) {
        assertThat(admin.patch("/admin/api/settings", json).status()).isEqualTo(200);
    }

    private static List<String> ids(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.isTextual() ? n.asText() : n.path("id").asText()));
        return out;
    }

    @Test
    void aKeyFailingThreeTimesInARowIsSetAsideProbedAndBackInRotationOnceGood() {
        start(2);
        fake.always(key(0), Behavior.serverError());
        for (int n = 0; n < 3; n++) {
            tryKey(0);
            clock.addAndGet(Duration.ofSeconds(6).toMillis()); // past the 5 s server-error cooldown
        }
        JsonNode aside = awaitStatus(0, "invalid");
        assertThat(aside.path("reason").asText()).startsWith("3 server errors in a row");
        assertThat(aside.path("serverErrorsInARow").asInt()).isEqualTo(3);
        assertThat(aside.path("history").get(0).path("failed").asInt()).isEqualTo(3);

        // Set aside, it takes no client traffic; the clients do not see the failures (key 1 answers).
        int before = fake.requestCount(key(0));
        for (int n = 0; n < 4; n++) {
            assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
        }
        assertThat(fake.requestCount(key(0))).isEqualTo(before);

        // A probe after the probe interval that still fails keeps it aside.
        clock.addAndGet(Duration.ofMinutes(5).plusSeconds(1).toMillis());
        JsonNode probed = AdminClient.await(() -> admin.key(id(0)),
                k -> k.path("history").get(0).path("checks").asInt() == 1 && !k.path("checking").asBoolean(), WAIT);
        assertThat(probed.path("status").asText()).isEqualTo("invalid");
        assertThat(probed.path("lastCheck").path("outcome").asText()).isEqualTo("error");
        assertThat(probed.path("history").get(0).path("checksFailed").asInt()).isEqualTo(1);
        assertThat(fake.lastRequest().path()).isEqualTo("/v1beta/models");

        // The upstream recovers: the next probe brings the key back, with its run of errors ended.
        fake.always(key(0), Behavior.ok());
        clock.addAndGet(Duration.ofMinutes(5).plusSeconds(1).toMillis());
        JsonNode back = awaitStatus(0, "active");
        assertThat(back.path("lastCheck").path("outcome").asText()).isEqualTo("good");
        assertThat(back.path("serverErrorsInARow").asInt()).isZero();
        tryKey(0);
    }

    @Test
    void anOverloadedModelNeverSetsKeysAsideNorCountsAgainstTheirHealth() {
        start(2);
        fake.always(key(0), Behavior.unavailable());
        for (int n = 0; n < 4; n++) {
            tryKey(0);
            clock.addAndGet(Duration.ofSeconds(6).toMillis());
        }
        JsonNode k = admin.key(id(0));
        assertThat(k.path("status").asText()).isNotEqualTo("invalid");
        assertThat(k.path("serverErrorsInARow").asInt()).isZero();
        assertThat(k.path("history").isEmpty() || k.path("history").get(0).path("failed").asInt() == 0).isTrue();
        fake.always(key(0), Behavior.ok());
        tryKey(0); // still in rotation
    }

    @Test
    void anInvalidKeyThatBecomesValidReturnsAndItsHistoryShowsTheDay() {
        start(2);
        fake.always(key(0), Behavior.invalidKey());
        tryKey(0);
        awaitStatus(0, "invalid");
        fake.always(key(0), Behavior.ok());
        clock.addAndGet(Duration.ofMinutes(5).plusSeconds(1).toMillis());
        JsonNode back = awaitStatus(0, "active");
        JsonNode today = AdminClient.await(() -> admin.key(id(0)).path("history").get(0),
                d -> d.path("checks").asInt() == 1, WAIT);
        assertThat(today.path("failed").asInt()).isEqualTo(1);
        assertThat(today.path("checksFailed").asInt()).isZero();
        assertThat(today.path("bad").asBoolean()).isFalse();
        assertThat(today.path("day").asText()).matches("\\d{4}-\\d{2}-\\d{2}");
        assertThat(back.path("badDays").asInt()).isZero();
    }

    @Test
    void aKeyBadForTwoDaysIsRemovedAtTheDayBoundaryAndStaysRemovedAfterARestart() {
        start(2);
        settings("{\"removeAfterBadDays\":2,\"minChecksPerDay\":1,\"probeAfterServerErrors\":0}");
        fake.always(key(0), Behavior.serverError());
        tryKey(0);
        nextDay();
        tryKey(0);

        Answer atRisk = admin.get("/admin/api/keys/at-risk");
        assertThat(atRisk.status()).isEqualTo(200);
        assertThat(ids(atRisk.json().path("atRisk"))).containsExactly(id(0));
        assertThat(atRisk.json().path("atRisk").get(0).path("badDays").asInt()).isEqualTo(2);
        assertThat(admin.get("/admin/api/stats").json().path("atRisk").get(0).path("id").asText()).isEqualTo(id(0));
        assertThat(admin.key(id(0)).path("status").asText()).isNotEqualTo("removed"); // not before the boundary

        nextDay();
        JsonNode removed = awaitStatus(0, "removed");
        assertThat(removed.path("reason").asText()).isEqualTo("bad 2 days in a row");
        assertThat(admin.key(id(1)).path("status").asText()).isEqualTo("active");
        JsonNode history = removed.path("history");
        assertThat(history).hasSize(2);
        assertThat(history.get(0).path("bad").asBoolean()).isTrue();
        assertThat(history.get(0).path("day").asText()).isGreaterThan(history.get(1).path("day").asText());

        gw.restart();
        JsonNode after = admin.key(id(0));
        assertThat(after.path("status").asText()).isEqualTo("removed");
        assertThat(after.path("reason").asText()).isEqualTo("bad 2 days in a row");
        assertThat(after.path("history")).isEqualTo(history);
        assertThat(admin.key(id(1)).path("history").get(0).path("ok").asInt()).isPositive();

        // Restored, it is back with a fresh streak: today's failures do not count against it.
        assertThat(admin.post("/admin/api/keys/" + id(0) + "/restore", "").status()).isEqualTo(200);
        tryKey(0);
        JsonNode restored = admin.key(id(0));
        assertThat(restored.path("status").asText()).isNotEqualTo("removed");
        assertThat(restored.path("badDays").asInt()).isZero();
        assertThat(admin.post("/admin/api/keys/cleanup", "{\"days\":1}").json().path("removed")).isEmpty();
    }

    @Test
    void theLastKeyInRotationIsNeverRemoved() {
        start(2);
        settings("{\"minChecksPerDay\":1,\"probeAfterServerErrors\":0}");
        fake.always(key(0), Behavior.serverError());
        fake.always(key(1), Behavior.serverError());
        assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(500); // both tried, both failed
        assertThat(fake.requestCount(key(0)) + fake.requestCount(key(1))).isEqualTo(2);

        Answer unhealthy = admin.post("/admin/api/keys/remove-unhealthy", "");
        assertThat(unhealthy.status()).isEqualTo(200);
        assertThat(unhealthy.json().path("removed")).hasSize(1);
        String kept = unhealthy.json().path("kept").get(0).path("id").asText();
        assertThat(unhealthy.json().path("kept").get(0).path("reason").asText()).isEqualTo("the last key in rotation");

        Answer cleanup = admin.post("/admin/api/keys/cleanup", "{\"days\":1}");
        assertThat(cleanup.status()).isEqualTo(200);
        assertThat(cleanup.json().path("removed")).isEmpty();
        assertThat(ids(cleanup.json().path("kept"))).containsExactly(kept);
        assertThat(admin.key(kept).path("status").asText()).isNotEqualTo("removed");

        // Nor is the last key set aside after server errors: with one key left, it keeps serving. A probe runs on
        // the prober's loop after the decision, so once it has ended the decision is visible.
        settings("{\"probeAfterServerErrors\":1}");
        clock.addAndGet(Duration.ofSeconds(6).toMillis());
        assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(500);
        admin.post("/admin/api/keys/" + kept + "/check", "");
        JsonNode k = AdminClient.await(() -> admin.key(kept), n -> !n.path("checking").asBoolean()
                && !n.path("lastCheck").isNull(), WAIT);
        assertThat(k.path("status").asText()).isEqualTo("cooling"); // resting after the 500, not set aside
        assertThat(k.path("invalid").asBoolean()).isFalse();
        assertThat(k.path("serverErrorsInARow").asInt()).isPositive();
    }

    @Test
    void removeUnhealthyTakesInvalidKeysAndCleanupFollowsTheSetting() {
        start(3);
        fake.always(key(0), Behavior.invalidKey());
        tryKey(0);
        awaitStatus(0, "invalid");

        Answer none = admin.post("/admin/api/keys/cleanup", "");
        assertThat(none.status()).isEqualTo(200);
        assertThat(none.json().path("badDays").asInt()).isEqualTo(3);
        assertThat(none.json().path("removed")).isEmpty(); // one failure is no bad day (3 needed)

        Answer r = admin.post("/admin/api/keys/remove-unhealthy", "{}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(ids(r.json().path("removed"))).containsExactly(id(0));
        assertThat(r.json().path("keys").get(0).path("reason").asText()).startsWith("invalid: ")
                .contains("API_KEY_INVALID");
        JsonNode k = admin.key(id(0));
        assertThat(k.path("status").asText()).isEqualTo("removed");
        assertThat(k.path("reason").asText()).isEqualTo(r.json().path("keys").get(0).path("reason").asText());
        assertThat(admin.get("/admin/api/keys").json().path("counts").path("active").asInt()).isEqualTo(2);
    }

    @Test
    void theNewRoutesNeedTheAdminTokenAndRefuseBadInput() {
        start(1);
        for (String path : List.of("/admin/api/keys/cleanup", "/admin/api/keys/remove-unhealthy")) {
            assertThat(admin.send(gw.request(path).header("Authorization", "Bearer nope"), "POST", "").status())
                    .isEqualTo(401);
            assertThat(admin.get(path).status()).isEqualTo(405);
        }
        assertThat(admin.send(gw.request("/admin/api/keys/at-risk"), "GET", null).status()).isEqualTo(401);
        assertThat(admin.post("/admin/api/keys/at-risk", "").status()).isEqualTo(405);

        Answer zero = admin.post("/admin/api/keys/cleanup", "{\"days\":0}");
        assertThat(zero.status()).isEqualTo(400);
        assertThat(zero.errorField()).isEqualTo("days");
        assertThat(admin.post("/admin/api/keys/cleanup", "{\"days\":\"2\"}").errorField()).isEqualTo("days");
        assertThat(admin.post("/admin/api/keys/cleanup", "{\"dayz\":2}").errorField()).isEqualTo("dayz");
        assertThat(admin.post("/admin/api/keys/cleanup", "[2]").status()).isEqualTo(400);
        assertThat(admin.post("/admin/api/keys/remove-unhealthy", "{\"all\":true}").errorField()).isEqualTo("all");

        Answer bad = admin.patch("/admin/api/settings", "{\"removeAfterBadDays\":99}");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.errorField()).isEqualTo("removeAfterBadDays");
        assertThat(admin.patch("/admin/api/settings", "{\"minChecksPerDay\":0}").errorField())
                .isEqualTo("minChecksPerDay");
        assertThat(admin.patch("/admin/api/settings", "{\"probeAfterServerErrors\":-1}").errorField())
                .isEqualTo("probeAfterServerErrors");
        assertThat(admin.get("/admin/api/keys").json().path("keys").get(0).path("status").asText())
                .isEqualTo("active");
    }
}
