package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.Behavior;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RecordedRequest;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The OpenAI routes over plain HTTP: what the upstream receives and what the client gets back. */
@ExtendWith(LeakDetection.class)
class OpenAiRoutesTest {
    private static final String CHAT = "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"system\","
            + "\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"hi\"}]}";
    private GatewayHarness gw;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
    }

    private HttpResponse<String> openAi(String method, String path, String body) {
        HttpRequest.Builder b = gw.request(path).header("Authorization", "Bearer " + TOKEN)
                .header("content-type", "application/json");
        b = body == null ? b.method(method, HttpRequest.BodyPublishers.noBody())
                : b.method(method, HttpRequest.BodyPublishers.ofString(body));
        return gw.send(b.build());
    }

    @Test
    void chatCompletionIsTranslatedBothWays() {
        gw = GatewayHarness.start(1);
        HttpResponse<String> r = openAi("POST", "/v1/chat/completions", CHAT);

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"object\":\"chat.completion\"", "\"content\":\"ok\"",
                "\"finish_reason\":\"stop\"", "\"prompt_tokens\":7", "\"model\":\"gemini-2.5-flash\"");
        RecordedRequest up = gw.fake().lastRequest();
        assertThat(up.path()).isEqualTo("/v1beta/models/gemini-2.5-flash:generateContent");
        assertThat(up.header("x-goog-api-key")).isEqualTo(key(0));
        assertThat(up.header("authorization")).isNull();
        assertThat(up.body()).contains("systemInstruction", "be brief", "\"role\":\"user\"");
    }

    @Test
    void streamedChatBecomesChunksEndingWithDone() {
        gw = GatewayHarness.start(1);
        HttpResponse<String> r = openAi("POST", "/v1/chat/completions",
                CHAT.replace("{\"model\"", "{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"model\""));

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        assertThat(r.body()).contains("chat.completion.chunk", "\"Hel\"", "\"lo\"", "\"finish_reason\":\"stop\"",
                "\"choices\":[]", "\"total_tokens\":10").endsWith("data: [DONE]\n\n");
        assertThat(gw.fake().lastRequest().uri()).endsWith(":streamGenerateContent?alt=sse");
    }

    @Test
    void anEmptyAnswerIsRetriedOnTheNextKey() {
        gw = GatewayHarness.start(2);
        gw.fake().script(key(0), Behavior.status(200, "{\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":3}}"));
        HttpResponse<String> r = openAi("POST", "/v1/chat/completions", CHAT);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"content\":\"ok\"");
        assertThat(gw.fake().keysUsed()).containsExactly(key(0), key(1));
    }

    @Test
    void anEmptyStreamIsRetriedOnTheNextKey() {
        gw = GatewayHarness.start(2);
        gw.fake().script(key(0), Behavior.stream(List.of("{\"usageMetadata\":{\"promptTokenCount\":3}}"),
                Duration.ZERO));
        HttpResponse<String> r = openAi("POST", "/v1/chat/completions", CHAT.replace("{\"model\"",
                "{\"stream\":true,\"model\""));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"Hel\"").endsWith("data: [DONE]\n\n");
        assertThat(gw.fake().keysUsed()).containsExactly(key(0), key(1));
    }

    @Test
    void anUpstreamErrorEventAfterContentReachesTheClientAndCountsAgainstTheKey() {
        gw = GatewayHarness.start(1);
        gw.fake().script(key(0), Behavior.stream(List.of(FakeGemini.textEvent("partial"),
                "{\"error\":{\"code\":503,\"message\":\"overloaded\",\"status\":\"UNAVAILABLE\"}}"), Duration.ZERO));
        HttpResponse<String> r = openAi("POST", "/v1/chat/completions", CHAT.replace("{\"model\"",
                "{\"stream\":true,\"model\""));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"partial\"", "\"error\"", "overloaded").doesNotContain("[DONE]");
        var pool = gw.server().pool();
        assertThat(pool.usage(gw.poolKey(key(0)), pool.model("gemini-2.5-flash")).failures()).isEqualTo(1);
        assertThat(pool.usage(gw.poolKey(key(0)), pool.model("gemini-2.5-flash")).successes()).isZero();
    }

    @Test
    void modelAliasesFromTheLiveSettingsApplyToTheNextRequest() {
        gw = GatewayHarness.start(1);
        var ctx = gw.server().context();
        ctx.settings(ctx.settings().toBuilder().modelAliases(java.util.Map.of("fast", "gemini-2.5-flash-lite")).build());
        HttpResponse<String> r = openAi("POST", "/v1/chat/completions", CHAT.replace("\"gemini-2.5-flash\"", "\"fast\""));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"model\":\"fast\"");
        assertThat(gw.fake().lastRequest().path()).isEqualTo("/v1beta/models/gemini-2.5-flash-lite:generateContent");
    }

    @Test
    void badRequestsAre400NamingTheParamBeforeAnyUpstreamCall() {
        gw = GatewayHarness.start(1);
        HttpResponse<String> noMessages = openAi("POST", "/v1/chat/completions", "{\"model\":\"m\"}");
        HttpResponse<String> badJson = openAi("POST", "/v1/chat/completions", "{\"model\":");
        HttpResponse<String> badRole = openAi("POST", "/v1/chat/completions",
                "{\"model\":\"m\",\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}");
        assertThat(noMessages.statusCode()).isEqualTo(400);
        assertThat(noMessages.body()).contains("\"param\":\"messages\"", "invalid_request_error");
        assertThat(badJson.statusCode()).isEqualTo(400);
        assertThat(badRole.statusCode()).isEqualTo(400);
        assertThat(badRole.body()).contains("wizard");
        assertThat(gw.fake().requestCount()).isZero();
    }

    @Test
    void errorsComeInOpenAiShape() {
        gw = GatewayHarness.start(1);
        HttpResponse<String> noToken = gw.send(gw.request("/v1/chat/completions")
                .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build());
        assertThat(noToken.statusCode()).isEqualTo(401);
        assertThat(noToken.body()).contains("\"error\":{", "\"type\":").doesNotContain("UNAUTHENTICATED");

        gw.fake().always(key(0), Behavior.quotaDay());
        HttpResponse<String> exhausted = openAi("POST", "/v1/chat/completions", CHAT);
        assertThat(exhausted.statusCode()).isEqualTo(503);
        assertThat(exhausted.body()).contains("\"error\":{", "exhausted");
        assertThat(exhausted.headers().firstValue("retry-after")).isPresent();
    }

    @Test
    void modelsListAndOneModelInOpenAiShapeForBearerCallersAndGeminiShapeForGoogleCallers() {
        gw = GatewayHarness.start(1);
        HttpResponse<String> list = openAi("GET", "/v1/models", null);
        assertThat(list.statusCode()).isEqualTo(200);
        assertThat(list.body()).contains("\"object\":\"list\"", "\"id\":\"gemini-2.5-flash\"", "\"owned_by\"")
                .doesNotContain("models/gemini");
        assertThat(openAi("GET", "/v1/models/gemini-2.5-pro", null).body()).contains("\"id\":\"gemini-2.5-pro\"");
        HttpResponse<String> missing = openAi("GET", "/v1/models/nope", null);
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(missing.body()).contains("model_not_found");
        assertThat(gw.get("/v1/models").body()).contains("\"name\":\"models/gemini-2.5-flash\"");
        assertThat(gw.send(gw.request("/openai/v1/models").header("x-goog-api-key", TOKEN).GET().build()).body())
                .contains("\"object\":\"list\"");
    }

    @Test
    void embeddingsGoToBatchEmbedContentsInBatchesOf100() {
        gw = GatewayHarness.start(1);
        StringBuilder inputs = new StringBuilder("[");
        for (int i = 0; i < 150; i++) {
            inputs.append(i == 0 ? "" : ",").append("\"text ").append(i).append('"');
        }
        HttpResponse<String> r = openAi("POST", "/v1/embeddings", "{\"model\":\"gemini-embedding-001\",\"input\":"
                + inputs + "],\"encoding_format\":\"float\"}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"object\":\"list\"", "\"index\":149", "\"embedding\":[0.1");
        assertThat(gw.fake().requests()).extracting(RecordedRequest::path).containsExactly(
                "/v1beta/models/gemini-embedding-001:batchEmbedContents",
                "/v1beta/models/gemini-embedding-001:batchEmbedContents");
    }
}
