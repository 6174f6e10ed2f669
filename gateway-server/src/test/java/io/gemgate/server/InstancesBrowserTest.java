package io.gemgate.server;

import static io.gemgate.server.AdminClient.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.Programs;
import io.gemgate.testing.RedisServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Three gateways on one Redis (README, "Several gateways"), and the admin page of one of them lists all three (id,
 * address, version, last seen, requests per second) in a real browser ({@code src/test/browser/instances.test.mjs});
 * the API answer is checked here too, and without Redis the view says nothing is shared.
 *
 * <p>Needs {@code node}, {@code /usr/bin/chromium} and {@code npm ci} in {@code src/test/browser}, like
 * {@link AdminPageBrowserTest}.
 */
@ExtendWith(LeakDetection.class)
class InstancesBrowserTest {
    @RegisterExtension
    static final RedisServer redis = new RedisServer();

    private static final String SCRIPT = "instances.test.mjs";
    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    @Test
    void theInstancesViewListsEveryGatewaySharingTheState() throws Exception {
        Path module = Programs.moduleDir();
        Path browserDir = module.resolve("src/test/browser");
        String node = Programs.requireBrowser(browserDir);
        List<GatewayHarness> gs = new ArrayList<>();
        try (FakeGemini fake = FakeGemini.start()) {
            for (int i = 0; i < 3; i++) {
                gs.add(GatewayHarness.start(fake, GatewayHarness.specs(2),
                        AdminClient.env("GEMGATE_REDIS_URL", redis.url()), System::currentTimeMillis));
            }
            for (GatewayHarness g : gs) {
                // The first heartbeat may go before the listener is bound: the address comes with the next one.
                await(() -> g.server().shared().instances().stream().filter(i -> !i.address().isEmpty()).count(),
                        n -> n == 3, Duration.ofSeconds(15));
                assertThat(g.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
            }
            AdminClient.Answer api = new AdminClient(gs.get(1), 2).get("/admin/api/instances");
            assertThat(api.status()).isEqualTo(200);
            assertThat(api.json().path("shared").asBoolean()).isTrue();
            assertThat(api.json().path("redis").asText()).isEqualTo("127.0.0.1:" + redis.port() + "/0");
            assertThat(api.json().path("instances")).hasSize(3);
            List<String> addresses = new ArrayList<>();
            api.json().path("instances").forEach(i -> addresses.add(i.path("address").asText()));
            assertThat(addresses).containsExactlyInAnyOrder(gs.stream().map(g -> "127.0.0.1:" + g.port()).toArray(String[]::new));
            assertThat(api.json().path("self").asText()).isEqualTo(gs.get(1).server().shared().instanceId());

            Path shots = module.resolve("target/screenshots");
            Path out = Files.createTempFile("gemgate-instances-browser", ".txt");
            ProcessBuilder pb = new ProcessBuilder(node, SCRIPT).directory(browserDir.toFile()).redirectErrorStream(true)
                    .redirectOutput(out.toFile());
            pb.environment().put("BASE_URL", gs.get(1).baseUrl());
            pb.environment().put("ADMIN_TOKEN", AdminClient.ADMIN_TOKEN);
            pb.environment().put("INSTANCES", "3");
            pb.environment().put("SCREENSHOT_DIR", shots.toString());
            pb.environment().put("CHROMIUM", Programs.CHROMIUM.toString());
            Process p = pb.start();
            try {
                if (!p.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                    fail("the browser test did not end within " + TIMEOUT + ":\n" + Files.readString(out));
                }
                String text = Files.readString(out);
                System.out.println(text);
                assertThat(p.exitValue()).as("node %s exited %d:%n%s", SCRIPT, p.exitValue(), text).isZero();
            } finally {
                Files.deleteIfExists(out);
            }
        } finally {
            for (GatewayHarness g : gs) {
                g.close();
            }
        }
    }

    @Test
    void withoutRedisTheApiSaysNothingIsShared() {
        try (GatewayHarness g = GatewayHarness.start(1, AdminClient.env())) {
            AdminClient.Answer api = new AdminClient(g, 1).get("/admin/api/instances");
            assertThat(api.status()).isEqualTo(200);
            assertThat(api.json().path("shared").asBoolean()).isFalse();
            assertThat(api.json().path("instances")).isEmpty();
        }
    }
}
