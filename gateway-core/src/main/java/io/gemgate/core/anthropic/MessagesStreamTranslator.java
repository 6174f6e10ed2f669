package io.gemgate.core.anthropic;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.gemgate.core.json.Usage;
import io.gemgate.core.openai.ThoughtSignatures;
import io.gemgate.core.openai.TranslationParts;
import io.gemgate.core.openai.UpstreamFormatException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Translates one streamed Gemini answer ({@code streamGenerateContent?alt=sse}) into Anthropic's stream of server-sent
 * events (Anthropic's API docs, "Streaming Messages"), one upstream event at a time: {@code message_start} (with the
 * usage known so far) and a {@code ping}, then per block {@code content_block_start}, {@code content_block_delta}s
 * and {@code content_block_stop}, and at the end {@code message_delta} (stop reason and usage) and
 * {@code message_stop}. Each frame has its {@code event:} line, as Anthropic sends them.
 *
 * <p>Blocks follow the parts of candidate 0 in order, as in {@link MessagesResponseTranslator}: thought parts →
 * a {@code thinking} block ({@code thinking_delta}s, then a {@code signature_delta} carrying Gemini's thought
 * signature just before it stops; only when thinking was enabled); text parts → a {@code text} block
 * ({@code text_delta}s); each {@code functionCall} → a {@code tool_use} block with its whole {@code args} in one
 * {@code input_json_delta}. A block stays open while the next part is of the same kind.
 *
 * <p>Retry before the first byte: nothing is written until an event brings something to show, so
 * {@link #sawContent()} stays false for an empty answer or an error event, and the server can still try the next key
 * ({@link #hasAnswer()} says whether the end of such a stream is an answer all the same: a refusal or max tokens).
 * After content, an upstream error event is written as Anthropic's {@code error} event.
 *
 * <p>Not thread-safe: one instance per attempt, on the connection's event loop.
 */
public final class MessagesStreamTranslator {
    private static final byte[] KEEP_ALIVE = ": keep-alive\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] PING = "event: ping\ndata: {\"type\":\"ping\"}\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] STOP = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
            .getBytes(StandardCharsets.US_ASCII);
    private static final byte[] MESSAGE_START = head("message_start");
    private static final byte[] MESSAGE_DELTA = head("message_delta");
    private static final byte[] BLOCK_START = head("content_block_start");
    private static final byte[] BLOCK_DELTA = head("content_block_delta");
    private static final byte[] BLOCK_STOP = head("content_block_stop");
    private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);

    private enum Open { NONE, THINKING, TEXT }

    private final TranslatedMessagesRequest request;
    private final ThoughtSignatures signatures;
    private final GeminiTurn turn = new GeminiTurn();

    private String id;
    private boolean started;
    private boolean done;
    private Open open = Open.NONE;
    private int index = -1;
    /** Gemini's signature for the open thinking block, or null. */
    private String thinkingSignature;
    private boolean sawToolUse;
    private String finishReason;
    private boolean blocked;
    private AnthropicError upstreamError;

    /**
     * @param request    the translated request (model name to echo, thinking)
     * @param signatures where signatures go (the same instance as the request translator's)
     */
    public MessagesStreamTranslator(TranslatedMessagesRequest request, ThoughtSignatures signatures) {
        this.request = Objects.requireNonNull(request, "request");
        this.signatures = Objects.requireNonNull(signatures, "signatures");
    }

    /**
     * Translates one upstream event.
     *
     * @param data the JSON payload of one {@code data:} line; not released, indices unchanged
     * @param out  where the frames go; the caller keeps ownership
     * @return true if frames were appended
     * @throws UpstreamFormatException when the payload is not Gemini JSON (nothing is appended)
     */
    public boolean onEvent(ByteBuf data, ByteBuf out) {
        return !done && onEvent(TranslationParts.parser(data), new ByteBufOutputStream(out));
    }

    /** As {@link #onEvent(ByteBuf, ByteBuf)}, returning the frames (empty when none). */
    public byte[] onEvent(byte[] data) {
        ByteArrayBuilder out = new ByteArrayBuilder(256);
        if (!done) {
            onEvent(TranslationParts.parser(data, 0, data.length), out);
        }
        return out.toByteArray();
    }

    /**
     * Ends the stream: the open block's stop, {@code message_delta} with the stop reason and the last usage, and
     * {@code message_stop}. Does nothing after {@link #error} or a second time.
     *
     * @param out the caller keeps ownership
     */
    public void finish(ByteBuf out) {
        finish(new ByteBufOutputStream(out));
    }

    /** As {@link #finish(ByteBuf)}, returning the frames. */
    public byte[] finish() {
        ByteArrayBuilder out = new ByteArrayBuilder(256);
        finish(out);
        return out.toByteArray();
    }

    /** Ends the stream with Anthropic's {@code error} event; close after it. */
    public void error(AnthropicError error, ByteBuf out) {
        if (!done) {
            done = true;
            error.writeEvent(out);
        }
    }

    /** An SSE comment ({@code : keep-alive}) that clients ignore, for the wait before the first event. */
    public static void writeKeepAlive(ByteBuf out) {
        out.writeBytes(KEEP_ALIVE);
    }

    /** True once a frame went out: from then on the request can no longer be tried on another key. */
    public boolean sawContent() {
        return started;
    }

    /** True when the stream is worth answering: content went out, or the answer was refused or cut short. */
    public boolean hasAnswer() {
        return started || blocked || GeminiTurn.isFinal(finishReason);
    }

    /** The error of an upstream error event, or null. */
    public AnthropicError upstreamError() {
        return upstreamError;
    }

    /** The last upstream token counts seen. */
    public Usage usage() {
        return turn.usage();
    }

    private boolean onEvent(JsonParser parser, OutputStream out) {
        turn.reset();
        try (JsonParser p = parser) {
            turn.read(p);
        } catch (IOException e) {
            throw new UpstreamFormatException("Gemini stream event is not valid JSON: " + e.getMessage(), e);
        }
        if (id == null) {
            id = Blocks.messageId(turn.responseId);
        }
        boolean wasStarted = started;
        try {
            if (turn.error != null) {
                upstreamError = AnthropicError.of(TranslationParts.geminiError(0, turn.error));
                done = true;
                if (started) {
                    upstreamError.writeEvent(out);
                    return true;
                }
                return false;
            }
            boolean wrote = false;
            for (GeminiTurn.Part part : turn.parts) {
                wrote |= onPart(part, out);
            }
            if (turn.finishReason != null) {
                finishReason = turn.finishReason;
            }
            if (turn.blockReason != null) {
                blocked = true;
            }
            return wrote || started != wasStarted;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private boolean onPart(GeminiTurn.Part part, OutputStream out) throws IOException {
        switch (part.kind()) {
            case THOUGHT -> {
                if (!request.thinking()) {
                    return false;
                }
                if (open != Open.THINKING) {
                    closeOpen(null, out);
                    startBlock(out, Open.THINKING, null, null);
                }
                if (thinkingSignature == null) {
                    thinkingSignature = part.signature();
                }
                delta(out, "thinking_delta", "thinking", part.text());
                return true;
            }
            case TEXT, IMAGE -> {
                if (open != Open.TEXT) {
                    closeOpen(part.signature(), out);
                    startBlock(out, Open.TEXT, null, null);
                }
                delta(out, "text_delta", "text", part.kind() == GeminiTurn.Kind.TEXT ? part.text()
                        : Blocks.imageText(part.args(), part.text()));
                return true;
            }
            case CALL -> {
                closeOpen(part.signature(), out);
                startBlock(out, null, signatures.newToolCallId(part.signature()), part.text());
                JsonGenerator g = frame(out, BLOCK_DELTA);
                g.writeStringField("type", "content_block_delta");
                g.writeNumberField("index", index);
                g.writeObjectFieldStart("delta");
                g.writeStringField("type", "input_json_delta");
                g.writeStringField("partial_json", part.args());
                g.writeEndObject();
                endFrame(g, out);
                stopBlock(out);
                sawToolUse = true;
                return true;
            }
            case SIGNATURE -> {
                if (open == Open.THINKING && thinkingSignature == null) {
                    thinkingSignature = part.signature();
                }
                return false;
            }
            default -> {
                return false;
            }
        }
    }

    /** {@code message_start} and a {@code ping}, once, before the first block. */
    private void ensureStarted(OutputStream out) throws IOException {
        if (started) {
            return;
        }
        started = true;
        if (id == null) {
            id = Blocks.messageId(null);
        }
        JsonGenerator g = frame(out, MESSAGE_START);
        g.writeStringField("type", "message_start");
        g.writeObjectFieldStart("message");
        g.writeStringField("id", id);
        g.writeStringField("type", "message");
        g.writeStringField("role", "assistant");
        g.writeStringField("model", request.requestedModel());
        g.writeArrayFieldStart("content");
        g.writeEndArray();
        g.writeNullField("stop_reason");
        g.writeNullField("stop_sequence");
        MessagesResponseTranslator.writeUsage(g, turn);
        g.writeEndObject();
        endFrame(g, out);
        out.write(PING);
    }

    /**
     * Starts a block: {@code kind} THINKING or TEXT, or (kind null) a {@code tool_use} with {@code toolId} and
     * {@code toolName}.
     */
    private void startBlock(OutputStream out, Open kind, String toolId, String toolName) throws IOException {
        ensureStarted(out);
        index++;
        JsonGenerator g = frame(out, BLOCK_START);
        g.writeStringField("type", "content_block_start");
        g.writeNumberField("index", index);
        g.writeObjectFieldStart("content_block");
        if (kind == Open.THINKING) {
            g.writeStringField("type", "thinking");
            g.writeStringField("thinking", "");
            g.writeStringField("signature", "");
        } else if (kind == Open.TEXT) {
            g.writeStringField("type", "text");
            g.writeStringField("text", "");
        } else {
            g.writeStringField("type", "tool_use");
            g.writeStringField("id", toolId);
            g.writeStringField("name", toolName);
            g.writeObjectFieldStart("input");
            g.writeEndObject();
        }
        g.writeEndObject();
        endFrame(g, out);
        open = kind == null ? Open.NONE : kind;
    }

    private void delta(OutputStream out, String type, String field, String text) throws IOException {
        JsonGenerator g = frame(out, BLOCK_DELTA);
        g.writeStringField("type", "content_block_delta");
        g.writeNumberField("index", index);
        g.writeObjectFieldStart("delta");
        g.writeStringField("type", type);
        g.writeStringField(field, text);
        g.writeEndObject();
        endFrame(g, out);
    }

    /**
     * Closes the open block; a thinking block first gets its signature ({@code next}: the signature of the part
     * that follows it, used when its own thought parts carried none).
     */
    private void closeOpen(String next, OutputStream out) throws IOException {
        if (open == Open.NONE) {
            return;
        }
        if (open == Open.THINKING) {
            String s = thinkingSignature != null ? thinkingSignature : next;
            if (s != null) {
                JsonGenerator g = frame(out, BLOCK_DELTA);
                g.writeStringField("type", "content_block_delta");
                g.writeNumberField("index", index);
                g.writeObjectFieldStart("delta");
                g.writeStringField("type", "signature_delta");
                g.writeStringField("signature", signatures.newToolCallId(s));
                g.writeEndObject();
                endFrame(g, out);
            }
            thinkingSignature = null;
        }
        stopBlock(out);
    }

    private void stopBlock(OutputStream out) throws IOException {
        JsonGenerator g = frame(out, BLOCK_STOP);
        g.writeStringField("type", "content_block_stop");
        g.writeNumberField("index", index);
        endFrame(g, out);
        open = Open.NONE;
    }

    private void finish(OutputStream out) {
        if (done) {
            return;
        }
        done = true;
        try {
            ensureStarted(out);
            closeOpen(null, out);
            JsonGenerator g = frame(out, MESSAGE_DELTA);
            g.writeStringField("type", "message_delta");
            g.writeObjectFieldStart("delta");
            g.writeStringField("stop_reason", blocked && index < 0 ? "refusal"
                    : GeminiTurn.stopReason(finishReason, sawToolUse));
            g.writeNullField("stop_sequence");
            g.writeEndObject();
            MessagesResponseTranslator.writeUsage(g, turn);
            endFrame(g, out);
            out.write(STOP);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] head(String event) {
        return ("event: " + event + "\ndata: ").getBytes(StandardCharsets.US_ASCII);
    }

    /** Writes the frame's {@code event:} line and {@code data: }, and returns a generator with the object opened. */
    private static JsonGenerator frame(OutputStream out, byte[] head) throws IOException {
        out.write(head);
        JsonGenerator g = TranslationParts.generator(out);
        g.writeStartObject();
        return g;
    }

    private static void endFrame(JsonGenerator g, OutputStream out) throws IOException {
        g.writeEndObject();
        g.close();
        out.write(END);
    }
}
