package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gemgate.core.keys.KeyMask;
import io.gemgate.server.AdminClient.Answer;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Per-key budgets (setting {@code keyBudgets}) through the gateway: a key that spent its budget for the minute is not
 * sent more, the client gets 429 with Retry-After to the minute's end (or waits for it with failover.maxWait), and
 * the admin API shows the use. The gateway runs on a clock the test sets.
 */
@ExtendWith(LeakDetection.class)
class KeyBudgetProxyTest {
    private static final String FLASH = "gemini-2.5-flash";
    /** 2026-11-22 10:00:20 in Los Angeles: 40 s before the minute ends. */
    private static final long START = ZonedDateTime.of(2026, 11, 22, 10, 0, 20, 0, ZoneId.of("America/Los_Angeles"))
            .toInstant().toEpochMilli();
    private static final long NEXT_MINUTE = START + 40_000;

    private final AtomicLong now = new AtomicLong(START);
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

    private void start(int keys) {
        fake = FakeGemini.start();
        gw = GatewayHarness.start(fake, GatewayHarness.specs(keys), AdminClient.env(), now::get);
        admin = new AdminClient(gw, keys);
    }

    private void settings(String json) {
        Answer a = admin.patch("/admin/api/settings", json);
        assertThat(a.status()).as(a.raw().body()).isEqualTo(200);
    }

    @Test
    void keysPacedByRpmServeInTurnThenTheClientGets429UntilTheMinuteEnds() {
        start(2);
        settings("{\"keyBudgets\":{\"" + FLASH + "\":{\"rpm\":2}}}");

        for (int i = 0; i < 4; i++) {
            assertThat(gw.generate(FLASH).statusCode()).isEqualTo(200);
        }
        HttpResponse<String> fifth = gw.generate(FLASH);

        assertThat(fake.keysUsed()).containsExactly(key(0), key(1), key(0), key(1));
        assertThat(fifth.statusCode()).isEqualTo(429);
        assertThat(fifth.body()).contains("RESOURCE_EXHAUSTED", "2 at their budget for the minute");
        assertThat(Long.parseLong(fifth.headers().firstValue("retry-after").orElseThrow())).isEqualTo(40);
        assertThat(fake.requestCount()).isEqualTo(4);
        assertThat(gw.generate("gemini-2.5-pro").statusCode()).isEqualTo(200); // no budget for that model

        now.set(NEXT_MINUTE);
        assertThat(gw.generate(FLASH).statusCode()).isEqualTo(200);
        assertThat(fake.requestCount()).isEqualTo(6);
    }

    @Test
    void aBudgetChangedByPatchAppliesToTheNextRequest() {
        start(1);
        settings("{\"keyBudgets\":{\"*\":{\"rpm\":1}}}");
        assertThat(gw.generate(FLASH).statusCode()).isEqualTo(200);
        assertThat(gw.generate(FLASH).statusCode()).isEqualTo(429);

        settings("{\"keyBudgets\":{\"*\":{\"rpm\":2}}}");
        assertThat(gw.generate(FLASH).statusCode()).isEqualTo(200);
        assertThat(gw.generate(FLASH).statusCode()).isEqualTo(429);

        settings("{\"keyBudgets\":{}}");
        assertThat(gw.generate(FLASH).statusCode()).isEqualTo(200);
        assertThat(fake.requestCount()).isEqualTo(3);
    }

    @Test
    void withFailoverMaxWaitARequestWaitsForTheMinuteToRollOver() throws Exception {
        start(1);
        now.set(NEXT_MINUTE - 20_000);
        settings("{\"keyBudgets\":{\"" + FLASH + "\":{\"rpm\":1}},\"failoverMaxWait\":\"5s\"}");
        assertThat(gw.generate(FLASH).statusCode()).isEqualTo(200);

        // The key frees in 20 s, past the 5 s wait: answered at once.
        long t0 = System.nanoTime();
        HttpResponse<String> refused = gw.generate(FLASH);
        assertThat(refused.statusCode()).isEqualTo(429);
        assertThat(refused.headers().firstValue("retry-after")).contains("20");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(4));

        // 300 ms before the minute ends: the request waits on a timer, and goes out once the clock passes it.
        now.set(NEXT_MINUTE - 300);
        CompletableFuture<HttpResponse<String>> waiting = gw.http().sendAsync(gw.request("/v1beta/models/" + FLASH
                        + ":generateContent").header("x-goog-api-key", GatewayHarness.TOKEN)
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                        "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}")).build(),
                HttpResponse.BodyHandlers.ofString());
        AdminClient.await(() -> gw.server().context().inFlight().sum(), n -> n == 1, Duration.ofSeconds(10));
        assertThat(waiting).isNotDone();
        assertThat(fake.requestCount()).isEqualTo(1);
        now.set(NEXT_MINUTE);

        assertThat(waiting.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(fake.keysUsed()).containsExactly(key(0), key(0));
    }

    @Test
    void theAdminKeysViewShowsTheUseAgainstTheBudget() {
        start(1);
        settings("{\"keyBudgets\":{\"" + FLASH + "\":{\"rpm\":5,\"tpm\":20}}}");
        // The fake reports 7 prompt + 3 output tokens per answer: two answers spend the TPM.
        assertThat(gw.generate(FLASH).statusCode()).isEqualTo(200);
        assertThat(gw.generate(FLASH).statusCode()).isEqualTo(200);
        assertThat(gw.generate(FLASH).statusCode()).isEqualTo(429);
        assertThat(gw.generate("gemini-2.5-pro").statusCode()).isEqualTo(200);

        JsonNode k = admin.key(KeyMask.fingerprint(key(0)));
        assertThat(k.path("status").asText()).isEqualTo("cooling");
        assertThat(k.path("reason").asText()).isEqualTo("budget for the minute");
        assertThat(k.path("untilMillis").asLong()).isEqualTo(NEXT_MINUTE);
        JsonNode flash = model(k, FLASH);
        assertThat(flash.path("requests").asLong()).isEqualTo(2);
        assertThat(flash.path("budget")).isEqualTo(AdminClient.tree(
                "{\"rpm\":5,\"tpm\":20,\"rpd\":-1,\"minuteRequests\":2,\"minuteTokens\":20}"));
        assertThat(model(k, "gemini-2.5-pro").has("budget")).isFalse();
        assertThat(fake.requestCount()).isEqualTo(3);
    }

    private static JsonNode model(JsonNode key, String name) {
        List<JsonNode> found = new java.util.ArrayList<>();
        key.path("models").forEach(m -> {
            if (m.path("model").asText().equals(name)) {
                found.add(m);
            }
        });
        assertThat(found).as("model %s of %s", name, key).hasSize(1);
        return found.get(0);
    }
}
