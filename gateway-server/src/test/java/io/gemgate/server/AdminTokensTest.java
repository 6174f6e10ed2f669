package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gemgate.server.AdminClient.Answer;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** User tokens through the admin API: created, used on both APIs, listed with usage, changed, revoked. */
@ExtendWith(LeakDetection.class)
class AdminTokensTest {
    private static final String BODY = "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}]}";
    private static final String CHAT =
            "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    private GatewayHarness gw;
    private AdminClient admin;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
    }

    private void start() {
        gw = GatewayHarness.start(1, AdminClient.env());
        admin = new AdminClient(gw, 1);
    }

    private HttpResponse<String> generate(String secret) {
        return gw.send(gw.request("/v1beta/models/gemini-2.5-flash:generateContent").header("x-goog-api-key", secret)
                .POST(HttpRequest.BodyPublishers.ofString(BODY)).build());
    }

    private HttpResponse<String> chat(String secret) {
        return gw.send(gw.request("/v1/chat/completions").header("Authorization", "Bearer " + secret)
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(CHAT)).build());
    }

    @Test
    void aCreatedTokenWorksOnBothApisIsListedWithUsageAndStopsWorkingWhenRevoked() {
        start();
        Answer created = admin.post("/admin/api/tokens", "{\"name\":\"alice\",\"requestsPerDay\":100}");
        assertThat(created.status()).isEqualTo(201);
        String id = created.json().path("id").asText();
        String secret = created.json().path("token").asText();
        assertThat(id).startsWith("tok_");
        assertThat(secret).startsWith("sk-").hasSize(51);
        assertThat(created.json().path("name").asText()).isEqualTo("alice");

        assertThat(generate(secret).statusCode()).isEqualTo(200);
        assertThat(chat(secret).statusCode()).isEqualTo(200);

        Answer list = admin.get("/admin/api/tokens");
        assertThat(list.raw().body()).doesNotContain(secret).doesNotContain(secret.substring(3));
        assertThat(list.json().path("total").asInt()).isEqualTo(1);
        JsonNode t = list.json().path("tokens").get(0);
        assertThat(t.path("id").asText()).isEqualTo(id);
        assertThat(t.path("limits").path("requestsPerDay").asLong()).isEqualTo(100);
        assertThat(t.path("usage").path("requestsToday").asLong()).isEqualTo(2);
        assertThat(t.path("usage").path("tokensToday").asLong()).isEqualTo(20);
        assertThat(t.path("lastUsedAt").asText()).endsWith("Z");
        assertThat(t.has("secretHash")).isFalse();
        assertThat(admin.get("/admin/api/tokens/" + id).json().path("name").asText()).isEqualTo("alice");

        Answer revoked = admin.delete("/admin/api/tokens/" + id);
        assertThat(revoked.status()).isEqualTo(200);
        assertThat(revoked.json().path("revoked").asBoolean()).isTrue();
        assertThat(generate(secret).statusCode()).isEqualTo(401);
        assertThat(chat(secret).statusCode()).isEqualTo(401);
        assertThat(admin.get("/admin/api/tokens/" + id).status()).isEqualTo(404);
        assertThat(admin.delete("/admin/api/tokens/" + id).status()).isEqualTo(404);
    }

    @Test
    void aTokenOverItsLimitGets429WithRetryAfter() {
        start();
        String secret = admin.post("/admin/api/tokens", "{\"name\":\"bob\",\"requestsPerMinute\":1}").json()
                .path("token").asText();
        assertThat(generate(secret).statusCode()).isEqualTo(200);
        HttpResponse<String> over = generate(secret);
        assertThat(over.statusCode()).isEqualTo(429);
        assertThat(over.headers().firstValue("retry-after")).isPresent();
        HttpResponse<String> overChat = chat(secret);
        assertThat(overChat.statusCode()).isEqualTo(429);
        assertThat(gw.fake().requestCount()).isEqualTo(1);
    }

    @Test
    void patchChangesNameLimitsAndEnabledTogether() {
        start();
        Answer created = admin.post("/admin/api/tokens", "{\"name\":\"carol\"}");
        String id = created.json().path("id").asText();
        String secret = created.json().path("token").asText();

        Answer changed = admin.patch("/admin/api/tokens/" + id,
                "{\"name\":\"carol-ci\",\"enabled\":false,\"allowedModels\":[\"gemini-2.5-pro\"]}");
        assertThat(changed.status()).isEqualTo(200);
        assertThat(changed.json().path("name").asText()).isEqualTo("carol-ci");
        assertThat(changed.json().path("enabled").asBoolean()).isFalse();
        assertThat(changed.json().path("limits").path("allowedModels").get(0).asText()).isEqualTo("gemini-2.5-pro");
        assertThat(generate(secret).statusCode()).isEqualTo(401);

        admin.patch("/admin/api/tokens/" + id, "{\"enabled\":true}");
        assertThat(generate(secret).statusCode()).isEqualTo(403); // flash is not allowed any more
        admin.patch("/admin/api/tokens/" + id, "{\"allowedModels\":null}");
        assertThat(generate(secret).statusCode()).isEqualTo(200);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "{}                                        | name",
            "{\"name\":\"\"}                           | name",
            "{\"name\":\"a\",\"requestsPerMinute\":0}  | requestsPerMinute",
            "{\"name\":\"a\",\"tokensPerDay\":\"x\"}   | tokensPerDay",
            "{\"name\":\"a\",\"colour\":\"red\"}       | colour",
            "{\"name\":\"a\",\"enabled\":true}         | enabled",
            "{\"name\":\"a\",\"expiresAt\":\"soon\"}   | expiresAt",
            "{\"name\":                                | ",
    })
    void badTokenRequestsAre400NamingTheField(String body, String field) {
        start();
        Answer a = admin.post("/admin/api/tokens", body);
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.errorField()).isEqualTo(field);
        assertThat(admin.get("/admin/api/tokens").json().path("total").asInt()).isZero();
    }

    @Test
    void aBadPatchChangesNothing() {
        start();
        String id = admin.post("/admin/api/tokens", "{\"name\":\"dave\"}").json().path("id").asText();
        Answer a = admin.patch("/admin/api/tokens/" + id, "{\"name\":\"eve\",\"maxConcurrency\":-5}");
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.errorField()).isEqualTo("maxConcurrency");
        assertThat(admin.get("/admin/api/tokens/" + id).json().path("name").asText()).isEqualTo("dave");
        assertThat(admin.patch("/admin/api/tokens/tok_000000000000", "{\"enabled\":false}").status())
                .isEqualTo(404);
    }
}
