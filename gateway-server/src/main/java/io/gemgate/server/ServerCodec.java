package io.gemgate.server;

import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;

/**
 * HTTP/1.1 of a client connection: Netty's request decoder and response encoder, combined here rather than in
 * {@code HttpServerCodec}, for two reasons.
 *
 * <ul>
 *   <li>The native pass-through writes its answers as raw bytes that never pass the encoder ({@link
 *       ClientHandler#raw()}); HttpServerCodec queues each request's method for the encoder to take off when its
 *       response passes, a queue that would then only grow. Here the connection's handler says per request whether
 *       it is a HEAD ({@link #headRequest}), and the encoder leaves the body out of answers to those.</li>
 *   <li>A request with both Content-Length and Transfer-Encoding keeps both headers, so that {@link ClientHandler}
 *       refuses it (a smuggling attempt) instead of the decoder quietly dropping the length.</li>
 * </ul>
 */
final class ServerCodec extends CombinedChannelDuplexHandler<ServerCodec.RequestDecoder, ServerCodec.ResponseEncoder> {
    ServerCodec(HttpDecoderConfig config) {
        init(new RequestDecoder(config), new ResponseEncoder());
    }

    /** The request being answered is a HEAD: what the encoder writes for it has no body. */
    void headRequest(boolean head) {
        outboundHandler().head = head;
    }

    static final class RequestDecoder extends HttpRequestDecoder {
        RequestDecoder(HttpDecoderConfig config) {
            super(config);
        }

        @Override
        protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
            // Both headers stay: ClientHandler answers 400 and closes (RFC 9112 6.3 allows either).
        }
    }

    static final class ResponseEncoder extends HttpResponseEncoder {
        boolean head;

        @Override
        protected boolean isContentAlwaysEmpty(HttpResponse msg) {
            return head || super.isContentAlwaysEmpty(msg);
        }
    }
}
