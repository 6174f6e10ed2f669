package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.JsonValue;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.BadRequestException;
import com.anthropic.errors.RateLimitException;
import com.anthropic.errors.UnauthorizedException;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.ContentBlockParam;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCountTokensParams;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.anthropic.models.messages.Tool;
import com.anthropic.models.messages.ToolResultBlockParam;
import com.anthropic.models.messages.ToolUseBlock;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gemgate.core.tokens.TokenLimits;
import io.gemgate.server.metrics.MicrometerMetrics;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RecordedRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Anthropic's official Java SDK ({@code com.anthropic:anthropic-java}) pointed at the gateway, in front of the fake
 * Gemini: each test checks what Gemini received (the translated request, read as JSON) and what the SDK made of the
 * translated answer. Clients are built with {@code maxRetries(0)} unless a test is about retries, so what a test sees
 * is the gateway's doing.
 */
@ExtendWith(LeakDetection.class)
class AnthropicSdkTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A thought signature as Gemini sends it: standard base64 of opaque bytes. */
    private static final String SIGNATURE = Base64.getEncoder().encodeToString(
            "gemini-thought-signature:0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8));
    private static final String SIGNATURE_2 = Base64.getEncoder().encodeToString(
            "another-signature:fedcba9876543210".getBytes(StandardCharsets.UTF_8));

    private GatewayHarness gw;
    private AnthropicClient client;

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        if (gw != null) {
            gw.close();
        }
    }

    private FakeGemini fake() {
        return gw.fake();
    }

    private void start(int keys) {
        gw = GatewayHarness.start(keys);
        client = sdk(TOKEN, 0);
    }

    private AnthropicClient sdk(String apiKey, int maxRetries) {
        return AnthropicOkHttpClient.builder().apiKey(apiKey).baseUrl(gw.baseUrl()).maxRetries(maxRetries).build();
    }

    private static MessageCreateParams.Builder params(String model) {
        return MessageCreateParams.builder().model(model).maxTokens(1024);
    }

    private static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String text(Message m) {
        StringBuilder sb = new StringBuilder();
        for (ContentBlock b : m.content()) {
            b.text().ifPresent(t -> sb.append(t.text()));
        }
        return sb.toString();
    }

    @Test
    void aClaudeModelNameGoesToItsGeminiDefaultAndTheAnswerIsAMessage() {
        start(1);
        Message m = client.messages().create(params("claude-sonnet-4-5-20250929")
                .system("Be brief.").addUserMessage("hi").stopSequences(List.of("END"))
                .putAdditionalBodyProperty("top_k", JsonValue.from(40)) // the SDK no longer has a setter
                .build());

        assertThat(text(m)).isEqualTo("ok");
        assertThat(m.model().asString()).isEqualTo("claude-sonnet-4-5-20250929");
        assertThat(m.id()).startsWith("msg_");
        assertThat(m.stopReason()).contains(StopReason.END_TURN);
        assertThat(m.usage().inputTokens()).isEqualTo(7);
        assertThat(m.usage().outputTokens()).isEqualTo(3);
        RecordedRequest r = fake().lastRequest();
        assertThat(r.path()).isEqualTo("/v1beta/models/gemini-2.5-flash:generateContent");
        assertThat(r.key()).isEqualTo(key(0));
        JsonNode body = json(r.body());
        assertThat(body.at("/systemInstruction/parts/0/text").asText()).isEqualTo("Be brief.");
        assertThat(body.at("/contents/0/role").asText()).isEqualTo("user");
        assertThat(body.at("/contents/0/parts/0/text").asText()).isEqualTo("hi");
        assertThat(body.at("/generationConfig/maxOutputTokens").asInt()).isEqualTo(1024);
        assertThat(body.at("/generationConfig/topK").asInt()).isEqualTo(40);
        assertThat(body.at("/generationConfig/stopSequences/0").asText()).isEqualTo("END");
    }

    @Test
    void opusAndHaikuGoToProAndFlashLiteAndAGeminiNameIsKept() {
        start(1);
        client.messages().create(params("claude-opus-4-1").addUserMessage("hi").build());
        assertThat(fake().lastRequest().model()).isEqualTo("gemini-2.5-pro");
        client.messages().create(params("claude-3-5-haiku-latest").addUserMessage("hi").build());
        assertThat(fake().lastRequest().model()).isEqualTo("gemini-2.5-flash-lite");
        client.messages().create(params("gemini-2.0-flash").addUserMessage("hi").build());
        assertThat(fake().lastRequest().model()).isEqualTo("gemini-2.0-flash");
    }

    @Test
    void aStreamAccumulatesToTheWholeMessage() {
        start(1);
        MessageAccumulator acc = MessageAccumulator.create();
        try (StreamResponse<RawMessageStreamEvent> s = client.messages().createStreaming(
                params("gemini-2.5-flash").addUserMessage("hi").build())) {
            s.stream().forEach(acc::accumulate);
        }
        Message m = acc.message();

        assertThat(text(m)).isEqualTo("Hello!");
        assertThat(m.stopReason()).contains(StopReason.END_TURN);
        assertThat(m.usage().outputTokens()).isEqualTo(3);
        assertThat(fake().lastRequest().uri())
                .isEqualTo("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
    }

    @Test
    void aToolUseAndItsResultMakeTheRoundTripWithTheThoughtSignature() {
        start(1);
        fake().script(key(0), Behavior.status(200, FakeGemini.partsEvent(List.of(
                FakeGemini.functionCallPart("get_weather", "{\"city\":\"Paris\"}", SIGNATURE)), "STOP", 12, 5, 0)));
        Tool weather = Tool.builder().name("get_weather").description("Weather of a city")
                .inputSchema(Tool.InputSchema.builder()
                        .properties(JsonValue.from(Map.of("city", Map.of("type", "string"))))
                        .required(List.of("city")).build())
                .build();
        MessageCreateParams.Builder p = params("gemini-3-flash-preview").addTool(weather)
                .addUserMessage("Weather in Paris?");
        Message first = client.messages().create(p.build());

        assertThat(first.stopReason()).contains(StopReason.TOOL_USE);
        ToolUseBlock use = first.content().get(0).asToolUse();
        assertThat(use.name()).isEqualTo("get_weather");
        assertThat(use._input().convert(Map.class)).isEqualTo(Map.of("city", "Paris"));
        JsonNode sent = json(fake().lastRequest().body());
        assertThat(sent.at("/tools/0/functionDeclarations/0/name").asText()).isEqualTo("get_weather");
        assertThat(sent.at("/tools/0/functionDeclarations/0/parameters/properties/city/type").asText())
                .isEqualTo("STRING");

        client.messages().create(p.addMessage(first).addUserMessageOfContentBlockParams(List.of(
                ContentBlockParam.ofToolResult(ToolResultBlockParam.builder().toolUseId(use.id())
                        .content("{\"temperature\":21}").build()))).build());
        JsonNode second = json(fake().lastRequest().body());
        assertThat(second.at("/contents/1/role").asText()).isEqualTo("model");
        assertThat(second.at("/contents/1/parts/0/functionCall/name").asText()).isEqualTo("get_weather");
        assertThat(second.at("/contents/1/parts/0/functionCall/args/city").asText()).isEqualTo("Paris");
        assertThat(second.at("/contents/1/parts/0/thoughtSignature").asText()).isEqualTo(SIGNATURE);
        assertThat(second.at("/contents/2/parts/0/functionResponse/name").asText()).isEqualTo("get_weather");
        assertThat(second.at("/contents/2/parts/0/functionResponse/response/temperature").asInt()).isEqualTo(21);
    }

    @Test
    void thinkingReachesUpstreamAndTheThinkingBlockSignatureComesBack() {
        start(1);
        fake().script(key(0), Behavior.stream(List.of(
                FakeGemini.partsEvent(List.of(FakeGemini.thoughtPart("Let me think.")), null, 9, 0, 4),
                FakeGemini.partsEvent(List.of("{\"text\":\"Answer.\",\"thoughtSignature\":\"" + SIGNATURE_2
                        + "\"}"), "STOP", 9, 2, 4)), Duration.ZERO));
        MessageCreateParams.Builder p = params("gemini-2.5-flash").maxTokens(4096).enabledThinking(2048)
                .addUserMessage("Why?");
        MessageAccumulator acc = MessageAccumulator.create();
        try (StreamResponse<RawMessageStreamEvent> s = client.messages().createStreaming(p.build())) {
            s.stream().forEach(acc::accumulate);
        }
        Message m = acc.message();

        JsonNode sent = json(fake().lastRequest().body());
        assertThat(sent.at("/generationConfig/thinkingConfig/thinkingBudget").asInt()).isEqualTo(2048);
        assertThat(sent.at("/generationConfig/thinkingConfig/includeThoughts").asBoolean()).isTrue();
        assertThat(m.content()).hasSize(2);
        assertThat(m.content().get(0).asThinking().thinking()).isEqualTo("Let me think.");
        assertThat(m.content().get(0).asThinking().signature()).isNotEmpty();
        assertThat(m.content().get(1).asText().text()).isEqualTo("Answer.");
        assertThat(m.usage().outputTokens()).isEqualTo(6);

        client.messages().create(p.addMessage(m).addUserMessage("And then?").build());
        JsonNode replay = json(fake().lastRequest().body());
        assertThat(replay.at("/contents/1/role").asText()).isEqualTo("model");
        assertThat(replay.at("/contents/1/parts")).hasSize(1); // the thought summary itself is not sent back
        assertThat(replay.at("/contents/1/parts/0/text").asText()).isEqualTo("Answer.");
        assertThat(replay.at("/contents/1/parts/0/thoughtSignature").asText()).isEqualTo(SIGNATURE_2);
    }

    @Test
    void countTokensAsksGeminisCountTokens() {
        start(1);
        long n = client.messages().countTokens(MessageCountTokensParams.builder().model("claude-sonnet-4-5")
                .system("sys").addUserMessage("hello").build()).inputTokens();

        assertThat(n).isEqualTo(7);
        RecordedRequest r = fake().lastRequest();
        assertThat(r.path()).isEqualTo("/v1beta/models/gemini-2.5-flash:countTokens");
        JsonNode body = json(r.body());
        assertThat(body.at("/generateContentRequest/model").asText()).isEqualTo("models/gemini-2.5-flash");
        assertThat(body.at("/generateContentRequest/contents/0/parts/0/text").asText()).isEqualTo("hello");
        assertThat(body.at("/generateContentRequest/systemInstruction/parts/0/text").asText()).isEqualTo("sys");
    }

    @Test
    void aWrongKeyIsAnAuthenticationError() {
        gw = GatewayHarness.start(1);
        client = sdk("not-the-token", 0);
        UnauthorizedException e = catchThrowableOfType(() -> client.messages()
                .create(params("claude-sonnet-4-5").addUserMessage("hi").build()), UnauthorizedException.class);

        assertThat(e.statusCode()).isEqualTo(401);
        assertThat(e.body().toString()).contains("authentication_error");
        assertThat(fake().requestCount()).isZero();
    }

    @Test
    void theBearerTokenOfAnthropicAuthTokenIsAcceptedToo() {
        gw = GatewayHarness.start(1);
        client = AnthropicOkHttpClient.builder().authToken(TOKEN).baseUrl(gw.baseUrl() + "/anthropic")
                .maxRetries(0).build();
        Message m = client.messages().create(params("claude-haiku-4-5").addUserMessage("hi").build());

        assertThat(text(m)).isEqualTo("ok");
    }

    @Test
    void everyKeyCoolingDownIsARateLimitErrorWithRetryAfter() {
        start(2);
        fake().always(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(20)));
        fake().always(key(1), Behavior.rateLimitMinute(Duration.ofSeconds(20)));
        RateLimitException e = catchThrowableOfType(() -> client.messages()
                .create(params("claude-sonnet-4-5").addUserMessage("hi").build()), RateLimitException.class);

        assertThat(e.statusCode()).isEqualTo(429);
        assertThat(e.body().toString()).contains("rate_limit_error");
        assertThat(e.headers().values("retry-after")).hasSize(1);
        assertThat(fake().keysUsed()).containsExactly(key(0), key(1));
    }

    @Test
    void aFailingKeyIsReplacedBeforeTheFirstByteOfAStream() {
        start(2);
        fake().script(key(0), Behavior.unavailable());
        MessageAccumulator acc = MessageAccumulator.create();
        try (StreamResponse<RawMessageStreamEvent> s = client.messages().createStreaming(
                params("claude-sonnet-4-5").addUserMessage("hi").build())) {
            s.stream().forEach(acc::accumulate);
        }

        assertThat(text(acc.message())).isEqualTo("Hello!");
        assertThat(fake().keysUsed()).containsExactly(key(0), key(1));
    }

    @Test
    void aBadRequestIsAnInvalidRequestErrorAndCallsNobody() {
        start(1);
        BadRequestException e = catchThrowableOfType(() -> client.messages().create(params("claude-sonnet-4-5")
                .addUserMessageOfContentBlockParams(List.of(ContentBlockParam.ofToolResult(ToolResultBlockParam
                        .builder().toolUseId("toolu_unknown").content("x").build()))).build()),
                BadRequestException.class);

        assertThat(e.statusCode()).isEqualTo(400);
        assertThat(e.body().toString()).contains("invalid_request_error").contains("toolu_unknown");
        assertThat(fake().requestCount()).isZero();
    }

    @Test
    void aMalformedBodyGetsAnAnthropicShaped400() {
        start(1);
        HttpResponse<String> r = gw.send(HttpRequest.newBuilder(java.net.URI.create(gw.baseUrl() + "/v1/messages"))
                .header("x-api-key", TOKEN).header("anthropic-version", "2023-06-01")
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"claude-sonnet-4-5\",\"messages\":[]")).build());

        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode body = json(r.body());
        assertThat(body.at("/type").asText()).isEqualTo("error");
        assertThat(body.at("/error/type").asText()).isEqualTo("invalid_request_error");
        assertThat(fake().requestCount()).isZero();
    }

    @Test
    void aUserTokenIsTheApiKeyItsUseIsCountedAndTheRouteHasItsMetricsLabel() throws InterruptedException {
        MicrometerMetrics metrics = new MicrometerMetrics();
        try {
            gw = GatewayHarness.start(1, Map.of(), metrics);
            String secret = gw.server().context().tokens().create("carol", TokenLimits.unlimited()).secret();
            client = sdk(secret, 0);
            Message m = client.messages().create(params("claude-sonnet-4-5").addUserMessage("hi").build());

            assertThat(text(m)).isEqualTo("ok");
            assertThat(fake().lastRequest().key()).isEqualTo(key(0));
            assertThat(fake().lastRequest().headers().toString()).doesNotContain(secret);
            var usage = gw.server().context().limiter().usage(gw.server().context().tokens().list().get(0),
                    System.currentTimeMillis());
            assertThat(usage.requestsToday()).isEqualTo(1);
            assertThat(usage.tokensToday()).isEqualTo(10);
            String series = "gemgate_requests_total{model=\"gemini-2.5-flash\",route=\"anthropic_messages\","
                    + "status=\"200\"} 1.0";
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            String text = gw.get("/metrics").body();
            while (!text.contains(series) && System.nanoTime() < deadline) {
                Thread.onSpinWait();
                text = gw.get("/metrics").body(); // the answer's events are reported just after its last byte
            }
            assertThat(text).contains(series);
        } finally {
            gw.close();
            gw = null;
            metrics.close();
        }
    }

    private HttpResponse<String> raw(String path, String body) {
        return gw.send(HttpRequest.newBuilder(java.net.URI.create(gw.baseUrl() + path))
                .header("x-api-key", TOKEN).header("anthropic-version", "2023-06-01")
                .header("anthropic-beta", "interleaved-thinking-2025-05-14")
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    @Test
    void aStreamOnTheWireHasAnthropicsEventLines() {
        start(1);
        HttpResponse<String> r = raw("/anthropic/v1/messages?beta=true", "{\"model\":\"claude-sonnet-4-5\","
                + "\"max_tokens\":64,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(ct -> assertThat(ct)
                .startsWith("text/event-stream"));
        assertThat(r.body()).startsWith("event: message_start\ndata: {\"type\":\"message_start\"")
                .contains("\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n")
                .contains("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
                        + "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n")
                .contains("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
                        + "\"end_turn\",\"stop_sequence\":null}")
                .endsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    }

    @Test
    void anUpstreamThatBreaksAfterTheFirstEventEndsTheStreamWithAnErrorEvent() {
        start(2);
        fake().script(key(0), Behavior.dropMidStream(1));
        HttpResponse<String> r = raw("/v1/messages", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":64,"
                + "\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"text\":\"part1\"")
                .contains("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\"")
                .doesNotContain("message_stop");
        assertThat(fake().keysUsed()).containsExactly(key(0)); // content had gone out: no failover
    }

    @Test
    void anEmptyAnswerIsTriedAgainOnTheNextKey() {
        start(2);
        fake().script(key(0), Behavior.status(200, FakeGemini.partsEvent(List.of(), "STOP", 3, 0, 0)));
        Message m = client.messages().create(params("claude-sonnet-4-5").addUserMessage("hi").build());

        assertThat(text(m)).isEqualTo("ok");
        assertThat(fake().keysUsed()).containsExactly(key(0), key(1));
    }
}
