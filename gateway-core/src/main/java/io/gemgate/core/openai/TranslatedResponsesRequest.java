package io.gemgate.core.openai;

import io.gemgate.core.openai.ChatRequest.Message;

import java.util.List;
import java.util.Objects;

/**
 * An OpenAI Responses API request translated for Gemini (OpenAI's Responses API reference, "Create a model
 * response"): the Gemini call ({@link #chat()}) and what the answer echoes or stores.
 *
 * <p>Immutable once built by {@link ResponsesRequestTranslator}; shared by every attempt of the request.
 */
public final class TranslatedResponsesRequest {
    private final TranslatedChatRequest chat;
    private final String id;
    private final String previousResponseId;
    private final boolean store;
    final ResponsesRequest echo;
    /** The conversation so far: the stored one of {@code previous_response_id}, then this request's input. */
    final List<Message> conversation;

    private final List<String> referencedResponses;

    TranslatedResponsesRequest(TranslatedChatRequest chat, String id, ResponsesRequest echo,
                               List<Message> conversation, List<String> referencedResponses) {
        this.referencedResponses = referencedResponses;
        this.chat = Objects.requireNonNull(chat, "chat");
        this.id = Objects.requireNonNull(id, "id");
        this.echo = echo;
        this.previousResponseId = echo.previousResponseId;
        this.store = echo.store;
        this.conversation = conversation;
    }

    /** The Gemini call: body, model, whether the client streams, whether thoughts come back as summaries. */
    public TranslatedChatRequest chat() {
        return chat;
    }

    /** The {@code resp_...} id of the answer, chosen before the upstream call. */
    public String id() {
        return id;
    }

    /** The Gemini model to call. */
    public String model() {
        return chat.model();
    }

    /** {@code stream: true}. */
    public boolean stream() {
        return chat.stream();
    }

    /** {@code store} (default true): keep the answer for {@code previous_response_id} and {@code GET}. */
    public boolean store() {
        return store;
    }

    /**
     * The stored responses this request builds on ({@code previous_response_id} first, then those holding its
     * {@code item_reference}s): the server checks that the caller's token owns each before any upstream call.
     */
    public List<String> referencedResponses() {
        return referencedResponses;
    }

    /** The {@code previous_response_id}, or null. */
    public String previousResponseId() {
        return previousResponseId;
    }

    @Override
    public String toString() {
        return "TranslatedResponsesRequest[id=" + id + ", " + chat + ", store=" + store + ", previous="
                + previousResponseId + "]";
    }
}
