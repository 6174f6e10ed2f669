package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.NodeScripts;
import io.gemgate.testing.RecordedRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Google's Gen AI SDK for JavaScript ({@code @google/genai}), driven by {@code src/test/node/google-genai.test.mjs}
 * against a gateway with three keys, each a Cloud project of its own (the fake binds files and caches to the project
 * that created them, as Google does): generateContent, streaming, countTokens, embedContent, models, a file uploaded
 * and used, a cache made from it and used, a multi-turn chat, a function call round trip and Google's errors. What the
 * SDK returned is checked by the script; what reached the upstream, and with which key, here.
 */
@ExtendWith(LeakDetection.class)
class GoogleGenAiNodeSdkTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern FILE = Pattern.compile("files/([a-z0-9]+)");
    private static final Pattern CACHE = Pattern.compile("cachedContents/([a-z0-9]+)");

    @Test
    void everyCallOfTheSdkWorksAndFilesAndCachesStayWithTheirProject() throws Exception {
        NodeScripts.requireNode("@google/genai");
        try (GatewayHarness gw = GatewayHarness.start(3)) {
            for (int i = 0; i < 3; i++) {
                gw.fake().always(key(i), NodeScripts.upstream());
            }
            String out = NodeScripts.run("@google/genai", "google-genai.test.mjs",
                    Map.of("BASE_URL", gw.baseUrl(), "TOKEN", TOKEN), Duration.ofMinutes(2));
            assertThat(out).contains("ok 1 - generateContent answers", "the function's result goes back",
                    "an unknown model raises Google's 404");

            List<RecordedRequest> calls = gw.fake().requests();
            Set<String> pool = Set.of(key(0), key(1), key(2));
            for (RecordedRequest r : calls) {
                assertThat(r.key()).as("%s %s", r.method(), r.uri()).isIn(pool);
                assertThat(r.uri() + r.headers() + r.body()).doesNotContain(TOKEN);
            }

            // The SDK's own paths (3.x speaks /v1 and uploads to /upload/v1/files) reach the upstream.
            RecordedRequest first = calls.get(0);
            assertThat(first.path()).isEqualTo("/v1/models/gemini-2.5-flash:generateContent");
            assertThat(JSON.readTree(first.body()).at("/contents/0/parts/0/text").asText()).isEqualTo("Say hello.");
            assertThat(calls).anySatisfy(r -> assertThat(r.uri())
                    .isEqualTo("/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse"));
            assertThat(calls).anySatisfy(r -> assertThat(r.path()).endsWith("gemini-embedding-001:batchEmbedContents"));

            // The file: uploaded (both steps of the resumable protocol) and then used, only ever with one key.
            List<RecordedRequest> uploads = calls.stream().filter(r -> r.path().startsWith("/upload/")).toList();
            assertThat(uploads).hasSize(2);
            assertThat(uploads.get(0).header("x-goog-upload-protocol")).isEqualTo("resumable");
            assertThat(uploads.get(0).header("x-goog-upload-command")).isEqualTo("start");
            assertThat(uploads.get(1).header("x-goog-upload-command")).contains("finalize");
            String holder = uploads.get(0).key();
            assertThat(uploads.get(1).key()).isEqualTo(holder);
            List<RecordedRequest> usingFile = new ArrayList<>();
            List<RecordedRequest> usingCache = new ArrayList<>();
            for (RecordedRequest r : calls) {
                if (r.path().startsWith("/upload/")) {
                    continue;
                }
                if (FILE.matcher(r.uri() + r.body()).find()) {
                    usingFile.add(r);
                }
                if (CACHE.matcher(r.uri() + r.body()).find()) {
                    usingCache.add(r);
                }
            }
            // files.get, 3 generateContent, 1 stream, caches.create, files.delete (and lookups after it)
            assertThat(usingFile.stream().filter(r -> r.path().endsWith("Content")).count()).isEqualTo(4);
            assertThat(usingCache.stream().filter(r -> r.path().endsWith(":generateContent")).toList())
                    .singleElement().satisfies(r -> assertThat(JSON.readTree(r.body()).path("cachedContent").asText())
                            .startsWith("cachedContents/"));
            for (RecordedRequest r : usingFile) {
                if (!isLookupAfterDelete(r)) {
                    assertThat(r.key()).as("%s %s uses the file", r.method(), r.uri()).isEqualTo(holder);
                }
            }
            for (RecordedRequest r : usingCache) {
                if (!isLookupAfterDelete(r)) {
                    assertThat(r.key()).as("%s %s uses the cache", r.method(), r.uri()).isEqualTo(holder);
                }
            }
            // ... while calls that reference nothing still rotate, and no key left the rotation.
            Set<String> free = new HashSet<>();
            calls.stream().filter(r -> !r.path().startsWith("/upload/") && !usingFile.contains(r)
                    && !usingCache.contains(r)).forEach(r -> free.add(r.key()));
            assertThat(free).isEqualTo(pool);
            for (int i = 0; i < 3; i++) {
                assertThat(gw.poolKey(key(i)).isInvalid()).isFalse();
                assertThat(gw.poolKey(key(i)).isEnabled()).isTrue();
            }

            // The chat sends its history; the function call round trip sends the call and its result.
            List<JsonNode> chat = bodies(calls, "Hello, I am Ann.");
            assertThat(chat).hasSize(3);
            assertThat(roles(chat.get(2))).containsExactly("user", "model", "user", "model", "user");
            assertThat(chat.get(2).at("/systemInstruction/parts/0/text").asText()).isEqualTo("Be brief.");
            List<JsonNode> weather = bodies(calls, "Weather in Paris?");
            assertThat(weather).hasSize(2);
            assertThat(weather.get(0).at("/tools/0/functionDeclarations/0/name").asText()).isEqualTo(NodeScripts.TOOL);
            assertThat(weather.get(1).at("/contents/1/parts/0/functionCall/args/city").asText()).isEqualTo("Paris");
            assertThat(weather.get(1).at("/contents/2/parts/0/functionResponse/response/temp").asInt()).isEqualTo(21);

            // A 404 for a model is the client's: passed on at once, not tried on the other keys.
            assertThat(calls.stream().filter(r -> NodeScripts.UNKNOWN_MODEL.equals(r.model())).count()).isEqualTo(1);
        }
    }

    /** The gateway's own metadata lookups, over every key, for a file or cache deleted just before. */
    private static boolean isLookupAfterDelete(RecordedRequest r) {
        return r.method().equals("GET") && r.path().startsWith("/v1beta/");
    }

    private static List<JsonNode> bodies(List<RecordedRequest> calls, String firstText) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (RecordedRequest r : calls) {
            if (r.body().contains(firstText)) {
                JsonNode body = JSON.readTree(r.body());
                if (body.at("/contents/0/parts/0/text").asText().equals(firstText)) {
                    out.add(body);
                }
            }
        }
        return out;
    }

    private static List<String> roles(JsonNode body) {
        List<String> roles = new ArrayList<>();
        body.path("contents").forEach(c -> roles.add(c.path("role").asText()));
        return roles;
    }
}
