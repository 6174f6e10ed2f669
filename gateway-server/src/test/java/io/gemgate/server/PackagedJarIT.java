package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayProcess;
import io.gemgate.testing.RedisServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jar a user runs ({@code java -jar gateway-server/target/gemgate.jar}, built by {@code package}), started as the
 * README's quick start does, in a directory of its own: it starts, serves, stops on SIGTERM, and says nothing it
 * should not. Its own classpath is the shaded jar's, not the tests': a dependency that logs through SLF4J without a
 * provider in the jar shows here and nowhere else. Run by failsafe after {@code package}.
 */
class PackagedJarIT {
    @RegisterExtension
    static final RedisServer redis = new RedisServer();

    private static final String BODY = "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}]}";

    @TempDir
    Path dir;
    private FakeGemini fake;
    private Process process;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeEach
    void start() throws IOException {
        fake = FakeGemini.start();
        Files.writeString(dir.resolve("key.txt"), key(0) + "\n" + key(1) + "\n");
    }

    @AfterEach
    void stop() {
        if (process != null) {
            process.destroyForcibly();
        }
        fake.close();
    }

    @Test
    void aCleanStartWithTheEmbeddedDefaultsLogsNoWarningAndServes() throws Exception {
        String out = runAndStop(Map.of());
        assertThat(out).contains("Gemgate listening on 127.0.0.1", "Gemgate stopped");
        assertThat(out).doesNotContain("SLF4J").doesNotContain(" WARN ").doesNotContain(" ERROR ")
                .doesNotContain("Exception").doesNotContain(key(0)).doesNotContain(TOKEN);
    }

    /**
     * The access line of the one request, as the shipped layout writes it (AccessLineWriter writes it straight to the
     * stream in that layout's bytes): with the embedded defaults on standard output, with config/log4j2.xml and
     * GEMGATE_LOG_TO=file in logs/gemgate.log and nowhere else.
     */
    @Test
    void theAccessLineIsWrittenInTheShippedLayoutToTheConsoleOrTheFile() throws Exception {
        String line = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d) INFO  \\[gemgate-access-log]"
                + " access - POST /v1beta/models/gemini-2\\.5-flash:generateContent 200 model=gemini-2\\.5-flash"
                + " key=AIza\\.\\.\\.[\\w-]{4} tier=0 attempts=1 \\d+ms token=\\S+";
        assertThat(runAndStop(Map.of()).lines().filter(l -> l.contains(" access - POST ")).toList())
                .singleElement().asString().matches(line);

        Files.createDirectories(dir.resolve("config"));
        Files.copy(Path.of("../config/log4j2.xml"), dir.resolve("config/log4j2.xml"));
        String out = runAndStop(Map.of("GEMGATE_LOG_TO", "file"));
        assertThat(out).doesNotContain(" access - ");
        String file = Files.readString(dir.resolve("logs/gemgate.log"));
        assertThat(file).contains("Gemgate listening on 127.0.0.1", "Gemgate stopped");
        assertThat(file.lines().filter(l -> l.contains(" access - POST ")).toList()).singleElement().asString()
                .matches(line);
    }

    @Test
    void aCleanStartSharingStateThroughRedisLogsNoWarning() throws Exception {
        String out = runAndStop(Map.of("GEMGATE_REDIS_URL", redis.url()));
        assertThat(out).contains("Gemgate listening on 127.0.0.1", "Gemgate stopped");
        assertThat(out).doesNotContain("SLF4J").doesNotContain(" WARN ").doesNotContain(" ERROR ")
                .doesNotContain("Exception").doesNotContain(key(0)).doesNotContain(TOKEN);
    }

    /** Starts the jar, sends one request through it, stops it with SIGTERM; its stdout and stderr together. */
    private String runAndStop(Map<String, String> extra) throws Exception {
        int port = GatewayProcess.freePort();
        Path jar = Path.of("target/gemgate.jar").toAbsolutePath();
        assertThat(jar).as("the packaged jar (failsafe runs after package)").exists();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(List.of(java, "-jar", jar.toString())).directory(dir.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("GEMGATE_"));
        pb.environment().put("GEMGATE_HOST", "127.0.0.1");
        pb.environment().put("GEMGATE_PORT", Integer.toString(port));
        pb.environment().put("GEMGATE_UPSTREAM", fake.baseUrl());
        pb.environment().put("GEMGATE_TOKEN", TOKEN);
        pb.environment().putAll(extra);
        pb.redirectErrorStream(true);
        pb.redirectOutput(dir.resolve("out.log").toFile());
        process = pb.start();
        GatewayProcess.awaitHealthy(process, port, this::output);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                        + "/v1beta/models/gemini-2.5-flash:generateContent")).header("x-goog-api-key", TOKEN)
                .POST(HttpRequest.BodyPublishers.ofString(BODY)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        process.destroy(); // SIGTERM
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).isEqualTo(143);
        return Files.readString(dir.resolve("out.log"));
    }


    private String output() {
        try {
            Path out = dir.resolve("out.log");
            return Files.exists(out) ? Files.readString(out) : "";
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }
}
