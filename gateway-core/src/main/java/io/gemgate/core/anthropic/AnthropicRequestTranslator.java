package io.gemgate.core.anthropic;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonParser;
import io.gemgate.core.openai.ModelFamily;
import io.gemgate.core.openai.ResolvedModel;
import io.gemgate.core.openai.ThoughtSignatures;
import io.gemgate.core.openai.TranslationParts;
import io.gemgate.core.settings.Thinking;
import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Objects;

/**
 * Translates an Anthropic Messages API body ({@code POST /v1/messages}, {@code POST /v1/messages/count_tokens};
 * Anthropic's API reference, "Messages") into a Gemini {@code generateContent} or {@code countTokens} body, once per
 * request, before any upstream call: {@link MessagesRequestParser} reads it, {@link AnthropicModels} resolves the
 * model, {@link MessagesRequestWriter} writes the Gemini body (each class comment lists its choices). The parts it
 * shares with the chat completions translation (JSON helpers, schema cleaning, media parts, thought signatures)
 * come from {@code io.gemgate.core.openai}.
 *
 * <p>Thread-safe and stateless apart from the shared {@link ThoughtSignatures}.
 */
public final class AnthropicRequestTranslator {
    private final AnthropicModels models;
    private final MessagesRequestWriter writer;

    /**
     * @param models     model names, aliases and the Claude defaults
     * @param signatures where thought signatures are found again (the same instance as the answer translators')
     */
    public AnthropicRequestTranslator(AnthropicModels models, ThoughtSignatures signatures) {
        this.models = Objects.requireNonNull(models, "models");
        this.writer = new MessagesRequestWriter(signatures);
    }

    /** The model names, aliases and Claude defaults this translator resolves with. */
    public AnthropicModels models() {
        return models;
    }

    /** Default models, signatures in ids. */
    public static AnthropicRequestTranslator defaults() {
        return new AnthropicRequestTranslator(AnthropicModels.DEFAULT, ThoughtSignatures.inId());
    }

    /**
     * Translates a {@code POST /v1/messages} body.
     *
     * @param body              not released, indices unchanged
     * @param defaultThinking   the gateway's default thinking (a live setting)
     * @param systemInstruction the gateway's system instruction, put first; empty for none
     * @throws AnthropicRequestException when the request is invalid
     */
    public TranslatedMessagesRequest translate(ByteBuf body, Thinking defaultThinking, String systemInstruction) {
        return translate(TranslationParts.parser(body), body.readableBytes(), defaultThinking, systemInstruction,
                false);
    }

    /** As {@link #translate(ByteBuf, Thinking, String)}, without the gateway's defaults. */
    public TranslatedMessagesRequest translate(byte[] body) {
        return translate(TranslationParts.parser(body, 0, body.length), body.length, Thinking.AUTO, "", false);
    }

    /**
     * Translates a {@code POST /v1/messages/count_tokens} body into a Gemini {@code countTokens} body.
     *
     * @param body not released, indices unchanged
     * @throws AnthropicRequestException when the request is invalid
     */
    public TranslatedMessagesRequest translateCount(ByteBuf body, String systemInstruction) {
        return translate(TranslationParts.parser(body), body.readableBytes(), Thinking.AUTO, systemInstruction,
                true);
    }

    /** As {@link #translateCount(ByteBuf, String)}. */
    public TranslatedMessagesRequest translateCount(byte[] body) {
        return translate(TranslationParts.parser(body, 0, body.length), body.length, Thinking.AUTO, "", true);
    }

    private TranslatedMessagesRequest translate(JsonParser parser, int sizeHint, Thinking defaultThinking,
                                                String systemInstruction, boolean count) {
        Objects.requireNonNull(defaultThinking, "defaultThinking");
        Objects.requireNonNull(systemInstruction, "systemInstruction");
        try (JsonParser p = parser) {
            MessagesRequest r;
            try {
                r = MessagesRequestParser.read(p, count);
            } catch (JsonProcessingException e) {
                throw new AnthropicRequestException(null, "The request body is not valid JSON: "
                        + e.getOriginalMessage());
            }
            ResolvedModel model = models.resolve(r.model);
            String ours = ModelFamily.takesSystemInstruction(model.name()) ? systemInstruction : "";
            return writer.write(r, model, sizeHint + ours.length(), defaultThinking, ours, count);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
