package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Objects;

/**
 * An OpenAI embeddings request translated for Gemini's {@code batchEmbedContents}, split into batches of at most
 * {@link EmbeddingsTranslator#MAX_BATCH} inputs (Gemini's limit per call). The server calls
 * {@link #upstreamPath(String)} once per batch, in order, and hands the answers to
 * {@link EmbeddingsTranslator#translateResponse}.
 *
 * @param requestedModel the {@code model} as the client sent it (echoed)
 * @param model          the Gemini model, without {@code models/}
 * @param inputs         the texts, in order
 * @param dimensions     {@code dimensions} → {@code outputDimensionality}, or null
 * @param base64         {@code encoding_format: base64}
 * @param taskType       Gemini {@code taskType} (extension {@code task_type}), or null
 */
public record EmbeddingsRequest(String requestedModel, String model, List<String> inputs, Integer dimensions,
                                boolean base64, String taskType) {
    public EmbeddingsRequest {
        Objects.requireNonNull(requestedModel, "requestedModel");
        Objects.requireNonNull(model, "model");
        inputs = List.copyOf(inputs);
    }

    /** Number of upstream calls. */
    public int batchCount() {
        return (inputs.size() + EmbeddingsTranslator.MAX_BATCH - 1) / EmbeddingsTranslator.MAX_BATCH;
    }

    /** The upstream path, e.g. {@code /v1beta/models/gemini-embedding-001:batchEmbedContents}. */
    public String upstreamPath(String apiVersion) {
        return "/" + apiVersion + "/models/" + model + ":batchEmbedContents";
    }

    /** The {@code batchEmbedContents} body of batch {@code i} (0-based). */
    public byte[] batchBody(int i) {
        Objects.checkIndex(i, batchCount());
        int from = i * EmbeddingsTranslator.MAX_BATCH;
        int to = Math.min(inputs.size(), from + EmbeddingsTranslator.MAX_BATCH);
        ByteArrayBuilder out = new ByteArrayBuilder(256 + 64 * (to - from));
        try (JsonGenerator g = Json.generator(out)) {
            g.writeStartObject();
            g.writeArrayFieldStart("requests");
            String resource = "models/" + model;
            for (int k = from; k < to; k++) {
                g.writeStartObject();
                g.writeStringField("model", resource);
                g.writeObjectFieldStart("content");
                g.writeArrayFieldStart("parts");
                g.writeStartObject();
                g.writeStringField("text", inputs.get(k));
                g.writeEndObject();
                g.writeEndArray();
                g.writeEndObject();
                if (dimensions != null) {
                    g.writeNumberField("outputDimensionality", dimensions);
                }
                if (taskType != null) {
                    g.writeStringField("taskType", taskType);
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
