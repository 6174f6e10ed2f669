package io.gemgate.bench;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.gemgate.core.anthropic.AnthropicRequestTranslator;
import io.gemgate.core.anthropic.MessagesResponseTranslator;
import io.gemgate.core.anthropic.MessagesStreamTranslator;
import io.gemgate.core.anthropic.TranslatedMessagesRequest;
import io.gemgate.core.openai.ThoughtSignatures;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.runner.RunnerException;

/**
 * The Anthropic Messages translation (README, "Anthropic Messages API"), next to {@link TranslationBenchmark}'s chat
 * one and on the same conversation, so that the two compare: run both in one JMH invocation.
 * <ul>
 *   <li>{@link #translateRequest}: {@link AnthropicRequestTranslator} of the chat benchmark's conversation in
 *       Anthropic's shape (system, 10 turns with a {@code tool_use} and its {@code tool_result}, 3 tools whose
 *       {@code input_schema}s need cleaning), about 8 KB;</li>
 *   <li>{@link #translateStreamEvent}: {@link MessagesStreamTranslator#onEvent} of the chat benchmark's Gemini SSE
 *       event (a text delta with usage) into a reused output buffer: after the first event of a stream, one
 *       {@code content_block_delta};</li>
 *   <li>{@link #translateAnswer}: {@link MessagesResponseTranslator#translate} of a whole answer (thought, text
 *       with its signature, a function call; usage), the non-streaming path.</li>
 * </ul>
 * {@code buffer}: inputs in heap or direct buffers, as in {@link TranslationBenchmark}.
 */
@State(Scope.Benchmark)
public class AnthropicTranslationBenchmark extends AbstractBenchmark {

    static final String ANSWER = "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"**Looking at the ring** "
            + "I should check how the cursor moves before answering.\",\"thought\": true},{\"text\": \"KeyPool.acquire "
            + "advances the cursor once per selection and probes the ring from there; weighted keys appear several "
            + "times.\",\"thoughtSignature\": \"CiQB0e2Kb1y0qv3t0c2lnbmF0dXJlLWJ5dGVzLWZvci1hLWJlbmNobWFyaw==\"},"
            + "{\"functionCall\": {\"name\": \"search_files\",\"args\": {\"query\": \"cursor.getAndIncrement\","
            + "\"max_results\": 5}}}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],"
            + "\"usageMetadata\": {\"promptTokenCount\": 1874,\"candidatesTokenCount\": 96,\"totalTokenCount\": 2213,"
            + "\"thoughtsTokenCount\": 243},\"modelVersion\": \"gemini-2.5-flash\","
            + "\"responseId\": \"Xk5aaPqtFsK2nvgPqN2h0AY\"}";

    @Param({"heap", "direct"})
    public String buffer;

    private AnthropicRequestTranslator requests;
    private MessagesResponseTranslator answers;
    private MessagesStreamTranslator stream;
    private TranslatedMessagesRequest whole;
    private ByteBuf request;
    private ByteBuf event;
    private ByteBuf answer;
    private ByteBuf out;

    @Setup
    public void setUp() {
        ThoughtSignatures signatures = ThoughtSignatures.inId();
        requests = new AnthropicRequestTranslator(io.gemgate.core.anthropic.AnthropicModels.DEFAULT, signatures);
        answers = new MessagesResponseTranslator(signatures);
        request = buffer(messagesRequest().getBytes(UTF_8));
        event = buffer(TranslationBenchmark.STREAM_EVENT.getBytes(UTF_8));
        answer = buffer(ANSWER.getBytes(UTF_8));
        out = buffer.equals("direct") ? Unpooled.directBuffer(4096) : Unpooled.buffer(4096);
        TranslatedMessagesRequest streamed = new TranslatedMessagesRequest("claude-sonnet-4-5", "gemini-2.5-flash",
                true, false, false, new byte[0]);
        whole = new TranslatedMessagesRequest("claude-sonnet-4-5", "gemini-2.5-flash", false, true, false,
                new byte[0]);
        stream = new MessagesStreamTranslator(streamed, signatures);

        // Fail fast if the inputs do not take the intended paths: a benchmark of an error measures nothing.
        TranslatedMessagesRequest t = requests.translate(request, io.gemgate.core.settings.Thinking.AUTO, "");
        String gemini = new String(t.body(), UTF_8);
        if (request.readableBytes() < 7_000 || request.readableBytes() > 9_500
                || !gemini.contains("\"functionDeclarations\"") || gemini.contains("$ref")
                || gemini.contains("additionalProperties") || !gemini.contains("\"functionResponse\"")) {
            throw new IllegalStateException("unexpected request translation (" + request.readableBytes()
                    + " bytes in): " + gemini);
        }
        if (!stream.onEvent(event, out) || !stream.onEvent(event, out.clear())
                || !out.toString(UTF_8).contains("\"text_delta\",\"text\":\" the Gemini API")) {
            throw new IllegalStateException("unexpected stream frame: " + out.toString(UTF_8));
        }
        String message = new String(answers.translate(whole, answer).json(), UTF_8);
        if (!message.contains("\"tool_use\"") || !message.contains("\"thinking\"")) {
            throw new IllegalStateException("unexpected message: " + message);
        }
    }

    private ByteBuf buffer(byte[] bytes) {
        if (buffer.equals("direct")) {
            ByteBuf b = Unpooled.directBuffer(bytes.length);
            return b.writeBytes(bytes);
        }
        return Unpooled.wrappedBuffer(bytes);
    }

    @TearDown
    public void tearDown() {
        request.release();
        event.release();
        answer.release();
        out.release();
    }

    @Benchmark
    public TranslatedMessagesRequest translateRequest() {
        return requests.translate(request, io.gemgate.core.settings.Thinking.AUTO, "");
    }

    @Benchmark
    public boolean translateStreamEvent() {
        return stream.onEvent(event, out.clear());
    }

    @Benchmark
    public MessagesResponseTranslator.Message translateAnswer() {
        return answers.translate(whole, answer);
    }

    /** {@link TranslationBenchmark#chatRequest()}'s conversation as a Messages API body. About 8 KB. */
    static String messagesRequest() {
        String prose = "The gateway keeps one pool of Gemini keys for every client; it picks the next key, "
                + "learns from each answer and fails over before the client notices anything went wrong. "
                + "Streams are relayed event by event, and a key that hits its daily quota rests until midnight "
                + "Pacific time. ";
        StringBuilder sb = new StringBuilder(9 * 1024);
        sb.append("{\"model\":\"claude-sonnet-4-5\",\"stream\":true,\"temperature\":0.2,\"max_tokens\":4096,");
        sb.append("\"system\":").append(quote("You are a careful coding assistant working in a Java 17 repository "
                + "built with Maven. Answer concisely, cite file paths, and call a tool when you need facts you do "
                + "not have. " + prose + prose + prose)).append(",\"messages\":[");
        sb.append("{\"role\":\"user\",\"content\":").append(quote("How does the key pool choose a key? " + prose))
                .append("},");
        sb.append("{\"role\":\"assistant\",\"content\":").append(quote("It asks the configured strategy. " + prose
                + prose)).append("},");
        sb.append("{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":").append(quote("Find where the "
                + "round robin cursor is advanced, and show me the method. " + prose)).append("}]},");
        sb.append("{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_01Qm9vbGVhbk1ldGhvZA\",")
                .append("\"name\":\"search_files\",\"input\":{\"query\":\"cursor.getAndIncrement\",")
                .append("\"path\":\"gateway-core/src/main/java\",\"max_results\":5}}]},");
        sb.append("{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":")
                .append("\"toolu_01Qm9vbGVhbk1ldGhvZA\",\"content\":").append(quote(
                "{\"matches\":[{\"file\":\"gateway-core/src/main/java/io/gemgate/core/keys/KeyPool.java\","
                        + "\"line\":212,\"text\":\"int start = Math.floorMod(cursor.getAndIncrement(), n);\"},"
                        + "{\"file\":\"gateway-core/src/main/java/io/gemgate/core/keys/KeyPool.java\",\"line\":230,"
                        + "\"text\":\"ApiKey k = ring[(start + i) % n];\"}],\"truncated\":false}")).append("}]},");
        sb.append("{\"role\":\"assistant\",\"content\":").append(quote("KeyPool.acquire advances the cursor once per "
                + "selection (line 212) and probes the ring from there. " + prose + prose)).append("},");
        sb.append("{\"role\":\"user\",\"content\":").append(quote("And with weights? " + prose)).append("},");
        sb.append("{\"role\":\"assistant\",\"content\":").append(quote("Weighted keys appear several times in the "
                + "ring, interleaved. " + prose + prose + prose)).append("},");
        sb.append("{\"role\":\"user\",\"content\":").append(quote("Schedule a review of that code with the team "
                + "for next Tuesday at 10:00, one hour. " + prose + prose)).append("}");
        sb.append("],\"tools\":[");
        sb.append(tool("get_weather", "Current weather for a city.", """
                {"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{\
                "city":{"type":"string","description":"City name, e.g. Paris"},\
                "unit":{"anyOf":[{"type":"string","enum":["celsius","fahrenheit"]},{"type":"null"}],\
                "default":"celsius"}},"required":["city"],"additionalProperties":false}""")).append(',');
        sb.append(tool("search_files", "Search the repository's files for a text or a regular expression.", """
                {"type":"object","properties":{"query":{"type":"string","minLength":1},\
                "path":{"type":"string","description":"Directory to search, relative to the root"},\
                "max_results":{"type":"integer","minimum":1,"maximum":100,"format":"int32"},\
                "case_sensitive":{"type":"boolean","default":false},\
                "file_types":{"type":"array","items":{"type":"string","pattern":"^[a-z0-9]+$"},"uniqueItems":true}},\
                "required":["query"],"additionalProperties":false}""")).append(',');
        sb.append(tool("create_event", "Create a calendar event and invite people.", """
                {"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",\
                "$defs":{"person":{"type":"object","properties":{"name":{"type":"string"},\
                "email":{"type":"string","format":"email"}},"required":["email"],"additionalProperties":false}},\
                "properties":{"title":{"type":"string","maxLength":200},\
                "start":{"type":"string","format":"date-time"},\
                "duration_minutes":{"type":"integer","exclusiveMinimum":0},\
                "attendees":{"type":"array","items":{"$ref":"#/$defs/person"},"minItems":1},\
                "organizer":{"$ref":"#/$defs/person"},\
                "location":{"type":["string","null"]},\
                "reminders":{"type":"array","items":{"type":"object","properties":{\
                "minutes_before":{"type":"integer"},"method":{"const":"popup"}}}}},\
                "required":["title","start","attendees"],"additionalProperties":false}""")).append(']');
        sb.append(",\"tool_choice\":{\"type\":\"auto\"},\"metadata\":{\"user_id\":\"bench-user\"}}");
        return sb.toString();
    }

    private static String tool(String name, String description, String schema) {
        return "{\"name\":" + quote(name) + ",\"description\":" + quote(description) + ",\"input_schema\":" + schema
                + "}";
    }

    private static String quote(String s) {
        return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }

    public static void main(String[] args) throws RunnerException {
        run(AnthropicTranslationBenchmark.class);
    }
}
