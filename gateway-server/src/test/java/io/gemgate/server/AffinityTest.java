package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.genai.Client;
import com.google.genai.errors.ClientException;
import com.google.genai.types.CachedContent;
import com.google.genai.types.Content;
import com.google.genai.types.CreateCachedContentConfig;
import com.google.genai.types.File;
import com.google.genai.types.GenerateContentConfig;
import com.google.genai.types.GenerateContentResponse;
import com.google.genai.types.HttpOptions;
import com.google.genai.types.HttpRetryOptions;
import com.google.genai.types.Part;
import com.google.genai.types.UploadFileConfig;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RecordedRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Files, cached contents, batches and stores stay with the key (Cloud project) that created them (README, key
 * affinity). With Google's own Java SDK in front of a fake that enforces project binding as Google does, a file
 * uploaded through the gateway is usable by every later call, whichever key the rotation would have picked, and no key
 * leaves the rotation.
 */
@ExtendWith(LeakDetection.class)
class AffinityTest {
    private static final String FLASH = "gemini-2.5-flash";
    private static final String GENERATE = "/v1beta/models/" + FLASH + ":generateContent";

    private GatewayHarness gw;
    private Client client;
    private io.gemgate.testing.FakeGemini ownFake;

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        if (gw != null) {
            gw.close();
        }
        if (ownFake != null) {
            ownFake.close();
        }
    }

    private Client sdk() {
        return Client.builder().apiKey(TOKEN).httpOptions(HttpOptions.builder().baseUrl(gw.baseUrl())
                .apiVersion("v1beta").retryOptions(HttpRetryOptions.builder().attempts(1).initialDelay(0.0).build())
                .build()).build();
    }

    private File upload(String text) {
        return client.files.upload(text.getBytes(StandardCharsets.UTF_8),
                UploadFileConfig.builder().mimeType("text/plain").displayName("notes").build());
    }

    private static Content withFile(File f) {
        return Content.fromParts(Part.fromText("Summarise this file."), Part.fromUri(f.uri().orElseThrow(),
                "text/plain"));
    }

    private List<String> keysOf(String pathPart) {
        return gw.fake().requests().stream().filter(r -> r.path().contains(pathPart)).map(RecordedRequest::key)
                .toList();
    }

    private void assertEveryKeyInRotation(int n) {
        for (int i = 0; i < n; i++) {
            assertThat(gw.poolKey(key(i)).isInvalid()).as("key %d", i).isFalse();
            assertThat(gw.poolKey(key(i)).isEnabled()).isTrue();
        }
    }

    @Test
    void aFileUploadedThroughTheGatewayServesTenGenerateCallsAndEveryKeyStaysInRotation() {
        gw = GatewayHarness.start(4);
        client = sdk();
        File f = upload("hello world");
        String holder = keysOf("/upload/").get(0);
        assertThat(keysOf("/upload/")).as("both steps of the resumable upload").hasSize(2).containsOnly(holder);
        assertThat(gw.fake().resources("files", holder)).containsExactly(f.name().orElseThrow());

        for (int i = 0; i < 10; i++) {
            GenerateContentResponse r = client.models.generateContent(FLASH, withFile(f), null);
            assertThat(r.text()).isEqualTo("ok");
        }
        assertThat(keysOf(":generateContent")).hasSize(10).containsOnly(holder);
        assertThat(client.files.get(f.name().orElseThrow(), null).name()).isEqualTo(f.name());
        assertEveryKeyInRotation(4);

        // Calls that reference nothing still rotate over every key.
        for (int i = 0; i < 4; i++) {
            assertThat(gw.generate(FLASH).statusCode()).isEqualTo(200);
        }
        assertThat(gw.fake().keysUsed().subList(gw.fake().requestCount() - 4, gw.fake().requestCount()))
                .containsExactlyInAnyOrder(key(0), key(1), key(2), key(3));

        client.files.delete(f.name().orElseThrow(), null);
        assertThat(gw.server().context().affinity().get(f.name().orElseThrow())).isNull();
    }

    @Test
    void theMapSurvivesARestart() {
        gw = GatewayHarness.start(3);
        client = sdk();
        File f = upload("kept across restarts");
        String holder = keysOf("/upload/").get(0);
        client.close();
        gw.restart();
        client = sdk();
        for (int i = 0; i < 4; i++) {
            assertThat(client.models.generateContent(FLASH, withFile(f), null).text()).isEqualTo("ok");
        }
        assertThat(keysOf(":generateContent")).hasSize(4).containsOnly(holder);
        assertThat(gw.fake().requests().stream().filter(r -> r.method().equals("GET")
                && r.path().startsWith("/v1beta/files/")).count()).as("no owner lookup needed").isZero();
    }

    @Test
    void cachedContentsLikewiseAndTheCachesFilesTooAndPatchAndDeleteGoToTheHolder() {
        gw = GatewayHarness.start(3);
        client = sdk();
        File f = upload("a long document");
        String holder = keysOf("/upload/").get(0);
        CachedContent cache = client.caches.create(FLASH, CreateCachedContentConfig.builder()
                .contents(withFile(f)).ttl(Duration.ofMinutes(10)).build());
        assertThat(keysOf("/cachedContents")).containsOnly(holder);
        for (int i = 0; i < 5; i++) {
            GenerateContentResponse r = client.models.generateContent(FLASH, "What does it say?",
                    GenerateContentConfig.builder().cachedContent(cache.name().orElseThrow()).build());
            assertThat(r.text()).isEqualTo("ok");
        }
        assertThat(keysOf(":generateContent")).hasSize(5).containsOnly(holder);
        assertThat(client.caches.get(cache.name().orElseThrow(), null).name()).isEqualTo(cache.name());
        client.caches.delete(cache.name().orElseThrow(), null);
        assertThat(keysOf("/cachedContents")).containsOnly(holder);
        assertThat(gw.server().context().affinity().get(cache.name().orElseThrow())).isNull();
        assertEveryKeyInRotation(3);
    }

    @Test
    void aFileNoKeyHoldsGetsGoogles403AndAfterManySuchRequestsEveryKeyIsStillInRotation() {
        gw = GatewayHarness.start(4);
        client = sdk();
        String uri = "https://generativelanguage.googleapis.com/v1beta/files/nosuchfile1";
        for (int i = 0; i < 12; i++) {
            ClientException e = catchThrowableOfType(ClientException.class, () -> client.models.generateContent(FLASH,
                    Content.fromParts(Part.fromText("hi"), Part.fromUri(uri, "text/plain")), null));
            assertThat(e.code()).isEqualTo(403);
            assertThat(e.getMessage()).contains("You do not have permission to access the File nosuchfile1 or it "
                    + "may not exist.");
        }
        // One metadata call per key, once: the answer is remembered; never a generation per key.
        assertThat(gw.fake().requests().stream().filter(r -> r.path().equals("/v1beta/files/nosuchfile1")).count())
                .isEqualTo(4);
        assertThat(keysOf(":generateContent")).isEmpty();
        assertEveryKeyInRotation(4);
        assertThat(gw.generate(FLASH).statusCode()).isEqualTo(200);
    }

    @Test
    void aFileCreatedOutsideTheGatewayIsFoundByALookupAndRemembered() {
        gw = GatewayHarness.start(4);
        String name = gw.fake().createFile(key(2), "text/plain");
        String body = "{\"contents\":[{\"parts\":[{\"fileData\":{\"mimeType\":\"text/plain\",\"fileUri\":"
                + "\"https://generativelanguage.googleapis.com/v1beta/" + name + "\"}}]}]}";
        for (int i = 0; i < 5; i++) {
            assertThat(gw.post(GENERATE, body).statusCode()).isEqualTo(200);
        }
        assertThat(keysOf(":generateContent")).hasSize(5).containsOnly(key(2));
        long lookups = gw.fake().requests().stream().filter(r -> r.path().equals("/v1beta/" + name)).count();
        assertThat(lookups).isBetween(1L, 3L); // asked until found, once
        assertEveryKeyInRotation(4);
    }

    @Test
    void twoResourcesOfDifferentKeysInOneRequestAreAClear400() {
        gw = GatewayHarness.start(3);
        String a = gw.fake().createFile(key(0), "text/plain");
        String b = gw.fake().createFile(key(1), "text/plain");
        String body = "{\"contents\":[{\"parts\":[{\"fileData\":{\"fileUri\":\"" + a + "\"}},{\"fileData\":"
                + "{\"fileUri\":\"https://generativelanguage.googleapis.com/v1beta/" + b + "\"}}]}]}";
        HttpResponse<String> r = gw.post(GENERATE, body);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains(a, b, "different Cloud projects", "\"status\":\"INVALID_ARGUMENT\"");
        assertThat(keysOf(":generateContent")).isEmpty();
    }

    @Test
    void keysOfOneProjectShareTheirResources() {
        ownFake = io.gemgate.testing.FakeGemini.start();
        gw = GatewayHarness.start(ownFake, List.of(new io.gemgate.core.keys.KeySpec(key(0), "alpha", 1, ""),
                new io.gemgate.core.keys.KeySpec(key(1), "alpha", 1, ""), io.gemgate.core.keys.KeySpec.of(key(2))),
                Map.of(), System::currentTimeMillis);
        gw.fake().project(key(0), "alpha").project(key(1), "alpha");
        String name = gw.fake().createFile(key(0), "text/plain");
        String body = "{\"contents\":[{\"parts\":[{\"fileData\":{\"fileUri\":\"" + name + "\"}}]}]}";
        assertThat(gw.post(GENERATE, body).statusCode()).isEqualTo(200);
        String first = gw.fake().lastRequest().key();
        assertThat(first).isIn(key(0), key(1));
        // The holder disabled: another key of its project serves what it holds.
        String other = first.equals(key(0)) ? key(1) : key(0);
        gw.server().context().pool().setEnabled(gw.poolKey(first).id(), false);
        assertThat(gw.post(GENERATE, body).statusCode()).isEqualTo(200);
        assertThat(gw.fake().lastRequest().key()).isEqualTo(other);
        // A per-minute 429 cools the whole project (its quota): 429 with Retry-After, never key(2)'s project.
        gw.fake().script(other, Behavior.rateLimitMinute(Duration.ofSeconds(30)));
        HttpResponse<String> r = gw.post(GENERATE, body);
        assertThat(r.statusCode()).isEqualTo(429);
        assertThat(r.headers().firstValue("retry-after")).isPresent();
        assertThat(keysOf(":generateContent")).doesNotContain(key(2));
    }

    @Test
    void whenTheHolderIsCoolingTheClientGets429WithRetryAfterAndWhenInvalidAClearError() {
        gw = GatewayHarness.start(3);
        String name = gw.fake().createFile(key(1), "text/plain");
        String body = "{\"contents\":[{\"parts\":[{\"fileData\":{\"fileUri\":\"" + name + "\"}}]}]}";
        assertThat(gw.post(GENERATE, body).statusCode()).isEqualTo(200); // found and recorded

        gw.fake().script(key(1), Behavior.rateLimitMinute(Duration.ofSeconds(30)));
        HttpResponse<String> cooling = gw.post(GENERATE, body);
        assertThat(cooling.statusCode()).isEqualTo(429);
        assertThat(cooling.headers().firstValue("retry-after")).isPresent();
        assertThat(cooling.body()).contains(name, "cooling down");
        assertThat(keysOf(":generateContent")).containsOnly(key(1)); // never another project's key

        gw.server().context().pool().markInvalid(gw.poolKey(key(1)).id(), "API_KEY_INVALID");
        HttpResponse<String> invalid = gw.post(GENERATE, body);
        assertThat(invalid.statusCode()).isEqualTo(503);
        assertThat(invalid.body()).contains(name, "invalid", "Create it again");
        assertThat(gw.generate(FLASH).statusCode()).isEqualTo(200); // the others serve what references nothing
    }

    @Test
    void theAdminApiListsTheMapAndEachKeysCountAndMetricsCountHits() {
        gw = GatewayHarness.start(2, AdminClient.env());
        client = sdk();
        File f = upload("listed");
        String holder = keysOf("/upload/").get(0);
        client.models.generateContent(FLASH, withFile(f), null);
        AdminClient admin = new AdminClient(gw, 2);
        JsonNode list = admin.get("/admin/api/affinity").json();
        assertThat(list.path("entries")).anySatisfy(e -> {
            assertThat(e.path("resource").asText()).isEqualTo(f.name().orElseThrow());
            assertThat(e.path("key").asText()).isEqualTo(gw.poolKey(holder).masked());
            assertThat(e.path("expires").asText()).isNotEmpty();
        });
        assertThat(list.toString()).doesNotContain(holder);
        JsonNode keys = admin.get("/admin/api/keys").json().path("keys");
        assertThat(keys).anySatisfy(k -> {
            assertThat(k.path("key").asText()).isEqualTo(gw.poolKey(holder).masked());
            assertThat(k.path("resources").asInt()).isEqualTo(1);
        });
        assertThat(list.path("stats").path("hits").asLong()).isPositive();
    }

    @Test
    void withUserTokensEachTokenUsesOnlyWhatItCreated() {
        gw = GatewayHarness.start(3);
        String alice = gw.server().context().tokens().create("alice", io.gemgate.core.tokens.TokenLimits.unlimited())
                .secret();
        String bob = gw.server().context().tokens().create("bob", io.gemgate.core.tokens.TokenLimits.unlimited())
                .secret();
        String name = gw.fake().createFile(key(1), "text/plain");
        String body = "{\"contents\":[{\"parts\":[{\"fileData\":{\"fileUri\":\"" + name + "\"}}]}]}";
        java.util.function.Function<String, HttpResponse<String>> as = secret -> gw.send(gw.request(GENERATE)
                .header("x-goog-api-key", secret).POST(java.net.http.HttpRequest.BodyPublishers.ofString(body))
                .build());
        assertThat(as.apply(alice).statusCode()).isEqualTo(200); // found for alice, recorded as hers
        HttpResponse<String> other = as.apply(bob);
        assertThat(other.statusCode()).isEqualTo(403);
        assertThat(other.body()).contains("You do not have permission to access the File").doesNotContain(alice);
        HttpResponse<String> get = gw.send(gw.request("/v1beta/" + name).header("x-goog-api-key", bob).GET().build());
        assertThat(get.statusCode()).isEqualTo(403);
        assertThat(as.apply(alice).statusCode()).isEqualTo(200);
        assertThat(keysOf(":generateContent")).containsOnly(key(1));
    }
}
