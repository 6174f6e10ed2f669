package io.gemgate.server.upstream;

import io.gemgate.server.internal.HeaderNameSet;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;

/**
 * An upstream response head as {@link ResponseDecoder} read it: the status, the framing, and the header fields as
 * ranges of one copy of the head's bytes. Nothing is decoded into strings or header maps unless asked for
 * ({@link #get}, {@link #headers()}): the pass-through copies the fields it keeps byte for byte
 * ({@link #writeField}), which is most of what a proxy does with a response head.
 *
 * <p>Immutable once built, except for the header map made on the first {@link #headers()} call; used on one event
 * loop only.
 */
public final class UpstreamHead {
    private static final DefaultHttpHeadersFactory TRUSTED = DefaultHttpHeadersFactory.headersFactory()
            .withValidation(false);

    private final byte[] bytes;
    /** Per field: name start, name end, value start, value end (offsets into {@link #bytes}). */
    private final int[] fields;
    private final int count;
    private final int status;
    /** Where the status code starts and the status line ends (CR/LF excluded), for {@link #writeStatus}. */
    private final int codeStart;
    private final int statusEnd;
    private final boolean http11;
    private final boolean keepAlive;
    private final long contentLength;
    private final boolean chunked;
    private final boolean bodyless;
    /** Where the blank line starts; every field line ends with CRLF (so lines can be copied as received). */
    private final int fieldsEnd;
    private final boolean crlfLines;
    private HttpHeaders headers;

    UpstreamHead(byte[] bytes, int[] fields, int count, int status, int codeStart, int statusEnd, boolean http11,
                 boolean keepAlive, long contentLength, boolean chunked, boolean bodyless, int fieldsEnd,
                 boolean crlfLines) {
        this.fieldsEnd = fieldsEnd;
        this.crlfLines = crlfLines;
        this.bytes = bytes;
        this.fields = fields;
        this.count = count;
        this.status = status;
        this.codeStart = codeStart;
        this.statusEnd = statusEnd;
        this.http11 = http11;
        this.keepAlive = keepAlive;
        this.contentLength = contentLength;
        this.chunked = chunked;
        this.bodyless = bodyless;
    }

    /** The status code. */
    public int status() {
        return status;
    }

    /** The status with the upstream's reason phrase. */
    public HttpResponseStatus httpStatus() {
        int reason = codeStart + 4;
        String phrase = reason < statusEnd ? new String(bytes, reason, statusEnd - reason, StandardCharsets.ISO_8859_1)
                : "";
        return HttpResponseStatus.valueOf(status, phrase.isEmpty() ? HttpResponseStatus.valueOf(status).reasonPhrase()
                : phrase);
    }

    /** HTTP/1.1 (else 1.0). */
    public boolean isHttp11() {
        return http11;
    }

    /** The connection may serve another request after this response (as far as the head tells). */
    public boolean isKeepAlive() {
        return keepAlive;
    }

    /** The declared Content-Length, or -1 when there is none (chunked, or delimited by the close). */
    public long contentLength() {
        return contentLength;
    }

    /** The body comes in chunks. */
    public boolean isChunked() {
        return chunked;
    }

    /** The response has no body whatever its headers say (1xx, 204, 304, or the answer to a HEAD request). */
    public boolean isBodyless() {
        return bodyless;
    }

    /** The number of header fields. */
    public int size() {
        return count;
    }

    /** True when field {@code i}'s name is one of {@code names}. */
    public boolean nameIn(int i, HeaderNameSet names) {
        int s = fields[i * 4];
        return names.contains(bytes, s, fields[i * 4 + 1] - s);
    }

    /** True when field {@code i}'s name is {@code lowerName} (given in lower case), in any case. */
    public boolean nameIs(int i, AsciiString lowerName) {
        int s = fields[i * 4];
        return HeaderNameSet.equalsLowerAscii(lowerName, bytes, s, fields[i * 4 + 1] - s);
    }

    /** Field {@code i}'s value. */
    public String value(int i) {
        int s = fields[i * 4 + 2];
        return new String(bytes, s, fields[i * 4 + 3] - s, StandardCharsets.ISO_8859_1);
    }

    /** The first value of {@code lowerName} (given in lower case), or null. */
    public String get(AsciiString lowerName) {
        for (int i = 0; i < count; i++) {
            if (nameIs(i, lowerName)) {
                return value(i);
            }
        }
        return null;
    }

    /** True when the first value of {@code lowerName} starts with {@code prefix} (ASCII, case-insensitive). */
    public boolean valueStartsWith(AsciiString lowerName, String prefix) {
        for (int i = 0; i < count; i++) {
            if (nameIs(i, lowerName)) {
                int s = fields[i * 4 + 2];
                int len = fields[i * 4 + 3] - s;
                if (len < prefix.length()) {
                    return false;
                }
                for (int k = 0; k < prefix.length(); k++) {
                    int c = bytes[s + k];
                    if (c >= 'A' && c <= 'Z') {
                        c += 'a' - 'A';
                    }
                    if (c != Character.toLowerCase(prefix.charAt(k))) {
                        return false;
                    }
                }
                return true;
            }
        }
        return false;
    }

    /** Appends field {@code i} as {@code name: value CRLF}, its bytes as received. */
    public void writeField(int i, ByteBuf out) {
        int ns = fields[i * 4];
        int ne = fields[i * 4 + 1];
        int vs = fields[i * 4 + 2];
        int ve = fields[i * 4 + 3];
        out.writeBytes(bytes, ns, ne - ns).writeByte(':').writeByte(' ').writeBytes(bytes, vs, ve - vs)
                .writeByte('\r').writeByte('\n');
    }

    /**
     * Appends the lines of fields {@code [from, to)} as received, in one copy, when {@link #hasCrlfLines()};
     * otherwise field by field ({@link #writeField}).
     */
    public void writeLines(int from, int to, ByteBuf out) {
        if (from >= to) {
            return;
        }
        if (!crlfLines) {
            for (int i = from; i < to; i++) {
                writeField(i, out);
            }
            return;
        }
        int s = fields[from * 4];
        int e = to < count ? fields[to * 4] : fieldsEnd;
        out.writeBytes(bytes, s, e - s);
    }

    /** Every field line ended with CRLF, as it should. */
    public boolean hasCrlfLines() {
        return crlfLines;
    }

    /** Appends the status code and reason phrase as received ({@code 200 OK}), without the CRLF. */
    public void writeStatus(ByteBuf out) {
        out.writeBytes(bytes, codeStart, statusEnd - codeStart);
        if (statusEnd - codeStart == 3) {
            out.writeByte(' '); // status-line = version SP code SP [reason] (RFC 9112 4)
        }
    }

    /** The byte size of the head as received: what a re-encoded head is close to. */
    public int byteSize() {
        return bytes.length;
    }

    /** Every field as a header map (made once, on the first call): for the paths that are not hot. */
    public HttpHeaders headers() {
        HttpHeaders h = headers;
        if (h == null) {
            h = TRUSTED.newHeaders();
            for (int i = 0; i < count; i++) {
                int s = fields[i * 4];
                h.add(new String(bytes, s, fields[i * 4 + 1] - s, StandardCharsets.ISO_8859_1), value(i));
            }
            headers = h;
        }
        return h;
    }

    @Override
    public String toString() {
        return "UpstreamHead(" + status + ", " + count + " fields, "
                + (bodyless ? "no body" : chunked ? "chunked" : contentLength >= 0 ? contentLength + " bytes"
                : "until close") + (keepAlive ? ", keep-alive" : ", close") + ")";
    }
}
