package io.gemgate.bench.e2e;

import static java.util.Objects.requireNonNull;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * A fake Gemini API that answers as fast as a Netty server can, for the end-to-end benchmarks: the same canned answer
 * for every {@code :generateContent}, a stream of {@code sseEvents} events for {@code :streamGenerateContent?alt=sse}
 * (spaced by {@code sseGapMillis}, scheduled on the event loop: nothing sleeps), and Google's per-minute 429 with
 * RetryInfo "1s" for every request made with one of the {@code rateLimitedKeys} (every time: a gateway is expected to
 * cool such a key and route around it). A request without a key gets Google's 403. {@code GET /stats} answers the
 * counters as JSON.
 *
 * <p>Answers are pre-encoded bytes ({@link CannedAnswers}); a request is decoded (head only, the body is dropped as it
 * arrives) and answered when its last content is read; writes are flushed once per read. Pipelined requests are
 * answered in order, a stream holding back the answers queued behind it.
 *
 * <pre>
 * java -cp gateway-bench/target/benchmarks.jar io.gemgate.bench.e2e.FastUpstream --port 9000 --threads 1 \
 *     --sse-events 10 --sse-gap-ms 2 --rate-limited key-a,key-b
 * </pre>
 * It prints {@code FastUpstream listening on 127.0.0.1:PORT} once it serves, and runs until killed.
 */
public final class FastUpstream implements AutoCloseable {
    private final Options options;
    private final CannedAnswers answers;
    private final EventLoopGroup group;
    private final Channel listener;
    private final LongAdder requests = new LongAdder();
    private final LongAdder rateLimited = new LongAdder();
    private final LongAdder streams = new LongAdder();
    private final LongAdder open = new LongAdder();

    /**
     * @param host            listen address (127.0.0.1 in every bench)
     * @param port            0 for any free port
     * @param threads         event loop threads
     * @param sseEvents       events per stream, at least 1
     * @param sseFirstMillis  delay before the first event (0: with the head)
     * @param sseGapMillis    delay between two events (0: all at once)
     * @param rateLimitedKeys keys answered 429 every time
     */
    public record Options(String host, int port, int threads, int sseEvents, long sseFirstMillis, long sseGapMillis,
                          Set<String> rateLimitedKeys) {
        public Options {
            requireNonNull(host, "host");
            rateLimitedKeys = Set.copyOf(rateLimitedKeys);
            if (threads < 1) {
                throw new IllegalArgumentException("threads: " + threads + " (expected: > 0)");
            }
            if (sseFirstMillis < 0 || sseGapMillis < 0) {
                throw new IllegalArgumentException("sse delays: " + sseFirstMillis + ", " + sseGapMillis
                        + " (expected: >= 0)");
            }
        }
    }

    public FastUpstream(Options options) throws InterruptedException {
        this.options = requireNonNull(options, "options");
        this.answers = new CannedAnswers(options.sseEvents());
        this.group = Net.group(options.threads(), "fast-upstream");
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(Net.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpRequestDecoder(new HttpDecoderConfig().setValidateHeaders(false)));
                        ch.pipeline().addLast(new Handler());
                    }
                });
        try {
            this.listener = b.bind(options.host(), options.port()).sync().channel();
        } catch (InterruptedException | RuntimeException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
    }

    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    /** Requests answered so far, of which 429 answers, SSE streams started, and connections open now. */
    private String statsJson() {
        return "{\"requests\":" + requests.sum() + ",\"rateLimited\":" + rateLimited.sum() + ",\"sseStreams\":"
                + streams.sum() + ",\"open\":" + open.sum() + "}";
    }

    @Override
    public void close() {
        listener.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** What a request gets; decided from its head, sent once its body has arrived. */
    private enum Answer { GENERATE, SSE, STREAM_ARRAY, RATE_LIMITED, NO_KEY, NOT_FOUND, STATS }

    private record Pending(Answer answer, boolean close) {
    }

    /** One per connection; runs on the connection's event loop only. */
    private final class Handler extends ChannelInboundHandlerAdapter {
        private final ArrayDeque<Pending> queue = new ArrayDeque<>(2);
        private Answer current;
        private boolean currentClose;
        private boolean streaming;
        private boolean unflushed;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            open.increment();
            ctx.fireChannelActive();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            open.decrement();
            ctx.fireChannelInactive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpRequest req) {
                    if (req.decoderResult().isFailure()) {
                        ctx.writeAndFlush(answers.badRequest.duplicate()).addListener(ChannelFutureListener.CLOSE);
                        current = null;
                        return;
                    }
                    current = classify(req);
                    currentClose = !HttpUtil.isKeepAlive(req);
                }
                if (msg instanceof LastHttpContent && current != null) {
                    queue.add(new Pending(current, currentClose));
                    current = null;
                    drain(ctx);
                } else if (msg instanceof HttpContent c && c.decoderResult().isFailure()) {
                    ctx.close();
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (unflushed) {
                unflushed = false;
                ctx.flush();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // a reset client is normal at the end of a load run
        }

        private Answer classify(HttpRequest req) {
            String uri = req.uri();
            int q = uri.indexOf('?');
            String path = q < 0 ? uri : uri.substring(0, q);
            String query = q < 0 ? "" : uri.substring(q + 1);
            if (path.equals("/stats")) {
                return Answer.STATS;
            }
            int colon = path.lastIndexOf(':');
            if (colon < 0) {
                return Answer.NOT_FOUND;
            }
            String key = req.headers().get("x-goog-api-key");
            if (key == null) {
                key = keyParam(query);
            }
            if (key == null || key.isEmpty()) {
                return Answer.NO_KEY;
            }
            if (!options.rateLimitedKeys().isEmpty() && options.rateLimitedKeys().contains(key)) {
                return Answer.RATE_LIMITED;
            }
            if (path.startsWith(":generateContent", colon)) {
                return Answer.GENERATE;
            }
            if (path.startsWith(":streamGenerateContent", colon)) {
                return query.contains("alt=sse") ? Answer.SSE : Answer.STREAM_ARRAY;
            }
            return Answer.NOT_FOUND;
        }

        /** Answers the queued requests in order; a stream with gaps stops the drain until it has ended. */
        private void drain(ChannelHandlerContext ctx) {
            Pending p;
            while (!streaming && (p = queue.poll()) != null) {
                requests.increment();
                ByteBuf out = switch (p.answer()) {
                    case GENERATE -> answers.generateContent.duplicate();
                    case STREAM_ARRAY -> answers.streamArray.duplicate();
                    case RATE_LIMITED -> {
                        rateLimited.increment();
                        yield answers.rateLimited.duplicate();
                    }
                    case NO_KEY -> answers.noKey.duplicate();
                    case NOT_FOUND -> answers.notFound.duplicate();
                    case STATS -> CannedAnswers.json(statsJson());
                    case SSE -> null;
                };
                if (out == null) {
                    stream(ctx, p.close());
                    continue;
                }
                if (p.close()) {
                    queue.clear();
                    ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
                    return;
                }
                ctx.write(out, ctx.voidPromise());
                unflushed = true;
            }
        }

        private void stream(ChannelHandlerContext ctx, boolean close) {
            streams.increment();
            ctx.write(answers.sseHead.duplicate(), ctx.voidPromise());
            if (options.sseFirstMillis() == 0 && options.sseGapMillis() == 0) {
                for (ByteBuf e : answers.sseEvents) {
                    ctx.write(e.duplicate(), ctx.voidPromise());
                }
                unflushed = true;
                if (close) {
                    queue.clear();
                    ctx.writeAndFlush(ctx.alloc().buffer(0)).addListener(ChannelFutureListener.CLOSE);
                }
                return;
            }
            streaming = true;
            if (options.sseFirstMillis() == 0) {
                nextEvent(ctx, 0, close);
            } else {
                ctx.flush();
                ctx.executor().schedule(() -> nextEvent(ctx, 0, close), options.sseFirstMillis(),
                        TimeUnit.MILLISECONDS);
            }
        }

        /** Writes and flushes event {@code i}, then schedules the next one after the gap, or ends the stream. */
        private void nextEvent(ChannelHandlerContext ctx, int i, boolean close) {
            if (!ctx.channel().isActive()) {
                return;
            }
            ByteBuf[] events = answers.sseEvents;
            if (i < events.length - 1) {
                ctx.writeAndFlush(events[i].duplicate(), ctx.voidPromise());
                ctx.executor().schedule(() -> nextEvent(ctx, i + 1, close), options.sseGapMillis(),
                        TimeUnit.MILLISECONDS);
                return;
            }
            streaming = false;
            if (close) {
                queue.clear();
                ctx.writeAndFlush(events[i].duplicate()).addListener(ChannelFutureListener.CLOSE);
                return;
            }
            ctx.write(events[i].duplicate(), ctx.voidPromise());
            drain(ctx);
            unflushed = false;
            ctx.flush();
        }
    }

    private static String keyParam(String query) {
        for (String part : query.split("&")) {
            if (part.startsWith("key=")) {
                return part.substring(4);
            }
        }
        return null;
    }

    public static void main(String[] argv) throws Exception {
        Net.quietNetty();
        Args a = Args.parse(argv, Set.of("host", "port", "threads", "sse-events", "sse-first-ms", "sse-gap-ms",
                "rate-limited"), Set.of());
        String rl = a.get("rate-limited", "");
        Options o = new Options(a.get("host", "127.0.0.1"), a.getInt("port", 0), a.getInt("threads", 1),
                a.getInt("sse-events", 10), a.getLong("sse-first-ms", 0), a.getLong("sse-gap-ms", 2),
                rl.isBlank() ? Set.of() : Set.copyOf(List.of(rl.split(","))));
        FastUpstream up = new FastUpstream(o);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            up.close();
            stopped.countDown();
        }, "fast-upstream-stop"));
        System.out.println("FastUpstream listening on " + o.host() + ":" + up.port() + " (" + Net.name() + ", "
                + o.threads() + " thread(s), generateContent body " + up.answers.generateContentBodyBytes
                + " bytes, SSE " + o.sseEvents() + " events, first after " + o.sseFirstMillis() + " ms, gap "
                + o.sseGapMillis() + " ms, " + o.rateLimitedKeys().size() + " rate-limited key(s))");
        System.out.flush();
        stopped.await();
    }
}
