package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.Behavior;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayProcess;
import io.gemgate.testing.LeakDetection;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The gateway as a user runs it: {@code Main} in its own JVM, configured by environment variables, stopped by
 * SIGTERM or killed by SIGKILL.
 */
@ExtendWith(LeakDetection.class)
class ProcessLifecycleTest {
    private static final String BODY = "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}]}";

    @TempDir
    Path dir;
    private FakeGemini fake;
    private final List<Process> processes = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeEach
    void start() throws IOException {
        fake = FakeGemini.start();
        Files.writeString(dir.resolve("key.txt"), "# test keys\n" + key(0) + "\n" + key(1) + " weight=1\n");
    }

    @AfterEach
    void stop() {
        processes.forEach(Process::destroyForcibly);
        fake.close();
    }

    private Map<String, String> env(int port) {
        Map<String, String> env = new HashMap<>();
        env.put("GEMGATE_HOST", "127.0.0.1");
        env.put("GEMGATE_PORT", Integer.toString(port));
        env.put("GEMGATE_UPSTREAM", fake.baseUrl());
        env.put("GEMGATE_TOKEN", TOKEN);
        env.put("GEMGATE_KEYS_FILE", dir.resolve("key.txt").toString());
        env.put("GEMGATE_DATA_DIR", dir.resolve("data").toString());
        env.put("GEMGATE_STATE_FLUSH_INTERVAL", "200ms");
        env.put("GEMGATE_SERVER_SHUTDOWN_GRACE", "20s");
        return env;
    }

    private Process launch(Map<String, String> env) throws IOException {
        Process p = GatewayProcess.launchMain(dir, env, processes.size());
        processes.add(p);
        return p;
    }

    private HttpResponse<String> generate(int port, String model) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1beta/models/" + model
                        + ":generateContent")).header("x-goog-api-key", TOKEN)
                .POST(HttpRequest.BodyPublishers.ofString(BODY)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "missing keys file | GEMGATE_KEYS_FILE | /nonexistent/keys.txt | keys.file",
            "bad upstream URL  | GEMGATE_UPSTREAM  | ftp://example         | GEMGATE_UPSTREAM",
            "bad port          | GEMGATE_PORT      | 99999                 | GEMGATE_PORT",
            "bad strategy      | GEMGATE_POOL_STRATEGY | fastest           | strategy",
            "bad Redis URL     | GEMGATE_REDIS_URL | redis://:pw@cache:port | GEMGATE_REDIS_URL",
            "unreadable YAML   | GEMGATE_CONFIG    | YAML                  | gateway.yaml"})
    void aBadConfigurationStopsStartUpWithOneClearLine(String name, String var, String value, String named)
            throws Exception {
        Map<String, String> env = env(GatewayProcess.freePort());
        if (value.equals("YAML")) {
            Path yaml = dir.resolve("gateway.yaml");
            Files.writeString(yaml, "server:\n  port: [unclosed\n");
            value = yaml.toString();
        }
        env.put(var, value);
        Process p = launch(env);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(2);
        List<String> err = Files.readAllLines(dir.resolve("stderr-0.log"));
        assertThat(err).hasSize(1);
        assertThat(err.get(0)).startsWith("gemgate: ").contains(named);
    }

    @Test
    void aPortInUseStopsStartUpNamingThePort() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Process p = launch(env(taken.getLocalPort()));
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isEqualTo(2);
            List<String> err = Files.readAllLines(dir.resolve("stderr-0.log"));
            assertThat(err).hasSize(1);
            assertThat(err.get(0)).contains("server.port", Integer.toString(taken.getLocalPort()));
        }
    }

    @Test
    void exhaustionAndCountersSurviveKillMinus9() throws Exception {
        int port = GatewayProcess.freePort();
        fake.always(key(0), Behavior.quotaDay());
        Process first = launch(env(port));
        GatewayProcess.awaitHealthy(first, port);
        assertThat(generate(port, "gemini-2.5-flash").statusCode()).isEqualTo(200);
        assertThat(generate(port, "gemini-2.5-flash").statusCode()).isEqualTo(200);
        Path state = dir.resolve("data/state.json");
        assertThat(NativeProxyTest.waitUntil(() -> read(state).contains("\"successes\" : 2"))).isTrue();

        first.destroyForcibly(); // SIGKILL: no shutdown hook runs
        assertThat(first.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(first.exitValue()).isEqualTo(137);

        Process second = launch(env(port));
        GatewayProcess.awaitHealthy(second, port);
        int before = fake.requestCount(key(0));
        for (int i = 0; i < 3; i++) {
            assertThat(generate(port, "gemini-2.5-flash").statusCode()).isEqualTo(200);
        }
        assertThat(fake.requestCount(key(0))).isEqualTo(before); // still exhausted after the kill
        assertThat(NativeProxyTest.waitUntil(() -> read(state).contains("\"successes\" : 5"))).isTrue();
    }

    @Test
    void sigtermLetsTheStreamInFlightFinishThenWritesStateAndExits() throws Exception {
        int port = GatewayProcess.freePort();
        CountDownLatch rest = new CountDownLatch(1);
        fake.script(key(0), Behavior.gatedStream(List.of(FakeGemini.textEvent("one"),
                FakeGemini.finishEvent("two", "STOP", 5, 2)), rest));
        Process p = launch(env(port));
        GatewayProcess.awaitHealthy(p, port);

        HttpResponse<InputStream> stream = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                        + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"))
                .header("x-goog-api-key", TOKEN).POST(HttpRequest.BodyPublishers.ofString(BODY)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        BufferedReader in = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8));
        assertThat(in.readLine()).contains("one");

        p.destroy(); // SIGTERM
        assertThat(NativeProxyTest.waitUntil(() -> {
            try (var s = new java.net.Socket("127.0.0.1", port)) {
                return false;
            } catch (IOException refused) {
                return true; // the listener is closed: no new connections
            }
        })).isTrue();
        assertThat(p.isAlive()).isTrue(); // still finishing the stream
        rest.countDown();
        String tail = String.join("\n", in.lines().toList());
        assertThat(tail).contains("two", "STOP");

        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(143); // the JVM's status after SIGTERM, once its hooks have run
        assertThat(read(dir.resolve("data/state.json"))).contains("\"successes\" : 1", "\"promptTokens\" : 5");
        assertThat(Files.readString(dir.resolve("stdout-0.log"))).contains("Gemgate stopped")
                .doesNotContain(key(0)).doesNotContain(TOKEN);
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (IOException e) {
            return "";
        }
    }
}
