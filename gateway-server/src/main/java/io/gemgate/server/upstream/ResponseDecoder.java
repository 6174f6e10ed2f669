package io.gemgate.server.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import io.gemgate.core.bytes.ByteSearch;
import io.gemgate.server.internal.HttpToken;
import java.util.Arrays;

/**
 * Reads HTTP/1.1 responses from an upstream connection's bytes (RFC 9112): the head into an {@link UpstreamHead},
 * the body as slices of the received buffers (never copied), framed by Content-Length, by chunks (whose framing it
 * takes off) or by the close. Interim 1xx answers are skipped; 101, malformed heads, heads over the limit, bad
 * chunk sizes and conflicting lengths are errors, after which the decoder reads nothing more (the connection is to be
 * closed). One per connection, used on its event loop.
 *
 * <p>It replaces Netty's HttpClientCodec on the hot path: a head is scanned once from a byte array, its fields kept
 * as offsets, and only what a caller asks for becomes a string.
 *
 * <p>Buffer ownership: {@link #decode} takes ownership of its input; every content handed to the sink is owned by
 * the sink. Bytes kept between reads (a head or a chunk line split across reads) are released by {@link #close}.
 */
final class ResponseDecoder {
    /** Receives what the decoder reads. */
    interface Sink {
        void head(UpstreamHead head);

        /** A body piece; the last one is a {@link LastHttpContent}. Ownership passes. */
        void content(HttpContent content);

        /** The bytes cannot be read as a response: the connection must not be used again. */
        void malformed(String why);
    }

    private static final int HEAD = 0;
    private static final int LENGTH = 1;
    private static final int CHUNK_SIZE = 2;
    private static final int CHUNK_DATA = 3;
    private static final int CHUNK_END = 4;
    private static final int TRAILER = 5;
    private static final int UNTIL_CLOSE = 6;
    private static final int BROKEN = 7;
    /** The longest chunk-size line (with extensions) and trailer field accepted. */
    private static final int MAX_LINE = 8192;

    private final int maxHead;
    private final ByteBufAllocator alloc;
    /** Unread bytes kept from an earlier read, or null. Never written to once kept: a merge makes a new buffer. */
    private ByteBuf kept;
    private int state = HEAD;
    private long remaining;
    /** The response being read answers a HEAD request: no body, whatever its headers say. */
    private boolean headRequest;
    private byte[] scratch = new byte[2048];

    ResponseDecoder(ByteBufAllocator alloc, int maxHead) {
        this.alloc = alloc;
        this.maxHead = maxHead;
    }

    /** The next response answers a HEAD request (it has no body). */
    void expectHeadResponse(boolean head) {
        this.headRequest = head;
    }

    /** True between a head and the end of its body. */
    boolean inBody() {
        return state != HEAD && state != BROKEN;
    }

    /** Reads {@code in} (ownership passes) and hands what it completes to {@code sink}. */
    void decode(ByteBuf in, Sink sink) {
        ByteBuf buf = in;
        if (kept != null) {
            ByteBuf merged = alloc.buffer(kept.readableBytes() + in.readableBytes());
            merged.writeBytes(kept).writeBytes(in);
            kept.release();
            kept = null;
            in.release();
            buf = merged;
        }
        try {
            loop(buf, sink);
        } finally {
            if (buf.isReadable() && state != BROKEN) {
                kept = buf; // a partial head or line: completed by the next read
            } else {
                buf.release();
            }
        }
    }

    /**
     * The connection closed: a body delimited by the close ends here (its last content goes to the sink). Returns
     * true when the response then ended cleanly.
     */
    boolean closed(Sink sink) {
        close();
        if (state == UNTIL_CLOSE) {
            state = HEAD;
            sink.content(LastHttpContent.EMPTY_LAST_CONTENT);
            return true;
        }
        return state == HEAD;
    }

    /** Releases kept bytes. */
    void close() {
        if (kept != null) {
            kept.release();
            kept = null;
        }
    }

    private void loop(ByteBuf buf, Sink sink) {
        while (buf.isReadable()) {
            switch (state) {
                case HEAD -> {
                    if (!readHead(buf, sink)) {
                        return;
                    }
                }
                case LENGTH -> {
                    int n = (int) Math.min(remaining, buf.readableBytes());
                    ByteBuf piece = buf.readRetainedSlice(n);
                    remaining -= n;
                    if (remaining == 0) {
                        state = HEAD;
                        sink.content(new DefaultLastHttpContent(piece, EmptyHttpHeaders.INSTANCE));
                    } else {
                        sink.content(new DefaultHttpContent(piece));
                    }
                }
                case CHUNK_SIZE -> {
                    int lf = lineEnd(buf, sink);
                    if (lf < 0) {
                        return;
                    }
                    long size = chunkSize(buf, buf.readerIndex(), lf);
                    buf.readerIndex(lf + 1);
                    if (size < 0) {
                        broken(sink, "bad chunk size");
                        return;
                    }
                    if (size == 0) {
                        state = TRAILER;
                    } else {
                        remaining = size;
                        state = CHUNK_DATA;
                    }
                }
                case CHUNK_DATA -> {
                    int n = (int) Math.min(remaining, buf.readableBytes());
                    ByteBuf piece = buf.readRetainedSlice(n);
                    remaining -= n;
                    if (remaining == 0) {
                        state = CHUNK_END;
                    }
                    sink.content(new DefaultHttpContent(piece));
                }
                case CHUNK_END -> {
                    int lf = lineEnd(buf, sink);
                    if (lf < 0) {
                        return;
                    }
                    int len = lf - buf.readerIndex();
                    if (len > 1 || (len == 1 && buf.getByte(buf.readerIndex()) != '\r')) {
                        broken(sink, "chunk data longer than its size");
                        return;
                    }
                    buf.readerIndex(lf + 1);
                    state = CHUNK_SIZE;
                }
                case TRAILER -> {
                    int lf = lineEnd(buf, sink);
                    if (lf < 0) {
                        return;
                    }
                    int len = lf - buf.readerIndex();
                    buf.readerIndex(lf + 1);
                    if (len == 0 || (len == 1 && buf.getByte(lf - 1) == '\r')) {
                        state = HEAD; // trailer fields are dropped: nothing the gateway relays uses them
                        sink.content(LastHttpContent.EMPTY_LAST_CONTENT);
                    }
                }
                case UNTIL_CLOSE -> sink.content(new DefaultHttpContent(buf.readRetainedSlice(buf.readableBytes())));
                default -> {
                    buf.skipBytes(buf.readableBytes());
                    return;
                }
            }
        }
    }

    /** The index of the next LF within {@link #MAX_LINE}, -1 when it has not come yet; too long a line breaks. */
    private int lineEnd(ByteBuf buf, Sink sink) {
        int from = buf.readerIndex();
        int to = Math.min(buf.writerIndex(), from + MAX_LINE);
        int lf = buf.indexOf(from, to, (byte) '\n');
        if (lf < 0 && to - from >= MAX_LINE) {
            broken(sink, "chunk line or trailer over " + MAX_LINE + " bytes");
        }
        return lf;
    }

    /** The hexadecimal size at the start of the line [from, lf), extensions ignored; -1 when malformed. */
    private static long chunkSize(ByteBuf buf, int from, int lf) {
        long size = 0;
        int digits = 0;
        int i = from;
        for (; i < lf; i++) {
            int c = buf.getByte(i);
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0) {
                break;
            }
            if (++digits > 15) {
                return -1;
            }
            size = size * 16 + d;
        }
        if (digits == 0) {
            return -1;
        }
        for (; i < lf; i++) { // what may follow the digits: whitespace, ";extensions", the CR
            int c = buf.getByte(i);
            if (c == ';') {
                return size;
            }
            if (c != ' ' && c != '\t' && c != '\r') {
                return -1;
            }
        }
        return size;
    }

    private void broken(Sink sink, String why) {
        state = BROKEN;
        sink.malformed(why);
    }

    /** Reads one head when it is complete; false when more bytes are needed or the bytes are not a response. */
    private boolean readHead(ByteBuf buf, Sink sink) {
        int avail = Math.min(buf.readableBytes(), maxHead);
        if (scratch.length < avail) {
            scratch = new byte[Math.min(maxHead, Math.max(avail, scratch.length * 2))];
        }
        byte[] b = scratch;
        buf.getBytes(buf.readerIndex(), b, 0, avail);
        UpstreamHead head = parse(b, avail, sink);
        if (head == null) {
            if (state != BROKEN && buf.readableBytes() >= maxHead) {
                broken(sink, "response head over " + maxHead + " bytes");
            }
            return false;
        }
        buf.skipBytes(headLength);
        if (head.status() >= 100 && head.status() < 200) {
            if (head.status() == 101) {
                broken(sink, "the upstream switched protocols");
                return false;
            }
            return true; // interim answer: the real one follows
        }
        if (head.isBodyless()) {
            state = HEAD;
        } else if (head.isChunked()) {
            state = CHUNK_SIZE;
        } else if (head.contentLength() >= 0) {
            state = LENGTH;
            remaining = head.contentLength();
        } else {
            state = UNTIL_CLOSE;
        }
        headRequest = false;
        sink.head(head);
        if (state == HEAD || (state == LENGTH && remaining == 0)) {
            state = HEAD;
            sink.content(LastHttpContent.EMPTY_LAST_CONTENT);
        }
        return state != BROKEN;
    }

    /** The bytes the last complete head took (leading empty lines included). */
    private int headLength;

    /**
     * Parses the head at the start of b[0, avail): null when it is not complete yet, or when it is malformed (then
     * the decoder is broken and the sink told). On success {@link #headLength} is the head's size.
     */
    private UpstreamHead parse(byte[] b, int avail, Sink sink) {
        int start = 0;
        while (start < avail && (b[start] == '\r' || b[start] == '\n')) {
            start++; // empty lines before a status line are ignored (RFC 9112 2.2)
        }
        int lineEnd = ByteSearch.indexOf(b, start, avail, (byte) '\n');
        if (lineEnd < 0) {
            return null;
        }
        int statusEnd = b[lineEnd - 1] == '\r' ? lineEnd - 1 : lineEnd;
        int o = start;
        // HTTP/1.x SP 3DIGIT [SP reason]
        if (statusEnd - o < 12 || b[o] != 'H' || b[o + 1] != 'T' || b[o + 2] != 'T' || b[o + 3] != 'P'
                || b[o + 4] != '/' || b[o + 5] != '1' || b[o + 6] != '.' || (b[o + 7] != '0' && b[o + 7] != '1')
                || b[o + 8] != ' ' || !digit(b[o + 9]) || !digit(b[o + 10]) || !digit(b[o + 11])
                || (statusEnd - o > 12 && b[o + 12] != ' ')) {
            broken(sink, "not an HTTP/1.x status line");
            return null;
        }
        boolean http11 = b[o + 7] == '1';
        int status = (b[o + 9] - '0') * 100 + (b[o + 10] - '0') * 10 + (b[o + 11] - '0');
        int[] fields = new int[64];
        int count = 0;
        boolean close = false;
        boolean keepAliveToken = false;
        boolean chunked = false;
        boolean transferEncoding = false;
        long length = -1;
        int pos = lineEnd + 1;
        int end;
        boolean crlf = true;
        while (true) {
            int lf = ByteSearch.indexOf(b, pos, avail, (byte) '\n');
            if (lf < 0) {
                return null; // not complete yet
            }
            int le = lf > pos && b[lf - 1] == '\r' ? lf - 1 : lf;
            if (le == pos) {
                end = lf + 1; // the blank line
                break;
            }
            crlf &= le != lf;
            if (b[pos] == ' ' || b[pos] == '\t') {
                broken(sink, "obsolete line folding in a response header");
                return null;
            }
            int colon = ByteSearch.indexOf(b, pos, le, (byte) ':');
            if (colon <= pos) {
                broken(sink, "response header line without a name or a colon");
                return null;
            }
            for (int i = pos; i < colon; i++) {
                if (!HttpToken.isTchar(b[i])) {
                    broken(sink, "bad character in a response header name");
                    return null;
                }
            }
            int vs = colon + 1;
            while (vs < le && (b[vs] == ' ' || b[vs] == '\t')) {
                vs++;
            }
            int ve = le;
            while (ve > vs && (b[ve - 1] == ' ' || b[ve - 1] == '\t')) {
                ve--;
            }
            if (ByteSearch.hasControl(b, vs, ve)) {
                broken(sink, "control character in a response header value");
                return null;
            }
            if (count * 4 == fields.length) {
                fields = Arrays.copyOf(fields, fields.length * 2);
            }
            fields[count * 4] = pos;
            fields[count * 4 + 1] = colon;
            fields[count * 4 + 2] = vs;
            fields[count * 4 + 3] = ve;
            count++;
            int nameLen = colon - pos;
            if (nameLen == 14 && nameIs(b, pos, "content-length")) {
                long v = contentLength(b, vs, ve);
                if (v < 0 || (length >= 0 && v != length)) {
                    broken(sink, "bad or conflicting Content-Length");
                    return null;
                }
                length = v;
            } else if (nameLen == 17 && nameIs(b, pos, "transfer-encoding")) {
                transferEncoding = true;
                chunked = lastCodingIsChunked(b, vs, ve);
            } else if (nameLen == 10 && nameIs(b, pos, "connection")) {
                close |= hasToken(b, vs, ve, "close");
                keepAliveToken |= hasToken(b, vs, ve, "keep-alive");
            }
            pos = lf + 1;
        }
        headLength = end;
        boolean bodyless = headRequest || status < 200 || status == 204 || status == 304;
        if (transferEncoding) {
            length = -1; // Transfer-Encoding overrides Content-Length (RFC 9112 6.3)
        }
        // A coding other than chunked last, or no framing at all: the body runs to the close.
        boolean delimitedByClose = !bodyless && !chunked && length < 0;
        boolean keepAlive = !close && (http11 || keepAliveToken) && !delimitedByClose;
        return new UpstreamHead(Arrays.copyOf(b, end), fields, count, status, o + 9, statusEnd, http11, keepAlive,
                bodyless ? -1 : length, !bodyless && chunked, bodyless, pos, crlf);
    }

    private static boolean digit(byte c) {
        return c >= '0' && c <= '9';
    }

    private static int indexOf(byte[] b, int from, int to, byte c) {
        for (int i = from; i < to; i++) {
            if (b[i] == c) {
                return i;
            }
        }
        return to;
    }

    private static boolean nameIs(byte[] b, int off, String lower) {
        for (int i = 0; i < lower.length(); i++) {
            int c = b[off + i];
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != lower.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** Digits only (a list of equal values is allowed, RFC 9110 8.6); -1 when malformed. */
    private static long contentLength(byte[] b, int from, int to) {
        long value = -1;
        long v = -1;
        for (int i = from; i <= to; i++) {
            int c = i < to ? b[i] : ',';
            if (c >= '0' && c <= '9') {
                if (v > (Long.MAX_VALUE - 9) / 10) {
                    return -1;
                }
                v = (v < 0 ? 0 : v * 10) + (c - '0');
            } else if (c == ',') {
                if (v < 0 || (value >= 0 && v != value)) {
                    return -1;
                }
                value = v;
                v = -1;
                while (i + 1 < to && (b[i + 1] == ' ' || b[i + 1] == '\t')) {
                    i++;
                }
            } else {
                return -1;
            }
        }
        return value;
    }

    /** True when the last of the comma-separated codings in b[from, to) is chunked. */
    private static boolean lastCodingIsChunked(byte[] b, int from, int to) {
        int s = from;
        for (int i = to - 1; i >= from; i--) {
            if (b[i] == ',') {
                s = i + 1;
                break;
            }
        }
        while (s < to && (b[s] == ' ' || b[s] == '\t')) {
            s++;
        }
        int e = to;
        int semi = indexOf(b, s, to, (byte) ';');
        e = Math.min(e, semi);
        while (e > s && (b[e - 1] == ' ' || b[e - 1] == '\t')) {
            e--;
        }
        return e - s == 7 && nameIs(b, s, "chunked");
    }

    /** True when the comma-separated list b[from, to) holds {@code token} (case-insensitive). */
    private static boolean hasToken(byte[] b, int from, int to, String token) {
        int s = from;
        while (s < to) {
            int e = indexOf(b, s, to, (byte) ',');
            int ts = s;
            int te = e;
            while (ts < te && (b[ts] == ' ' || b[ts] == '\t')) {
                ts++;
            }
            while (te > ts && (b[te - 1] == ' ' || b[te - 1] == '\t')) {
                te--;
            }
            if (te - ts == token.length() && nameIs(b, ts, token)) {
                return true;
            }
            s = e + 1;
        }
        return false;
    }
}
