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

/**
 * Builds each client connection's pipeline, step by step in the order {@link PipelineNames} draws: the connection
 * counter, HTTP/1.1, then the gateway's handlers, each with one job. The codec, the writer and the request state are
 * made here per connection and handed to the handlers that use them; the handlers are per connection.
 */
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
        ServerCodec codec = addHttpHandlers(p);
        ClientRequest request = new ClientRequest();
        ClientWriter writer = addWriter(p, codec, request);
        addRequestHandlers(p, codec, writer, request);
        addExchangeHandlers(p, writer, request);
    }

    private void addConnectionHandlers(ChannelPipeline p) {
        p.addLast(PipelineNames.CONNECTIONS, counter);
    }

    private ServerCodec addHttpHandlers(ChannelPipeline p) {
        var s = gw.config().server();
        ServerCodec codec = new ServerCodec(new HttpDecoderConfig()
                .setMaxInitialLineLength(s.maxInitialLineBytes())
                .setMaxHeaderSize(s.maxHeaderBytes())
                .setMaxChunkSize(64 * 1024));
        p.addLast(PipelineNames.CODEC, codec);
        p.addLast(PipelineNames.FLOW, new FlowControlHandler());
        return codec;
    }

    /** The one writer of the connection, first of the gateway's handlers: it also keeps pipelined requests in order. */
    private ClientWriter addWriter(ChannelPipeline p, ServerCodec codec, ClientRequest request) {
        ClientWriter writer = new ClientWriter(gw, codec, request);
        p.addLast(PipelineNames.WRITER, writer);
        return writer;
    }

    /** A request's head, checked and answered in this order, then its body read whole. */
    private void addRequestHandlers(ChannelPipeline p, ServerCodec codec, ClientWriter writer, ClientRequest request) {
        p.addLast(PipelineNames.FRAMING, new FramingHandler(gw, writer, request, codec));
        p.addLast(PipelineNames.CORS, new CorsHandler(gw, writer, request));
        p.addLast(PipelineNames.LOCAL, new LocalHandler(gw, writer, request));
        p.addLast(PipelineNames.ROUTING, new RoutingHandler(gw, writer, request));
        p.addLast(PipelineNames.AUTH, new AuthHandler(gw, writer, request));
        p.addLast(PipelineNames.BODY, new BodyHandler(gw, writer, request));
    }

    /** The complete request to the admin API or its route's exchange. */
    private void addExchangeHandlers(ChannelPipeline p, ClientWriter writer, ClientRequest request) {
        p.addLast(PipelineNames.EXCHANGE, new ExchangeHandler(gw, writer, request));
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
