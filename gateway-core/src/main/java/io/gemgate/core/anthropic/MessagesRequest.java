package io.gemgate.core.anthropic;

import java.util.List;

/**
 * A Messages API body ({@code POST /v1/messages} or {@code /v1/messages/count_tokens}; Anthropic's API reference,
 * "Messages") as the translation reads it, with the shape checks done. Fields stay null when the member is absent;
 * opaque members (tool schemas, tool inputs) are trees ({@code TranslationParts.readTree}).
 *
 * <p>Filled by {@link MessagesRequestParser}, read by {@link MessagesRequestWriter}. One per request, confined to the
 * translating thread; not thread-safe.
 */
final class MessagesRequest {
    String model;
    Long maxTokens;
    boolean stream;
    Double temperature;
    Double topP;
    Long topK;
    List<String> stopSequences;
    /** The text blocks of {@code system}, in order. */
    List<String> system;
    /** The text of {@code system} role messages in {@code messages}, in order; null when none. */
    List<String> systemMessages;
    List<Message> messages;
    List<Tool> tools;
    /** A server tool {@code web_search_*} was declared: Gemini's own {@code googleSearch}. */
    boolean webSearch;
    /** {@code auto}, {@code any}, {@code tool}, {@code none}, or null. */
    String toolChoice;
    String toolChoiceName;
    /** {@code enabled}, {@code adaptive} (also for {@code between_tools}), {@code disabled}, or null. */
    String thinking;
    Long thinkingBudget;
    /** {@code output_config.format} (or the beta's {@code output_format}) asked for JSON: the answer is JSON. */
    boolean jsonOutput;
    /** That format's {@code schema} cleaned for Gemini's {@code responseSchema}; null when none. */
    Object outputSchema;

    /** What a content block is. */
    enum Kind {
        /** {@code text}, or a {@code document} with a text source. */
        TEXT,
        /** An {@code image} or {@code document} given as base64: {@code mime}, {@code data}. */
        BASE64,
        /** An {@code image} or {@code document} given by URL: {@code mime} (may be null), {@code data} the URL. */
        URL,
        /** {@code tool_use}: {@code id}, {@code name}, {@code input}. */
        TOOL_USE,
        /** {@code tool_result}: {@code id} (tool_use_id), {@code inner} content, {@code isError}. */
        TOOL_RESULT,
        /** {@code thinking} ({@code data} its signature) or {@code redacted_thinking} ({@code data} its data). */
        THINKING
    }

    /**
     * A content block.
     *
     * @param where the block's field path ({@code messages.0.content.2}), for errors found while writing
     */
    record Block(Kind kind, String mime, String data, String id, String name, Object input, List<Block> inner,
                 boolean isError, String where) {
        static Block text(String text, String where) {
            return new Block(Kind.TEXT, null, text, null, null, null, null, false, where);
        }
    }

    /** A message: {@code user} or {@code assistant}. */
    record Message(int index, boolean assistant, List<Block> blocks) {
    }

    /**
     * A declared client tool.
     *
     * @param parameters its {@code input_schema} cleaned for Gemini; null when nothing is left
     */
    record Tool(String name, String description, Object parameters) {
    }
}
