package io.gemgate.core.anthropic;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.gemgate.core.anthropic.MessagesRequest.Block;
import io.gemgate.core.anthropic.MessagesRequest.Kind;
import io.gemgate.core.anthropic.MessagesRequest.Message;
import io.gemgate.core.anthropic.MessagesRequest.Tool;
import io.gemgate.core.openai.ModelFamily;
import io.gemgate.core.openai.OpenAiRequestException;
import io.gemgate.core.openai.ResolvedModel;
import io.gemgate.core.openai.ThoughtSignatures;
import io.gemgate.core.openai.TranslationParts;
import io.gemgate.core.settings.Thinking;

import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes the Gemini body of a parsed {@link MessagesRequest} with Jackson's streaming generator (Google's Gemini API
 * reference, {@code models.generateContent} and {@code models.countTokens}).
 *
 * <ul>
 *   <li>{@code user} → {@code user}, {@code assistant} → {@code model}; consecutive turns of one role are merged;
 *       empty text blocks and turns left without parts are skipped (Gemini refuses them).</li>
 *   <li>{@code system} → {@code systemInstruction}, after the gateway's own instruction (a live setting).</li>
 *   <li>{@code image}/{@code document} base64 → {@code inlineData}; by URL → {@code fileData} (Gemini fetches the
 *       URL; the media type is the block's, else guessed from the URL, else {@code image/jpeg} or
 *       {@code application/pdf}); a text document → a text part.</li>
 *   <li>{@code tool_use} → {@code functionCall{name, args}}; {@code tool_result} → {@code functionResponse{name,
 *       response}} with the name of the earlier {@code tool_use} of the same id (400 when there is none). The
 *       response is the result's JSON object when its text is one, else {@code {"result": text}}
 *       ({@code {"error": text}} when {@code is_error}); images in a result follow as {@code inlineData} parts.</li>
 *   <li>Thought signatures: a replayed {@code functionCall} gets the signature its {@code tool_use} id carries
 *       ({@link ThoughtSignatures}); a {@code thinking} or {@code redacted_thinking} block's signature goes on the
 *       next part of the turn that has none; on models that enforce signatures the first call of a turn without one
 *       gets {@link ThoughtSignatures#SKIP_VALIDATOR}. The thinking text itself is not sent back (Gemini's thought
 *       summaries are not its thoughts).</li>
 *   <li>{@code tools} → {@code functionDeclarations} (schemas cleaned as for chat); a {@code web_search_*} server
 *       tool or the {@code -search} model suffix → {@code googleSearch}. {@code tool_choice}: auto → AUTO, any →
 *       ANY, tool → ANY + {@code allowedFunctionNames}, none → NONE.</li>
 *   <li>{@code generationConfig}: {@code max_tokens} → {@code maxOutputTokens}, {@code temperature} (0..2),
 *       {@code top_p} (0..1), {@code top_k}, {@code stop_sequences} (the first 5 non-empty: Gemini's limit) and
 *       {@code thinkingConfig}: {@code thinking.type: enabled} → the budget (kept within the family's range) or, on
 *       Gemini 3, the level nearest to it (up to 2048 LOW, 16384 MEDIUM, above HIGH), with
 *       {@code includeThoughts}; {@code adaptive} → Gemini's dynamic thinking (budget -1, or the model's default
 *       level), with {@code includeThoughts}; {@code disabled} → the family's off budget or lowest level; absent → the gateway's
 *       default thinking. The default {@code off} overrides a request's budget, as on the chat route.
 *       {@code output_config.format} (or the beta's {@code output_format}) {@code json_schema} →
 *       {@code responseMimeType: application/json} and {@code responseSchema} (cleaned as tool schemas are).</li>
 *   <li>{@code count_tokens}: the same request wrapped in {@code generateContentRequest} with its {@code model},
 *       without {@code generationConfig}.</li>
 * </ul>
 *
 * <p>Created once per {@link AnthropicRequestTranslator}; thread-safe and stateless apart from the shared
 * {@link ThoughtSignatures}.
 */
final class MessagesRequestWriter {
    private static final int MAX_STOP = 5;

    private final ThoughtSignatures signatures;

    MessagesRequestWriter(ThoughtSignatures signatures) {
        this.signatures = Objects.requireNonNull(signatures, "signatures");
    }

    TranslatedMessagesRequest write(MessagesRequest r, ResolvedModel model, int sizeHint, Thinking defaultThinking,
                                    String systemInstruction, boolean count) throws IOException {
        boolean strict = ModelFamily.enforcesSignatures(model.name());
        ByteArrayBuilder out = new ByteArrayBuilder(Math.max(512, Math.min(sizeHint + 512, 1 << 20)));
        boolean thinking;
        try (JsonGenerator g = TranslationParts.generator(out)) {
            g.writeStartObject();
            if (count) {
                g.writeObjectFieldStart("generateContentRequest");
                g.writeStringField("model", "models/" + model.name());
            }
            writeContents(g, r.messages, strict);
            writeSystem(g, systemInstruction, r.system, r.systemMessages);
            writeTools(g, r, model.search());
            thinking = count ? false : writeGenerationConfig(g, r, model, defaultThinking);
            if (count) {
                g.writeEndObject();
            }
            g.writeEndObject();
        } catch (OpenAiRequestException e) {
            throw new AnthropicRequestException(e.param(), e.getMessage());
        }
        return new TranslatedMessagesRequest(model.requested(), model.name(), r.stream && !count, thinking, count,
                out.toByteArray());
    }

    private void writeContents(JsonGenerator g, List<Message> messages, boolean strict) throws IOException {
        Map<String, String> callNames = new HashMap<>();
        for (Message m : messages) {
            if (m.assistant()) {
                for (Block b : m.blocks()) {
                    if (b.kind() == Kind.TOOL_USE) {
                        callNames.put(b.id(), b.name());
                    }
                }
            }
        }
        String open = null;
        g.writeArrayFieldStart("contents");
        for (Message m : messages) {
            if (!hasParts(m)) {
                continue;
            }
            String role = m.assistant() ? "model" : "user";
            if (!role.equals(open)) {
                if (open != null) {
                    g.writeEndArray();
                    g.writeEndObject();
                }
                g.writeStartObject();
                g.writeStringField("role", role);
                g.writeArrayFieldStart("parts");
                open = role;
            }
            if (m.assistant()) {
                writeModelParts(g, m, strict);
            } else {
                writeUserParts(g, m, callNames);
            }
        }
        if (open == null) {
            throw new AnthropicRequestException("messages", "at least one message with content is required");
        }
        g.writeEndArray();
        g.writeEndObject();
        g.writeEndArray();
    }

    private static boolean hasParts(Message m) {
        for (Block b : m.blocks()) {
            switch (b.kind()) {
                case TEXT -> {
                    if (!b.data().isEmpty()) {
                        return true;
                    }
                }
                case THINKING -> {
                }
                default -> {
                    return true;
                }
            }
        }
        return false;
    }

    private void writeModelParts(JsonGenerator g, Message m, boolean strict) throws IOException {
        String pending = null; // a thinking block's signature, for the next part without one
        boolean firstCall = true;
        for (Block b : m.blocks()) {
            switch (b.kind()) {
                case THINKING -> {
                    String s = signatures.signatureOf(b.data());
                    if (s != null) {
                        pending = s;
                    }
                }
                case TEXT -> {
                    if (!b.data().isEmpty()) {
                        g.writeStartObject();
                        g.writeStringField("text", b.data());
                        if (pending != null) {
                            g.writeStringField("thoughtSignature", pending);
                            pending = null;
                        }
                        g.writeEndObject();
                    }
                }
                case TOOL_USE -> {
                    String s = signatures.signatureOf(b.id());
                    if (s == null) {
                        s = pending;
                    }
                    if (s == null && firstCall && strict) {
                        s = ThoughtSignatures.SKIP_VALIDATOR;
                    }
                    pending = null;
                    firstCall = false;
                    g.writeStartObject();
                    g.writeObjectFieldStart("functionCall");
                    g.writeStringField("name", b.name());
                    g.writeFieldName("args");
                    TranslationParts.writeTree(g, b.input());
                    g.writeEndObject();
                    if (s != null) {
                        g.writeStringField("thoughtSignature", s);
                    }
                    g.writeEndObject();
                }
                default -> writeMedia(g, b); // an assistant's image or document: as the user's
            }
        }
    }

    private static void writeUserParts(JsonGenerator g, Message m, Map<String, String> callNames)
            throws IOException {
        for (Block b : m.blocks()) {
            switch (b.kind()) {
                case TEXT -> {
                    if (!b.data().isEmpty()) {
                        g.writeStartObject();
                        g.writeStringField("text", b.data());
                        g.writeEndObject();
                    }
                }
                case TOOL_RESULT -> writeToolResult(g, b, callNames);
                case TOOL_USE -> throw new AnthropicRequestException(b.where() + ".type",
                        "tool_use blocks may only be in assistant messages");
                case THINKING -> {
                }
                default -> writeMedia(g, b);
            }
        }
    }

    private static void writeMedia(JsonGenerator g, Block b) throws IOException {
        switch (b.kind()) {
            case BASE64 -> TranslationParts.writeInlineData(g, b.mime(), b.data(), b.where());
            case URL -> {
                String mime = b.mime() != null ? b.mime() : TranslationParts.guessMime(b.data(), "image/jpeg");
                TranslationParts.writeFileData(g, mime, b.data());
            }
            case TEXT -> {
                if (!b.data().isEmpty()) {
                    g.writeStartObject();
                    g.writeStringField("text", b.data());
                    g.writeEndObject();
                }
            }
            case TOOL_RESULT -> throw new AnthropicRequestException(b.where() + ".type",
                    "tool_result blocks may only be in user messages");
            default -> {
            }
        }
    }

    private static void writeToolResult(JsonGenerator g, Block b, Map<String, String> callNames) throws IOException {
        String name = callNames.get(b.id());
        if (name == null) {
            throw new AnthropicRequestException(b.where() + ".tool_use_id", "no tool_use block with id '"
                    + clip(b.id()) + "' in an earlier assistant message");
        }
        StringBuilder text = new StringBuilder();
        boolean media = false;
        for (Block in : b.inner()) {
            if (in.kind() == Kind.TEXT) {
                text.append(in.data());
            } else {
                media = true;
            }
        }
        g.writeStartObject();
        g.writeObjectFieldStart("functionResponse");
        g.writeStringField("name", name);
        g.writeFieldName("response");
        Object tree = null;
        String trimmed = text.toString().strip();
        if (!b.isError() && trimmed.startsWith("{")) {
            try {
                tree = TranslationParts.parseTree(trimmed);
            } catch (IOException notJson) {
                tree = null;
            }
        }
        if (tree instanceof Map) {
            TranslationParts.writeTree(g, tree);
        } else {
            g.writeStartObject();
            g.writeStringField(b.isError() ? "error" : "result", text.toString());
            g.writeEndObject();
        }
        g.writeEndObject();
        g.writeEndObject();
        if (media) {
            for (Block in : b.inner()) {
                if (in.kind() != Kind.TEXT) {
                    writeMedia(g, in);
                }
            }
        }
    }

    private static String clip(String s) {
        return s.length() > 64 ? s.substring(0, 64) + "..." : s;
    }

    private static void writeSystem(JsonGenerator g, String ours, List<String> system, List<String> more)
            throws IOException {
        boolean open = false;
        if (!ours.isEmpty()) {
            open = openSystem(g, false);
            g.writeStartObject();
            g.writeStringField("text", ours);
            g.writeEndObject();
        }
        open = writeTexts(g, system, open);
        open = writeTexts(g, more, open);
        if (open) {
            g.writeEndArray();
            g.writeEndObject();
        }
    }

    private static boolean writeTexts(JsonGenerator g, List<String> texts, boolean open) throws IOException {
        if (texts == null) {
            return open;
        }
        for (String s : texts) {
            if (!s.isEmpty()) {
                open = openSystem(g, open);
                g.writeStartObject();
                g.writeStringField("text", s);
                g.writeEndObject();
            }
        }
        return open;
    }

    private static boolean openSystem(JsonGenerator g, boolean open) throws IOException {
        if (!open) {
            g.writeObjectFieldStart("systemInstruction");
            g.writeArrayFieldStart("parts");
        }
        return true;
    }

    private static void writeTools(JsonGenerator g, MessagesRequest r, boolean searchSuffix) throws IOException {
        List<Tool> tools = r.tools == null ? List.of() : r.tools;
        boolean search = searchSuffix || r.webSearch;
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
                    TranslationParts.writeTree(g, t.parameters());
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
        if (tools.isEmpty() || r.toolChoice == null) {
            return;
        }
        g.writeObjectFieldStart("toolConfig");
        g.writeObjectFieldStart("functionCallingConfig");
        switch (r.toolChoice) {
            case "any" -> g.writeStringField("mode", "ANY");
            case "none" -> g.writeStringField("mode", "NONE");
            case "tool" -> {
                g.writeStringField("mode", "ANY");
                g.writeArrayFieldStart("allowedFunctionNames");
                g.writeString(r.toolChoiceName);
                g.writeEndArray();
            }
            default -> g.writeStringField("mode", "AUTO");
        }
        g.writeEndObject();
        g.writeEndObject();
    }

    /** @return whether thoughts were asked for */
    private static boolean writeGenerationConfig(JsonGenerator g, MessagesRequest r, ResolvedModel model,
                                                 Thinking defaultThinking) throws IOException {
        g.writeObjectFieldStart("generationConfig");
        g.writeNumberField("maxOutputTokens", (int) Math.max(1, Math.min(r.maxTokens, Integer.MAX_VALUE)));
        if (r.temperature != null) {
            g.writeNumberField("temperature", Math.max(0, Math.min(2, r.temperature)));
        }
        if (r.topP != null) {
            g.writeNumberField("topP", Math.max(0, Math.min(1, r.topP)));
        }
        if (r.topK != null) {
            g.writeNumberField("topK", (int) Math.max(1, Math.min(r.topK, Integer.MAX_VALUE)));
        }
        if (r.stopSequences != null) {
            int n = 0;
            for (String s : r.stopSequences) {
                if (s.isEmpty() || n == MAX_STOP) {
                    continue;
                }
                if (n++ == 0) {
                    g.writeArrayFieldStart("stopSequences");
                }
                g.writeString(s);
            }
            if (n > 0) {
                g.writeEndArray();
            }
        }
        if (r.jsonOutput) {
            g.writeStringField("responseMimeType", "application/json");
            if (r.outputSchema != null) {
                g.writeFieldName("responseSchema");
                TranslationParts.writeTree(g, r.outputSchema);
            }
        }
        boolean thoughts = writeThinking(g, r, model, defaultThinking);
        g.writeEndObject();
        return thoughts;
    }

    private static boolean writeThinking(JsonGenerator g, MessagesRequest r, ResolvedModel model,
                                         Thinking defaultThinking) throws IOException {
        ModelFamily family = model.family();
        if (!family.hasThinkingControl()) {
            return false;
        }
        boolean enabled = "enabled".equals(r.thinking) || "adaptive".equals(r.thinking);
        Integer budget = null;
        String level = null;
        Thinking layer = null;
        if (defaultThinking == Thinking.OFF || "disabled".equals(r.thinking)) {
            layer = Thinking.OFF;
        } else if ("adaptive".equals(r.thinking)) {
            budget = family.usesBudget() ? Integer.valueOf(-1) : null;
        } else if (enabled) {
            long b = r.thinkingBudget;
            if (family.usesBudget()) {
                budget = (int) Math.max(family.minimalBudget(), Math.min(family.maxBudget(), b));
            } else {
                level = family.levelFor(model.name(), b <= 2048 ? Thinking.LOW : b <= 16384 ? Thinking.MEDIUM
                        : Thinking.HIGH);
            }
        } else if (model.thinking() == ResolvedModel.SuffixThinking.OFF) {
            layer = Thinking.OFF;
        } else if (model.thinking() == ResolvedModel.SuffixThinking.MAX) {
            if (family.usesBudget()) {
                budget = family.maxBudget();
            } else {
                level = family.levelFor(model.name(), Thinking.HIGH);
            }
        } else if (defaultThinking != Thinking.AUTO) {
            layer = defaultThinking;
        }
        if (layer != null) {
            budget = family.usesBudget() ? family.budgetFor(layer) : null;
            level = family.usesLevel() ? family.levelFor(model.name(), layer) : null;
        }
        if (budget == null && level == null && !enabled) {
            return false;
        }
        g.writeObjectFieldStart("thinkingConfig");
        if (budget != null) {
            g.writeNumberField("thinkingBudget", budget);
        } else if (level != null) {
            g.writeStringField("thinkingLevel", level);
        }
        if (enabled) {
            g.writeBooleanField("includeThoughts", true);
        }
        g.writeEndObject();
        return enabled;
    }
}
