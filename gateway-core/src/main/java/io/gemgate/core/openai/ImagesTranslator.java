package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

import static io.gemgate.core.openai.ParamReader.integer;
import static io.gemgate.core.openai.ParamReader.string;
import static io.gemgate.core.openai.ParamReader.typeError;

/**
 * OpenAI's {@code POST /v1/images/generations} (OpenAI's Images API reference, "Create image") translated to Gemini:
 * to Imagen ({@code models/imagen-*:predict}, Google's Gemini API docs "Generate images using Imagen") or to a Gemini
 * image model ({@code generateContent} with {@code responseModalities: ["IMAGE"]}, "Image generation with Gemini"),
 * chosen by the model name.
 *
 * <ul>
 *   <li>{@code model}: aliases apply ({@link ModelResolver}); a name starting with {@code imagen} goes to Imagen, any
 *       other to {@code generateContent}. Absent, or an OpenAI image model without an alias ({@code dall-e-2},
 *       {@code dall-e-3}, {@code gpt-image-*}): {@value #DEFAULT_MODEL}.</li>
 *   <li>{@code prompt} (required) → the instance's {@code prompt} or the user text.</li>
 *   <li>{@code n} (1 to {@value #MAX_N}) → Imagen's {@code sampleCount}; for a Gemini model, {@code n} calls (one image
 *       each).</li>
 *   <li>{@code size} → {@code aspectRatio}: {@code 1024x1024} (and any square) → 1:1, {@code 1792x1024} → 16:9,
 *       {@code 1024x1792} → 9:16, {@code 1536x1024} → 3:2 (Imagen: 4:3), other {@code WxH} → the nearest ratio the
 *       model family takes (Imagen: 1:1, 3:4, 4:3, 9:16, 16:9; Gemini adds 2:3, 3:2, 4:5, 5:4, 21:9);
 *       {@code auto} or absent → the model's default. Anything else is a 400.</li>
 *   <li>{@code response_format}: {@code b64_json} (the default here); {@code url} is a 400: the gateway keeps no
 *       images to link to.</li>
 *   <li>{@code output_format} {@code png}/{@code jpeg} → Imagen's {@code outputOptions.mimeType}; dropped for Gemini.
 *       Dropped: {@code quality}, {@code style}, {@code background}, {@code moderation}, {@code user},
 *       {@code output_compression}, {@code partial_images}; {@code stream: true} is a 400.</li>
 * </ul>
 * The answer: {@code {"created","data":[{"b64_json"},...],"output_format"?,"usage"?}}. Images the upstream filtered
 * out are left out; none at all is a 400 {@code content_policy_violation}, as OpenAI answers refused prompts.
 *
 * <p>Thread-safe and stateless.
 */
public final class ImagesTranslator {
    /** The model of requests that name none or an OpenAI image model. */
    public static final String DEFAULT_MODEL = "imagen-4.0-generate-001";
    static final int MAX_N = 4;
    private static final String[] IMAGEN_RATIOS = {"1:1", "3:4", "4:3", "9:16", "16:9"};
    private static final String[] GEMINI_RATIOS = {"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9",
            "21:9"};

    private final ModelResolver models;
    private final Clock clock;

    public ImagesTranslator(ModelResolver models, Clock clock) {
        this.models = Objects.requireNonNull(models, "models");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** A translated request: the upstream calls and what the answer needs. */
    public record Request(String model, boolean imagen, int n, String outputFormat, byte[] body) {
        /** Upstream calls: one for Imagen ({@code sampleCount} n), n for a Gemini model. */
        public int calls() {
            return imagen ? 1 : n;
        }

        /** The upstream path. */
        public String upstreamPath(String apiVersion) {
            return "/" + apiVersion + "/models/" + model + (imagen ? ":predict" : ":generateContent");
        }
    }

    /**
     * Translates a request body.
     *
     * @param body not released, indices unchanged
     * @throws OpenAiRequestException when the request is invalid
     */
    public Request translate(ByteBuf body) {
        try (JsonParser p = Json.parser(body)) {
            return translate(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** As {@link #translate(ByteBuf)}. */
    public Request translate(byte[] body) {
        try (JsonParser p = Json.parser(body, 0, body.length)) {
            return translate(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Request translate(JsonParser p) throws IOException {
        String model = null;
        String prompt = null;
        Long n = null;
        String size = null;
        String format = null;
        String outputFormat = null;
        try {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new OpenAiRequestException(null, "The request body must be a JSON object.");
            }
            while (Json.next(p) != JsonToken.END_OBJECT) {
                String f = p.currentName();
                JsonToken t = Json.next(p);
                switch (f) {
                    case "model" -> model = string(p, "model");
                    case "prompt" -> prompt = string(p, "prompt");
                    case "n" -> n = integer(p, "n");
                    case "size" -> size = string(p, "size");
                    case "response_format" -> format = string(p, "response_format");
                    case "output_format" -> outputFormat = string(p, "output_format");
                    case "stream" -> {
                        if (ParamReader.bool(p, "stream", false)) {
                            throw new OpenAiRequestException("stream", "Streamed image generation is not supported"
                                    + " by this gateway.");
                        }
                    }
                    default -> {
                        if (t.isStructStart()) {
                            p.skipChildren();
                        }
                    }
                }
            }
            Json.expectEnd(p);
        } catch (JsonParseException e) {
            throw new OpenAiRequestException(null, "We could not parse the JSON body of your request: "
                    + e.getOriginalMessage());
        }
        if (prompt == null || prompt.isBlank()) {
            throw new OpenAiRequestException("prompt", "Missing required parameter: 'prompt'.");
        }
        int count = n == null ? 1 : (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, n));
        if (count < 1 || count > MAX_N) {
            throw new OpenAiRequestException("n", "Invalid value: " + n + ". n must be between 1 and " + MAX_N
                    + " (Gemini's most images per request).");
        }
        if (format != null && !format.equals("b64_json")) {
            if (format.equals("url")) {
                throw new OpenAiRequestException("response_format", "response_format 'url' is not supported: this"
                        + " gateway keeps no images to link to. Use 'b64_json'.");
            }
            throw new OpenAiRequestException("response_format", "Invalid value: '" + shorten(format)
                    + "'. Supported values are: 'b64_json'.");
        }
        String mime = null;
        if (outputFormat != null) {
            mime = switch (outputFormat) {
                case "png" -> "image/png";
                case "jpeg", "jpg" -> "image/jpeg";
                case "webp" -> null;
                default -> throw new OpenAiRequestException("output_format", "Invalid value: '"
                        + shorten(outputFormat) + "'. Supported values are: 'png', 'jpeg' and 'webp'.");
            };
        }
        String name = resolve(model);
        boolean imagen = name.startsWith("imagen");
        String ratio = ratio(size, imagen ? IMAGEN_RATIOS : GEMINI_RATIOS);
        ByteArrayBuilder out = new ByteArrayBuilder(256 + prompt.length());
        try (JsonGenerator g = Json.generator(out)) {
            g.writeStartObject();
            if (imagen) {
                g.writeArrayFieldStart("instances");
                g.writeStartObject();
                g.writeStringField("prompt", prompt);
                g.writeEndObject();
                g.writeEndArray();
                g.writeObjectFieldStart("parameters");
                g.writeNumberField("sampleCount", count);
                if (ratio != null) {
                    g.writeStringField("aspectRatio", ratio);
                }
                if (mime != null) {
                    g.writeObjectFieldStart("outputOptions");
                    g.writeStringField("mimeType", mime);
                    g.writeEndObject();
                }
                g.writeEndObject();
            } else {
                g.writeArrayFieldStart("contents");
                g.writeStartObject();
                g.writeStringField("role", "user");
                g.writeArrayFieldStart("parts");
                g.writeStartObject();
                g.writeStringField("text", prompt);
                g.writeEndObject();
                g.writeEndArray();
                g.writeEndObject();
                g.writeEndArray();
                g.writeObjectFieldStart("generationConfig");
                g.writeArrayFieldStart("responseModalities");
                g.writeString("IMAGE");
                g.writeEndArray();
                if (ratio != null) {
                    g.writeObjectFieldStart("imageConfig");
                    g.writeStringField("aspectRatio", ratio);
                    g.writeEndObject();
                }
                g.writeEndObject();
            }
            g.writeEndObject();
        }
        return new Request(name, imagen, count, outputFormat, out.toByteArray());
    }

    /** The Gemini model: aliases first; OpenAI's own image models and no model → {@link #DEFAULT_MODEL}. */
    private String resolve(String model) {
        if (model == null || model.isBlank()) {
            return DEFAULT_MODEL;
        }
        String name = models.resolvePlain(model);
        String lower = name.toLowerCase(Locale.ROOT);
        if (lower.startsWith("dall-e") || lower.startsWith("gpt-image")) {
            return DEFAULT_MODEL;
        }
        return name;
    }

    /** The aspect ratio for an OpenAI size: exact for the documented sizes, else the nearest; null for the default. */
    static String ratio(String size, String[] ratios) {
        if (size == null || size.equals("auto")) {
            return null;
        }
        int x = size.indexOf('x');
        double w;
        double h;
        try {
            if (x <= 0 || x == size.length() - 1) {
                throw new NumberFormatException();
            }
            w = Integer.parseInt(size.substring(0, x));
            h = Integer.parseInt(size.substring(x + 1));
            if (w <= 0 || h <= 0) {
                throw new NumberFormatException();
            }
        } catch (NumberFormatException e) {
            throw new OpenAiRequestException("size", "Invalid value: '" + shorten(size) + "'. Expected 'auto' or"
                    + " WIDTHxHEIGHT, e.g. '1024x1024', '1792x1024' or '1024x1792'.");
        }
        double want = Math.log(w / h);
        String best = null;
        double bestDistance = Double.MAX_VALUE;
        for (String r : ratios) {
            int colon = r.indexOf(':');
            double have = Math.log(Double.parseDouble(r.substring(0, colon)) / Double.parseDouble(r.substring(colon + 1)));
            double d = Math.abs(have - want);
            if (d < bestDistance - 1e-9) {
                best = r;
                bestDistance = d;
            }
        }
        return best;
    }

    /**
     * The OpenAI answer from every upstream body, in call order.
     *
     * @throws OpenAiRequestException 400 {@code content_policy_violation} when the upstream returned no image
     * @throws UpstreamFormatException when a body is not the JSON expected
     */
    public byte[] answer(Request request, List<byte[]> bodies) {
        List<String[]> images = new ArrayList<>(); // {mime, base64}
        long input = 0;
        long output = 0;
        boolean usage = false;
        String blocked = null;
        for (byte[] body : bodies) {
            try (JsonParser p = Json.parser(body, 0, body.length)) {
                if (request.imagen()) {
                    blocked = readPredictions(p, images, blocked);
                } else {
                    GeminiImages g = readGemini(p, images);
                    if (g.blocked != null) {
                        blocked = g.blocked;
                    }
                    if (g.usage) {
                        usage = true;
                        input += g.input;
                        output += g.output;
                    }
                }
            } catch (IOException e) {
                throw new UpstreamFormatException("image answer is not valid JSON: " + e.getMessage(), e);
            }
        }
        if (images.isEmpty()) {
            throw new OpenAiRequestException(400, "prompt", "The upstream returned no image for this prompt"
                    + (blocked != null ? " (" + shorten(blocked) + ")" : "") + ": it may have been filtered by its"
                    + " safety system.", "content_policy_violation");
        }
        ByteArrayBuilder out = new ByteArrayBuilder(256);
        try (JsonGenerator g = Json.generator(out)) {
            g.writeStartObject();
            g.writeNumberField("created", clock.millis() / 1000);
            g.writeArrayFieldStart("data");
            for (String[] image : images) {
                g.writeStartObject();
                g.writeStringField("b64_json", image[1]);
                g.writeEndObject();
            }
            g.writeEndArray();
            String first = images.get(0)[0];
            if (first != null && first.startsWith("image/")) {
                g.writeStringField("output_format", first.substring(6).equals("jpg") ? "jpeg" : first.substring(6));
            }
            if (usage) {
                g.writeObjectFieldStart("usage");
                g.writeNumberField("input_tokens", input);
                g.writeNumberField("output_tokens", output);
                g.writeNumberField("total_tokens", input + output);
                g.writeEndObject();
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Imagen's {@code predictions[]}: {@code bytesBase64Encoded} and {@code mimeType}, or {@code raiFilteredReason}. */
    private static String readPredictions(JsonParser p, List<String[]> images, String blocked) throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            throw new JsonParseException(p, "Expected a JSON object");
        }
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            if (f.equals("predictions") && t == JsonToken.START_ARRAY) {
                while (Json.next(p) != JsonToken.END_ARRAY) {
                    if (p.currentToken() != JsonToken.START_OBJECT) {
                        p.skipChildren();
                        continue;
                    }
                    String data = null;
                    String mime = null;
                    while (Json.next(p) != JsonToken.END_OBJECT) {
                        String g = p.currentName();
                        JsonToken u = Json.next(p);
                        if (g.equals("bytesBase64Encoded") && u == JsonToken.VALUE_STRING) {
                            data = p.getText();
                        } else if (g.equals("mimeType") && u == JsonToken.VALUE_STRING) {
                            mime = p.getText();
                        } else if (g.equals("raiFilteredReason") && u == JsonToken.VALUE_STRING) {
                            blocked = p.getText();
                        } else if (u.isStructStart()) {
                            p.skipChildren();
                        }
                    }
                    if (data != null) {
                        images.add(new String[] {mime, data});
                    }
                }
            } else if (t.isStructStart()) {
                p.skipChildren();
            }
        }
        return blocked;
    }

    private static final class GeminiImages {
        String blocked;
        boolean usage;
        long input;
        long output;
    }

    /** A Gemini answer's {@code inlineData} image parts, its usage, and a block or finish reason without images. */
    private static GeminiImages readGemini(JsonParser p, List<String[]> images) throws IOException {
        GeminiResponseImages r = new GeminiResponseImages();
        r.read(p);
        GeminiImages g = new GeminiImages();
        images.addAll(r.images);
        if (r.images.isEmpty()) {
            g.blocked = r.blockReason != null ? r.blockReason : r.finishReason;
        }
        g.usage = r.hasUsage;
        g.input = r.prompt;
        g.output = r.candidates + r.thoughts;
        return g;
    }

    /** Reads the image parts of a {@code GenerateContentResponse}; {@link GeminiResponse} turns them into text. */
    private static final class GeminiResponseImages {
        final List<String[]> images = new ArrayList<>(1);
        String blockReason;
        String finishReason;
        boolean hasUsage;
        long prompt;
        long candidates;
        long thoughts;

        void read(JsonParser p) throws IOException {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new JsonParseException(p, "Expected a JSON object");
            }
            walk(p, null);
        }

        /**
         * Walks an object: candidates → content → parts → inlineData; usageMetadata; promptFeedback.
         *
         * @return the image of an {@code inlineData} object, else null
         */
        private String[] walk(JsonParser p, String parent) throws IOException {
            String mime = null;
            String data = null;
            boolean thought = false;
            String[] partImage = null;
            while (Json.next(p) != JsonToken.END_OBJECT) {
                String f = p.currentName();
                JsonToken t = Json.next(p);
                if (t == JsonToken.START_OBJECT) {
                    String[] image = walk(p, f);
                    if (image != null) {
                        partImage = image;
                    }
                } else if (t == JsonToken.START_ARRAY) {
                    while (Json.next(p) != JsonToken.END_ARRAY) {
                        if (p.currentToken() == JsonToken.START_OBJECT) {
                            walk(p, f);
                        } else if (p.currentToken().isStructStart()) {
                            p.skipChildren();
                        }
                    }
                } else if ("inlineData".equals(parent) || "inline_data".equals(parent)) {
                    if ((f.equals("mimeType") || f.equals("mime_type")) && t == JsonToken.VALUE_STRING) {
                        mime = p.getText();
                    } else if (f.equals("data") && t == JsonToken.VALUE_STRING) {
                        data = p.getText();
                    }
                } else if ("usageMetadata".equals(parent) && t == JsonToken.VALUE_NUMBER_INT) {
                    hasUsage = true;
                    switch (f) {
                        case "promptTokenCount" -> prompt = p.getLongValue();
                        case "candidatesTokenCount" -> candidates = p.getLongValue();
                        case "thoughtsTokenCount" -> thoughts = p.getLongValue();
                        default -> {
                        }
                    }
                } else if (f.equals("thought")) {
                    thought = t == JsonToken.VALUE_TRUE;
                } else if (f.equals("blockReason") && t == JsonToken.VALUE_STRING) {
                    blockReason = p.getText();
                } else if (f.equals("finishReason") && t == JsonToken.VALUE_STRING) {
                    finishReason = p.getText();
                }
            }
            if ("parts".equals(parent) && partImage != null && !thought) { // thought images are drafts
                images.add(partImage);
            }
            if (data != null && (mime == null || mime.startsWith("image/"))) {
                return new String[] {mime, data};
            }
            return null;
        }
    }

    private static String shorten(String s) {
        return ResponsesRequestParser.shorten(s);
    }
}
