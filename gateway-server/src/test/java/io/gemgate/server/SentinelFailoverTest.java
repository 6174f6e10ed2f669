package io.gemgate.server;

import static io.gemgate.server.AdminClient.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.tokens.TokenLimits;
import io.gemgate.testing.CapturingAppender;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RedisSentinel;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two gateways on Redis behind Sentinel ({@code redis-sentinel://...#gemgate}; README, "Several gateways"), real
 * processes. The master is killed with SIGKILL: the gateways keep serving from memory, follow the Sentinels to the
 * promoted replica, catch up (a change made on one during the outage reaches the other), and each says so once: one
 * WARN when Redis goes away, none per reconnection attempt.
 */
@ExtendWith(LeakDetection.class)
class SentinelFailoverTest {
    private static final String FLASH = "gemini-2.5-flash";
    private static final Duration SOON = Duration.ofSeconds(20);

    private RedisSentinel sentinel;
    private FakeGemini fake;
    private final List<GatewayHarness> gateways = new ArrayList<>();

    @BeforeEach
    void start() {
        sentinel = RedisSentinel.start();
        fake = FakeGemini.start();
    }

    @AfterEach
    void stop() {
        for (GatewayHarness g : gateways) {
            g.close();
        }
        fake.close();
        sentinel.close();
    }

    private GatewayHarness gateway() {
        GatewayHarness g = GatewayHarness.start(fake, GatewayHarness.specs(2),
                AdminClient.env("GEMGATE_REDIS_URL", sentinel.url()), System::currentTimeMillis);
        gateways.add(g);
        return g;
    }

    private static int generate(GatewayHarness g, String secret) {
        return g.send(g.request("/v1beta/models/" + FLASH + ":generateContent").header("x-goog-api-key", secret)
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}")).build()).statusCode();
    }

    private static long warnings(List<String> lines) {
        return lines.stream().filter(l -> l.startsWith("io.gemgate.server.shared.RedisSharedState Redis at ")
                && l.contains(" unreachable (") && !l.contains("still unreachable")).count();
    }

    @Test
    void aKilledMasterIsFollowedToThePromotedReplicaWithOneWarningPerGatewayAndNothingIsLost() {
        GatewayHarness a = gateway();
        GatewayHarness b = gateway();
        await(() -> a.server().shared().isConnected() && b.server().shared().isConnected(), ok -> ok, SOON);
        var before = a.server().context().tokens().create("before", TokenLimits.unlimited());
        await(() -> generate(b, before.secret()), s -> s == 200, SOON);
        int logged = CapturingAppender.lines().size();

        sentinel.killMaster();
        // Served from memory throughout: both gateways answer with the token they already know.
        for (int i = 0; i < 5; i++) {
            assertThat(generate(a, before.secret())).isEqualTo(200);
            assertThat(generate(b, before.secret())).isEqualTo(200);
        }
        await(() -> a.server().shared().isConnected(), ok -> !ok, SOON);
        // A change made while Redis is away is kept and published once the replica is promoted.
        var during = a.server().context().tokens().create("during", TokenLimits.unlimited());
        sentinel.awaitFailover(Duration.ofSeconds(30));
        await(() -> a.server().shared().isConnected() && b.server().shared().isConnected(), ok -> ok, SOON);
        await(() -> generate(b, during.secret()), s -> s == 200, SOON);
        // And a change made now goes through the new master at once.
        var after = b.server().context().tokens().create("after", TokenLimits.unlimited());
        await(() -> generate(a, after.secret()), s -> s == 200, SOON);

        List<String> lines = CapturingAppender.lines();
        List<String> outage = lines.subList(logged, lines.size());
        assertThat(warnings(outage)).as("one WARN per gateway:\n%s", String.join("\n", outage))
                .isBetween(1L, 2L);
        assertThat(outage).as("no Lettuce line per reconnection attempt")
                .noneMatch(l -> l.startsWith("io.lettuce"));
    }
}
