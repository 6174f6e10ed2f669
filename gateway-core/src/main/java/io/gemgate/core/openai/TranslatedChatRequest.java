package io.gemgate.core.openai;

import java.util.Objects;

/**
 * An OpenAI chat completions request translated for Gemini: what the server needs to call upstream and what the
 * response translators need to answer.
 *
 * @param requestedModel the {@code model} as the client sent it; echoed in every answer
 * @param model          the Gemini model to call, without {@code models/}
 * @param stream         {@code stream: true}: the client wants SSE; by default (stream mode {@code auto}) the upstream
 *                       call is {@code streamGenerateContent?alt=sse} then
 * @param includeUsage   {@code stream_options.include_usage}: end the stream with a usage chunk
 * @param n              number of choices asked for (1 to 4, sent as {@code candidateCount})
 * @param reasoning      the client asked for reasoning: thought parts are returned as {@code reasoning_content}
 * @param body           the Gemini {@code generateContent} request body (JSON, UTF-8); owned by this record, do not
 *                       modify
 */
public record TranslatedChatRequest(String requestedModel, String model, boolean stream, boolean includeUsage, int n,
                                    boolean reasoning, byte[] body) {
    public TranslatedChatRequest {
        Objects.requireNonNull(requestedModel, "requestedModel");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(body, "body");
    }

    /** {@code streamGenerateContent} or {@code generateContent}. */
    public String method() {
        return stream ? "streamGenerateContent" : "generateContent";
    }

    /**
     * The upstream path and query, e.g. {@code /v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse}.
     *
     * @param apiVersion {@code v1beta} or {@code v1}
     */
    public String upstreamPath(String apiVersion) {
        return upstreamPath(apiVersion, stream);
    }

    /**
     * The upstream path and query for a streamed ({@code streamGenerateContent?alt=sse}) or whole
     * ({@code generateContent}) call, whatever the client asked for: the gateway's stream mode may call upstream
     * one way and answer the client the other.
     *
     * @param apiVersion {@code v1beta} or {@code v1}
     */
    public String upstreamPath(String apiVersion, boolean streamUpstream) {
        return "/" + apiVersion + "/models/" + model + (streamUpstream ? ":streamGenerateContent?alt=sse"
                : ":generateContent");
    }

    @Override
    public String toString() {
        return "TranslatedChatRequest[requestedModel=" + requestedModel + ", model=" + model + ", stream=" + stream
                + ", includeUsage=" + includeUsage + ", n=" + n + ", reasoning=" + reasoning + ", body="
                + body.length + " bytes]";
    }
}
