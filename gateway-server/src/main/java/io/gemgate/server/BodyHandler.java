package io.gemgate.server;

import io.gemgate.server.proxy.ClientConnection;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

/**
 * Reads an accepted request's body whole (kept so that it can be replayed on the next key): the declared length
 * against {@code server.maxBodyBytes} (413 before reading), {@code Expect: 100-continue}, the pieces gathered into one
 * buffer (a {@link CompositeByteBuf} when they came in several) up to the same limit (413), a chunked body the decoder
 * could not parse (400), all within the request read timeout (408). The complete request goes on as the
 * {@link ClientRequest} with its {@link ClientRequest#body}; contents of a request that was answered before its body
 * (a refusal, a local endpoint) are dropped here.
 *
 * <p>Buffer ownership: the body is owned here until it is passed on (then by the receiver), released when the
 * request is refused or the connection closes mid-body.
 */
final class BodyHandler extends EdgeHandler implements ClientConnection.Deadline {
    /** The body so far: null before its first piece, the piece itself, then a composite of the pieces. */
    private ByteBuf body;

    BodyHandler(GatewayContext gw, ClientWriter writer, ClientRequest request) {
        super(gw, writer, request);
    }

    @Override
    protected void read(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest req) {
            onHead(req);
        }
        if (msg instanceof HttpContent content && request.reading) {
            onContent(ctx, content);
            return; // ownership of content passed on
        }
        ReferenceCountUtil.release(msg);
    }

    private void onHead(HttpRequest req) {
        long declared = HttpUtil.getContentLength(req, -1L);
        long max = gw.config().server().maxBodyBytes();
        if (declared > max) {
            writer.reject(413, "request body of " + declared + " bytes exceeds the limit of " + max + " bytes");
            return;
        }
        if (HttpUtil.is100ContinueExpected(req)) {
            writer.writeInterim(new DefaultFullHttpResponse(req.protocolVersion(), HttpResponseStatus.CONTINUE));
        }
        request.reading = true;
        writer.deadline(this, gw.config().server().requestReadTimeout().toMillis(), System.nanoTime());
    }

    private void onContent(ChannelHandlerContext ctx, HttpContent content) {
        if (content.decoderResult().isFailure()) {
            // A chunk-size line, chunk end or trailer the decoder could not parse: the body's end is unknown. Nothing
            // of it is forwarded; the decoder drops whatever follows until the close.
            content.release();
            drop();
            writer.reject(400, "malformed chunked body");
            return;
        }
        gw.events().bytes(content.content().readableBytes(), 0);
        ByteBuf piece = content.content();
        if (body == null) {
            body = piece; // most bodies come in one piece: no composite
        } else if (body instanceof CompositeByteBuf c) {
            c.addComponent(true, piece);
        } else {
            body = ctx.alloc().compositeBuffer(1024).addComponents(true, body, piece);
        }
        if (body.readableBytes() > gw.config().server().maxBodyBytes()) {
            drop();
            writer.reject(413, "request body exceeds the limit of " + gw.config().server().maxBodyBytes()
                    + " bytes");
            return;
        }
        if (content instanceof LastHttpContent) {
            writer.clearDeadline(this);
            request.reading = false;
            request.body = body;
            body = null;
            ctx.fireChannelRead(request);
        }
    }

    /** The body did not arrive whole within the request read timeout. */
    @Override
    public void onDeadline() {
        if (request.reading) {
            drop();
            writer.reject(408, "request not received within "
                    + gw.config().server().requestReadTimeout().toSeconds() + "s");
        }
    }

    private void drop() {
        request.reading = false;
        if (body != null) {
            body.release();
            body = null;
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        drop();
        ctx.fireChannelInactive();
    }
}
