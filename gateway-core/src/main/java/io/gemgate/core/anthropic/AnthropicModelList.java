package io.gemgate.core.anthropic;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.gemgate.core.openai.TranslationParts;
import io.gemgate.core.openai.UpstreamFormatException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Gemini {@code models.list} / {@code models.get} answers in the shape of Anthropic's Models API (Anthropic's API
 * reference, "Models": {@code GET /v1/models} and {@code GET /v1/models/{model_id}}), for Anthropic's SDKs:
 * {@code {"data":[{"type":"model","id","display_name","created_at"}],"has_more":false,"first_id","last_id"}}.
 *
 * <p>Listed: the models that can {@code generateContent} (what the Messages API can call), ids without
 * {@code models/}, in upstream order. {@code created_at} is one fixed time (2025-01-01): Gemini has no creation date.
 *
 * <p>Stateless and thread-safe.
 */
public final class AnthropicModelList {
    /** Every model's {@code created_at}. */
    public static final String CREATED_AT = "2025-01-01T00:00:00Z";

    private AnthropicModelList() {
    }

    /**
     * One page of {@code models.list} as Anthropic's list.
     *
     * @throws UpstreamFormatException when the page is not a Gemini model list
     */
    public static byte[] list(byte[] page) {
        Map<String, String> models = new LinkedHashMap<>();
        try (JsonParser p = TranslationParts.parser(page, 0, page.length)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException("not a JSON object");
            }
            while (TranslationParts.next(p) != JsonToken.END_OBJECT) {
                String f = p.currentName();
                JsonToken t = TranslationParts.next(p);
                if (f.equals("models") && t == JsonToken.START_ARRAY) {
                    while (TranslationParts.next(p) != JsonToken.END_ARRAY) {
                        Model m = model(p);
                        if (m.name != null && m.chat) {
                            models.putIfAbsent(id(m.name), m.displayName);
                        }
                    }
                } else if (t.isStructStart()) {
                    p.skipChildren();
                }
            }
        } catch (IOException e) {
            throw new UpstreamFormatException("Gemini model list is not valid: " + e.getMessage(), e);
        }
        ByteArrayBuilder out = new ByteArrayBuilder(Math.max(256, models.size() * 110));
        try (JsonGenerator g = TranslationParts.generator(out)) {
            g.writeStartObject();
            g.writeArrayFieldStart("data");
            String first = null;
            String last = null;
            for (Map.Entry<String, String> e : models.entrySet()) {
                write(g, e.getKey(), e.getValue());
                first = first == null ? e.getKey() : first;
                last = e.getKey();
            }
            g.writeEndArray();
            g.writeBooleanField("has_more", false);
            g.writeStringField("first_id", first);
            g.writeStringField("last_id", last);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * One {@code models.get} answer as Anthropic's model object, with {@code id} the name the client asked for (a
     * {@code claude-*} name stays as it was asked).
     *
     * @throws UpstreamFormatException when it is not a Gemini model
     */
    public static byte[] model(byte[] geminiModel, String id) {
        Model m;
        try (JsonParser p = TranslationParts.parser(geminiModel, 0, geminiModel.length)) {
            p.nextToken();
            m = model(p);
            TranslationParts.expectEnd(p);
        } catch (IOException e) {
            throw new UpstreamFormatException("Gemini model is not valid: " + e.getMessage(), e);
        }
        if (m.name == null) {
            throw new UpstreamFormatException("Gemini model has no name", null);
        }
        ByteArrayBuilder out = new ByteArrayBuilder(128);
        try (JsonGenerator g = TranslationParts.generator(out)) {
            write(g, id, m.displayName);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static String id(String name) {
        return name.startsWith("models/") ? name.substring("models/".length()) : name;
    }

    private static void write(JsonGenerator g, String id, String displayName) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", "model");
        g.writeStringField("id", id);
        g.writeStringField("display_name", displayName != null && !displayName.isEmpty() ? displayName : id);
        g.writeStringField("created_at", CREATED_AT);
        g.writeEndObject();
    }

    private record Model(String name, String displayName, boolean chat) {
    }

    private static Model model(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new IOException("model is not an object");
        }
        String name = null;
        String displayName = null;
        boolean methods = false;
        boolean chat = false;
        while (TranslationParts.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = TranslationParts.next(p);
            if (f.equals("name") && t == JsonToken.VALUE_STRING) {
                name = p.getText();
            } else if (f.equals("displayName") && t == JsonToken.VALUE_STRING) {
                displayName = p.getText();
            } else if (f.equals("supportedGenerationMethods") && t == JsonToken.START_ARRAY) {
                methods = true;
                while (TranslationParts.next(p) != JsonToken.END_ARRAY) {
                    if (p.currentToken() == JsonToken.VALUE_STRING && p.getText().equals("generateContent")) {
                        chat = true;
                    } else if (p.currentToken().isStructStart()) {
                        p.skipChildren();
                    }
                }
            } else if (t.isStructStart()) {
                p.skipChildren();
            }
        }
        return new Model(name, displayName, chat || !methods);
    }
}
