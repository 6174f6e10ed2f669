package io.gemgate.core.openai;

import io.gemgate.core.json.Usage;
import io.gemgate.core.openai.ChatRequest.Message;


/**
 * A translated Responses API answer: the response object, and what the server needs besides it.
 *
 * <p>Immutable; built by {@link ResponsesResponseTranslator} or {@link ResponsesStreamTranslator#result()}.
 */
public final class ResponsesResult {
    private final byte[] json;
    private final boolean empty;
    private final Usage usage;
    private final OpenAiError error;
    /** The output as conversation messages by output item id (null for reasoning), for {@link ResponseStore}. */
    final java.util.LinkedHashMap<String, Message> output;

    ResponsesResult(byte[] json, boolean empty, Usage usage, OpenAiError error,
                    java.util.LinkedHashMap<String, Message> output) {
        this.json = json;
        this.empty = empty;
        this.usage = usage;
        this.error = error;
        this.output = output;
    }

    /** The response object ({@code object: "response"}), or the error body when {@link #error()} is set. */
    public byte[] json() {
        return json;
    }

    /** The answer is empty (no text, no call, not blocked): the server may try another key before answering. */
    public boolean empty() {
        return empty;
    }

    /** The upstream token counts, for accounting. */
    public Usage usage() {
        return usage;
    }

    /** Set when Gemini answered 200 with an {@code error} object and nothing else. */
    public OpenAiError error() {
        return error;
    }
}
