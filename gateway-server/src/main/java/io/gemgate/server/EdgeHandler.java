package io.gemgate.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * A gateway handler of the client connection's pipeline ({@link PipelineNames}): one step of a request's handling,
 * with the connection's {@link ClientWriter} (the only way to answer) and its {@link ClientRequest} (what the steps
 * before learned). A step either passes a message on ({@code ctx.fireChannelRead}, ownership passes) or answers the
 * request through the writer and releases the message. A bug in a step answers 500 and closes the connection rather
 * than leaving the client waiting.
 */
abstract class EdgeHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LogManager.getLogger(EdgeHandler.class);

    protected final GatewayContext gw;
    protected final ClientWriter writer;
    protected final ClientRequest request;

    EdgeHandler(GatewayContext gw, ClientWriter writer, ClientRequest request) {
        this.gw = gw;
        this.writer = writer;
        this.request = request;
    }

    @Override
    public final void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            read(ctx, msg);
        } catch (RuntimeException e) {
            log.warn("request handling failed on {}: {}", ctx.channel().id(), e.toString(), e);
            ReferenceCountUtil.safeRelease(msg);
            writer.reject(500, "internal error");
        }
    }

    /** Handles one message: passes it on, or answers and releases it. */
    protected abstract void read(ChannelHandlerContext ctx, Object msg);
}
