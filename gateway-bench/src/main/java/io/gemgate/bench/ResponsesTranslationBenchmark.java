package io.gemgate.bench;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.gemgate.core.openai.ModelResolver;
import io.gemgate.core.openai.ResponseStore;
import io.gemgate.core.openai.ResponsesRequestTranslator;
import io.gemgate.core.openai.ResponsesResponseTranslator;
import io.gemgate.core.openai.ResponsesResult;
import io.gemgate.core.openai.ResponsesStreamTranslator;
import io.gemgate.core.openai.ThoughtSignatures;
import io.gemgate.core.openai.TranslatedResponsesRequest;
import io.gemgate.core.settings.Thinking;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.time.Clock;
import java.time.Duration;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.runner.RunnerException;

/**
 * OpenAI's Responses API translation (README, "Responses API"), next to {@link TranslationBenchmark}'s chat
 * completions, on the same content so that the two compare:
 * <ul>
 *   <li>{@link #translateRequest}: {@link ResponsesRequestTranslator#translate(ByteBuf, Thinking, String, String)} of
 *       {@link TranslationBenchmark#chatRequest()}'s conversation in the Responses shape: {@code instructions}, 10
 *       input items (messages, a {@code function_call} and its {@code function_call_output}), the same 3 tools as
 *       flat function tools, about 8 KB;</li>
 *   <li>{@link #translateStreamEvent}: {@link ResponsesStreamTranslator#onEvent(ByteBuf, ByteBuf)} of
 *       {@link TranslationBenchmark#STREAM_EVENT} (one {@code response.output_text.delta} frame once the message
 *       item is open), into an output buffer reused and cleared for every operation;</li>
 *   <li>{@link #translateResponse}: {@link ResponsesResponseTranslator#translate} of a whole answer (text of about
 *       1 KB, usage), the non-streamed path.</li>
 * </ul>
 * The store is not involved: the request has no {@code previous_response_id}, and storing happens after the answer.
 */
@State(Scope.Benchmark)
public class ResponsesTranslationBenchmark extends AbstractBenchmark {

    @Param({"heap", "direct"})
    public String buffer;

    private ResponsesRequestTranslator requests;
    private ResponsesResponseTranslator answers;
    private ResponsesStreamTranslator stream;
    private TranslatedResponsesRequest translated;
    private ByteBuf request;
    private ByteBuf event;
    private ByteBuf whole;
    private ByteBuf out;

    @Setup
    public void setUp() {
        ThoughtSignatures signatures = ThoughtSignatures.inId();
        requests = new ResponsesRequestTranslator(ModelResolver.DEFAULT, signatures,
                new ResponseStore(1 << 20, Duration.ofHours(1), Clock.systemUTC()));
        answers = new ResponsesResponseTranslator(signatures, Clock.systemUTC());
        request = buffer(responsesRequest().getBytes(UTF_8));
        event = buffer(TranslationBenchmark.STREAM_EVENT.getBytes(UTF_8));
        whole = buffer(wholeAnswer().getBytes(UTF_8));
        out = buffer.equals("direct") ? Unpooled.directBuffer(4096) : Unpooled.buffer(4096);
        translated = requests.translate(request, Thinking.AUTO, "", "");
        stream = new ResponsesStreamTranslator(translated, signatures, Clock.systemUTC());

        String gemini = new String(translated.chat().body(), UTF_8);
        if (request.readableBytes() < 7_000 || request.readableBytes() > 9_500
                || !gemini.contains("\"functionDeclarations\"") || gemini.contains("$ref")
                || gemini.contains("additionalProperties") || !gemini.contains("\"functionResponse\"")
                || !gemini.contains("\"systemInstruction\"")) {
            throw new IllegalStateException("unexpected request translation (" + request.readableBytes()
                    + " bytes in): " + gemini);
        }
        if (!stream.onEvent(event, out) || !stream.onEvent(event, out.clear())
                || !out.toString(UTF_8).startsWith("event: response.output_text.delta\n")) {
            throw new IllegalStateException("unexpected stream frame: " + out.toString(UTF_8));
        }
        ResponsesResult r = answers.translate(translated, whole);
        if (r.empty() || r.error() != null || !new String(r.json(), UTF_8).contains("\"output_text\"")) {
            throw new IllegalStateException("unexpected answer: " + new String(r.json(), UTF_8));
        }
    }

    private ByteBuf buffer(byte[] bytes) {
        if (buffer.equals("direct")) {
            return Unpooled.directBuffer(bytes.length).writeBytes(bytes);
        }
        return Unpooled.wrappedBuffer(bytes);
    }

    @TearDown
    public void tearDown() {
        request.release();
        event.release();
        whole.release();
        out.release();
    }

    @Benchmark
    public TranslatedResponsesRequest translateRequest() {
        return requests.translate(request, Thinking.AUTO, "", "");
    }

    @Benchmark
    public boolean translateStreamEvent() {
        return stream.onEvent(event, out.clear());
    }

    @Benchmark
    public ResponsesResult translateResponse() {
        return answers.translate(translated, whole);
    }

    /** {@link TranslationBenchmark#chatRequest()}'s content in the Responses shape. About 8 KB. */
    static String responsesRequest() {
        String chat = TranslationBenchmark.chatRequest();
        // Reuse the chat body's texts and schemas by rewriting its structure: the same strings, the Responses members.
        com.fasterxml.jackson.databind.ObjectMapper m = new com.fasterxml.jackson.databind.ObjectMapper();
        try {
            com.fasterxml.jackson.databind.node.ObjectNode c = (com.fasterxml.jackson.databind.node.ObjectNode)
                    m.readTree(chat);
            com.fasterxml.jackson.databind.node.ObjectNode r = m.createObjectNode();
            r.put("model", "gemini-2.5-flash");
            r.put("stream", true);
            r.put("temperature", 0.2);
            r.put("max_output_tokens", 4096);
            com.fasterxml.jackson.databind.node.ArrayNode input = r.putArray("input");
            for (com.fasterxml.jackson.databind.JsonNode msg : c.get("messages")) {
                String role = msg.get("role").asText();
                switch (role) {
                    case "system" -> r.put("instructions", msg.get("content").asText());
                    case "tool" -> input.addObject().put("type", "function_call_output")
                            .put("call_id", msg.get("tool_call_id").asText())
                            .put("output", msg.get("content").asText());
                    default -> {
                        if (msg.has("tool_calls")) {
                            for (com.fasterxml.jackson.databind.JsonNode call : msg.get("tool_calls")) {
                                input.addObject().put("type", "function_call").put("call_id", call.get("id").asText())
                                        .put("name", call.at("/function/name").asText())
                                        .put("arguments", call.at("/function/arguments").asText());
                            }
                            continue;
                        }
                        com.fasterxml.jackson.databind.node.ObjectNode item = input.addObject();
                        item.put("type", "message").put("role", role);
                        com.fasterxml.jackson.databind.JsonNode content = msg.get("content");
                        String text = content.isArray() ? content.get(0).get("text").asText() : content.asText();
                        item.putArray("content").addObject()
                                .put("type", role.equals("assistant") ? "output_text" : "input_text").put("text", text);
                    }
                }
            }
            com.fasterxml.jackson.databind.node.ArrayNode tools = r.putArray("tools");
            for (com.fasterxml.jackson.databind.JsonNode t : c.get("tools")) {
                com.fasterxml.jackson.databind.node.ObjectNode f = tools.addObject();
                f.put("type", "function");
                f.setAll((com.fasterxml.jackson.databind.node.ObjectNode) t.get("function"));
            }
            r.put("tool_choice", "auto");
            r.put("parallel_tool_calls", true);
            r.put("store", false);
            return m.writeValueAsString(r);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A whole Gemini answer: about 1 KB of text and usage. */
    static String wholeAnswer() {
        String text = "The key pool picks a key with its configured strategy and fails over on errors. ".repeat(12);
        return "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"" + text + "\"}],\"role\": \"model\"},"
                + "\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 1874,"
                + "\"candidatesTokenCount\": 196,\"totalTokenCount\": 2313,\"thoughtsTokenCount\": 243},"
                + "\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"Xk5aaPqtFsK2nvgPqN2h0AY\"}";
    }

    public static void main(String[] args) throws RunnerException {
        run(ResponsesTranslationBenchmark.class);
    }
}
