package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import io.gemgate.core.keys.KeyUsage;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RecordedRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The live stream mode on {@code /v1/chat/completions}: which upstream method is called, and that the client still
 * gets the shape it asked for (a JSON completion or an SSE stream), with failover, the empty-answer retry and token
 * accounting working in every mode.
 */
@ExtendWith(LeakDetection.class)
class StreamModeTest {
    private static final String FLASH = "gemini-2.5-flash";
    private static final String GENERATE = "/v1beta/models/gemini-2.5-flash:generateContent";
    private static final String STREAM = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";

    private GatewayHarness gw;
    private AdminClient admin;
    private OpenAIClient sdk;

    @AfterEach
    void stop() {
        if (sdk != null) {
            sdk.close();
        }
        if (gw != null) {
            gw.close();
        }
    }

    private void start(int keys, String mode) {
        gw = GatewayHarness.start(keys, AdminClient.env());
        admin = new AdminClient(gw, keys);
        sdk = OpenAIOkHttpClient.builder().apiKey(TOKEN).baseUrl(gw.baseUrl() + "/v1").maxRetries(0).build();
        mode(mode);
    }

    private void mode(String mode) {
        AdminClient.Answer a = admin.patch("/admin/api/settings", "{\"streamMode\":\"" + mode + "\"}");
        assertThat(a.status()).isEqualTo(200);
    }

    private HttpResponse<String> chat(boolean stream) {
        return gw.send(gw.request("/v1/chat/completions").header("authorization", "Bearer " + TOKEN)
                .header("content-type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\":\"gemini-2.5-flash\",\"stream\":"
                        + stream + (stream ? ",\"stream_options\":{\"include_usage\":true}" : "")
                        + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build());
    }

    /** The JSON payloads of an SSE body's {@code data:} lines, {@code [DONE]} included. */
    private static List<String> events(String sse) {
        List<String> out = new ArrayList<>();
        for (String line : sse.split("\n")) {
            if (line.startsWith("data: ")) {
                out.add(line.substring(6).trim());
            }
        }
        return out;
    }

    private KeyUsage usage(int key) {
        return gw.server().pool().usage(gw.poolKey(key(key)), gw.server().pool().model(FLASH));
    }

    @ParameterizedTest(name = "{0}, client stream {1}")
    @CsvSource({
            "auto,   false, " + GENERATE + ", ok",
            "auto,   true,  " + STREAM + ",   Hello!",
            "always, false, " + STREAM + ",   Hello!",
            "always, true,  " + STREAM + ",   Hello!",
            "never,  false, " + GENERATE + ", ok",
            "never,  true,  " + GENERATE + ", ok",
    })
    void theModeChoosesTheUpstreamCallAndTheClientGetsItsShape(String mode, boolean stream, String upstream,
                                                                String text) {
        start(1, mode);
        HttpResponse<String> r = chat(stream);

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(gw.fake().lastRequest().uri()).isEqualTo(upstream);
        if (stream) {
            assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(
                    t -> assertThat(t).startsWith("text/event-stream"));
            List<String> events = events(r.body());
            assertThat(events.get(events.size() - 1)).isEqualTo("[DONE]");
            StringBuilder content = new StringBuilder();
            List<String> finishes = new ArrayList<>();
            for (String e : events.subList(0, events.size() - 2)) {
                JsonNode choice = AdminClient.tree(e).at("/choices/0");
                content.append(choice.at("/delta/content").asText(""));
                if (choice.path("finish_reason").isTextual()) {
                    finishes.add(choice.path("finish_reason").asText());
                }
            }
            assertThat(content).hasToString(text);
            assertThat(finishes).containsExactly("stop");
            JsonNode usage = AdminClient.tree(events.get(events.size() - 2));
            assertThat(usage.path("choices")).isEmpty();
            assertThat(usage.at("/usage/total_tokens").asInt()).isEqualTo(10);
        } else {
            assertThat(r.headers().firstValue("content-type")).contains("application/json");
            JsonNode c = AdminClient.tree(r.body());
            assertThat(c.path("object").asText()).isEqualTo("chat.completion");
            assertThat(c.at("/choices/0/message/content").asText()).isEqualTo(text);
            assertThat(c.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
            assertThat(c.at("/usage/prompt_tokens").asInt()).isEqualTo(7);
            assertThat(c.at("/usage/completion_tokens").asInt()).isEqualTo(3);
        }
        assertThat(usage(0).promptTokens()).isEqualTo(7);
        assertThat(usage(0).outputTokens()).isEqualTo(3);
    }

    @Test
    void alwaysAssemblesAStreamedAnswerWithToolCallsForTheSdk() {
        start(1, "always");
        gw.fake().script(key(0), Behavior.stream(List.of(
                FakeGemini.partsEvent(List.of(FakeGemini.textPart("Let me check. ")), null, 12, 2, 0),
                FakeGemini.partsEvent(List.of(FakeGemini.functionCallPart("get_weather", "{\"city\":\"Paris\"}",
                        null)), null, 12, 4, 0),
                FakeGemini.partsEvent(List.of(FakeGemini.functionCallPart("get_time", "{\"tz\":\"CET\"}", null)),
                        "STOP", 12, 9, 5)), Duration.ofMillis(5)));

        ChatCompletion c = sdk.chat().completions().create(ChatCompletionCreateParams.builder().model(FLASH)
                .addUserMessage("Weather and time in Paris?").build());

        assertThat(gw.fake().lastRequest().uri()).isEqualTo(STREAM);
        ChatCompletion.Choice choice = c.choices().get(0);
        assertThat(choice.message().content()).contains("Let me check. ");
        assertThat(choice.message().toolCalls().orElseThrow()).hasSize(2);
        assertThat(choice.message().toolCalls().get().get(0).asFunction().function().name()).isEqualTo("get_weather");
        assertThat(choice.message().toolCalls().get().get(1).asFunction().function().arguments())
                .isEqualTo("{\"tz\":\"CET\"}");
        assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        assertThat(c.usage()).hasValueSatisfying(u -> {
            assertThat(u.promptTokens()).isEqualTo(12);
            assertThat(u.completionTokens()).isEqualTo(14);
        });
        assertThat(usage(0).outputTokens()).isEqualTo(14);
    }

    @Test
    void neverAnswersAStreamingSdkFromAWholeAnswer() {
        start(1, "never");
        ChatCompletionAccumulator acc = ChatCompletionAccumulator.create();
        List<ChatCompletionChunk> chunks;
        try (StreamResponse<ChatCompletionChunk> s = sdk.chat().completions().createStreaming(
                ChatCompletionCreateParams.builder().model(FLASH).addUserMessage("hi")
                        .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            chunks = s.stream().peek(acc::accumulate).toList();
        }

        assertThat(gw.fake().lastRequest().uri()).isEqualTo(GENERATE);
        assertThat(chunks.get(0).choices().get(0).delta().role())
                .contains(ChatCompletionChunk.Choice.Delta.Role.ASSISTANT);
        ChatCompletion c = acc.chatCompletion();
        assertThat(c.choices().get(0).message().content()).contains("ok");
        assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
        assertThat(chunks.get(chunks.size() - 1).usage()).hasValueSatisfying(u -> {
            assertThat(u.promptTokens()).isEqualTo(7);
            assertThat(u.completionTokens()).isEqualTo(3);
        });
    }

    @ParameterizedTest(name = "{0}, client stream {1}")
    @CsvSource({"always, false", "always, true", "never, false", "never, true"})
    void aRateLimitedKeyFailsOverInEveryMode(String mode, boolean stream) {
        start(2, mode);
        gw.fake().script(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(20)));

        HttpResponse<String> r = chat(stream);

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(gw.fake().keysUsed()).containsExactly(key(0), key(1));
        assertThat(gw.fake().requests()).extracting(RecordedRequest::uri)
                .containsOnly(mode.equals("always") ? STREAM : GENERATE);
        assertThat(r.body()).contains(mode.equals("always") ? "!" : "ok");
        assertThat(usage(1).outputTokens()).isEqualTo(3);
    }

    @ParameterizedTest(name = "{0}, client stream {1}")
    @CsvSource({"always, false", "never, true"})
    void anEmptyAnswerIsTriedAgainOnTheNextKey(String mode, boolean stream) {
        start(2, mode);
        String empty = FakeGemini.partsEvent(List.of(FakeGemini.thoughtPart("hmm")), "STOP", 7, 0, 4);
        gw.fake().script(key(0), mode.equals("always") ? Behavior.stream(List.of(empty), Duration.ZERO)
                : Behavior.status(200, empty));

        HttpResponse<String> r = chat(stream);

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(gw.fake().keysUsed()).containsExactly(key(0), key(1));
        assertThat(r.body()).doesNotContain("hmm").contains(mode.equals("always") ? "Hello!" : "ok");
    }

    @Test
    void alwaysRetriesAnErrorEventSinceTheClientSawNothing() {
        start(2, "always");
        gw.fake().script(key(0), Behavior.stream(List.of(FakeGemini.textEvent("par"),
                "{\"error\":{\"code\":500,\"message\":\"Internal error\",\"status\":\"INTERNAL\"}}"), Duration.ZERO));

        HttpResponse<String> r = chat(false);

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(gw.fake().keysUsed()).containsExactly(key(0), key(1));
        assertThat(AdminClient.tree(r.body()).at("/choices/0/message/content").asText()).isEqualTo("Hello!");
    }

    @Test
    void aModeChangeAppliesToTheNextRequest() {
        start(1, "auto");
        chat(false);
        assertThat(gw.fake().lastRequest().uri()).isEqualTo(GENERATE);
        mode("always");
        chat(false);
        assertThat(gw.fake().lastRequest().uri()).isEqualTo(STREAM);
        mode("never");
        HttpResponse<String> r = chat(true);
        assertThat(gw.fake().lastRequest().uri()).isEqualTo(GENERATE);
        assertThat(events(r.body())).last().isEqualTo("[DONE]");
    }
}
