package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gemgate.testing.CapturingAppender;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayProcess;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * An admin write is answered only once it is stored: a gateway killed with SIGKILL right after the answer (its
 * periodic flush an hour away) comes back with the key, the token (whose one-time secret the client holds), the
 * setting and the removal. The state file is readable by its owner only.
 */
@ExtendWith(LeakDetection.class)
class AdminDurabilityTest {
    private static final String ADMIN = "admin-token-durability-0123";
    private static final String ADDED_KEY = "AIzaSyDURABLExxxxxxxxxxxxxxxxxxxxxx9999";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private FakeGemini fake;
    private final List<Process> processes = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeEach
    void start() throws IOException {
        fake = FakeGemini.start();
        Files.writeString(dir.resolve("key.txt"), key(0) + "\n" + key(1) + "\n");
    }

    @AfterEach
    void stop() {
        processes.forEach(Process::destroyForcibly);
        fake.close();
    }

    @Test
    void adminWritesSurviveKillMinus9RightAfterTheirAnswer() throws Exception {
        int port = GatewayProcess.freePort();
        Process first = launch(port);
        GatewayProcess.awaitHealthy(first, port);

        HttpResponse<String> addedKey = admin(port, "POST", "/admin/api/keys",
                "{\"text\":\"" + ADDED_KEY + "\",\"label\":\"late\"}");
        assertThat(addedKey.statusCode()).isEqualTo(201);
        HttpResponse<String> token = admin(port, "POST", "/admin/api/tokens", "{\"name\":\"alice\"}");
        assertThat(token.statusCode()).isEqualTo(201);
        String secret = JSON.readTree(token.body()).path("token").asText();
        assertThat(admin(port, "PATCH", "/admin/api/settings", "{\"maxAttempts\":5}").statusCode()).isEqualTo(200);
        String removedId = keyId(port, key(1));
        assertThat(admin(port, "DELETE", "/admin/api/keys/" + removedId, null).statusCode()).isEqualTo(200);
        first.destroyForcibly(); // SIGKILL at once: no shutdown hook, and the flush interval is an hour
        assertThat(first.waitFor(10, TimeUnit.SECONDS)).isTrue();

        Process second = launch(port);
        GatewayProcess.awaitHealthy(second, port);
        JsonNode keys = JSON.readTree(admin(port, "GET", "/admin/api/keys", null).body());
        assertThat(keys.toString()).contains("\"late\"");
        assertThat(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1beta/models"))
                .header("x-goog-api-key", secret).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
                .as("the token created before the kill").isEqualTo(200);
        assertThat(JSON.readTree(admin(port, "GET", "/admin/api/settings", null).body()).toString())
                .contains("\"maxAttempts\":5");
        boolean removed = false;
        for (JsonNode k : keys.path("keys")) {
            removed |= k.path("id").asText().equals(removedId) && k.path("removed").asBoolean();
        }
        assertThat(removed).as("key %s removed before the kill", removedId).isTrue();
        Path state = dir.resolve("data/state.json");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state))).isEqualTo("rw-------");
    }

    @Test
    void theStateFileAndItsBackupAreOwnerOnlyAndKeysInClearAreWarnedAboutOnce() throws Exception {
        int before = CapturingAppender.lines().size();
        try (GatewayHarness gw = GatewayHarness.start(1, Map.of("GEMGATE_ADMIN_TOKEN", ADMIN))) {
            gw.server().flushState();
            gw.server().flushState();
            Path data = gw.dataDir();
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve("state.json"))))
                    .isEqualTo("rw-------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve("state.json.bak"))))
                    .isEqualTo("rw-------");
            List<String> lines = CapturingAppender.lines().subList(before, CapturingAppender.lines().size());
            assertThat(lines.stream().filter(l -> l.contains("stored in clear"))).hasSize(1);
        }
    }

    @Test
    void withAMasterKeyThereIsNoClearTextWarning() {
        int before = CapturingAppender.lines().size();
        try (GatewayHarness gw = GatewayHarness.start(1, Map.of("GEMGATE_ADMIN_TOKEN", ADMIN,
                "GEMGATE_MASTER_KEY", "a-master-key-of-enough-length-0123456789"))) {
            List<String> lines = CapturingAppender.lines().subList(before, CapturingAppender.lines().size());
            assertThat(lines).noneMatch(l -> l.contains("stored in clear"));
        }
    }

    private String keyId(int port, String secret) throws Exception {
        String tail = secret.substring(secret.length() - 4);
        for (JsonNode k : JSON.readTree(admin(port, "GET", "/admin/api/keys", null).body()).path("keys")) {
            if (k.toString().contains(tail)) {
                return k.path("id").asText();
            }
        }
        throw new AssertionError("no key ending " + tail);
    }

    private HttpResponse<String> admin(int port, String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Authorization", "Bearer " + ADMIN).header("content-type", "application/json");
        b = body == null ? b.method(method, HttpRequest.BodyPublishers.noBody())
                : b.method(method, HttpRequest.BodyPublishers.ofString(body));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private Process launch(int port) throws IOException {
        Map<String, String> env = new HashMap<>();
        env.put("GEMGATE_HOST", "127.0.0.1");
        env.put("GEMGATE_PORT", Integer.toString(port));
        env.put("GEMGATE_UPSTREAM", fake.baseUrl());
        env.put("GEMGATE_TOKEN", TOKEN);
        env.put("GEMGATE_ADMIN_TOKEN", ADMIN);
        env.put("GEMGATE_KEYS_FILE", dir.resolve("key.txt").toString());
        env.put("GEMGATE_DATA_DIR", dir.resolve("data").toString());
        env.put("GEMGATE_STATE_FLUSH_INTERVAL", "1h");
        Process p = GatewayProcess.launchMain(dir, env, processes.size());
        processes.add(p);
        return p;
    }
}
