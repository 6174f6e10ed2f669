package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.RateLimitException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.Reasoning;
import com.openai.models.ReasoningEffort;
import com.openai.models.responses.FunctionTool;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseFormatTextConfig;
import com.openai.models.responses.ResponseFormatTextJsonSchemaConfig;
import com.openai.models.responses.ResponseFunctionToolCall;
import com.openai.models.responses.ResponseInputItem;
import com.openai.models.responses.ResponseOutputItem;
import com.openai.models.responses.ResponseOutputMessage;
import com.openai.models.responses.ResponseStreamEvent;
import com.openai.models.responses.ResponseTextConfig;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * OpenAI's Java SDK ({@code com.openai:openai-java}), its Responses API ({@code client.responses()}), against the
 * gateway's {@code /v1/responses} in front of the fake upstream: what Gemini received, and what the SDK made of the
 * answer. Clients are built with {@code maxRetries(0)}, so what a test sees is the gateway's doing.
 */
@ExtendWith(LeakDetection.class)
class ResponsesSdkTest {
    private static final String FLASH = "gemini-2.5-flash";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SIGNATURE = Base64.getEncoder().encodeToString(
            "gemini-thought-signature:responses-0123456789".getBytes(StandardCharsets.UTF_8));

    private GatewayHarness gw;
    private OpenAIClient client;

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        if (gw != null) {
            gw.close();
        }
    }

    private void start(int keys) {
        gw = GatewayHarness.start(keys);
        client = sdk(TOKEN);
    }

    private OpenAIClient sdk(String apiKey) {
        return OpenAIOkHttpClient.builder().apiKey(apiKey).baseUrl(gw.baseUrl() + "/v1").maxRetries(0).build();
    }

    private FakeGemini fake() {
        return gw.fake();
    }

    private static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private JsonNode upstreamBody() {
        return json(fake().lastRequest().body());
    }

    private static String outputText(Response r) {
        StringBuilder sb = new StringBuilder();
        for (ResponseOutputItem item : r.output()) {
            item.message().ifPresent(m -> m.content().forEach(c -> c.outputText().ifPresent(t -> sb.append(t.text()))));
        }
        return sb.toString();
    }

    private static FunctionTool weatherTool() {
        return FunctionTool.builder()
                .name("get_weather")
                .description("Current weather in a city")
                .parameters(FunctionTool.Parameters.builder()
                        .putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of("city", Map.of("type", "string"))))
                        .putAdditionalProperty("required", JsonValue.from(List.of("city")))
                        .putAdditionalProperty("additionalProperties", JsonValue.from(false))
                        .build())
                .strict(true)
                .build();
    }

    @Test
    void textResponseWithInstructionsAndUsage() {
        start(1);
        Response r = client.responses().create(ResponseCreateParams.builder()
                .model(FLASH).instructions("be brief").input("hi").temperature(0.2).maxOutputTokens(64L).build());

        assertThat(r.id()).startsWith("resp_");
        assertThat(r.status()).hasValue(com.openai.models.responses.ResponseStatus.COMPLETED);
        assertThat(outputText(r)).isEqualTo("ok");
        assertThat(r.usage()).hasValueSatisfying(u -> {
            assertThat(u.inputTokens()).isEqualTo(7);
            assertThat(u.outputTokens()).isEqualTo(3);
            assertThat(u.totalTokens()).isEqualTo(10);
        });
        assertThat(fake().lastRequest().path()).isEqualTo("/v1beta/models/gemini-2.5-flash:generateContent");
        assertThat(fake().lastRequest().key()).isEqualTo(key(0));
        JsonNode body = upstreamBody();
        assertThat(body.at("/systemInstruction/parts/0/text").asText()).isEqualTo("be brief");
        assertThat(body.at("/contents/0/parts/0/text").asText()).isEqualTo("hi");
        assertThat(body.at("/generationConfig/temperature").asDouble()).isEqualTo(0.2);
        assertThat(body.at("/generationConfig/maxOutputTokens").asInt()).isEqualTo(64);
    }

    @Test
    void streamedResponseFollowsTheEventSequence() {
        start(1);
        List<ResponseStreamEvent> events;
        try (StreamResponse<ResponseStreamEvent> s = client.responses().createStreaming(ResponseCreateParams.builder()
                .model(FLASH).input("hi").build())) {
            events = s.stream().toList();
        }
        assertThat(fake().lastRequest().uri())
                .isEqualTo("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
        StringBuilder text = new StringBuilder();
        events.forEach(e -> e.outputTextDelta().ifPresent(d -> text.append(d.delta())));
        assertThat(text).hasToString("Hello!");
        assertThat(events.get(0).isCreated()).isTrue();
        assertThat(events.get(1).isInProgress()).isTrue();
        ResponseStreamEvent last = events.get(events.size() - 1);
        assertThat(last.isCompleted()).isTrue();
        Response done = last.asCompleted().response();
        assertThat(outputText(done)).isEqualTo("Hello!");
        assertThat(done.usage()).hasValueSatisfying(u -> assertThat(u.totalTokens()).isEqualTo(10));
        for (int i = 0; i < events.size(); i++) {
            assertThat(sequence(events.get(i))).isEqualTo(i);
        }
        // the SDK's own accumulator follows the item and part indexes of every event
        com.openai.helpers.ResponseAccumulator acc = com.openai.helpers.ResponseAccumulator.create();
        events.forEach(acc::accumulate);
        assertThat(outputText(acc.response())).isEqualTo("Hello!");
    }

    private static long sequence(ResponseStreamEvent e) {
        return JSON.valueToTree(e).path("sequence_number").asLong(-1);
    }

    @Test
    void functionCallRoundTripKeepsTheThoughtSignature() {
        start(1);
        String model = "gemini-3-flash-preview";
        fake().script(key(0), Behavior.status(200, FakeGemini.partsEvent(List.of(
                FakeGemini.functionCallPart("get_weather", "{\"city\":\"Paris\"}", SIGNATURE)), "STOP", 12, 5, 0)));
        Response first = client.responses().create(ResponseCreateParams.builder()
                .model(model).input("Weather in Paris?").addTool(weatherTool()).build());

        JsonNode decl = upstreamBody().at("/tools/0/functionDeclarations/0");
        assertThat(decl.get("name").asText()).isEqualTo("get_weather");
        assertThat(decl.at("/parameters/properties/city/type").asText()).isEqualTo("STRING");
        ResponseFunctionToolCall call = first.output().stream().flatMap(o -> o.functionCall().stream())
                .findFirst().orElseThrow();
        assertThat(call.name()).isEqualTo("get_weather");
        assertThat(json(call.arguments()).path("city").asText()).isEqualTo("Paris");

        List<ResponseInputItem> input = new ArrayList<>();
        input.add(ResponseInputItem.ofEasyInputMessage(com.openai.models.responses.EasyInputMessage.builder()
                .role(com.openai.models.responses.EasyInputMessage.Role.USER).content("Weather in Paris?").build()));
        input.add(ResponseInputItem.ofFunctionCall(call));
        input.add(ResponseInputItem.ofFunctionCallOutput(ResponseInputItem.FunctionCallOutput.builder()
                .callId(call.callId()).output("{\"temp\":21}").build()));
        Response second = client.responses().create(ResponseCreateParams.builder()
                .model(model).inputOfResponse(input).addTool(weatherTool()).store(false).build());

        JsonNode contents = upstreamBody().at("/contents");
        assertThat(contents).hasSize(3);
        assertThat(contents.at("/1/parts/0/functionCall/name").asText()).isEqualTo("get_weather");
        assertThat(contents.at("/1/parts/0/thoughtSignature").asText()).isEqualTo(SIGNATURE);
        assertThat(contents.at("/2/parts/0/functionResponse/response/temp").asInt()).isEqualTo(21);
        assertThat(outputText(second)).isEqualTo("ok");
    }

    @Test
    void streamedFunctionCallArguments() {
        start(1);
        fake().script(key(0), Behavior.stream(List.of(FakeGemini.partsEvent(List.of(
                FakeGemini.functionCallPart("get_weather", "{\"city\":\"Rome\"}", null)), "STOP", 5, 2, 0)),
                Duration.ZERO));
        List<ResponseStreamEvent> events;
        try (StreamResponse<ResponseStreamEvent> s = client.responses().createStreaming(ResponseCreateParams.builder()
                .model(FLASH).input("Weather in Rome?").addTool(weatherTool()).build())) {
            events = s.stream().toList();
        }
        String args = events.stream().flatMap(e -> e.functionCallArgumentsDone().stream())
                .map(d -> d.arguments()).findFirst().orElseThrow();
        assertThat(json(args).path("city").asText()).isEqualTo("Rome");
        assertThat(events.stream().filter(ResponseStreamEvent::isFunctionCallArgumentsDelta)).hasSize(1);
        com.openai.helpers.ResponseAccumulator acc = com.openai.helpers.ResponseAccumulator.create();
        events.forEach(acc::accumulate);
        assertThat(acc.response().output()).singleElement().satisfies(o -> assertThat(o.functionCall()).isPresent());
        Response done = events.get(events.size() - 1).asCompleted().response();
        assertThat(done.output()).singleElement().satisfies(o -> assertThat(o.functionCall()).isPresent());
    }

    @Test
    void structuredOutputSendsTheCleanedSchema() {
        start(1);
        fake().script(key(0), Behavior.status(200, FakeGemini.partsEvent(List.of(
                FakeGemini.textPart("{\"name\":\"Ann\",\"age\":30}")), "STOP", 4, 6, 0)));
        Response r = client.responses().create(ResponseCreateParams.builder().model(FLASH).input("who?")
                .text(ResponseTextConfig.builder().format(ResponseFormatTextConfig.ofJsonSchema(
                        ResponseFormatTextJsonSchemaConfig.builder().name("person").strict(true)
                                .schema(ResponseFormatTextJsonSchemaConfig.Schema.builder()
                                        .putAdditionalProperty("type", JsonValue.from("object"))
                                        .putAdditionalProperty("properties", JsonValue.from(Map.of(
                                                "name", Map.of("type", "string"), "age", Map.of("type", "integer"))))
                                        .putAdditionalProperty("required", JsonValue.from(List.of("name", "age")))
                                        .putAdditionalProperty("additionalProperties", JsonValue.from(false))
                                        .build()).build())).build())
                .build());
        JsonNode cfg = upstreamBody().path("generationConfig");
        assertThat(cfg.path("responseMimeType").asText()).isEqualTo("application/json");
        assertThat(cfg.at("/responseSchema/properties/age/type").asText()).isEqualTo("INTEGER");
        assertThat(cfg.path("responseSchema").has("additionalProperties")).isFalse();
        assertThat(json(outputText(r)).path("age").asInt()).isEqualTo(30);
    }

    @Test
    void previousResponseIdContinuesTheConversationAndGetDeleteServeIt() {
        start(1);
        Response first = client.responses().create(ResponseCreateParams.builder()
                .model(FLASH).input("my name is Ann").build());
        Response second = client.responses().create(ResponseCreateParams.builder()
                .model(FLASH).input("what is my name?").previousResponseId(first.id()).build());
        JsonNode contents = upstreamBody().at("/contents");
        assertThat(contents).hasSize(3);
        assertThat(contents.at("/0/parts/0/text").asText()).isEqualTo("my name is Ann");
        assertThat(contents.at("/1/role").asText()).isEqualTo("model");
        assertThat(contents.at("/1/parts/0/text").asText()).isEqualTo("ok");
        assertThat(contents.at("/2/parts/0/text").asText()).isEqualTo("what is my name?");
        assertThat(second.previousResponseId()).hasValue(first.id());

        Response fetched = client.responses().retrieve(first.id());
        assertThat(fetched.id()).isEqualTo(first.id());
        assertThat(outputText(fetched)).isEqualTo("ok");
        client.responses().delete(first.id());
        int calls = fake().requestCount();
        NotFoundException gone = catchThrowableOfType(() -> client.responses().create(ResponseCreateParams.builder()
                .model(FLASH).input("again").previousResponseId(first.id()).build()), NotFoundException.class);
        assertThat(gone.statusCode()).isEqualTo(404);
        assertThat(gone.code()).hasValue("previous_response_not_found");
        assertThat(fake().requestCount()).as("no upstream call").isEqualTo(calls);
        assertThat(catchThrowableOfType(() -> client.responses().retrieve(first.id()), NotFoundException.class))
                .isNotNull();
    }

    @Test
    void reasoningSummaryComesFromThoughtParts() {
        start(1);
        fake().script(key(0), Behavior.stream(List.of(
                FakeGemini.partsEvent(List.of(FakeGemini.thoughtPart("Thinking about it")), null, -1, 0, 0),
                FakeGemini.partsEvent(List.of(FakeGemini.textPart("42")), "STOP", 5, 1, 9)), Duration.ZERO));
        List<ResponseStreamEvent> events;
        try (StreamResponse<ResponseStreamEvent> s = client.responses().createStreaming(ResponseCreateParams.builder()
                .model(FLASH).input("answer?").reasoning(Reasoning.builder().effort(ReasoningEffort.LOW)
                        .summary(Reasoning.Summary.AUTO).build()).build())) {
            events = s.stream().toList();
        }
        JsonNode thinking = upstreamBody().at("/generationConfig/thinkingConfig");
        assertThat(thinking.path("includeThoughts").asBoolean()).isTrue();
        assertThat(thinking.path("thinkingBudget").asInt()).isEqualTo(1024);
        StringBuilder summary = new StringBuilder();
        events.forEach(e -> e.reasoningSummaryTextDelta().ifPresent(d -> summary.append(d.delta())));
        assertThat(summary).hasToString("Thinking about it");
        com.openai.helpers.ResponseAccumulator acc = com.openai.helpers.ResponseAccumulator.create();
        events.forEach(acc::accumulate);
        assertThat(acc.response().output()).hasSize(2);
        Response done = events.get(events.size() - 1).asCompleted().response();
        assertThat(done.output().get(0).reasoning()).hasValueSatisfying(rs ->
                assertThat(rs.summary().get(0).text()).isEqualTo("Thinking about it"));
        assertThat(outputText(done)).isEqualTo("42");
        assertThat(done.usage().orElseThrow().outputTokensDetails().reasoningTokens()).isEqualTo(9);
    }

    @Test
    void aFailingKeyIsSkippedBeforeTheFirstByte() {
        start(2);
        fake().script(key(0), Behavior.unavailable());
        List<ResponseStreamEvent> events;
        try (StreamResponse<ResponseStreamEvent> s = client.responses().createStreaming(ResponseCreateParams.builder()
                .model(FLASH).input("hi").build())) {
            events = s.stream().toList();
        }
        assertThat(events.get(events.size() - 1).isCompleted()).isTrue();
        assertThat(fake().keysUsed()).containsExactly(key(0), key(1));
    }

    @Test
    void aStreamThatBreaksAfterContentEndsWithResponseFailed() {
        start(2);
        fake().script(key(0), Behavior.dropMidStream(2));
        HttpResponse<String> r = gw.send(gw.request("/v1/responses").header("authorization", "Bearer " + TOKEN)
                .header("content-type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"gemini-2.5-flash\",\"input\":\"hi\",\"stream\":true}")).build());
        assertThat(r.statusCode()).isEqualTo(200);
        List<String> types = new ArrayList<>();
        for (String frame : r.body().split("\n\n")) {
            if (frame.startsWith("event: ")) {
                types.add(frame.substring(7, frame.indexOf('\n')));
            }
        }
        assertThat(types).startsWith("response.created", "response.in_progress", "response.output_item.added",
                "response.content_part.added", "response.output_text.delta", "response.output_text.delta");
        assertThat(types.get(types.size() - 1)).isEqualTo("response.failed");
        assertThat(r.body()).contains("\"status\":\"failed\"").contains("part1").contains("part2");
        assertThat(fake().keysUsed()).as("no failover once content went out").containsExactly(key(0));
    }

    @Test
    void everyKeyExhaustedForTheDayIs503BeforeAnyByteOfAStream() {
        start(1);
        fake().always(key(0), Behavior.quotaDay());
        HttpResponse<String> r = gw.send(gw.request("/v1/responses").header("authorization", "Bearer " + TOKEN)
                .header("content-type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"gemini-2.5-flash\",\"input\":\"hi\",\"stream\":true}")).build());
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(json(r.body()).at("/error/message").asText()).isNotEmpty();
        assertThat(r.headers().firstValue("x-should-retry")).hasValue("false");
    }

    @Test
    void wrongTokenIs401() {
        gw = GatewayHarness.start(1);
        client = sdk("not-the-token");
        UnauthorizedException e = catchThrowableOfType(() -> client.responses().create(ResponseCreateParams
                .builder().model(FLASH).input("hi").build()), UnauthorizedException.class);
        assertThat(e.statusCode()).isEqualTo(401);
        assertThat(fake().requestCount()).isZero();
    }

    @Test
    void everyKeyCoolingDownIs429WithRetryAfter() {
        start(2);
        fake().always(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(30)));
        fake().always(key(1), Behavior.rateLimitMinute(Duration.ofSeconds(30)));
        RateLimitException e = catchThrowableOfType(() -> client.responses().create(ResponseCreateParams.builder()
                .model(FLASH).input("hi").build()), RateLimitException.class);
        assertThat(e.statusCode()).isEqualTo(429);
        assertThat(e.headers().values("retry-after")).singleElement()
                .satisfies(v -> assertThat(Long.parseLong(v)).isBetween(1L, 31L));
    }

    @Test
    void badRequestIs400NamingTheParamAndCallsNoKey() {
        start(1);
        BadRequestException e = catchThrowableOfType(() -> client.responses().create(ResponseCreateParams.builder()
                .model(FLASH).input("hi").putAdditionalBodyProperty("tools",
                        JsonValue.from(List.of(Map.of("type", "code_interpreter")))).build()),
                BadRequestException.class);
        assertThat(e.statusCode()).isEqualTo(400);
        assertThat(e.param()).hasValue("tools[0].type");
        assertThat(fake().requestCount()).isZero();
    }

    @Test
    void rawErrorsInOpenAisShape() {
        start(1);
        HttpResponse<String> notJson = gw.send(gw.request("/openai/v1/responses")
                .header("authorization", "Bearer " + TOKEN)
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\":")).build());
        assertThat(notJson.statusCode()).isEqualTo(400);
        assertThat(json(notJson.body()).at("/error/type").asText()).isEqualTo("invalid_request_error");
        HttpResponse<String> wrongMethod = gw.send(gw.request("/v1/responses")
                .header("authorization", "Bearer " + TOKEN).GET().build());
        assertThat(wrongMethod.statusCode()).isEqualTo(405);
        HttpResponse<String> unknown = gw.send(gw.request("/v1/responses/resp_unknown")
                .header("authorization", "Bearer " + TOKEN).GET().build());
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(json(unknown.body()).at("/error/message").asText()).contains("resp_unknown");
    }
}
