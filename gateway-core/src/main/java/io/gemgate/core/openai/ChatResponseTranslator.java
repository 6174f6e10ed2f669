package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.gemgate.core.json.Usage;
import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.Objects;

/**
 * Translates a Gemini {@code generateContent} answer into an OpenAI {@code chat.completion} (OpenAI API reference:
 * The chat completion object).
 *
 * <ul>
 *   <li>{@code id}: {@code chatcmpl-} + {@code responseId}, or a random one; {@code created}: the injected clock;
 *       {@code model}: the model name the client sent.</li>
 *   <li>One choice per candidate, ordered by index: {@code message.content} is the candidate's non-thought text parts
 *       joined ({@code null} when it made only tool calls, {@code ""} when it made nothing); images Gemini returns
 *       inline become markdown images with a data URL; {@code message.reasoning_content} holds the thought parts, only
 *       when the request asked for reasoning; {@code message.tool_calls} one entry per {@code functionCall} part, with
 *       a new id that carries the part's thought signature ({@link ThoughtSignatures}), {@code arguments} the
 *       compact JSON of {@code args}, and {@code extra_content.google.thought_signature}.</li>
 *   <li>{@code finish_reason}: STOP with a call → {@code tool_calls}; STOP → {@code stop}; MAX_TOKENS →
 *       {@code length}; SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII and the image variants →
 *       {@code content_filter}; anything else or none → {@code stop} ({@code tool_calls} if a call was made).</li>
 *   <li>A blocked prompt ({@code promptFeedback.blockReason}, no candidate) → one choice, content {@code ""},
 *       {@code content_filter}: a 200, as OpenAI answers filtered prompts, not an error.</li>
 *   <li>{@code usage}: prompt = promptTokenCount + toolUsePromptTokenCount; completion = candidatesTokenCount +
 *       thoughtsTokenCount; total = their sum; {@code completion_tokens_details.reasoning_tokens} =
 *       thoughtsTokenCount; {@code prompt_tokens_details.cached_tokens} = cachedContentTokenCount, plus
 *       {@code audio_tokens}/{@code image_tokens} from promptTokensDetails when present.</li>
 * </ul>
 *
 * <p>Thread-safe: state lives in each call.
 */
public final class ChatResponseTranslator {
    private final ThoughtSignatures signatures;
    private final Clock clock;

    /**
     * @param signatures where the thought signatures of tool calls go
     * @param clock      source of {@code created}
     */
    public ChatResponseTranslator(ThoughtSignatures signatures, Clock clock) {
        this.signatures = Objects.requireNonNull(signatures, "signatures");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * A translated answer.
     *
     * @param json  the {@code chat.completion} body, or the error body when {@code error} is set
     * @param empty the answer is empty (no candidate, no text, no call, not blocked): the server may retry it on
     *              another key before answering
     * @param usage the upstream token counts, for accounting
     * @param error set when Gemini answered 200 with an {@code error} object and nothing else
     */
    public record Completion(byte[] json, boolean empty, Usage usage, OpenAiError error) {
    }

    /**
     * Translates a whole answer.
     *
     * @throws UpstreamFormatException when the body is not Gemini JSON
     */
    public Completion translate(TranslatedChatRequest request, byte[] body) {
        return translate(request, Json.parser(body, 0, body.length), body.length);
    }

    /**
     * Translates a whole answer.
     *
     * @param body not released, indices unchanged
     * @throws UpstreamFormatException when the body is not Gemini JSON
     */
    public Completion translate(TranslatedChatRequest request, ByteBuf body) {
        return translate(request, Json.parser(body), body.readableBytes());
    }

    /** True when the answer has no candidate, no text and no call and is not a blocked prompt (see {@link Completion}). */
    public static boolean isEmpty(byte[] body) {
        return read(Json.parser(body, 0, body.length)).isEmpty();
    }

    /** As {@link #isEmpty(byte[])}; {@code body} is not released and its indices do not move. */
    public static boolean isEmpty(ByteBuf body) {
        return read(Json.parser(body)).isEmpty();
    }

    static GeminiResponse read(JsonParser p) {
        return read(p, new GeminiResponse());
    }

    /** Reads one document into {@code r}, adding to what it holds; closes {@code p}. */
    private static GeminiResponse read(JsonParser p, GeminiResponse r) {
        try (p) {
            r.read(p);
        } catch (IOException e) {
            throw new UpstreamFormatException("Gemini answer is not valid JSON: " + e.getMessage(), e);
        }
        return r;
    }

    /**
     * Collects the events of a streamed answer ({@code streamGenerateContent?alt=sse}) into one, for a client that
     * asked for a whole answer while the gateway streams upstream (stream mode {@code always}): per candidate the
     * text, thoughts and calls of every event in order, the last finish reason, the last usage. Translate it with
     * {@link #translate(TranslatedChatRequest, Collector)} at the end of the stream. Not thread-safe: one per
     * attempt, on the connection's event loop.
     */
    public static final class Collector {
        private final GeminiResponse answer = new GeminiResponse();
        private int bytes;

        /**
         * Adds one event.
         *
         * @param data the JSON payload of one {@code data:} line; not released, indices unchanged
         * @throws UpstreamFormatException when the payload is not Gemini JSON
         */
        public void add(ByteBuf data) {
            bytes += data.readableBytes();
            read(Json.parser(data), answer);
        }

        /** True once an event was Gemini's error event: the answer is broken, whatever came before it. */
        public boolean sawError() {
            return answer.error != null;
        }
    }

    /** Translates the collected events as one whole answer (see {@link Collector}). */
    public Completion translate(TranslatedChatRequest request, Collector collected) {
        return translate(request, collected.answer, collected.bytes);
    }

    private Completion translate(TranslatedChatRequest request, JsonParser p, int sizeHint) {
        return translate(request, read(p), sizeHint);
    }

    private Completion translate(TranslatedChatRequest request, GeminiResponse r, int sizeHint) {
        if (r.error != null && r.size() == 0) {
            OpenAiError error = OpenAiErrors.fromGemini(0, r.error);
            return new Completion(error.toJson(), false, r.usage(), error);
        }
        ByteArrayBuilder out = new ByteArrayBuilder(Math.max(512, Math.min(sizeHint + 512, 1 << 20)));
        try (JsonGenerator g = Json.generator(out)) {
            write(g, request, r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Completion(out.toByteArray(), r.isEmpty(), r.usage(), null);
    }

    private void write(JsonGenerator g, TranslatedChatRequest request, GeminiResponse r) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", r.responseId != null && !r.responseId.isEmpty() ? "chatcmpl-" + r.responseId
                : Ids.completionId());
        g.writeStringField("object", "chat.completion");
        g.writeNumberField("created", clock.millis() / 1000);
        g.writeStringField("model", request.requestedModel());
        g.writeArrayFieldStart("choices");
        if (r.size() == 0) {
            g.writeStartObject();
            g.writeNumberField("index", 0);
            g.writeObjectFieldStart("message");
            g.writeStringField("role", "assistant");
            g.writeStringField("content", "");
            g.writeNullField("refusal");
            g.writeEndObject();
            g.writeNullField("logprobs");
            g.writeStringField("finish_reason", r.blockReason != null ? "content_filter" : "stop");
            g.writeEndObject();
        } else {
            for (int k : byIndex(r)) {
                writeChoice(g, request, r.candidate(k));
            }
        }
        g.writeEndArray();
        writeUsage(g, r);
        g.writeEndObject();
    }

    private void writeChoice(JsonGenerator g, TranslatedChatRequest request, GeminiResponse.Candidate c)
            throws IOException {
        g.writeStartObject();
        g.writeNumberField("index", c.index);
        g.writeObjectFieldStart("message");
        g.writeStringField("role", "assistant");
        if (c.text.length() > 0) {
            g.writeStringField("content", c.text.toString());
        } else if (!c.calls.isEmpty()) {
            g.writeNullField("content");
        } else {
            g.writeStringField("content", "");
        }
        if (request.reasoning() && c.thought.length() > 0) {
            g.writeStringField("reasoning_content", c.thought.toString());
        }
        if (!c.calls.isEmpty()) {
            g.writeArrayFieldStart("tool_calls");
            for (GeminiResponse.Call call : c.calls) {
                writeToolCall(g, signatures, call, -1);
            }
            g.writeEndArray();
        }
        g.writeNullField("refusal");
        g.writeEndObject();
        g.writeNullField("logprobs");
        g.writeStringField("finish_reason", GeminiResponse.finishReason(c.finishReason, !c.calls.isEmpty()));
        g.writeEndObject();
    }

    /**
     * {@code {"index"?,"id","type":"function","function":{"name","arguments"},"extra_content"?}}.
     *
     * @param index the stream delta index, or -1 for a complete message
     */
    static void writeToolCall(JsonGenerator g, ThoughtSignatures signatures, GeminiResponse.Call call, int index)
            throws IOException {
        g.writeStartObject();
        if (index >= 0) {
            g.writeNumberField("index", index);
        }
        g.writeStringField("id", signatures.newToolCallId(call.signature()));
        g.writeStringField("type", "function");
        g.writeObjectFieldStart("function");
        g.writeStringField("name", call.name());
        g.writeStringField("arguments", call.args());
        g.writeEndObject();
        if (call.signature() != null) {
            g.writeObjectFieldStart("extra_content");
            g.writeObjectFieldStart("google");
            g.writeStringField("thought_signature", call.signature());
            g.writeEndObject();
            g.writeEndObject();
        }
        g.writeEndObject();
    }

    /** {@code "usage": {...}}, from Gemini's usageMetadata (see {@link GeminiResponse#openAiPromptTokens}). */
    static void writeUsage(JsonGenerator g, GeminiResponse r) throws IOException {
        long prompt = r.openAiPromptTokens();
        long completion = r.openAiCompletionTokens();
        g.writeObjectFieldStart("usage");
        g.writeNumberField("prompt_tokens", prompt);
        g.writeNumberField("completion_tokens", completion);
        g.writeNumberField("total_tokens", prompt + completion);
        g.writeObjectFieldStart("prompt_tokens_details");
        g.writeNumberField("cached_tokens", r.cachedTokens);
        if (r.audioPromptTokens > 0) {
            g.writeNumberField("audio_tokens", r.audioPromptTokens);
        }
        if (r.imagePromptTokens > 0) {
            g.writeNumberField("image_tokens", r.imagePromptTokens);
        }
        g.writeEndObject();
        g.writeObjectFieldStart("completion_tokens_details");
        g.writeNumberField("reasoning_tokens", r.thoughtsTokens);
        g.writeEndObject();
        g.writeEndObject();
    }

    /** Candidate positions ordered by Gemini index (n is at most 4: insertion sort). */
    private static int[] byIndex(GeminiResponse r) {
        int[] order = new int[r.size()];
        for (int i = 0; i < order.length; i++) {
            int j = i;
            while (j > 0 && r.candidate(order[j - 1]).index > r.candidate(i).index) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = i;
        }
        return order;
    }
}
