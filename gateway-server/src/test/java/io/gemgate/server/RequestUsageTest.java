package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gemgate.core.keys.KeyMask;
import io.gemgate.core.keys.KeySpec;
import io.gemgate.server.requestlog.RequestLog;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.CapturingAppender;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Usage history (exact, by token, key, model and group, per day and per minute), retention with a driven clock, and
 * the request log's queue under a database that stalls: successes sampled, failures kept, drops counted, no request
 * slowed.
 */
@ExtendWith(LeakDetection.class)
class RequestUsageTest {
    private static final String MODEL = "gemini-2.5-flash";
    private FakeGemini fake;
    private GatewayHarness gw;
    private AdminClient admin;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    private static Map<String, Long> byValue(JsonNode totals, String field) {
        Map<String, Long> out = new HashMap<>();
        totals.forEach(t -> out.put(t.path("value").asText(), t.path(field).asLong()));
        return out;
    }

    @Test
    void usageIsCountedByTokenKeyModelAndGroupPerDayAndPerMinute() {
        gw = GatewayHarness.start(2, AdminClient.env());
        admin = new AdminClient(gw, 2);
        AdminClient.Answer created = admin.post("/admin/api/tokens", "{\"name\":\"alice\"}");
        assertThat(created.status()).isEqualTo(201);
        String aliceId = created.json().path("id").asText();
        String alice = created.json().path("token").asText();
        for (int i = 0; i < 3; i++) {
            assertThat(gw.generate(MODEL).statusCode()).isEqualTo(200);
        }
        HttpResponse<String> byAlice = gw.send(gw.request("/v1beta/models/gemini-2.5-pro:generateContent")
                .header("x-goog-api-key", alice).POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                        "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}]}")).build());
        assertThat(byAlice.statusCode()).isEqualTo(200);
        gw.fake().always(key(0), Behavior.serverError());
        gw.fake().always(key(1), Behavior.serverError());
        assertThat(gw.generate(MODEL).statusCode()).isEqualTo(500);

        JsonNode tokens = admin.get("/admin/api/usage?by=token&period=day").json();
        assertThat(tokens.path("rows")).isNotEmpty();
        assertThat(byValue(tokens.path("totals"), "requests")).containsEntry("shared", 4L).containsEntry(aliceId, 1L);
        assertThat(byValue(tokens.path("totals"), "failures")).containsEntry("shared", 1L);
        assertThat(byValue(tokens.path("totals"), "promptTokens")).containsEntry(aliceId, 7L);
        for (JsonNode t : tokens.path("totals")) {
            if (t.path("value").asText().equals(aliceId)) {
                assertThat(t.path("name").asText()).isEqualTo("alice");
            }
        }
        JsonNode models = admin.get("/admin/api/usage?by=model&period=minute").json();
        assertThat(byValue(models.path("totals"), "requests")).containsEntry(MODEL, 4L)
                .containsEntry("gemini-2.5-pro", 1L);
        assertThat(byValue(models.path("totals"), "outputTokens")).containsEntry(MODEL, 9L);
        JsonNode keys = admin.get("/admin/api/usage?by=key").json();
        Map<String, Long> perKey = byValue(keys.path("totals"), "requests");
        // 4 successes and one request that met a 500 on each key (pool.maxAttempts 3 allows both).
        assertThat(perKey.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(6);
        assertThat(byValue(keys.path("totals"), "failures").values().stream().mapToLong(Long::longValue).sum())
                .isEqualTo(2);
        for (JsonNode t : keys.path("totals")) {
            assertThat(t.path("name").asText()).startsWith("AIza").contains("...");
        }
        assertThat(perKey).containsKeys(KeyMask.fingerprint(key(0)), KeyMask.fingerprint(key(1)));
        JsonNode groups = admin.get("/admin/api/usage?by=group").json();
        assertThat(byValue(groups.path("totals"), "requests")).containsEntry("default", 5L);

        HttpResponse<String> csv = gw.send(gw.request("/admin/api/usage?by=model&format=csv")
                .header("Authorization", "Bearer " + AdminClient.ADMIN_TOKEN).GET().build());
        assertThat(csv.headers().firstValue("content-type").orElse("")).startsWith("text/csv");
        assertThat(csv.body()).startsWith("day,model,name,requests,failures,prompt_tokens,output_tokens,"
                + "reasoning_tokens\r\n").contains("," + MODEL + "," + MODEL + ",4,1,21,9,0\r\n");
    }

    @Test
    void recordsAndUsagePastTheirRetentionArePrunedWithADrivenClock() throws Exception {
        fake = FakeGemini.start();
        AtomicLong now = new AtomicLong(Instant.parse("2026-12-01T12:00:00Z").toEpochMilli());
        Map<String, String> env = AdminClient.env("GEMGATE_REQUESTS_RETENTION", "7d");
        gw = GatewayHarness.start(fake, List.of(KeySpec.of(key(0))), env, now::get);
        admin = new AdminClient(gw, 1);
        assertThat(gw.generate(MODEL).statusCode()).isEqualTo(200);
        assertThat(admin.get("/admin/api/requests").json().path("requests")).hasSize(1);
        RequestLog log = gw.server().context().requestLog();

        now.addAndGet(TimeUnit.DAYS.toMillis(6));
        assertThat(gw.generate(MODEL).statusCode()).isEqualTo(200);
        assertThat(log.pruneNow().get(10, TimeUnit.SECONDS)).isZero();
        assertThat(admin.get("/admin/api/requests").json().path("requests")).hasSize(2);

        now.addAndGet(TimeUnit.DAYS.toMillis(2)); // the first is 8 days old, the second 2
        assertThat(log.pruneNow().get(10, TimeUnit.SECONDS)).isEqualTo(1);
        JsonNode left = admin.get("/admin/api/requests").json().path("requests");
        assertThat(left).hasSize(1);
        assertThat(left.get(0).path("time").asText()).startsWith("2026-12-07");
        // Usage per day stays (90 days); usage per minute only a day.
        assertThat(admin.get("/admin/api/usage?by=model&period=day&from=2026-11-30").json().path("rows")).hasSize(2);
        assertThat(admin.get("/admin/api/usage?by=model&period=minute&from=0").json().path("rows")).isEmpty();
    }

    @Test
    void aStalledDatabaseSamplesSuccessesKeepsFailuresAndCountsDrops() throws Exception {
        gw = GatewayHarness.start(1, AdminClient.env("GEMGATE_REQUESTS_QUEUE_SIZE", "16",
                "GEMGATE_REQUESTS_SAMPLE_WHEN_BUSY", "1000000"));
        admin = new AdminClient(gw, 1);
        assertThat(gw.generate(MODEL).statusCode()).isEqualTo(200);
        assertThat(admin.get("/admin/api/requests").json().path("requests")).hasSize(1); // schema made, writer idle
        RequestLog log = gw.server().context().requestLog();
        int successes = 40;
        int failures = 6;
        int linesBefore = CapturingAppender.accessLines().size();
        try (Connection lock = DriverManager.getConnection("jdbc:sqlite:" + gw.dataDir().resolve("requests.db"));
             Statement s = lock.createStatement()) {
            s.execute("pragma busy_timeout=5000");
            s.execute("begin exclusive"); // the database stalls: the writer waits on its lock
            long start = System.nanoTime();
            for (int i = 0; i < successes; i++) {
                assertThat(gw.generate(MODEL).statusCode()).isEqualTo(200);
            }
            for (int i = 0; i < failures; i++) {
                assertThat(gw.get("/no-such-route-" + i).statusCode()).isEqualTo(404);
            }
            // No request waited for the database (each is answered while the writer is stuck).
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(4));
            assertThat(log.dropped(RequestLog.Drop.SAMPLED)).isPositive();
            // The access log does not wait for the database: every request's line is written while it stalls.
            assertThat(NativeProxyTest.waitUntil(() -> CapturingAppender.accessLines().stream().skip(linesBefore)
                    .filter(l -> l.contains(":generateContent 200 ") || l.contains("/no-such-route-"))
                    .count() == successes + failures)).isTrue();
            s.execute("rollback");
        }
        JsonNode all = admin.get("/admin/api/requests?limit=500").json();
        int ok = 0;
        int failed = 0;
        for (JsonNode r : all.path("requests")) {
            if (r.path("status").asInt() == 404) {
                failed++;
            } else {
                ok++;
            }
        }
        assertThat(failed).as("failures are always kept").isEqualTo(failures);
        assertThat(ok).isLessThan(successes + 1);
        long sampled = log.dropped(RequestLog.Drop.SAMPLED);
        assertThat(ok + sampled + log.dropped(RequestLog.Drop.FULL)).isEqualTo(successes + 1);
        assertThat(all.path("log").path("dropped").path("sampled").asLong()).isEqualTo(sampled);
        // Usage stays exact whatever was dropped (the 404s carried the shared token too).
        JsonNode usage = admin.get("/admin/api/usage?by=token").json();
        assertThat(byValue(usage.path("totals"), "requests")).containsEntry("shared", (long) successes + 1 + failures);
        assertThat(byValue(usage.path("totals"), "failures")).containsEntry("shared", (long) failures);
    }
}
