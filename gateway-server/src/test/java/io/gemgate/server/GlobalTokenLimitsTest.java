package io.gemgate.server;

import static io.gemgate.server.AdminClient.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.tokens.TokenLimiter;
import io.gemgate.core.tokens.TokenLimits;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A user token's limits hold across the gateways on one Redis, within the bound documented in README, "Limits across
 * gateways" (each gateway may admit {@link TokenLimiter#borrow} units the others do not know of yet), and without Redis
 * each gateway counts on its own as before.
 */
@ExtendWith(LeakDetection.class)
class GlobalTokenLimitsTest {
    @RegisterExtension
    static final RedisServer redis = new RedisServer();

    private static final String FLASH = "gemini-2.5-flash";
    private static final Duration SOON = Duration.ofSeconds(10);

    private FakeGemini fake;
    private final List<GatewayHarness> gateways = new ArrayList<>();

    @BeforeEach
    void emptyRedisAndStartTheFake() {
        redis.start();
        try (RedisClient c = RedisClient.create(redis.url()); StatefulRedisConnection<String, String> conn =
                c.connect()) {
            conn.sync().flushall();
        }
        fake = FakeGemini.start();
    }

    @AfterEach
    void stop() {
        for (GatewayHarness g : gateways) {
            g.close();
        }
        fake.close();
    }

    private GatewayHarness gateway(boolean shared) {
        Map<String, String> env = shared ? AdminClient.env("GEMGATE_REDIS_URL", redis.url()) : AdminClient.env();
        GatewayHarness g = GatewayHarness.start(fake, GatewayHarness.specs(4), env, System::currentTimeMillis);
        gateways.add(g);
        return g;
    }

    private static int generate(GatewayHarness g, String secret) {
        return g.send(g.request("/v1beta/models/" + FLASH + ":generateContent").header("x-goog-api-key", secret)
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}")).build()).statusCode();
    }

    /** Three gateways that know of each other (heartbeats) and lease; a token created on the first reaches all. */
    private List<GatewayHarness> threeSharing(String[] secretHolder, TokenLimits limits) {
        List<GatewayHarness> gs = List.of(gateway(true), gateway(true), gateway(true));
        for (GatewayHarness g : gs) {
            await(() -> g.server().shared().instances().size(), n -> n == 3, SOON);
            await(() -> g.server().context().limiter().sharing(), m -> m == TokenLimiter.Sharing.LEASED, SOON);
        }
        var created = gs.get(0).server().context().tokens().create("team", limits);
        for (GatewayHarness g : gs) {
            await(() -> g.server().context().tokens().get(created.id()).isPresent(), ok -> ok, SOON);
        }
        secretHolder[0] = created.secret();
        return gs;
    }

    @Test
    void requestsPerMinuteHoldAcrossThreeGatewaysWithinTheirBorrowedUnits() throws Exception {
        int limit = 30;
        String[] secret = new String[1];
        List<GatewayHarness> gs = threeSharing(secret, TokenLimits.builder().requestsPerMinute(limit).build());
        int ok = 0;
        int refused = 0;
        // 90 requests, round robin over the gateways, from three client threads at once: three times the limit.
        ExecutorService clients = Executors.newFixedThreadPool(3);
        try {
            List<CompletableFuture<Integer>> answers = new ArrayList<>();
            for (int i = 0; i < 90; i++) {
                GatewayHarness g = gs.get(i % 3);
                answers.add(CompletableFuture.supplyAsync(() -> generate(g, secret[0]), clients));
            }
            for (CompletableFuture<Integer> a : answers) {
                int s = a.get(30, TimeUnit.SECONDS);
                assertThat(s).isIn(200, 429);
                if (s == 200) {
                    ok++;
                } else {
                    refused++;
                }
            }
        } finally {
            clients.shutdownNow();
        }
        int bound = 3 * TokenLimiter.borrow(limit, 3);
        assertThat(ok).as("admitted of 90 with a limit of %d across 3 gateways", limit)
                .isLessThanOrEqualTo(limit + bound)
                .isGreaterThanOrEqualTo(limit - 3 * 5); // at most a share of 30 / (4 * 3) each held unused
        assertThat(refused).isEqualTo(90 - ok);
        // The refusal says why, and when to come back (within the minute plus a grant's life).
        HttpResponse<String> r = gs.get(1).send(gs.get(1).request("/v1beta/models/" + FLASH + ":generateContent")
                .header("x-goog-api-key", secret[0]).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"contents\":[]}")).build());
        assertThat(r.statusCode()).isEqualTo(429);
        assertThat(r.body()).contains("requestsPerMinute limit of 30");
        assertThat(Long.parseLong(r.headers().firstValue("retry-after").orElseThrow())).isBetween(1L, 72L);
    }

    @Test
    void withoutRedisEachGatewayCountsItsOwnAsBefore() {
        GatewayHarness a = gateway(false);
        GatewayHarness b = gateway(false);
        var token = a.server().context().tokens().create("solo", TokenLimits.builder().requestsPerMinute(3).build());
        b.server().context().tokens().apply(a.server().context().tokens().get(token.id()).orElseThrow().toRecord());
        int ok = 0;
        for (int i = 0; i < 5; i++) {
            ok += generate(a, token.secret()) == 200 ? 1 : 0;
            ok += generate(b, token.secret()) == 200 ? 1 : 0;
        }
        assertThat(ok).isEqualTo(6);
        assertThat(a.server().context().limiter().sharing()).isEqualTo(TokenLimiter.Sharing.LOCAL);
    }

    @Test
    void requestsPerDayHoldAcrossGatewaysAndTheRefusalNamesTheDay() throws Exception {
        String[] secret = new String[1];
        List<GatewayHarness> gs = threeSharing(secret, TokenLimits.builder().requestsPerDay(40).build());
        int ok = 0;
        for (int i = 0; i < 60; i++) {
            ok += generate(gs.get(i % 3), secret[0]) == 200 ? 1 : 0;
        }
        assertThat(ok).isBetween(40 - 3 * 3, 40 + 3 * TokenLimiter.borrow(40, 3));
        // The day's count across gateways is in Redis, and a refusal names the day's limit.
        HttpResponse<String> r = gs.get(2).send(gs.get(2).request("/v1beta/models/" + FLASH + ":generateContent")
                .header("x-goog-api-key", secret[0]).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"contents\":[]}")).build());
        assertThat(r.statusCode()).isEqualTo(429);
        assertThat(r.body()).contains("requestsPerDay limit of 40");
    }
}
