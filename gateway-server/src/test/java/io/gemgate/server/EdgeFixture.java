package io.gemgate.server;

import io.gemgate.core.config.ConfigLoader;
import io.gemgate.core.config.GatewayConfig;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.PoolSettings;
import io.gemgate.core.keys.QuotaCalendar;
import io.gemgate.core.metrics.GatewayEvents;
import io.gemgate.core.tokens.TokenRegistry;
import io.gemgate.server.upstream.UpstreamClient;
import io.gemgate.testing.GatewayHarness;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.flow.FlowControlHandler;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The client connection's handlers on an {@link EmbeddedChannel}, with a {@link GatewayContext} built without a
 * server (no upstream is ever called: the upstream address is a closed port, and the pool may have no key). A
 * {@link Connection} runs the real codec, flow control and {@link ClientWriter}, then the handlers under test, then a
 * sink that keeps what passed them; requests go in as bytes and answers come out as bytes, decoded for the tests.
 */
final class EdgeFixture implements AutoCloseable {
    static final String TOKEN = "edge-client-token";
    static final String ADMIN_TOKEN = "edge-admin-token";

    final GatewayContext gw;
    private final UpstreamClient upstream;
    private final List<Connection> connections = new ArrayList<>();
    /** The data directory made for this fixture, deleted by {@link #close()}. */
    private final Path dataDir;

    /**
     * A context with {@code keys} keys (0: one key, disabled, so that no key can serve) and the environment {@code env}
     * over the fixture's defaults.
     */
    EdgeFixture(int keys, Map<String, String> env, Supplier<String> metricsText) {
        Map<String, String> e = new HashMap<>();
        e.put("GEMGATE_TOKEN", TOKEN);
        e.put("GEMGATE_UPSTREAM", "http://127.0.0.1:9");
        try {
            dataDir = Files.createTempDirectory("gemgate-edge-");
        } catch (IOException x) {
            throw new UncheckedIOException(x);
        }
        e.put("GEMGATE_DATA_DIR", dataDir.toString());
        e.putAll(env);
        GatewayConfig cfg = ConfigLoader.load(null, e);
        KeyPool pool = new KeyPool(GatewayHarness.specs(Math.max(1, keys)), PoolSettings.from(cfg.pool()),
                new QuotaCalendar(cfg.pool().quotaResetZone()), System::currentTimeMillis);
        if (keys == 0) {
            pool.setEnabled(pool.keys().get(0).id(), false);
        }
        try {
            upstream = new UpstreamClient(cfg.upstream(), null);
        } catch (javax.net.ssl.SSLException x) {
            throw new IllegalStateException(x);
        }
        gw = new GatewayContext(cfg, pool, upstream, new OpenAiSupport(Clock.systemUTC(), Duration.ofSeconds(10)),
                GatewayEvents.NOOP, metricsText, new TokenRegistry(System::currentTimeMillis, new SecureRandom()),
                System::currentTimeMillis);
    }

    EdgeFixture(int keys, Map<String, String> env) {
        this(keys, env, null);
    }

    /**
     * A connection whose pipeline is the codec, flow control, the writer, the handlers named (in
     * {@link PipelineNames}' order, whatever the order given) and a sink.
     */
    Connection open(String... steps) {
        Connection c = new Connection(List.of(steps));
        connections.add(c);
        return c;
    }

    @Override
    public void close() {
        for (Connection c : connections) {
            c.close();
        }
        upstream.close();
        try (Stream<Path> paths = Files.walk(dataDir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException x) {
            throw new UncheckedIOException(x);
        }
    }

    /** One client connection. */
    final class Connection {
        final EmbeddedChannel ch;
        final ServerCodec codec;
        final ClientRequest request = new ClientRequest();
        final ClientWriter writer;
        /** What passed every handler under test, in order (released at the end). */
        final List<Object> passed = new ArrayList<>();
        private final List<FullHttpResponse> answers = new ArrayList<>();
        private final EmbeddedChannel decoder = new EmbeddedChannel(new HttpResponseDecoder(),
                new HttpObjectAggregator(1 << 20));
        private final StringBuilder text = new StringBuilder();

        private Connection(List<String> steps) {
            ch = new EmbeddedChannel(false, false);
            ch.config().setAutoRead(false);
            var s = gw.config().server();
            codec = new ServerCodec(new io.netty.handler.codec.http.HttpDecoderConfig()
                    .setMaxInitialLineLength(s.maxInitialLineBytes())
                    .setMaxHeaderSize(s.maxHeaderBytes())
                    .setMaxChunkSize(64 * 1024));
            writer = new ClientWriter(gw, codec, request);
            ch.pipeline().addLast(PipelineNames.CONNECTIONS, new ChannelInboundHandlerAdapter());
            ch.pipeline().addLast(PipelineNames.CODEC, codec);
            ch.pipeline().addLast(PipelineNames.FLOW, new FlowControlHandler());
            ch.pipeline().addLast(PipelineNames.WRITER, writer);
            add(steps, PipelineNames.FRAMING, () -> new FramingHandler(gw, writer, request, codec));
            add(steps, PipelineNames.CORS, () -> new CorsHandler(gw, writer, request));
            add(steps, PipelineNames.LOCAL, () -> new LocalHandler(gw, writer, request));
            add(steps, PipelineNames.ROUTING, () -> new RoutingHandler(gw, writer, request));
            add(steps, PipelineNames.AUTH, () -> new AuthHandler(gw, writer, request));
            add(steps, PipelineNames.BODY, () -> new BodyHandler(gw, writer, request));
            add(steps, PipelineNames.EXCHANGE, () -> new ExchangeHandler(gw, writer, request));
            ch.pipeline().addLast("sink", new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    passed.add(msg);
                }
            });
            try {
                ch.register();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        private void add(List<String> steps, String name, Supplier<ChannelHandler> handler) {
            if (steps.contains(name)) {
                ch.pipeline().addLast(name, handler.get());
            }
        }

        /** Sends bytes as the client; runs what they cause. */
        Connection send(String bytes) {
            ch.writeInbound(Unpooled.copiedBuffer(bytes, StandardCharsets.ISO_8859_1));
            ch.runPendingTasks();
            return this;
        }

        /** The answers written so far, decoded (not for answers to HEAD: see {@link #text()}). */
        List<FullHttpResponse> answers() {
            drain();
            return answers;
        }

        /** The one answer written so far. */
        FullHttpResponse answer() {
            List<FullHttpResponse> a = answers();
            if (a.size() != 1) {
                throw new AssertionError("expected one answer, got " + a.size() + ": " + text);
            }
            return a.get(0);
        }

        /** Everything written to the socket so far, as text. */
        String text() {
            drain();
            return text.toString();
        }

        private void drain() {
            ch.runPendingTasks();
            ByteBuf b;
            while ((b = ch.readOutbound()) != null) {
                text.append(b.toString(StandardCharsets.ISO_8859_1));
                decoder.writeInbound(b);
            }
            Object m;
            while ((m = decoder.readInbound()) != null) {
                answers.add((FullHttpResponse) m);
            }
        }

        boolean isOpen() {
            return ch.isOpen();
        }

        /** Runs the connection's timers until {@code done} holds, for at most {@code timeout}. */
        void awaitTimers(BooleanSupplier done, Duration timeout) {
            long end = System.nanoTime() + timeout.toNanos();
            while (!done.getAsBoolean()) {
                if (System.nanoTime() - end > 0) {
                    throw new AssertionError("not done within " + timeout);
                }
                ch.runScheduledPendingTasks();
                ch.runPendingTasks();
                java.util.concurrent.locks.LockSupport.parkNanos(2_000_000); // a poll: the timers run on real time
            }
        }

        private void close() {
            drain();
            for (FullHttpResponse r : answers) {
                r.release();
            }
            answers.clear();
            for (Object m : passed) {
                ReferenceCountUtil.release(m instanceof ClientRequest r ? r.takeBody() : m);
            }
            passed.clear();
            ch.finishAndReleaseAll();
            decoder.finishAndReleaseAll();
        }
    }
}
