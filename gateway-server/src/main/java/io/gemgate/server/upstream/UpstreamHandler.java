package io.gemgate.server.upstream;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Last handler of an upstream connection: hands what arrives to the attached {@link UpstreamListener}, or, while the
 * connection idles in the pool, releases anything unexpected and closes. One instance per connection.
 */
final class UpstreamHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LogManager.getLogger(UpstreamHandler.class);

    private UpstreamListener listener;
    /** True after the last content of the current response was read: the connection may go back to the pool. */
    private boolean responseComplete = true;

    void attach(UpstreamListener l) {
        this.listener = l;
        this.responseComplete = false;
    }

    /** Detaches the listener; returns true when the last response was read to its end (reusable connection). */
    boolean detach() {
        listener = null;
        return responseComplete;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        UpstreamListener l = listener;
        if (l == null) {
            // Bytes on a connection nobody is waiting on: a protocol error or a late answer; never reuse it.
            ReferenceCountUtil.release(msg);
            ctx.close();
            return;
        }
        if (msg instanceof HttpObject o && o.decoderResult().isFailure()) {
            ReferenceCountUtil.release(msg);
            log.debug("upstream response could not be decoded: {}", o.decoderResult().cause().toString());
            responseComplete = false;
            ctx.close();
            return;
        }
        if (msg instanceof HttpResponse head) {
            l.onResponseHead(head);
        }
        if (msg instanceof HttpContent content) {
            if (msg instanceof io.netty.handler.codec.http.LastHttpContent) {
                responseComplete = true;
            }
            if (listener == l) {
                l.onContent(content);
            } else {
                ReferenceCountUtil.release(content);
            }
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        UpstreamListener l = listener;
        if (l != null) {
            l.onReadComplete();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        UpstreamListener l = listener;
        listener = null;
        if (l != null) {
            l.onInactive();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent e) {
            UpstreamListener l = listener;
            if (l == null) {
                if (e.state() == io.netty.handler.timeout.IdleState.ALL_IDLE) {
                    ctx.close(); // idle in the pool for too long
                }
            } else if (e.state() == io.netty.handler.timeout.IdleState.READER_IDLE) {
                l.onStreamIdle();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("upstream connection {} failed: {}", ctx.channel().id(), cause.toString());
        ctx.close();
    }
}
