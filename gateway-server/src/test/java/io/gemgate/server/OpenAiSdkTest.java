package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.InternalServerException;
import com.openai.errors.NotFoundException;
import com.openai.errors.SseException;
import com.openai.errors.UnauthorizedException;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.ReasoningEffort;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionAssistantMessageParam;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionContentPart;
import com.openai.models.chat.completions.ChatCompletionContentPartImage;
import com.openai.models.chat.completions.ChatCompletionContentPartText;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionMessage;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.Embedding;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.models.Model;
import io.gemgate.core.openai.ThoughtSignatures;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.CapturingAppender;
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
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * OpenAI's official Java SDK ({@code com.openai:openai-java}) pointed at the gateway's {@code /v1}, in front of the
 * fake upstream: each test checks both what Gemini received (the translated request, read as JSON) and what the SDK
 * made of the translated answer.
 *
 * <p>Every client is built with {@code maxRetries(0)} unless a test is about the SDK's retries, so what a test sees
 * is the gateway's doing: a failover the SDK does not notice, an error the SDK did not retry into something else.
 */
@ExtendWith(LeakDetection.class)
class OpenAiSdkTest {
    private static final String FLASH = "gemini-2.5-flash";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A thought signature as Gemini sends it: standard base64 of opaque bytes. */
    private static final String SIGNATURE = Base64.getEncoder().encodeToString(
            "gemini-thought-signature:0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8));
    private static final String SIGNATURE_2 = Base64.getEncoder().encodeToString(
            "another-signature:fedcba9876543210".getBytes(StandardCharsets.UTF_8));
    /** A streamed chat request as a raw client sends it. */
    private static final String STREAM_BODY = "{\"model\":\"gemini-2.5-flash\",\"stream\":true,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    private GatewayHarness gw;
    private OpenAIClient client;

    @AfterEach
    void stop() {
        GatewayHarness.sseKeepAlive(Duration.ofSeconds(10));
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

    /** A gateway with {@code keys} keys and an SDK client with the gateway token and no retries. */
    private void start(int keys) {
        gw = GatewayHarness.start(keys);
        client = sdk(TOKEN, 0);
    }

    private OpenAIClient sdk(String apiKey, int maxRetries) {
        return OpenAIOkHttpClient.builder()
                .apiKey(apiKey)
                .baseUrl(gw.baseUrl() + "/v1")
                .maxRetries(maxRetries)
                .build();
    }

    private static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The last upstream request's body as JSON. */
    private JsonNode upstreamBody() {
        return json(fake().lastRequest().body());
    }

    private static String text(JsonValue v) {
        return v == null ? null : v.convert(String.class);
    }

    private static ChatCompletionCreateParams.Builder chat(String model) {
        return ChatCompletionCreateParams.builder().model(model);
    }

    private static ChatCompletionFunctionTool weatherTool() {
        return ChatCompletionFunctionTool.builder()
                .function(FunctionDefinition.builder()
                        .name("get_weather")
                        .description("Current weather in a city")
                        .parameters(FunctionParameters.builder()
                                .putAdditionalProperty("$schema",
                                        JsonValue.from("http://json-schema.org/draft-07/schema#"))
                                .putAdditionalProperty("type", JsonValue.from("object"))
                                .putAdditionalProperty("properties", JsonValue.from(Map.of(
                                        "city", Map.of("type", "string"),
                                        "unit", Map.of("type", List.of("string", "null"),
                                                "enum", List.of("C", "F")))))
                                .putAdditionalProperty("required", JsonValue.from(List.of("city")))
                                .putAdditionalProperty("additionalProperties", JsonValue.from(false))
                                .build())
                        .strict(true)
                        .build())
                .build();
    }

    // ------------------------------------------------------------------------------------------------- chat

    @Test
    void nonStreamedChatCompletion() {
        start(1);
        ChatCompletion c = client.chat().completions().create(chat(FLASH)
                .addSystemMessage("be brief")
                .addUserMessage("hi")
                .temperature(0.3)
                .maxCompletionTokens(100)
                .stopOfStrings(List.of("END", "STOP HERE"))
                .build());

        assertThat(c.id()).startsWith("chatcmpl-fake-");
        assertThat(c.model()).isEqualTo(FLASH);
        assertThat(c.choices()).hasSize(1);
        ChatCompletion.Choice choice = c.choices().get(0);
        assertThat(choice.message().content()).contains("ok");
        assertThat(choice.message().toolCalls()).isEmpty();
        assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
        assertThat(c.usage()).hasValueSatisfying(u -> {
            assertThat(u.promptTokens()).isEqualTo(7);
            assertThat(u.completionTokens()).isEqualTo(3);
            assertThat(u.totalTokens()).isEqualTo(10);
        });

        RecordedRequest up = fake().lastRequest();
        assertThat(up.path()).isEqualTo("/v1beta/models/gemini-2.5-flash:generateContent");
        assertThat(up.key()).isEqualTo(key(0));
        assertThat(up.header("authorization")).isNull();
        JsonNode body = json(up.body());
        assertThat(body.at("/systemInstruction/parts/0/text").asText()).isEqualTo("be brief");
        assertThat(body.at("/contents")).hasSize(1);
        assertThat(body.at("/contents/0/role").asText()).isEqualTo("user");
        assertThat(body.at("/contents/0/parts/0/text").asText()).isEqualTo("hi");
        assertThat(body.at("/generationConfig/temperature").asDouble()).isEqualTo(0.3);
        assertThat(body.at("/generationConfig/maxOutputTokens").asInt()).isEqualTo(100);
        assertThat(body.at("/generationConfig/stopSequences")).containsExactly(json("\"END\""), json("\"STOP HERE\""));
    }

    @Test
    void streamedChatCompletionWithTheUsageChunk() {
        start(1);
        List<ChatCompletionChunk> chunks;
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(chat(FLASH)
                .addUserMessage("hi")
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
                .build())) {
            chunks = s.stream().toList();
        }

        assertThat(fake().lastRequest().uri())
                .isEqualTo("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
        assertThat(chunks).extracting(ChatCompletionChunk::id).containsOnly(chunks.get(0).id());
        assertThat(chunks).extracting(ChatCompletionChunk::model).containsOnly(FLASH);
        StringBuilder text = new StringBuilder();
        List<ChatCompletionChunk.Choice.FinishReason> finishes = new ArrayList<>();
        for (ChatCompletionChunk chunk : chunks) {
            for (ChatCompletionChunk.Choice choice : chunk.choices()) {
                choice.delta().content().ifPresent(text::append);
                choice.finishReason().ifPresent(finishes::add);
            }
        }
        assertThat(text).hasToString("Hello!");
        assertThat(finishes).containsExactly(ChatCompletionChunk.Choice.FinishReason.STOP);
        assertThat(chunks.get(0).choices().get(0).delta().role())
                .contains(ChatCompletionChunk.Choice.Delta.Role.ASSISTANT);
        // one chunk per upstream event, then the usage chunk: no choices, the final counts
        assertThat(chunks).hasSize(4);
        ChatCompletionChunk last = chunks.get(chunks.size() - 1);
        assertThat(last.choices()).isEmpty();
        assertThat(last.usage()).hasValueSatisfying(u -> {
            assertThat(u.promptTokens()).isEqualTo(7);
            assertThat(u.completionTokens()).isEqualTo(3);
            assertThat(u.totalTokens()).isEqualTo(10);
        });
        assertThat(chunks.subList(0, chunks.size() - 1)).allSatisfy(c -> assertThat(c.usage()).isEmpty());
    }

    // ------------------------------------------------------------------------------------------------ tools

    @Test
    void toolCallAndResultRoundTripKeepsTheThoughtSignature() {
        start(1);
        String model = "gemini-3-flash-preview";
        fake().script(key(0), Behavior.status(200, FakeGemini.partsEvent(List.of(
                FakeGemini.functionCallPart("get_weather", "{\"city\":\"Paris\"}", SIGNATURE)), "STOP", 12, 5, 0)));
        ChatCompletion first = client.chat().completions().create(chat(model)
                .addUserMessage("Weather in Paris?")
                .addTool(weatherTool())
                .toolChoice(ChatCompletionToolChoiceOption.Auto.AUTO)
                .build());

        JsonNode firstUp = upstreamBody();
        JsonNode decl = firstUp.at("/tools/0/functionDeclarations/0");
        assertThat(decl.get("name").asText()).isEqualTo("get_weather");
        assertThat(decl.at("/parameters/type").asText()).isEqualTo("OBJECT");
        assertThat(decl.at("/parameters/properties/city/type").asText()).isEqualTo("STRING");
        assertThat(decl.at("/parameters/properties/unit/nullable").asBoolean()).isTrue();
        assertThat(decl.get("parameters").has("additionalProperties")).isFalse();
        assertThat(decl.get("parameters").has("$schema")).isFalse();
        assertThat(firstUp.at("/toolConfig/functionCallingConfig/mode").asText()).isEqualTo("AUTO");

        ChatCompletion.Choice choice = first.choices().get(0);
        assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        assertThat(choice.message().content()).isEmpty();
        assertThat(choice.message().toolCalls()).hasValueSatisfying(calls -> assertThat(calls).hasSize(1));
        ChatCompletionMessageFunctionToolCall call = choice.message().toolCalls().get().get(0).asFunction();
        assertThat(call.id()).startsWith("call_");
        assertThat(call.function().name()).isEqualTo("get_weather");
        assertThat(json(call.function().arguments())).isEqualTo(json("{\"city\":\"Paris\"}"));

        // A stateless client sends back only id, name and arguments, then the tool's result.
        ChatCompletion second = client.chat().completions().create(chat(model)
                .addUserMessage("Weather in Paris?")
                .addMessage(ChatCompletionAssistantMessageParam.builder()
                        .addToolCall(ChatCompletionMessageFunctionToolCall.builder()
                                .id(call.id())
                                .function(ChatCompletionMessageFunctionToolCall.Function.builder()
                                        .name(call.function().name())
                                        .arguments(call.function().arguments())
                                        .build())
                                .build())
                        .build())
                .addMessage(ChatCompletionToolMessageParam.builder()
                        .toolCallId(call.id())
                        .content("{\"tempC\":21}")
                        .build())
                .addTool(weatherTool())
                .build());

        assertThat(second.choices().get(0).message().content()).contains("ok");
        JsonNode up = upstreamBody();
        assertThat(up.at("/contents")).hasSize(3);
        assertThat(up.at("/contents/1/role").asText()).isEqualTo("model");
        JsonNode replayed = up.at("/contents/1/parts/0");
        assertThat(replayed.at("/functionCall/name").asText()).isEqualTo("get_weather");
        assertThat(replayed.at("/functionCall/args")).isEqualTo(json("{\"city\":\"Paris\"}"));
        assertThat(replayed.get("thoughtSignature").asText()).isEqualTo(SIGNATURE);
        assertThat(up.at("/contents/2/role").asText()).isEqualTo("user");
        JsonNode result = up.at("/contents/2/parts/0/functionResponse");
        assertThat(result.get("name").asText()).isEqualTo("get_weather");
        assertThat(result.get("response")).isEqualTo(json("{\"tempC\":21}"));
    }

    @Test
    void theSdksOwnMessageReplayAlsoKeepsTheThoughtSignature() {
        start(1);
        String model = "gemini-3-flash-preview";
        fake().script(key(0), Behavior.status(200, FakeGemini.partsEvent(List.of(
                FakeGemini.functionCallPart("get_weather", "{\"city\":\"Oslo\"}", SIGNATURE)), "STOP", 12, 5, 0)));
        ChatCompletionMessage answer = client.chat().completions().create(chat(model)
                .addUserMessage("Weather in Oslo?").addTool(weatherTool()).build()).choices().get(0).message();
        String id = answer.toolCalls().orElseThrow().get(0).asFunction().id();

        client.chat().completions().create(chat(model)
                .addUserMessage("Weather in Oslo?")
                .addMessage(answer) // the SDK's idiom: the whole message, extra fields included
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(id).content("sunny").build())
                .build());

        JsonNode up = upstreamBody();
        assertThat(up.at("/contents/1/parts/0/thoughtSignature").asText()).isEqualTo(SIGNATURE);
        assertThat(up.at("/contents/2/parts/0/functionResponse/name").asText()).isEqualTo("get_weather");
        assertThat(up.at("/contents/2/parts/0/functionResponse/response")).isEqualTo(json("{\"result\":\"sunny\"}"));
    }

    @Test
    void streamedToolCallsAreAccumulatedBySdkAndParallelCallsStayApart() {
        start(1);
        fake().script(key(0), Behavior.stream(List.of(
                FakeGemini.partsEvent(List.of(
                        FakeGemini.functionCallPart("get_weather", "{\"city\":\"Paris\"}", SIGNATURE)), null, -1, 0, 0),
                FakeGemini.partsEvent(List.of(
                        FakeGemini.functionCallPart("get_weather", "{\"city\":\"Berlin\"}", SIGNATURE_2)),
                        "STOP", 12, 10, 0)), Duration.ZERO));

        ChatCompletionAccumulator acc = ChatCompletionAccumulator.create();
        List<ChatCompletionChunk.Choice.Delta.ToolCall> deltas = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(chat(FLASH)
                .addUserMessage("Weather in Paris and Berlin?")
                .addTool(weatherTool())
                .build())) {
            s.stream().forEach(chunk -> {
                acc.accumulate(chunk);
                chunk.choices().forEach(c -> c.delta().toolCalls().ifPresent(deltas::addAll));
            });
        }

        assertThat(deltas).hasSize(2);
        assertThat(deltas).extracting(ChatCompletionChunk.Choice.Delta.ToolCall::index).containsExactly(0L, 1L);
        assertThat(deltas).allSatisfy(d -> {
            assertThat(d.id()).hasValueSatisfying(id -> assertThat(id).startsWith("call_"));
            assertThat(d.function()).hasValueSatisfying(f -> assertThat(f.name()).contains("get_weather"));
        });
        assertThat(deltas.get(0).id()).isNotEqualTo(deltas.get(1).id());

        ChatCompletion whole = acc.chatCompletion();
        ChatCompletion.Choice choice = whole.choices().get(0);
        assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        List<ChatCompletionMessageFunctionToolCall> calls = choice.message().toolCalls().orElseThrow().stream()
                .map(c -> c.asFunction()).toList();
        assertThat(calls).extracting(c -> c.function().name()).containsExactly("get_weather", "get_weather");
        assertThat(calls).extracting(c -> json(c.function().arguments()))
                .containsExactly(json("{\"city\":\"Paris\"}"), json("{\"city\":\"Berlin\"}"));
        // each id carries its own call's signature, for the next request
        ThoughtSignatures decoder = ThoughtSignatures.inId();
        assertThat(calls).extracting(c -> decoder.signatureOf(c.id())).containsExactly(SIGNATURE, SIGNATURE_2);
    }

    // ------------------------------------------------------------------------------------- multimodal, format

    @Test
    void imageDataUrlBecomesInlineDataAndHttpsUrlBecomesFileData() {
        start(1);
        String png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
        ChatCompletion c = client.chat().completions().create(chat(FLASH)
                .addUserMessageOfArrayOfContentParts(List.of(
                        ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder()
                                .text("What is in these?").build()),
                        ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder()
                                .imageUrl(ChatCompletionContentPartImage.ImageUrl.builder()
                                        .url("data:image/png;base64," + png)
                                        .detail(ChatCompletionContentPartImage.ImageUrl.Detail.HIGH)
                                        .build())
                                .build()),
                        ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder()
                                .imageUrl(ChatCompletionContentPartImage.ImageUrl.builder()
                                        .url("https://example.com/cat.webp")
                                        .build())
                                .build())))
                .build());

        assertThat(c.choices().get(0).message().content()).contains("ok");
        JsonNode parts = upstreamBody().at("/contents/0/parts");
        assertThat(parts).hasSize(3);
        assertThat(parts.at("/0/text").asText()).isEqualTo("What is in these?");
        assertThat(parts.at("/1/inlineData/mimeType").asText()).isEqualTo("image/png");
        assertThat(parts.at("/1/inlineData/data").asText()).isEqualTo(png);
        assertThat(parts.at("/2/fileData/mimeType").asText()).isEqualTo("image/webp");
        assertThat(parts.at("/2/fileData/fileUri").asText()).isEqualTo("https://example.com/cat.webp");
    }

    @Test
    void jsonSchemaResponseFormatBecomesResponseSchema() {
        start(1);
        fake().script(key(0), Behavior.status(200,
                FakeGemini.finishEvent("{\"city\":\"Paris\",\"tempC\":21}", "STOP", 9, 8)));
        ChatCompletion c = client.chat().completions().create(chat(FLASH)
                .addUserMessage("Weather in Paris as JSON")
                .responseFormat(ResponseFormatJsonSchema.builder()
                        .jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder()
                                .name("weather")
                                .strict(true)
                                .schema(ResponseFormatJsonSchema.JsonSchema.Schema.builder()
                                        .putAdditionalProperty("type", JsonValue.from("object"))
                                        .putAdditionalProperty("properties", JsonValue.from(Map.of(
                                                "city", Map.of("type", "string"),
                                                "tempC", Map.of("type", "integer"))))
                                        .putAdditionalProperty("required", JsonValue.from(List.of("city", "tempC")))
                                        .putAdditionalProperty("additionalProperties", JsonValue.from(false))
                                        .build())
                                .build())
                        .build())
                .build());

        assertThat(json(c.choices().get(0).message().content().orElseThrow()))
                .isEqualTo(json("{\"city\":\"Paris\",\"tempC\":21}"));
        JsonNode config = upstreamBody().at("/generationConfig");
        assertThat(config.get("responseMimeType").asText()).isEqualTo("application/json");
        JsonNode schema = config.get("responseSchema");
        assertThat(schema.get("type").asText()).isEqualTo("OBJECT");
        assertThat(schema.at("/properties/city/type").asText()).isEqualTo("STRING");
        assertThat(schema.at("/properties/tempC/type").asText()).isEqualTo("INTEGER");
        assertThat(schema.get("required")).containsExactlyInAnyOrder(
                json("\"city\""), json("\"tempC\""));
        assertThat(schema.has("additionalProperties")).isFalse();
    }

    // ------------------------------------------------------------------------------------------- reasoning

    @Test
    void reasoningEffortAsksForThoughtsAndTheyComeBackAsReasoningContent() {
        start(1);
        fake().script(key(0), Behavior.status(200, FakeGemini.partsEvent(List.of(
                FakeGemini.thoughtPart("Paris is in France."), FakeGemini.textPart("Paris.")), "STOP", 6, 2, 40)));
        ChatCompletion c = client.chat().completions().create(chat(FLASH)
                .addUserMessage("Capital of France?")
                .reasoningEffort(ReasoningEffort.LOW)
                .build());

        JsonNode thinking = upstreamBody().at("/generationConfig/thinkingConfig");
        assertThat(thinking.get("thinkingBudget").asInt()).isEqualTo(1024);
        assertThat(thinking.get("includeThoughts").asBoolean()).isTrue();
        ChatCompletionMessage m = c.choices().get(0).message();
        assertThat(m.content()).contains("Paris.");
        assertThat(text(m._additionalProperties().get("reasoning_content"))).isEqualTo("Paris is in France.");
        assertThat(c.usage()).hasValueSatisfying(u -> {
            assertThat(u.completionTokens()).isEqualTo(42); // candidates + thoughts
            assertThat(u.completionTokensDetails().orElseThrow().reasoningTokens()).contains(40L);
        });
    }

    @Test
    void withoutReasoningEffortThoughtsAreNotShown() {
        start(1);
        fake().script(key(0), Behavior.status(200, FakeGemini.partsEvent(List.of(
                FakeGemini.thoughtPart("hidden"), FakeGemini.textPart("Paris.")), "STOP", 6, 2, 40)));
        ChatCompletion c = client.chat().completions().create(chat(FLASH).addUserMessage("Capital?").build());

        assertThat(upstreamBody().at("/generationConfig/thinkingConfig").isMissingNode()).isTrue();
        assertThat(c.choices().get(0).message().content()).contains("Paris.");
        assertThat(c.choices().get(0).message()._additionalProperties()).doesNotContainKey("reasoning_content");
    }

    @Test
    void streamedReasoningContentComesInDeltas() {
        start(1);
        fake().script(key(0), Behavior.stream(List.of(
                FakeGemini.partsEvent(List.of(FakeGemini.thoughtPart("Thinking about units. ")), null, 6, 0, 20),
                FakeGemini.partsEvent(List.of(FakeGemini.thoughtPart("Celsius.")), null, 6, 0, 30),
                FakeGemini.partsEvent(List.of(FakeGemini.textPart("21°C")), "STOP", 6, 3, 30)), Duration.ZERO));
        StringBuilder reasoning = new StringBuilder();
        StringBuilder content = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(chat(FLASH)
                .addUserMessage("Temperature?")
                .reasoningEffort(ReasoningEffort.HIGH)
                .build())) {
            s.stream().flatMap(chunk -> chunk.choices().stream()).forEach(choice -> {
                JsonValue r = choice.delta()._additionalProperties().get("reasoning_content");
                if (r != null) {
                    reasoning.append(text(r));
                }
                choice.delta().content().ifPresent(content::append);
            });
        }

        JsonNode thinking = upstreamBody().at("/generationConfig/thinkingConfig");
        assertThat(thinking.get("thinkingBudget").asInt()).isEqualTo(24576);
        assertThat(thinking.get("includeThoughts").asBoolean()).isTrue();
        assertThat(reasoning).hasToString("Thinking about units. Celsius.");
        assertThat(content).hasToString("21°C");
    }

    // ------------------------------------------------------------------------------------- models, embeddings

    @Test
    void modelsAreListedAndRetrieved() {
        start(1);
        List<Model> models = client.models().list().data();
        // upstream order, chat models also as their -search variant (Gemini's google_search tool)
        assertThat(models).extracting(Model::id).containsExactly("gemini-2.5-flash", "gemini-2.5-flash-search",
                "gemini-2.5-pro", "gemini-2.5-pro-search", "gemini-embedding-001");
        assertThat(models).allSatisfy(m -> {
            assertThat(m.ownedBy()).isEqualTo("google");
            assertThat(m.created()).isPositive();
        });
        assertThat(fake().lastRequest().path()).isEqualTo("/v1beta/models");

        Model pro = client.models().retrieve("gemini-2.5-pro");
        assertThat(pro.id()).isEqualTo("gemini-2.5-pro");
        assertThat(fake().lastRequest().path()).isEqualTo("/v1beta/models/gemini-2.5-pro");
        assertThat(client.models().retrieve("gemini-2.5-pro-search").id()).isEqualTo("gemini-2.5-pro-search");
        assertThat(fake().lastRequest().path()).isEqualTo("/v1beta/models/gemini-2.5-pro");

        NotFoundException missing = catchThrowableOfType(() -> client.models().retrieve("gemini-nope"),
                NotFoundException.class);
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(missing.code()).contains("model_not_found");
    }

    @Test
    void embeddingsInTheSdksDefaultBase64AreDecodedToTheUpstreamFloats() {
        start(1);
        CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder()
                .model("gemini-embedding-001")
                .inputOfArrayOfStrings(List.of("first text", "second text"))
                .build());

        assertThat(r.data()).hasSize(2);
        assertThat(r.data()).extracting(Embedding::index).containsExactly(0L, 1L);
        for (Embedding e : r.data()) {
            assertThat(e.embeddingValue().isBase64()).isTrue(); // the SDK asked for base64 and got it
            List<Float> v = e.embedding();
            assertThat(v).hasSize(3);
            assertThat(v.get(0)).isCloseTo(0.1f, within(1e-7f));
            assertThat(v.get(1)).isCloseTo(0.2f, within(1e-7f));
            assertThat(v.get(2)).isCloseTo(0.3f, within(1e-7f));
        }
        RecordedRequest up = fake().lastRequest();
        assertThat(up.path()).isEqualTo("/v1beta/models/gemini-embedding-001:batchEmbedContents");
        JsonNode requests = json(up.body()).get("requests");
        assertThat(requests).hasSize(2);
        assertThat(requests.at("/0/model").asText()).isEqualTo("models/gemini-embedding-001");
        assertThat(requests.at("/0/content/parts/0/text").asText()).isEqualTo("first text");
        assertThat(requests.at("/1/content/parts/0/text").asText()).isEqualTo("second text");
    }

    // -------------------------------------------------------------------------------- errors and failover

    @Test
    void aWrongTokenIsUnauthorized() {
        start(1);
        client.close();
        client = sdk("not-the-token", 0);
        UnauthorizedException e = catchThrowableOfType(() -> client.chat().completions()
                .create(chat(FLASH).addUserMessage("hi").build()), UnauthorizedException.class);

        assertThat(e.statusCode()).isEqualTo(401);
        assertThat(e.code()).contains("invalid_api_key");
        assertThat(fake().requestCount()).isZero();
    }

    @Test
    void aRateLimitedKeyFailsOverUnnoticed() {
        start(2);
        fake().script(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(20)));
        ChatCompletion c = client.chat().completions().create(chat(FLASH).addUserMessage("hi").build());

        assertThat(c.choices().get(0).message().content()).contains("ok");
        assertThat(fake().keysUsed()).containsExactly(key(0), key(1));
    }

    @Test
    void aStreamWhoseFirstKeyFailsIsServedByTheNextKey() {
        start(2);
        fake().script(key(0), Behavior.unavailable());
        StringBuilder text = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(chat(FLASH)
                .addUserMessage("hi").build())) {
            s.stream().flatMap(chunk -> chunk.choices().stream())
                    .forEach(choice -> choice.delta().content().ifPresent(text::append));
        }

        assertThat(text).hasToString("Hello!");
        assertThat(fake().keysUsed()).containsExactly(key(0), key(1));
    }

    @Test
    void everyKeyExhaustedIs503WhichTheSdkDoesNotRetry() {
        gw = GatewayHarness.start(2);
        client = sdk(TOKEN, 2); // the SDK's default retries: x-should-retry: false must stop them
        fake().always(key(0), Behavior.quotaDay());
        fake().always(key(1), Behavior.quotaDay());
        String model = "gemini-2.0-flash-001"; // only this test uses it: its access-log lines are ours
        InternalServerException e = catchThrowableOfType(() -> client.chat().completions()
                .create(chat(model).addUserMessage("hi").build()), InternalServerException.class);

        assertThat(e.statusCode()).isEqualTo(503);
        assertThat(e.type()).contains("server_error");
        assertThat(e.headers().values("x-should-retry")).containsExactly("false");
        assertThat(e.headers().values("retry-after")).hasSize(1);
        assertThat(fake().keysUsed()).containsExactly(key(0), key(1));
        // the SDK sent the request once: one access-log line, not three
        assertThat(waitUntil(() -> chatLines(model) >= 1)).isTrue();
        assertThat(chatLines(model)).isEqualTo(1);
    }

    private static long chatLines(String model) {
        return CapturingAppender.accessLines().stream()
                .filter(l -> l.contains("POST /v1/chat/completions 503 model=" + model + " ")).count();
    }

    @Test
    void aMidStreamFailureEndsTheStreamWithAnErrorTheSdkThrows() {
        start(1);
        fake().script(key(0), Behavior.dropMidStream(1));
        StringBuilder text = new StringBuilder();
        SseException e;
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(chat(FLASH)
                .addUserMessage("hi").build())) {
            e = catchThrowableOfType(() -> s.stream().flatMap(c -> c.choices().stream())
                    .forEach(c -> c.delta().content().ifPresent(text::append)), SseException.class);
        }

        assertThat(text).hasToString("part1");
        assertThat(e).isNotNull();
        assertThat(e.type()).contains("server_error");
    }

    // ------------------------------------------------------------------------------------ SSE keep-alive

    /** POSTs a streamed chat request and reads the SSE lines as they arrive, up to {@code data: [DONE]}. */
    private List<String> streamLines(String body) throws Exception {
        HttpResponse<Stream<String>> r = gw.http().send(gw.request("/v1/chat/completions")
                .header("Authorization", "Bearer " + TOKEN)
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofLines());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        List<String> lines = new ArrayList<>();
        try (Stream<String> s = r.body()) {
            s.takeWhile(l -> {
                lines.add(l);
                return !l.equals("data: [DONE]");
            }).forEach(l -> { });
        }
        return lines;
    }

    @Test
    void keepAliveCommentsGoOutWhileTheFirstEventIsAwaited() throws Exception {
        GatewayHarness.sseKeepAlive(Duration.ofMillis(100));
        start(1);
        fake().script(key(0), Behavior.slow(Duration.ofMillis(500), Behavior.ok()));
        List<String> lines = streamLines(STREAM_BODY);

        int firstData = indexOfFirst(lines, "data: ");
        assertThat(firstData).isPositive();
        assertThat(lines.subList(0, firstData)).contains(": keep-alive");
        assertThat(lines.subList(firstData, lines.size())).doesNotContain(": keep-alive");
        assertThat(String.join("\n", lines)).contains("\"Hel\"", "\"lo\"", "\"!\"", "\"finish_reason\":\"stop\"");
        assertThat(lines.get(lines.size() - 1)).isEqualTo("data: [DONE]");
    }

    @Test
    void anEmptyAnswerAfterKeepAlivesStillFailsOverToTheNextKey() throws Exception {
        GatewayHarness.sseKeepAlive(Duration.ofMillis(100));
        start(2);
        fake().script(key(0), Behavior.slow(Duration.ofMillis(500), Behavior.stream(
                List.of("{\"usageMetadata\":{\"promptTokenCount\":3},\"responseId\":\"empty\"}"), Duration.ZERO)));
        List<String> lines = streamLines(STREAM_BODY);

        assertThat(fake().keysUsed()).containsExactly(key(0), key(1));
        int firstData = indexOfFirst(lines, "data: ");
        assertThat(firstData).isPositive();
        assertThat(lines.subList(0, firstData)).contains(": keep-alive");
        assertThat(String.join("\n", lines)).contains("\"Hel\"", "\"lo\"", "\"!\"").doesNotContain("\"error\"");
        assertThat(lines.get(lines.size() - 1)).isEqualTo("data: [DONE]");
    }

    private static int indexOfFirst(List<String> lines, String prefix) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith(prefix)) {
                return i;
            }
        }
        return -1;
    }

    /** Polls {@code condition} for up to 5 s (for log lines written after the response left). */
    private static boolean waitUntil(BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
        return true;
    }
}
