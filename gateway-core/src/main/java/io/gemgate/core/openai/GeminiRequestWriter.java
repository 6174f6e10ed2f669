package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.gemgate.core.openai.ChatRequest.Message;
import io.gemgate.core.openai.ChatRequest.Part;
import io.gemgate.core.openai.ChatRequest.PartKind;
import io.gemgate.core.openai.ChatRequest.Tool;
import io.gemgate.core.openai.ChatRequest.ToolCall;
import io.gemgate.core.settings.Thinking;

import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Writes the Gemini {@code generateContent} body of a parsed {@link ChatRequest} with Jackson's streaming generator
 * (Google's Gemini API reference, {@code models.generateContent} request body), in this order: {@code contents},
 * {@code systemInstruction}, {@code tools} and {@code toolConfig} ({@link ChatTools}), {@code safetySettings},
 * {@code generationConfig} ({@link GenerationConfigWriter}), {@code cachedContent}. The order of the parts is also the
 * order in which errors found while writing are thrown.
 *
 * <ul>
 *   <li>{@code system} and {@code developer} messages, wherever they appear, go to {@code systemInstruction}, one text
 *       part per message part, in order, after the gateway's own system instruction (a live setting) when there is
 *       one.</li>
 *   <li>Consecutive turns of one Gemini role are merged, so tool results and a following user message form one
 *       {@code user} turn. Empty text parts and messages left without parts are skipped (Gemini refuses them); a
 *       conversation left with no turn is a 400.</li>
 *   <li>User parts are written by {@link ChatMedia}.</li>
 *   <li>Thought signatures are restored on replayed {@code functionCall} parts from
 *       {@code tool_calls[i].extra_content.google.thought_signature}, else from the tool call id
 *       ({@link ThoughtSignatures}); on models that enforce them, the first call of a model turn without one gets
 *       {@link ThoughtSignatures#SKIP_VALIDATOR}. Gemini's own {@code functionCall.id} is not carried through the
 *       OpenAI id, so replayed calls and their {@code functionResponse}s go without {@code id} (Gemini pairs them by
 *       name and order).</li>
 *   <li>A tool result whose content is a JSON object is the {@code response} as is; a JSON array becomes
 *       {@code {"result": [..]}}; anything else {@code {"result": "<text>"}}. The function name comes from the
 *       earlier assistant tool call with the same id, else from the message's {@code name}, else 400.</li>
 *   <li>{@code safety_settings} from the request are passed on whole; without them, the configured default threshold
 *       (if any) is applied to the four standard harm categories.</li>
 * </ul>
 *
 * <p>Created once per {@link ChatRequestTranslator}; thread-safe and stateless apart from the shared
 * {@link ThoughtSignatures}.
 */
final class GeminiRequestWriter {
    static final Set<String> SAFETY_THRESHOLDS = Set.of("BLOCK_NONE", "OFF", "BLOCK_ONLY_HIGH",
            "BLOCK_MEDIUM_AND_ABOVE", "BLOCK_LOW_AND_ABOVE");
    private static final List<String> SAFETY_CATEGORIES = List.of("HARM_CATEGORY_HARASSMENT",
            "HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_SEXUALLY_EXPLICIT", "HARM_CATEGORY_DANGEROUS_CONTENT");

    private final ThoughtSignatures signatures;
    private final String defaultSafetyThreshold;

    /**
     * @param signatures             where thought signatures are found again
     * @param defaultSafetyThreshold one of {@link #SAFETY_THRESHOLDS}, or null for Gemini's defaults
     * @throws IllegalArgumentException when the threshold is not one of {@link #SAFETY_THRESHOLDS}
     */
    GeminiRequestWriter(ThoughtSignatures signatures, String defaultSafetyThreshold) {
        this.signatures = Objects.requireNonNull(signatures, "signatures");
        if (defaultSafetyThreshold != null && !SAFETY_THRESHOLDS.contains(defaultSafetyThreshold)) {
            throw new IllegalArgumentException("defaultSafetyThreshold: " + defaultSafetyThreshold
                    + " (expected: one of " + SAFETY_THRESHOLDS + ")");
        }
        this.defaultSafetyThreshold = defaultSafetyThreshold;
    }

    /**
     * Writes the Gemini body of a parsed request.
     *
     * @param sizeHint          about the length of the Gemini body (the OpenAI body's length plus
     *                          {@code systemInstruction}'s)
     * @param defaultThinking   the gateway's default thinking level ({@link ThinkingPolicy})
     * @param systemInstruction text put first in {@code systemInstruction}; empty for none
     * @throws OpenAiRequestException when the request is invalid in a way only writing finds (base64 data, a tool
     *                                result without its call, a conversation of system messages only, an unknown
     *                                {@code reasoning_effort})
     */
    TranslatedChatRequest write(ChatRequest r, ResolvedModel model, int sizeHint, Thinking defaultThinking,
                                String systemInstruction) throws IOException {
        boolean strictSignatures = ModelFamily.enforcesSignatures(model.name());
        int n = GenerationConfigWriter.candidates(r);

        ByteArrayBuilder out = new ByteArrayBuilder(Math.max(512, Math.min(sizeHint + 512, 1 << 20)));
        boolean reasoning;
        try (JsonGenerator g = Json.generator(out)) {
            g.writeStartObject();
            writeContents(g, r.messages, strictSignatures);
            writeSystemInstruction(g, systemInstruction, r.messages);
            List<Tool> declared = ChatTools.declaredTools(r);
            ChatTools.writeTools(g, declared, model.search());
            ChatTools.writeToolConfig(g, r, declared);
            writeSafety(g, r);
            reasoning = GenerationConfigWriter.write(g, r, model, n, defaultThinking);
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
            String role = switch (m.role()) {
                case "user", "tool", "function" -> "user";
                case "assistant" -> "model";
                default -> null; // system and developer: systemInstruction
            };
            if (role == null || !hasParts(m)) {
                if (m.toolCalls() != null) {
                    remember(callNames, m.toolCalls());
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
            switch (m.role()) {
                case "user" -> ChatMedia.writeUserParts(g, m);
                case "assistant" -> {
                    writeTextParts(g, m.parts());
                    if (m.toolCalls() != null) {
                        for (ToolCall c : m.toolCalls()) {
                            writeFunctionCall(g, c, firstCallOfTurn && strictSignatures);
                            firstCallOfTurn = false;
                        }
                        remember(callNames, m.toolCalls());
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
            if (c.id() != null) {
                callNames.put(c.id(), c.name());
            }
        }
    }

    private static boolean hasParts(Message m) {
        switch (m.role()) {
            case "tool", "function":
                return true;
            case "assistant":
                if (m.toolCalls() != null && !m.toolCalls().isEmpty()) {
                    return true;
                }
                break;
            default:
                break;
        }
        if (m.parts() == null) {
            return false;
        }
        for (Part part : m.parts()) {
            if (part.kind() != PartKind.TEXT || !part.value().isEmpty()) {
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
            if (part.kind() == PartKind.TEXT && !part.value().isEmpty()) {
                g.writeStartObject();
                g.writeStringField("text", part.value());
                g.writeEndObject();
            }
        }
    }
    private void writeFunctionCall(JsonGenerator g, ToolCall c, boolean needsSignature) throws IOException {
        String signature = c.signature();
        if (signature == null && c.id() != null) {
            signature = signatures.signatureOf(c.id());
        }
        if (signature == null && needsSignature) {
            signature = ThoughtSignatures.SKIP_VALIDATOR;
        }
        g.writeStartObject();
        g.writeObjectFieldStart("functionCall");
        g.writeStringField("name", c.name());
        g.writeFieldName("args");
        JsonTree.write(g, c.args());
        g.writeEndObject();
        if (signature != null) {
            g.writeStringField("thoughtSignature", signature);
        }
        g.writeEndObject();
    }

    private static void writeFunctionResponse(JsonGenerator g, Message m, Map<String, String> callNames)
            throws IOException {
        String name = m.role().equals("function") ? m.name() : callNames.get(m.toolCallId());
        if (name == null) {
            name = m.name();
        }
        if (name == null) {
            throw new OpenAiRequestException("messages[" + m.index() + "].tool_call_id", "No assistant message before "
                    + "messages[" + m.index() + "] has a tool call with id '" + m.toolCallId() + "'.");
        }
        String text = joinText(m.parts());
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
            return parts.get(0).value();
        }
        StringBuilder sb = new StringBuilder();
        for (Part part : parts) {
            sb.append(part.value());
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
            if (!m.role().equals("system") && !m.role().equals("developer") || m.parts() == null) {
                continue;
            }
            for (Part part : m.parts()) {
                if (part.value().isEmpty()) {
                    continue;
                }
                if (!open) {
                    g.writeObjectFieldStart("systemInstruction");
                    g.writeArrayFieldStart("parts");
                    open = true;
                }
                g.writeStartObject();
                g.writeStringField("text", part.value());
                g.writeEndObject();
            }
        }
        if (open) {
            g.writeEndArray();
            g.writeEndObject();
        }
    }

    private void writeSafety(JsonGenerator g, ChatRequest r) throws IOException {
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
}
