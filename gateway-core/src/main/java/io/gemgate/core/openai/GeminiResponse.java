package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.SegmentedStringWriter;
import io.gemgate.core.json.Usage;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * One Gemini {@code GenerateContentResponse} (a whole answer, or one SSE event of a stream), read with the streaming
 * parser into buffers that are reused from one event to the next: per candidate a text builder, a thought builder and
 * the function calls. Also reads a top-level {@code error} (an error event) and a JSON array of responses (a
 * streamed body without {@code alt=sse}, or an error wrapped in an array), accumulating the elements.
 *
 * <p>Not thread-safe: one instance per answer or per stream.
 */
final class GeminiResponse {
    /** Gemini finish reasons that become {@code content_filter}. */
    static final Set<String> FILTERED = Set.of("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
            "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION");

    /** A function call part. {@code args} is compact JSON text; {@code signature} may be null. */
    record Call(String name, String args, String signature) {
    }

    static final class Candidate {
        int index;
        final StringBuilder text = new StringBuilder();
        final StringBuilder thought = new StringBuilder();
        final List<Call> calls = new ArrayList<>(2);
        String finishReason;

        void reset(int index) {
            this.index = index;
            text.setLength(0);
            thought.setLength(0);
            calls.clear();
            finishReason = null;
        }

        /** Text, thoughts or calls. */
        boolean hasOutput() {
            return text.length() > 0 || thought.length() > 0 || !calls.isEmpty();
        }
    }

    String responseId;
    String blockReason;
    /** The {@code error} object of an error event or error body, or null. */
    Object error;

    boolean hasUsage;
    long promptTokens;
    long candidatesTokens;
    long thoughtsTokens;
    long totalTokens;
    long cachedTokens;
    long toolUsePromptTokens;
    long audioPromptTokens;
    long imagePromptTokens;

    private final List<Candidate> pool = new ArrayList<>(1);
    private int size;
    private final StringBuilder partText = new StringBuilder();

    int size() {
        return size;
    }

    Candidate candidate(int i) {
        return pool.get(i);
    }

    /** Forgets everything but the buffers. */
    void reset() {
        responseId = null;
        blockReason = null;
        error = null;
        size = 0;
        clearUsage();
    }

    private void clearUsage() {
        hasUsage = false;
        promptTokens = candidatesTokens = thoughtsTokens = totalTokens = cachedTokens = 0;
        toolUsePromptTokens = audioPromptTokens = imagePromptTokens = 0;
    }

    /** Copies the token counts into {@code to} (a stream keeps the last counts it saw). */
    void copyUsageTo(GeminiResponse to) {
        to.hasUsage = hasUsage;
        to.promptTokens = promptTokens;
        to.candidatesTokens = candidatesTokens;
        to.thoughtsTokens = thoughtsTokens;
        to.totalTokens = totalTokens;
        to.cachedTokens = cachedTokens;
        to.toolUsePromptTokens = toolUsePromptTokens;
        to.audioPromptTokens = audioPromptTokens;
        to.imagePromptTokens = imagePromptTokens;
    }

    /** OpenAI's prompt_tokens: Gemini's promptTokenCount plus toolUsePromptTokenCount. */
    long openAiPromptTokens() {
        return promptTokens + toolUsePromptTokens;
    }

    /** OpenAI's completion_tokens: Gemini's candidatesTokenCount plus thoughtsTokenCount. */
    long openAiCompletionTokens() {
        return candidatesTokens + thoughtsTokens;
    }

    Usage usage() {
        if (!hasUsage) {
            return Usage.NONE;
        }
        return new Usage(promptTokens, candidatesTokens, thoughtsTokens, totalTokens, cachedTokens);
    }

    /** A cleared candidate at the end of the list (buffers reused). */
    private Candidate fresh() {
        if (size == pool.size()) {
            pool.add(new Candidate());
        }
        Candidate c = pool.get(size++);
        c.reset(-1);
        return c;
    }

    /** Reads one document: an object, or an array of objects (accumulated). Call {@link #reset()} first. */
    void read(JsonParser p) throws IOException {
        JsonToken t = p.nextToken();
        if (t == JsonToken.START_ARRAY) {
            while (Json.next(p) != JsonToken.END_ARRAY) {
                readObject(p);
            }
        } else {
            readObject(p);
        }
        Json.expectEnd(p);
    }

    private void readObject(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new com.fasterxml.jackson.core.JsonParseException(p, "Expected a JSON object");
        }
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            switch (f) {
                case "candidates" -> {
                    if (t == JsonToken.START_ARRAY) {
                        int position = 0;
                        while (Json.next(p) != JsonToken.END_ARRAY) {
                            readCandidate(p, position++);
                        }
                    } else if (t.isStructStart()) {
                        p.skipChildren();
                    }
                }
                case "usageMetadata" -> readUsage(p);
                case "promptFeedback" -> readPromptFeedback(p);
                case "responseId" -> {
                    if (t == JsonToken.VALUE_STRING) {
                        responseId = p.getText();
                    }
                }
                case "error" -> error = JsonTree.read(p);
                default -> {
                    if (t.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        }
    }

    private void readCandidate(JsonParser p, int position) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return;
        }
        Candidate c = fresh(); // "index" often follows "content": filed under its index at the end
        int index = position;
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            switch (f) {
                case "index" -> {
                    if (t == JsonToken.VALUE_NUMBER_INT) {
                        index = p.getIntValue();
                    }
                }
                case "content" -> readContent(p, c);
                case "finishReason" -> {
                    if (t == JsonToken.VALUE_STRING) {
                        c.finishReason = p.getText();
                    }
                }
                default -> {
                    if (t.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        }
        c.index = index;
        for (int i = 0; i < size - 1; i++) {
            Candidate earlier = pool.get(i);
            if (earlier.index == index) { // an array of responses: accumulate per candidate
                earlier.text.append(c.text);
                earlier.thought.append(c.thought);
                earlier.calls.addAll(c.calls);
                if (c.finishReason != null) {
                    earlier.finishReason = c.finishReason;
                }
                size--; // c stays in the pool for reuse
                return;
            }
        }
    }

    private void readContent(JsonParser p, Candidate c) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return;
        }
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            if (f.equals("parts") && t == JsonToken.START_ARRAY) {
                while (Json.next(p) != JsonToken.END_ARRAY) {
                    readPart(p, c);
                }
            } else if (t.isStructStart()) {
                p.skipChildren();
            }
        }
    }

    private void readPart(JsonParser p, Candidate c) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return;
        }
        partText.setLength(0);
        boolean hasText = false;
        boolean thought = false;
        String signature = null;
        String callName = null;
        String callArgs = null;
        boolean hasCall = false;
        String inlineMime = null;
        String inlineData = null;
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            switch (f) {
                case "text" -> {
                    if (t == JsonToken.VALUE_STRING) {
                        Json.appendText(p, partText);
                        hasText = true;
                    }
                }
                case "thought" -> thought = t == JsonToken.VALUE_TRUE;
                case "thoughtSignature", "thought_signature" -> {
                    if (t == JsonToken.VALUE_STRING) {
                        signature = p.getText();
                    }
                }
                case "functionCall", "function_call" -> {
                    if (t != JsonToken.START_OBJECT) {
                        p.skipChildren();
                        continue;
                    }
                    hasCall = true;
                    while (Json.next(p) != JsonToken.END_OBJECT) {
                        String g = p.currentName();
                        JsonToken u = Json.next(p);
                        if (g.equals("name") && u == JsonToken.VALUE_STRING) {
                            callName = p.getText();
                        } else if (g.equals("args")) {
                            callArgs = u == JsonToken.VALUE_NULL ? null : copyJson(p);
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
                    while (Json.next(p) != JsonToken.END_OBJECT) {
                        String g = p.currentName();
                        JsonToken u = Json.next(p);
                        if ((g.equals("mimeType") || g.equals("mime_type")) && u == JsonToken.VALUE_STRING) {
                            inlineMime = p.getText();
                        } else if (g.equals("data") && u == JsonToken.VALUE_STRING) {
                            inlineData = p.getText();
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
            c.calls.add(new Call(callName == null ? "" : callName, callArgs == null ? "{}" : callArgs, signature));
        } else if (hasText) {
            (thought ? c.thought : c.text).append(partText);
        } else if (inlineData != null && inlineMime != null && inlineMime.startsWith("image/")) {
            // No chat field carries images: a markdown image with a data URL, as chat clients render it.
            c.text.append("![image](data:").append(inlineMime).append(";base64,").append(inlineData).append(')');
        }
    }

    private static String copyJson(JsonParser p) throws IOException {
        SegmentedStringWriter w = new SegmentedStringWriter(null);
        try (JsonGenerator g = Json.FACTORY.createGenerator(w)) {
            g.copyCurrentStructure(p);
        }
        return w.getAndClear();
    }

    private void readUsage(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return;
        }
        clearUsage(); // the last usageMetadata is authoritative
        hasUsage = true;
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            if (t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_STRING) {
                long v = longValue(p, t);
                switch (f) {
                    case "promptTokenCount" -> promptTokens = v;
                    case "candidatesTokenCount" -> candidatesTokens = v;
                    case "thoughtsTokenCount" -> thoughtsTokens = v;
                    case "totalTokenCount" -> totalTokens = v;
                    case "cachedContentTokenCount" -> cachedTokens = v;
                    case "toolUsePromptTokenCount" -> toolUsePromptTokens = v;
                    default -> {
                    }
                }
            } else if (f.equals("promptTokensDetails") && t == JsonToken.START_ARRAY) {
                while (Json.next(p) != JsonToken.END_ARRAY) {
                    readModality(p);
                }
            } else if (t.isStructStart()) {
                p.skipChildren();
            }
        }
    }

    private void readModality(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return;
        }
        String modality = null;
        long count = 0;
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            if (f.equals("modality") && t == JsonToken.VALUE_STRING) {
                modality = p.getText();
            } else if (f.equals("tokenCount") && (t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_STRING)) {
                count = longValue(p, t);
            } else if (t.isStructStart()) {
                p.skipChildren();
            }
        }
        if ("AUDIO".equals(modality)) {
            audioPromptTokens += count;
        } else if ("IMAGE".equals(modality)) {
            imagePromptTokens += count;
        }
    }

    private static long longValue(JsonParser p, JsonToken t) throws IOException {
        if (t == JsonToken.VALUE_NUMBER_INT) {
            return p.getLongValue();
        }
        try {
            return Long.parseLong(p.getText().trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private void readPromptFeedback(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return;
        }
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            if (f.equals("blockReason") && t == JsonToken.VALUE_STRING) {
                blockReason = p.getText();
            } else if (t.isStructStart()) {
                p.skipChildren();
            }
        }
    }

    /**
     * OpenAI finish_reason for a Gemini finish reason (the values of OpenAI's and Gemini's references); null in → stop
     * or tool_calls.
     */
    static String finishReason(String gemini, boolean sawToolCall) {
        if (gemini == null || gemini.equals("STOP")) {
            return sawToolCall ? "tool_calls" : "stop";
        }
        if (gemini.equals("MAX_TOKENS")) {
            return "length";
        }
        if (FILTERED.contains(gemini)) {
            return "content_filter";
        }
        return "stop";
    }

    /**
     * True when the answer is empty in the sense of the key pool's verdicts (retry on another key,
     * docs/architecture.md): no blocked prompt, no error, and no candidate with answer text, a call, or a finish reason
     * that a retry would not change (filtered or MAX_TOKENS). Thoughts alone do not count: a thought-only STOP is the
     * known empty-answer glitch.
     */
    boolean isEmpty() {
        if (blockReason != null || error != null) {
            return false;
        }
        for (int i = 0; i < size; i++) {
            Candidate c = pool.get(i);
            if (c.text.length() > 0 || !c.calls.isEmpty()) {
                return false;
            }
            if (c.finishReason != null && (c.finishReason.equals("MAX_TOKENS") || FILTERED.contains(c.finishReason))) {
                return false;
            }
        }
        return true;
    }
}
