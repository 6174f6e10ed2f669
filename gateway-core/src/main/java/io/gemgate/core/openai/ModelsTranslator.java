package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Gemini {@code models.list} / {@code models.get} answers in OpenAI's shape (OpenAI API reference: Models):
 * {@code {"object":"list","data":[{"id","object":"model","created","owned_by":"google"}]}}.
 *
 * <p>Ids lose the {@code models/} prefix. Listed: models whose {@code supportedGenerationMethods} name
 * {@code generateContent} or an embedding method (or that list no methods), in upstream order, without duplicates.
 * With search variants on, every Gemini chat model is also listed with the {@code -search} suffix
 * ({@link ModelResolver}). {@code created} is a fixed time given at construction: Gemini has no creation date.
 *
 * <p>Thread-safe.
 */
public final class ModelsTranslator {
    private final long created;
    private final boolean searchVariants;

    /**
     * @param created        unix seconds reported as every model's {@code created}
     * @param searchVariants also list {@code <model>-search} for chat models
     */
    public ModelsTranslator(long created, boolean searchVariants) {
        this.created = created;
        this.searchVariants = searchVariants;
    }

    /**
     * Translates one page of {@code models.list}.
     *
     * @throws UpstreamFormatException when the page is not a Gemini model list
     */
    public byte[] list(byte[] page) {
        return list(List.of(page));
    }

    /**
     * Translates all pages of {@code models.list}, in order, into one OpenAI list.
     *
     * @throws UpstreamFormatException when a page is not a Gemini model list
     */
    public byte[] list(List<byte[]> pages) {
        Set<String> ids = new LinkedHashSet<>();
        for (byte[] page : pages) {
            try (JsonParser p = Json.parser(page, 0, page.length)) {
                if (p.nextToken() != JsonToken.START_OBJECT) {
                    throw new IOException("not a JSON object");
                }
                while (Json.next(p) != JsonToken.END_OBJECT) {
                    String f = p.currentName();
                    JsonToken t = Json.next(p);
                    if (f.equals("models") && t == JsonToken.START_ARRAY) {
                        while (Json.next(p) != JsonToken.END_ARRAY) {
                            Entry e = entry(p);
                            if (e.name != null && e.listed) {
                                String id = ModelResolver.stripPrefix(e.name);
                                ids.add(id);
                                if (searchVariants && e.chat && id.startsWith("gemini")) {
                                    ids.add(id + "-search");
                                }
                            }
                        }
                    } else if (t.isStructStart()) {
                        p.skipChildren();
                    }
                }
            } catch (IOException e) {
                throw new UpstreamFormatException("Gemini model list is not valid: " + e.getMessage(), e);
            }
        }
        ByteArrayBuilder out = new ByteArrayBuilder(Math.max(256, ids.size() * 80));
        try (JsonGenerator g = Json.generator(out)) {
            g.writeStartObject();
            g.writeStringField("object", "list");
            g.writeArrayFieldStart("data");
            for (String id : ids) {
                writeModel(g, id);
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * Translates one {@code models.get} answer.
     *
     * @throws UpstreamFormatException when it is not a Gemini model
     */
    public byte[] model(byte[] geminiModel) {
        Entry e;
        try (JsonParser p = Json.parser(geminiModel, 0, geminiModel.length)) {
            p.nextToken();
            e = entry(p);
            Json.expectEnd(p);
        } catch (IOException ex) {
            throw new UpstreamFormatException("Gemini model is not valid: " + ex.getMessage(), ex);
        }
        if (e.name == null) {
            throw new UpstreamFormatException("Gemini model has no name", null);
        }
        return model(ModelResolver.stripPrefix(e.name));
    }

    /** An OpenAI model object for {@code id} (e.g. a {@code -search} variant or an alias the gateway serves). */
    public byte[] model(String id) {
        ByteArrayBuilder out = new ByteArrayBuilder(128);
        try (JsonGenerator g = Json.generator(out)) {
            writeModel(g, id);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** The {@code nextPageToken} of a {@code models.list} page, or null on the last page. */
    public static String nextPageToken(byte[] page) {
        try (JsonParser p = Json.parser(page, 0, page.length)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (Json.next(p) != JsonToken.END_OBJECT) {
                String f = p.currentName();
                JsonToken t = Json.next(p);
                if (f.equals("nextPageToken") && t == JsonToken.VALUE_STRING) {
                    String token = p.getText();
                    return token.isEmpty() ? null : token;
                }
                if (t.isStructStart()) {
                    p.skipChildren();
                }
            }
            return null;
        } catch (IOException e) {
            throw new UpstreamFormatException("Gemini model list is not valid: " + e.getMessage(), e);
        }
    }

    private void writeModel(JsonGenerator g, String id) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", id);
        g.writeStringField("object", "model");
        g.writeNumberField("created", created);
        g.writeStringField("owned_by", "google");
        g.writeEndObject();
    }

    private record Entry(String name, boolean listed, boolean chat) {
    }

    private static Entry entry(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new IOException("model is not an object");
        }
        String name = null;
        List<String> methods = null;
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            if (f.equals("name") && t == JsonToken.VALUE_STRING) {
                name = p.getText();
            } else if ((f.equals("supportedGenerationMethods") || f.equals("supportedActions"))
                    && t == JsonToken.START_ARRAY) {
                methods = new ArrayList<>();
                while (Json.next(p) != JsonToken.END_ARRAY) {
                    if (p.currentToken() == JsonToken.VALUE_STRING) {
                        methods.add(p.getText());
                    } else {
                        p.skipChildren();
                    }
                }
            } else if (t.isStructStart()) {
                p.skipChildren();
            }
        }
        boolean chat = methods == null || methods.contains("generateContent");
        boolean embed = methods != null && (methods.contains("embedContent")
                || methods.contains("batchEmbedContents"));
        return new Entry(name, chat || embed, methods != null && methods.contains("generateContent"));
    }
}
