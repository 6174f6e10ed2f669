package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.gemgate.core.openai.ChatRequest.Tool;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static io.gemgate.core.openai.ParamReader.param;
import static io.gemgate.core.openai.ParamReader.schema;
import static io.gemgate.core.openai.ParamReader.string;
import static io.gemgate.core.openai.ParamReader.typeError;

/**
 * Function tools: reads {@code tools}, the legacy {@code functions}, {@code tool_choice} and the legacy
 * {@code function_call} (OpenAI's Chat Completions API reference, "Create chat completion"), and writes Gemini's
 * {@code tools[].functionDeclarations} and {@code toolConfig.functionCallingConfig} (Google's Gemini API reference,
 * {@code Tool}, {@code FunctionDeclaration} and {@code ToolConfig}; "Function calling" guide).
 *
 * <ul>
 *   <li>Only {@code function} tools are taken; their {@code parameters} are cleaned into the OpenAPI subset Gemini
 *       accepts by {@link SchemaCleaner} (a schema it cannot clean is a 400 naming the tool's parameters).</li>
 *   <li>{@code tools} win over {@code functions} when both are given.</li>
 *   <li>{@code tool_choice}: {@code none} → {@code NONE}, {@code auto} → {@code AUTO}, {@code required} →
 *       {@code ANY}; a named function → {@code ANY} + {@code allowedFunctionNames}. {@code allowed_tools} with mode
 *       {@code auto} keeps only the allowed declarations (Gemini takes {@code allowedFunctionNames} only with mode
 *       {@code ANY}); mode {@code required} → {@code ANY} + {@code allowedFunctionNames}. Without a choice nothing is
 *       sent (Gemini's default is {@code AUTO}); without declarations no {@code toolConfig} is sent.</li>
 *   <li>The legacy {@code function_call} is used when {@code tool_choice} is absent, in the same way.</li>
 *   <li>The model suffix {@code -search} adds Gemini's own {@code googleSearch} tool.</li>
 * </ul>
 *
 * <p>Called by {@link ChatRequestParser} (reading) and {@link GeminiRequestWriter} (writing). Stateless static
 * methods; thread-safe.
 */
final class ChatTools {
    private ChatTools() {
    }

    /**
     * Reads {@code tools} (or, {@code legacy}, {@code functions}) at the parser's current token: function tools
     * only, each schema cleaned by {@link SchemaCleaner#cleanParameters}.
     *
     * @return the declarations, or null for JSON null
     */
    static List<Tool> tools(JsonParser p, String field, boolean legacy) throws IOException {
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
                throw new OpenAiRequestException(
                        param(legacy ? "functions[#].parameters" : "tools[#].function.parameters", k, 0),
                        e.getMessage());
            }
            tools.add(new Tool(name, description, cleaned, k, legacy));
        }
        return tools;
    }

    /** Reads {@code tool_choice} (a mode, a named function or {@code allowed_tools}) into {@code r}. */
    static void toolChoice(JsonParser p, ChatRequest r) throws IOException {
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

    /** Reads the legacy {@code function_call} ({@code none}, {@code auto} or a named function) into {@code r}. */
    static void functionCall(JsonParser p, ChatRequest r) throws IOException {
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

    static List<Tool> declaredTools(ChatRequest r) {
        List<Tool> tools = r.tools != null && !r.tools.isEmpty() ? r.tools : r.functions;
        if (tools == null || tools.isEmpty()) {
            return List.of();
        }
        if (r.allowedToolsAuto && r.toolChoiceNames != null) {
            List<Tool> kept = new ArrayList<>();
            for (Tool t : tools) {
                if (r.toolChoiceNames.contains(t.name())) {
                    kept.add(t);
                }
            }
            return kept;
        }
        return tools;
    }

    /** Writes {@code tools}: the function declarations, then {@code googleSearch} when {@code search}. */
    static void writeTools(JsonGenerator g, List<Tool> tools, boolean search) throws IOException {
        if (tools.isEmpty() && !search) {
            return;
        }
        g.writeArrayFieldStart("tools");
        if (!tools.isEmpty()) {
            g.writeStartObject();
            g.writeArrayFieldStart("functionDeclarations");
            for (Tool t : tools) {
                g.writeStartObject();
                g.writeStringField("name", t.name());
                if (t.description() != null && !t.description().isEmpty()) {
                    g.writeStringField("description", t.description());
                }
                if (t.parameters() != null) {
                    g.writeFieldName("parameters");
                    JsonTree.write(g, t.parameters());
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

    /** Writes {@code toolConfig.functionCallingConfig} when the request chose a mode and declares tools. */
    static void writeToolConfig(JsonGenerator g, ChatRequest r, List<Tool> declared) throws IOException {
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
}
