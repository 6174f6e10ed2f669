package io.gemgate.server.upstream;

import io.gemgate.core.keys.ApiKey;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.util.AsciiString;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;

/**
 * The bytes of an upstream request head, encoded once per client request: request line, the forwarded fields, Host,
 * {@code Accept-Encoding: identity} and Content-Length. Each attempt adds only its key ({@link #encode}), so a
 * failover re-encodes nothing. The head is written as a plain buffer before the body: the upstream connection has no
 * HTTP encoder.
 *
 * <p>Names and values are written as ISO-8859-1, the way the request decoder read them, so the client's bytes go
 * upstream unchanged. Whatever is forwarded must already be valid field syntax (the client's request was checked by
 * its decoder; what the gateway adds is constant).
 */
public final class RequestHead {
    private static final byte[] KEY_NAME = ascii("x-goog-api-key: ");
    private static final byte[] HOST = ascii("host: ");
    private static final byte[] IDENTITY = ascii("accept-encoding: identity\r\n");
    private static final byte[] CONTENT_LENGTH = ascii("content-length: ");
    private static final byte[] HTTP_1_1 = ascii(" HTTP/1.1\r\n");

    private final byte[] prefix;
    private final boolean head;

    private RequestHead(byte[] prefix, boolean head) {
        this.prefix = prefix;
        this.head = head;
    }

    /** The request is a HEAD: its answer has no body. */
    public boolean isHead() {
        return head;
    }

    /** A head for {@code method uri} with the given fields (none of Host, key, Content-Length among them). */
    public static RequestHead of(HttpMethod method, String uri, HttpHeaders fields, String host, long contentLength) {
        Builder b = builder(method, uri);
        Iterator<Map.Entry<CharSequence, CharSequence>> it = fields.iteratorCharSequence();
        while (it.hasNext()) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            b.field(e.getKey(), e.getValue());
        }
        return b.build(host, contentLength);
    }

    public static Builder builder(HttpMethod method, String uri) {
        return new Builder(method, uri);
    }

    /**
     * The head with {@code key}'s field and the blank line that ends it.
     *
     * @return a new buffer owned by the caller (written to the connection, which releases it)
     */
    public ByteBuf encode(ByteBufAllocator alloc, ApiKey key) {
        byte[] secret = key.secretAscii();
        ByteBuf out = alloc.directBuffer(prefix.length + secret.length + 4);
        out.writeBytes(prefix).writeBytes(secret).writeInt(0x0d0a0d0a);
        return out;
    }

    /**
     * The head with {@code key}'s field, the blank line and then the whole of {@code body}, in one buffer: for small
     * bodies, one write of one buffer instead of two (and no duplicate of the body to count references on).
     *
     * @param body read from its reader index without moving it (each attempt sends it again); not released here
     * @return a new buffer owned by the caller (written to the connection, which releases it)
     */
    public ByteBuf encode(ByteBufAllocator alloc, ApiKey key, ByteBuf body) {
        byte[] secret = key.secretAscii();
        int length = body.readableBytes();
        ByteBuf out = alloc.directBuffer(prefix.length + secret.length + 4 + length);
        out.writeBytes(prefix).writeBytes(secret).writeInt(0x0d0a0d0a).writeBytes(body, body.readerIndex(), length);
        return out;
    }

    /** The head as it is sent, without the key's value (for tests and logs: nothing secret in it). */
    @Override
    public String toString() {
        return new String(prefix, java.nio.charset.StandardCharsets.ISO_8859_1) + "<key>";
    }

    private static byte[] ascii(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    /** Collects the request line and fields. */
    public static final class Builder {
        private byte[] b = new byte[512];
        private int n;
        private final boolean head;

        /** @throws IllegalArgumentException when {@code uri} holds a space or a control character */
        private Builder(HttpMethod method, String uri) {
            for (int i = 0; i < uri.length(); i++) {
                char c = uri.charAt(i);
                if (c <= ' ' || c == 0x7f || c > 0xff) {
                    throw new IllegalArgumentException("request target with a space or control character");
                }
            }
            head = method.equals(HttpMethod.HEAD);
            put(method.asciiName());
            put(' ');
            put(uri);
            put(HTTP_1_1);
        }

        /** Adds {@code name: value}. */
        public Builder field(CharSequence name, CharSequence value) {
            put(name);
            put(':');
            put(' ');
            put(value);
            put('\r');
            put('\n');
            return this;
        }

        /** Ends with Host, identity encoding and, when {@code contentLength >= 0}, Content-Length. */
        public RequestHead build(String host, long contentLength) {
            put(HOST);
            put(host);
            put('\r');
            put('\n');
            put(IDENTITY);
            if (contentLength >= 0) {
                put(CONTENT_LENGTH);
                putDecimal(contentLength);
                put('\r');
                put('\n');
            }
            put(KEY_NAME);
            return new RequestHead(Arrays.copyOf(b, n), head);
        }

        /** Each char as one byte (ISO-8859-1, as the request decoder read it): copied in bulk where it can be. */
        @SuppressWarnings("deprecation") // String.getBytes(int, int, byte[], int) is that copy, and what we want
        private void put(CharSequence s) {
            int len = s.length();
            ensure(len);
            if (s instanceof AsciiString a) {
                a.copy(0, b, n, len);
            } else if (s instanceof String str) {
                str.getBytes(0, len, b, n);
            } else {
                for (int i = 0; i < len; i++) {
                    b[n + i] = (byte) s.charAt(i);
                }
            }
            n += len;
        }

        private void put(byte[] bytes) {
            ensure(bytes.length);
            System.arraycopy(bytes, 0, b, n, bytes.length);
            n += bytes.length;
        }

        private void putDecimal(long v) {
            int digits = 1;
            for (long t = v; t >= 10; t /= 10) {
                digits++;
            }
            ensure(digits);
            for (int i = n + digits - 1; i >= n; i--) {
                b[i] = (byte) ('0' + v % 10);
                v /= 10;
            }
            n += digits;
        }

        private void put(char c) {
            ensure(1);
            b[n++] = (byte) c;
        }

        private void ensure(int more) {
            if (n + more > b.length) {
                b = Arrays.copyOf(b, Math.max(b.length * 2, n + more));
            }
        }
    }
}
