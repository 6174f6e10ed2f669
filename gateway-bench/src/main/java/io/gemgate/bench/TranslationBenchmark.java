package io.gemgate.bench;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.gemgate.core.openai.ChatRequestTranslator;
import io.gemgate.core.openai.ChatStreamTranslator;
import io.gemgate.core.openai.ThoughtSignatures;
import io.gemgate.core.openai.TranslatedChatRequest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.time.Clock;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.runner.RunnerException;

/**
 * The OpenAI translation on the hot path (README, "OpenAI-compatible API"), in {@code gateway-core}, without sockets:
 * <ul>
 *   <li>{@link #translateRequest}: {@link ChatRequestTranslator#translate(ByteBuf)} of a realistic chat request, once
 *       per {@code POST /v1/chat/completions}: a system message and 10 turns (text, an assistant tool call and its
 *       result) with 3 tools whose JSON Schemas need cleaning ({@code $schema}, {@code additionalProperties},
 *       {@code $ref}/{@code $defs}, a nullable union, formats), about 8 KB of JSON;</li>
 *   <li>{@link #translateStreamEvent}: {@link ChatStreamTranslator#onEvent(ByteBuf, ByteBuf)} of a typical Gemini SSE
 *       event (a text delta of about 120 characters with {@code usageMetadata}), once per upstream event of a
 *       streamed answer, into an output buffer reused and cleared for every operation, as each event's frame is
 *       written and flushed on its own. The translator is made once: every event after the first of a stream takes
 *       this path (role sent, no finish reason yet).</li>
 * </ul>
 * {@code buffer}: the input in a heap buffer (the parser reads its array) or a direct one (read through a
 * {@code ByteBufInputStream}, as the gateway's pooled direct request bodies and SSE slices are). Both inputs are made
 * once and only read; neither translator releases or moves them.
 */
@State(Scope.Benchmark)
public class TranslationBenchmark extends AbstractBenchmark {

    /** One Gemini SSE event payload (the part after {@code data: }), in Google's spacing. */
    static final String STREAM_EVENT = "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" the Gemini API "
            + "streams its answer as server-sent events, and each of them carries one short delta of the text.\"}],"
            + "\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 1874,"
            + "\"candidatesTokenCount\": 96,\"totalTokenCount\": 2213,\"promptTokensDetails\": [{\"modality\": "
            + "\"TEXT\",\"tokenCount\": 1874}],\"thoughtsTokenCount\": 243},\"modelVersion\": \"gemini-2.5-flash\","
            + "\"responseId\": \"Xk5aaPqtFsK2nvgPqN2h0AY\"}";

    @Param({"heap", "direct"})
    public String buffer;

    private ChatRequestTranslator requests;
    private ChatStreamTranslator stream;
    private ByteBuf request;
    private ByteBuf event;
    private ByteBuf out;

    @Setup
    public void setUp() {
        requests = ChatRequestTranslator.defaults();
        request = buffer(chatRequest().getBytes(UTF_8));
        event = buffer(STREAM_EVENT.getBytes(UTF_8));
        out = buffer.equals("direct") ? Unpooled.directBuffer(4096) : Unpooled.buffer(4096);
        TranslatedChatRequest streamed = new TranslatedChatRequest("gemini-2.5-flash", "gemini-2.5-flash", true, true,
                1, false, new byte[0]);
        stream = new ChatStreamTranslator(streamed, ThoughtSignatures.inId(), Clock.systemUTC());

        // Fail fast if the inputs do not take the intended paths: a benchmark of an error measures nothing.
        TranslatedChatRequest t = requests.translate(request);
        String gemini = new String(t.body(), UTF_8);
        if (request.readableBytes() < 7_000 || request.readableBytes() > 9_500
                || !gemini.contains("\"functionDeclarations\"") || gemini.contains("$ref")
                || gemini.contains("additionalProperties") || !gemini.contains("\"functionResponse\"")) {
            throw new IllegalStateException("unexpected request translation (" + request.readableBytes()
                    + " bytes in): " + gemini);
        }
        if (!stream.onEvent(event, out) || !stream.onEvent(event, out.clear())
                || !out.toString(UTF_8).contains("\"content\":\" the Gemini API")) {
            throw new IllegalStateException("unexpected stream frame: " + out.toString(UTF_8));
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
        out.release();
    }

    @Benchmark
    public TranslatedChatRequest translateRequest() {
        return requests.translate(request);
    }

    @Benchmark
    public boolean translateStreamEvent() {
        return stream.onEvent(event, out.clear());
    }

    /**
     * A coding-assistant style request: system prompt, 10 turns with one tool call and its result, 3 tools. About
     * 8 KB.
     */
    static String chatRequest() {
        String prose = "The gateway keeps one pool of Gemini keys for every client; it picks the next key, "
                + "learns from each answer and fails over before the client notices anything went wrong. "
                + "Streams are relayed event by event, and a key that hits its daily quota rests until midnight "
                + "Pacific time. ";
        StringBuilder sb = new StringBuilder(9 * 1024);
        sb.append("{\"model\":\"gemini-2.5-flash\",\"stream\":true,\"stream_options\":{\"include_usage\":true},")
                .append("\"temperature\":0.2,\"max_completion_tokens\":4096,\"messages\":[");
        sb.append("{\"role\":\"system\",\"content\":").append(quote("You are a careful coding assistant working in "
                + "a Java 17 repository built with Maven. Answer concisely, cite file paths, and call a tool when "
                + "you need facts you do not have. " + prose + prose + prose)).append("},");
        sb.append("{\"role\":\"user\",\"content\":").append(quote("How does the key pool choose a key? " + prose))
                .append("},");
        sb.append("{\"role\":\"assistant\",\"content\":").append(quote("It asks the configured strategy. " + prose
                + prose)).append("},");
        sb.append("{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":").append(quote("Find where the "
                + "round robin cursor is advanced, and show me the method. " + prose)).append("}]},");
        sb.append("{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_Qm9vbGVhbk1ldGhvZA\",")
                .append("\"type\":\"function\",\"function\":{\"name\":\"search_files\",\"arguments\":")
                .append(quote("{\"query\":\"cursor.getAndIncrement\",\"path\":\"gateway-core/src/main/java\","
                        + "\"max_results\":5}")).append("}}]},");
        sb.append("{\"role\":\"tool\",\"tool_call_id\":\"call_Qm9vbGVhbk1ldGhvZA\",\"content\":").append(quote(
                "{\"matches\":[{\"file\":\"gateway-core/src/main/java/io/gemgate/core/keys/KeyPool.java\","
                        + "\"line\":212,\"text\":\"int start = Math.floorMod(cursor.getAndIncrement(), n);\"},"
                        + "{\"file\":\"gateway-core/src/main/java/io/gemgate/core/keys/KeyPool.java\",\"line\":230,"
                        + "\"text\":\"ApiKey k = ring[(start + i) % n];\"}],\"truncated\":false}")).append("},");
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
        sb.append(",\"tool_choice\":\"auto\",\"parallel_tool_calls\":true,\"user\":\"bench-user\"}");
        return sb.toString();
    }

    private static String tool(String name, String description, String schema) {
        return "{\"type\":\"function\",\"function\":{\"name\":" + quote(name) + ",\"description\":" + quote(description)
                + ",\"parameters\":" + schema + ",\"strict\":true}}";
    }

    private static String quote(String s) {
        return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }

    public static void main(String[] args) throws RunnerException {
        run(TranslationBenchmark.class);
    }
}
