package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RedisCluster;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Gateways share their state (README, "Several gateways") through a real Redis Cluster of three masters
 * ({@code redis-cluster://}); the scripts' keys carry hash tags ({@code RedisLayout}), so that each script call's keys
 * are in one slot, while each user token's and each key budget's lease hash has a tag of its own (spread over the
 * nodes).
 */
@ExtendWith(LeakDetection.class)
class RedisClusterTest {
    @RegisterExtension
    static final RedisCluster cluster = new RedisCluster();

    private FakeGemini fake;
    private final List<GatewayHarness> gateways = new ArrayList<>();

    @BeforeEach
    void emptyRedisAndStartTheFake() {
        cluster.flushAll();
        fake = FakeGemini.start();
    }

    @AfterEach
    void stop() {
        for (GatewayHarness g : gateways) {
            g.close();
        }
        fake.close();
    }

    private GatewayHarness gateway() {
        GatewayHarness g = GatewayHarness.start(fake, GatewayHarness.specs(3),
                AdminClient.env("GEMGATE_REDIS_URL", cluster.url()), System::currentTimeMillis);
        gateways.add(g);
        return g;
    }

    @Test
    void twoGatewaysShareKeysTokensVerdictsAndLeasesThroughACluster() {
        SharingChecks.keysTokensVerdictsAndLeasesAreShared(fake, gateway(), gateway());

        List<String> all = cluster.keysByNode().stream().flatMap(List::stream).toList();
        assertThat(all).anyMatch(k -> k.startsWith("{gemgate:}")); // the shared state, in one slot
        assertThat(all).anyMatch(k -> k.startsWith("gemgate:lease:{gemgate:")); // a token's lease, its own slot
        assertThat(all).anyMatch(k -> k.startsWith("gemgate:budget:{gemgate:")); // a key budget's lease
    }
}
