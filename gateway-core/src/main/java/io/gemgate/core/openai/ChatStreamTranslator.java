package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.gemgate.core.json.Usage;
import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Arrays;
import java.util.Objects;

/**
 * Translates one streamed Gemini answer ({@code streamGenerateContent?alt=sse}) into OpenAI
 * {@code chat.completion.chunk} SSE frames (OpenAI API reference: The chat completion chunk object), one upstream event
 * at a time.
 *
 * <p>Use: one instance per request attempt. Feed {@link #onEvent} the payload of each upstream {@code data:} line;
 * it appends at most one complete frame ({@code data: {...}\n\n}) to the caller's buffer, so each upstream event
 * becomes one chunk and can be flushed at once. At the end of the upstream stream call {@link #finish}: it appends
 * the missing finish reasons, the usage chunk when {@code stream_options.include_usage} was set, and
 * {@code data: [DONE]}. After an upstream failure once bytes went out, append {@link #error} and close.
 *
 * <p>Chunks: every chunk has the same {@code id} ({@code chatcmpl-} + the first event's {@code responseId}, else
 * random), {@code created} (the injected clock, at construction), {@code model} (the name the client sent) and, with
 * include_usage, {@code "usage": null}. The first delta of a choice carries {@code role: "assistant"}. Text parts
 * become {@code delta.content}, thought parts {@code delta.reasoning_content} (only when reasoning was asked for),
 * each {@code functionCall} part one {@code delta.tool_calls[]} entry with its own {@code index} (counted per choice,
 * so parallel calls of one function stay apart), {@code id} (carrying the thought signature), {@code type},
 * {@code function.name}, the whole {@code function.arguments}, and {@code extra_content.google.thought_signature}.
 * A finish reason goes on the chunk of the event that carried it ({@code tool_calls} once the choice made a call, so
 * Gemini 3's trailing empty STOP event after a function call still ends in {@code tool_calls}). A blocked prompt
 * gives choice 0 an empty content and {@code content_filter}.
 *
 * <p>Retry before the first byte: events that carry nothing to show (empty text, usage only, thoughts not asked for)
 * write nothing, and a plain {@code stop} of a choice that showed nothing is held back until {@link #finish}. So
 * {@link #sawContent()} stays false for an empty answer, and the server can still retry it on another key. An error
 * event before any content writes nothing either: {@link #upstreamError()} tells the server what happened.
 *
 * <p>Garbage: the event is read into buffers reused for the whole stream; the constant head of every chunk
 * ({@code data: {"id":...,"choices":[}) is encoded once; text is written from the reused builders without
 * intermediate strings. Not thread-safe: use it on the connection's event loop.
 */
public final class ChatStreamTranslator {
    private static final byte[] KEEP_ALIVE = ": keep-alive\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TAIL = "]}\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TAIL_WITH_USAGE = "],\"usage\":null}\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CHOICES = ",\"choices\":[".getBytes(StandardCharsets.US_ASCII);
    private static final SerializableString COMMA = new SerializedString(",");

    private final TranslatedChatRequest request;
    private final ThoughtSignatures signatures;
    private final long created;
    private final GeminiResponse event = new GeminiResponse();
    private final GeminiResponse lastUsage = new GeminiResponse();
    private final ByteBufSink sink = new ByteBufSink();

    /** Per choice (by Gemini candidate index). */
    private boolean[] roleSent = new boolean[1];
    private boolean[] finished = new boolean[1];
    private boolean[] sawToolCall = new boolean[1];
    private int[] toolCalls = new int[1];
    /** A held-back finish reason of a choice that showed nothing yet. */
    private String[] heldFinish = new String[1];
    private int choices;

    private String id;
    /** {@code data: {"id":..,"object":..,"created":..,"model":..,"choices":[}, encoded once. */
    private byte[] head;
    private char[] scratch = new char[256];
    private boolean wrote;
    private boolean done;
    private OpenAiError upstreamError;

    /**
     * @param request    the translated request (model name to echo, reasoning, include_usage, n)
     * @param signatures where tool calls' thought signatures go
     * @param clock      source of {@code created}
     */
    public ChatStreamTranslator(TranslatedChatRequest request, ThoughtSignatures signatures, Clock clock) {
        this.request = Objects.requireNonNull(request, "request");
        this.signatures = Objects.requireNonNull(signatures, "signatures");
        this.created = clock.millis() / 1000;
    }

    /**
     * Translates one upstream event.
     *
     * @param data the JSON payload of one {@code data:} line; not released, indices unchanged
     * @param out  where the frame goes, if any; the caller keeps ownership
     * @return true if a frame was appended
     * @throws UpstreamFormatException when the payload is not Gemini JSON (nothing is appended)
     */
    public boolean onEvent(ByteBuf data, ByteBuf out) {
        if (done) {
            return false;
        }
        try {
            return onEvent(Json.parser(data), sink.target(out));
        } finally {
            sink.target(null); // hold no reference to the caller's buffer between calls
        }
    }

    /** As {@link #onEvent(ByteBuf, ByteBuf)} for {@code len} bytes of {@code data} from {@code off}. */
    public boolean onEvent(byte[] data, int off, int len, ByteBuf out) {
        if (done) {
            return false;
        }
        try {
            return onEvent(Json.parser(data, off, len), sink.target(out));
        } finally {
            sink.target(null);
        }
    }

    /** As {@link #onEvent(ByteBuf, ByteBuf)}, returning the frame (empty when none). */
    public byte[] onEvent(byte[] data) {
        if (done) {
            return new byte[0];
        }
        ByteArrayBuilder out = new ByteArrayBuilder(256);
        onEvent(Json.parser(data, 0, data.length), out);
        return out.toByteArray();
    }

    /**
     * Ends the stream: a finish chunk for every choice still open, the usage chunk when include_usage was asked for,
     * then {@code data: [DONE]}. Does nothing after {@link #error} or a second time.
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
        ByteArrayBuilder out = new ByteArrayBuilder(256);
        finish((OutputStream) out);
        return out.toByteArray();
    }

    /**
     * Ends the stream with an OpenAI error event ({@code server_error}); no {@code [DONE]} follows, close after it.
     *
     * @param out the caller keeps ownership
     */
    public void error(String message, ByteBuf out) {
        error(OpenAiErrors.serverError(502, message), out);
    }

    /** Ends the stream with the given error as an SSE event. */
    public void error(OpenAiError error, ByteBuf out) {
        if (!done) {
            done = true;
            try {
                error.writeSse(sink.target(out));
            } finally {
                sink.target(null);
            }
        }
    }

    /** As {@link #error(String, ByteBuf)}, returning the frame. */
    public byte[] error(String message) {
        if (done) {
            return new byte[0];
        }
        done = true;
        return OpenAiErrors.serverError(502, message).toSseFrame();
    }

    /**
     * Appends an SSE comment frame ({@code : keep-alive\n\n}) that clients ignore: the server may send it while it
     * waits for the upstream, so that proxies and clients do not time out. It does not count as content: a request
     * that only had keep-alives sent may still be retried on another key.
     *
     * @param out the caller keeps ownership
     */
    public static void writeKeepAlive(ByteBuf out) {
        out.writeBytes(KEEP_ALIVE);
    }

    /** True once a frame went to the client: from then on the request can no longer be retried on another key. */
    public boolean sawContent() {
        return wrote;
    }

    /** The error of an upstream error event, or null. */
    public OpenAiError upstreamError() {
        return upstreamError;
    }

    /** True after {@link #finish} or an error frame: nothing more will be written. */
    public boolean isDone() {
        return done;
    }

    /** The last upstream token counts seen. */
    public Usage usage() {
        return lastUsage.usage();
    }

    /** The {@code chatcmpl-} id, or null before the first event. */
    public String id() {
        return id;
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
        if (id == null) {
            id = event.responseId != null && !event.responseId.isEmpty() ? "chatcmpl-" + event.responseId
                    : Ids.completionId();
        }
        try {
            if (event.error != null) {
                upstreamError = OpenAiErrors.fromGemini(0, event.error);
                done = true;
                if (wrote) {
                    upstreamError.writeSse(out);
                    return true;
                }
                return false;
            }
            return writeEvent(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private boolean writeEvent(OutputStream out) throws IOException {
        JsonGenerator g = null;
        try {
            if (event.size() == 0 && event.blockReason != null) {
                ensure(0);
                if (!finished[0]) {
                    g = open(out);
                    g.writeStartObject();
                    g.writeNumberField("index", 0);
                    g.writeObjectFieldStart("delta");
                    if (!roleSent[0]) {
                        g.writeStringField("role", "assistant");
                        roleSent[0] = true;
                    }
                    g.writeStringField("content", "");
                    g.writeEndObject();
                    g.writeNullField("logprobs");
                    g.writeStringField("finish_reason", "content_filter");
                    g.writeEndObject();
                    finished[0] = true;
                }
            }
            for (int i = 0; i < event.size(); i++) {
                GeminiResponse.Candidate c = event.candidate(i);
                if (c.index < 0 || c.index > 64) {
                    continue;
                }
                ensure(c.index);
                int k = c.index;
                if (finished[k]) {
                    continue;
                }
                boolean text = c.text.length() > 0;
                boolean thought = request.reasoning() && c.thought.length() > 0;
                boolean calls = !c.calls.isEmpty();
                String finish = null;
                if (c.finishReason != null) {
                    finish = GeminiResponse.finishReason(c.finishReason, sawToolCall[k] || calls);
                    if (finish.equals("stop") && !roleSent[k] && !text && !thought && !calls) {
                        heldFinish[k] = finish; // maybe an empty answer: let the server retry it
                        continue;
                    }
                }
                if (!text && !thought && !calls && finish == null) {
                    continue;
                }
                if (g == null) {
                    g = open(out);
                }
                g.writeStartObject();
                g.writeNumberField("index", k);
                g.writeObjectFieldStart("delta");
                if (!roleSent[k]) {
                    g.writeStringField("role", "assistant");
                    roleSent[k] = true;
                    if (!text) {
                        if (calls) {
                            g.writeNullField("content");
                        } else {
                            g.writeStringField("content", "");
                        }
                    }
                }
                if (thought) {
                    g.writeFieldName("reasoning_content");
                    writeString(g, c.thought);
                }
                if (text) {
                    g.writeFieldName("content");
                    writeString(g, c.text);
                }
                if (calls) {
                    g.writeArrayFieldStart("tool_calls");
                    for (GeminiResponse.Call call : c.calls) {
                        ChatResponseTranslator.writeToolCall(g, signatures, call, toolCalls[k]++);
                    }
                    g.writeEndArray();
                    sawToolCall[k] = true;
                }
                g.writeEndObject();
                g.writeNullField("logprobs");
                if (finish != null) {
                    g.writeStringField("finish_reason", finish);
                    finished[k] = true;
                    heldFinish[k] = null;
                } else {
                    g.writeNullField("finish_reason");
                }
                g.writeEndObject();
            }
        } finally {
            if (g != null) {
                close(g, out);
            }
        }
        return g != null;
    }

    private void finish(OutputStream out) {
        if (done) {
            return;
        }
        done = true;
        if (id == null) {
            id = Ids.completionId();
        }
        try {
            if (choices == 0) {
                ensure(request.n() - 1);
            }
            JsonGenerator g = null;
            for (int k = 0; k < choices; k++) {
                if (finished[k]) {
                    continue;
                }
                if (g == null) {
                    g = open(out);
                }
                g.writeStartObject();
                g.writeNumberField("index", k);
                g.writeObjectFieldStart("delta");
                if (!roleSent[k]) {
                    g.writeStringField("role", "assistant");
                    g.writeStringField("content", "");
                    roleSent[k] = true;
                }
                g.writeEndObject();
                g.writeNullField("logprobs");
                String finish = heldFinish[k] != null ? heldFinish[k] : sawToolCall[k] ? "tool_calls" : "stop";
                g.writeStringField("finish_reason", finish);
                g.writeEndObject();
                finished[k] = true;
            }
            if (g != null) {
                close(g, out);
            }
            if (request.includeUsage()) {
                out.write(DATA);
                try (JsonGenerator u = Json.generator(out)) {
                    u.writeStartObject();
                    u.writeStringField("id", id);
                    u.writeStringField("object", "chat.completion.chunk");
                    u.writeNumberField("created", created);
                    u.writeStringField("model", request.requestedModel());
                    u.writeArrayFieldStart("choices");
                    u.writeEndArray();
                    ChatResponseTranslator.writeUsage(u, lastUsage);
                    u.writeEndObject();
                }
                out.write(END);
            }
            out.write(DONE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts a frame: the encoded head, then a generator writing the choices as comma-separated root values. */
    private JsonGenerator open(OutputStream out) throws IOException {
        if (head == null) {
            // {"id":..,"object":..,"created":..,"model":..} with its '}' replaced by ,"choices":[
            ByteArrayBuilder b = new ByteArrayBuilder(128);
            b.write(DATA);
            try (JsonGenerator h = Json.generator(b)) {
                h.writeStartObject();
                h.writeStringField("id", id);
                h.writeStringField("object", "chat.completion.chunk");
                h.writeNumberField("created", created);
                h.writeStringField("model", request.requestedModel());
                h.writeEndObject();
            }
            byte[] object = b.toByteArray();
            head = Arrays.copyOf(object, object.length - 1 + CHOICES.length);
            System.arraycopy(CHOICES, 0, head, object.length - 1, CHOICES.length);
        }
        out.write(head);
        JsonGenerator g = Json.generator(out);
        g.setRootValueSeparator(COMMA);
        return g;
    }

    private void close(JsonGenerator g, OutputStream out) throws IOException {
        g.close();
        out.write(request.includeUsage() ? TAIL_WITH_USAGE : TAIL);
        wrote = true;
    }

    private void writeString(JsonGenerator g, StringBuilder sb) throws IOException {
        int n = sb.length();
        if (scratch.length < n) {
            scratch = new char[Math.max(n, scratch.length * 2)];
        }
        sb.getChars(0, n, scratch, 0);
        g.writeString(scratch, 0, n);
    }

    /** Grows the per-choice state to hold index {@code k}. */
    private void ensure(int k) {
        if (k >= roleSent.length) {
            int size = Math.max(k + 1, roleSent.length * 2);
            roleSent = Arrays.copyOf(roleSent, size);
            finished = Arrays.copyOf(finished, size);
            sawToolCall = Arrays.copyOf(sawToolCall, size);
            toolCalls = Arrays.copyOf(toolCalls, size);
            heldFinish = Arrays.copyOf(heldFinish, size);
        }
        choices = Math.max(choices, k + 1);
    }
}
