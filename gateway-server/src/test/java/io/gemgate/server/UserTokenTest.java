package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.tokens.TokenLimits;
import io.gemgate.core.tokens.TokenRegistry;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Per-person tokens ({@code sk-...}) on the request path: who gets in, and their limits. */
@ExtendWith(LeakDetection.class)
class UserTokenTest {
    private static final String BODY = "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}]}";
    private static final String CHAT = "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    private GatewayHarness gw;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
    }

    private TokenRegistry.Created token(TokenLimits limits) {
        return gw.server().context().tokens().create("alice", limits);
    }

    private HttpResponse<String> generate(String secret, String model) {
        return gw.send(gw.request("/v1beta/models/" + model + ":generateContent").header("x-goog-api-key", secret)
                .POST(HttpRequest.BodyPublishers.ofString(BODY)).build());
    }

    @Test
    void aUserTokenWorksOnNativeAndOpenAiRoutesAndNeverTravelsUpstream() {
        gw = GatewayHarness.start(1);
        String secret = token(TokenLimits.unlimited()).secret();
        assertThat(secret).startsWith("sk-").hasSize(51);

        assertThat(generate(secret, "gemini-2.5-flash").statusCode()).isEqualTo(200);
        HttpResponse<String> chat = gw.send(gw.request("/v1/chat/completions").header("Authorization", "Bearer " + secret)
                .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build());
        assertThat(chat.statusCode()).isEqualTo(200);
        assertThat(gw.fake().requests()).allSatisfy(r -> {
            assertThat(r.header("x-goog-api-key")).isEqualTo(key(0));
            assertThat(r.headers().toString()).doesNotContain(secret);
        });
        var usage = gw.server().context().limiter().usage(
                gw.server().context().tokens().list().get(0), System.currentTimeMillis());
        assertThat(usage.requestsToday()).isEqualTo(2);
        assertThat(usage.tokensToday()).isEqualTo(20);
    }

    @Test
    void anUnknownOrRevokedTokenIs401() {
        gw = GatewayHarness.start(1);
        TokenRegistry.Created t = token(TokenLimits.unlimited());
        assertThat(generate("sk-" + "x".repeat(48), "gemini-2.5-flash").statusCode()).isEqualTo(401);
        gw.server().context().tokens().revoke(t.id());
        assertThat(generate(t.secret(), "gemini-2.5-flash").statusCode()).isEqualTo(401);
        assertThat(gw.fake().requestCount()).isZero();
    }

    @Test
    void requestsPerMinuteOverTheLimitGet429WithRetryAfterAndCostNothingUpstream() {
        gw = GatewayHarness.start(1);
        String secret = token(TokenLimits.builder().requestsPerMinute(2).build()).secret();
        assertThat(generate(secret, "gemini-2.5-flash").statusCode()).isEqualTo(200);
        assertThat(generate(secret, "gemini-2.5-flash").statusCode()).isEqualTo(200);

        HttpResponse<String> third = generate(secret, "gemini-2.5-flash");
        assertThat(third.statusCode()).isEqualTo(429);
        assertThat(third.body()).contains("requestsPerMinute", "RESOURCE_EXHAUSTED");
        assertThat(Long.parseLong(third.headers().firstValue("retry-after").orElseThrow())).isBetween(1L, 60L);
        assertThat(gw.fake().requestCount()).isEqualTo(2);
        // The shared token is not limited by alice's limits.
        assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
    }

    @Test
    void modelsOutsideTheAllowListAre403InTheRoutesShape() {
        gw = GatewayHarness.start(1);
        String secret = token(TokenLimits.builder().allowedModels(Set.of("gemini-2.5-flash")).build()).secret();
        assertThat(generate(secret, "gemini-2.5-flash").statusCode()).isEqualTo(200);
        assertThat(generate(secret, "gemini-2.5-pro").statusCode()).isEqualTo(403);
        HttpResponse<String> chat = gw.send(gw.request("/v1/chat/completions").header("Authorization", "Bearer " + secret)
                .POST(HttpRequest.BodyPublishers.ofString(CHAT.replace("2.5-flash", "2.5-pro"))).build());
        assertThat(chat.statusCode()).isEqualTo(403);
        assertThat(chat.body()).contains("\"error\":{", "\"type\":");
        assertThat(gw.fake().requestCount()).isEqualTo(1);
    }

    @Test
    void theGatewayWideModelAllowListRefusesOtherModelsForEveryone() {
        gw = GatewayHarness.start(1);
        var ctx = gw.server().context();
        ctx.settings(ctx.settings().toBuilder().allowedModels(Set.of("gemini-2.5-flash")).build());
        assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
        HttpResponse<String> pro = gw.generate("gemini-2.5-pro");
        assertThat(pro.statusCode()).isEqualTo(403);
        assertThat(pro.body()).contains("not allowed");
        assertThat(gw.get("/v1beta/models").statusCode()).isEqualTo(200); // lists name no model
        assertThat(gw.fake().requestCount()).isEqualTo(2);
    }

    @Test
    void maxConcurrencyRefusesASecondRequestWhileTheFirstIsInFlight() throws Exception {
        gw = GatewayHarness.start(1);
        String secret = token(TokenLimits.builder().maxConcurrency(1).build()).secret();
        gw.fake().script(key(0), Behavior.slow(Duration.ofMillis(500), Behavior.ok()));
        CompletableFuture<HttpResponse<String>> first = gw.http().sendAsync(
                gw.request("/v1beta/models/gemini-2.5-flash:generateContent").header("x-goog-api-key", secret)
                        .POST(HttpRequest.BodyPublishers.ofString(BODY)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(gw.fake().awaitRequestCount(1, Duration.ofSeconds(5))).isTrue();
        assertThat(generate(secret, "gemini-2.5-flash").statusCode()).isEqualTo(429);
        assertThat(first.get().statusCode()).isEqualTo(200);
        assertThat(generate(secret, "gemini-2.5-flash").statusCode()).isEqualTo(200); // released when it ended
    }
}
