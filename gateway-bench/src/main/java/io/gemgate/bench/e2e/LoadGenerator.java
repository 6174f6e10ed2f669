package io.gemgate.bench.e2e;

import static java.util.Objects.requireNonNull;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * An HTTP/1.1 load generator on Netty: {@code connections} keep-alive connections spread over {@code threads} event
 * loops, each with one request in flight at a time, in one of two modes:
 * <ul>
 *   <li><b>closed loop</b> ({@code rate} 0): a connection sends its next request as soon as the previous answer is
 *   complete; the figure is the throughput. Latency runs from the actual send.</li>
 *   <li><b>fixed rate</b>: each connection owns {@code rate / connections} of the schedule, with intended send times
 *   fixed in advance (staggered between connections). A request leaves at its intended time, or at once when the
 *   connection is late; its latency always runs from the intended time, so a stall of the target is charged to every
 *   request it delayed (coordinated omission corrected, as wrk2 does). How late the generator itself sent is reported
 *   apart ("send lag").</li>
 * </ul>
 * SSE answers are scanned for event ends (a blank line) to record the time to the first event and the gaps between
 * events. Every run is bounded by its duration (plus the timeout for the last answers) and by {@code maxRequests}.
 *
 * <p>Requests are pre-encoded ({@link Scenario#encode}); answers are decoded by {@link HttpResponseDecoder} and
 * dropped. Latencies go to one {@link Histogram} per event loop, read at the end on their loop.
 *
 * <pre>
 * java -cp gateway-bench/target/benchmarks.jar io.gemgate.bench.e2e.LoadGenerator \
 *     --target direct=http://127.0.0.1:9000 --target gemgate=http://127.0.0.1:8080 \
 *     --scenario native --connections 64 --rate 5000 --duration 10s --warmup 3s --rounds 2
 * </pre>
 */
public final class LoadGenerator implements AutoCloseable {
    /** Latencies above this (µs) are recorded as this: one minute. */
    private static final long HIGHEST_MICROS = 60_000_000L;

    private final EventLoopGroup group;
    private final EventLoop[] loops;

    /** @param threads the generator's event loops (1 takes about one core at full load) */
    public LoadGenerator(int threads) {
        this.group = Net.group(threads, "loadgen");
        this.loops = new EventLoop[threads];
        for (int i = 0; i < threads; i++) {
            loops[i] = group.next();
        }
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /**
     * One run against one target.
     *
     * @param name        the target's name in the report
     * @param host        the target's address
     * @param port        and port
     * @param scenario    the request sent
     * @param token       the token it carries (the gateway's, or any key for an upstream)
     * @param path        a path replacing the scenario's, or null
     * @param connections keep-alive connections, each with one request in flight
     * @param rate        requests/s over all connections; 0 for closed-loop
     * @param warmup      time run first and not recorded
     * @param duration    the measured window
     * @param maxRequests the measured window also ends after this many requests
     * @param timeout     an answer not complete within this counts as a timeout and its connection is replaced
     */
    public record Spec(String name, String host, int port, Scenario scenario, String token, String path,
                       int connections, double rate, Duration warmup, Duration duration, long maxRequests,
                       Duration timeout) {
        public Spec {
            requireNonNull(name, "name");
            requireNonNull(scenario, "scenario");
            if (connections < 1) {
                throw new IllegalArgumentException("connections: " + connections + " (expected: > 0)");
            }
            if (rate < 0) {
                throw new IllegalArgumentException("rate: " + rate + " (expected: >= 0)");
            }
            if (duration.isZero() || duration.isNegative()) {
                throw new IllegalArgumentException("duration: " + duration + " (expected: > 0)");
            }
        }

        public Spec withTarget(String newName, String newHost, int newPort, Scenario newScenario) {
            return new Spec(newName, newHost, newPort, newScenario, token, path, connections, rate, warmup, duration,
                    maxRequests, timeout);
        }

        public Spec withTiming(Duration newWarmup, Duration newDuration) {
            return new Spec(name, host, port, scenario, token, path, connections, rate, newWarmup, newDuration,
                    maxRequests, timeout);
        }
    }

    /** Runs {@code spec} to its end and returns what it measured; throws when the target cannot be connected to. */
    public LoadResult run(Spec spec) throws InterruptedException {
        return new Run(spec).execute();
    }

    /** Counters of one event loop; touched only on that loop. */
    private static final class Stats {
        final Histogram latency = new Histogram(HIGHEST_MICROS, 3);
        final Histogram ttfe = new Histogram(HIGHEST_MICROS, 3);
        final Histogram gaps = new Histogram(HIGHEST_MICROS, 3);
        final Histogram sendLag = new Histogram(HIGHEST_MICROS, 3);
        final Map<Integer, Long> statuses = new HashMap<>();
        long completed;
        long ok;
        long timeouts;
        long closed;
        long events;
        long lastCompletion;

        static void record(Histogram h, long nanos) {
            h.recordValue(Math.max(0, Math.min(HIGHEST_MICROS, nanos / 1000)));
        }
    }

    private final class Run {
        final Spec spec;
        final ByteBuf request;
        final boolean fixedRate;
        final long intervalNanos;
        final long timeoutNanos;
        final Stats[] stats = new Stats[loops.length];
        final List<Conn> conns = new ArrayList<>();
        final CountDownLatch done;
        final AtomicLong issued = new AtomicLong();
        volatile boolean stopped;
        long start;
        long measureStart;
        long measureEnd;

        Run(Spec spec) {
            this.spec = spec;
            this.request = spec.scenario().encode(spec.host() + ":" + spec.port(), spec.token(), spec.path());
            this.fixedRate = spec.rate() > 0;
            this.intervalNanos = fixedRate ? Math.round(spec.connections() * 1e9 / spec.rate()) : 0;
            this.timeoutNanos = spec.timeout().toNanos();
            this.done = new CountDownLatch(spec.connections());
            for (int i = 0; i < stats.length; i++) {
                stats[i] = new Stats();
            }
        }

        LoadResult execute() throws InterruptedException {
            List<ChannelFuture> connecting = new ArrayList<>();
            for (int i = 0; i < spec.connections(); i++) {
                Conn c = new Conn(this, loops[i % loops.length], stats[i % loops.length], i);
                conns.add(c);
                connecting.add(c.connect());
            }
            for (ChannelFuture f : connecting) {
                if (!f.await(10, TimeUnit.SECONDS) || !f.isSuccess()) {
                    stopped = true;
                    closeAll();
                    throw new IllegalStateException("cannot connect to " + spec.name() + " at " + spec.host() + ":"
                            + spec.port() + ": " + (f.cause() == null ? "timeout" : f.cause().toString()));
                }
            }
            start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
            measureStart = start + spec.warmup().toNanos();
            measureEnd = measureStart + spec.duration().toNanos();
            for (Conn c : conns) {
                long first = fixedRate ? start + intervalNanos * c.index / spec.connections() : start;
                c.loop.schedule(() -> c.send(first), first - System.nanoTime(), TimeUnit.NANOSECONDS);
            }
            long waitNanos = measureEnd - System.nanoTime() + timeoutNanos + TimeUnit.SECONDS.toNanos(2);
            done.await(waitNanos, TimeUnit.NANOSECONDS);
            stopped = true;
            closeAll();
            return collect();
        }

        private void closeAll() {
            for (Conn c : conns) {
                c.loop.execute(c::stop);
            }
        }

        /** Merges the per-loop counters, each read on its own loop. */
        private LoadResult collect() throws InterruptedException {
            Histogram latency = new Histogram(HIGHEST_MICROS, 3);
            Histogram ttfe = new Histogram(HIGHEST_MICROS, 3);
            Histogram gaps = new Histogram(HIGHEST_MICROS, 3);
            Histogram lag = new Histogram(HIGHEST_MICROS, 3);
            Map<Integer, Long> statuses = new HashMap<>();
            long completed = 0;
            long ok = 0;
            long timeouts = 0;
            long closed = 0;
            long events = 0;
            long last = 0;
            for (int i = 0; i < loops.length; i++) {
                Stats s = stats[i];
                try {
                    loops[i].submit(() -> {
                        latency.add(s.latency);
                        ttfe.add(s.ttfe);
                        gaps.add(s.gaps);
                        lag.add(s.sendLag);
                        s.statuses.forEach((k, v) -> statuses.merge(k, v, Long::sum));
                    }).get(5, TimeUnit.SECONDS);
                } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                    throw new IllegalStateException("could not collect the results of loop " + i, e);
                }
                completed += s.completed;
                ok += s.ok;
                timeouts += s.timeouts;
                closed += s.closed;
                events += s.events;
                last = Math.max(last, s.lastCompletion);
            }
            long windowEnd = issued.get() > spec.maxRequests() && last > measureStart ? Math.min(last, measureEnd)
                    : measureEnd;
            double seconds = (windowEnd - measureStart) / 1e9;
            return new LoadResult(spec.name(), spec.scenario(), spec.rate(), seconds, completed, ok, statuses,
                    timeouts, closed, latency, ttfe, gaps, lag, events);
        }
    }

    /** One connection and its schedule; every field is touched on its event loop only. */
    private final class Conn {
        final Run run;
        final EventLoop loop;
        final Stats st;
        final int index;
        Channel ch;
        long intended;
        long nextIntended;
        boolean inFlight;
        boolean finished;
        boolean expectClose;
        boolean sseAnswer;
        int status;
        boolean keepAlive;
        long lastEvent;
        int eventsInAnswer;
        ScheduledFuture<?> timeout;
        private final SseEventEnds eventEnds = new SseEventEnds() {
            @Override
            void onEvent() {
                Conn.this.onEvent();
            }
        };
        private long now;

        Conn(Run run, EventLoop loop, Stats st, int index) {
            this.run = run;
            this.loop = loop;
            this.st = st;
            this.index = index;
        }

        ChannelFuture connect() {
            ChannelFuture f = new Bootstrap()
                    .group(loop)
                    .channel(Net.socketChannel())
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5_000)
                    .handler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel c) {
                            c.pipeline().addLast(new HttpResponseDecoder(new HttpDecoderConfig()
                                    .setMaxChunkSize(64 * 1024)));
                            c.pipeline().addLast(new Receiver());
                        }
                    })
                    .connect(run.spec.host(), run.spec.port());
            ch = f.channel();
            return f;
        }

        boolean measured() {
            return intended >= run.measureStart && intended < run.measureEnd;
        }

        /** Sends the request intended for {@code at} (now, or late), unless the run is over for this connection. */
        void send(long at) {
            if (finished) {
                return;
            }
            if (run.stopped || at >= run.measureEnd
                    || (at >= run.measureStart && run.issued.incrementAndGet() > run.spec.maxRequests())) {
                finish();
                return;
            }
            intended = at;
            nextIntended = at;
            if (!ch.isActive()) {
                reconnectSoon();
                return;
            }
            long sent = System.nanoTime();
            if (run.fixedRate && measured()) {
                Stats.record(st.sendLag, sent - at);
            }
            inFlight = true;
            status = 0;
            sseAnswer = false;
            eventsInAnswer = 0;
            eventEnds.reset();
            ch.writeAndFlush(run.request.duplicate(), ch.voidPromise());
            timeout = loop.schedule(this::onTimeout, run.timeoutNanos, TimeUnit.NANOSECONDS);
        }

        /** After an answer, a timeout or a reconnect: the next request of this connection's schedule. */
        void next() {
            long t = System.nanoTime();
            if (!run.fixedRate) {
                send(t);
                return;
            }
            long at = nextIntended + run.intervalNanos;
            nextIntended = at;
            if (at <= t) {
                send(at);
            } else {
                loop.schedule(() -> send(at), at - t, TimeUnit.NANOSECONDS);
            }
        }

        void onHead(HttpResponse r) {
            status = r.status().code();
            keepAlive = HttpUtil.isKeepAlive(r);
            String type = r.headers().get(HttpHeaderNames.CONTENT_TYPE);
            sseAnswer = run.spec.scenario().sse && type != null && type.startsWith("text/event-stream");
        }

        void onContent(HttpContent c) {
            if (sseAnswer) {
                now = System.nanoTime();
                c.content().forEachByte(eventEnds);
            }
            if (c instanceof LastHttpContent) {
                complete(System.nanoTime());
            }
        }

        private void onEvent() {
            if (measured()) {
                st.events++;
                if (eventsInAnswer == 0) {
                    Stats.record(st.ttfe, now - intended);
                } else {
                    Stats.record(st.gaps, now - lastEvent);
                }
            }
            lastEvent = now;
            eventsInAnswer++;
        }

        private void complete(long t) {
            if (!inFlight) {
                return;
            }
            inFlight = false;
            cancelTimeout();
            if (measured()) {
                st.completed++;
                st.lastCompletion = Math.max(st.lastCompletion, t);
                if (status >= 200 && status < 300) {
                    st.ok++;
                    Stats.record(st.latency, t - intended);
                } else {
                    st.statuses.merge(status, 1L, Long::sum);
                }
            }
            if (!keepAlive) {
                expectClose = true;
                ch.close(); // channelInactive reconnects and goes on
                return;
            }
            next();
        }

        private void onTimeout() {
            if (!inFlight) {
                return;
            }
            inFlight = false;
            if (measured()) {
                st.timeouts++;
            }
            expectClose = true;
            ch.close();
        }

        void onInactive() {
            cancelTimeout();
            if (inFlight) {
                inFlight = false;
                if (measured()) {
                    st.closed++;
                }
            }
            if (!finished && !run.stopped) {
                reconnectSoon();
            }
        }

        private void reconnectSoon() {
            if (expectClose) {
                expectClose = false;
                reconnect();
            } else {
                loop.schedule(this::reconnect, 10, TimeUnit.MILLISECONDS); // do not spin on a refusing target
            }
        }

        private void reconnect() {
            if (finished || run.stopped) {
                finish();
                return;
            }
            if (System.nanoTime() >= run.measureEnd) {
                finish();
                return;
            }
            connect().addListener(f -> {
                if (f.isSuccess()) {
                    next();
                } else {
                    if (System.nanoTime() >= run.measureStart) {
                        st.closed++;
                    }
                    // the failed channel fires no channelInactive: retry from here
                    loop.schedule(this::reconnect, 10, TimeUnit.MILLISECONDS);
                }
            });
        }

        private void cancelTimeout() {
            if (timeout != null) {
                timeout.cancel(false);
                timeout = null;
            }
        }

        private void finish() {
            if (!finished) {
                finished = true;
                run.done.countDown();
            }
        }

        /** The run is over: close, count nothing more. */
        void stop() {
            finished = true;
            cancelTimeout();
            if (ch != null) {
                ch.close();
            }
        }

        /** The pipeline's last handler; one per channel (a connection that is replaced gets a new one). */
        private final class Receiver extends ChannelInboundHandlerAdapter {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                try {
                    if (ctx.channel() != ch) {
                        return; // a replaced channel's late bytes
                    }
                    if (msg instanceof HttpResponse r) {
                        if (r.decoderResult().isFailure()) {
                            ctx.close();
                            return;
                        }
                        onHead(r);
                    }
                    if (msg instanceof HttpContent c) {
                        onContent(c);
                    }
                } finally {
                    ReferenceCountUtil.release(msg);
                }
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                if (ctx.channel() == ch) {
                    onInactive();
                }
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close();
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------ main

    /**
     * Runs one scenario against one or more targets, interleaved: {@code --rounds} rounds, each running every target
     * once (the order rotating between rounds), after one unrecorded warm-up run per target. Prints each run, then a
     * summary with medians over the rounds and the latency added over the {@code --baseline} target (default
     * {@code direct}) in the same round. Lines starting with {@code SUMMARY} are for scripts.
     */
    public static void main(String[] argv) throws Exception {
        Net.quietNetty();
        Args a = Args.parse(argv, Set.of("target", "scenario", "token", "path", "connections", "threads", "rate",
                "duration", "warmup", "rounds", "max-requests", "timeout", "baseline", "prewarm"), Set.of());
        List<String> targets = a.all("target");
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("give at least one --target name=http://127.0.0.1:PORT");
        }
        Duration warmup = a.getDuration("warmup", Duration.ofSeconds(3));
        Spec template = new Spec("", "", 0, Scenario.of(a.get("scenario", "native")), a.get("token", "bench"),
                a.get("path", null), a.getInt("connections", 32), a.getDouble("rate", 0), warmup,
                a.getDuration("duration", Duration.ofSeconds(10)), a.getLong("max-requests", 100_000_000L),
                a.getDuration("timeout", Duration.ofSeconds(10)));
        List<Spec> specs = new ArrayList<>();
        for (int i = 0; i < targets.size(); i++) {
            String t = targets.get(i);
            int eq = t.indexOf('=');
            String name = eq < 0 ? "target" + (i + 1) : t.substring(0, eq);
            URI uri = URI.create(eq < 0 ? t : t.substring(eq + 1));
            specs.add(template.withTarget(name, uri.getHost(), uri.getPort(), template.scenario()));
        }
        int rounds = a.getInt("rounds", 1);
        Duration prewarm = a.getDuration("prewarm", warmup);
        try (LoadGenerator gen = new LoadGenerator(a.getInt("threads", 1))) {
            System.out.printf("load: %s, %d connection(s), %s, %ss measured after %ss warm-up, %d round(s), %s%n",
                    template.scenario(), template.connections(), template.rate() > 0
                            ? "fixed rate " + (long) template.rate() + "/s" : "closed loop",
                    template.duration().toMillis() / 1000.0, warmup.toMillis() / 1000.0, rounds, Net.name());
            if (!prewarm.isZero()) {
                for (Spec s : specs) {
                    gen.run(s.withTiming(Duration.ZERO, prewarm));
                }
            }
            List<List<LoadResult>> results = new ArrayList<>();
            for (int r = 0; r < rounds; r++) {
                List<LoadResult> round = new ArrayList<>();
                for (int i = 0; i < specs.size(); i++) {
                    Spec s = specs.get((i + r) % specs.size());
                    LoadResult res = gen.run(s);
                    System.out.println("round " + (r + 1) + "  " + res.line());
                    round.add(res);
                }
                results.add(round);
            }
            System.out.print(Report.summary(results, a.get("baseline", "direct")));
        }
    }
}
