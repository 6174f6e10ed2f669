package io.gemgate.core.openai;

import io.gemgate.core.openai.ChatRequest.Message;

import java.util.ArrayList;
import java.util.List;

/**
 * An OpenAI {@code POST /v1/responses} body as the translation reads it (OpenAI's Responses API reference, "Create a
 * model response"): the members that map onto a chat request are in {@link #chat}; the rest are kept to answer with
 * (the response object echoes them) or to find the stored conversation.
 *
 * <p>Filled by {@link ResponsesRequestParser}; one instance per request, confined to the translating thread.
 */
final class ResponsesRequest {
    final ChatRequest chat = new ChatRequest();
    /** The input items as chat messages, in order (instructions not included). */
    final List<Message> input = new ArrayList<>();
    String instructions;
    boolean store = true;
    String previousResponseId;
    boolean parallelToolCalls = true;
    boolean webSearch;
    /** {@code reasoning.effort} and {@code reasoning.summary}, or null. */
    String effort;
    String summary;
    /** Echoed members as {@link JsonTree} values, or null when absent. */
    Object tools;
    Object toolChoice;
    Object text;
    Object metadata;
}
