package io.gemgate.core.openai;

import java.util.List;

/**
 * An OpenAI {@code POST /v1/chat/completions} body as the translation reads it: the members the Gemini request needs,
 * with the shape checks done (OpenAI's Chat Completions API reference, "Create chat completion"). Fields stay null
 * (or false) when the member is absent; opaque members that are passed on or rewritten whole (tool schemas, call
 * arguments, {@code safety_settings}) are {@link JsonTree} values.
 *
 * <p>Filled by {@link ChatRequestParser} (or, for the Responses API, {@link ResponsesRequestParser}) (with {@link ChatTools}, {@link ThinkingPolicy} and
 * {@link GenerationConfigWriter} for their members), then read by {@link GeminiRequestWriter}. One instance per
 * request, confined to the thread that translates it; not thread-safe.
 */
final class ChatRequest {
    String model;
    List<Message> messages;
    boolean stream;
    boolean includeUsage;
    Double temperature;
    Double topP;
    Double presencePenalty;
    Double frequencyPenalty;
    Long maxTokens;
    Long maxCompletionTokens;
    Long seed;
    Long n;
    List<String> stop;
    List<Tool> tools;
    List<Tool> functions;
    /** "auto", "none", "required", or null. */
    String toolChoiceMode;
    /** Named function(s) of tool_choice / allowed_tools. */
    List<String> toolChoiceNames;
    boolean allowedToolsAuto;
    String functionCallMode;
    String functionCallName;
    String responseFormat;
    Object responseSchema;
    String reasoningEffort;
    Integer thinkingBudget;
    String thinkingLevel;
    Boolean includeThoughts;
    String cachedContent;
    Object safetySettings;

    /** What a content part is. */
    enum PartKind { TEXT, IMAGE_URL, INPUT_AUDIO, FILE, FILE_ID }

    /**
     * A content part.
     *
     * @param value  text, URL, base64 data, file data, or ({@code FILE_ID}) the Gemini file URI of a {@code file_id}
     * @param extra  the audio format or the file name
     * @param fileId unused: always null ({@code FILE_ID} parts carry the file URI in {@code value})
     */
    record Part(PartKind kind, String value, String extra, String fileId) {
    }

    /** An assistant's tool call (or legacy {@code function_call}); {@code args} is a JSON object tree. */
    record ToolCall(String id, String name, Object args, String signature) {
    }

    /**
     * A message.
     *
     * @param index       its position in {@code messages}, for error parameters
     * @param parts       the content; null when {@code content} was null or absent
     * @param contentNull whether {@code content} was null or absent
     * @param toolCalls   an assistant's tool calls, the legacy {@code function_call} last; null when none
     */
    record Message(int index, String role, List<Part> parts, boolean contentNull, List<ToolCall> toolCalls,
                   String toolCallId, String name) {
    }

    /**
     * A declared function: from {@code tools} or, {@code legacy}, from {@code functions}.
     *
     * @param parameters the JSON Schema already cleaned by {@link SchemaCleaner}; null when absent
     * @param index      its position in the array, for error parameters
     */
    record Tool(String name, String description, Object parameters, int index, boolean legacy) {
    }
}
