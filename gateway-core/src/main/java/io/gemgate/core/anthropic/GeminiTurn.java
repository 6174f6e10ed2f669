package io.gemgate.core.anthropic;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.gemgate.core.json.Usage;
import io.gemgate.core.openai.TranslationParts;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The first candidate of one Gemini {@code GenerateContentResponse} (a whole answer, one SSE event, or a JSON array of
 * them, accumulated) with its parts kept in order, as Anthropic's content blocks need them: thought text, answer
 * text, function calls and inline images, each with its {@code thoughtSignature}. Also the finish reason, the usage,
 * a blocked prompt, a top-level {@code error} and the {@code responseId}. The chat translation's reader merges parts
 * by kind; the order of blocks (thinking, text, tool use) and the part a signature sits on matter here.
 *
 * <p>Not thread-safe: one instance per answer or per stream, reset per event.
 */
final class GeminiTurn {
    /** Gemini finish reasons of a filtered answer: Anthropic's {@code refusal}. */
    static final Set<String> FILTERED = Set.of("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
            "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION");

    /** What a part is. */
    enum Kind { THOUGHT, TEXT, CALL, IMAGE, SIGNATURE }

    /**
     * One part.
     *
     * @param text      thought or answer text, the call's name, or the image's base64
     * @param args      a call's {@code args} as compact JSON, or an image's media type
     * @param signature its {@code thoughtSignature}, or null
     */
    record Part(Kind kind, String text, String args, String signature) {
    }

    final List<Part> parts = new ArrayList<>();
    String finishReason;
    String responseId;
    String blockReason;
    /** The {@code error} object of an error event or body, or null. */
    Object error;
    boolean hasUsage;
    long promptTokens;
    long candidatesTokens;
    long thoughtsTokens;
    long cachedTokens;
    long toolUsePromptTokens;
    private final StringBuilder text = new StringBuilder();

    void reset() {
        parts.clear();
        finishReason = null;
        responseId = null;
        blockReason = null;
        error = null;
    }

    /** Reads one document, adding to what is held: an object, or an array of objects. */
    void read(JsonParser p) throws IOException {
        JsonToken t = p.nextToken();
        if (t == JsonToken.START_ARRAY) {
            while (TranslationParts.next(p) != JsonToken.END_ARRAY) {
                readObject(p);
            }
        } else {
            readObject(p);
        }
        TranslationParts.expectEnd(p);
    }

    private void readObject(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new JsonParseException(p, "Expected a JSON object");
        }
        while (TranslationParts.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = TranslationParts.next(p);
            switch (f) {
                case "candidates" -> {
                    if (t != JsonToken.START_ARRAY) {
                        p.skipChildren();
                        continue;
                    }
                    int position = 0;
                    while (TranslationParts.next(p) != JsonToken.END_ARRAY) {
                        readCandidate(p, position++);
                    }
                }
                case "usageMetadata" -> readUsage(p);
                case "promptFeedback" -> readPromptFeedback(p);
                case "responseId" -> {
                    if (t == JsonToken.VALUE_STRING) {
                        responseId = p.getText();
                    }
                }
                case "error" -> error = TranslationParts.readTree(p);
                default -> {
                    if (t.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        }
    }

    /** Candidate 0 only: the Messages API has one answer per request. */
    private void readCandidate(JsonParser p, int position) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return;
        }
        int start = parts.size();
        String finish = null;
        int index = position;
        while (TranslationParts.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = TranslationParts.next(p);
            switch (f) {
                case "index" -> {
                    if (t == JsonToken.VALUE_NUMBER_INT) {
                        index = p.getIntValue();
                    }
                }
                case "content" -> readContent(p);
                case "finishReason" -> {
                    if (t == JsonToken.VALUE_STRING) {
                        finish = p.getText();
                    }
                }
                default -> {
                    if (t.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        }
        if (index != 0) {
            parts.subList(start, parts.size()).clear();
            return;
        }
        if (finish != null) {
            finishReason = finish;
        }
    }

    private void readContent(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return;
        }
        while (TranslationParts.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = TranslationParts.next(p);
            if (f.equals("parts") && t == JsonToken.START_ARRAY) {
                while (TranslationParts.next(p) != JsonToken.END_ARRAY) {
                    readPart(p);
                }
            } else if (t.isStructStart()) {
                p.skipChildren();
            }
        }
    }

    private void readPart(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return;
        }
        text.setLength(0);
        boolean hasText = false;
        boolean thought = false;
        String signature = null;
        String callName = null;
        String callArgs = null;
        boolean hasCall = false;
        String mime = null;
        String data = null;
        while (TranslationParts.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = TranslationParts.next(p);
            switch (f) {
                case "text" -> {
                    if (t == JsonToken.VALUE_STRING) {
                        TranslationParts.appendText(p, text);
                        hasText = true;
                    }
                }
                case "thought" -> thought = t == JsonToken.VALUE_TRUE;
                case "thoughtSignature", "thought_signature" -> {
                    if (t == JsonToken.VALUE_STRING && !p.getText().isEmpty()) {
                        signature = p.getText();
                    }
                }
                case "functionCall", "function_call" -> {
                    if (t != JsonToken.START_OBJECT) {
                        p.skipChildren();
                        continue;
                    }
                    hasCall = true;
                    while (TranslationParts.next(p) != JsonToken.END_OBJECT) {
                        String g = p.currentName();
                        JsonToken u = TranslationParts.next(p);
                        if (g.equals("name") && u == JsonToken.VALUE_STRING) {
                            callName = p.getText();
                        } else if (g.equals("args")) {
                            callArgs = u == JsonToken.START_OBJECT ? copyJson(p) : null;
                            if (u.isStructStart() && callArgs == null) {
                                p.skipChildren();
                            }
                        } else if (u.isStructStart()) {
                            p.skipChildren();
                        }
                    }
                }
                case "inlineData", "inline_data" -> {
                    if (t != JsonToken.START_OBJECT) {
                        p.skipChildren();
                        continue;
                    }
                    while (TranslationParts.next(p) != JsonToken.END_OBJECT) {
                        String g = p.currentName();
                        JsonToken u = TranslationParts.next(p);
                        if ((g.equals("mimeType") || g.equals("mime_type")) && u == JsonToken.VALUE_STRING) {
                            mime = p.getText();
                        } else if (g.equals("data") && u == JsonToken.VALUE_STRING) {
                            data = p.getText();
                        } else if (u.isStructStart()) {
                            p.skipChildren();
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
        if (hasCall) {
            parts.add(new Part(Kind.CALL, callName == null ? "" : callName, callArgs == null ? "{}" : callArgs,
                    signature));
        } else if (hasText && text.length() > 0) {
            parts.add(new Part(thought ? Kind.THOUGHT : Kind.TEXT, text.toString(), null, signature));
        } else if (data != null && mime != null && mime.startsWith("image/")) {
            parts.add(new Part(Kind.IMAGE, data, mime, signature));
        } else if (signature != null) {
            parts.add(new Part(Kind.SIGNATURE, "", null, signature)); // an empty part that only carries one
        }
    }

    private static String copyJson(JsonParser p) throws IOException {
        ByteArrayBuilder b = new ByteArrayBuilder(128);
        try (JsonGenerator g = TranslationParts.generator(b)) {
            g.copyCurrentStructure(p);
        }
        return new String(b.toByteArray(), StandardCharsets.UTF_8);
    }

    private void readUsage(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return;
        }
        hasUsage = true; // the last usageMetadata is authoritative
        promptTokens = candidatesTokens = thoughtsTokens = cachedTokens = toolUsePromptTokens = 0;
        while (TranslationParts.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = TranslationParts.next(p);
            if (t == JsonToken.VALUE_NUMBER_INT) {
                long v = p.getLongValue();
                switch (f) {
                    case "promptTokenCount" -> promptTokens = v;
                    case "candidatesTokenCount" -> candidatesTokens = v;
                    case "thoughtsTokenCount" -> thoughtsTokens = v;
                    case "cachedContentTokenCount" -> cachedTokens = v;
                    case "toolUsePromptTokenCount" -> toolUsePromptTokens = v;
                    default -> {
                    }
                }
            } else if (t.isStructStart()) {
                p.skipChildren();
            }
        }
    }

    private void readPromptFeedback(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return;
        }
        while (TranslationParts.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = TranslationParts.next(p);
            if (f.equals("blockReason") && t == JsonToken.VALUE_STRING) {
                blockReason = p.getText();
            } else if (t.isStructStart()) {
                p.skipChildren();
            }
        }
    }

    /** Anthropic's {@code input_tokens}: the prompt (with tool-use prompt tokens) less what was read from cache. */
    long inputTokens() {
        return Math.max(0, promptTokens + toolUsePromptTokens - cachedTokens);
    }

    /** Anthropic's {@code output_tokens}: candidates plus thoughts, as billed. */
    long outputTokens() {
        return candidatesTokens + thoughtsTokens;
    }

    Usage usage() {
        return hasUsage ? new Usage(promptTokens, candidatesTokens, thoughtsTokens,
                promptTokens + candidatesTokens + thoughtsTokens, cachedTokens) : Usage.NONE;
    }

    /** Anthropic's {@code stop_reason} for a Gemini finish reason. */
    static String stopReason(String finish, boolean sawToolUse) {
        if (finish == null || finish.equals("STOP")) {
            return sawToolUse ? "tool_use" : "end_turn";
        }
        if (finish.equals("MAX_TOKENS")) {
            return "max_tokens";
        }
        if (FILTERED.contains(finish)) {
            return "refusal";
        }
        return sawToolUse ? "tool_use" : "end_turn";
    }

    /** A finish reason that another key would not change: the answer is not "empty" even without content. */
    static boolean isFinal(String finish) {
        return finish != null && (finish.equals("MAX_TOKENS") || FILTERED.contains(finish));
    }
}
