package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.gemgate.core.settings.Thinking;
import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Translates an OpenAI {@code POST /v1/chat/completions} body into a Gemini {@code generateContent} body
 * (PROTOCOL 5.1), once per request, before any upstream call.
 *
 * <p>The body is read once with Jackson's streaming parser into small records (messages, parts, tools); opaque members
 * that must be rewritten or passed on whole (tool schemas, call arguments, {@code safety_settings}) become
 * {@link JsonTree} values. The Gemini body is then written with a streaming generator. Large base64 payloads (data
 * URLs, audio) are written from the parsed string without a further copy.
 *
 * <p>Mapping choices, beyond PROTOCOL 5.1:
 * <ul>
 *   <li>{@code system} and {@code developer} messages, wherever they appear, go to {@code systemInstruction}, one text
 *       part per message part, in order, after the gateway's own system instruction (a live setting) when there is
 *       one; they take text parts only (anything else is a 400, as at OpenAI).</li>
 *   <li>Consecutive turns of one Gemini role are merged, so tool results and a following user message form one
 *       {@code user} turn. Empty text parts and messages left without parts are skipped (Gemini refuses them).</li>
 *   <li>{@code image_url} with an {@code http(s)} URL becomes {@code fileData{fileUri, mimeType}}: the Gemini API
 *       fetches public and signed HTTPS URLs itself, so the gateway never downloads on a client's behalf (no SSRF, no
 *       blocking I/O, no size limit of ours). The {@code mimeType} is guessed from the URL path's extension
 *       (png, jpg/jpeg, webp, gif, heic, heif, pdf, mp3, wav, mp4, mov, webm, txt; YouTube links video/mp4), else
 *       {@code image/jpeg}. {@code image_url.detail} has no Developer API equivalent and is dropped.</li>
 *   <li>{@code file.file_data} may be a data URL or bare base64 (then the media type comes from
 *       {@code filename}'s extension, default {@code application/pdf}); {@code file.file_id} ({@code file-abc}, as
 *       {@code POST /v1/files} answers) becomes {@code fileData{fileUri}} naming the Gemini file {@code files/abc}
 *       (the gateway then sends the call with the key that holds it).</li>
 *   <li>Tool call {@code arguments} that are not a JSON object (truncated or foreign history) are sent as
 *       {@code {"arguments": "<the text>"}} rather than failing the whole conversation; blank ones as {@code {}}.</li>
 *   <li>Thought signatures are restored on replayed {@code functionCall} parts from
 *       {@code tool_calls[i].extra_content.google.thought_signature}, else from the tool call id
 *       ({@link ThoughtSignatures}); on models that enforce them, the first call of a model turn without one gets
 *       {@link ThoughtSignatures#SKIP_VALIDATOR}. Gemini's own {@code functionCall.id} is not carried through the
 *       OpenAI id, so replayed calls and their {@code functionResponse}s go without {@code id} (Gemini pairs them by
 *       name and order).</li>
 *   <li>A tool result whose content is a JSON object is the {@code response} as is; a JSON array becomes
 *       {@code {"result": [..]}}; anything else {@code {"result": "<text>"}}. The function name comes from the
 *       earlier assistant tool call with the same id, else from the message's {@code name}, else 400.</li>
 *   <li>{@code response_format: json_schema} → {@code responseMimeType: application/json} and
 *       {@code responseSchema}: the schema cleaned by {@link SchemaCleaner} into the OpenAPI subset. (Not
 *       {@code responseJsonSchema}: the cleaned schema is OpenAPI — upper-case types, {@code nullable} — which is
 *       the dialect of {@code responseSchema}.)</li>
 *   <li>{@code tool_choice} {@code allowed_tools} with mode {@code auto} keeps only the allowed declarations (Gemini
 *       takes {@code allowedFunctionNames} only with mode {@code ANY}); mode {@code required} → {@code ANY} +
 *       {@code allowedFunctionNames}.</li>
 *   <li>Thinking, lowest to highest precedence: the gateway's default thinking level (a live setting,
 *       {@link Thinking}: its budget, or the level of the same name on Gemini 3, sent only when the request asks
 *       for nothing itself), the model suffix ({@code -nothinking}, {@code -maxthinking}),
 *       {@code reasoning_effort}, an explicit {@code thinking_config} (top level, {@code google} or
 *       {@code extra_body.google}). A default of {@link Thinking#OFF} overrides them all: the family's off budget
 *       (Pro: its floor 128) or lowest level, and no thoughts unless {@code include_thoughts} asks for them.
 *       {@code reasoning_effort} budgets for 2.5 models: none → 0 (Pro 128), minimal → 512 (Pro 128), low → 1024,
 *       medium → 8192, high → 24576, xhigh/max → the family's largest (Pro 32768, Flash 24576). Levels for
 *       Gemini 3: none/minimal → MINIMAL, low → LOW, medium → MEDIUM, high/xhigh/max → HIGH, then moved to the
 *       nearest level the model takes ({@link ModelFamily}). Never both a budget and a level. Models without thinking
 *       control get no derived {@code thinkingConfig}. {@code includeThoughts: true} is sent, and
 *       {@link TranslatedChatRequest#reasoning()} is true, when {@code reasoning_effort} is present and not
 *       {@code none}, or an explicit {@code include_thoughts} is true.</li>
 *   <li>Clamped rather than refused: temperature to 0..2, top_p to 0..1, n to 1..4, penalties to -2..2, max tokens to
 *       at least 1, stop to its first 5 non-empty strings; {@code seed} keeps its low 32 bits (Gemini's seed is an
 *       int32).</li>
 *   <li>Dropped: {@code user}, {@code metadata}, {@code store}, {@code logit_bias}, {@code logprobs},
 *       {@code top_logprobs}, {@code service_tier}, {@code parallel_tool_calls}, {@code prediction},
 *       {@code modalities}, {@code audio}, {@code safety_identifier}, {@code prompt_cache_key},
 *       {@code web_search_options}, {@code verbosity}, assistant {@code reasoning_content}/{@code refusal}/
 *       {@code audio}, and any unknown member.</li>
 * </ul>
 * Refused with {@link OpenAiRequestException} (400, naming the param): a body that is not a JSON object, missing or
 * empty {@code messages}, a message without a known {@code role}, members of the wrong JSON type, user messages
 * without content, tool messages without {@code tool_call_id}, unsupported content part types or URL schemes,
 * non-base64 data URLs, unknown {@code reasoning_effort} or {@code tool_choice} values, non-function tools, and a
 * conversation with nothing but system messages.
 *
 * <p>Thread-safe and stateless apart from the shared {@link ThoughtSignatures}.
 */
public final class ChatRequestTranslator {
    private static final List<String> SAFETY_CATEGORIES = List.of("HARM_CATEGORY_HARASSMENT",
            "HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_SEXUALLY_EXPLICIT", "HARM_CATEGORY_DANGEROUS_CONTENT");
    private static final Set<String> SAFETY_THRESHOLDS = Set.of("BLOCK_NONE", "OFF", "BLOCK_ONLY_HIGH",
            "BLOCK_MEDIUM_AND_ABOVE", "BLOCK_LOW_AND_ABOVE");
    private static final int MAX_STOP = 5;
    private static final int MAX_N = 4;

    private final ModelResolver models;
    private final ThoughtSignatures signatures;
    private final String defaultSafetyThreshold;

    /**
     * @param models                 model names, aliases and suffixes
     * @param signatures             where thought signatures are found again
     * @param defaultSafetyThreshold a threshold ({@code BLOCK_NONE}, {@code OFF}, ...) applied to the four standard
     *                               harm categories when a request brings no {@code safety_settings}; null for
     *                               Gemini's defaults
     */
    public ChatRequestTranslator(ModelResolver models, ThoughtSignatures signatures, String defaultSafetyThreshold) {
        this.models = Objects.requireNonNull(models, "models");
        this.signatures = Objects.requireNonNull(signatures, "signatures");
        if (defaultSafetyThreshold != null && !SAFETY_THRESHOLDS.contains(defaultSafetyThreshold)) {
            throw new IllegalArgumentException("defaultSafetyThreshold: " + defaultSafetyThreshold + " (expected: one of "
                    + SAFETY_THRESHOLDS + ")");
        }
        this.defaultSafetyThreshold = defaultSafetyThreshold;
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
        Request r;
        try {
            r = read(p);
        } catch (JsonParseException e) {
            throw new OpenAiRequestException(null, "We could not parse the JSON body of your request: "
                    + e.getOriginalMessage());
        }
        ResolvedModel model = models.resolve(r.model);
        String ours = ModelFamily.takesSystemInstruction(model.name()) ? systemInstruction : "";
        return write(r, model, sizeHint + ours.length(), defaultThinking, ours);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Reading the OpenAI request

    /** A content part. {@code value}: text, URL, base64 data or file data; {@code extra}: audio format or filename. */
    private record Part(PartKind kind, String value, String extra, String fileId) {
    }

    private enum PartKind { TEXT, IMAGE_URL, INPUT_AUDIO, FILE, FILE_ID }

    /** The Gemini file URI for an OpenAI file id ({@code file-abc} names {@code files/abc}); null when not one. */
    public static String fileUri(String fileId) {
        if (fileId == null || !fileId.startsWith("file-") || fileId.length() == 5 || fileId.length() > 133) {
            return null;
        }
        String id = fileId.substring(5);
        for (int k = 0; k < id.length(); k++) {
            char c = id.charAt(k);
            if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '-') {
                return null;
            }
        }
        return "https://generativelanguage.googleapis.com/v1beta/files/" + id;
    }

    private record ToolCall(String id, String name, Object args, String signature) {
    }

    private record Message(int index, String role, List<Part> parts, boolean contentNull, List<ToolCall> toolCalls,
                           String toolCallId, String name) {
    }

    private record Tool(String name, String description, Object parameters, int index, boolean legacy) {
    }

    /** Parsed request; fields stay null when absent. */
    private static final class Request {
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
    }

    private Request read(JsonParser p) throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            throw new OpenAiRequestException(null, "The request body must be a JSON object.");
        }
        Request r = new Request();
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            switch (f) {
                case "model" -> r.model = string(p, "model");
                case "messages" -> r.messages = messages(p);
                case "stream" -> r.stream = bool(p, "stream", false);
                case "stream_options" -> streamOptions(p, r);
                case "temperature" -> r.temperature = number(p, "temperature");
                case "top_p" -> r.topP = number(p, "top_p");
                case "presence_penalty" -> r.presencePenalty = number(p, "presence_penalty");
                case "frequency_penalty" -> r.frequencyPenalty = number(p, "frequency_penalty");
                case "max_tokens" -> r.maxTokens = integer(p, "max_tokens");
                case "max_completion_tokens" -> r.maxCompletionTokens = integer(p, "max_completion_tokens");
                case "seed" -> r.seed = integer(p, "seed");
                case "n" -> r.n = integer(p, "n");
                case "stop" -> r.stop = stop(p);
                case "tools" -> r.tools = tools(p, "tools", false);
                case "functions" -> r.functions = tools(p, "functions", true);
                case "tool_choice" -> toolChoice(p, r);
                case "function_call" -> functionCall(p, r);
                case "response_format" -> responseFormat(p, r);
                case "reasoning_effort" -> r.reasoningEffort = string(p, "reasoning_effort");
                case "thinking_config" -> thinkingConfig(p, r, "thinking_config");
                case "google" -> google(p, r, "google");
                case "extra_body" -> extraBody(p, r);
                default -> {
                    if (t.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        }
        Json.expectEnd(p);
        if (r.messages == null) {
            throw new OpenAiRequestException("messages", "Missing required parameter: 'messages'.");
        }
        if (r.messages.isEmpty()) {
            throw new OpenAiRequestException("messages",
                    "Invalid 'messages': empty array. Expected an array with minimum length 1.");
        }
        return r;
    }

    private List<Message> messages(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw typeError("messages", "an array", p);
        }
        List<Message> list = new ArrayList<>();
        while (Json.next(p) != JsonToken.END_ARRAY) {
            list.add(message(p, list.size()));
        }
        return list;
    }

    private Message message(JsonParser p, int i) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw typeError("messages[" + i + "]", "an object", p);
        }
        String role = null;
        List<Part> parts = null;
        boolean contentNull = true;
        List<ToolCall> toolCalls = null;
        String toolCallId = null;
        String name = null;
        ToolCall legacyCall = null;
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            switch (f) {
                case "role" -> role = string(p, "messages[#].role", i, 0);
                case "content" -> {
                    parts = content(p, i);
                    contentNull = parts == null;
                }
                case "tool_calls" -> toolCalls = toolCalls(p, i);
                case "tool_call_id" -> toolCallId = string(p, "messages[#].tool_call_id", i, 0);
                case "name" -> name = string(p, "messages[#].name", i, 0);
                case "function_call" -> legacyCall = legacyFunctionCall(p, i);
                default -> {
                    if (t.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        }
        if (role == null) {
            throw new OpenAiRequestException("messages[" + i + "].role", "Missing required parameter: 'messages["
                    + i + "].role'.");
        }
        switch (role) {
            case "system", "developer" -> {
                if (parts != null) {
                    for (int j = 0; j < parts.size(); j++) {
                        if (parts.get(j).kind != PartKind.TEXT) {
                            throw new OpenAiRequestException("messages[" + i + "].content[" + j + "].type",
                                    role + " messages take text content parts only.");
                        }
                    }
                }
            }
            case "user" -> {
                if (contentNull) {
                    throw new OpenAiRequestException("messages[" + i + "].content",
                            "Missing required parameter: 'messages[" + i + "].content'.");
                }
            }
            case "assistant" -> {
                if (legacyCall != null) {
                    toolCalls = toolCalls == null ? new ArrayList<>() : toolCalls;
                    toolCalls.add(legacyCall);
                }
            }
            case "tool" -> {
                if (toolCallId == null) {
                    throw new OpenAiRequestException("messages[" + i + "].tool_call_id",
                            "Missing required parameter: 'messages[" + i + "].tool_call_id'.");
                }
                textOnly(parts, i);
            }
            case "function" -> {
                if (name == null) {
                    throw new OpenAiRequestException("messages[" + i + "].name",
                            "Missing required parameter: 'messages[" + i + "].name'.");
                }
                textOnly(parts, i);
            }
            default -> throw new OpenAiRequestException("messages[" + i + "].role", "Invalid value: '" + role
                    + "'. Supported values are: 'system', 'developer', 'user', 'assistant', 'tool', and 'function'.");
        }
        return new Message(i, role, parts, contentNull, toolCalls, toolCallId, name);
    }

    private static void textOnly(List<Part> parts, int i) {
        if (parts == null) {
            return;
        }
        for (int j = 0; j < parts.size(); j++) {
            if (parts.get(j).kind != PartKind.TEXT) {
                throw new OpenAiRequestException("messages[" + i + "].content[" + j + "].type",
                        "tool results take text content parts only.");
            }
        }
    }

    /** Content: a string, an array of parts, or null (returns null). */
    private List<Part> content(JsonParser p, int i) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        if (t == JsonToken.VALUE_STRING) {
            List<Part> one = new ArrayList<>(1);
            one.add(new Part(PartKind.TEXT, p.getText(), null, null));
            return one;
        }
        if (t != JsonToken.START_ARRAY) {
            throw typeError("messages[" + i + "].content", "a string or an array of content parts", p);
        }
        List<Part> parts = new ArrayList<>();
        while (Json.next(p) != JsonToken.END_ARRAY) {
            Part part = part(p, i, parts.size());
            if (part != null) {
                parts.add(part);
            }
        }
        return parts;
    }

    private Part part(JsonParser p, int i, int j) throws IOException {
        String where = null;
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw typeError("messages[" + i + "].content[" + j + "]", "an object", p);
        }
        String type = null;
        String text = null;
        String url = null;
        String audioData = null;
        String audioFormat = null;
        String fileData = null;
        String fileId = null;
        String filename = null;
        boolean refusal = false;
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            switch (f) {
                case "type" -> type = string(p, "messages[#].content[#].type", i, j);
                case "text" -> text = string(p, "messages[#].content[#].text", i, j);
                case "refusal" -> {
                    refusal = true;
                    string(p, "messages[#].content[#].refusal", i, j);
                }
                case "image_url" -> {
                    if (t == JsonToken.VALUE_STRING) {
                        url = p.getText();
                    } else if (t == JsonToken.START_OBJECT) {
                        while (Json.next(p) != JsonToken.END_OBJECT) {
                            String g = p.currentName();
                            JsonToken u = Json.next(p);
                            if (g.equals("url")) {
                                url = string(p, "messages[#].content[#].image_url.url", i, j);
                            } else if (u.isStructStart()) {
                                p.skipChildren();
                            }
                        }
                    } else {
                        throw typeError("messages[" + i + "].content[" + j + "].image_url", "an object", p);
                    }
                }
                case "input_audio" -> {
                    if (t != JsonToken.START_OBJECT) {
                        throw typeError("messages[" + i + "].content[" + j + "].input_audio", "an object", p);
                    }
                    while (Json.next(p) != JsonToken.END_OBJECT) {
                        String g = p.currentName();
                        JsonToken u = Json.next(p);
                        if (g.equals("data")) {
                            audioData = string(p, "messages[#].content[#].input_audio.data", i, j);
                        } else if (g.equals("format")) {
                            audioFormat = string(p, "messages[#].content[#].input_audio.format", i, j);
                        } else if (u.isStructStart()) {
                            p.skipChildren();
                        }
                    }
                }
                case "file" -> {
                    if (t != JsonToken.START_OBJECT) {
                        throw typeError("messages[" + i + "].content[" + j + "].file", "an object", p);
                    }
                    while (Json.next(p) != JsonToken.END_OBJECT) {
                        String g = p.currentName();
                        JsonToken u = Json.next(p);
                        switch (g) {
                            case "file_data" -> fileData = string(p,
                                    "messages[#].content[#].file.file_data", i, j);
                            case "file_id" -> fileId = string(p,
                                    "messages[#].content[#].file.file_id", i, j);
                            case "filename" -> filename = string(p,
                                    "messages[#].content[#].file.filename", i, j);
                            default -> {
                                if (u.isStructStart()) {
                                    p.skipChildren();
                                }
                            }
                        }
                    }
                }
                default -> {
                    if (t.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        }
        if (type == null) {
            type = text != null ? "text" : url != null ? "image_url" : refusal ? "refusal" : null;
        }
        if (type == null) {
            throw new OpenAiRequestException("messages[" + i + "].content[" + j + "].type",
                    "Missing required parameter: 'messages[" + i + "].content[" + j + "].type'.");
        }
        switch (type) {
            case "text" -> {
                if (text == null) {
                    throw new OpenAiRequestException("messages[" + i + "].content[" + j + "].text",
                            "Missing required parameter: 'messages[" + i + "].content[" + j + "].text'.");
                }
                return new Part(PartKind.TEXT, text, null, null);
            }
            case "refusal" -> {
                return null; // an assistant's refusal: nothing for Gemini to learn from
            }
            case "image_url" -> {
                if (url == null) {
                    where = param("messages[#].content[#].image_url.url", i, j);
                    throw new OpenAiRequestException(where, "Missing required parameter: '" + where + "'.");
                }
                checkUrl(url, "messages[#].content[#].image_url.url", i, j);
                return new Part(PartKind.IMAGE_URL, url, null, null);
            }
            case "input_audio" -> {
                if (audioData == null) {
                    where = param("messages[#].content[#].input_audio", i, j);
                    throw new OpenAiRequestException(where + ".data", "Missing required parameter: '" + where
                            + ".data'.");
                }
                if (audioMime(audioFormat) == null) {
                    where = param("messages[#].content[#].input_audio", i, j);
                    throw new OpenAiRequestException(where + ".format", "Invalid value: '" + audioFormat
                            + "'. Supported values are: 'wav', 'mp3', 'aiff', 'aac', 'ogg' and 'flac'.");
                }
                return new Part(PartKind.INPUT_AUDIO, audioData, audioFormat, null);
            }
            case "file" -> {
                if (fileData == null) {
                    where = param("messages[#].content[#].file", i, j);
                    if (fileId != null) {
                        String uri = fileUri(fileId);
                        if (uri == null) {
                            throw new OpenAiRequestException(where + ".file_id", "Invalid file id '"
                                    + (fileId.length() > 64 ? fileId.substring(0, 64) + "..." : fileId)
                                    + "': expected an id from POST /v1/files (file-...).");
                        }
                        return new Part(PartKind.FILE_ID, uri, filename, null);
                    }
                    throw new OpenAiRequestException(where + ".file_data", "Missing required parameter: '" + where
                            + ".file_data'.");
                }
                if (fileData.regionMatches(true, 0, "data:", 0, 5)) {
                    dataUrlComma(fileData, "messages[#].content[#].file.file_data", i, j);
                }
                return new Part(PartKind.FILE, fileData, filename, null);
            }
            default -> throw new OpenAiRequestException("messages[" + i + "].content[" + j + "].type",
                    "Invalid value: '" + type + "'. Supported values are: 'text', 'image_url', 'input_audio', "
                            + "'file' and 'refusal'.");
        }
    }

    private List<ToolCall> toolCalls(JsonParser p, int i) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        if (t != JsonToken.START_ARRAY) {
            throw typeError("messages[" + i + "].tool_calls", "an array", p);
        }
        List<ToolCall> calls = new ArrayList<>();
        while (Json.next(p) != JsonToken.END_ARRAY) {
            int k = calls.size();
            if (p.currentToken() != JsonToken.START_OBJECT) {
                throw typeError(param("messages[#].tool_calls[#]", i, k), "an object", p);
            }
            String id = null;
            String name = null;
            String arguments = null;
            String signature = null;
            while (Json.next(p) != JsonToken.END_OBJECT) {
                String f = p.currentName();
                JsonToken u = Json.next(p);
                switch (f) {
                    case "id" -> id = string(p, "messages[#].tool_calls[#].id", i, k);
                    case "type" -> {
                        String type = string(p, "messages[#].tool_calls[#].type", i, k);
                        if (type != null && !type.equals("function")) {
                            throw new OpenAiRequestException(param("messages[#].tool_calls[#].type", i, k), "Invalid value: '" + type
                                    + "'. Supported values are: 'function'.");
                        }
                    }
                    case "function" -> {
                        if (u != JsonToken.START_OBJECT) {
                            throw typeError(param("messages[#].tool_calls[#].function", i, k), "an object", p);
                        }
                        while (Json.next(p) != JsonToken.END_OBJECT) {
                            String g = p.currentName();
                            JsonToken v = Json.next(p);
                            if (g.equals("name")) {
                                name = string(p, "messages[#].tool_calls[#].function.name", i, k);
                            } else if (g.equals("arguments")) {
                                arguments = v == JsonToken.START_OBJECT ? JsonTree.toJson(JsonTree.read(p))
                                        : string(p, "messages[#].tool_calls[#].function.arguments", i, k);
                            } else if (v.isStructStart()) {
                                p.skipChildren();
                            }
                        }
                    }
                    case "extra_content" -> signature = extraContentSignature(p);
                    default -> {
                        if (u.isStructStart()) {
                            p.skipChildren();
                        }
                    }
                }
            }
            if (name == null || name.isEmpty()) {
                String where = param("messages[#].tool_calls[#].function.name", i, k);
                throw new OpenAiRequestException(where, "Missing required parameter: '" + where + "'.");
            }
            calls.add(new ToolCall(id, name, arguments(arguments), signature));
        }
        return calls;
    }

    private ToolCall legacyFunctionCall(JsonParser p, int i) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return null;
        }
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw typeError(param("messages[#].function_call", i, 0), "an object", p);
        }
        String name = null;
        String arguments = null;
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String g = p.currentName();
            JsonToken v = Json.next(p);
            if (g.equals("name")) {
                name = string(p, "messages[#].function_call.name", i, 0);
            } else if (g.equals("arguments")) {
                arguments = string(p, "messages[#].function_call.arguments", i, 0);
            } else if (v.isStructStart()) {
                p.skipChildren();
            }
        }
        if (name == null) {
            String where = param("messages[#].function_call.name", i, 0);
            throw new OpenAiRequestException(where, "Missing required parameter: '" + where + "'.");
        }
        return new ToolCall(null, name, arguments(arguments), null);
    }

    /** {@code extra_content.google.thought_signature}, Google's OpenAI-layer place for signatures. */
    private static String extraContentSignature(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return null;
        }
        String signature = null;
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            if (f.equals("google") && t == JsonToken.START_OBJECT) {
                while (Json.next(p) != JsonToken.END_OBJECT) {
                    String g = p.currentName();
                    JsonToken u = Json.next(p);
                    if ((g.equals("thought_signature") || g.equals("thoughtSignature"))
                            && u == JsonToken.VALUE_STRING) {
                        signature = p.getText();
                    } else if (u.isStructStart()) {
                        p.skipChildren();
                    }
                }
            } else if (t.isStructStart()) {
                p.skipChildren();
            }
        }
        return signature;
    }

    /** Tool call arguments (a JSON string) as a JSON object tree; see the class comment for non-objects. */
    private static Object arguments(String arguments) {
        if (arguments == null || arguments.isBlank()) {
            return new LinkedHashMap<String, Object>();
        }
        try {
            Object tree = JsonTree.parse(arguments);
            if (tree instanceof Map) {
                return tree;
            }
        } catch (IOException notJson) {
            // fall through
        }
        Map<String, Object> wrapped = new LinkedHashMap<>();
        wrapped.put("arguments", arguments);
        return wrapped;
    }

    private List<Tool> tools(JsonParser p, String field, boolean legacy) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        if (t != JsonToken.START_ARRAY) {
            throw typeError(field, "an array", p);
        }
        List<Tool> tools = new ArrayList<>();
        while (Json.next(p) != JsonToken.END_ARRAY) {
            int k = tools.size();
            if (p.currentToken() != JsonToken.START_OBJECT) {
                throw typeError(field + "[" + k + "]", "an object", p);
            }
            String type = null;
            String name = null;
            String description = null;
            Object parameters = null;
            while (Json.next(p) != JsonToken.END_OBJECT) {
                String f = p.currentName();
                JsonToken u = Json.next(p);
                if (legacy) {
                    switch (f) {
                        case "name" -> name = string(p, "functions[#].name", k, 0);
                        case "description" -> description = string(p, "functions[#].description", k, 0);
                        case "parameters" -> parameters = schema(p, "functions[#].parameters", k);
                        default -> {
                            if (u.isStructStart()) {
                                p.skipChildren();
                            }
                        }
                    }
                    continue;
                }
                switch (f) {
                    case "type" -> type = string(p, "tools[#].type", k, 0);
                    case "function" -> {
                        if (u != JsonToken.START_OBJECT) {
                            throw typeError(param("tools[#].function", k, 0), "an object", p);
                        }
                        while (Json.next(p) != JsonToken.END_OBJECT) {
                            String g = p.currentName();
                            JsonToken v = Json.next(p);
                            switch (g) {
                                case "name" -> name = string(p, "tools[#].function.name", k, 0);
                                case "description" -> description = string(p, "tools[#].function.description", k, 0);
                                case "parameters" -> parameters = schema(p, "tools[#].function.parameters", k);
                                default -> {
                                    if (v.isStructStart()) {
                                        p.skipChildren();
                                    }
                                }
                            }
                        }
                    }
                    default -> {
                        if (u.isStructStart()) {
                            p.skipChildren();
                        }
                    }
                }
            }
            if (!legacy && type != null && !type.equals("function")) {
                throw new OpenAiRequestException(param("tools[#].type", k, 0), "Invalid value: '" + type
                        + "'. Only 'function' tools are supported.");
            }
            if (name == null || name.isEmpty()) {
                String nameParam = param(legacy ? "functions[#].name" : "tools[#].function.name", k, 0);
                throw new OpenAiRequestException(nameParam, "Missing required parameter: '" + nameParam + "'.");
            }
            Object cleaned;
            try {
                cleaned = SchemaCleaner.cleanParameters(parameters);
            } catch (IllegalArgumentException e) {
                throw new OpenAiRequestException(param(legacy ? "functions[#].parameters" : "tools[#].function.parameters", k, 0),
                        e.getMessage());
            }
            tools.add(new Tool(name, description, cleaned, k, legacy));
        }
        return tools;
    }

    private static Object schema(JsonParser p, String template, int k) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        if (t != JsonToken.START_OBJECT) {
            throw typeError(param(template, k, 0), "an object", p);
        }
        return JsonTree.read(p);
    }

    private void toolChoice(JsonParser p, Request r) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return;
        }
        if (t == JsonToken.VALUE_STRING) {
            String v = p.getText();
            if (!v.equals("auto") && !v.equals("none") && !v.equals("required")) {
                throw new OpenAiRequestException("tool_choice", "Invalid value: '" + v
                        + "'. Supported values are: 'none', 'auto', and 'required'.");
            }
            r.toolChoiceMode = v;
            return;
        }
        if (t != JsonToken.START_OBJECT) {
            throw typeError("tool_choice", "a string or an object", p);
        }
        String type = null;
        String name = null;
        String mode = null;
        List<String> allowed = null;
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken u = Json.next(p);
            switch (f) {
                case "type" -> type = string(p, "tool_choice.type");
                case "function" -> name = functionName(p, "tool_choice.function");
                case "allowed_tools" -> {
                    if (u != JsonToken.START_OBJECT) {
                        throw typeError("tool_choice.allowed_tools", "an object", p);
                    }
                    allowed = new ArrayList<>();
                    while (Json.next(p) != JsonToken.END_OBJECT) {
                        String g = p.currentName();
                        JsonToken v = Json.next(p);
                        if (g.equals("mode")) {
                            mode = string(p, "tool_choice.allowed_tools.mode");
                        } else if (g.equals("tools")) {
                            if (v != JsonToken.START_ARRAY) {
                                throw typeError("tool_choice.allowed_tools.tools", "an array", p);
                            }
                            while (Json.next(p) != JsonToken.END_ARRAY) {
                                String n = allowedToolName(p, "tool_choice.allowed_tools.tools[" + allowed.size()
                                        + "]");
                                if (n != null) {
                                    allowed.add(n);
                                }
                            }
                        } else if (v.isStructStart()) {
                            p.skipChildren();
                        }
                    }
                }
                default -> {
                    if (u.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        }
        if ("allowed_tools".equals(type) || (type == null && allowed != null)) {
            if (allowed == null) {
                throw new OpenAiRequestException("tool_choice.allowed_tools",
                        "Missing required parameter: 'tool_choice.allowed_tools'.");
            }
            if (mode == null || mode.equals("auto")) {
                r.toolChoiceMode = "auto";
                r.allowedToolsAuto = true;
            } else if (mode.equals("required")) {
                r.toolChoiceMode = "required";
            } else {
                throw new OpenAiRequestException("tool_choice.allowed_tools.mode", "Invalid value: '" + mode
                        + "'. Supported values are: 'auto' and 'required'.");
            }
            r.toolChoiceNames = allowed;
            return;
        }
        if (type != null && !type.equals("function")) {
            throw new OpenAiRequestException("tool_choice.type", "Invalid value: '" + type
                    + "'. Supported values are: 'function' and 'allowed_tools'.");
        }
        if (name == null) {
            throw new OpenAiRequestException("tool_choice.function.name",
                    "Missing required parameter: 'tool_choice.function.name'.");
        }
        r.toolChoiceMode = "required";
        r.toolChoiceNames = List.of(name);
    }

    /** {@code {"type":"function","function":{"name":..}}} (or the flat {@code {"type":"function","name":..}}). */
    private static String allowedToolName(JsonParser p, String where) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw typeError(where, "an object", p);
        }
        String name = null;
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            if (f.equals("function")) {
                name = functionName(p, where + ".function");
            } else if (f.equals("name")) {
                name = string(p, where + ".name");
            } else if (t.isStructStart()) {
                p.skipChildren();
            }
        }
        return name;
    }

    /** The {@code name} inside a {@code function} object. */
    private static String functionName(JsonParser p, String where) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw typeError(where, "an object", p);
        }
        String name = null;
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            if (f.equals("name")) {
                name = string(p, where + ".name");
            } else if (t.isStructStart()) {
                p.skipChildren();
            }
        }
        return name;
    }

    private void functionCall(JsonParser p, Request r) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return;
        }
        if (t == JsonToken.VALUE_STRING) {
            String v = p.getText();
            if (!v.equals("auto") && !v.equals("none")) {
                throw new OpenAiRequestException("function_call", "Invalid value: '" + v
                        + "'. Supported values are: 'none' and 'auto'.");
            }
            r.functionCallMode = v;
            return;
        }
        if (t != JsonToken.START_OBJECT) {
            throw typeError("function_call", "a string or an object", p);
        }
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken u = Json.next(p);
            if (f.equals("name")) {
                r.functionCallName = string(p, "function_call.name");
            } else if (u.isStructStart()) {
                p.skipChildren();
            }
        }
        if (r.functionCallName == null) {
            throw new OpenAiRequestException("function_call.name",
                    "Missing required parameter: 'function_call.name'.");
        }
    }

    private void responseFormat(JsonParser p, Request r) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return;
        }
        if (t != JsonToken.START_OBJECT) {
            throw typeError("response_format", "an object", p);
        }
        String type = null;
        Object schema = null;
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken u = Json.next(p);
            if (f.equals("type")) {
                type = string(p, "response_format.type");
            } else if (f.equals("json_schema")) {
                if (u != JsonToken.START_OBJECT) {
                    throw typeError("response_format.json_schema", "an object", p);
                }
                while (Json.next(p) != JsonToken.END_OBJECT) {
                    String g = p.currentName();
                    JsonToken v = Json.next(p);
                    if (g.equals("schema")) {
                        schema = schema(p, "response_format.json_schema.schema", 0);
                    } else if (v.isStructStart()) {
                        p.skipChildren();
                    }
                }
            } else if (u.isStructStart()) {
                p.skipChildren();
            }
        }
        if (type == null) {
            throw new OpenAiRequestException("response_format.type",
                    "Missing required parameter: 'response_format.type'.");
        }
        switch (type) {
            case "text" -> {
            }
            case "json_object" -> r.responseFormat = type;
            case "json_schema" -> {
                r.responseFormat = type;
                if (schema != null) {
                    try {
                        r.responseSchema = SchemaCleaner.clean(schema);
                    } catch (IllegalArgumentException e) {
                        throw new OpenAiRequestException("response_format.json_schema.schema", e.getMessage());
                    }
                }
            }
            default -> throw new OpenAiRequestException("response_format.type", "Invalid value: '" + type
                    + "'. Supported values are: 'text', 'json_object' and 'json_schema'.");
        }
    }

    private void streamOptions(JsonParser p, Request r) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return;
        }
        if (t != JsonToken.START_OBJECT) {
            throw typeError("stream_options", "an object", p);
        }
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken u = Json.next(p);
            if (f.equals("include_usage")) {
                r.includeUsage = bool(p, "stream_options.include_usage", false);
            } else if (u.isStructStart()) {
                p.skipChildren();
            }
        }
    }

    private void extraBody(JsonParser p, Request r) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return;
        }
        if (t != JsonToken.START_OBJECT) {
            throw typeError("extra_body", "an object", p);
        }
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken u = Json.next(p);
            if (f.equals("google")) {
                google(p, r, "extra_body.google");
            } else if (f.equals("extra_body")) {
                extraBody(p, r); // the Python SDK's extra_body={"extra_body": {...}} spelling, nested once more
            } else if (u.isStructStart()) {
                p.skipChildren();
            }
        }
    }

    private void google(JsonParser p, Request r, String where) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return;
        }
        if (t != JsonToken.START_OBJECT) {
            throw typeError(where, "an object", p);
        }
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken u = Json.next(p);
            switch (f) {
                case "thinking_config", "thinkingConfig" -> thinkingConfig(p, r, where + "." + f);
                case "cached_content", "cachedContent" -> r.cachedContent = string(p, where + "." + f);
                case "safety_settings", "safetySettings" -> {
                    if (u == JsonToken.VALUE_NULL) {
                        continue;
                    }
                    if (u != JsonToken.START_ARRAY) {
                        throw typeError(where + "." + f, "an array", p);
                    }
                    r.safetySettings = JsonTree.read(p);
                }
                default -> {
                    if (u.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        }
    }

    private void thinkingConfig(JsonParser p, Request r, String where) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return;
        }
        if (t != JsonToken.START_OBJECT) {
            throw typeError(where, "an object", p);
        }
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken u = Json.next(p);
            switch (f) {
                case "thinking_budget", "thinkingBudget" -> {
                    Long b = integer(p, where + "." + f);
                    if (b != null) {
                        r.thinkingBudget = (int) Math.max(-1, Math.min(b, Integer.MAX_VALUE));
                    }
                }
                case "thinking_level", "thinkingLevel" -> {
                    String level = string(p, where + "." + f);
                    if (level != null) {
                        r.thinkingLevel = level.toUpperCase(Locale.ROOT);
                    }
                }
                case "include_thoughts", "includeThoughts" -> {
                    if (u != JsonToken.VALUE_NULL) {
                        r.includeThoughts = bool(p, where + "." + f, false);
                    }
                }
                default -> {
                    if (u.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        }
    }

    private static List<String> stop(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        List<String> stop = new ArrayList<>();
        if (t == JsonToken.VALUE_STRING) {
            if (!p.getText().isEmpty()) {
                stop.add(p.getText());
            }
            return stop;
        }
        if (t != JsonToken.START_ARRAY) {
            throw typeError("stop", "a string or an array of strings", p);
        }
        int k = 0;
        while (Json.next(p) != JsonToken.END_ARRAY) {
            if (p.currentToken() != JsonToken.VALUE_STRING) {
                throw typeError("stop[" + k + "]", "a string", p);
            }
            if (!p.getText().isEmpty() && stop.size() < MAX_STOP) {
                stop.add(p.getText());
            }
            k++;
        }
        return stop;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Writing the Gemini request

    private TranslatedChatRequest write(Request r, ResolvedModel model, int sizeHint, Thinking defaultThinking,
                                        String systemInstruction) throws IOException {
        ModelFamily family = model.family();
        boolean strictSignatures = ModelFamily.enforcesSignatures(model.name());
        int n = r.n == null ? 1 : (int) Math.max(1, Math.min(MAX_N, r.n));

        ByteArrayBuilder out = new ByteArrayBuilder(Math.max(512, Math.min(sizeHint + 512, 1 << 20)));
        boolean reasoning;
        try (JsonGenerator g = Json.generator(out)) {
            g.writeStartObject();
            writeContents(g, r.messages, strictSignatures);
            writeSystemInstruction(g, systemInstruction, r.messages);
            List<Tool> declared = declaredTools(r);
            writeTools(g, declared, model.search());
            writeToolConfig(g, r, declared);
            writeSafety(g, r);
            reasoning = writeGenerationConfig(g, r, model, family, n, defaultThinking);
            if (r.cachedContent != null) {
                g.writeStringField("cachedContent", r.cachedContent);
            }
            g.writeEndObject();
        }
        byte[] body = out.toByteArray();
        return new TranslatedChatRequest(model.requested(), model.name(), r.stream, r.stream && r.includeUsage, n,
                reasoning, body);
    }

    private void writeContents(JsonGenerator g, List<Message> messages, boolean strictSignatures) throws IOException {
        Map<String, String> callNames = new HashMap<>();
        String open = null; // role of the open Content, or null
        boolean firstCallOfTurn = true;
        g.writeArrayFieldStart("contents");
        for (Message m : messages) {
            String role = switch (m.role) {
                case "user", "tool", "function" -> "user";
                case "assistant" -> "model";
                default -> null; // system and developer: systemInstruction
            };
            if (role == null || !hasParts(m)) {
                if (m.toolCalls != null) {
                    remember(callNames, m.toolCalls);
                }
                continue;
            }
            if (!role.equals(open)) {
                if (open != null) {
                    g.writeEndArray();
                    g.writeEndObject();
                }
                g.writeStartObject();
                g.writeStringField("role", role);
                g.writeArrayFieldStart("parts");
                open = role;
                firstCallOfTurn = true;
            }
            switch (m.role) {
                case "user" -> writeUserParts(g, m);
                case "assistant" -> {
                    writeTextParts(g, m.parts);
                    if (m.toolCalls != null) {
                        for (ToolCall c : m.toolCalls) {
                            writeFunctionCall(g, c, firstCallOfTurn && strictSignatures);
                            firstCallOfTurn = false;
                        }
                        remember(callNames, m.toolCalls);
                    }
                }
                default -> writeFunctionResponse(g, m, callNames);
            }
        }
        if (open == null) {
            throw new OpenAiRequestException("messages",
                    "messages must contain at least one user, assistant or tool message with content.");
        }
        g.writeEndArray();
        g.writeEndObject();
        g.writeEndArray();
    }

    private static void remember(Map<String, String> callNames, List<ToolCall> calls) {
        for (ToolCall c : calls) {
            if (c.id != null) {
                callNames.put(c.id, c.name);
            }
        }
    }

    private static boolean hasParts(Message m) {
        switch (m.role) {
            case "tool", "function":
                return true;
            case "assistant":
                if (m.toolCalls != null && !m.toolCalls.isEmpty()) {
                    return true;
                }
                break;
            default:
                break;
        }
        if (m.parts == null) {
            return false;
        }
        for (Part part : m.parts) {
            if (part.kind != PartKind.TEXT || !part.value.isEmpty()) {
                return true;
            }
        }
        return false;
    }

    private static void writeTextParts(JsonGenerator g, List<Part> parts) throws IOException {
        if (parts == null) {
            return;
        }
        for (Part part : parts) {
            if (part.kind == PartKind.TEXT && !part.value.isEmpty()) {
                g.writeStartObject();
                g.writeStringField("text", part.value);
                g.writeEndObject();
            }
        }
    }

    private static void writeUserParts(JsonGenerator g, Message m) throws IOException {
        for (int j = 0; j < m.parts.size(); j++) {
            Part part = m.parts.get(j);
            switch (part.kind) {
                case TEXT -> {
                    if (!part.value.isEmpty()) {
                        g.writeStartObject();
                        g.writeStringField("text", part.value);
                        g.writeEndObject();
                    }
                }
                case IMAGE_URL -> {
                    String url = part.value;
                    if (url.regionMatches(true, 0, "data:", 0, 5)) {
                        writeDataUrl(g, url, "messages[#].content[#].image_url.url", m.index, j);
                    } else {
                        g.writeStartObject();
                        g.writeObjectFieldStart("fileData");
                        g.writeStringField("mimeType", guessMime(url, "image/jpeg"));
                        g.writeStringField("fileUri", url);
                        g.writeEndObject();
                        g.writeEndObject();
                    }
                }
                case INPUT_AUDIO -> writeInline(g, audioMime(part.extra), part.value, 0, part.value.length(),
                        "messages[#].content[#].input_audio.data", m.index, j);
                case FILE -> {
                    String data = part.value;
                    String where = "messages[#].content[#].file.file_data";
                    if (data.regionMatches(true, 0, "data:", 0, 5)) {
                        writeDataUrl(g, data, where, m.index, j);
                    } else {
                        String mime = part.extra == null ? "application/pdf"
                                : guessMime(part.extra, "application/pdf");
                        writeInline(g, mime, data, 0, data.length(), where, m.index, j);
                    }
                }
                case FILE_ID -> {
                    g.writeStartObject();
                    g.writeObjectFieldStart("fileData");
                    g.writeStringField("fileUri", part.value);
                    g.writeEndObject();
                    g.writeEndObject();
                }
                default -> throw new IllegalStateException();
            }
        }
    }

    private static void writeDataUrl(JsonGenerator g, String url, String where, int i, int j) throws IOException {
        int comma = dataUrlComma(url, where, i, j);
        int semi = url.indexOf(';', 5);
        String mime = url.substring(5, semi < 0 || semi > comma ? comma : semi).trim().toLowerCase(Locale.ROOT);
        writeInline(g, mime, url, comma + 1, url.length() - comma - 1, where, i, j);
    }

    /** Index of the comma of a base64 data URL with a media type; 400 otherwise. */
    private static int dataUrlComma(String url, String where, int i, int j) {
        int comma = url.indexOf(',');
        if (comma < 0) {
            throw new OpenAiRequestException(param(where, i, j), "Invalid data URL: no ',' before the data.");
        }
        if (comma < 12 || !url.regionMatches(true, comma - 7, ";base64", 0, 7)) {
            throw new OpenAiRequestException(param(where, i, j),
                    "Only base64 data URLs are supported (data:<type>;base64,...).");
        }
        int semi = url.indexOf(';', 5);
        if (url.substring(5, semi).isBlank()) {
            throw new OpenAiRequestException(param(where, i, j),
                    "Invalid data URL: no media type (data:<type>;base64,...).");
        }
        return comma;
    }

    /**
     * Writes {@code {"inlineData":{"mimeType":..,"data":..}}} with the data taken from {@code s[off, off+len)} as raw
     * JSON: base64 needs no escaping, so after checking the alphabet it is copied without building a substring (data
     * URLs can be megabytes). Whitespace inside the base64 is removed.
     */
    private static void writeInline(JsonGenerator g, String mime, String s, int off, int len, String where, int wi,
                                    int wj) throws IOException {
        int end = off + len;
        boolean whitespace = false;
        for (int i = off; i < end; i++) {
            char c = s.charAt(i);
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'
                    || c == '=' || c == '-' || c == '_')) {
                if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
                    whitespace = true;
                } else {
                    throw new OpenAiRequestException(param(where, wi, wj), "Invalid base64 data.");
                }
            }
        }
        if (len == 0) {
            throw new OpenAiRequestException(param(where, wi, wj), "Empty base64 data.");
        }
        g.writeStartObject();
        g.writeObjectFieldStart("inlineData");
        g.writeStringField("mimeType", mime);
        g.writeFieldName("data");
        if (whitespace) {
            StringBuilder sb = new StringBuilder(len);
            for (int i = off; i < end; i++) {
                char c = s.charAt(i);
                if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
                    sb.append(c);
                }
            }
            g.writeString(sb.toString());
        } else {
            g.writeRawValue("\""); // the separator logic of a value, then the raw characters
            g.writeRaw(s, off, len);
            g.writeRaw('"');
        }
        g.writeEndObject();
        g.writeEndObject();
    }

    private void writeFunctionCall(JsonGenerator g, ToolCall c, boolean needsSignature) throws IOException {
        String signature = c.signature;
        if (signature == null && c.id != null) {
            signature = signatures.signatureOf(c.id);
        }
        if (signature == null && needsSignature) {
            signature = ThoughtSignatures.SKIP_VALIDATOR;
        }
        g.writeStartObject();
        g.writeObjectFieldStart("functionCall");
        g.writeStringField("name", c.name);
        g.writeFieldName("args");
        JsonTree.write(g, c.args);
        g.writeEndObject();
        if (signature != null) {
            g.writeStringField("thoughtSignature", signature);
        }
        g.writeEndObject();
    }

    private static void writeFunctionResponse(JsonGenerator g, Message m, Map<String, String> callNames)
            throws IOException {
        String name = m.role.equals("function") ? m.name : callNames.get(m.toolCallId);
        if (name == null) {
            name = m.name;
        }
        if (name == null) {
            throw new OpenAiRequestException("messages[" + m.index + "].tool_call_id", "No assistant message before "
                    + "messages[" + m.index + "] has a tool call with id '" + m.toolCallId + "'.");
        }
        String text = joinText(m.parts);
        g.writeStartObject();
        g.writeObjectFieldStart("functionResponse");
        g.writeStringField("name", name);
        g.writeFieldName("response");
        Object tree = null;
        String trimmed = text.strip();
        if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
            try {
                tree = JsonTree.parse(trimmed);
            } catch (IOException notJson) {
                tree = null;
            }
        }
        if (tree instanceof Map) {
            JsonTree.write(g, tree);
        } else {
            g.writeStartObject();
            g.writeFieldName("result");
            if (tree instanceof List) {
                JsonTree.write(g, tree);
            } else {
                g.writeString(text);
            }
            g.writeEndObject();
        }
        g.writeEndObject();
        g.writeEndObject();
    }

    private static String joinText(List<Part> parts) {
        if (parts == null || parts.isEmpty()) {
            return "";
        }
        if (parts.size() == 1) {
            return parts.get(0).value;
        }
        StringBuilder sb = new StringBuilder();
        for (Part part : parts) {
            sb.append(part.value);
        }
        return sb.toString();
    }

    /** The gateway's instruction ({@code ours}, when not empty) first, then the system and developer messages. */
    private static void writeSystemInstruction(JsonGenerator g, String ours, List<Message> messages)
            throws IOException {
        boolean open = false;
        if (!ours.isEmpty()) {
            g.writeObjectFieldStart("systemInstruction");
            g.writeArrayFieldStart("parts");
            g.writeStartObject();
            g.writeStringField("text", ours);
            g.writeEndObject();
            open = true;
        }
        for (Message m : messages) {
            if (!m.role.equals("system") && !m.role.equals("developer") || m.parts == null) {
                continue;
            }
            for (Part part : m.parts) {
                if (part.value.isEmpty()) {
                    continue;
                }
                if (!open) {
                    g.writeObjectFieldStart("systemInstruction");
                    g.writeArrayFieldStart("parts");
                    open = true;
                }
                g.writeStartObject();
                g.writeStringField("text", part.value);
                g.writeEndObject();
            }
        }
        if (open) {
            g.writeEndArray();
            g.writeEndObject();
        }
    }

    /** tools, else legacy functions; filtered by allowed_tools in auto mode. */
    private static List<Tool> declaredTools(Request r) {
        List<Tool> tools = r.tools != null && !r.tools.isEmpty() ? r.tools : r.functions;
        if (tools == null || tools.isEmpty()) {
            return List.of();
        }
        if (r.allowedToolsAuto && r.toolChoiceNames != null) {
            List<Tool> kept = new ArrayList<>();
            for (Tool t : tools) {
                if (r.toolChoiceNames.contains(t.name)) {
                    kept.add(t);
                }
            }
            return kept;
        }
        return tools;
    }

    private static void writeTools(JsonGenerator g, List<Tool> tools, boolean search) throws IOException {
        if (tools.isEmpty() && !search) {
            return;
        }
        g.writeArrayFieldStart("tools");
        if (!tools.isEmpty()) {
            g.writeStartObject();
            g.writeArrayFieldStart("functionDeclarations");
            for (Tool t : tools) {
                g.writeStartObject();
                g.writeStringField("name", t.name);
                if (t.description != null && !t.description.isEmpty()) {
                    g.writeStringField("description", t.description);
                }
                if (t.parameters != null) {
                    g.writeFieldName("parameters");
                    JsonTree.write(g, t.parameters);
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        if (search) {
            g.writeStartObject();
            g.writeObjectFieldStart("googleSearch");
            g.writeEndObject();
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    private static void writeToolConfig(JsonGenerator g, Request r, List<Tool> declared) throws IOException {
        if (declared.isEmpty()) {
            return;
        }
        String mode;
        List<String> names = null;
        if (r.toolChoiceMode != null) {
            mode = switch (r.toolChoiceMode) {
                case "none" -> "NONE";
                case "required" -> "ANY";
                default -> "AUTO";
            };
            if (mode.equals("ANY")) {
                names = r.toolChoiceNames;
            }
        } else if (r.functionCallName != null) {
            mode = "ANY";
            names = List.of(r.functionCallName);
        } else if (r.functionCallMode != null) {
            mode = r.functionCallMode.equals("none") ? "NONE" : "AUTO";
        } else {
            return; // Gemini's default is AUTO
        }
        g.writeObjectFieldStart("toolConfig");
        g.writeObjectFieldStart("functionCallingConfig");
        g.writeStringField("mode", mode);
        if (names != null && !names.isEmpty()) {
            g.writeArrayFieldStart("allowedFunctionNames");
            for (String name : names) {
                g.writeString(name);
            }
            g.writeEndArray();
        }
        g.writeEndObject();
        g.writeEndObject();
    }

    private void writeSafety(JsonGenerator g, Request r) throws IOException {
        if (r.safetySettings != null) {
            g.writeFieldName("safetySettings");
            JsonTree.write(g, r.safetySettings);
        } else if (defaultSafetyThreshold != null) {
            g.writeArrayFieldStart("safetySettings");
            for (String category : SAFETY_CATEGORIES) {
                g.writeStartObject();
                g.writeStringField("category", category);
                g.writeStringField("threshold", defaultSafetyThreshold);
                g.writeEndObject();
            }
            g.writeEndArray();
        }
    }

    /** Writes generationConfig if anything goes in it; returns whether reasoning was asked for. */
    private static boolean writeGenerationConfig(JsonGenerator g, Request r, ResolvedModel model, ModelFamily family,
                                                 int n, Thinking defaultThinking) throws IOException {
        boolean open = false;
        if (r.temperature != null) {
            open = openConfig(g, open);
            g.writeNumberField("temperature", clamp(r.temperature, 0, 2));
        }
        if (r.topP != null) {
            open = openConfig(g, open);
            g.writeNumberField("topP", clamp(r.topP, 0, 1));
        }
        Long max = r.maxCompletionTokens != null ? r.maxCompletionTokens : r.maxTokens;
        if (max != null) {
            open = openConfig(g, open);
            g.writeNumberField("maxOutputTokens", (int) Math.max(1, Math.min(max, Integer.MAX_VALUE)));
        }
        if (r.stop != null && !r.stop.isEmpty()) {
            open = openConfig(g, open);
            g.writeArrayFieldStart("stopSequences");
            for (String s : r.stop) {
                g.writeString(s);
            }
            g.writeEndArray();
        }
        if (n > 1) {
            open = openConfig(g, open);
            g.writeNumberField("candidateCount", n);
        }
        if (r.seed != null) {
            open = openConfig(g, open);
            g.writeNumberField("seed", (int) r.seed.longValue());
        }
        if (r.presencePenalty != null) {
            open = openConfig(g, open);
            g.writeNumberField("presencePenalty", clamp(r.presencePenalty, -2, 2));
        }
        if (r.frequencyPenalty != null) {
            open = openConfig(g, open);
            g.writeNumberField("frequencyPenalty", clamp(r.frequencyPenalty, -2, 2));
        }
        if (r.responseFormat != null) {
            open = openConfig(g, open);
            g.writeStringField("responseMimeType", "application/json");
            if (r.responseSchema != null) {
                g.writeFieldName("responseSchema");
                JsonTree.write(g, r.responseSchema);
            }
        }

        // Thinking: the gateway's default < suffix < reasoning_effort < explicit thinking_config.
        Integer budget = null;
        String level = null;
        if (family.hasThinkingControl()) {
            String effort = switch (model.thinking()) {
                case OFF -> "none";
                case MAX -> "max";
                default -> null;
            };
            if (r.reasoningEffort != null) {
                effort = r.reasoningEffort;
            }
            if (effort != null) {
                if (family.usesBudget()) {
                    budget = budget(family, effort);
                } else {
                    level = ModelFamily.supportedLevel(model.name(), family, level(effort));
                }
            }
        } else if (r.reasoningEffort != null) {
            checkEffort(r.reasoningEffort);
        }
        if (r.thinkingBudget != null || r.thinkingLevel != null) {
            budget = null;
            level = null;
            if (r.thinkingLevel != null && (r.thinkingBudget == null || family.usesLevel())) {
                level = r.thinkingLevel;
            } else {
                budget = r.thinkingBudget;
            }
        }
        // The gateway's default: the lowest layer when the request set nothing; OFF overrides every layer.
        boolean off = defaultThinking == Thinking.OFF && family.hasThinkingControl();
        if (off || (budget == null && level == null && defaultThinking != Thinking.AUTO
                && family.hasThinkingControl())) {
            budget = family.usesBudget() ? family.budgetFor(defaultThinking) : null;
            level = family.usesLevel() ? family.levelFor(model.name(), defaultThinking) : null;
        }
        boolean reasoning;
        if (r.includeThoughts != null) {
            reasoning = r.includeThoughts;
        } else {
            reasoning = !off && r.reasoningEffort != null && !r.reasoningEffort.equals("none")
                    && family.hasThinkingControl();
        }
        if (budget != null || level != null || reasoning) {
            open = openConfig(g, open);
            g.writeObjectFieldStart("thinkingConfig");
            if (budget != null) {
                g.writeNumberField("thinkingBudget", budget);
            } else if (level != null) {
                g.writeStringField("thinkingLevel", level);
            }
            if (reasoning) {
                g.writeBooleanField("includeThoughts", true);
            }
            g.writeEndObject();
        }
        if (open) {
            g.writeEndObject();
        }
        return reasoning;
    }

    private static boolean openConfig(JsonGenerator g, boolean open) throws IOException {
        if (!open) {
            g.writeObjectFieldStart("generationConfig");
        }
        return true;
    }

    private static int budget(ModelFamily family, String effort) {
        return switch (checkEffort(effort)) {
            case "none" -> family.offBudget();
            case "minimal" -> family.minimalBudget();
            case "low" -> 1024;
            case "medium" -> 8192;
            case "high" -> 24576;
            default -> family.maxBudget(); // xhigh, max
        };
    }

    private static String level(String effort) {
        return switch (checkEffort(effort)) {
            case "none", "minimal" -> "MINIMAL";
            case "low" -> "LOW";
            case "medium" -> "MEDIUM";
            default -> "HIGH";
        };
    }

    private static String checkEffort(String effort) {
        return switch (effort) {
            case "none", "minimal", "low", "medium", "high", "xhigh", "max" -> effort;
            default -> throw new OpenAiRequestException("reasoning_effort", "Invalid value: '" + effort
                    + "'. Supported values are: 'none', 'minimal', 'low', 'medium', 'high', 'xhigh' and 'max'.");
        };
    }

    private static double clamp(double v, double lo, double hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Helpers

    private static void checkUrl(String url, String where, int i, int j) {
        if (url.regionMatches(true, 0, "data:", 0, 5)) {
            dataUrlComma(url, where, i, j);
        } else if (!url.regionMatches(true, 0, "https://", 0, 8) && !url.regionMatches(true, 0, "http://", 0, 7)) {
            throw new OpenAiRequestException(param(where, i, j),
                    "Unsupported image URL: expected a data: URL or an http(s) URL.");
        }
    }

    static String audioMime(String format) {
        if (format == null) {
            return null;
        }
        return switch (format.toLowerCase(Locale.ROOT)) {
            case "wav" -> "audio/wav";
            case "mp3" -> "audio/mp3";
            case "aiff" -> "audio/aiff";
            case "aac" -> "audio/aac";
            case "ogg" -> "audio/ogg";
            case "flac" -> "audio/flac";
            default -> null;
        };
    }

    /** A media type from the extension of a URL's path or a file name. */
    static String guessMime(String urlOrName, String fallback) {
        String s = urlOrName;
        String lower = s.toLowerCase(Locale.ROOT);
        if (lower.contains("://www.youtube.com/") || lower.contains("://youtube.com/")
                || lower.contains("://youtu.be/") || lower.contains("://m.youtube.com/")) {
            return "video/mp4";
        }
        int cut = lower.length();
        int q = lower.indexOf('?');
        if (q >= 0) {
            cut = q;
        }
        int h = lower.indexOf('#');
        if (h >= 0 && h < cut) {
            cut = h;
        }
        String path = lower.substring(0, cut);
        int slash = path.lastIndexOf('/');
        int dot = path.lastIndexOf('.');
        if (dot < 0 || dot < slash) {
            return fallback;
        }
        return switch (path.substring(dot + 1)) {
            case "png" -> "image/png";
            case "jpg", "jpeg" -> "image/jpeg";
            case "webp" -> "image/webp";
            case "gif" -> "image/gif";
            case "heic" -> "image/heic";
            case "heif" -> "image/heif";
            case "pdf" -> "application/pdf";
            case "txt" -> "text/plain";
            case "mp3" -> "audio/mp3";
            case "wav" -> "audio/wav";
            case "mp4" -> "video/mp4";
            case "mov" -> "video/mov";
            case "webm" -> "video/webm";
            default -> fallback;
        };
    }

    private static OpenAiRequestException typeError(String param, String expected, JsonParser p) {
        return new OpenAiRequestException(param, "Invalid type for '" + param + "': expected " + expected
                + ", but got " + tokenType(p.currentToken()) + " instead.");
    }

    private static String tokenType(JsonToken t) {
        if (t == null) {
            return "nothing";
        }
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT -> "an integer";
            case VALUE_NUMBER_FLOAT -> "a decimal";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> t.toString();
        };
    }

    /**
     * A parameter path from a template whose {@code #}s are replaced by {@code i} then {@code j}; built only for
     * error messages, so reading a message costs no string concatenation.
     */
    static String param(String template, int i, int j) {
        StringBuilder sb = new StringBuilder(template.length() + 8);
        boolean first = true;
        for (int c = 0; c < template.length(); c++) {
            char ch = template.charAt(c);
            if (ch == '#') {
                sb.append(first ? i : j);
                first = false;
            } else {
                sb.append(ch);
            }
        }
        return sb.toString();
    }

    /** As {@link #string(JsonParser, String)} with the parameter given as a {@link #param} template. */
    private static String string(JsonParser p, String template, int i, int j) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_STRING) {
            return p.getText();
        }
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        throw typeError(param(template, i, j), "a string", p);
    }

    /** A string, or null for JSON null; other types are a 400 on {@code param}. */
    private static String string(JsonParser p, String param) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_STRING) {
            return p.getText();
        }
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        throw typeError(param, "a string", p);
    }

    private static Double number(JsonParser p, String param) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_NUMBER_FLOAT) {
            return p.getDoubleValue();
        }
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        throw typeError(param, "a number", p);
    }

    private static Long integer(JsonParser p, String param) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NUMBER_INT) {
            try {
                return p.getLongValue();
            } catch (IOException tooBig) {
                return p.getBigIntegerValue().signum() < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
            }
        }
        if (t == JsonToken.VALUE_NUMBER_FLOAT) {
            double d = p.getDoubleValue();
            if (d == Math.rint(d) && !Double.isInfinite(d)) {
                return (long) d;
            }
        }
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        throw typeError(param, "an integer", p);
    }

    private static boolean bool(JsonParser p, String param, boolean ifNull) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_TRUE) {
            return true;
        }
        if (t == JsonToken.VALUE_FALSE) {
            return false;
        }
        if (t == JsonToken.VALUE_NULL) {
            return ifNull;
        }
        throw typeError(param, "a boolean", p);
    }
}
