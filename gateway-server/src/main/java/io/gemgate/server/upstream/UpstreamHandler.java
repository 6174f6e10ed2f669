package io.gemgate.server.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Last handler of an upstream connection: reads responses with its {@link ResponseDecoder} and hands them to the
 * attached {@link UpstreamListener}; while the connection idles in the pool, bytes that arrive mean a protocol error
 * or a late answer, and the connection is closed. One instance per connection.
 */
final class UpstreamHandler extends ChannelInboundHandlerAdapter implements ResponseDecoder.Sink {
    private static final Logger log = LogManager.getLogger(UpstreamHandler.class);
    /** The longest response head read. */
    static final int MAX_HEAD = 64 * 1024;

    private ChannelHandlerContext ctx;
    private ResponseDecoder decoder;
    private UpstreamListener listener;
    /** True after the last content of the current response was read: the connection may go back to the pool. */
    private boolean responseComplete = true;
    /** Requests this connection was handed out for (by its pool, on its loop). */
    int uses;
    /** When it last went back to the pool ({@link System#nanoTime()}). */
    long idleSinceNanos;
    /** The pool of its loop, which opened it (null for a connection no pool opened). */
    UpstreamPool pool;
    /** When the pool stops reusing it ({@link System#nanoTime()}; max connection lifetime, less some jitter). */
    long retireAtNanos = Long.MAX_VALUE;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.decoder = new ResponseDecoder(ctx.alloc(), MAX_HEAD);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        decoder.close();
    }

    /**
     * Attaches the listener of the next response.
     *
     * @param headRequest the request is a HEAD: its response has no body
     */
    void attach(UpstreamListener l, boolean headRequest) {
        this.listener = l;
        this.responseComplete = false;
        decoder.expectHeadResponse(headRequest);
    }

    boolean isRetired(long nowNanos) {
        return retireAtNanos != Long.MAX_VALUE && nowNanos - retireAtNanos >= 0;
    }

    /** Detaches the listener; returns true when the last response was read to its end (reusable connection). */
    boolean detach() {
        listener = null;
        return responseComplete;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (listener == null || !(msg instanceof ByteBuf b)) {
            // Bytes on a connection nobody is waiting on: a protocol error or a late answer; never reuse it.
            ReferenceCountUtil.release(msg);
            responseComplete = false;
            ctx.close();
            return;
        }
        decoder.decode(b, this);
    }

    @Override
    public void head(UpstreamHead head) {
        UpstreamListener l = listener;
        if (l == null) {
            responseComplete = false;
            ctx.close();
            return;
        }
        l.onResponseHead(head);
    }

    @Override
    public void content(HttpContent content) {
        if (content instanceof LastHttpContent) {
            responseComplete = true;
        }
        UpstreamListener l = listener;
        if (l != null) {
            l.onContent(content);
        } else {
            content.release();
        }
    }

    @Override
    public void malformed(String why) {
        log.debug("upstream connection {}: {}", ctx.channel().id(), why);
        responseComplete = false;
        ctx.close();
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
        if (listener != null) {
            decoder.closed(this); // a body that runs to the close ends here
        } else {
            decoder.close();
        }
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
            if (l != null && e.state() == IdleState.READER_IDLE) {
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
