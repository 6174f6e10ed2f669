package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gemgate.core.keys.KeyMask;
import io.gemgate.server.AdminClient.Answer;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The admin API: its token, its routes, and the key routes (list, bulk add, edit, remove, restore). */
@ExtendWith(LeakDetection.class)
class AdminApiTest {
    /** Shaped like Gemini keys, unknown to the gateway until added. */
    private static final String NEW_KEY_1 = "AIzaSyNEW1" + "n".repeat(25) + "1111";
    private static final String NEW_KEY_2 = "AIzaSyNEW2" + "n".repeat(25) + "2222";
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
        admin = new AdminClient(gw, keys).secret(NEW_KEY_1).secret(NEW_KEY_2);
    }

    private String id(String secret) {
        return KeyMask.fingerprint(secret);
    }

    // ------------------------------------------------------------------------------------------------------- auth

    @Test
    void aMissingOrWrongAdminTokenIs401AndTheClientTokenIsNoAdminToken() {
        start(1);
        Answer missing = admin.send(gw.request("/admin/api/keys"), "GET", null);
        assertThat(missing.status()).isEqualTo(401);
        Answer wrong = admin.send(gw.request("/admin/api/keys").header("Authorization", "Bearer nope"), "GET", null);
        assertThat(wrong.status()).isEqualTo(401);
        Answer client = admin.send(gw.request("/admin/api/keys")
                .header("Authorization", "Bearer " + GatewayHarness.TOKEN), "GET", null);
        assertThat(client.status()).isEqualTo(401);
        Answer patch = admin.send(gw.request("/admin/api/settings").header("Authorization", "Bearer nope"), "PATCH",
                "{\"strategy\":\"least_used\"}");
        assertThat(patch.status()).isEqualTo(401);
        assertThat(gw.server().context().settings().strategy().wireName()).isEqualTo("round_robin");
        assertThat(admin.get("/admin/api/keys").status()).isEqualTo(200);
    }

    @Test
    void withoutAnAdminTokenTheAdminApiIsOff() {
        gw = GatewayHarness.start(1);
        admin = new AdminClient(gw, 1);
        Answer off = admin.get("/admin/api/keys");
        assertThat(off.status()).isEqualTo(404);
        assertThat(off.raw().body()).contains("GEMGATE_ADMIN_TOKEN");
    }

    @Test
    void unknownRoutesAre404AndOtherMethodsAre405() {
        start(1);
        assertThat(admin.get("/admin/api").json().path("routes").toString()).contains("GET /admin/api/stats");
        assertThat(admin.get("/admin/api/nothing").status()).isEqualTo(404);
        assertThat(admin.get("/admin/api/keys/" + id(key(0)) + "/nothing").status()).isEqualTo(404);
        assertThat(admin.delete("/admin/api/keys").status()).isEqualTo(405);
        assertThat(admin.post("/admin/api/stats", "{}").status()).isEqualTo(405);
        assertThat(admin.call("PUT", "/admin/api/settings", "{}").status()).isEqualTo(405);
        assertThat(admin.get("/admin/api/keys/" + id(key(0)) + "/check").status()).isEqualTo(405);
    }

    // ------------------------------------------------------------------------------------------------------ list

    @Test
    void keysAreListedMaskedWithStatusHealthAndTodaysCountersPerModel() {
        start(3);
        gw.fake().script(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(300)));
        assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200); // key 0 cools, key 1 serves
        assertThat(gw.generate("gemini-2.5-pro").statusCode()).isEqualTo(200);

        Answer a = admin.get("/admin/api/keys");
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.raw().headers().firstValue("content-type")).hasValueSatisfying(v -> v.startsWith("application/json"));
        JsonNode keys = a.json().path("keys");
        assertThat(keys).hasSize(3);
        assertThat(a.json().path("total").asInt()).isEqualTo(3);
        JsonNode k0 = admin.key(id(key(0)));
        assertThat(k0.path("key").asText()).isEqualTo(KeyMask.mask(key(0))).hasSize(11);
        assertThat(k0.path("status").asText()).isEqualTo("cooling");
        assertThat(k0.path("model").asText()).isEqualTo("gemini-2.5-flash");
        assertThat(k0.path("untilMillis").asLong()).isGreaterThan(System.currentTimeMillis() + 200_000);
        assertThat(k0.path("until").asText()).endsWith("Z");
        assertThat(k0.path("health").path("score").asDouble()).isBetween(0.0, 1.0);
        assertThat(k0.path("today").path("rateLimited").asLong()).isEqualTo(1);
        JsonNode flash = k0.path("models").get(0);
        assertThat(flash.path("model").asText()).isEqualTo("gemini-2.5-flash");
        assertThat(flash.path("status").asText()).isEqualTo("cooling");
        assertThat(flash.path("requests").asLong()).isEqualTo(1);

        int served = 0;
        for (JsonNode k : keys) {
            served += k.path("today").path("successes").asInt();
            assertThat(k.path("weight").asInt()).isEqualTo(1);
            assertThat(k.path("enabled").asBoolean()).isTrue();
        }
        assertThat(served).isEqualTo(2);
        assertThat(a.json().path("counts").path("cooling").asInt()).isEqualTo(1);
        assertThat(a.json().path("counts").path("active").asInt()).isEqualTo(2);
        assertThat(admin.get("/admin/api/keys/" + id(key(1))).json().path("id").asText()).isEqualTo(id(key(1)));
    }

    @Test
    void anInvalidKeyIsListedAsInvalidWithItsReasonAndSince() {
        start(2);
        gw.fake().always(key(0), Behavior.invalidKey());
        gw.generate("gemini-2.5-flash");
        JsonNode k0 = admin.key(id(key(0)));
        assertThat(k0.path("status").asText()).isEqualTo("invalid");
        assertThat(k0.path("reason").asText()).contains("API_KEY_INVALID");
        assertThat(k0.path("invalidSinceMillis").asLong()).isPositive();
        assertThat(admin.get("/admin/api/keys").json().path("counts").path("invalid").asInt()).isEqualTo(1);
    }

    // ------------------------------------------------------------------------------------------------- bulk add

    @Test
    void bulkAddedKeysServeTrafficAtOnce() {
        start(1);
        String pasted = "keys:\n" + NEW_KEY_1 + ", \"" + NEW_KEY_2 + "\"\n" + key(0) + " " + NEW_KEY_1
                + "\nAIzaSyTOOSHORT123 and some text";
        Answer a = admin.post("/admin/api/keys",
                "{\"text\":" + jsonString(pasted) + ",\"project\":\"team-x\",\"weight\":2,\"label\":\"bulk\"}");
        assertThat(a.status()).isEqualTo(201);
        assertThat(a.json().path("added")).extracting(JsonNode::asText).containsExactly(id(NEW_KEY_1), id(NEW_KEY_2));
        assertThat(a.json().path("duplicates").asInt()).isEqualTo(2); // key 0 is in the pool, NEW_KEY_1 twice
        assertThat(a.json().path("rejected")).extracting(JsonNode::asText).containsExactly("AIza...T123");
        assertThat(a.json().path("keys").get(0).path("key").asText()).isEqualTo(KeyMask.mask(NEW_KEY_1));

        JsonNode added = admin.key(id(NEW_KEY_2));
        assertThat(added.path("project").asText()).isEqualTo("team-x");
        assertThat(added.path("weight").asInt()).isEqualTo(2);
        assertThat(added.path("label").asText()).isEqualTo("bulk");
        for (int i = 0; i < 5; i++) {
            assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
        }
        assertThat(gw.fake().keysUsed()).contains(NEW_KEY_1, NEW_KEY_2);

        Answer again = admin.post("/admin/api/keys", "{\"text\":" + jsonString(NEW_KEY_1) + "}");
        assertThat(again.status()).isEqualTo(200);
        assertThat(again.json().path("added")).isEmpty();
        assertThat(again.json().path("duplicates").asInt()).isEqualTo(1);
    }

    private static String jsonString(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
    }

    @ParameterizedTest(name = "{0} -> {1} on {2}")
    @CsvSource(delimiter = '|', value = {
            "{\"text\":                             | 400 | ",
            "[1]                                    | 400 | ",
            "{\"txt\":\"AIza\"}                     | 400 | txt",
            "{\"text\":5}                           | 400 | text",
            "{}                                     | 400 | text",
            "{\"text\":\"no key here\"}             | 400 | text",
            "{\"text\":\"x\",\"weight\":0}          | 400 | weight",
            "{\"text\":\"x\",\"weight\":\"2\"}      | 400 | weight",
            "{\"text\":\"x\",\"weight\":1.5}        | 400 | weight",
            "{\"text\":\"x\",\"text\":\"y\"}        | 400 | text",
    })
    void badBulkAddBodiesAre400NamingTheField(String body, int status, String field) {
        start(1);
        Answer a = admin.post("/admin/api/keys", body);
        assertThat(a.status()).isEqualTo(status);
        assertThat(a.errorField()).isEqualTo(field);
        assertThat(a.errorMessage()).isNotBlank();
        assertThat(gw.server().pool().keys()).hasSize(1);
    }

    // ------------------------------------------------------------------------------------------- edit, remove

    @Test
    void aDisabledKeyIsNotUsedUntilEnabledAgain() {
        start(2);
        Answer a = admin.patch("/admin/api/keys/" + id(key(0)), "{\"enabled\":false}");
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.json().path("status").asText()).isEqualTo("disabled");
        for (int i = 0; i < 4; i++) {
            assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
        }
        assertThat(gw.fake().keysUsed()).containsOnly(key(1));

        admin.patch("/admin/api/keys/" + id(key(0)), "{\"enabled\":true}");
        for (int i = 0; i < 4; i++) {
            gw.generate("gemini-2.5-flash");
        }
        assertThat(gw.fake().keysUsed()).contains(key(0));
    }

    @Test
    void weightLabelAndProjectChangeTogether() {
        start(2);
        Answer a = admin.patch("/admin/api/keys/" + id(key(1)),
                "{\"weight\":3,\"label\":\"Bob's\",\"project\":\"team-b\"}");
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.json().path("weight").asInt()).isEqualTo(3);
        assertThat(a.json().path("label").asText()).isEqualTo("Bob's");
        assertThat(a.json().path("project").asText()).isEqualTo("team-b");
        for (int i = 0; i < 8; i++) {
            gw.generate("gemini-2.5-flash");
        }
        assertThat(gw.fake().requestCount(key(1))).isEqualTo(6); // weights 1:3
    }

    @Test
    void aKeyMovedToAHigherTierServesOnlyWhenTheLowerTierRestsAndStatsShowCapacityPerTier() {
        start(3);
        Answer a = admin.patch("/admin/api/keys/" + id(key(2)), "{\"tier\":1,\"groups\":[\"paid\",\"pro\"]}");
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.json().path("tier").asInt()).isEqualTo(1);
        assertThat(a.json().path("groups").toString()).isEqualTo("[\"paid\",\"pro\"]");
        for (int i = 0; i < 6; i++) {
            assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
        }
        assertThat(gw.fake().requestCount(key(2))).isZero();

        gw.fake().always(key(0), io.gemgate.testing.Behavior.quotaDay());
        gw.fake().always(key(1), io.gemgate.testing.Behavior.quotaDay());
        assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
        assertThat(gw.fake().requestCount(key(2))).isEqualTo(1);

        JsonNode capacity = admin.get("/admin/api/stats?model=gemini-2.5-flash").json().path("capacity");
        assertThat(capacity.path("usableKeys").asInt()).isEqualTo(1);
        assertThat(capacity.path("tiers").toString()).isEqualTo("[{\"tier\":0,\"keys\":2,\"usableKeys\":0,"
                + "\"quotaGroups\":0},{\"tier\":1,\"keys\":1,\"usableKeys\":1,\"quotaGroups\":1}]");
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "{\"tier\":10}               | tier",
            "{\"groups\":[\"a b\"]}      | groups",
            "{\"groups\":\"paid\"}       | groups",
            "{\"weight\":0}              | weight",
            "{\"weight\":101}            | weight",
            "{\"weight\":\"3\"}          | weight",
            "{\"enabled\":\"yes\"}       | enabled",
            "{\"label\":\"a\\u0001b\"}   | label",
            "{\"secret\":\"x\"}          | secret",
            "{\"enabled\":false,\"weight\":0} | weight",
            "not json                    | ",
    })
    void badEditsAre400NamingTheFieldAndChangeNothing(String body, String field) {
        start(1);
        Answer a = admin.patch("/admin/api/keys/" + id(key(0)), body);
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.errorField()).isEqualTo(field);
        JsonNode k = admin.key(id(key(0)));
        assertThat(k.path("enabled").asBoolean()).isTrue();
        assertThat(k.path("weight").asInt()).isEqualTo(1);
    }

    @Test
    void unknownKeyIdsAre404() {
        start(1);
        for (Answer a : List.of(admin.get("/admin/api/keys/0123456789abcdef"),
                admin.patch("/admin/api/keys/0123456789abcdef", "{\"enabled\":false}"),
                admin.delete("/admin/api/keys/0123456789abcdef"),
                admin.post("/admin/api/keys/0123456789abcdef/restore", ""),
                admin.post("/admin/api/keys/0123456789abcdef/check", ""),
                admin.post("/admin/api/keys/check", "{\"ids\":[\"0123456789abcdef\"]}"))) {
            assertThat(a.status()).isEqualTo(404);
            assertThat(a.errorField()).isEqualTo("id");
        }
        // A secret pasted as an id is not echoed back whole.
        assertThat(admin.get("/admin/api/keys/" + key(0)).errorMessage()).doesNotContain(key(0));
    }

    @Test
    void aRemovedKeyIsOutOfRotationUntilRestored() {
        start(2);
        Answer removed = admin.delete("/admin/api/keys/" + id(key(0)));
        assertThat(removed.status()).isEqualTo(200);
        assertThat(removed.json().path("status").asText()).isEqualTo("removed");
        assertThat(removed.json().path("removed").asBoolean()).isTrue();
        for (int i = 0; i < 4; i++) {
            gw.generate("gemini-2.5-flash");
        }
        assertThat(gw.fake().keysUsed()).containsOnly(key(1));
        assertThat(admin.get("/admin/api/keys").json().path("counts").path("removed").asInt()).isEqualTo(1);

        Answer restored = admin.post("/admin/api/keys/" + id(key(0)) + "/restore", "");
        assertThat(restored.status()).isEqualTo(200);
        assertThat(restored.json().path("status").asText()).isEqualTo("active");
        for (int i = 0; i < 4; i++) {
            gw.generate("gemini-2.5-flash");
        }
        assertThat(gw.fake().keysUsed()).contains(key(0));
    }

    @Test
    void everyAnswerIsJsonAndNoneHoldsAWholeKey() {
        start(2);
        admin.post("/admin/api/keys", "{\"text\":\"" + NEW_KEY_1 + "\"}");
        gw.generate("gemini-2.5-flash");
        // AdminClient asserts on each answer that no known key appears whole.
        for (String path : List.of("/admin/api", "/admin/api/keys", "/admin/api/keys/" + id(NEW_KEY_1),
                "/admin/api/tokens", "/admin/api/settings", "/admin/api/stats")) {
            Answer a = admin.get(path);
            assertThat(a.status()).as(path).isEqualTo(200);
            assertThat(a.json().isObject()).isTrue();
        }
    }
}
