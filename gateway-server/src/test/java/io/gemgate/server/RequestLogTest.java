package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gemgate.core.keys.KeyMask;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The request log (README, "Request log and usage") in its embedded SQLite file: one record per request with its
 * attempts (success, failover, exhaustion, refusal), read back through {@code GET /admin/api/requests}, kept across a
 * restart, and never holding a key or token whole.
 */
@ExtendWith(LeakDetection.class)
class RequestLogTest {
    private static final String MODEL = "gemini-2.5-flash";
    private GatewayHarness gw;
    private AdminClient admin;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
    }

    private void start(int keys, String... env) {
        gw = GatewayHarness.start(keys, AdminClient.env(env));
        admin = new AdminClient(gw, keys);
    }

    private JsonNode requests(String query) {
        AdminClient.Answer a = admin.get("/admin/api/requests" + query);
        assertThat(a.status()).as(a.raw().body()).isEqualTo(200);
        return a.json().path("requests");
    }

    private static List<String> field(JsonNode list, String name) {
        List<String> out = new ArrayList<>();
        list.forEach(n -> out.add(n.path(name).asText()));
        return out;
    }

    @Test
    void aSuccessIsRecordedWithItsKeyTokensAndTimings() throws Exception {
        start(1);
        assertThat(gw.generate(MODEL).statusCode()).isEqualTo(200);

        JsonNode list = requests("");
        assertThat(list).hasSize(1);
        JsonNode r = list.get(0);
        assertThat(r.path("status").asInt()).isEqualTo(200);
        assertThat(r.path("method").asText()).isEqualTo("POST");
        assertThat(r.path("path").asText()).isEqualTo("/v1beta/models/" + MODEL + ":generateContent");
        assertThat(r.path("route").asText()).isEqualTo("native");
        assertThat(r.path("protocol").asText()).isEqualTo("gemini");
        assertThat(r.path("model").asText()).isEqualTo(MODEL);
        assertThat(r.path("client").asText()).isEqualTo("127.0.0.1");
        assertThat(r.path("stream").asBoolean()).isFalse();
        assertThat(r.path("tokens").path("prompt").asLong()).isEqualTo(7);
        assertThat(r.path("tokens").path("output").asLong()).isEqualTo(3);
        assertThat(r.path("bytes").asLong()).isPositive();
        assertThat(r.path("firstByteMs").isNumber()).isTrue();
        assertThat(r.path("key").path("id").asText()).isEqualTo(KeyMask.fingerprint(key(0)));
        assertThat(r.path("key").path("masked").asText()).isEqualTo(key(0).substring(0, 4) + "..."
                + key(0).substring(key(0).length() - 4));
        assertThat(r.path("error").isNull()).isTrue();

        JsonNode one = admin.get("/admin/api/requests/" + r.path("id").asText()).json();
        assertThat(one.path("attempts")).hasSize(1);
        assertThat(one.path("attempts").get(0).path("upstreamStatus").asInt()).isEqualTo(200);
        assertThat(one.path("attempts").get(0).path("verdict").asText()).isEqualTo("success");
        assertThat(Files.exists(gw.dataDir().resolve("requests.db"))).isTrue();
    }

    @Test
    void aFailoverKeepsEveryAttemptWithGooglesReasonAndMessage() {
        start(2);
        gw.fake().script(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(30)));
        gw.fake().script(key(1), Behavior.rateLimitMinute(Duration.ofSeconds(30)));
        // Round robin may start on either key: whichever is first answers 429, the other serves.
        gw.fake().reset();
        gw.fake().script(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(30)));
        assertThat(gw.generate(MODEL).statusCode()).isEqualTo(200);
        if (gw.fake().requestCount() == 1) { // key 1 served first: one more to meet key 0
            assertThat(gw.generate(MODEL).statusCode()).isEqualTo(200);
        }
        JsonNode failedOver = null;
        for (JsonNode r : requests("")) {
            if (r.path("attemptCount").asInt() == 2) {
                failedOver = r;
            }
        }
        assertThat(failedOver).as("a record with two attempts").isNotNull();
        assertThat(failedOver.path("status").asInt()).isEqualTo(200);
        assertThat(failedOver.path("key").path("id").asText()).isEqualTo(KeyMask.fingerprint(key(1)));
        JsonNode attempts = admin.get("/admin/api/requests/" + failedOver.path("id").asText()).json()
                .path("attempts");
        assertThat(attempts).hasSize(2);
        JsonNode first = attempts.get(0);
        assertThat(first.path("key").path("id").asText()).isEqualTo(KeyMask.fingerprint(key(0)));
        assertThat(first.path("upstreamStatus").asInt()).isEqualTo(429);
        assertThat(first.path("verdict").asText()).isEqualTo("rate_minute");
        assertThat(first.path("message").asText()).contains("Quota exceeded");
        assertThat(attempts.get(1).path("verdict").asText()).isEqualTo("success");

        // The key filter finds requests that tried a key, the verdict filter requests that met one.
        assertThat(requests("?key=" + KeyMask.fingerprint(key(0)))).hasSize(1);
        assertThat(requests("?verdict=rate_minute")).hasSize(1);
    }

    @Test
    void anExhaustedPoolIsRecordedAsAFailureWithGooglesBody() {
        start(2);
        gw.fake().always(key(0), Behavior.quotaDay());
        gw.fake().always(key(1), Behavior.quotaDay());
        HttpResponse<String> r = gw.generate(MODEL);
        assertThat(r.statusCode()).isEqualTo(503);

        JsonNode list = requests("?status=5xx");
        assertThat(list).hasSize(1);
        JsonNode rec = list.get(0);
        assertThat(rec.path("status").asInt()).isEqualTo(503);
        assertThat(rec.path("attemptCount").asInt()).isEqualTo(2);
        assertThat(rec.path("error").path("reason").asText()).isNotEmpty();
        assertThat(rec.path("error").path("message").asText()).isNotEmpty();
        JsonNode one = admin.get("/admin/api/requests/" + rec.path("id").asText()).json();
        assertThat(field(one.path("attempts"), "verdict")).containsExactly("quota_day", "quota_day");
        assertThat(one.path("error").path("body").asText()).contains("RESOURCE_EXHAUSTED")
                .contains("GenerateRequestsPerDayPerProjectPerModel-FreeTier");
        assertThat(requests("?status=200")).isEmpty();
        assertThat(requests("?q=exhausted")).hasSize(1);
    }

    @Test
    void refusalsAreRecordedWithoutTheTokenTheyCarried() throws Exception {
        start(1, "GEMGATE_SERVER_MAX_BODY_BYTES", "1KiB");
        String badToken = "wrong-token-0123456789abcdef";
        HttpResponse<String> r = gw.send(gw.request("/v1beta/models/" + MODEL + ":generateContent?key=" + badToken)
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{}")).build());
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(gw.get("/nothing-here").statusCode()).isEqualTo(404);
        assertThat(gw.post("/v1beta/models/" + MODEL + ":generateContent", "{\"x\":\"" + "a".repeat(2048) + "\"}")
                .statusCode()).isEqualTo(413);

        JsonNode list = requests("?status=4xx");
        assertThat(field(list, "status")).containsExactlyInAnyOrder("401", "404", "413");
        JsonNode unauthorized = null;
        for (JsonNode n : list) {
            if (n.path("status").asInt() == 401) {
                unauthorized = n;
            }
        }
        assertThat(unauthorized.path("error").path("reason").asText()).isEqualTo("unauthorized");
        assertThat(unauthorized.path("attemptCount").asInt()).isZero();
        assertThat(unauthorized.path("path").asText()).doesNotContain(badToken);
        assertThat(admin.get("/admin/api/requests").raw().body()).doesNotContain(badToken)
                .doesNotContain(GatewayHarness.TOKEN);
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + gw.dataDir().resolve("requests.db"));
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select path, error_message from gemgate_requests")) {
            while (rs.next()) {
                assertThat(rs.getString(1)).doesNotContain(badToken).doesNotContain(GatewayHarness.TOKEN);
            }
        }
    }

    @Test
    void recordsSurviveARestartAndPagesFollowTheCursorNewestFirst() {
        start(1);
        for (int i = 0; i < 5; i++) {
            assertThat(gw.generate(MODEL).statusCode()).isEqualTo(200);
        }
        gw.restart();
        admin = new AdminClient(gw, 1);
        AdminClient.Answer page1 = admin.get("/admin/api/requests?limit=2");
        assertThat(page1.json().path("requests")).hasSize(2);
        String next = page1.json().path("next").asText();
        JsonNode page2 = admin.get("/admin/api/requests?limit=2&cursor=" + next).json();
        JsonNode page3 = admin.get("/admin/api/requests?limit=2&cursor=" + page2.path("next").asText()).json();
        assertThat(page3.path("requests")).hasSize(1);
        assertThat(page3.path("next").isNull()).isTrue();
        List<Long> ids = new ArrayList<>();
        for (JsonNode p : List.of(page1.json(), page2, page3)) {
            p.path("requests").forEach(n -> ids.add(Long.parseLong(n.path("id").asText())));
        }
        assertThat(ids).hasSize(5).isSortedAccordingTo((a, b) -> Long.compare(b, a));
    }

    @Test
    void csvExportAndBadParametersInTheAdminApisShape() {
        start(1);
        assertThat(gw.generate(MODEL).statusCode()).isEqualTo(200);
        HttpResponse<String> csv = gw.send(gw.request("/admin/api/requests").header("Authorization", "Bearer "
                + AdminClient.ADMIN_TOKEN).header("accept", "text/csv").GET().build());
        assertThat(csv.headers().firstValue("content-type").orElse("")).startsWith("text/csv");
        assertThat(csv.body()).doesNotContain(key(0));
        String[] lines = csv.body().split("\r\n");
        assertThat(lines[0]).startsWith("id,time,method,path");
        assertThat(lines).hasSize(2);
        assertThat(lines[1]).contains(",POST,/v1beta/models/" + MODEL + ":generateContent,native,");

        AdminClient.Answer bad = admin.get("/admin/api/requests?status=6xx");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.errorField()).isEqualTo("status");
        assertThat(admin.get("/admin/api/requests?limit=0").errorField()).isEqualTo("limit");
        assertThat(admin.get("/admin/api/requests/abc").status()).isEqualTo(400);
        assertThat(admin.get("/admin/api/requests/12345").status()).isEqualTo(404);
        assertThat(admin.get("/admin/api/usage?by=planet").errorField()).isEqualTo("by");
        assertThat(admin.call("DELETE", "/admin/api/requests", null).status()).isEqualTo(405);
    }
}
