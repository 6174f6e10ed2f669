package io.gemgate.core.anthropic;

import java.util.Objects;

/**
 * A Messages API request translated for Gemini: what the server needs to call upstream and what the answer
 * translators need.
 *
 * @param requestedModel the {@code model} as the client sent it; echoed in answers
 * @param model          the Gemini model to call, without {@code models/}
 * @param stream         {@code stream: true}: SSE to the client, {@code streamGenerateContent?alt=sse} upstream
 * @param thinking       thinking was enabled: thought parts come back as {@code thinking} blocks
 * @param count          a {@code count_tokens} request: the body is a {@code countTokens} body
 * @param body           the Gemini request body (JSON, UTF-8); owned by this record, do not modify
 */
public record TranslatedMessagesRequest(String requestedModel, String model, boolean stream, boolean thinking,
                                        boolean count, byte[] body) {
    public TranslatedMessagesRequest {
        Objects.requireNonNull(requestedModel, "requestedModel");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(body, "body");
    }

    /**
     * The upstream path and query: {@code /v1beta/models/{model}:} {@code countTokens},
     * {@code streamGenerateContent?alt=sse} or {@code generateContent}.
     */
    public String upstreamPath() {
        return "/v1beta/models/" + model + (count ? ":countTokens" : stream ? ":streamGenerateContent?alt=sse"
                : ":generateContent");
    }

    @Override
    public String toString() {
        return "TranslatedMessagesRequest[requestedModel=" + requestedModel + ", model=" + model + ", stream="
                + stream + ", thinking=" + thinking + ", count=" + count + ", body=" + body.length + " bytes]";
    }
}
