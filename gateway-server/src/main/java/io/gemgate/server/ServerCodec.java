package io.gemgate.server;

import io.gemgate.server.internal.HttpToken;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.List;

/**
 * HTTP/1.1 of a client connection: Netty's request decoder (with a fast path for plain requests, see {@link
 * RequestDecoder}) and response encoder, combined here rather than in {@code HttpServerCodec}, for two reasons.
 *
 * <ul>
 *   <li>The native pass-through writes its answers as raw bytes that never pass the encoder ({@link
 *       ClientWriter#writeRaw}); HttpServerCodec queues each request's method for the encoder to take off when its
 *       response passes, a queue that would then only grow. Here the connection's writer says per request whether
 *       it is a HEAD ({@link #headRequest}), when the request passes it (one at a time: pipelined requests wait in the
 *       writer, while the decoder may already have read them), and the encoder leaves the body out of answers to
 *       those.</li>
 *   <li>A request with both Content-Length and Transfer-Encoding keeps both headers, so that {@link FramingHandler}
 *       refuses it (a smuggling attempt) instead of the decoder quietly dropping the length.</li>
 * </ul>
 */
final class ServerCodec extends CombinedChannelDuplexHandler<ServerCodec.RequestDecoder, ServerCodec.ResponseEncoder> {
    ServerCodec(HttpDecoderConfig config) {
        init(new RequestDecoder(config), new ResponseEncoder());
    }

    /**
     * True when a part of a request has been read and its head is not complete yet: the client has started a
     * request (a slow one, maybe a slowloris), so the request read timeout applies rather than the idle timeout.
     */
    boolean isMidRequest() {
        return inboundHandler().isMidRequest();
    }

    /**
     * The CORS fields of the answers to the current request: {@code allowOrigin} for
     * {@code Access-Control-Allow-Origin}, null for none; {@code vary} adds {@code Vary: Origin}.
     */
    void cors(String allowOrigin, boolean vary) {
        ResponseEncoder e = outboundHandler();
        e.allowOrigin = allowOrigin;
        e.varyOrigin = vary;
    }

    /** The request being answered is a HEAD: what the encoder writes for it has no body. */
    void headRequest(boolean head) {
        outboundHandler().head = head;
    }

    /**
     * Netty's request decoder with a fast path in front: a request whose head and whole body are already read, in
     * the plainest form of HTTP/1.1 (one of the common methods, single spaces, CRLF line ends, token names, visible
     * ASCII values, at most one Content-Length and no Transfer-Encoding, Upgrade or folded line, within the limits),
     * is parsed in one pass over a copy of its head and handed on as the same two messages Netty's decoder makes
     * (the request, then its last content). Anything else, and everything while Netty's decoder is inside a message,
     * goes to Netty's decoder, which then also gives the answer to malformed or oversized input (400, 414, 431): the
     * fast path only ever accepts what that decoder accepts, and declines the rest without consuming a byte.
     */
    static final class RequestDecoder extends HttpRequestDecoder {
        /** A copy of the bytes being parsed, per thread: the head is read from an array, not byte by byte. */
        private static final FastThreadLocal<byte[]> SCRATCH = new FastThreadLocal<>() {
            @Override
            protected byte[] initialValue() {
                return new byte[8 * 1024];
            }
        };
        private static final HttpHeadersFactory HEADERS =
                DefaultHttpHeadersFactory.headersFactory().withValidation(false); // the fast path validated them

        private final int maxLine;
        private final int maxHeader;
        private final int maxChunk;
        /** Netty's decoder is between messages (nothing of a request read): the fast path may take the next one. */
        private boolean atBoundary = true;
        /** Requests the fast path decoded (for tests). */
        int fastDecoded;

        RequestDecoder(HttpDecoderConfig config) {
            super(config);
            this.maxLine = config.getMaxInitialLineLength();
            this.maxHeader = config.getMaxHeaderSize();
            this.maxChunk = config.getMaxChunkSize();
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
            if (atBoundary && decodeSimple(in, out)) {
                return;
            }
            int before = out.size();
            int readable = in.readableBytes();
            super.decode(ctx, in, out);
            if (out.size() > before) {
                atBoundary = out.get(out.size() - 1) instanceof LastHttpContent last && last.decoderResult().isSuccess();
            } else if (in.readableBytes() != readable) {
                atBoundary = false; // consumed a part of a message
            }
        }

        /** Bytes of a message were read (consumed by Netty's decoder or waiting in the cumulation) and it is not done. */
        boolean isMidRequest() {
            return !atBoundary || internalBuffer().isReadable();
        }

        /** Parses one whole plain request into {@code out}; false (nothing consumed) when it is not one. */
        @SuppressWarnings("deprecation") // String(byte[], int hibyte, int, int): the ISO-8859-1 copy Netty makes too
        private boolean decodeSimple(ByteBuf in, List<Object> out) {
            int avail = in.readableBytes();
            if (avail < 18) { // "GET / HTTP/1.1\r\n\r\n"
                return false;
            }
            byte[] b = SCRATCH.get();
            int n = Math.min(avail, b.length);
            in.getBytes(in.readerIndex(), b, 0, n);

            int i = 0;
            while (i < n && b[i] >= 'A' && b[i] <= 'Z') {
                i++;
            }
            HttpMethod method = method(b, i);
            if (method == null || b[i] != ' ') {
                return false;
            }
            int uriStart = ++i;
            while (i < n && b[i] > ' ' && b[i] < 0x7f) {
                i++;
            }
            int uriEnd = i;
            if (uriEnd == uriStart || i + 10 >= n || b[i] != ' ' || b[i + 1] != 'H' || b[i + 2] != 'T'
                    || b[i + 3] != 'T' || b[i + 4] != 'P' || b[i + 5] != '/' || b[i + 6] != '1' || b[i + 7] != '.'
                    || b[i + 9] != '\r' || b[i + 10] != '\n') {
                return false;
            }
            HttpVersion version = b[i + 8] == '1' ? HttpVersion.HTTP_1_1 : b[i + 8] == '0' ? HttpVersion.HTTP_1_0
                    : null;
            if (version == null || i + 9 > maxLine) {
                return false;
            }
            i += 11;
            int headStart = i;
            HttpHeaders headers = HEADERS.newHeaders();
            long length = -1;
            while (true) {
                if (i + 1 >= n) {
                    return false;
                }
                if (b[i] == '\r') {
                    if (b[i + 1] != '\n') {
                        return false;
                    }
                    i += 2;
                    break;
                }
                int nameStart = i;
                while (i < n && HttpToken.isTchar(b[i])) {
                    i++;
                }
                if (i == nameStart || i >= n || b[i] != ':') {
                    return false; // also a folded line (starting with a space)
                }
                int nameEnd = i++;
                while (i < n && (b[i] == ' ' || b[i] == '\t')) {
                    i++;
                }
                int valueStart = i;
                while (i < n && (b[i] == '\t' || (b[i] >= ' ' && b[i] < 0x7f))) {
                    i++;
                }
                if (i + 1 >= n || b[i] != '\r' || b[i + 1] != '\n') {
                    return false;
                }
                int valueEnd = i;
                while (valueEnd > valueStart && (b[valueEnd - 1] == ' ' || b[valueEnd - 1] == '\t')) {
                    valueEnd--;
                }
                i += 2;
                if (i - headStart > maxHeader) {
                    return false;
                }
                AsciiString name = new AsciiString(b, nameStart, nameEnd - nameStart, true);
                if (name.contentEqualsIgnoreCase(HttpHeaderNames.CONTENT_LENGTH)) {
                    if (length >= 0) {
                        return false;
                    }
                    length = digits(b, valueStart, valueEnd);
                    if (length < 0) {
                        return false;
                    }
                } else if (name.contentEqualsIgnoreCase(HttpHeaderNames.TRANSFER_ENCODING)
                        || name.contentEqualsIgnoreCase(HttpHeaderNames.UPGRADE)) {
                    return false;
                }
                headers.add(name, valueEnd == valueStart ? "" : new String(b, 0, valueStart, valueEnd - valueStart));
            }
            long bodyLength = Math.max(0, length);
            if (bodyLength > maxChunk || avail - i < bodyLength) {
                return false;
            }
            in.skipBytes(i);
            // Two messages, as Netty's decoder makes them. One FullHttpRequest (request and content at once, one pass
            // through the flow control handler) measured slower: 0.6 us more CPU per request in two interleaved A/B
            // runs on JDK 17; why was not established.
            out.add(new DefaultHttpRequest(version, method, new String(b, 0, uriStart, uriEnd - uriStart), headers));
            out.add(bodyLength == 0 ? LastHttpContent.EMPTY_LAST_CONTENT
                    : new DefaultLastHttpContent(in.readRetainedSlice((int) bodyLength), trailersFactory));
            fastDecoded++;
            return true;
        }

        private static HttpMethod method(byte[] b, int len) {
            return switch (len) {
                case 3 -> b[0] == 'G' && b[1] == 'E' && b[2] == 'T' ? HttpMethod.GET
                        : b[0] == 'P' && b[1] == 'U' && b[2] == 'T' ? HttpMethod.PUT : null;
                case 4 -> b[0] == 'P' && b[1] == 'O' && b[2] == 'S' && b[3] == 'T' ? HttpMethod.POST
                        : b[0] == 'H' && b[1] == 'E' && b[2] == 'A' && b[3] == 'D' ? HttpMethod.HEAD : null;
                case 5 -> b[0] == 'P' && b[1] == 'A' && b[2] == 'T' && b[3] == 'C' && b[4] == 'H' ? HttpMethod.PATCH
                        : null;
                case 6 -> b[0] == 'D' && b[1] == 'E' && b[2] == 'L' && b[3] == 'E' && b[4] == 'T' && b[5] == 'E'
                        ? HttpMethod.DELETE : null;
                case 7 -> b[0] == 'O' && b[1] == 'P' && b[2] == 'T' && b[3] == 'I' && b[4] == 'O' && b[5] == 'N'
                        && b[6] == 'S' ? HttpMethod.OPTIONS : null;
                default -> null;
            };
        }

        /** The decimal value of {@code b[from, to)}: 1 to 18 digits, no leading zero but for "0"; else -1. */
        private static long digits(byte[] b, int from, int to) {
            int len = to - from;
            if (len < 1 || len > 18 || (b[from] == '0' && len > 1)) {
                return -1;
            }
            long v = 0;
            for (int i = from; i < to; i++) {
                int d = b[i] - '0';
                if (d < 0 || d > 9) {
                    return -1;
                }
                v = v * 10 + d;
            }
            return v;
        }

        @Override
        protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
            // Both headers stay: FramingHandler answers 400 and closes (RFC 9112 6.3 allows either).
        }
    }

    static final class ResponseEncoder extends HttpResponseEncoder {
        boolean head;
        /** Access-Control-Allow-Origin of the current request's answers, or null. */
        String allowOrigin;
        boolean varyOrigin;

        @Override
        protected void sanitizeHeadersBeforeEncode(HttpResponse msg, boolean isAlwaysEmpty) {
            if (allowOrigin != null && !msg.headers().contains(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN)) {
                msg.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, allowOrigin)
                        .set(HttpHeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS, "*");
                if (varyOrigin) {
                    msg.headers().add(HttpHeaderNames.VARY, HttpHeaderNames.ORIGIN);
                }
            }
            super.sanitizeHeadersBeforeEncode(msg, isAlwaysEmpty);
        }

        @Override
        protected boolean isContentAlwaysEmpty(HttpResponse msg) {
            return head || super.isContentAlwaysEmpty(msg);
        }
    }
}
