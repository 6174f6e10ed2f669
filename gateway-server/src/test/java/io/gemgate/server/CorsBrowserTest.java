package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.sun.net.httpserver.HttpServer;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.Programs;
import io.gemgate.testing.LeakDetection;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * CORS from a real browser: a page served on another origin (another loopback port) calls the gateway with fetch,
 * as web chat apps do; {@code src/test/browser/cors.test.mjs} drives Debian's Chromium through playwright-core.
 * Chat completions (whole and streamed), native generateContent and a readable 401 work; the admin API stays closed.
 *
 * <p>Needs what {@link AdminPageBrowserTest} needs; skipped without it, failed when {@code CI} is set.
 */
@ExtendWith(LeakDetection.class)
class CorsBrowserTest {
    private static final String SCRIPT = "cors.test.mjs";
    private static final String ADMIN = "admin-token-cors-browser-0123";

    @Test
    void aPageOnAnotherOriginCallsTheApiButNotTheAdminApi() throws Exception {
        Path module = Programs.moduleDir();
        Path browserDir = module.resolve("src/test/browser");
        String node = Programs.requireBrowser(browserDir);
        HttpServer pages = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        byte[] html = "<!doctype html><title>chat app</title><p>another origin</p>".getBytes(StandardCharsets.UTF_8);
        pages.createContext("/", ex -> {
            ex.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
            ex.sendResponseHeaders(200, html.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(html);
            }
        });
        pages.start();
        try (GatewayHarness gw = GatewayHarness.start(1, Map.of("GEMGATE_ADMIN_TOKEN", ADMIN))) {
            ProcessBuilder pb = new ProcessBuilder(node, SCRIPT).directory(browserDir.toFile())
                    .redirectErrorStream(true);
            pb.environment().put("PAGE_URL", "http://127.0.0.1:" + pages.getAddress().getPort() + "/");
            pb.environment().put("BASE_URL", gw.baseUrl());
            pb.environment().put("TOKEN", GatewayHarness.TOKEN);
            pb.environment().put("ADMIN_TOKEN", ADMIN);
            pb.environment().put("CHROMIUM", Programs.CHROMIUM.toString());
            pb.redirectOutput(module.resolve("target/cors-browser.log").toFile());
            Process p = pb.start();
            if (!p.waitFor(2, TimeUnit.MINUTES)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                fail("the browser test did not end within 2 minutes:\n" + log(module));
            }
            String out = log(module);
            System.out.println(out);
            assertThat(p.exitValue()).as("node %s exited %d:%n%s", SCRIPT, p.exitValue(), out).isZero();
            assertThat(out).contains("ok 6 - the admin API is not callable from another origin");
        } finally {
            pages.stop(0);
        }
    }

    private static String log(Path module) throws IOException {
        return Files.readString(module.resolve("target/cors-browser.log"));
    }

}
