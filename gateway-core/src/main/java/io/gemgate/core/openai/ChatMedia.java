package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.gemgate.core.openai.ChatRequest.Message;
import io.gemgate.core.openai.ChatRequest.Part;
import io.gemgate.core.openai.ChatRequest.PartKind;

import java.io.IOException;
import java.util.Locale;

import static io.gemgate.core.openai.ParamReader.param;
import static io.gemgate.core.openai.ParamReader.string;
import static io.gemgate.core.openai.ParamReader.typeError;

/**
 * Content parts of OpenAI chat messages and their Gemini form: reads {@code text}, {@code image_url},
 * {@code input_audio}, {@code file} and {@code refusal} parts (OpenAI's Chat Completions API reference, "Create
 * chat completion", {@code messages[].content}), and writes a user message's parts as Gemini {@code Part}s (Google's
 * Gemini API reference, {@code Content} and {@code Part}: {@code text}, {@code inlineData}, {@code fileData}).
 *
 * <ul>
 *   <li>{@code image_url} with an {@code http(s)} URL becomes {@code fileData{fileUri, mimeType}}: the Gemini API
 *       fetches public and signed HTTPS URLs itself, so the gateway never downloads on a client's behalf (no SSRF, no
 *       blocking I/O, no size limit of ours). The {@code mimeType} is guessed from the URL path's extension
 *       ({@link #guessMime}), else {@code image/jpeg}. {@code image_url.detail} has no Developer API equivalent and
 *       is dropped.</li>
 *   <li>Data URLs ({@code data:<type>;base64,...}, RFC 2397) become {@code inlineData}; only base64 ones with a media
 *       type are taken. The base64 (RFC 4648, either alphabet; whitespace removed) is copied from the parsed string
 *       without a further copy.</li>
 *   <li>{@code input_audio} takes the formats wav, mp3, aiff, aac, ogg and flac ({@link #audioMime}).</li>
 *   <li>{@code file.file_data} may be a data URL or bare base64 (then the media type comes from {@code filename}'s
 *       extension, default {@code application/pdf}); {@code file.file_id} ({@code file-abc}, as
 *       {@code POST /v1/files} answers) becomes {@code fileData{fileUri}} naming the Gemini file {@code files/abc}
 *       ({@link #fileUri}; the gateway then sends the call with the key that holds it).</li>
 * </ul>
 *
 * <p>Called by {@link ChatRequestParser} (reading) and {@link GeminiRequestWriter} (writing). Stateless static
 * methods; thread-safe.
 */
final class ChatMedia {
    private ChatMedia() {
    }

    /**
     * Reads the content part at the parser's {@code START_OBJECT}: {@code messages[i].content[j]}.
     *
     * @return the part, or null for an assistant's {@code refusal} part (nothing for Gemini to learn from)
     * @throws OpenAiRequestException when the part is invalid
     */
    static Part part(JsonParser p, int i, int j) throws IOException {
        String where = null;
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw typeError("messages[" + i + "].content[" + j + "]", "an object", p);
        }
        String type = null;
        String text = null;
        String url = null;
        String audioData = null;
        String audioFormat = null;
        String fileData = null;
        String fileId = null;
        String filename = null;
        boolean refusal = false;
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken t = Json.next(p);
            switch (f) {
                case "type" -> type = string(p, "messages[#].content[#].type", i, j);
                case "text" -> text = string(p, "messages[#].content[#].text", i, j);
                case "refusal" -> {
                    refusal = true;
                    string(p, "messages[#].content[#].refusal", i, j);
                }
                case "image_url" -> {
                    if (t == JsonToken.VALUE_STRING) {
                        url = p.getText();
                    } else if (t == JsonToken.START_OBJECT) {
                        while (Json.next(p) != JsonToken.END_OBJECT) {
                            String g = p.currentName();
                            JsonToken u = Json.next(p);
                            if (g.equals("url")) {
                                url = string(p, "messages[#].content[#].image_url.url", i, j);
                            } else if (u.isStructStart()) {
                                p.skipChildren();
                            }
                        }
                    } else {
                        throw typeError("messages[" + i + "].content[" + j + "].image_url", "an object", p);
                    }
                }
                case "input_audio" -> {
                    if (t != JsonToken.START_OBJECT) {
                        throw typeError("messages[" + i + "].content[" + j + "].input_audio", "an object", p);
                    }
                    while (Json.next(p) != JsonToken.END_OBJECT) {
                        String g = p.currentName();
                        JsonToken u = Json.next(p);
                        if (g.equals("data")) {
                            audioData = string(p, "messages[#].content[#].input_audio.data", i, j);
                        } else if (g.equals("format")) {
                            audioFormat = string(p, "messages[#].content[#].input_audio.format", i, j);
                        } else if (u.isStructStart()) {
                            p.skipChildren();
                        }
                    }
                }
                case "file" -> {
                    if (t != JsonToken.START_OBJECT) {
                        throw typeError("messages[" + i + "].content[" + j + "].file", "an object", p);
                    }
                    while (Json.next(p) != JsonToken.END_OBJECT) {
                        String g = p.currentName();
                        JsonToken u = Json.next(p);
                        switch (g) {
                            case "file_data" -> fileData = string(p,
                                    "messages[#].content[#].file.file_data", i, j);
                            case "file_id" -> fileId = string(p,
                                    "messages[#].content[#].file.file_id", i, j);
                            case "filename" -> filename = string(p,
                                    "messages[#].content[#].file.filename", i, j);
                            default -> {
                                if (u.isStructStart()) {
                                    p.skipChildren();
                                }
                            }
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
        if (type == null) {
            type = text != null ? "text" : url != null ? "image_url" : refusal ? "refusal" : null;
        }
        if (type == null) {
            throw new OpenAiRequestException("messages[" + i + "].content[" + j + "].type",
                    "Missing required parameter: 'messages[" + i + "].content[" + j + "].type'.");
        }
        switch (type) {
            case "text" -> {
                if (text == null) {
                    throw new OpenAiRequestException("messages[" + i + "].content[" + j + "].text",
                            "Missing required parameter: 'messages[" + i + "].content[" + j + "].text'.");
                }
                return new Part(PartKind.TEXT, text, null, null);
            }
            case "refusal" -> {
                return null; // an assistant's refusal: nothing for Gemini to learn from
            }
            case "image_url" -> {
                if (url == null) {
                    where = param("messages[#].content[#].image_url.url", i, j);
                    throw new OpenAiRequestException(where, "Missing required parameter: '" + where + "'.");
                }
                checkUrl(url, "messages[#].content[#].image_url.url", i, j);
                return new Part(PartKind.IMAGE_URL, url, null, null);
            }
            case "input_audio" -> {
                if (audioData == null) {
                    where = param("messages[#].content[#].input_audio", i, j);
                    throw new OpenAiRequestException(where + ".data", "Missing required parameter: '" + where
                            + ".data'.");
                }
                if (audioMime(audioFormat) == null) {
                    where = param("messages[#].content[#].input_audio", i, j);
                    throw new OpenAiRequestException(where + ".format", "Invalid value: '" + audioFormat
                            + "'. Supported values are: 'wav', 'mp3', 'aiff', 'aac', 'ogg' and 'flac'.");
                }
                return new Part(PartKind.INPUT_AUDIO, audioData, audioFormat, null);
            }
            case "file" -> {
                if (fileData == null) {
                    where = param("messages[#].content[#].file", i, j);
                    if (fileId != null) {
                        String uri = fileUri(fileId);
                        if (uri == null) {
                            throw new OpenAiRequestException(where + ".file_id", "Invalid file id '"
                                    + (fileId.length() > 64 ? fileId.substring(0, 64) + "..." : fileId)
                                    + "': expected an id from POST /v1/files (file-...).");
                        }
                        return new Part(PartKind.FILE_ID, uri, filename, null);
                    }
                    throw new OpenAiRequestException(where + ".file_data", "Missing required parameter: '" + where
                            + ".file_data'.");
                }
                if (fileData.regionMatches(true, 0, "data:", 0, 5)) {
                    dataUrlComma(fileData, "messages[#].content[#].file.file_data", i, j);
                }
                return new Part(PartKind.FILE, fileData, filename, null);
            }
            default -> throw new OpenAiRequestException("messages[" + i + "].content[" + j + "].type",
                    "Invalid value: '" + type + "'. Supported values are: 'text', 'image_url', 'input_audio', "
                            + "'file' and 'refusal'.");
        }
    }

    /**
     * Writes the Gemini parts of a user message, in order: text (empty text skipped), {@code fileData} for http(s)
     * image URLs, {@code inlineData} for data URLs, audio and file data.
     *
     * @throws OpenAiRequestException when base64 data is invalid or empty
     */
    static void writeUserParts(JsonGenerator g, Message m) throws IOException {
        for (int j = 0; j < m.parts().size(); j++) {
            Part part = m.parts().get(j);
            switch (part.kind()) {
                case TEXT -> {
                    if (!part.value().isEmpty()) {
                        g.writeStartObject();
                        g.writeStringField("text", part.value());
                        g.writeEndObject();
                    }
                }
                case IMAGE_URL -> {
                    String url = part.value();
                    if (url.regionMatches(true, 0, "data:", 0, 5)) {
                        writeDataUrl(g, url, "messages[#].content[#].image_url.url", m.index(), j);
                    } else {
                        g.writeStartObject();
                        g.writeObjectFieldStart("fileData");
                        g.writeStringField("mimeType", guessMime(url, "image/jpeg"));
                        g.writeStringField("fileUri", url);
                        g.writeEndObject();
                        g.writeEndObject();
                    }
                }
                case INPUT_AUDIO -> writeInline(g, audioMime(part.extra()), part.value(), 0, part.value().length(),
                        "messages[#].content[#].input_audio.data", m.index(), j);
                case FILE -> {
                    String data = part.value();
                    String where = "messages[#].content[#].file.file_data";
                    if (data.regionMatches(true, 0, "data:", 0, 5)) {
                        writeDataUrl(g, data, where, m.index(), j);
                    } else {
                        String mime = part.extra() == null ? "application/pdf"
                                : guessMime(part.extra(), "application/pdf");
                        writeInline(g, mime, data, 0, data.length(), where, m.index(), j);
                    }
                }
                case FILE_ID -> {
                    g.writeStartObject();
                    g.writeObjectFieldStart("fileData");
                    g.writeStringField("fileUri", part.value());
                    g.writeEndObject();
                    g.writeEndObject();
                }
                default -> throw new IllegalStateException();
            }
        }
    }

    private static void writeDataUrl(JsonGenerator g, String url, String where, int i, int j) throws IOException {
        int comma = dataUrlComma(url, where, i, j);
        int semi = url.indexOf(';', 5);
        String mime = url.substring(5, semi < 0 || semi > comma ? comma : semi).trim().toLowerCase(Locale.ROOT);
        writeInline(g, mime, url, comma + 1, url.length() - comma - 1, where, i, j);
    }

    /** Index of the comma of a base64 data URL with a media type; 400 otherwise. */
    static int dataUrlComma(String url, String where, int i, int j) {
        int comma = url.indexOf(',');
        if (comma < 0) {
            throw new OpenAiRequestException(param(where, i, j), "Invalid data URL: no ',' before the data.");
        }
        if (comma < 12 || !url.regionMatches(true, comma - 7, ";base64", 0, 7)) {
            throw new OpenAiRequestException(param(where, i, j),
                    "Only base64 data URLs are supported (data:<type>;base64,...).");
        }
        int semi = url.indexOf(';', 5);
        if (url.substring(5, semi).isBlank()) {
            throw new OpenAiRequestException(param(where, i, j),
                    "Invalid data URL: no media type (data:<type>;base64,...).");
        }
        return comma;
    }

    /**
     * Writes {@code {"inlineData":{"mimeType":..,"data":..}}} with the data taken from {@code s[off, off+len)} as raw
     * JSON: base64 needs no escaping, so after checking the alphabet it is copied without building a substring (data
     * URLs can be megabytes). Whitespace inside the base64 is removed.
     */
    static void writeInline(JsonGenerator g, String mime, String s, int off, int len, String where, int wi,
                                    int wj) throws IOException {
        int end = off + len;
        boolean whitespace = false;
        for (int i = off; i < end; i++) {
            char c = s.charAt(i);
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'
                    || c == '=' || c == '-' || c == '_')) {
                if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
                    whitespace = true;
                } else {
                    throw new OpenAiRequestException(param(where, wi, wj), "Invalid base64 data.");
                }
            }
        }
        if (len == 0) {
            throw new OpenAiRequestException(param(where, wi, wj), "Empty base64 data.");
        }
        g.writeStartObject();
        g.writeObjectFieldStart("inlineData");
        g.writeStringField("mimeType", mime);
        g.writeFieldName("data");
        if (whitespace) {
            StringBuilder sb = new StringBuilder(len);
            for (int i = off; i < end; i++) {
                char c = s.charAt(i);
                if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
                    sb.append(c);
                }
            }
            g.writeString(sb.toString());
        } else {
            g.writeRawValue("\""); // the separator logic of a value, then the raw characters
            g.writeRaw(s, off, len);
            g.writeRaw('"');
        }
        g.writeEndObject();
        g.writeEndObject();
    }
    private static void checkUrl(String url, String where, int i, int j) {
        if (url.regionMatches(true, 0, "data:", 0, 5)) {
            dataUrlComma(url, where, i, j);
        } else if (!url.regionMatches(true, 0, "https://", 0, 8) && !url.regionMatches(true, 0, "http://", 0, 7)) {
            throw new OpenAiRequestException(param(where, i, j),
                    "Unsupported image URL: expected a data: URL or an http(s) URL.");
        }
    }

    static String audioMime(String format) {
        if (format == null) {
            return null;
        }
        return switch (format.toLowerCase(Locale.ROOT)) {
            case "wav" -> "audio/wav";
            case "mp3" -> "audio/mp3";
            case "aiff" -> "audio/aiff";
            case "aac" -> "audio/aac";
            case "ogg" -> "audio/ogg";
            case "flac" -> "audio/flac";
            default -> null;
        };
    }

    /** The Gemini file URI for an OpenAI file id ({@code file-abc} names {@code files/abc}); null when not one. */
    static String fileUri(String fileId) {
        if (fileId == null || !fileId.startsWith("file-") || fileId.length() == 5 || fileId.length() > 133) {
            return null;
        }
        String id = fileId.substring(5);
        for (int k = 0; k < id.length(); k++) {
            char c = id.charAt(k);
            if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '-') {
                return null;
            }
        }
        return "https://generativelanguage.googleapis.com/v1beta/files/" + id;
    }

    /** A media type from the extension of a URL's path or a file name. */
    static String guessMime(String urlOrName, String fallback) {
        String s = urlOrName;
        String lower = s.toLowerCase(Locale.ROOT);
        if (lower.contains("://www.youtube.com/") || lower.contains("://youtube.com/")
                || lower.contains("://youtu.be/") || lower.contains("://m.youtube.com/")) {
            return "video/mp4";
        }
        int cut = lower.length();
        int q = lower.indexOf('?');
        if (q >= 0) {
            cut = q;
        }
        int h = lower.indexOf('#');
        if (h >= 0 && h < cut) {
            cut = h;
        }
        String path = lower.substring(0, cut);
        int slash = path.lastIndexOf('/');
        int dot = path.lastIndexOf('.');
        if (dot < 0 || dot < slash) {
            return fallback;
        }
        return switch (path.substring(dot + 1)) {
            case "png" -> "image/png";
            case "jpg", "jpeg" -> "image/jpeg";
            case "webp" -> "image/webp";
            case "gif" -> "image/gif";
            case "heic" -> "image/heic";
            case "heif" -> "image/heif";
            case "pdf" -> "application/pdf";
            case "txt" -> "text/plain";
            case "mp3" -> "audio/mp3";
            case "wav" -> "audio/wav";
            case "mp4" -> "video/mp4";
            case "mov" -> "video/mov";
            case "webm" -> "video/webm";
            default -> fallback;
        };
    }
}
