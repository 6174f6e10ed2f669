package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.gemgate.core.settings.Thinking;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static io.gemgate.core.openai.ParamReader.schema;
import static io.gemgate.core.openai.ParamReader.string;
import static io.gemgate.core.openai.ParamReader.typeError;

/**
 * Gemini's {@code generationConfig} (Google's Gemini API reference, {@code GenerationConfig}) from an OpenAI chat
 * request: reads {@code response_format} and {@code stop}, and writes the sampling parameters, the output limits,
 * the JSON response mode and, through {@link ThinkingPolicy}, {@code thinkingConfig}.
 *
 * <p>Clamped rather than refused: temperature to 0..2, top_p to 0..1, n to 1..{@value #MAX_N}
 * ({@code candidateCount}), presence and frequency penalties to -2..2, {@code max_completion_tokens} (else
 * {@code max_tokens}) to at least 1 ({@code maxOutputTokens}), stop to its first {@value #MAX_STOP} non-empty strings;
 * {@code seed} keeps its low 32 bits (Gemini's seed is an int32). {@code response_format: json_object} →
 * {@code responseMimeType: application/json}; {@code json_schema} adds {@code responseSchema}: the schema cleaned by
 * {@link SchemaCleaner} into the OpenAPI subset (not {@code responseJsonSchema}: the cleaned schema is OpenAPI —
 * upper-case types, {@code nullable} — which is the dialect of {@code responseSchema}).
 *
 * <p>Called by {@link ChatRequestParser} (reading) and {@link GeminiRequestWriter} (writing). Stateless static
 * methods; thread-safe.
 */
final class GenerationConfigWriter {
    static final int MAX_STOP = 5;
    static final int MAX_N = 4;

    private GenerationConfigWriter() {
    }

    /** {@code n} clamped to 1..{@value #MAX_N}; 1 when absent. */
    static int candidates(ChatRequest r) {
        return r.n == null ? 1 : (int) Math.max(1, Math.min(MAX_N, r.n));
    }

    /**
     * Reads {@code response_format} into {@code r}: {@code text} (nothing to send), {@code json_object}, or
     * {@code json_schema} with its schema cleaned by {@link SchemaCleaner#clean}.
     */
    static void responseFormat(JsonParser p, ChatRequest r) throws IOException {
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

    /** Reads {@code stop}: its first {@value #MAX_STOP} non-empty strings, or null for JSON null. */
    static List<String> stop(JsonParser p) throws IOException {
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

    /**
     * Writes {@code generationConfig} if anything goes in it.
     *
     * @param n the candidate count, from {@link #candidates}
     * @return whether reasoning was asked for ({@link ThinkingPolicy.Decision#includeThoughts()})
     * @throws OpenAiRequestException when {@code reasoning_effort} is not a known value
     */
    static boolean write(JsonGenerator g, ChatRequest r, ResolvedModel model, int n, Thinking defaultThinking)
            throws IOException {
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

        ThinkingPolicy.Decision thinking = ThinkingPolicy.decide(r, model, defaultThinking);
        if (!thinking.isEmpty()) {
            open = openConfig(g, open);
            g.writeObjectFieldStart("thinkingConfig");
            if (thinking.budget() != null) {
                g.writeNumberField("thinkingBudget", thinking.budget());
            } else if (thinking.level() != null) {
                g.writeStringField("thinkingLevel", thinking.level());
            }
            if (thinking.includeThoughts()) {
                g.writeBooleanField("includeThoughts", true);
            }
            g.writeEndObject();
        }
        if (open) {
            g.writeEndObject();
        }
        return thinking.includeThoughts();
    }

    private static boolean openConfig(JsonGenerator g, boolean open) throws IOException {
        if (!open) {
            g.writeObjectFieldStart("generationConfig");
        }
        return true;
    }

    private static double clamp(double v, double lo, double hi) {
        return Math.max(lo, Math.min(hi, v));
    }
}
