package io.gemgate.core.anthropic;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.gemgate.core.anthropic.MessagesRequest.Block;
import io.gemgate.core.anthropic.MessagesRequest.Kind;
import io.gemgate.core.anthropic.MessagesRequest.Message;
import io.gemgate.core.anthropic.MessagesRequest.Tool;
import io.gemgate.core.openai.TranslationParts;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads a Messages API body (Anthropic's API reference, "Messages": create, count tokens) into a
 * {@link MessagesRequest} in one pass of Jackson's streaming parser. Known members: {@code model}, {@code max_tokens},
 * {@code messages}, {@code system}, {@code stream}, {@code temperature}, {@code top_p}, {@code top_k},
 * {@code stop_sequences}, {@code tools}, {@code tool_choice}, {@code thinking}; {@code metadata},
 * {@code service_tier}, {@code container}, {@code mcp_servers}, {@code context_management} and unknown members are
 * skipped, as is {@code cache_control} everywhere.
 *
 * <p>Content blocks: {@code text}; {@code image} and {@code document} with a {@code base64}, {@code url} or (document)
 * {@code text} or {@code content} source; {@code tool_use}; {@code tool_result} (content a string or text and image
 * blocks, {@code is_error}); {@code thinking} and {@code redacted_thinking} (only their signature or data is kept);
 * the server tool blocks {@code server_tool_use} and {@code web_search_tool_result} of earlier turns are dropped.
 *
 * <p>Refused with {@link AnthropicRequestException} (400): a body that is not a JSON object, a missing
 * {@code model}, {@code messages} or (create) {@code max_tokens}, members of the wrong JSON type, a role other than
 * {@code user} or {@code assistant}, an unknown block or source type, a {@code file} source (Anthropic's Files API is
 * not Gemini's), {@code thinking.type: enabled} without {@code budget_tokens}, a client tool without {@code name},
 * tools of Anthropic's own types other than web search, an unknown {@code tool_choice.type}, {@code tool_choice: tool}
 * without {@code name}.
 *
 * <p>Stateless static methods; thread-safe.
 */
final class MessagesRequestParser {
    private MessagesRequestParser() {
    }

    /**
     * Reads the body from the parser's start to its end.
     *
     * @param count a {@code count_tokens} body: {@code max_tokens} is not required
     * @throws AnthropicRequestException when the request is invalid
     */
    static MessagesRequest read(JsonParser p, boolean count) throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            throw new AnthropicRequestException(null, "The request body must be a JSON object.");
        }
        MessagesRequest r = new MessagesRequest();
        while (TranslationParts.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = TranslationParts.next(p);
            switch (f) {
                case "model" -> r.model = string(p, "model");
                case "max_tokens" -> r.maxTokens = integer(p, "max_tokens");
                case "messages" -> r.messages = messages(p, r);
                case "system" -> r.system = system(p);
                case "stream" -> r.stream = bool(p, "stream");
                case "temperature" -> r.temperature = number(p, "temperature");
                case "top_p" -> r.topP = number(p, "top_p");
                case "top_k" -> r.topK = integer(p, "top_k");
                case "stop_sequences" -> r.stopSequences = strings(p, "stop_sequences");
                case "tools" -> tools(p, r);
                case "tool_choice" -> toolChoice(p, r);
                case "thinking" -> thinking(p, r);
                case "output_config" -> outputConfig(p, r);
                case "output_format" -> outputFormat(p, r, "output_format");
                default -> {
                    if (t.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        }
        TranslationParts.expectEnd(p);
        if (r.model == null || r.model.isBlank()) {
            throw new AnthropicRequestException("model", "Field required");
        }
        if (r.messages == null) {
            throw new AnthropicRequestException("messages", "Field required");
        }
        if (r.maxTokens == null && !count) {
            throw new AnthropicRequestException("max_tokens", "Field required");
        }
        if (r.maxTokens != null && r.maxTokens < 1) {
            throw new AnthropicRequestException("max_tokens", "Input should be greater than or equal to 1");
        }
        if ("enabled".equals(r.thinking) && r.maxTokens != null && r.thinkingBudget >= r.maxTokens) {
            throw new AnthropicRequestException("max_tokens", "`max_tokens` must be greater than "
                    + "`thinking.budget_tokens`.");
        }
        return r;
    }

    private static List<Message> messages(JsonParser p, MessagesRequest r) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw typeError("messages", "a valid list", p);
        }
        List<Message> list = new ArrayList<>();
        int i = 0;
        while (TranslationParts.next(p) != JsonToken.END_ARRAY) {
            Message m = message(p, i++, r);
            if (m != null) {
                list.add(m);
            }
        }
        return list;
    }

    /** A message; null for a {@code system} one, whose text goes to {@code r.systemMessages}. */
    private static Message message(JsonParser p, int i, MessagesRequest r) throws IOException {
        String where = "messages." + i;
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw typeError(where, "a valid dictionary", p);
        }
        String role = null;
        List<Block> blocks = null;
        while (TranslationParts.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = TranslationParts.next(p);
            if (f.equals("role")) {
                role = string(p, where + ".role");
            } else if (f.equals("content")) {
                blocks = content(p, where + ".content", false);
            } else if (t.isStructStart()) {
                p.skipChildren();
            }
        }
        if (role == null) {
            throw new AnthropicRequestException(where + ".role", "Field required");
        }
        if (!role.equals("user") && !role.equals("assistant") && !role.equals("system")) {
            throw new AnthropicRequestException(where + ".role", "Input should be 'user', 'assistant' or 'system'");
        }
        if (blocks == null) {
            throw new AnthropicRequestException(where + ".content", "Field required");
        }
        if (role.equals("system")) {
            for (Block b : blocks) {
                if (b.kind() != Kind.TEXT) {
                    throw new AnthropicRequestException(b.where() + ".type", "system messages take text only");
                }
                if (r.systemMessages == null) {
                    r.systemMessages = new ArrayList<>();
                }
                r.systemMessages.add(b.data());
            }
            return null;
        }
        return new Message(i, role.equals("assistant"), blocks);
    }

    /** A string or an array of blocks; {@code inResult}: the content of a {@code tool_result} (text and images). */
    private static List<Block> content(JsonParser p, String where, boolean inResult) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_STRING) {
            List<Block> one = new ArrayList<>(1);
            one.add(Block.text(p.getText(), where));
            return one;
        }
        if (t != JsonToken.START_ARRAY) {
            throw typeError(where, "a valid string or list of content blocks", p);
        }
        List<Block> blocks = new ArrayList<>();
        int j = 0;
        while (TranslationParts.next(p) != JsonToken.END_ARRAY) {
            Block b = block(p, where + "." + j++, inResult);
            if (b != null) {
                blocks.add(b);
            }
        }
        return blocks;
    }

    private static Block block(JsonParser p, String where, boolean inResult) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw typeError(where, "a valid dictionary", p);
        }
        String type = null;
        String text = null;
        String id = null;
        String name = null;
        Object input = null;
        String toolUseId = null;
        List<Block> inner = null;
        boolean isError = false;
        String signature = null;
        String data = null;
        Source source = null;
        String title = null;
        while (TranslationParts.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = TranslationParts.next(p);
            switch (f) {
                case "type" -> type = string(p, where + ".type");
                case "text" -> text = string(p, where + ".text");
                case "id" -> id = string(p, where + ".id");
                case "name" -> name = string(p, where + ".name");
                case "input" -> {
                    if (t != JsonToken.START_OBJECT) {
                        throw typeError(where + ".input", "a valid dictionary", p);
                    }
                    input = TranslationParts.readTree(p);
                }
                case "tool_use_id" -> toolUseId = string(p, where + ".tool_use_id");
                case "content" -> inner = t == JsonToken.VALUE_NULL ? null : content(p, where + ".content", true);
                case "is_error" -> isError = bool(p, where + ".is_error");
                case "signature" -> signature = string(p, where + ".signature");
                case "data" -> data = string(p, where + ".data");
                case "thinking" -> string(p, where + ".thinking");
                case "source" -> source = source(p, where + ".source");
                case "title" -> title = string(p, where + ".title");
                default -> {
                    if (t.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        }
        if (type == null) {
            throw new AnthropicRequestException(where + ".type", "Field required");
        }
        if (inResult && !type.equals("text") && !type.equals("image") && !type.equals("document")) {
            throw new AnthropicRequestException(where + ".type", "Input tag '" + type + "' is not one of the "
                    + "expected tags in a tool result: 'text', 'image', 'document'");
        }
        switch (type) {
            case "text" -> {
                if (text == null) {
                    throw new AnthropicRequestException(where + ".text", "Field required");
                }
                return Block.text(text, where);
            }
            case "image", "document" -> {
                if (source == null) {
                    throw new AnthropicRequestException(where + ".source", "Field required");
                }
                return media(type, source, title, where);
            }
            case "tool_use" -> {
                if (id == null || id.isEmpty()) {
                    throw new AnthropicRequestException(where + ".id", "Field required");
                }
                if (name == null || name.isEmpty()) {
                    throw new AnthropicRequestException(where + ".name", "Field required");
                }
                return new Block(Kind.TOOL_USE, null, null, id, name, input == null ? Map.of() : input, null,
                        false, where);
            }
            case "tool_result" -> {
                if (toolUseId == null || toolUseId.isEmpty()) {
                    throw new AnthropicRequestException(where + ".tool_use_id", "Field required");
                }
                return new Block(Kind.TOOL_RESULT, null, null, toolUseId, null, null,
                        inner == null ? List.of() : inner, isError, where);
            }
            case "thinking" -> {
                return new Block(Kind.THINKING, null, signature, null, null, null, null, false, where);
            }
            case "redacted_thinking" -> {
                return new Block(Kind.THINKING, null, data, null, null, null, null, false, where);
            }
            case "server_tool_use", "web_search_tool_result", "web_fetch_tool_result", "code_execution_tool_result",
                 "bash_code_execution_tool_result", "text_editor_code_execution_tool_result", "container_upload",
                 "mcp_tool_use", "mcp_tool_result", "search_result" -> {
                return null; // Anthropic's server tools: the results are in the text of the turn
            }
            default -> throw new AnthropicRequestException(where + ".type", "Input tag '" + type
                    + "' found using 'type' does not match any of the expected tags: 'text', 'image', 'document', "
                    + "'tool_use', 'tool_result', 'thinking', 'redacted_thinking'");
        }
    }

    /** A content block's {@code source}. */
    private record Source(String type, String mediaType, String data, String url, List<Block> content) {
    }

    private static Source source(JsonParser p, String where) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw typeError(where, "a valid dictionary", p);
        }
        String type = null;
        String mediaType = null;
        String data = null;
        String url = null;
        List<Block> content = null;
        while (TranslationParts.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = TranslationParts.next(p);
            switch (f) {
                case "type" -> type = string(p, where + ".type");
                case "media_type" -> mediaType = string(p, where + ".media_type");
                case "data" -> data = string(p, where + ".data");
                case "url" -> url = string(p, where + ".url");
                case "content" -> content = content(p, where + ".content", true);
                default -> {
                    if (t.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        }
        if (type == null) {
            throw new AnthropicRequestException(where + ".type", "Field required");
        }
        return new Source(type, mediaType, data, url, content);
    }

    private static Block media(String kind, Source s, String title, String where) {
        String src = where + ".source";
        switch (s.type()) {
            case "base64" -> {
                if (s.data() == null) {
                    throw new AnthropicRequestException(src + ".data", "Field required");
                }
                String mime = s.mediaType();
                if (mime == null) {
                    if (kind.equals("image")) {
                        throw new AnthropicRequestException(src + ".media_type", "Field required");
                    }
                    mime = "application/pdf";
                }
                mime = mime.trim().toLowerCase(Locale.ROOT);
                if (kind.equals("image") && !mime.startsWith("image/")) {
                    throw new AnthropicRequestException(src + ".media_type", "Input should be 'image/jpeg', "
                            + "'image/png', 'image/gif' or 'image/webp'");
                }
                return new Block(Kind.BASE64, mime, s.data(), null, null, null, null, false, src + ".data");
            }
            case "url" -> {
                String url = s.url();
                if (url == null) {
                    throw new AnthropicRequestException(src + ".url", "Field required");
                }
                if (!url.regionMatches(true, 0, "https://", 0, 8) && !url.regionMatches(true, 0, "http://", 0, 7)) {
                    throw new AnthropicRequestException(src + ".url", "Only http and https URLs are supported.");
                }
                return new Block(Kind.URL, s.mediaType(), url, null, null, null, null, false, src + ".url");
            }
            case "text" -> {
                if (!kind.equals("document")) {
                    break;
                }
                if (s.data() == null) {
                    throw new AnthropicRequestException(src + ".data", "Field required");
                }
                return Block.text(title == null || title.isBlank() ? s.data() : title + "\n\n" + s.data(), where);
            }
            case "content" -> {
                if (!kind.equals("document")) {
                    break;
                }
                StringBuilder sb = new StringBuilder(title == null || title.isBlank() ? "" : title + "\n\n");
                if (s.content() != null) {
                    for (Block b : s.content()) {
                        if (b.kind() == Kind.TEXT) {
                            sb.append(sb.length() > 0 && b.data().length() > 0 ? "\n" : "").append(b.data());
                        }
                    }
                }
                return Block.text(sb.toString(), where);
            }
            case "file" -> throw new AnthropicRequestException(src + ".type", "'file' sources (Anthropic's Files "
                    + "API) are not supported by this gateway: send the data as base64 or a URL.");
            default -> {
            }
        }
        throw new AnthropicRequestException(src + ".type", "Input tag '" + s.type() + "' does not match any of the "
                + "expected tags: " + (kind.equals("image") ? "'base64', 'url'" : "'base64', 'url', 'text', 'content'"));
    }

    private static List<String> system(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        List<String> texts = new ArrayList<>();
        if (t == JsonToken.VALUE_STRING) {
            texts.add(p.getText());
            return texts;
        }
        if (t != JsonToken.START_ARRAY) {
            throw typeError("system", "a valid string or list of text blocks", p);
        }
        int j = 0;
        while (TranslationParts.next(p) != JsonToken.END_ARRAY) {
            Block b = block(p, "system." + j, false);
            if (b == null || b.kind() != Kind.TEXT) {
                throw new AnthropicRequestException("system." + j + ".type", "Input should be 'text'");
            }
            texts.add(b.data());
            j++;
        }
        return texts;
    }

    private static void tools(JsonParser p, MessagesRequest r) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return;
        }
        if (t != JsonToken.START_ARRAY) {
            throw typeError("tools", "a valid list", p);
        }
        List<Tool> tools = new ArrayList<>();
        int k = 0;
        while (TranslationParts.next(p) != JsonToken.END_ARRAY) {
            String where = "tools." + k++;
            if (p.currentToken() != JsonToken.START_OBJECT) {
                throw typeError(where, "a valid dictionary", p);
            }
            String type = null;
            String name = null;
            String description = null;
            Object schema = null;
            while (TranslationParts.next(p) != JsonToken.END_OBJECT) {
                String f = p.currentName();
                JsonToken u = TranslationParts.next(p);
                switch (f) {
                    case "type" -> type = string(p, where + ".type");
                    case "name" -> name = string(p, where + ".name");
                    case "description" -> description = string(p, where + ".description");
                    case "input_schema" -> {
                        if (u != JsonToken.START_OBJECT) {
                            throw typeError(where + ".input_schema", "a valid dictionary", p);
                        }
                        schema = TranslationParts.readTree(p);
                    }
                    default -> {
                        if (u.isStructStart()) {
                            p.skipChildren();
                        }
                    }
                }
            }
            if (type != null && type.startsWith("web_search")) {
                r.webSearch = true;
                continue;
            }
            if (type != null && !type.equals("custom")) {
                throw new AnthropicRequestException(where + ".type", "Tool type '" + type + "' is not supported "
                        + "by this gateway: declare it as a client tool with a name and an input_schema.");
            }
            if (name == null || name.isEmpty()) {
                throw new AnthropicRequestException(where + ".name", "Field required");
            }
            Object cleaned;
            try {
                cleaned = TranslationParts.cleanParameters(schema);
            } catch (IllegalArgumentException e) {
                throw new AnthropicRequestException(where + ".input_schema", e.getMessage());
            }
            tools.add(new Tool(name, description, cleaned));
        }
        r.tools = tools;
    }

    /**
     * {@code output_config} (Anthropic's API reference, "Structured outputs"): its {@code format} is read; its
     * {@code effort} and anything else are ignored.
     */
    private static void outputConfig(JsonParser p, MessagesRequest r) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return;
        }
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw typeError("output_config", "a valid dictionary", p);
        }
        while (TranslationParts.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = TranslationParts.next(p);
            if (f.equals("format")) {
                outputFormat(p, r, "output_config.format");
            } else if (t.isStructStart()) {
                p.skipChildren();
            }
        }
    }

    /**
     * A structured output format, {@code {"type":"json_schema","schema":{...}}}: the answer is JSON
     * ({@code responseMimeType: application/json}) following the schema ({@code responseSchema}, cleaned as tool schemas
     * are).
     */
    private static void outputFormat(JsonParser p, MessagesRequest r, String where) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return;
        }
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw typeError(where, "a valid dictionary", p);
        }
        String type = null;
        Object schema = null;
        while (TranslationParts.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = TranslationParts.next(p);
            switch (f) {
                case "type" -> type = string(p, where + ".type");
                case "schema" -> {
                    if (t != JsonToken.START_OBJECT) {
                        throw typeError(where + ".schema", "a valid dictionary", p);
                    }
                    schema = TranslationParts.readTree(p);
                }
                default -> {
                    if (t.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        }
        if (!"json_schema".equals(type)) {
            throw new AnthropicRequestException(where + ".type", type == null ? "Field required"
                    : "Input tag '" + type + "' found using 'type' does not match any of the expected tags: "
                    + "'json_schema'");
        }
        if (schema == null) {
            throw new AnthropicRequestException(where + ".schema", "Field required");
        }
        try {
            r.outputSchema = TranslationParts.cleanSchema(schema);
        } catch (IllegalArgumentException e) {
            throw new AnthropicRequestException(where + ".schema", e.getMessage());
        }
        r.jsonOutput = true;
    }

    private static void toolChoice(JsonParser p, MessagesRequest r) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return;
        }
        if (t != JsonToken.START_OBJECT) {
            throw typeError("tool_choice", "a valid dictionary", p);
        }
        String type = null;
        String name = null;
        while (TranslationParts.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken u = TranslationParts.next(p);
            if (f.equals("type")) {
                type = string(p, "tool_choice.type");
            } else if (f.equals("name")) {
                name = string(p, "tool_choice.name");
            } else if (u.isStructStart()) {
                p.skipChildren();
            }
        }
        if (type == null) {
            throw new AnthropicRequestException("tool_choice.type", "Field required");
        }
        switch (type) {
            case "auto", "any", "none" -> r.toolChoice = type;
            case "tool" -> {
                if (name == null || name.isEmpty()) {
                    throw new AnthropicRequestException("tool_choice.name", "Field required");
                }
                r.toolChoice = type;
                r.toolChoiceName = name;
            }
            default -> throw new AnthropicRequestException("tool_choice.type", "Input tag '" + type
                    + "' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'");
        }
    }

    private static void thinking(JsonParser p, MessagesRequest r) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return;
        }
        if (t != JsonToken.START_OBJECT) {
            throw typeError("thinking", "a valid dictionary", p);
        }
        String type = null;
        Long budget = null;
        while (TranslationParts.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken u = TranslationParts.next(p);
            if (f.equals("type")) {
                type = string(p, "thinking.type");
            } else if (f.equals("budget_tokens")) {
                budget = integer(p, "thinking.budget_tokens");
            } else if (u.isStructStart()) {
                p.skipChildren();
            }
        }
        if (type == null) {
            throw new AnthropicRequestException("thinking.type", "Field required");
        }
        switch (type) {
            case "enabled" -> {
                if (budget == null) {
                    throw new AnthropicRequestException("thinking.enabled.budget_tokens", "Field required");
                }
                if (budget < 0) {
                    throw new AnthropicRequestException("thinking.enabled.budget_tokens",
                            "Input should be greater than or equal to 0");
                }
                r.thinking = type;
                r.thinkingBudget = budget;
            }
            case "disabled" -> r.thinking = type;
            case "adaptive", "between_tools" -> r.thinking = "adaptive";
            default -> throw new AnthropicRequestException("thinking.type", "Input tag '" + type
                    + "' does not match any of the expected tags: 'enabled', 'adaptive', 'disabled'");
        }
    }

    // ---- typed reads, each a 400 naming the field on a wrong JSON type

    static AnthropicRequestException typeError(String field, String expected, JsonParser p) {
        return new AnthropicRequestException(field, "Input should be " + expected + " (got "
                + tokenType(p.currentToken()) + ")");
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

    private static String string(JsonParser p, String field) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_STRING) {
            return p.getText();
        }
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        throw typeError(field, "a valid string", p);
    }

    private static Double number(JsonParser p, String field) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_NUMBER_FLOAT) {
            return p.getDoubleValue();
        }
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        throw typeError(field, "a valid number", p);
    }

    private static Long integer(JsonParser p, String field) throws IOException {
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
        throw typeError(field, "a valid integer", p);
    }

    private static boolean bool(JsonParser p, String field) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_TRUE) {
            return true;
        }
        if (t == JsonToken.VALUE_FALSE || t == JsonToken.VALUE_NULL) {
            return false;
        }
        throw typeError(field, "a valid boolean", p);
    }

    private static List<String> strings(JsonParser p, String field) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        if (t != JsonToken.START_ARRAY) {
            throw typeError(field, "a valid list", p);
        }
        List<String> out = new ArrayList<>();
        int k = 0;
        while (TranslationParts.next(p) != JsonToken.END_ARRAY) {
            if (p.currentToken() != JsonToken.VALUE_STRING) {
                throw typeError(field + "." + k, "a valid string", p);
            }
            out.add(p.getText());
            k++;
        }
        return out;
    }
}
