package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.gemgate.core.openai.ChatRequest.Message;
import io.gemgate.core.openai.ChatRequest.Part;
import io.gemgate.core.openai.ChatRequest.PartKind;
import io.gemgate.core.openai.ChatRequest.ToolCall;

import java.io.IOException;
import java.util.ArrayList;
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
 * Reads an OpenAI {@code POST /v1/chat/completions} body (OpenAI's Chat Completions API reference, "Create chat
 * completion") into a {@link ChatRequest}, in one pass of Jackson's streaming parser: the top-level members, the
 * messages and their roles, assistant tool calls, and Google's extensions ({@code google}, {@code extra_body.google}
 * as in Google's "OpenAI compatibility" page of the Gemini API docs). Content parts are read by {@link ChatMedia},
 * tools and tool choice by {@link ChatTools}, {@code thinking_config} by {@link ThinkingPolicy}, and
 * {@code response_format} and {@code stop} by {@link GenerationConfigWriter}. Unknown members are skipped.
 *
 * <p>Shape errors are thrown here as {@link OpenAiRequestException} (400, naming the param): a body that is not a
 * JSON object, missing or empty {@code messages}, a message without a known {@code role}, members of the wrong JSON
 * type, user messages without content, tool messages without {@code tool_call_id}, non-text parts in system,
 * developer or tool messages.
 *
 * <p>Called by {@link ChatRequestTranslator}. Stateless static methods; thread-safe.
 */
final class ChatRequestParser {
    private ChatRequestParser() {
    }

    /**
     * Reads the body from the parser's start to its end.
     *
     * @throws OpenAiRequestException when the request is invalid
     */
    static ChatRequest read(JsonParser p) throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            throw new OpenAiRequestException(null, "The request body must be a JSON object.");
        }
        ChatRequest r = new ChatRequest();
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
                case "stop" -> r.stop = GenerationConfigWriter.stop(p);
                case "tools" -> r.tools = ChatTools.tools(p, "tools", false);
                case "functions" -> r.functions = ChatTools.tools(p, "functions", true);
                case "tool_choice" -> ChatTools.toolChoice(p, r);
                case "function_call" -> ChatTools.functionCall(p, r);
                case "response_format" -> GenerationConfigWriter.responseFormat(p, r);
                case "reasoning_effort" -> r.reasoningEffort = string(p, "reasoning_effort");
                case "thinking_config" -> ThinkingPolicy.readConfig(p, r, "thinking_config");
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

    private static List<Message> messages(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw typeError("messages", "an array", p);
        }
        List<Message> list = new ArrayList<>();
        while (Json.next(p) != JsonToken.END_ARRAY) {
            list.add(message(p, list.size()));
        }
        return list;
    }

    private static Message message(JsonParser p, int i) throws IOException {
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
                        if (parts.get(j).kind() != PartKind.TEXT) {
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
            if (parts.get(j).kind() != PartKind.TEXT) {
                throw new OpenAiRequestException("messages[" + i + "].content[" + j + "].type",
                        "tool results take text content parts only.");
            }
        }
    }

    /** Content: a string, an array of parts, or null (returns null). */
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
            throw typeError("messages[" + i + "].content", "a string or an array of content parts", p);
        }
        List<Part> parts = new ArrayList<>();
        while (Json.next(p) != JsonToken.END_ARRAY) {
            Part part = ChatMedia.part(p, i, parts.size());
            if (part != null) {
                parts.add(part);
            }
        }
        return parts;
    }

    private static List<ToolCall> toolCalls(JsonParser p, int i) throws IOException {
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
                            throw new OpenAiRequestException(param("messages[#].tool_calls[#].type", i, k),
                                    "Invalid value: '" + type + "'. Supported values are: 'function'.");
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

    private static ToolCall legacyFunctionCall(JsonParser p, int i) throws IOException {
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

    private static void streamOptions(JsonParser p, ChatRequest r) throws IOException {
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

    private static void extraBody(JsonParser p, ChatRequest r) throws IOException {
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

    private static void google(JsonParser p, ChatRequest r, String where) throws IOException {
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
                case "thinking_config", "thinkingConfig" -> ThinkingPolicy.readConfig(p, r, where + "." + f);
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

}
