package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.keys.KeySpec;
import io.gemgate.server.AdminClient.Answer;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Model groups: the live setting {@code modelGroups} routes models to key groups ({@code group=} in the keys file); a
 * user token may be limited to groups; the 429/503 answers name the group.
 */
@ExtendWith(LeakDetection.class)
class KeyGroupsTest {
    private static final String FLASH = "gemini-2.5-flash";
    private static final String PRO = "gemini-2.5-pro";
    private static final String BODY = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}";
    private FakeGemini fake;
    private GatewayHarness gw;
    private AdminClient admin;

    @BeforeEach
    void start() {
        fake = FakeGemini.start();
        List<KeySpec> keys = List.of(
                new KeySpec(key(0), "", 1, "free-a", 0, Set.of("free")),
                new KeySpec(key(1), "", 1, "free-b", 0, Set.of("free")),
                new KeySpec(key(2), "", 1, "paid", 0, Set.of("paid")),
                new KeySpec(key(3), "", 1, "none", 0, Set.of()));
        gw = GatewayHarness.start(fake, keys, AdminClient.env(), System::currentTimeMillis);
        admin = new AdminClient(gw, 4);
        Answer a = admin.patch("/admin/api/settings",
                "{\"modelGroups\":{\"gemini-2.5-pro*\":[\"paid\"],\"*\":\"free\"}}");
        assertThat(a.status()).as(a.raw().body()).isEqualTo(200);
    }

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    private HttpResponse<String> generate(String secret, String model) {
        return gw.send(gw.request("/v1beta/models/" + model + ":generateContent").header("x-goog-api-key", secret)
                .POST(HttpRequest.BodyPublishers.ofString(BODY)).build());
    }

    private String token(String body) {
        Answer a = admin.post("/admin/api/tokens", body);
        assertThat(a.status()).as(a.raw().body()).isEqualTo(201);
        return a.json().path("token").asText();
    }

    @Test
    void aModelUsesOnlyTheKeysOfTheGroupsItIsRoutedTo() {
        for (int i = 0; i < 6; i++) {
            assertThat(gw.generate(FLASH).statusCode()).isEqualTo(200);
            assertThat(gw.generate(PRO).statusCode()).isEqualTo(200);
        }
        assertThat(fake.requestCount(key(0))).isEqualTo(3);
        assertThat(fake.requestCount(key(1))).isEqualTo(3);
        assertThat(fake.requestCount(key(2))).isEqualTo(6);
        assertThat(fake.requestCount(key(3))).isZero();
        assertThat(admin.get("/admin/api/settings").json().path("modelGroups").toString())
                .isEqualTo("{\"*\":[\"free\"],\"gemini-2.5-pro*\":[\"paid\"]}");
    }

    @Test
    void whenTheGroupsKeysRestTheAnswerNamesTheGroupAndOtherKeysAreNotUsed() {
        fake.always(key(2), Behavior.quotaDay());

        HttpResponse<String> r = gw.generate(PRO);

        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.body()).contains("group paid", PRO);
        assertThat(fake.keysUsed()).containsExactly(key(2));
    }

    @Test
    void aUserTokenLimitedToOneGroupUsesOnlyItsKeysAndIsToldWhenItsModelIsElsewhere() {
        String freeOnly = token("{\"name\":\"bob\",\"keyGroups\":[\"free\"]}");

        for (int i = 0; i < 4; i++) {
            assertThat(generate(freeOnly, FLASH).statusCode()).isEqualTo(200);
        }
        assertThat(fake.keysUsed()).containsOnly(key(0), key(1));

        HttpResponse<String> pro = generate(freeOnly, PRO);
        assertThat(pro.statusCode()).isEqualTo(503);
        assertThat(pro.body()).contains("group paid", "may not use");
        assertThat(fake.requestCount(key(2))).isZero();

        assertThat(admin.get("/admin/api/tokens").raw().body()).contains("\"keyGroups\":[\"free\"]");
    }
}
