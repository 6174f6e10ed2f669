package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.keys.KeyStatus;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.CapturingAppender;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** What survives a restart of the gateway in the same process, and a corrupt state file. */
@ExtendWith(LeakDetection.class)
class PersistenceTest {
    private GatewayHarness gw;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
    }

    @Test
    void exhaustionCooldownsInvalidMarksAndCountersSurviveARestart() {
        gw = GatewayHarness.start(4, java.util.Map.of("GEMGATE_POOL_MAX_ATTEMPTS", "4"));
        gw.fake().always(key(0), Behavior.quotaDay());
        gw.fake().always(key(1), Behavior.rateLimitMinute(Duration.ofSeconds(600)));
        gw.fake().always(key(2), Behavior.invalidKey());
        for (int i = 0; i < 3; i++) {
            assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
        }
        var pool = gw.server().pool();
        var before = pool.usage(gw.poolKey(key(3)), pool.model("gemini-2.5-flash"));
        assertThat(before.successes()).isEqualTo(3);

        gw.restart();

        var after = gw.server().pool();
        var flash = after.model("gemini-2.5-flash");
        assertThat(after.status(gw.poolKey(key(0)), flash).state()).isEqualTo(KeyStatus.State.EXHAUSTED);
        assertThat(after.status(gw.poolKey(key(1)), flash).state()).isEqualTo(KeyStatus.State.COOLING);
        assertThat(gw.poolKey(key(2)).isInvalid()).isTrue();
        assertThat(after.usage(gw.poolKey(key(3)), flash)).isEqualTo(before);
        assertThat(after.usage(gw.poolKey(key(0)), flash).rateLimited()).isEqualTo(1);

        int calls = gw.fake().requestCount();
        assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
        assertThat(gw.fake().keysUsed().subList(calls, gw.fake().requestCount())).containsExactly(key(3));
    }

    @Test
    void aCorruptStateFileFallsBackToThePreviousGoodCopyWithAnErrorLogged() throws Exception {
        gw = GatewayHarness.start(2);
        gw.fake().always(key(0), Behavior.invalidKey());
        gw.generate("gemini-2.5-flash");
        gw.server().flushState(); // state.json has the invalid mark
        gw.generate("gemini-2.5-flash");
        gw.server().flushState(); // now state.json.bak has it too

        gw.server().close();
        Path state = gw.dataDir().resolve("state.json");
        Files.writeString(state, "{\"version\": 1, \"keys\": [ {\"finger");
        gw.restart();

        assertThat(gw.poolKey(key(0)).isInvalid()).isTrue();
        assertThat(CapturingAppender.lines()).anyMatch(l -> l.contains("state.json") && l.contains("state.json.bak"));
        try (var files = Files.list(gw.dataDir())) {
            assertThat(files.map(p -> p.getFileName().toString())).anyMatch(n -> n.startsWith("state.json.corrupt-"));
        }
    }
}
