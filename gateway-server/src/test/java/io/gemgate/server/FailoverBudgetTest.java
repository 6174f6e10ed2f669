package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.Behavior;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The failover budget is in time, not in keys: a 429 or an invalid key (immediate answers) does not use up
 * {@code pool.maxAttempts}, which bounds only costly failures (5xx, connection failures, timeouts); the request tries
 * keys until one serves, none is left for the model, or {@code failover.deadline} has passed.
 */
@ExtendWith(LeakDetection.class)
class FailoverBudgetTest {
    private static final String FLASH = "gemini-2.5-flash";
    private GatewayHarness gw;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
    }

    private FakeGemini fake() {
        return gw.fake();
    }

    @Test
    void withDefaultSettingsFourRestingKeysDoNotHideTheFifthGoodOne() {
        gw = GatewayHarness.start(5); // default pool.maxAttempts 3
        fake().always(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(30)));
        fake().always(key(1), Behavior.quotaDay());
        fake().always(key(2), Behavior.invalidKey());
        fake().always(key(3), Behavior.serverError());

        HttpResponse<String> r = gw.generate(FLASH);

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("candidates");
        assertThat(fake().keysUsed()).containsExactly(key(0), key(1), key(2), key(3), key(4));

        // Each resting key was called once: the next requests all go to the good key.
        for (int i = 0; i < 4; i++) {
            assertThat(gw.generate(FLASH).statusCode()).isEqualTo(200);
        }
        for (int i = 0; i < 4; i++) {
            assertThat(fake().requestCount(key(i))).as("key %d", i).isEqualTo(1);
        }
        assertThat(fake().requestCount(key(4))).isEqualTo(5);
    }

    @Test
    void aPoolWhoseEveryKeyRestsAnswers429WithRetryAfterWellWithinTheDeadline() {
        gw = GatewayHarness.start(6, Map.of("GEMGATE_POOL_MAX_ATTEMPTS", "1"));
        for (int i = 0; i < 6; i++) {
            fake().always(key(i), Behavior.rateLimitMinute(Duration.ofSeconds(10 + i)));
        }
        long start = System.nanoTime();

        HttpResponse<String> r = gw.generate(FLASH);

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
        assertThat(r.statusCode()).isEqualTo(429);
        assertThat(r.body()).contains("RESOURCE_EXHAUSTED", "cooling down", FLASH);
        assertThat(Long.parseLong(r.headers().firstValue("retry-after").orElseThrow())).isBetween(5L, 10L);
        assertThat(fake().requestCount()).as("every key tried once despite maxAttempts 1").isEqualTo(6);
    }

    @Test
    void maxAttemptsBoundsOnlyCostlyFailures() {
        gw = GatewayHarness.start(6, Map.of("GEMGATE_POOL_MAX_ATTEMPTS", "2"));
        fake().always(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(30)));
        fake().always(key(1), Behavior.serverError());
        fake().always(key(2), Behavior.quotaDay());
        fake().always(key(3), Behavior.serverError());

        HttpResponse<String> r = gw.generate(FLASH);

        // Two 5xx spend the two attempts: Google's 500 is relayed, key(4) and key(5) are left alone.
        assertThat(r.statusCode()).isEqualTo(500);
        assertThat(r.body()).contains("INTERNAL");
        assertThat(fake().keysUsed()).containsExactly(key(0), key(1), key(2), key(3));
    }
}
