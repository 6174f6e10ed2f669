package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * OpenAI's Files API ({@code POST/GET /v1/files}, {@code GET/DELETE /v1/files/{id}}, OpenAI API reference "Files")
 * over Gemini files (README, "OpenAI-compatible API" and key affinity): an upload is stored as one Gemini file through
 * one key ({@code POST /upload/v1beta/files}, multipart), whose id {@code files/abc} is the OpenAI id {@code file-abc}.
 * OpenAI's {@code filename}, {@code purpose} and {@code bytes} are kept beside the gateway's record of the file
 * ({@link #meta}); {@code file} parts and {@code file_id} references in chat become {@code fileData} of that file.
 *
 * <p>Stateless and thread-safe.
 */
public final class OpenAiFiles {
    /** Purposes OpenAI documents for uploads. */
    public static final Set<String> PURPOSES = Set.of("assistants", "batch", "fine-tune", "vision", "user_data",
            "evals");
    private static final JsonFactory JSON = new JsonFactory();
    private static final int MAX_FILENAME = 255;

    private OpenAiFiles() {
    }

    /**
     * One upload read from a {@code multipart/form-data} body.
     *
     * @param data the file's bytes are {@code data[off, off + len)}
     */
    public record Upload(String filename, String purpose, String mimeType, byte[] data, int off, int len) {
    }

    /**
     * Reads {@code file} and {@code purpose} from a {@code multipart/form-data} body (RFC 7578).
     *
     * @throws OpenAiRequestException (400) naming the missing or bad field
     */
    public static Upload parseUpload(String contentType, byte[] body) {
        String boundary = boundary(contentType);
        if (boundary == null) {
            throw new OpenAiRequestException("file", "Expected a multipart/form-data body with a boundary.");
        }
        byte[] delim = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        int at = indexOf(body, delim, 0);
        String filename = null;
        String purpose = null;
        String mime = null;
        int fileOff = -1;
        int fileLen = 0;
        while (at >= 0) {
            int p = at + delim.length;
            if (p + 1 < body.length && body[p] == '-' && body[p + 1] == '-') {
                break; // the closing delimiter
            }
            int headEnd = indexOf(body, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), p);
            if (headEnd < 0) {
                break;
            }
            String head = new String(body, p, headEnd - p, StandardCharsets.UTF_8);
            int dataStart = headEnd + 4;
            int next = indexOf(body, ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1), dataStart);
            if (next < 0) {
                throw new OpenAiRequestException("file", "The multipart body is cut short.");
            }
            String name = param(head, "name");
            if ("file".equals(name)) {
                filename = param(head, "filename");
                mime = header(head, "content-type");
                fileOff = dataStart;
                fileLen = next - dataStart;
            } else if ("purpose".equals(name)) {
                purpose = new String(body, dataStart, next - dataStart, StandardCharsets.UTF_8).trim();
            }
            at = next + 2;
        }
        if (fileOff < 0) {
            throw new OpenAiRequestException("file", "Missing required parameter: 'file'.");
        }
        if (purpose == null || purpose.isEmpty()) {
            throw new OpenAiRequestException("purpose", "Missing required parameter: 'purpose'.");
        }
        if (!PURPOSES.contains(purpose)) {
            throw new OpenAiRequestException("purpose", "Invalid value: '" + shorten(purpose) + "'. Supported values "
                    + "are: 'assistants', 'batch', 'fine-tune', 'vision', 'user_data' and 'evals'.");
        }
        if (filename == null || filename.isBlank()) {
            filename = "file";
        }
        filename = filename.replaceAll("[\\r\\n\"\\\\/]", "_");
        if (filename.length() > MAX_FILENAME) {
            filename = filename.substring(0, MAX_FILENAME);
        }
        if (mime == null || mime.isBlank() || mime.equalsIgnoreCase("application/octet-stream")) {
            mime = guessMime(filename);
        }
        return new Upload(filename, purpose, mime.toLowerCase(Locale.ROOT).trim(), body, fileOff, fileLen);
    }

    /** The Gemini multipart upload body ({@code multipart/related}: the File metadata, then the bytes). */
    public static byte[] geminiBody(Upload u, String boundary) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(u.len() + 512);
        String meta = "--" + boundary + "\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
                + "{\"file\":{\"displayName\":" + quote(u.filename()) + ",\"mimeType\":" + quote(u.mimeType())
                + "}}\r\n--" + boundary + "\r\nContent-Type: " + u.mimeType() + "\r\n\r\n";
        out.writeBytes(meta.getBytes(StandardCharsets.UTF_8));
        out.write(u.data(), u.off(), u.len());
        out.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    /** What the gateway keeps about an uploaded file: {@code purpose/bytes/filename}. */
    public static String meta(Upload u) {
        return u.purpose() + "/" + u.len() + "/" + u.filename();
    }

    /** The OpenAI id of a Gemini file name ({@code files/abc} → {@code file-abc}). */
    public static String id(String geminiName) {
        return "file-" + geminiName.substring(geminiName.indexOf('/') + 1);
    }

    /** The Gemini file name of an OpenAI id, or null when it is not one of ours. */
    public static String geminiName(String id) {
        String uri = ChatRequestTranslator.fileUri(id);
        return uri == null ? null : "files/" + id.substring(5);
    }

    /** The OpenAI file object. */
    public static byte[] fileObject(String geminiName, String meta, long createdMillis, long expiresMillis) {
        return write(g -> writeFile(g, geminiName, meta, createdMillis, expiresMillis));
    }

    /** One file as listed: name, meta, created, expires. */
    public record Listed(String geminiName, String meta, long createdMillis, long expiresMillis) {
    }

    /** {@code {"object":"list","data":[...],"has_more":false}}, newest first as OpenAI lists them. */
    public static byte[] list(List<Listed> files) {
        return write(g -> {
            g.writeStartObject();
            g.writeStringField("object", "list");
            g.writeArrayFieldStart("data");
            for (int i = files.size() - 1; i >= 0; i--) {
                Listed f = files.get(i);
                writeFile(g, f.geminiName(), f.meta(), f.createdMillis(), f.expiresMillis());
            }
            g.writeEndArray();
            g.writeBooleanField("has_more", false);
            g.writeEndObject();
        });
    }

    /** {@code {"id","object":"file","deleted":true}}. */
    public static byte[] deleted(String geminiName) {
        return write(g -> {
            g.writeStartObject();
            g.writeStringField("id", id(geminiName));
            g.writeStringField("object", "file");
            g.writeBooleanField("deleted", true);
            g.writeEndObject();
        });
    }

    private static void writeFile(JsonGenerator g, String geminiName, String meta, long created, long expires)
            throws IOException {
        String[] m = meta.split("/", 3);
        String purpose = m.length == 3 ? m[0] : "user_data";
        long bytes = 0;
        if (m.length == 3) {
            try {
                bytes = Long.parseLong(m[1]);
            } catch (NumberFormatException e) {
                bytes = 0;
            }
        }
        String filename = m.length == 3 ? m[2] : geminiName.substring(geminiName.indexOf('/') + 1);
        g.writeStartObject();
        g.writeStringField("id", id(geminiName));
        g.writeStringField("object", "file");
        g.writeNumberField("bytes", bytes);
        g.writeNumberField("created_at", created / 1000);
        if (expires > 0) {
            g.writeNumberField("expires_at", expires / 1000);
        }
        g.writeStringField("filename", filename);
        g.writeStringField("purpose", purpose);
        g.writeStringField("status", "processed");
        g.writeNullField("status_details");
        g.writeEndObject();
    }

    private interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    private static byte[] write(Body body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    private static String shorten(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    static String boundary(String contentType) {
        if (contentType == null || !contentType.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) {
            return null;
        }
        String b = param(contentType, "boundary");
        return b == null || b.isEmpty() || b.length() > 200 ? null : b;
    }

    /** A {@code name=value} or {@code name="value"} parameter of a header block, or null. */
    private static String param(String head, String name) {
        String lower = head.toLowerCase(Locale.ROOT);
        int from = 0;
        while (true) {
            int at = lower.indexOf(name + "=", from);
            if (at < 0) {
                return null;
            }
            char before = at == 0 ? ' ' : lower.charAt(at - 1);
            if (before != ' ' && before != ';' && before != '\t') {
                from = at + 1;
                continue; // "filename=" when looking for "name="
            }
            int v = at + name.length() + 1;
            if (v < head.length() && head.charAt(v) == '"') {
                int end = head.indexOf('"', v + 1);
                return end < 0 ? head.substring(v + 1) : head.substring(v + 1, end);
            }
            int end = v;
            while (end < head.length() && head.charAt(end) != ';' && head.charAt(end) != '\r'
                    && head.charAt(end) != '\n') {
                end++;
            }
            return head.substring(v, end).trim();
        }
    }

    private static String header(String head, String name) {
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
                String v = line.substring(colon + 1).trim();
                int semi = v.indexOf(';');
                return semi < 0 ? v : v.substring(0, semi).trim();
            }
        }
        return null;
    }

    private static int indexOf(byte[] b, byte[] needle, int from) {
        outer:
        for (int i = Math.max(0, from); i <= b.length - needle.length; i++) {
            for (int k = 0; k < needle.length; k++) {
                if (b[i + k] != needle[k]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** A media type from a file name's extension; {@code text/plain} when unknown (Gemini reads text). */
    static String guessMime(String filename) {
        String f = filename.toLowerCase(Locale.ROOT);
        int dot = f.lastIndexOf('.');
        String ext = dot < 0 ? "" : f.substring(dot + 1);
        return switch (ext) {
            case "pdf" -> "application/pdf";
            case "png" -> "image/png";
            case "jpg", "jpeg" -> "image/jpeg";
            case "webp" -> "image/webp";
            case "gif" -> "image/gif";
            case "mp3" -> "audio/mpeg";
            case "wav" -> "audio/wav";
            case "mp4" -> "video/mp4";
            case "json" -> "application/json";
            case "jsonl" -> "application/jsonl";
            case "csv" -> "text/csv";
            case "md" -> "text/markdown";
            case "html", "htm" -> "text/html";
            default -> "text/plain";
        };
    }
}
