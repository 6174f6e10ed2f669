package io.gemgate.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;

import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * One request being answered on one connection, with the primitives a {@link Behavior} writes its answer with.
 *
 * <p>Not thread-safe: every method must run on the connection's event loop ({@link #schedule} and
 * {@link #offLoop} + {@link #execute} get there). Ownership: every buffer written here is handed to the channel,
 * which releases it after the write, also when the write fails on a closed channel.
 */
final class Exchange {

    static final String JSON = "application/json; charset=UTF-8";
    static final String SSE = "text/event-stream";

    final RecordedRequest request;
    final FakeGemini fake;
    private final ChannelHandlerContext ctx;
    private final boolean keepAlive;
    private final Runnable onComplete;
    private final ChannelFutureListener cancelWatch;
    private boolean done;

    Exchange(ChannelHandlerContext ctx, RecordedRequest request, FakeGemini fake, boolean keepAlive,
             Runnable onComplete) {
        this.ctx = ctx;
        this.request = request;
        this.fake = fake;
        this.keepAlive = keepAlive;
        this.onComplete = onComplete;
        this.cancelWatch = f -> {
            if (!done) {
                done = true;
                fake.streamCancelled();
            }
        };
    }

    boolean isActive() {
        return ctx.channel().isActive();
    }

    /** Sends a complete JSON response with Content-Length. */
    void sendJson(int status, String json) {
        ByteBuf content = ByteBufUtil.writeUtf8(ctx.alloc(), json);
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                content);
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, JSON).setInt(HttpHeaderNames.CONTENT_LENGTH,
                content.readableBytes());
        complete(ctx.writeAndFlush(withKeepAlive(res)));
    }

    /** Sends a complete JSON response with Content-Length and the given extra headers. */
    void sendJson(int status, String json, java.util.Map<String, String> headers) {
        ByteBuf content = ByteBufUtil.writeUtf8(ctx.alloc(), json);
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                content);
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, JSON).setInt(HttpHeaderNames.CONTENT_LENGTH,
                content.readableBytes());
        headers.forEach(res.headers()::set);
        complete(ctx.writeAndFlush(withKeepAlive(res)));
    }

    /** Sends a 200 head with chunked framing; from here until {@link #endStream} the stream counts as open. */
    ChannelFuture startStream(String contentType) {
        HttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType)
                .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        ctx.channel().closeFuture().addListener(cancelWatch);
        return ctx.writeAndFlush(withKeepAlive(res));
    }

    /**
     * Sends a 200 JSON head that declares {@code declaredLength} bytes and only {@code part} of them; the stream counts
     * as open (as {@link #startStream}).
     */
    ChannelFuture partialJson(int declaredLength, String part) {
        HttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, JSON).setInt(HttpHeaderNames.CONTENT_LENGTH, declaredLength);
        ctx.channel().closeFuture().addListener(cancelWatch);
        ctx.write(withKeepAlive(res));
        return ctx.writeAndFlush(new DefaultHttpContent(ByteBufUtil.writeUtf8(ctx.alloc(), part)));
    }

    /** Resets the connection (RST, SO_LINGER 0) once {@code lastWrite} is done. */
    void resetAfter(ChannelFuture lastWrite) {
        markDone();
        lastWrite.addListener(f -> {
            ctx.channel().config().setOption(io.netty.channel.ChannelOption.SO_LINGER, 0);
            ctx.close();
        });
    }

    /** Writes and flushes one chunk. */
    ChannelFuture chunk(String text) {
        return ctx.writeAndFlush(new DefaultHttpContent(ByteBufUtil.writeUtf8(ctx.alloc(), text)));
    }

    /** Writes and flushes one SSE event {@code data: json\r\n\r\n}. */
    ChannelFuture sse(String json) {
        return chunk("data: " + json + "\r\n\r\n");
    }

    /** Writes the terminating chunk and completes the exchange. */
    void endStream() {
        complete(ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT));
    }

    /** Closes the connection once {@code lastWrite} is done, mid-response on purpose (not a cancelled stream). */
    void dropAfter(ChannelFuture lastWrite) {
        markDone();
        lastWrite.addListener(ChannelFutureListener.CLOSE);
    }

    /** Closes the connection now, without (the rest of) a response. */
    void closeNow() {
        markDone();
        ctx.close();
    }

    /** Runs {@code task} on this connection's event loop after {@code delay}; dropped if the loop is shutting down. */
    void schedule(Runnable task, Duration delay) {
        try {
            ctx.executor().schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException ignored) {
            // the fake is closing
        }
    }

    /** Runs {@code task} on this connection's event loop; dropped if the loop is shutting down. */
    void execute(Runnable task) {
        try {
            ctx.executor().execute(task);
        } catch (RejectedExecutionException ignored) {
            // the fake is closing
        }
    }

    /** Runs blocking {@code task} on a fake-owned thread, never on the event loop. */
    void offLoop(Runnable task) {
        fake.offLoop(task);
    }

    private HttpResponse withKeepAlive(HttpResponse res) {
        HttpUtil.setKeepAlive(res, keepAlive);
        return res;
    }

    private void complete(ChannelFuture lastWrite) {
        markDone();
        if (keepAlive) {
            onComplete.run();
        } else {
            lastWrite.addListener(ChannelFutureListener.CLOSE);
        }
    }

    private void markDone() {
        done = true;
        ctx.channel().closeFuture().removeListener(cancelWatch);
    }
}
