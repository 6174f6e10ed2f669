package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RedisServer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Gateways share their state (README, "Several gateways") through a Redis that speaks TLS only ({@code rediss://}),
 * with an ACL user and its password, whose certificate a private CA signed: trusted through
 * {@code GEMGATE_REDIS_TRUST_CERTIFICATES}. Without that setting the JVM's trust store does not know the CA, and the
 * gateway serves alone.
 */
@ExtendWith(LeakDetection.class)
class RedisTlsTest {
    @RegisterExtension
    static final RedisServer redis = RedisServer.tls();

    private FakeGemini fake;
    private final List<GatewayHarness> gateways = new ArrayList<>();

    @BeforeEach
    void emptyRedisAndStartTheFake() {
        redis.start();
        fake = FakeGemini.start();
    }

    @AfterEach
    void stop() {
        for (GatewayHarness g : gateways) {
            g.close();
        }
        fake.close();
    }

    private GatewayHarness gateway(boolean trusted) {
        Map<String, String> env = trusted
                ? AdminClient.env("GEMGATE_REDIS_URL", redis.url(), "GEMGATE_REDIS_TRUST_CERTIFICATES",
                        redis.caFile().toString())
                : AdminClient.env("GEMGATE_REDIS_URL", redis.url());
        GatewayHarness g = GatewayHarness.start(fake, GatewayHarness.specs(3), env, System::currentTimeMillis);
        gateways.add(g);
        return g;
    }

    @Test
    void twoGatewaysShareKeysTokensVerdictsAndLeasesOverTlsWithAUserAndPassword() {
        assertThat(redis.url()).startsWith("rediss://" + RedisServer.USER + ":");
        SharingChecks.keysTokensVerdictsAndLeasesAreShared(fake, gateway(true), gateway(true));
    }

    @Test
    void withoutTheCaTheGatewayDoesNotConnectAndServesAlone() {
        GatewayHarness g = gateway(false);

        assertThat(g.server().shared().isConnected()).isFalse();
        assertThat(g.generate(SharingChecks.FLASH).statusCode()).isEqualTo(200);
    }
}
