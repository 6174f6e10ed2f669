package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import io.gemgate.core.settings.Thinking;
import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Objects;

/**
 * Translates an OpenAI {@code POST /v1/chat/completions} body (OpenAI's Chat Completions API reference, "Create chat
 * completion") into a Gemini {@code generateContent} body (Google's Gemini API reference,
 * {@code models.generateContent}), once per request, before any upstream call. The public entry point of the
 * translation, which is done by parts with one job each:
 * <ol>
 *   <li>{@link ChatRequestParser} reads the body once with Jackson's streaming parser into a {@link ChatRequest}
 *       (messages, parts, tools; opaque members that are rewritten or passed on whole become {@link JsonTree}
 *       values), with {@link ChatMedia} for content parts, {@link ChatTools} for tools and tool choice,
 *       {@link ThinkingPolicy} for {@code thinking_config} and {@link GenerationConfigWriter} for
 *       {@code response_format} and {@code stop}; typed reads and their 400s are {@link ParamReader}'s;</li>
 *   <li>{@link ModelResolver} resolves the model name (aliases, suffixes);</li>
 *   <li>{@link GeminiRequestWriter} writes the Gemini body with a streaming generator, with the same parts for their
 *       members. Large base64 payloads (data URLs, audio) are written from the parsed string without a further
 *       copy.</li>
 * </ol>
 * Each part's class comment lists its mapping choices.
 *
 * <p>Dropped: {@code user}, {@code metadata}, {@code store}, {@code logit_bias}, {@code logprobs},
 * {@code top_logprobs}, {@code service_tier}, {@code parallel_tool_calls}, {@code prediction}, {@code modalities},
 * {@code audio}, {@code safety_identifier}, {@code prompt_cache_key}, {@code web_search_options}, {@code verbosity},
 * assistant {@code reasoning_content}/{@code refusal}/{@code audio}, and any unknown member.
 *
 * <p>Refused with {@link OpenAiRequestException} (400, naming the param): a body that is not a JSON object, missing or
 * empty {@code messages}, a message without a known {@code role}, members of the wrong JSON type, user messages
 * without content, tool messages without {@code tool_call_id}, unsupported content part types or URL schemes,
 * non-base64 data URLs, unknown {@code reasoning_effort} or {@code tool_choice} values, non-function tools, and a
 * conversation with nothing but system messages.
 *
 * <p>Called by the server's OpenAI chat exchange on an event loop, once per request. Thread-safe and stateless apart
 * from the shared {@link ThoughtSignatures}.
 */
public final class ChatRequestTranslator {
    private final ModelResolver models;
    private final GeminiRequestWriter writer;

    /**
     * @param models                 model names, aliases and suffixes
     * @param signatures             where thought signatures are found again
     * @param defaultSafetyThreshold a threshold ({@code BLOCK_NONE}, {@code OFF}, ...) applied to the four standard
     *                               harm categories when a request brings no {@code safety_settings}; null for
     *                               Gemini's defaults
     * @throws IllegalArgumentException when the threshold is not one Gemini takes
     */
    public ChatRequestTranslator(ModelResolver models, ThoughtSignatures signatures, String defaultSafetyThreshold) {
        this.models = Objects.requireNonNull(models, "models");
        this.writer = new GeminiRequestWriter(signatures, defaultSafetyThreshold);
    }

    /** The Gemini file URI for an OpenAI file id ({@code file-abc} names {@code files/abc}); null when not one. */
    public static String fileUri(String fileId) {
        return ChatMedia.fileUri(fileId);
    }

    /** Default models, signatures in tool call ids, Gemini's default safety settings. */
    public static ChatRequestTranslator defaults() {
        return new ChatRequestTranslator(ModelResolver.DEFAULT, ThoughtSignatures.inId(), null);
    }

    /**
     * Translates a request body, without the gateway's defaults ({@link Thinking#AUTO}, no system instruction).
     *
     * @param body the request body; not released, indices unchanged
     * @throws OpenAiRequestException when the request is invalid
     */
    public TranslatedChatRequest translate(ByteBuf body) {
        return translate(body, Thinking.AUTO, "");
    }

    /**
     * Translates a request body with the gateway's live defaults.
     *
     * @param body              the request body; not released, indices unchanged
     * @param defaultThinking   the default thinking level: the lowest layer of the thinking precedence, except
     *                          {@link Thinking#OFF}, which overrides the request (see the class comment)
     * @param systemInstruction text put first in {@code systemInstruction}, before the request's own system
     *                          messages; empty for none
     * @throws OpenAiRequestException when the request is invalid
     */
    public TranslatedChatRequest translate(ByteBuf body, Thinking defaultThinking, String systemInstruction) {
        Objects.requireNonNull(defaultThinking, "defaultThinking");
        Objects.requireNonNull(systemInstruction, "systemInstruction");
        try (JsonParser p = Json.parser(body)) {
            return translate(p, body.readableBytes(), defaultThinking, systemInstruction);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Translates a request body.
     *
     * @throws OpenAiRequestException when the request is invalid
     */
    public TranslatedChatRequest translate(byte[] body) {
        return translate(body, 0, body.length);
    }

    /**
     * Translates {@code len} bytes of {@code body} from {@code off}.
     *
     * @throws OpenAiRequestException when the request is invalid
     */
    public TranslatedChatRequest translate(byte[] body, int off, int len) {
        try (JsonParser p = Json.parser(body, off, len)) {
            return translate(p, len, Thinking.AUTO, "");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** @param sizeHint the body length: the Gemini body is about as long */
    private TranslatedChatRequest translate(JsonParser p, int sizeHint, Thinking defaultThinking,
                                            String systemInstruction) throws IOException {
        ChatRequest r;
        try {
            r = ChatRequestParser.read(p);
        } catch (JsonParseException e) {
            throw new OpenAiRequestException(null, "We could not parse the JSON body of your request: "
                    + e.getOriginalMessage());
        }
        ResolvedModel model = models.resolve(r.model);
        String ours = ModelFamily.takesSystemInstruction(model.name()) ? systemInstruction : "";
        return writer.write(r, model, sizeHint + ours.length(), defaultThinking, ours);
    }
}
