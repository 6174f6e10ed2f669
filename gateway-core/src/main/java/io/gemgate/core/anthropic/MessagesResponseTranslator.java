package io.gemgate.core.anthropic;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.gemgate.core.json.Usage;
import io.gemgate.core.openai.ThoughtSignatures;
import io.gemgate.core.openai.TranslationParts;
import io.gemgate.core.openai.UpstreamFormatException;
import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Objects;

/**
 * Translates a whole Gemini {@code generateContent} answer into an Anthropic message object (Anthropic's API
 * reference, "Messages": the response), and a {@code countTokens} answer into {@code {"input_tokens": N}}.
 *
 * <ul>
 *   <li>{@code id}: {@code msg_} + Gemini's {@code responseId} (else random); {@code model}: the name the client
 *       sent; {@code type: message}, {@code role: assistant}.</li>
 *   <li>{@code content}, in the order of the parts of candidate 0: consecutive thought parts → one {@code thinking}
 *       block (only when thinking was enabled) whose {@code signature} carries Gemini's thought signature (of the
 *       thought parts, else of the part right after them) in {@link ThoughtSignatures}' id form, so that a client
 *       sending the block back sends the signature back; consecutive text parts → one {@code text} block; each
 *       {@code functionCall} → a {@code tool_use} block ({@code id} carrying the call's signature, {@code input} its
 *       {@code args}); an inline image → a text block with a markdown data URL.</li>
 *   <li>{@code stop_reason}: STOP → {@code end_turn} ({@code tool_use} once a call was made); MAX_TOKENS →
 *       {@code max_tokens}; SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII and the image variants, or a
 *       blocked prompt → {@code refusal}. {@code stop_sequence} is always null: Gemini's STOP does not say whether a
 *       stop sequence ended the answer.</li>
 *   <li>{@code usage}: {@code input_tokens} = promptTokenCount + toolUsePromptTokenCount − cachedContentTokenCount,
 *       {@code cache_read_input_tokens} = cachedContentTokenCount, {@code cache_creation_input_tokens} = 0,
 *       {@code output_tokens} = candidatesTokenCount + thoughtsTokenCount.</li>
 * </ul>
 *
 * <p>Thread-safe: state lives in each call.
 */
public final class MessagesResponseTranslator {
    private final ThoughtSignatures signatures;

    /** @param signatures where the thought signatures of answers go (the same instance as the request translator's) */
    public MessagesResponseTranslator(ThoughtSignatures signatures) {
        this.signatures = Objects.requireNonNull(signatures, "signatures");
    }

    /**
     * A translated answer.
     *
     * @param json  the message body, or null when {@code error} is set
     * @param empty nothing to show (no text, no call, not refused, not cut at max tokens): the server may try the
     *              next key before answering
     * @param usage the upstream token counts, for accounting
     * @param error set when Gemini answered 200 with an {@code error} object and nothing else
     */
    public record Message(byte[] json, boolean empty, Usage usage, AnthropicError error) {
    }

    /**
     * Translates a whole answer.
     *
     * @param body not released, indices unchanged
     * @throws UpstreamFormatException when the body is not Gemini JSON
     */
    public Message translate(TranslatedMessagesRequest request, ByteBuf body) {
        return translate(request, TranslationParts.parser(body), body.readableBytes());
    }

    /** As {@link #translate(TranslatedMessagesRequest, ByteBuf)}. */
    public Message translate(TranslatedMessagesRequest request, byte[] body) {
        return translate(request, TranslationParts.parser(body, 0, body.length), body.length);
    }

    private Message translate(TranslatedMessagesRequest request, JsonParser parser, int sizeHint) {
        GeminiTurn turn = read(parser);
        if (turn.error != null && turn.parts.isEmpty()) {
            return new Message(null, false, turn.usage(), AnthropicError.of(TranslationParts.geminiError(0,
                    turn.error)));
        }
        ByteArrayBuilder out = new ByteArrayBuilder(Math.max(256, Math.min(sizeHint + 256, 1 << 20)));
        boolean shown;
        try (JsonGenerator g = TranslationParts.generator(out)) {
            shown = write(g, request, turn);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        boolean empty = !shown && turn.blockReason == null && !GeminiTurn.isFinal(turn.finishReason);
        return new Message(out.toByteArray(), empty, turn.usage(), null);
    }

    static GeminiTurn read(JsonParser parser) {
        GeminiTurn turn = new GeminiTurn();
        try (JsonParser p = parser) {
            turn.read(p);
        } catch (IOException e) {
            throw new UpstreamFormatException("Gemini answer is not valid JSON: " + e.getMessage(), e);
        }
        return turn;
    }

    /** @return whether a text, tool use or image block was written */
    private boolean write(JsonGenerator g, TranslatedMessagesRequest request, GeminiTurn turn) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", Blocks.messageId(turn.responseId));
        g.writeStringField("type", "message");
        g.writeStringField("role", "assistant");
        g.writeStringField("model", request.requestedModel());
        g.writeArrayFieldStart("content");
        boolean shown = false;
        boolean toolUse = false;
        List<GeminiTurn.Part> parts = turn.parts;
        for (int i = 0; i < parts.size(); ) {
            GeminiTurn.Part part = parts.get(i);
            switch (part.kind()) {
                case THOUGHT -> {
                    StringBuilder text = new StringBuilder();
                    String signature = null;
                    int j = i;
                    for (; j < parts.size() && parts.get(j).kind() == GeminiTurn.Kind.THOUGHT; j++) {
                        text.append(parts.get(j).text());
                        signature = signature == null ? parts.get(j).signature() : signature;
                    }
                    if (signature == null && j < parts.size()) {
                        signature = parts.get(j).signature();
                    }
                    if (request.thinking()) {
                        g.writeStartObject();
                        g.writeStringField("type", "thinking");
                        g.writeStringField("thinking", text.toString());
                        g.writeStringField("signature", signature == null ? "" : signatures.newToolCallId(signature));
                        g.writeEndObject();
                    }
                    i = j;
                }
                case TEXT, IMAGE -> {
                    StringBuilder text = new StringBuilder();
                    int j = i;
                    for (; j < parts.size() && (parts.get(j).kind() == GeminiTurn.Kind.TEXT
                            || parts.get(j).kind() == GeminiTurn.Kind.IMAGE); j++) {
                        GeminiTurn.Part t = parts.get(j);
                        text.append(t.kind() == GeminiTurn.Kind.TEXT ? t.text() : Blocks.imageText(t.args(), t.text()));
                    }
                    g.writeStartObject();
                    g.writeStringField("type", "text");
                    g.writeStringField("text", text.toString());
                    g.writeEndObject();
                    shown = true;
                    i = j;
                }
                case CALL -> {
                    g.writeStartObject();
                    g.writeStringField("type", "tool_use");
                    g.writeStringField("id", signatures.newToolCallId(part.signature()));
                    g.writeStringField("name", part.text());
                    g.writeFieldName("input");
                    g.writeRawValue(part.args());
                    g.writeEndObject();
                    shown = true;
                    toolUse = true;
                    i++;
                }
                default -> i++;
            }
        }
        g.writeEndArray();
        String stop = turn.blockReason != null && parts.isEmpty() ? "refusal"
                : GeminiTurn.stopReason(turn.finishReason, toolUse);
        g.writeStringField("stop_reason", stop);
        g.writeNullField("stop_sequence");
        writeUsage(g, turn);
        g.writeEndObject();
        return shown;
    }

    /** {@code "usage": {...}} from Gemini's usageMetadata (see the class comment). */
    static void writeUsage(JsonGenerator g, GeminiTurn turn) throws IOException {
        g.writeObjectFieldStart("usage");
        g.writeNumberField("input_tokens", turn.inputTokens());
        g.writeNumberField("cache_creation_input_tokens", 0);
        g.writeNumberField("cache_read_input_tokens", turn.cachedTokens);
        g.writeNumberField("output_tokens", turn.outputTokens());
        g.writeStringField("service_tier", "standard");
        g.writeEndObject();
    }

    /**
     * {@code {"input_tokens": N}} from a Gemini {@code countTokens} answer ({@code totalTokens}, 0 when absent).
     *
     * @param body not released, indices unchanged
     * @throws UpstreamFormatException when the body is not a countTokens answer
     */
    public static byte[] countTokens(ByteBuf body) {
        long total = -1;
        try (JsonParser p = TranslationParts.parser(body)) {
            if (p.nextToken() == com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                total = 0; // proto3 JSON leaves out a zero count
                while (TranslationParts.next(p) != com.fasterxml.jackson.core.JsonToken.END_OBJECT) {
                    String f = p.currentName();
                    com.fasterxml.jackson.core.JsonToken t = TranslationParts.next(p);
                    if (f.equals("totalTokens") && t == com.fasterxml.jackson.core.JsonToken.VALUE_NUMBER_INT) {
                        total = p.getLongValue();
                    } else if (t.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        } catch (IOException e) {
            throw new UpstreamFormatException("Gemini countTokens answer is not valid JSON: " + e.getMessage(), e);
        }
        if (total < 0) {
            throw new UpstreamFormatException("Gemini countTokens answer is not a JSON object", null);
        }
        return ("{\"input_tokens\":" + total + "}").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }
}
