package io.gemgate.server;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.flow.FlowControlHandler;

/** Builds each client connection's pipeline; see {@link PipelineNames} for the order. */
final class ServerInitializer extends ChannelInitializer<SocketChannel> {
    private final GatewayContext gw;
    private final ConnectionCounter counter;

    ServerInitializer(GatewayContext gw, ChannelGroup channels) {
        this.gw = gw;
        this.counter = new ConnectionCounter(gw, channels);
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        ChannelPipeline p = ch.pipeline();
        addConnectionHandlers(p);
        addHttpHandlers(p);
        addGatewayHandlers(p);
    }

    private void addConnectionHandlers(ChannelPipeline p) {
        p.addLast(PipelineNames.CONNECTIONS, counter);
    }

    private void addHttpHandlers(ChannelPipeline p) {
        var s = gw.config().server();
        p.addLast(PipelineNames.CODEC, new ServerCodec(new HttpDecoderConfig()
                .setMaxInitialLineLength(s.maxInitialLineBytes())
                .setMaxHeaderSize(s.maxHeaderBytes())
                .setMaxChunkSize(64 * 1024)));
        p.addLast(PipelineNames.FLOW, new FlowControlHandler());
    }

    private void addGatewayHandlers(ChannelPipeline p) {
        p.addLast(PipelineNames.CLIENT, new ClientHandler(gw, (ServerCodec) p.get(PipelineNames.CODEC)));
    }

    /** Counts open connections and closes those past the limit before they are read. */
    @ChannelHandler.Sharable
    static final class ConnectionCounter extends ChannelInboundHandlerAdapter {
        private final GatewayContext gw;
        private final ChannelGroup channels;

        ConnectionCounter(GatewayContext gw, ChannelGroup channels) {
            this.gw = gw;
            this.channels = channels;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            int n = gw.connections().incrementAndGet();
            gw.events().connection(true);
            if (n > gw.config().server().maxConnections() || gw.isShuttingDown()) {
                ctx.close();
                return;
            }
            channels.add(ctx.channel());
            ctx.fireChannelActive();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            gw.connections().decrementAndGet();
            gw.events().connection(false);
            ctx.fireChannelInactive();
        }
    }
}
