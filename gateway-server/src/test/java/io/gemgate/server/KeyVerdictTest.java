package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gemgate.core.keys.ApiKey;
import io.gemgate.server.metrics.MicrometerMetrics;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.CapturingAppender;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import java.net.http.HttpResponse;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A 401/403/404 sets a key aside only when Google says the key is at fault (README, "Failover and verdicts"); a request
 * never sets aside more than one key; and a burst of set-asides is braked, so that no request content, wrong upstream
 * or outage can empty the pool.
 */
@ExtendWith(LeakDetection.class)
class KeyVerdictTest {
    private static final String FILE_DENIED = Behavior.error(403, "PERMISSION_DENIED",
            "You do not have permission to access the File abc123 or it may not exist.");
    private static final String CACHE_DENIED = Behavior.error(403, "PERMISSION_DENIED",
            "CachedContent not found (or permission denied)");
    private static final String KEY_INVALID_403 = Behavior.error(403, "PERMISSION_DENIED",
            "API key not valid. Please pass a valid API key.", """
            {"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID",\
            "domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}""");
    private static final String GENERATE = "/v1beta/models/gemini-2.5-flash:generateContent";
    private static final String TUNED = "/v1beta/tunedModels/my-model-7:generateContent";
    private static final String WITH_FILE_TEXT = "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}]}";

    private GatewayHarness gw;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
    }

    @Test
    void aResourceOfAnotherProjectIsRelayedUnchangedAndNoKeyLeavesTheRotationAfterManyRequests() {
        // A reference the gateway does not look up itself (a tuned model): the upstream's 403 is the request's.
        gw = GatewayHarness.start(6);
        for (int i = 0; i < 6; i++) {
            gw.fake().always(key(i), Behavior.status(403, FILE_DENIED));
        }
        for (int i = 0; i < 12; i++) {
            HttpResponse<String> r = gw.post(TUNED, WITH_FILE_TEXT);
            assertThat(r.statusCode()).isEqualTo(403);
            assertThat(r.body()).isEqualTo(FILE_DENIED);
        }
        assertThat(gw.fake().requestCount()).as("no failover: another key cannot hold the file either").isEqualTo(12);
        for (int i = 0; i < 6; i++) {
            ApiKey k = gw.poolKey(key(i));
            assertThat(k.isInvalid()).as("key %d", i).isFalse();
        }
        for (int i = 0; i < 6; i++) {
            gw.fake().always(key(i), Behavior.ok());
        }
        assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
        assertThat(gw.get("/ready").statusCode()).isEqualTo(200);
    }

    @Test
    void aCachedContentOfAnotherProjectAndA404AreTheRequestsToo() {
        gw = GatewayHarness.start(2);
        gw.fake().script(key(0), Behavior.status(403, CACHE_DENIED), Behavior.status(404,
                Behavior.error(404, "NOT_FOUND", "File abc123 not found.")));
        HttpResponse<String> cache = gw.post(GENERATE, WITH_FILE_TEXT);
        assertThat(cache.statusCode()).isEqualTo(403);
        assertThat(cache.body()).contains("CachedContent not found (or permission denied)");
        gw.fake().script(key(1), Behavior.status(404, Behavior.error(404, "NOT_FOUND", "File abc123 not found.")));
        HttpResponse<String> missing = gw.get("/v1beta/tunedModels/abc123");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(gw.fake().requestCount()).isEqualTo(2);
        assertThat(gw.poolKey(key(0)).isInvalid()).isFalse();
        assertThat(gw.poolKey(key(1)).isInvalid()).isFalse();
    }

    @Test
    void aKeyLevelReasonStillSetsThatOneKeyAsideAndTheNextKeyServes() {
        gw = GatewayHarness.start(3);
        gw.fake().always(key(0), Behavior.status(403, Behavior.error(403, "PERMISSION_DENIED",
                "Generative Language API has not been used in project 123 before or it is disabled.", """
                {"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"SERVICE_DISABLED",\
                "domain":"googleapis.com"}""")));
        assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
        assertThat(gw.poolKey(key(0)).isInvalid()).isTrue();
        assertThat(gw.poolKey(key(0)).invalidReason()).isEqualTo("SERVICE_DISABLED");
        assertThat(gw.fake().keysUsed()).containsExactly(key(0), key(1));
    }

    @Test
    void anUpstreamThatRefusesEveryKeyAsInvalidSetsAsideAtMostOnePerRequestAndAShareOfThePoolThenBrakes()
            throws Exception {
        MicrometerMetrics metrics = new MicrometerMetrics();
        gw = GatewayHarness.start(6, AdminClient.env(), metrics);
        for (int i = 0; i < 6; i++) {
            gw.fake().always(key(i), Behavior.status(403, KEY_INVALID_403));
        }
        int before = CapturingAppender.lines().size();
        for (int i = 0; i < 10; i++) {
            int invalidBefore = invalidCount();
            HttpResponse<String> r = gw.generate("gemini-2.5-flash");
            assertThat(r.statusCode()).isIn(502, 503);
            assertThat(r.body()).doesNotContain("API key not valid").doesNotContain("AIza");
            assertThat(invalidCount() - invalidBefore).as("request %d set aside at most one key", i)
                    .isLessThanOrEqualTo(1);
        }
        assertThat(invalidCount()).as("half of 6 keys at most").isEqualTo(3);
        assertThat(gw.get("/ready").statusCode()).isEqualTo(200);

        JsonNode alerts = new AdminClient(gw, 6).get("/admin/api/stats").json().path("alerts");
        assertThat(alerts).hasSize(1);
        assertThat(alerts.get(0).path("kind").asText()).isEqualTo("setAsideBrake");
        assertThat(alerts.get(0).path("reason").asText()).isEqualTo("API_KEY_INVALID");
        assertThat(alerts.get(0).path("refused").asInt()).isPositive();

        String scrape = gw.send(gw.request("/metrics").GET().build()).body();
        assertThat(scrape).contains("gemgate_keys_setaside_brake_engaged 1.0");
        assertThat(scrape).containsPattern("gemgate_keys_setaside_braked_total [1-9]");

        long errors = CapturingAppender.lines().subList(before, CapturingAppender.lines().size()).stream()
                .filter(l -> l.contains("set-aside brake engaged")).count();
        assertThat(errors).as("one ERROR per engagement").isEqualTo(1);

        // The keys it held back still serve once the upstream is right again.
        for (int i = 0; i < 6; i++) {
            gw.fake().always(key(i), Behavior.ok());
        }
        Set<String> served = new HashSet<>();
        for (int i = 0; i < 6; i++) {
            assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
        }
        served.addAll(gw.fake().keysUsed().subList(gw.fake().requestCount() - 6, gw.fake().requestCount()));
        assertThat(served).hasSize(3);
    }

    @Test
    void theBrakeShareIsASetting() {
        gw = GatewayHarness.start(6, java.util.Map.of("GEMGATE_BRAKE_SHARE", "0.34", "GEMGATE_BRAKE_WINDOW", "10m"));
        for (int i = 0; i < 6; i++) {
            gw.fake().always(key(i), Behavior.status(403, KEY_INVALID_403));
        }
        for (int i = 0; i < 8; i++) {
            assertThat(gw.generate("gemini-2.5-flash").statusCode()).isIn(502, 503);
        }
        assertThat(invalidCount()).as("floor(0.34 * 6) keys at most").isEqualTo(2);
    }

    private int invalidCount() {
        int n = 0;
        for (int i = 0; i < 6; i++) {
            if (gw.poolKey(key(i)).isInvalid()) {
                n++;
            }
        }
        return n;
    }
}
