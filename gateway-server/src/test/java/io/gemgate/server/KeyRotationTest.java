package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.keys.KeySpec;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import java.time.Duration;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Fair rotation and tiers through the gateway: a resting key's turns are shared by every usable key; a request uses
 * the lowest tier with a usable key. The gateway runs on a clock the test sets.
 */
@ExtendWith(LeakDetection.class)
class KeyRotationTest {
    private static final String FLASH = "gemini-2.5-flash";
    private static final long START = ZonedDateTime.of(2026, 11, 22, 10, 0, 20, 0, ZoneId.of("America/Los_Angeles"))
            .toInstant().toEpochMilli();

    private final AtomicLong now = new AtomicLong(START);
    private FakeGemini fake;
    private GatewayHarness gw;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    private void start(List<KeySpec> keys) {
        fake = FakeGemini.start();
        gw = GatewayHarness.start(fake, keys, Map.of(), now::get);
    }

    private static KeySpec spec(int i, int weight, int tier) {
        return new KeySpec(key(i), "", weight, "k" + i, tier, Set.of());
    }

    @Test
    void threeGoodKeysShareTheTurnsOfTwoExhaustedOnesEvenly() {
        start(List.of(spec(0, 1, 0), spec(1, 1, 0), spec(2, 1, 0), spec(3, 1, 0), spec(4, 1, 0)));
        fake.always(key(1), Behavior.quotaDay());
        fake.always(key(3), Behavior.quotaDay());

        for (int i = 0; i < 300; i++) {
            assertThat(gw.generate(FLASH).statusCode()).isEqualTo(200);
        }

        assertThat(fake.requestCount(key(1))).isEqualTo(1);
        assertThat(fake.requestCount(key(3))).isEqualTo(1);
        for (int good : new int[] {0, 2, 4}) {
            assertThat(fake.requestCount(key(good))).as("key %d", good).isBetween(90, 110);
        }
    }

    @Test
    void weightsOneTwoThreeHoldWithRestingKeysAmongThem() {
        start(List.of(spec(0, 5, 0), spec(1, 1, 0), spec(2, 4, 0), spec(3, 2, 0), spec(4, 3, 0)));
        fake.always(key(0), Behavior.quotaDay());
        fake.always(key(2), Behavior.rateLimitMinute(Duration.ofMinutes(30)));

        for (int i = 0; i < 300; i++) {
            assertThat(gw.generate(FLASH).statusCode()).isEqualTo(200);
        }

        assertThat(fake.requestCount(key(1))).isBetween(45, 55);
        assertThat(fake.requestCount(key(3))).isBetween(90, 110);
        assertThat(fake.requestCount(key(4))).isBetween(135, 165);
    }

    @Test
    void paidKeysServeOnlyWhileEveryFreeKeyRestsAndAFreeKeyBackFromItsMinuteServesAgain() {
        start(List.of(spec(0, 1, 1), spec(1, 1, 0), spec(2, 1, 0), spec(3, 1, 1)));
        for (int i = 0; i < 4; i++) {
            assertThat(gw.generate(FLASH).statusCode()).isEqualTo(200);
        }
        assertThat(fake.keysUsed()).containsOnly(key(1), key(2));

        fake.always(key(1), Behavior.quotaDay());
        fake.script(key(2), Behavior.rateLimitMinute(Duration.ofSeconds(40)));
        for (int i = 0; i < 6; i++) {
            assertThat(gw.generate(FLASH).statusCode()).isEqualTo(200);
        }
        assertThat(fake.requestCount(key(0)) + fake.requestCount(key(3))).as("paid").isEqualTo(6);
        assertThat(fake.requestCount(key(1))).isEqualTo(3); // 2 served, 1 exhausted it
        assertThat(fake.requestCount(key(2))).isEqualTo(3); // 2 served, 1 cooled it

        now.addAndGet(40_000); // key 2's minute is over
        for (int i = 0; i < 3; i++) {
            assertThat(gw.generate(FLASH).statusCode()).isEqualTo(200);
        }
        assertThat(fake.requestCount(key(2))).isEqualTo(6);
        assertThat(fake.requestCount(key(0)) + fake.requestCount(key(3))).as("paid").isEqualTo(6);
    }
}
