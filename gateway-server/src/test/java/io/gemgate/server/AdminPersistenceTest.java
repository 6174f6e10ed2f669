package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.keys.KeyMask;
import io.gemgate.server.AdminClient.Answer;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** What the admin API changes survives a restart; with a master key, no upstream key is on disk in clear. */
@ExtendWith(LeakDetection.class)
class AdminPersistenceTest {
    private static final String ADDED = "AIzaSyADDED" + "q".repeat(24) + "7777";
    private static final String BODY = "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}]}";
    private GatewayHarness gw;
    private AdminClient admin;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
    }

    private int generateWith(String secret) {
        return gw.send(gw.request("/v1beta/models/gemini-2.5-flash:generateContent").header("x-goog-api-key", secret)
                .POST(HttpRequest.BodyPublishers.ofString(BODY)).build()).statusCode();
    }

    /**
     * Every file of the data directory as text: the state file and its backup, and the request log's SQLite file (its
     * bytes as Latin-1, so that a key stored in it would show). A file that is gone by the time it is read (the request
     * log's rollback journal, while its writer creates the schema) is skipped.
     */
    private String dataDir() {
        StringBuilder all = new StringBuilder();
        try (Stream<Path> files = Files.list(gw.dataDir())) {
            for (Path f : files.toList()) {
                byte[] bytes;
                try {
                    bytes = Files.readAllBytes(f);
                } catch (java.nio.file.NoSuchFileException gone) {
                    continue; // a transient file that went between the listing and the read (SQLite's journal)
                }
                all.append(f.getFileName()).append('\n').append(new String(bytes, StandardCharsets.ISO_8859_1));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return all.toString();
    }

    @Test
    void tokensAddedKeysEditsAndRemovalsSurviveARestart() {
        gw = GatewayHarness.start(2, AdminClient.env());
        admin = new AdminClient(gw, 2).secret(ADDED);
        assertThat(admin.post("/admin/api/keys", "{\"text\":\"" + ADDED + "\",\"label\":\"late\",\"weight\":5,"
                + "\"groups\":[\"late\"]}").status()).isEqualTo(201);
        String secret = admin.post("/admin/api/tokens", "{\"name\":\"alice\",\"requestsPerDay\":50}").json()
                .path("token").asText();
        assertThat(generateWith(secret)).isEqualTo(200);
        admin.patch("/admin/api/keys/" + KeyMask.fingerprint(key(0)), "{\"label\":\"renamed\",\"project\":\"p\","
                + "\"tier\":2,\"groups\":[\"g1\",\"g2\"]}");
        admin.delete("/admin/api/keys/" + KeyMask.fingerprint(key(1)));
        long usedBefore = admin.key(KeyMask.fingerprint(ADDED)).path("today").path("requests").asLong();

        gw.restart();

        Answer keys = admin.get("/admin/api/keys");
        assertThat(keys.json().path("total").asInt()).isEqualTo(3);
        assertThat(admin.key(KeyMask.fingerprint(ADDED)).path("label").asText()).isEqualTo("late");
        assertThat(admin.key(KeyMask.fingerprint(ADDED)).path("weight").asInt()).isEqualTo(5);
        assertThat(admin.key(KeyMask.fingerprint(ADDED)).path("today").path("requests").asLong())
                .isEqualTo(usedBefore);
        assertThat(admin.key(KeyMask.fingerprint(key(0))).path("label").asText()).isEqualTo("renamed");
        assertThat(admin.key(KeyMask.fingerprint(key(0))).path("project").asText()).isEqualTo("p");
        assertThat(admin.key(KeyMask.fingerprint(key(0))).path("tier").asInt()).isEqualTo(2);
        assertThat(admin.key(KeyMask.fingerprint(key(0))).path("groups").toString()).isEqualTo("[\"g1\",\"g2\"]");
        assertThat(admin.key(KeyMask.fingerprint(ADDED)).path("groups").toString()).isEqualTo("[\"late\"]");
        assertThat(admin.key(KeyMask.fingerprint(key(1))).path("status").asText()).isEqualTo("removed");
        assertThat(admin.get("/admin/api/tokens").json().path("tokens").get(0).path("usage")
                .path("requestsToday").asLong()).isEqualTo(1);

        gw.fake().reset();
        for (int i = 0; i < 6; i++) {
            assertThat(generateWith(secret)).isEqualTo(200);
        }
        assertThat(gw.fake().keysUsed()).contains(ADDED).doesNotContain(key(1));
        // Token secrets are stored as hashes only; without a master key, added keys are stored as given.
        assertThat(dataDir()).doesNotContain(secret).doesNotContain(secret.substring(3)).contains(ADDED);
    }

    @Test
    void withAMasterKeyTheDataDirectoryHoldsNoKeyInClear() {
        gw = GatewayHarness.start(1, AdminClient.env("GEMGATE_MASTER_KEY", "test master key, long and random"));
        admin = new AdminClient(gw, 1).secret(ADDED);
        admin.post("/admin/api/keys", "{\"text\":\"" + ADDED + "\"}");
        gw.server().flushState();
        gw.server().flushState(); // and into the backup

        String stored = dataDir();
        assertThat(stored).contains("state.json.bak").contains("\"v1:");
        for (String secret : List.of(ADDED, key(0))) {
            assertThat(stored).doesNotContain(secret).doesNotContain(secret.substring(4, 24))
                    .doesNotContain(secret.substring(20));
        }

        gw.restart();
        assertThat(admin.key(KeyMask.fingerprint(ADDED)).path("status").asText()).isEqualTo("active");
        gw.fake().reset();
        for (int i = 0; i < 2; i++) {
            gw.generate("gemini-2.5-flash");
        }
        assertThat(gw.fake().keysUsed()).contains(ADDED);
    }
}
