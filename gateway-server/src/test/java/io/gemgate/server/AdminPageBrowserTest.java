package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.gemgate.testing.Behavior;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.Programs;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The admin page in a real browser: a gateway with four keys in front of the fake upstream takes some traffic (a
 * 429, a spent daily quota and an invalid key among it, so there are failovers and keys at risk), then
 * {@code src/test/browser/admin-page.test.mjs} drives Debian's Chromium through playwright-core against it: login,
 * dashboard against {@code GET /admin/api/stats}, keys, tokens, settings, 375 px, keyboard, console errors. It
 * leaves screenshots in {@code target/screenshots}.
 *
 * <p>Needs {@code node}, {@code /usr/bin/chromium} and {@code npm ci} in {@code src/test/browser} ({@code .ci/run}
 * installs them). Without them the test is skipped, or fails when the environment variable {@code CI} is set.
 */
@ExtendWith(LeakDetection.class)
class AdminPageBrowserTest {
    private static final String SCRIPT = "admin-page.test.mjs";
    private static final Duration TIMEOUT = Duration.ofMinutes(3);

    @Test
    void theAdminPageWorksInChromium() throws Exception {
        Path module = Programs.moduleDir();
        Path browserDir = module.resolve("src/test/browser");
        String node = Programs.requireBrowser(browserDir);

        try (GatewayHarness gw = GatewayHarness.start(4, AdminClient.env())) {
            sendTraffic(gw);
            Path shots = module.resolve("target/screenshots");
            ProcessBuilder pb = new ProcessBuilder(node, SCRIPT).directory(browserDir.toFile()).redirectErrorStream(true);
            pb.environment().put("BASE_URL", gw.baseUrl());
            pb.environment().put("ADMIN_TOKEN", AdminClient.ADMIN_TOKEN);
            pb.environment().put("SCREENSHOT_DIR", shots.toString());
            pb.environment().put("CHROMIUM", Programs.CHROMIUM.toString());
            Process p = pb.start();
            Output out = Output.drain(p.getInputStream());
            if (!p.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                stop(p);
                fail("the browser test did not end within " + TIMEOUT + ":\n" + out.text());
            }
            out.join();
            System.out.println(out.text());
            assertThat(p.exitValue()).as("node %s exited %d:%n%s", SCRIPT, p.exitValue(), out.text()).isZero();
        }
    }

    /**
     * Eight native calls and one OpenAI call. Keys 0, 1 and 2 fail their first call (429 for a minute, daily quota,
     * invalid key), so the requests that meet them fail over and the dashboard has failovers, a cooling key and two
     * keys at risk; key 3 answers everything.
     */
    private static void sendTraffic(GatewayHarness gw) {
        gw.fake().script(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(300)));
        gw.fake().script(key(1), Behavior.quotaDay());
        gw.fake().script(key(2), Behavior.invalidKey());
        int ok = 0;
        for (int i = 0; i < 8; i++) {
            ok += gw.generate("gemini-2.5-flash").statusCode() == 200 ? 1 : 0;
        }
        ok += gw.post("/v1/chat/completions",
                "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
                .statusCode() == 200 ? 1 : 0;
        assertThat(ok).as("answered requests").isGreaterThanOrEqualTo(7);
        assertThat(gw.fake().requestCount()).as("upstream calls, failovers included").isGreaterThan(9);
    }

    /** Ends the script and the browser it started: politely first (playwright closes Chromium), then by force. */
    private static void stop(Process p) throws InterruptedException {
        List<ProcessHandle> children = p.descendants().toList();
        p.destroy();
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        for (ProcessHandle c : children) {
            c.destroyForcibly();
        }
    }

    /** The script's output, read on a thread of its own so that a full pipe never stalls it. */
    private static final class Output {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final Thread reader;

        private Output(InputStream in) {
            reader = new Thread(() -> {
                try (in) {
                    byte[] buf = new byte[8192];
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        synchronized (bytes) {
                            bytes.write(buf, 0, n);
                        }
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, "browser-test-output");
            reader.setDaemon(true);
        }

        static Output drain(InputStream in) {
            Output o = new Output(in);
            o.reader.start();
            return o;
        }

        void join() throws InterruptedException {
            reader.join(TimeUnit.SECONDS.toMillis(10));
        }

        String text() {
            synchronized (bytes) {
                return bytes.toString(StandardCharsets.UTF_8);
            }
        }
    }
}
