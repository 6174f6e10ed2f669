package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.gemgate.core.json.Usage;
import io.gemgate.core.openai.ResponsesWriter.Item;
import io.gemgate.core.openai.ResponsesWriter.Kind;
import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Translates one streamed Gemini answer ({@code streamGenerateContent?alt=sse}) into the Responses API's streaming
 * events (OpenAI's Responses API reference, "Streaming events"), one upstream event at a time. Each event is an SSE
 * frame {@code event: <type>\ndata: {"type":<type>,"sequence_number":n,...}\n\n}, numbered from 0.
 *
 * <p>The sequence: {@code response.created} and {@code response.in_progress} (the response object, status
 * {@code in_progress}, no output), then per output item {@code response.output_item.added}, its content events and
 * {@code response.output_item.done}:
 * <ul>
 *   <li>reasoning (thought parts, only when {@code reasoning.summary} was asked for):
 *       {@code response.reasoning_summary_part.added}, {@code response.reasoning_summary_text.delta} per thought
 *       part, {@code response.reasoning_summary_text.done}, {@code response.reasoning_summary_part.done};</li>
 *   <li>a message: {@code response.content_part.added}, {@code response.output_text.delta} per text part,
 *       {@code response.output_text.done}, {@code response.content_part.done};</li>
 *   <li>a function call: {@code response.function_call_arguments.delta} (the whole arguments: Gemini sends a call in
 *       one part) and {@code response.function_call_arguments.done}.</li>
 * </ul>
 * An item stays open while Gemini's parts of its kind follow one another, and is closed when another kind comes or
 * the stream ends. The stream ends with {@code response.completed} (or {@code response.incomplete}: MAX_TOKENS, a
 * filter) carrying the whole response and its usage; an upstream failure after content ends it with
 * {@code response.failed}. A failure before any content, once keep-alives went out, is an {@code error} event
 * ({@link #writeError}).
 *
 * <p>Retry before the first byte: nothing is written until the answer shows something (text, a call, a summary
 * asked for, or a final reason a retry would not change), so {@link #sawContent()} stays false for an empty answer
 * and the server can still try another key.
 *
 * <p>Not thread-safe: one instance per attempt, on the connection's event loop.
 */
public final class ResponsesStreamTranslator {
    private static final byte[] KEEP_ALIVE = ": keep-alive\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] EVENT = "event: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DATA = "\ndata: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);

    private final TranslatedResponsesRequest request;
    private final ThoughtSignatures signatures;
    private final long createdAt;
    private final GeminiResponse event = new GeminiResponse();
    private final GeminiResponse lastUsage = new GeminiResponse();
    private final ByteBufSink sink = new ByteBufSink();
    private final List<Item> output = new ArrayList<>(2);

    private Item open;
    private int sequence;
    private boolean started;
    private boolean done;
    private String finishReason;
    private String blockReason;
    private OpenAiError upstreamError;
    private byte[] finalJson;
    private char[] scratch = new char[256];

    /**
     * @param request    the translated request (id, echoed members, whether summaries were asked for)
     * @param signatures where function calls' thought signatures go
     * @param clock      source of {@code created_at}
     */
    public ResponsesStreamTranslator(TranslatedResponsesRequest request, ThoughtSignatures signatures, Clock clock) {
        this.request = Objects.requireNonNull(request, "request");
        this.signatures = Objects.requireNonNull(signatures, "signatures");
        this.createdAt = clock.millis() / 1000;
    }

    /**
     * Translates one upstream event.
     *
     * @param data the JSON payload of one {@code data:} line; not released, indices unchanged
     * @param out  where the frames go, if any; the caller keeps ownership
     * @return true if frames were appended
     * @throws UpstreamFormatException when the payload is not Gemini JSON (nothing is appended)
     */
    public boolean onEvent(ByteBuf data, ByteBuf out) {
        if (done) {
            return false;
        }
        try {
            return onEvent(Json.parser(data), sink.target(out));
        } finally {
            sink.target(null);
        }
    }

    /** As {@link #onEvent(ByteBuf, ByteBuf)}, returning the frames (empty when none). */
    public byte[] onEvent(byte[] data) {
        if (done) {
            return new byte[0];
        }
        ByteArrayBuilder out = new ByteArrayBuilder(256);
        onEvent(Json.parser(data, 0, data.length), out);
        return out.toByteArray();
    }

    /**
     * Ends the stream: closes the open item and writes {@code response.completed} (or {@code response.incomplete})
     * with the whole response. Does nothing after an error or a second time.
     *
     * @param out the caller keeps ownership
     */
    public void finish(ByteBuf out) {
        try {
            finish(sink.target(out));
        } finally {
            sink.target(null);
        }
    }

    /** As {@link #finish(ByteBuf)}, returning the frames. */
    public byte[] finish() {
        ByteArrayBuilder out = new ByteArrayBuilder(512);
        finish((OutputStream) out);
        return out.toByteArray();
    }

    /**
     * Ends a started stream after an upstream failure: {@code response.failed} with the error; close after it.
     *
     * @param out the caller keeps ownership
     */
    public void fail(OpenAiError error, ByteBuf out) {
        if (done) {
            return;
        }
        done = true;
        try {
            fail(error, sink.target(out));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            sink.target(null);
        }
    }

    /**
     * An {@code error} event ({@code {"type":"error","code","message","param","sequence_number":0}}), for a failure
     * once the stream's head went out but before any content (only keep-alives were sent).
     *
     * @param out the caller keeps ownership
     */
    public static void writeError(OpenAiError error, ByteBuf out) {
        ByteBufSink s = new ByteBufSink().target(out);
        try {
            s.write(EVENT);
            s.write("error".getBytes(StandardCharsets.US_ASCII));
            s.write(DATA);
            try (JsonGenerator g = Json.generator(s)) {
                g.writeStartObject();
                g.writeStringField("type", "error");
                g.writeNumberField("sequence_number", 0);
                g.writeStringField("code", error.code() != null ? error.code() : error.type());
                g.writeStringField("message", error.message());
                if (error.param() != null) {
                    g.writeStringField("param", error.param());
                } else {
                    g.writeNullField("param");
                }
                g.writeEndObject();
            }
            s.write(END);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An SSE comment ({@code : keep-alive}); not content: the request may still go to another key after it. */
    public static void writeKeepAlive(ByteBuf out) {
        out.writeBytes(KEEP_ALIVE);
    }

    /** True once frames went to the client: from then on the request can no longer be retried on another key. */
    public boolean sawContent() {
        return started;
    }

    /** The error of an upstream error event, or null. */
    public OpenAiError upstreamError() {
        return upstreamError;
    }

    /** True after {@link #finish} or a failure: nothing more will be written. */
    public boolean isDone() {
        return done;
    }

    /** The last upstream token counts seen. */
    public Usage usage() {
        return lastUsage.usage();
    }

    /** The finished response (for {@link ResponseStore}), or null before {@link #finish} or after a failure. */
    public ResponsesResult result() {
        return finalJson == null ? null : new ResponsesResult(finalJson, false, lastUsage.usage(), null,
                ResponsesWriter.byItemId(output));
    }

    private boolean onEvent(JsonParser p, OutputStream out) {
        event.reset();
        try (p) {
            event.read(p);
        } catch (IOException e) {
            throw new UpstreamFormatException("Gemini stream event is not valid JSON: " + e.getMessage(), e);
        }
        if (event.hasUsage) {
            event.copyUsageTo(lastUsage);
        }
        try {
            if (event.error != null) {
                upstreamError = OpenAiErrors.fromGemini(0, event.error);
                if (started) {
                    done = true;
                    fail(upstreamError, out);
                    return true;
                }
                done = true;
                return false;
            }
            return writeEvent(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private boolean writeEvent(OutputStream out) throws IOException {
        if (event.size() == 0) {
            if (event.blockReason == null) {
                return false;
            }
            blockReason = event.blockReason;
            return start(out);
        }
        GeminiResponse.Candidate c = null;
        for (int i = 0; i < event.size(); i++) {
            if (event.candidate(i).index == 0 || c == null) {
                c = event.candidate(i);
            }
        }
        if (c.finishReason != null) {
            finishReason = c.finishReason;
        }
        boolean thought = request.chat().reasoning() && c.thought.length() > 0;
        boolean text = c.text.length() > 0;
        boolean calls = !c.calls.isEmpty();
        boolean terminal = ResponsesWriter.incompleteReason(finishReason, null) != null;
        if (!thought && !text && !calls && !terminal) {
            return false;
        }
        boolean wrote = start(out);
        if (thought) {
            if (open == null || open.kind != Kind.REASONING) {
                close(out);
                openReasoning(out);
            }
            open.text.append(c.thought);
            JsonGenerator g = begin(out, "response.reasoning_summary_text.delta");
            g.writeStringField("item_id", open.id);
            g.writeNumberField("output_index", output.size() - 1);
            g.writeNumberField("summary_index", 0);
            g.writeFieldName("delta");
            writeString(g, c.thought);
            end(g, out);
            wrote = true;
        }
        if (text) {
            if (open == null || open.kind != Kind.MESSAGE) {
                close(out);
                openMessage(out);
            }
            open.text.append(c.text);
            JsonGenerator g = begin(out, "response.output_text.delta");
            g.writeStringField("item_id", open.id);
            g.writeNumberField("output_index", output.size() - 1);
            g.writeNumberField("content_index", 0);
            g.writeFieldName("delta");
            writeString(g, c.text);
            g.writeArrayFieldStart("logprobs");
            g.writeEndArray();
            end(g, out);
            wrote = true;
        }
        if (calls) {
            close(out);
            for (GeminiResponse.Call call : c.calls) {
                writeCall(out, ResponsesWriter.call(call, signatures));
            }
            wrote = true;
        }
        return wrote;
    }

    /** {@code response.created} and {@code response.in_progress}, once; true when written now. */
    private boolean start(OutputStream out) throws IOException {
        if (started) {
            return false;
        }
        started = true;
        for (String type : new String[] {"response.created", "response.in_progress"}) {
            JsonGenerator g = begin(out, type);
            g.writeFieldName("response");
            ResponsesWriter.writeResponse(g, request, createdAt, "in_progress", null, null, null, null, false);
            end(g, out);
        }
        return true;
    }

    private void openReasoning(OutputStream out) throws IOException {
        open = new Item(Kind.REASONING, Ids.random("rs_", 40));
        output.add(open);
        added(out, open);
        JsonGenerator g = begin(out, "response.reasoning_summary_part.added");
        g.writeStringField("item_id", open.id);
        g.writeNumberField("output_index", output.size() - 1);
        g.writeNumberField("summary_index", 0);
        g.writeObjectFieldStart("part");
        g.writeStringField("type", "summary_text");
        g.writeStringField("text", "");
        g.writeEndObject();
        end(g, out);
    }

    private void openMessage(OutputStream out) throws IOException {
        open = new Item(Kind.MESSAGE, Ids.random("msg_", 40));
        output.add(open);
        added(out, open);
        JsonGenerator g = begin(out, "response.content_part.added");
        g.writeStringField("item_id", open.id);
        g.writeNumberField("output_index", output.size() - 1);
        g.writeNumberField("content_index", 0);
        g.writeFieldName("part");
        ResponsesWriter.writeTextPart(g, "");
        end(g, out);
    }

    private void writeCall(OutputStream out, Item call) throws IOException {
        output.add(call);
        int index = output.size() - 1;
        added(out, call);
        JsonGenerator g = begin(out, "response.function_call_arguments.delta");
        g.writeStringField("item_id", call.id);
        g.writeNumberField("output_index", index);
        g.writeStringField("delta", call.args);
        end(g, out);
        g = begin(out, "response.function_call_arguments.done");
        g.writeStringField("item_id", call.id);
        g.writeNumberField("output_index", index);
        g.writeStringField("name", call.name);
        g.writeStringField("arguments", call.args);
        end(g, out);
        itemDone(out, call, index);
    }

    private void added(OutputStream out, Item item) throws IOException {
        JsonGenerator g = begin(out, "response.output_item.added");
        g.writeNumberField("output_index", output.size() - 1);
        g.writeFieldName("item");
        ResponsesWriter.writeItem(g, item, "in_progress");
        end(g, out);
    }

    private void itemDone(OutputStream out, Item item, int index) throws IOException {
        item.done = true;
        JsonGenerator g = begin(out, "response.output_item.done");
        g.writeNumberField("output_index", index);
        g.writeFieldName("item");
        ResponsesWriter.writeItem(g, item, "completed");
        end(g, out);
    }

    /** Closes the open reasoning or message item. */
    private void close(OutputStream out) throws IOException {
        Item item = open;
        if (item == null) {
            return;
        }
        open = null;
        int index = output.indexOf(item);
        String text = item.text.toString();
        if (item.kind == Kind.REASONING) {
            JsonGenerator g = begin(out, "response.reasoning_summary_text.done");
            g.writeStringField("item_id", item.id);
            g.writeNumberField("output_index", index);
            g.writeNumberField("summary_index", 0);
            g.writeStringField("text", text);
            end(g, out);
            g = begin(out, "response.reasoning_summary_part.done");
            g.writeStringField("item_id", item.id);
            g.writeNumberField("output_index", index);
            g.writeNumberField("summary_index", 0);
            g.writeObjectFieldStart("part");
            g.writeStringField("type", "summary_text");
            g.writeStringField("text", text);
            g.writeEndObject();
            end(g, out);
        } else {
            JsonGenerator g = begin(out, "response.output_text.done");
            g.writeStringField("item_id", item.id);
            g.writeNumberField("output_index", index);
            g.writeNumberField("content_index", 0);
            g.writeStringField("text", text);
            g.writeArrayFieldStart("logprobs");
            g.writeEndArray();
            end(g, out);
            g = begin(out, "response.content_part.done");
            g.writeStringField("item_id", item.id);
            g.writeNumberField("output_index", index);
            g.writeNumberField("content_index", 0);
            g.writeFieldName("part");
            ResponsesWriter.writeTextPart(g, text);
            end(g, out);
        }
        itemDone(out, item, index);
    }

    private void finish(OutputStream out) {
        if (done) {
            return;
        }
        done = true;
        try {
            start(out);
            close(out);
            String incomplete = ResponsesWriter.incompleteReason(finishReason, blockReason);
            String status = incomplete == null ? "completed" : "incomplete";
            ByteArrayBuilder whole = new ByteArrayBuilder(512);
            try (JsonGenerator w = Json.generator(whole)) {
                ResponsesWriter.writeResponse(w, request, createdAt, status, output, lastUsage, incomplete, null,
                        false);
            }
            finalJson = whole.toByteArray();
            JsonGenerator g = begin(out, incomplete == null ? "response.completed" : "response.incomplete");
            g.writeFieldName("response");
            g.writeRawValue(new String(finalJson, StandardCharsets.UTF_8));
            end(g, out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void fail(OpenAiError error, OutputStream out) throws IOException {
        JsonGenerator g = begin(out, "response.failed");
        g.writeFieldName("response");
        ResponsesWriter.writeResponse(g, request, createdAt, "failed", output, lastUsage, null, error, false);
        end(g, out);
    }

    private JsonGenerator begin(OutputStream out, String type) throws IOException {
        out.write(EVENT);
        for (int i = 0; i < type.length(); i++) {
            out.write(type.charAt(i));
        }
        out.write(DATA);
        JsonGenerator g = Json.generator(out);
        g.writeStartObject();
        g.writeStringField("type", type);
        g.writeNumberField("sequence_number", sequence++);
        return g;
    }

    private static void end(JsonGenerator g, OutputStream out) throws IOException {
        g.writeEndObject();
        g.close();
        out.write(END);
    }

    private void writeString(JsonGenerator g, StringBuilder sb) throws IOException {
        int n = sb.length();
        if (scratch.length < n) {
            scratch = new char[Math.max(n, scratch.length * 2)];
        }
        sb.getChars(0, n, scratch, 0);
        g.writeString(scratch, 0, n);
    }
}
