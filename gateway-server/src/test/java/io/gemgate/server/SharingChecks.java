package io.gemgate.server;

import static io.gemgate.server.AdminClient.await;
import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.KeyStatus;
import io.gemgate.core.tokens.TokenLimiter;
import io.gemgate.core.tokens.TokenLimits;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import java.net.http.HttpRequest;
import java.time.Duration;

/**
 * What two gateways on one Redis deployment (TLS, Cluster) must share, checked the same way for each: they see each
 * other, a cooldown learned by one is honoured by the other, a token created on one works on the other and its limit
 * holds across both (token leases), and a key budget set on one holds across both (budget leases).
 */
final class SharingChecks {
    static final String FLASH = "gemini-2.5-flash";
    private static final Duration SOON = Duration.ofSeconds(15);

    private SharingChecks() {
    }

    /** Runs every check on {@code a} and {@code b}, two gateways with keys {@code key(0..2)} in front of {@code fake}. */
    static void keysTokensVerdictsAndLeasesAreShared(FakeGemini fake, GatewayHarness a, GatewayHarness b) {
        for (GatewayHarness g : new GatewayHarness[] {a, b}) {
            await(() -> g.server().shared().isConnected(), ok -> ok, SOON);
            await(() -> g.server().shared().instances().size(), n -> n == 2, SOON);
        }

        // A verdict: key 0 answers 429 through a; b cools it down too and serves with the others.
        fake.always(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(600)));
        for (int i = 0; i < 3 && fake.requestCount(key(0)) == 0; i++) {
            assertThat(a.generate(FLASH).statusCode()).isEqualTo(200);
        }
        assertThat(fake.requestCount(key(0))).isPositive();
        KeyPool poolB = b.server().pool();
        await(() -> poolB.status(b.poolKey(key(0)), poolB.model(FLASH)).state(), s -> s == KeyStatus.State.COOLING,
                SOON);

        // A token with a limit, created on a: works on b, and its limit holds across both (leased from Redis).
        int limit = 12;
        var token = a.server().context().tokens().create("team", TokenLimits.builder().requestsPerMinute(limit)
                .build());
        await(() -> b.server().context().tokens().get(token.id()).isPresent(), ok -> ok, SOON);
        for (GatewayHarness g : new GatewayHarness[] {a, b}) {
            await(() -> g.server().context().limiter().sharing(), m -> m == TokenLimiter.Sharing.LEASED, SOON);
        }
        int ok = 0;
        for (int i = 0; i < 2 * limit; i++) {
            ok += generate(i % 2 == 0 ? a : b, token.secret()) == 200 ? 1 : 0;
        }
        assertThat(ok).as("requests admitted of %d with a limit of %d across 2 gateways", 2 * limit, limit)
                .isBetween(limit / 2, limit + 2 * TokenLimiter.borrow(limit, 2));

        // A key budget set on a: leased by both, it holds across both (keys 1 and 2; key 0 cools down).
        AdminClient.Answer set = new AdminClient(a, 3).patch("/admin/api/settings",
                "{\"keyBudgets\":{\"" + FLASH + "\":{\"rpm\":8}}}");
        assertThat(set.status()).as(set.raw().body()).isEqualTo(200);
        for (GatewayHarness g : new GatewayHarness[] {a, b}) {
            KeyPool p = g.server().pool();
            await(() -> p.budgetsLeased() && p.budget(p.model(FLASH)).rpm() == 8, v -> v, SOON);
        }
        int before1 = fake.requestCount(key(1));
        int before2 = fake.requestCount(key(2));
        for (int i = 0; i < 60; i++) {
            assertThat((i % 2 == 0 ? a : b).generate(FLASH).statusCode()).isIn(200, 429);
        }
        // B = clamp(8 / (4 × 2), 1, 4) = 1 per gateway and key.
        assertThat(fake.requestCount(key(1)) - before1).isBetween(8 - 2 * 1, 8 + 2);
        assertThat(fake.requestCount(key(2)) - before2).isBetween(8 - 2 * 1, 8 + 2);
        assertThat(a.server().shared().leaseCalls()).isPositive();
    }

    private static int generate(GatewayHarness g, String secret) {
        return g.send(g.request("/v1beta/models/" + FLASH + ":generateContent").header("x-goog-api-key", secret)
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}")).build()).statusCode();
    }
}
