package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.gemgate.core.openai.ChatRequest.Message;
import io.gemgate.core.openai.ChatRequest.Part;
import io.gemgate.core.openai.ChatRequest.PartKind;
import io.gemgate.core.openai.ChatRequest.Tool;
import io.gemgate.core.openai.ChatRequest.ToolCall;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.gemgate.core.openai.ParamReader.bool;
import static io.gemgate.core.openai.ParamReader.integer;
import static io.gemgate.core.openai.ParamReader.number;
import static io.gemgate.core.openai.ParamReader.param;
import static io.gemgate.core.openai.ParamReader.string;
import static io.gemgate.core.openai.ParamReader.typeError;

/**
 * Reads an OpenAI {@code POST /v1/responses} body (OpenAI's Responses API reference, "Create a model response") into
 * a {@link ResponsesRequest}: the members are mapped onto the chat request model ({@link ChatRequest}) that
 * {@link GeminiRequestWriter} writes, so the Gemini side of both APIs is one code path.
 *
 * <ul>
 *   <li>{@code input}: a string (one user message) or items: messages ({@code role} user, system, developer or
 *       assistant; content a string or parts {@code input_text}, {@code output_text}, {@code input_image}
 *       ({@code image_url} http(s) or data URL, or {@code file_id}), {@code input_file} ({@code file_data},
 *       {@code file_id} or {@code file_url}), {@code refusal} (dropped)), {@code function_call} (an assistant tool
 *       call; its {@code call_id} carries the thought signature, {@link ThoughtSignatures}),
 *       {@code function_call_output} (a tool result, paired by {@code call_id}), {@code item_reference} (an output
 *       item of a stored response, by its {@code id}: the Vercel AI SDK sends these), and {@code reasoning} and
 *       {@code web_search_call} items (dropped: Gemini takes no thoughts back).</li>
 *   <li>{@code instructions} → a leading system message (not carried to the next response, as OpenAI documents for
 *       {@code previous_response_id}).</li>
 *   <li>{@code tools}: flat function tools ({@code {type:function,name,description,parameters,strict}}, schema cleaned
 *       by {@link SchemaCleaner}); {@code web_search} and {@code web_search_preview} → Gemini's {@code googleSearch}
 *       tool. Other hosted tools are a 400.</li>
 *   <li>{@code tool_choice}: {@code auto}/{@code none}/{@code required}, {@code {type:function,name}},
 *       {@code {type:allowed_tools,mode,tools}} as for chat ({@link ChatTools}); a hosted tool choice →
 *       {@code auto}.</li>
 *   <li>{@code text.format}: {@code json_schema} (schema cleaned) and {@code json_object} → JSON mode;
 *       {@code text} → nothing.</li>
 *   <li>{@code reasoning.effort} → the thinking budget or level ({@link ThinkingPolicy}); {@code reasoning.summary}
 *       ({@code auto}, {@code concise}, {@code detailed}) → {@code includeThoughts}, thought parts returned as a
 *       reasoning item's summary.</li>
 *   <li>{@code max_output_tokens}, {@code temperature}, {@code top_p} as for chat; {@code stream}, {@code store}
 *       (default true), {@code previous_response_id}, {@code metadata} and {@code parallel_tool_calls} kept for the
 *       answer.</li>
 * </ul>
 * Refused (400): {@code background: true}, {@code conversation}, {@code prompt}, and unknown item or part types. Dropped: {@code include}, {@code truncation}, {@code user}, {@code service_tier},
 * {@code prompt_cache_key}, {@code safety_identifier}, {@code max_tool_calls}, {@code top_logprobs},
 * {@code stream_options}, {@code text.verbosity}, {@code input_image.detail}.
 *
 * <p>Called by {@link ResponsesRequestTranslator}. Stateless static methods; thread-safe.
 */
final class ResponsesRequestParser {
    /**
     * The role of a placeholder message for an {@code item_reference} item: the item's id is in
     * {@code toolCallId}; {@link ResponsesRequestTranslator} replaces it with the stored item.
     */
    static final String ITEM_REFERENCE = "item_reference";

    private ResponsesRequestParser() {
    }

    /**
     * Reads the body from the parser's start to its end.
     *
     * <p>A {@code function_call_output}'s message has no function name yet: {@link #nameResults} gives it one, once
     * the stored conversation of {@code previous_response_id} is known.
     *
     * @throws OpenAiRequestException when the request is invalid
     */
    static ResponsesRequest read(JsonParser p) throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            throw new OpenAiRequestException(null, "The request body must be a JSON object.");
        }
        ResponsesRequest r = new ResponsesRequest();
        ChatRequest c = r.chat;
        boolean sawInput = false;
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            switch (f) {
                case "model" -> c.model = string(p, "model");
                case "input" -> {
                    sawInput = t != JsonToken.VALUE_NULL;
                    input(p, r);
                }
                case "instructions" -> {
                    if (t == JsonToken.VALUE_STRING || t == JsonToken.VALUE_NULL) {
                        r.instructions = string(p, "instructions");
                    } else {
                        throw typeError("instructions", "a string", p);
                    }
                }
                case "stream" -> c.stream = bool(p, "stream", false);
                case "store" -> r.store = bool(p, "store", true);
                case "previous_response_id" -> r.previousResponseId = string(p, "previous_response_id");
                case "temperature" -> c.temperature = number(p, "temperature");
                case "top_p" -> c.topP = number(p, "top_p");
                case "max_output_tokens" -> c.maxCompletionTokens = integer(p, "max_output_tokens");
                case "parallel_tool_calls" -> r.parallelToolCalls = bool(p, "parallel_tool_calls", true);
                case "tools" -> tools(p, r);
                case "tool_choice" -> toolChoice(p, r);
                case "text" -> text(p, r);
                case "reasoning" -> reasoning(p, r);
                case "metadata" -> {
                    if (t != JsonToken.START_OBJECT && t != JsonToken.VALUE_NULL) {
                        throw typeError("metadata", "an object", p);
                    }
                    r.metadata = t == JsonToken.VALUE_NULL ? null : JsonTree.read(p);
                }
                case "background" -> {
                    if (bool(p, "background", false)) {
                        throw new OpenAiRequestException("background",
                                "Background responses are not supported by this gateway: use stream or wait.");
                    }
                }
                case "conversation", "prompt" -> {
                    if (t != JsonToken.VALUE_NULL) {
                        throw new OpenAiRequestException(f, "'" + f + "' is not supported by this gateway: send"
                                + " the input items, or previous_response_id.");
                    }
                }
                default -> {
                    if (t.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        }
        Json.expectEnd(p);
        if (!sawInput) {
            throw new OpenAiRequestException("input", "Missing required parameter: 'input'.");
        }
        return r;
    }

    private static void input(JsonParser p, ResponsesRequest r) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_STRING) {
            List<Part> one = new ArrayList<>(1);
            one.add(new Part(PartKind.TEXT, p.getText(), null, null));
            r.input.add(new Message(0, "user", one, false, null, null, null));
            return;
        }
        if (t == JsonToken.VALUE_NULL) {
            return;
        }
        if (t != JsonToken.START_ARRAY) {
            throw typeError("input", "a string or an array of input items", p);
        }
        int i = 0;
        while (Json.next(p) != JsonToken.END_ARRAY) {
            Message m = item(p, i);
            if (m != null) {
                r.input.add(m);
            }
            i++;
        }
    }

    /** One input item; null for items Gemini takes nothing from. */
    private static Message item(JsonParser p, int i) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw typeError("input[" + i + "]", "an object", p);
        }
        String type = null;
        String role = null;
        List<Part> parts = null;
        boolean contentSeen = false;
        String callId = null;
        String name = null;
        String arguments = null;
        String output = null;
        boolean outputSeen = false;
        String itemId = null;
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            switch (f) {
                case "type" -> type = string(p, "input[#].type", i, 0);
                case "role" -> role = string(p, "input[#].role", i, 0);
                case "content" -> {
                    contentSeen = t != JsonToken.VALUE_NULL;
                    parts = content(p, i);
                }
                case "call_id" -> callId = string(p, "input[#].call_id", i, 0);
                case "id" -> itemId = t == JsonToken.VALUE_STRING ? p.getText() : null;
                case "name" -> name = string(p, "input[#].name", i, 0);
                case "arguments" -> arguments = t == JsonToken.START_OBJECT ? JsonTree.toJson(JsonTree.read(p))
                        : string(p, "input[#].arguments", i, 0);
                case "output" -> {
                    outputSeen = t != JsonToken.VALUE_NULL;
                    output = output(p, i);
                }
                default -> {
                    if (t.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        }
        if (type == null) {
            type = role != null ? "message" : null;
        }
        if (type == null) {
            throw new OpenAiRequestException("input[" + i + "].type", "Missing required parameter: 'input[" + i
                    + "].type'.");
        }
        switch (type) {
            case "message" -> {
                return message(i, role, parts, contentSeen);
            }
            case "function_call" -> {
                if (callId == null || callId.isEmpty()) {
                    throw missing("input[" + i + "].call_id");
                }
                if (name == null || name.isEmpty()) {
                    throw missing("input[" + i + "].name");
                }
                List<ToolCall> calls = new ArrayList<>(1);
                calls.add(new ToolCall(callId, name, arguments(arguments), null));
                return new Message(i, "assistant", null, true, calls, null, null);
            }
            case "function_call_output" -> {
                if (callId == null || callId.isEmpty()) {
                    throw missing("input[" + i + "].call_id");
                }
                if (!outputSeen) {
                    throw missing("input[" + i + "].output");
                }
                List<Part> text = new ArrayList<>(1);
                text.add(new Part(PartKind.TEXT, output, null, null));
                return new Message(i, "tool", text, false, null, callId, null);
            }
            case "item_reference" -> {
                if (itemId == null || itemId.isEmpty()) {
                    throw missing("input[" + i + "].id");
                }
                return new Message(i, ITEM_REFERENCE, null, true, null, itemId, null);
            }
            case "reasoning", "web_search_call" -> {
                return null; // Gemini takes no thoughts back; its search ran upstream
            }
            default -> throw new OpenAiRequestException("input[" + i + "].type", "Invalid value: '" + shorten(type)
                    + "'. Supported values are: 'message', 'function_call', 'function_call_output',"
                    + " 'item_reference' and 'reasoning'.");
        }
    }

    private static Message message(int i, String role, List<Part> parts, boolean contentSeen) {
        if (role == null) {
            throw missing("input[" + i + "].role");
        }
        switch (role) {
            case "user" -> {
                if (!contentSeen) {
                    throw missing("input[" + i + "].content");
                }
            }
            case "system", "developer" -> {
                if (parts != null) {
                    for (int j = 0; j < parts.size(); j++) {
                        if (parts.get(j).kind() != PartKind.TEXT) {
                            throw new OpenAiRequestException("input[" + i + "].content[" + j + "].type",
                                    role + " messages take text content parts only.");
                        }
                    }
                }
            }
            case "assistant" -> {
            }
            default -> throw new OpenAiRequestException("input[" + i + "].role", "Invalid value: '" + shorten(role)
                    + "'. Supported values are: 'user', 'assistant', 'system', and 'developer'.");
        }
        return new Message(i, role, parts, parts == null, null, null, null);
    }

    /** A message's content: a string or parts; null for JSON null. */
    private static List<Part> content(JsonParser p, int i) throws IOException {
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
            throw typeError("input[" + i + "].content", "a string or an array of content parts", p);
        }
        List<Part> parts = new ArrayList<>();
        int j = 0;
        while (Json.next(p) != JsonToken.END_ARRAY) {
            Part part = part(p, i, j++);
            if (part != null) {
                parts.add(part);
            }
        }
        return parts;
    }

    /** One content part; null for a refusal. */
    private static Part part(JsonParser p, int i, int j) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw typeError("input[" + i + "].content[" + j + "]", "an object", p);
        }
        String type = null;
        String text = null;
        String imageUrl = null;
        String fileId = null;
        String fileData = null;
        String fileUrl = null;
        String filename = null;
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            switch (f) {
                case "type" -> type = string(p, "input[#].content[#].type", i, j);
                case "text" -> text = string(p, "input[#].content[#].text", i, j);
                case "image_url" -> {
                    if (t == JsonToken.START_OBJECT) { // the chat shape {url}, accepted too
                        while (Json.next(p) != JsonToken.END_OBJECT) {
                            String g = p.currentName();
                            JsonToken u = Json.next(p);
                            if (g.equals("url")) {
                                imageUrl = string(p, "input[#].content[#].image_url.url", i, j);
                            } else if (u.isStructStart()) {
                                p.skipChildren();
                            }
                        }
                    } else {
                        imageUrl = string(p, "input[#].content[#].image_url", i, j);
                    }
                }
                case "file_id" -> fileId = string(p, "input[#].content[#].file_id", i, j);
                case "file_data" -> fileData = string(p, "input[#].content[#].file_data", i, j);
                case "file_url" -> fileUrl = string(p, "input[#].content[#].file_url", i, j);
                case "filename" -> filename = string(p, "input[#].content[#].filename", i, j);
                default -> {
                    if (t.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        }
        if (type == null) {
            throw missing(param("input[#].content[#].type", i, j));
        }
        switch (type) {
            case "input_text", "output_text", "text" -> {
                if (text == null) {
                    throw missing(param("input[#].content[#].text", i, j));
                }
                return new Part(PartKind.TEXT, text, null, null);
            }
            case "refusal" -> {
                return null;
            }
            case "input_image" -> {
                if (imageUrl != null) {
                    checkUrl(imageUrl, param("input[#].content[#].image_url", i, j));
                    if (imageUrl.regionMatches(true, 0, "data:", 0, 5)) {
                        ChatMedia.dataUrlComma(imageUrl, "input[#].content[#].image_url", i, j);
                    }
                    return new Part(PartKind.IMAGE_URL, imageUrl, null, null);
                }
                if (fileId != null) {
                    return fileIdPart(fileId, filename, param("input[#].content[#].file_id", i, j));
                }
                throw missing(param("input[#].content[#].image_url", i, j));
            }
            case "input_file" -> {
                if (fileData != null) {
                    if (fileData.regionMatches(true, 0, "data:", 0, 5)) {
                        ChatMedia.dataUrlComma(fileData, "input[#].content[#].file_data", i, j);
                    }
                    return new Part(PartKind.FILE, fileData, filename, null);
                }
                if (fileId != null) {
                    return fileIdPart(fileId, filename, param("input[#].content[#].file_id", i, j));
                }
                if (fileUrl != null) {
                    checkUrl(fileUrl, param("input[#].content[#].file_url", i, j));
                    return new Part(PartKind.IMAGE_URL, fileUrl, null, null);
                }
                throw missing(param("input[#].content[#].file_data", i, j));
            }
            default -> throw new OpenAiRequestException(param("input[#].content[#].type", i, j), "Invalid value: '"
                    + shorten(type) + "'. Supported values are: 'input_text', 'input_image', 'input_file',"
                    + " 'output_text' and 'refusal'.");
        }
    }

    private static Part fileIdPart(String fileId, String filename, String where) {
        String uri = ChatMedia.fileUri(fileId);
        if (uri == null) {
            throw new OpenAiRequestException(where, "Invalid file id '" + shorten(fileId)
                    + "': expected an id from POST /v1/files (file-...).");
        }
        return new Part(PartKind.FILE_ID, uri, filename, null);
    }

    private static void checkUrl(String url, String where) {
        if (url.regionMatches(true, 0, "data:", 0, 5) || url.regionMatches(true, 0, "https://", 0, 8)
                || url.regionMatches(true, 0, "http://", 0, 7)) {
            return;
        }
        throw new OpenAiRequestException(where, "Invalid URL: expected an http(s) URL or a base64 data URL.");
    }

    /** A function_call_output's {@code output}: a string, or parts whose texts are joined. */
    private static String output(JsonParser p, int i) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_STRING) {
            return p.getText();
        }
        if (t == JsonToken.VALUE_NULL) {
            return "";
        }
        if (t != JsonToken.START_ARRAY) {
            throw typeError("input[" + i + "].output", "a string or an array of content parts", p);
        }
        StringBuilder sb = new StringBuilder();
        int j = 0;
        while (Json.next(p) != JsonToken.END_ARRAY) {
            Part part = part(p, i, j++);
            if (part != null && part.kind() == PartKind.TEXT) {
                sb.append(part.value());
            } else if (part != null) {
                throw new OpenAiRequestException(param("input[#].output[#]", i, j - 1),
                        "function_call_output takes text parts only.");
            }
        }
        return sb.toString();
    }

    /** Tool call arguments (a JSON string) as a JSON object tree; non-objects are wrapped as {@code arguments}. */
    static Object arguments(String arguments) {
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

    // ------------------------------------------------------------------------------------------------ tools

    @SuppressWarnings("unchecked")
    private static void tools(JsonParser p, ResponsesRequest r) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return;
        }
        if (t != JsonToken.START_ARRAY) {
            throw typeError("tools", "an array", p);
        }
        List<Object> tree = (List<Object>) JsonTree.read(p);
        r.tools = tree;
        List<Tool> tools = new ArrayList<>();
        for (int k = 0; k < tree.size(); k++) {
            if (!(tree.get(k) instanceof Map<?, ?> m)) {
                throw new OpenAiRequestException("tools[" + k + "]", "Invalid type for 'tools[" + k
                        + "]': expected an object.");
            }
            Object type = m.get("type");
            if (!(type instanceof String s)) {
                throw missing("tools[" + k + "].type");
            }
            switch (s) {
                case "function" -> {
                    Object name = m.get("name");
                    if (!(name instanceof String n) || n.isEmpty()) {
                        throw missing("tools[" + k + "].name");
                    }
                    Object description = m.get("description");
                    Object parameters = m.get("parameters");
                    if (parameters == JsonTree.NULL) {
                        parameters = null;
                    }
                    if (parameters != null && !(parameters instanceof Map)) {
                        throw new OpenAiRequestException("tools[" + k + "].parameters", "Invalid type for 'tools["
                                + k + "].parameters': expected an object.");
                    }
                    Object cleaned;
                    try {
                        cleaned = SchemaCleaner.cleanParameters(parameters);
                    } catch (IllegalArgumentException e) {
                        throw new OpenAiRequestException("tools[" + k + "].parameters", e.getMessage());
                    }
                    tools.add(new Tool(n, description instanceof String d ? d : null, cleaned, k, false));
                }
                case "web_search", "web_search_preview", "web_search_2025_08_26",
                        "web_search_preview_2025_03_11" -> r.webSearch = true;
                default -> throw new OpenAiRequestException("tools[" + k + "].type", "Invalid value: '"
                        + shorten(s) + "'. This gateway supports 'function' and 'web_search' tools (mapped to"
                        + " Gemini's Google Search).");
            }
        }
        r.chat.tools = tools;
    }

    @SuppressWarnings("unchecked")
    private static void toolChoice(JsonParser p, ResponsesRequest r) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return;
        }
        ChatRequest c = r.chat;
        if (t == JsonToken.VALUE_STRING) {
            String v = p.getText();
            if (!v.equals("auto") && !v.equals("none") && !v.equals("required")) {
                throw new OpenAiRequestException("tool_choice", "Invalid value: '" + shorten(v)
                        + "'. Supported values are: 'none', 'auto', and 'required'.");
            }
            c.toolChoiceMode = v;
            r.toolChoice = v;
            return;
        }
        if (t != JsonToken.START_OBJECT) {
            throw typeError("tool_choice", "a string or an object", p);
        }
        Map<String, Object> m = (Map<String, Object>) JsonTree.read(p);
        r.toolChoice = m;
        Object type = m.get("type");
        if (!(type instanceof String s)) {
            throw missing("tool_choice.type");
        }
        switch (s) {
            case "function" -> {
                Object name = m.get("name");
                if (!(name instanceof String n)) {
                    throw missing("tool_choice.name");
                }
                c.toolChoiceMode = "required";
                c.toolChoiceNames = List.of(n);
            }
            case "allowed_tools" -> {
                Object mode = m.get("mode");
                Object list = m.get("tools");
                if (!(list instanceof List<?> tools)) {
                    throw missing("tool_choice.tools");
                }
                List<String> names = new ArrayList<>();
                for (Object o : tools) {
                    if (o instanceof Map<?, ?> tm && tm.get("name") instanceof String n) {
                        names.add(n);
                    }
                }
                if (mode == null || "auto".equals(mode)) {
                    c.toolChoiceMode = "auto";
                    c.allowedToolsAuto = true;
                } else if ("required".equals(mode)) {
                    c.toolChoiceMode = "required";
                } else {
                    throw new OpenAiRequestException("tool_choice.mode", "Invalid value: '" + mode
                            + "'. Supported values are: 'auto' and 'required'.");
                }
                c.toolChoiceNames = names;
            }
            case "web_search", "web_search_preview", "web_search_2025_08_26", "web_search_preview_2025_03_11" ->
                    c.toolChoiceMode = "auto"; // Gemini cannot be made to search; it may
            default -> throw new OpenAiRequestException("tool_choice.type", "Invalid value: '" + shorten(s)
                    + "'. Supported values are: 'function', 'allowed_tools' and 'web_search_preview'.");
        }
    }

    // ------------------------------------------------------------------------------------ text and reasoning

    @SuppressWarnings("unchecked")
    private static void text(JsonParser p, ResponsesRequest r) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return;
        }
        if (t != JsonToken.START_OBJECT) {
            throw typeError("text", "an object", p);
        }
        Map<String, Object> m = (Map<String, Object>) JsonTree.read(p);
        r.text = m;
        Object format = m.get("format");
        if (format == null || format == JsonTree.NULL) {
            return;
        }
        if (!(format instanceof Map<?, ?> f)) {
            throw new OpenAiRequestException("text.format", "Invalid type for 'text.format': expected an object.");
        }
        Object type = f.get("type");
        if (!(type instanceof String s)) {
            throw missing("text.format.type");
        }
        switch (s) {
            case "text" -> {
            }
            case "json_object" -> r.chat.responseFormat = s;
            case "json_schema" -> {
                Object schema = f.get("schema");
                if (!(schema instanceof Map)) {
                    throw missing("text.format.schema");
                }
                r.chat.responseFormat = s;
                try {
                    r.chat.responseSchema = SchemaCleaner.clean(schema);
                } catch (IllegalArgumentException e) {
                    throw new OpenAiRequestException("text.format.schema", e.getMessage());
                }
            }
            default -> throw new OpenAiRequestException("text.format.type", "Invalid value: '" + shorten(s)
                    + "'. Supported values are: 'text', 'json_object' and 'json_schema'.");
        }
    }

    @SuppressWarnings("unchecked")
    private static void reasoning(JsonParser p, ResponsesRequest r) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return;
        }
        if (t != JsonToken.START_OBJECT) {
            throw typeError("reasoning", "an object", p);
        }
        Map<String, Object> m = (Map<String, Object>) JsonTree.read(p);
        Object effort = m.get("effort");
        if (effort instanceof String e) {
            switch (e) {
                case "none", "minimal", "low", "medium", "high", "xhigh" -> r.chat.reasoningEffort = e;
                default -> throw new OpenAiRequestException("reasoning.effort", "Invalid value: '" + shorten(e)
                        + "'. Supported values are: 'none', 'minimal', 'low', 'medium', 'high' and 'xhigh'.");
            }
            r.effort = e;
        } else if (effort != null && effort != JsonTree.NULL) {
            throw new OpenAiRequestException("reasoning.effort", "Invalid type for 'reasoning.effort': expected a"
                    + " string.");
        }
        Object summary = m.get("summary");
        if (summary == null || summary == JsonTree.NULL) {
            summary = m.get("generate_summary"); // the older name
        }
        if (summary instanceof String s) {
            switch (s) {
                case "auto", "concise", "detailed" -> r.summary = s;
                default -> throw new OpenAiRequestException("reasoning.summary", "Invalid value: '" + shorten(s)
                        + "'. Supported values are: 'auto', 'concise' and 'detailed'.");
            }
        } else if (summary != null && summary != JsonTree.NULL) {
            throw new OpenAiRequestException("reasoning.summary", "Invalid type for 'reasoning.summary': expected a"
                    + " string.");
        }
        // Summaries only when asked for, as OpenAI does: effort alone thinks without showing it.
        r.chat.includeThoughts = r.summary != null && !"none".equals(r.effort);
    }

    private static OpenAiRequestException missing(String param) {
        return new OpenAiRequestException(param, "Missing required parameter: '" + param + "'.");
    }

    /** A client's value in an error message, cut to a readable length. */
    static String shorten(String s) {
        return s.length() > 64 ? s.substring(0, 64) + "..." : s;
    }

    /**
     * Names the function of every tool result in {@code input} from the calls before it: those of the stored
     * conversation ({@code earlier}, may be null), then those of the input.
     *
     * @throws OpenAiRequestException when a result's {@code call_id} matches no earlier call
     */
    static List<Message> nameResults(List<Message> earlier, List<Message> input) {
        Map<String, String> names = new HashMap<>();
        if (earlier != null) {
            for (Message m : earlier) {
                remember(names, m);
            }
        }
        List<Message> out = new ArrayList<>(input.size());
        for (Message m : input) {
            remember(names, m);
            if (m.role().equals("tool") && m.name() == null) {
                String fn = names.get(m.toolCallId());
                if (fn == null) {
                    throw new OpenAiRequestException("input[" + m.index() + "].call_id", "No function_call item"
                            + " before input[" + m.index() + "] has call_id '" + shorten(m.toolCallId()) + "'.");
                }
                m = new Message(m.index(), m.role(), m.parts(), m.contentNull(), null, m.toolCallId(), fn);
            }
            out.add(m);
        }
        return out;
    }

    private static void remember(Map<String, String> names, Message m) {
        if (m.toolCalls() != null) {
            for (ToolCall c : m.toolCalls()) {
                if (c.id() != null) {
                    names.put(c.id(), c.name());
                }
            }
        }
    }
}
