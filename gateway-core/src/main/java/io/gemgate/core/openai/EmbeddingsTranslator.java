package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * OpenAI {@code POST /v1/embeddings} to Gemini {@code batchEmbedContents} and back (OpenAI API reference: Create
 * embeddings; Gemini API reference: batchEmbedContents).
 *
 * <p>Request: {@code input} is a string or an array of strings (1 to {@value #MAX_INPUTS}, none empty); token arrays
 * are refused (400: Gemini embeds text only); {@code dimensions} (or the extension {@code output_dimensionality})
 * becomes {@code outputDimensionality}; the extension {@code task_type} becomes {@code taskType};
 * {@code encoding_format} is {@code float} (default) or {@code base64}; {@code user} is dropped.
 *
 * <p>Answer: {@code data[i] = {"object":"embedding","index":i,"embedding":...}} in input order across batches. As
 * floats, the numbers are copied as Gemini wrote them; as base64, they are packed as little-endian IEEE-754 float32,
 * as the OpenAI SDKs decode them. {@code usage}: Gemini's {@code usageMetadata.promptTokenCount} summed over the
 * batches when it sends one; otherwise an estimate of one token per 4 characters (at least 1 per input), since
 * {@code batchEmbedContents} reports no usage and a {@code countTokens} call per request would double the upstream
 * calls. Clients use these numbers for display, not billing.
 *
 * <p>Thread-safe.
 */
public final class EmbeddingsTranslator {
    /** Most inputs per {@code batchEmbedContents} call (Gemini's limit). */
    public static final int MAX_BATCH = 100;
    /** Most inputs per OpenAI request (OpenAI's limit). */
    public static final int MAX_INPUTS = 2048;

    private final ModelResolver models;

    public EmbeddingsTranslator(ModelResolver models) {
        this.models = Objects.requireNonNull(models, "models");
    }

    /**
     * Translates a request body.
     *
     * @throws OpenAiRequestException when the request is invalid
     */
    public EmbeddingsRequest translate(byte[] body) {
        return translate(Json.parser(body, 0, body.length));
    }

    /**
     * Translates a request body.
     *
     * @param body not released, indices unchanged
     * @throws OpenAiRequestException when the request is invalid
     */
    public EmbeddingsRequest translate(ByteBuf body) {
        return translate(Json.parser(body));
    }

    private EmbeddingsRequest translate(JsonParser p) {
        String model = null;
        List<String> inputs = null;
        Long dimensions = null;
        String format = null;
        String taskType = null;
        try (p) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new OpenAiRequestException(null, "The request body must be a JSON object.");
            }
            while (Json.next(p) != JsonToken.END_OBJECT) {
                String f = p.currentName();
                JsonToken t = Json.next(p);
                switch (f) {
                    case "model" -> model = string(p, "model");
                    case "input" -> inputs = inputs(p);
                    case "dimensions", "output_dimensionality" -> dimensions = integer(p, f);
                    case "encoding_format" -> format = string(p, "encoding_format");
                    case "task_type" -> taskType = string(p, "task_type");
                    default -> {
                        if (t.isStructStart()) {
                            p.skipChildren();
                        }
                    }
                }
            }
            Json.expectEnd(p);
        } catch (com.fasterxml.jackson.core.JsonParseException e) {
            throw new OpenAiRequestException(null, "We could not parse the JSON body of your request: "
                    + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String gemini = models.resolvePlain(model);
        if (inputs == null) {
            throw new OpenAiRequestException("input", "Missing required parameter: 'input'.");
        }
        if (format != null && !format.equals("float") && !format.equals("base64")) {
            throw new OpenAiRequestException("encoding_format", "Invalid value: '" + format
                    + "'. Supported values are: 'float' and 'base64'.");
        }
        if (dimensions != null && (dimensions < 1 || dimensions > 65536)) {
            throw new OpenAiRequestException("dimensions", "Invalid 'dimensions': " + dimensions
                    + " (expected: a positive integer).");
        }
        return new EmbeddingsRequest(model, gemini, inputs, dimensions == null ? null : dimensions.intValue(),
                "base64".equals(format), taskType == null ? null : taskType.toUpperCase(Locale.ROOT));
    }

    private static List<String> inputs(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        List<String> inputs = new ArrayList<>();
        if (t == JsonToken.VALUE_STRING) {
            if (p.getTextLength() == 0) {
                throw new OpenAiRequestException("input", "Invalid 'input': empty string.");
            }
            inputs.add(p.getText());
            return inputs;
        }
        if (t != JsonToken.START_ARRAY) {
            throw new OpenAiRequestException("input", "Invalid type for 'input': expected a string or an array of "
                    + "strings.");
        }
        while (Json.next(p) != JsonToken.END_ARRAY) {
            JsonToken e = p.currentToken();
            if (e == JsonToken.VALUE_NUMBER_INT || e == JsonToken.START_ARRAY) {
                throw new OpenAiRequestException("input", "Token arrays are not supported: Gemini embeds text. "
                        + "Send the input as strings.");
            }
            if (e != JsonToken.VALUE_STRING) {
                throw new OpenAiRequestException("input[" + inputs.size() + "]", "Invalid type for 'input["
                        + inputs.size() + "]': expected a string.");
            }
            if (p.getTextLength() == 0) {
                throw new OpenAiRequestException("input[" + inputs.size() + "]", "Invalid 'input[" + inputs.size()
                        + "]': empty string.");
            }
            if (inputs.size() == MAX_INPUTS) {
                throw new OpenAiRequestException("input", "Invalid 'input': at most " + MAX_INPUTS + " inputs.");
            }
            inputs.add(p.getText());
        }
        if (inputs.isEmpty()) {
            throw new OpenAiRequestException("input", "Invalid 'input': empty array. Expected at least one string.");
        }
        return inputs;
    }

    /**
     * Translates the answers to all batches, in batch order.
     *
     * @param batches one {@code batchEmbedContents} answer per {@link EmbeddingsRequest#batchBody(int)}
     * @throws UpstreamFormatException when an answer is not Gemini's, or the embeddings do not match the inputs
     */
    public byte[] translateResponse(EmbeddingsRequest request, List<byte[]> batches) {
        if (batches.size() != request.batchCount()) {
            throw new IllegalArgumentException("batches: " + batches.size() + " (expected: " + request.batchCount()
                    + ")");
        }
        ByteArrayBuilder out = new ByteArrayBuilder(1024);
        int index = 0;
        long promptTokens = 0;
        boolean reported = false;
        byte[] floats = new byte[4096];
        try (JsonGenerator g = Json.generator(out)) {
            g.writeStartObject();
            g.writeStringField("object", "list");
            g.writeArrayFieldStart("data");
            for (byte[] batch : batches) {
                try (JsonParser p = Json.parser(batch, 0, batch.length)) {
                    if (p.nextToken() != JsonToken.START_OBJECT) {
                        throw new IOException("not a JSON object");
                    }
                    while (Json.next(p) != JsonToken.END_OBJECT) {
                        String f = p.currentName();
                        JsonToken t = Json.next(p);
                        if (f.equals("embeddings") && t == JsonToken.START_ARRAY) {
                            while (Json.next(p) != JsonToken.END_ARRAY) {
                                floats = embedding(p, g, index++, request.base64(), floats);
                            }
                        } else if (f.equals("usageMetadata") && t == JsonToken.START_OBJECT) {
                            while (Json.next(p) != JsonToken.END_OBJECT) {
                                String u = p.currentName();
                                JsonToken v = Json.next(p);
                                if ((u.equals("promptTokenCount") || u.equals("totalTokenCount"))
                                        && v == JsonToken.VALUE_NUMBER_INT) {
                                    if (u.equals("promptTokenCount")) {
                                        promptTokens += p.getLongValue();
                                        reported = true;
                                    }
                                } else if (v.isStructStart()) {
                                    p.skipChildren();
                                }
                            }
                        } else if (t.isStructStart()) {
                            p.skipChildren();
                        }
                    }
                }
            }
            if (index != request.inputs().size()) {
                throw new IOException(index + " embeddings for " + request.inputs().size() + " inputs");
            }
            g.writeEndArray();
            g.writeStringField("model", request.requestedModel());
            long tokens = reported ? promptTokens : estimate(request.inputs());
            g.writeObjectFieldStart("usage");
            g.writeNumberField("prompt_tokens", tokens);
            g.writeNumberField("total_tokens", tokens);
            g.writeEndObject();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UpstreamFormatException("Gemini embeddings answer is not valid: " + e.getMessage(), e);
        }
        return out.toByteArray();
    }

    /** Reads {@code {"values":[..]}} and writes one {@code data} entry; returns the (maybe grown) float buffer. */
    private static byte[] embedding(JsonParser p, JsonGenerator g, int index, boolean base64, byte[] floats)
            throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new IOException("embedding is not an object");
        }
        g.writeStartObject();
        g.writeStringField("object", "embedding");
        g.writeNumberField("index", index);
        boolean values = false;
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            if (f.equals("values") && t == JsonToken.START_ARRAY) {
                values = true;
                g.writeFieldName("embedding");
                if (base64) {
                    int n = 0;
                    while (Json.next(p) != JsonToken.END_ARRAY) {
                        int bits = Float.floatToIntBits(p.getFloatValue());
                        if (n + 4 > floats.length) {
                            floats = java.util.Arrays.copyOf(floats, floats.length * 2);
                        }
                        floats[n++] = (byte) bits;
                        floats[n++] = (byte) (bits >>> 8);
                        floats[n++] = (byte) (bits >>> 16);
                        floats[n++] = (byte) (bits >>> 24);
                    }
                    g.writeString(Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(floats, n)));
                } else {
                    g.writeStartArray();
                    while (Json.next(p) != JsonToken.END_ARRAY) {
                        if (!p.currentToken().isNumeric()) {
                            throw new IOException("embedding value is not a number");
                        }
                        g.writeNumber(p.getTextCharacters(), p.getTextOffset(), p.getTextLength());
                    }
                    g.writeEndArray();
                }
            } else if (t.isStructStart()) {
                p.skipChildren();
            }
        }
        if (!values) {
            throw new IOException("embedding without values");
        }
        g.writeEndObject();
        return floats;
    }

    /** About one token per 4 characters, at least one per input. */
    static long estimate(List<String> inputs) {
        long tokens = 0;
        for (String s : inputs) {
            tokens += Math.max(1, (s.codePointCount(0, s.length()) + 3) / 4);
        }
        return tokens;
    }

    private static String string(JsonParser p, String param) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_STRING) {
            return p.getText();
        }
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        throw new OpenAiRequestException(param, "Invalid type for '" + param + "': expected a string.");
    }

    private static Long integer(JsonParser p, String param) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NUMBER_INT) {
            return p.getLongValue();
        }
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        throw new OpenAiRequestException(param, "Invalid type for '" + param + "': expected an integer.");
    }
}
