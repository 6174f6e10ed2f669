package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.io.OutputStream;

/**
 * The parts of the chat completions translation that the other API translations into Gemini reuse
 * ({@code io.gemgate.core.anthropic}): the JSON factory and its helpers, the minimal JSON tree of opaque members,
 * the schema cleaning of tool parameters ({@link SchemaCleaner}), and the writing of media as Gemini parts
 * ({@code inlineData} from base64, {@code fileData} from a URL, as {@link ChatMedia} does). Errors come as
 * {@link OpenAiRequestException} (400, naming the parameter); a caller with another error shape converts them.
 *
 * <p>Stateless static methods; thread-safe.
 */
public final class TranslationParts {
    private TranslationParts() {
    }

    /** A parser over the readable bytes of {@code buf}; neither its indices nor its refCnt change. */
    public static JsonParser parser(ByteBuf buf) {
        return Json.parser(buf);
    }

    /** A parser over {@code len} bytes of {@code b} from {@code off}. */
    public static JsonParser parser(byte[] b, int off, int len) {
        return Json.parser(b, off, len);
    }

    /** A generator writing UTF-8 to {@code out}; closing it does not close {@code out}. */
    public static JsonGenerator generator(OutputStream out) {
        return Json.generator(out);
    }

    /** The next token; fails on a truncated document. */
    public static JsonToken next(JsonParser p) throws IOException {
        return Json.next(p);
    }

    /** Fails unless the parser is at the end of the input. */
    public static void expectEnd(JsonParser p) throws IOException {
        Json.expectEnd(p);
    }

    /** Appends the current string token's characters to {@code sb} without creating a String. */
    public static void appendText(JsonParser p, StringBuilder sb) throws IOException {
        Json.appendText(p, sb);
    }

    /**
     * Reads the value at the parser's current token as a tree ({@code LinkedHashMap}, {@code ArrayList},
     * {@code String}, {@code Number}, {@code Boolean}, {@link #jsonNull()}).
     */
    public static Object readTree(JsonParser p) throws IOException {
        return JsonTree.read(p);
    }

    /** Parses a whole JSON document into a tree; {@link IOException} when it is not exactly one JSON value. */
    public static Object parseTree(String json) throws IOException {
        return JsonTree.parse(json);
    }

    /** Writes a tree value. */
    public static void writeTree(JsonGenerator g, Object tree) throws IOException {
        JsonTree.write(g, tree);
    }

    /** Compact JSON text of a tree value. */
    public static String toJson(Object tree) {
        return JsonTree.toJson(tree);
    }

    /** The tree's JSON {@code null} (Java null means absent). */
    public static Object jsonNull() {
        return JsonTree.NULL;
    }

    /**
     * A function's parameter schema cleaned into the OpenAPI subset Gemini takes ({@link SchemaCleaner}); null when
     * nothing is left to send.
     *
     * @throws IllegalArgumentException when the schema is too large or too deep
     */
    public static Object cleanParameters(Object schemaTree) {
        return SchemaCleaner.cleanParameters(schemaTree);
    }

    /**
     * A response schema cleaned into the OpenAPI subset Gemini takes as {@code generationConfig.responseSchema}
     * ({@link SchemaCleaner}).
     *
     * @throws IllegalArgumentException when the schema is too large or too deep
     */
    public static Object cleanSchema(Object schemaTree) {
        return SchemaCleaner.clean(schemaTree);
    }

    /**
     * Writes {@code {"inlineData":{"mimeType","data"}}}; the base64 (either alphabet, whitespace removed) is checked
     * and copied without a substring.
     *
     * @param param the parameter named in the 400 when the data is not base64 or empty
     * @throws OpenAiRequestException when the data is not base64 or empty
     */
    public static void writeInlineData(JsonGenerator g, String mimeType, String base64, String param)
            throws IOException {
        ChatMedia.writeInline(g, mimeType, base64, 0, base64.length(), param, 0, 0);
    }

    /** Writes {@code {"fileData":{"mimeType"?,"fileUri"}}}; no media type when {@code mimeType} is null. */
    public static void writeFileData(JsonGenerator g, String mimeType, String uri) throws IOException {
        g.writeStartObject();
        g.writeObjectFieldStart("fileData");
        if (mimeType != null) {
            g.writeStringField("mimeType", mimeType);
        }
        g.writeStringField("fileUri", uri);
        g.writeEndObject();
        g.writeEndObject();
    }

    /** A media type from the extension of a URL's path or a file name (YouTube URLs: video), else {@code fallback}. */
    public static String guessMime(String urlOrName, String fallback) {
        return ChatMedia.guessMime(urlOrName, fallback);
    }

    /**
     * The error of a Gemini error answer in OpenAI's terms (status, message, retry hints); other API shapes map its
     * status and message.
     *
     * @param body not released, indices unchanged
     */
    public static OpenAiError geminiError(int httpStatus, ByteBuf body) {
        return OpenAiErrors.fromGemini(httpStatus, body);
    }

    /** As {@link #geminiError(int, ByteBuf)} for a Google {@code error} object tree (an error event), status 0 = its code. */
    public static OpenAiError geminiError(int httpStatus, Object errorTree) {
        return OpenAiErrors.fromGemini(httpStatus, errorTree);
    }
}
