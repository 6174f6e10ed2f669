package io.gemgate.server.upstream;

import io.gemgate.core.keys.ApiKey;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;

/**
 * One {@code GET} through the shared upstream pool with one key, read to its end and handed to a {@link Callback}:
 * the gateway's own calls that are not a client's request (the key probe of {@code KeyProber}, the affinity owner
 * lookup of {@code OwnerLookup}). A connection read to the end of a keep-alive answer goes back to the pool; one left
 * mid-answer (timeout, stalled upstream) is closed.
 *
 * <p>Runs on one event loop, the one given to {@link #start}; not thread-safe. The callback is called once, on that
 * loop.
 */
public final class UpstreamGet implements UpstreamListener {
    /** How the call ended. */
    public interface Callback {
        /**
         * An answer arrived.
         *
         * @param status     its status
         * @param body       the body bytes kept (for the statuses {@code keepBody} accepts, up to the cap; else empty)
         * @param headMillis milliseconds from the start to the response head
         * @param complete   false when the connection closed after the head, before the end of the body: {@code body}
         *                   is what arrived
         */
        void answered(int status, byte[] body, long headMillis, boolean complete);

        /**
         * No answer: the connection failed, closed before a head, the upstream stalled, or the time ran out.
         *
         * @param why a short reason for logs and the admin API, never a key
         */
        void failed(String why);
    }

    private final UpstreamClient upstream;
    private final ApiKey key;
    private final String path;
    private final int maxBody;
    private final IntPredicate keepBody;
    private final Callback callback;
    private final long startNanos = System.nanoTime();
    private Channel ch;
    private ScheduledFuture<?> timeout;
    private int status;
    private boolean keepAlive = true;
    private long headMillis = -1;
    private byte[] body = new byte[0];
    private int bodyLen;
    private boolean done;

    private UpstreamGet(UpstreamClient upstream, ApiKey key, String path, int maxBody, IntPredicate keepBody,
                        Callback callback) {
        this.upstream = upstream;
        this.key = key;
        this.path = path;
        this.maxBody = maxBody;
        this.keepBody = keepBody;
        this.callback = callback;
    }

    /**
     * Starts the call; must be called on {@code loop}.
     *
     * @param path          the request target, e.g. {@code /v1beta/models?pageSize=1}
     * @param timeoutMillis the whole call's limit; past it the connection is closed and the call failed
     * @param maxBody       the most body bytes kept
     * @param keepBody      the statuses whose body is kept
     */
    public static void start(UpstreamClient upstream, EventLoop loop, ApiKey key, String path, long timeoutMillis,
                             int maxBody, IntPredicate keepBody, Callback callback) {
        UpstreamGet g = new UpstreamGet(upstream, key, path, maxBody, keepBody, callback);
        g.timeout = loop.schedule(() -> g.dropAndFail("no answer in time"), timeoutMillis, TimeUnit.MILLISECONDS);
        Future<Channel> f = upstream.acquire(loop);
        if (f.isDone()) {
            g.onConnection(f);
        } else {
            f.addListener(g::onConnection);
        }
    }

    private void onConnection(Future<? super Channel> f) {
        if (done) {
            if (f.isSuccess()) {
                upstream.release((Channel) f.getNow(), true);
            }
            return;
        }
        if (!f.isSuccess()) {
            fail("connect failure: " + f.cause().getClass().getSimpleName());
            return;
        }
        ch = (Channel) f.getNow();
        UpstreamClient.attach(ch, this);
        RequestHead head = RequestHead.builder(HttpMethod.GET, path).build(upstream.hostHeader(), -1);
        Channel c = ch;
        c.writeAndFlush(head.encode(c.alloc(), key)).addListener(w -> {
            if (!w.isSuccess()) {
                c.close(); // onInactive ends the call
            }
        });
        c.read();
    }

    @Override
    public void onResponseHead(UpstreamHead head) {
        status = head.status();
        keepAlive = head.isKeepAlive();
        headMillis = (System.nanoTime() - startNanos) / 1_000_000;
    }

    @Override
    public void onContent(HttpContent content) {
        try {
            ByteBuf b = content.content();
            int n = Math.min(b.readableBytes(), maxBody - bodyLen);
            if (n > 0 && keepBody.test(status)) {
                if (body.length < bodyLen + n) {
                    body = Arrays.copyOf(body, Math.max(bodyLen + n, body.length * 2));
                }
                b.getBytes(b.readerIndex(), body, bodyLen, n);
                bodyLen += n;
            }
        } finally {
            content.release();
        }
        if (content instanceof LastHttpContent && !done) {
            Channel c = ch;
            ch = null;
            boolean complete = UpstreamClient.detach(c);
            upstream.release(c, complete && keepAlive);
            end();
            callback.answered(status, Arrays.copyOf(body, bodyLen), headMillis, true);
        }
    }

    @Override
    public void onReadComplete() {
        if (!done && ch != null) {
            ch.read();
        }
    }

    @Override
    public void onInactive() {
        ch = null;
        if (done) {
            return;
        }
        if (status != 0) {
            end();
            callback.answered(status, Arrays.copyOf(body, bodyLen), headMillis, false);
        } else {
            fail("connection closed before an answer");
        }
    }

    @Override
    public void onStreamIdle() {
        dropAndFail("upstream stalled");
    }

    private void dropAndFail(String why) {
        if (done) {
            return;
        }
        Channel c = ch;
        ch = null;
        if (c != null) {
            UpstreamClient.detach(c);
            c.close();
        }
        fail(why);
    }

    private void fail(String why) {
        if (done) {
            return;
        }
        end();
        callback.failed(why);
    }

    private void end() {
        done = true;
        if (timeout != null) {
            timeout.cancel(false);
        }
    }
}
