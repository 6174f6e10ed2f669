package io.gemgate.bench.e2e;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * The soak (gateway-bench/README.md, "Soak"; the target in README, "Benchmarks": 10,000 SSE streams with a bounded
 * heap): {@code streams} SSE streams opened through one gateway to the {@link FastUpstream}, which keeps each one open
 * with an event every {@code gap}; held for {@code hold}, then closed by the client. The gateway is measured before
 * (after a small warm-up soak, so that first-use allocations are not counted as growth), during (at the end of the
 * hold, streams open) and after (streams closed): heap used after a full GC ({@code jcmd GC.run}, then
 * {@code jvm_memory_used_bytes} from its {@code /metrics}), Netty's direct memory, RSS ({@code /proc/PID/status}), open
 * file descriptors ({@code /proc/PID/fd}) and client connections. Reported: streams opened and failed (by reason),
 * streams dropped or stalled during the hold, warnings and errors in the gateway's log.
 *
 * <p><b>Verdict.</b> Passed when every stream opened and lived through the hold, the gateway logged no warning or
 * error, its heap after is within {@link #HEAP_MARGIN_BYTES} of before, its file descriptors came back to within
 * {@link #FD_MARGIN} of before, and the upstream sees no connection left open.
 *
 * <p><b>File descriptors.</b> The gateway holds two per stream (the client's connection and the upstream's) on top of
 * what it has open at rest; the load generator and the upstream one each. The number of streams is capped so that
 * every process stays {@link #FD_RESERVE} below its open-files limit, and the cap is printed: with the usual hard limit
 * of 20,000 ({@code ulimit -Hn}) 10,000 streams do not fit in one gateway, about 9,700 do.
 */
final class Soak {
    /** File descriptors left free in every process: log files, jars, a {@code /metrics} scrape, the JIT's files. */
    static final int FD_RESERVE = 500;
    /** Heap growth from before to after (both after a full GC) that still counts as "no growth". */
    static final long HEAP_MARGIN_BYTES = 8L << 20;
    /** File descriptors the gateway may hold after the soak beyond those it held before. */
    static final int FD_MARGIN = 16;

    /**
     * @param streams         streams asked for (capped by the file-descriptor limits)
     * @param hold            how long all of them stay open
     * @param gap             the upstream's interval between events (to judge "stalled")
     * @param openConcurrency streams being opened at once (connect, request, first event)
     * @param warmupStreams   streams opened and closed before the "before" measurement
     */
    record Options(int streams, Duration hold, Duration gap, int openConcurrency, int warmupStreams) {
    }

    private final Options options;
    private final int gatewayPort;
    private final ChildProcess gateway;
    private final ChildProcess upstream;
    private final int upstreamPort;
    private final String token;
    private final List<String> failures = new ArrayList<>();

    Soak(Options options, int gatewayPort, ChildProcess gateway, int upstreamPort, ChildProcess upstream,
         String token) {
        this.options = options;
        this.gatewayPort = gatewayPort;
        this.gateway = gateway;
        this.upstreamPort = upstreamPort;
        this.upstream = upstream;
        this.token = token;
    }

    /** The most streams the open-files limits of the gateway, the upstream and this process allow together. */
    static int maxStreams(long gatewayPid, long upstreamPid) throws IOException {
        long self = ProcessHandle.current().pid();
        long gw = (fdLimit(gatewayPid) - fds(gatewayPid) - FD_RESERVE) / 2;
        long up = fdLimit(upstreamPid) - fds(upstreamPid) - FD_RESERVE;
        long me = fdLimit(self) - fds(self) - FD_RESERVE;
        return (int) Math.max(0, Math.min(gw, Math.min(up, me)));
    }

    /** Runs the soak and prints its report; true when it passed. */
    boolean run() throws Exception {
        long gwPid = gateway.pid();
        int max = maxStreams(gwPid, upstream.pid());
        int n = Math.min(options.streams(), max);
        System.out.printf(Locale.ROOT, "soak: %d SSE stream(s) through one gateway (pid %d), held %s, an upstream event"
                        + " every %d ms%n", n, gwPid, seconds(options.hold()), options.gap().toMillis());
        System.out.printf(Locale.ROOT, "open files: gateway limit %d (%d open now), upstream limit %d, load generator "
                        + "limit %d; the gateway holds 2 per stream (client + upstream connection), so at most %d "
                        + "stream(s) fit with %d spare%s%n", fdLimit(gwPid), fds(gwPid), fdLimit(upstream.pid()),
                fdLimit(ProcessHandle.current().pid()), max, FD_RESERVE,
                n < options.streams() ? String.format(Locale.ROOT, ": %d asked, running %d", options.streams(), n)
                        : "");
        try (Client client = new Client()) {
            if (options.warmupStreams() > 0) {
                Wave w = client.open(Math.min(options.warmupStreams(), n));
                w.close();
                awaitQuiet(Integer.MAX_VALUE);
            }
            Sample before = measure("before", 0);
            long logOffset = Files.size(gateway.log());
            System.out.println();
            System.out.printf("%-22s %8s %10s %10s %9s %7s %9s %9s%n", "", "streams", "heap MiB", "direct MiB",
                    "RSS MiB", "fds", "gw conns", "upstream");
            System.out.println(before.line());

            long t0 = System.nanoTime();
            Wave wave = client.open(n);
            double openSeconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT, "opened %d of %d in %.1f s; failed %d%s%n", wave.opened.sum(), n,
                    openSeconds, wave.failed(), wave.failed() == 0 ? "" : " " + wave.failures());

            long holdEnd = System.nanoTime() + options.hold().toNanos();
            long step = Math.max(1_000_000_000L, Math.min(10_000_000_000L, options.hold().toNanos() / 4));
            while (System.nanoTime() + step < holdEnd) {
                Thread.sleep(step / 1_000_000);
                System.out.println(sample(String.format(Locale.ROOT, "hold +%.0fs", (System.nanoTime() - t0) / 1e9
                        - openSeconds), wave.live()).line());
            }
            Thread.sleep(Math.max(0, (holdEnd - System.nanoTime()) / 1_000_000));
            long stalled = wave.stalled(3 * options.gap().toNanos());
            Sample during = measure("end of hold (GC)", wave.live());
            System.out.println(during.line());
            long dropped = wave.dropped.sum();

            long c0 = System.nanoTime();
            wave.close();
            boolean quiet = awaitQuiet(before.fds);
            Sample after = measure(String.format(Locale.ROOT, "after (GC, %.1f s)", (System.nanoTime() - c0) / 1e9),
                    0);
            System.out.println(after.line());

            List<String> logged = loggedProblems(gateway.log(), logOffset);
            System.out.println();
            long ended = wave.endedEarly.sum();
            System.out.printf(Locale.ROOT, "streams: opened %d, failed %d, dropped during the hold %d, ended by the "
                            + "server %d, stalled (no event in the last %d ms) %d; events received %d (%.1f per "
                            + "stream)%n", wave.opened.sum(), wave.failed(), dropped, ended,
                    3 * options.gap().toMillis(), stalled, wave.events.sum(),
                    wave.opened.sum() == 0 ? 0.0 : (double) wave.events.sum() / wave.opened.sum());
            if (wave.opened.sum() > 0) {
                System.out.printf(Locale.ROOT, "per open stream, at the end of the hold: heap %.1f KiB, RSS %.1f KiB, "
                                + "direct %.1f KiB%n", (during.heap - before.heap) / 1024.0 / wave.opened.sum(),
                        (during.rssKiB - before.rssKiB) / (double) wave.opened.sum(),
                        (during.direct - before.direct) / 1024.0 / wave.opened.sum());
            }
            System.out.printf(Locale.ROOT, "gateway log: %d warning(s) or error(s)%s%n", logged.size(),
                    logged.isEmpty() ? "" : ", first: " + String.join(" | ", logged.subList(0, Math.min(3,
                            logged.size()))));
            long heapGrowth = after.heap - before.heap;
            System.out.printf(Locale.ROOT, "heap after - before: %+.1f MiB (margin %d MiB); fds after - before: %+d "
                            + "(margin %d); RSS after - before: %+.1f MiB (not judged: the JVM keeps the heap it "
                            + "has committed)%n", heapGrowth / 1048576.0, HEAP_MARGIN_BYTES >> 20,
                    after.fds - before.fds, FD_MARGIN, (after.rssKiB - before.rssKiB) / 1024.0);

            check(n == options.streams(), "ran " + n + " of the " + options.streams() + " streams asked for (open-files"
                    + " limit)", false);
            check(wave.opened.sum() == n, (n - wave.opened.sum()) + " stream(s) did not open", true);
            check(dropped == 0, dropped + " stream(s) dropped during the hold", true);
            check(ended == 0, ended + " stream(s) ended by the server during the hold", true);
            check(stalled == 0, stalled + " stream(s) stalled during the hold", true);
            check(logged.isEmpty(), logged.size() + " warning(s) or error(s) in the gateway's log", true);
            check(heapGrowth <= HEAP_MARGIN_BYTES, String.format(Locale.ROOT, "heap grew by %.1f MiB",
                    heapGrowth / 1048576.0), true);
            check(quiet, "file descriptors or connections not released: gateway fds " + after.fds + " (before "
                    + before.fds + "), upstream connections " + after.upstreamOpen, true);
        }
        System.out.println(failures.isEmpty() ? "SOAK passed" : "SOAK FAILED: " + String.join("; ", failures));
        return failures.isEmpty();
    }

    private void check(boolean ok, String problem, boolean fails) {
        if (!ok) {
            if (fails) {
                failures.add(problem);
            } else {
                System.out.println("note: " + problem);
            }
        }
    }

    /**
     * Waits (up to 30 s) until the gateway holds at most {@code fds} + {@link #FD_MARGIN} file descriptors, no client
     * connection but the probe's, and the upstream no connection but the probe's.
     */
    private boolean awaitQuiet(int fds) throws Exception {
        return poll(() -> {
            try {
                Map<String, Double> m = metrics(false);
                return fds(gateway.pid()) <= (long) fds + FD_MARGIN && m.getOrDefault("conns", 0.0) <= 1
                        && upstreamOpen() <= 1;
            } catch (IOException e) {
                return false;
            }
        }, 30_000);
    }

    private static boolean poll(BooleanSupplier done, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (true) {
            if (done.getAsBoolean()) {
                return true;
            }
            if (System.currentTimeMillis() >= deadline) {
                return false;
            }
            Thread.sleep(200);
        }
    }

    // ------------------------------------------------------------------------------------------ measurements

    /** One measurement of the gateway. Heap and direct in bytes (NaN-free: 0 when not measured). */
    private record Sample(String label, long streams, long heap, long direct, long rssKiB, int fds, long conns,
                          long upstreamOpen, boolean gc) {
        String line() {
            return String.format(Locale.ROOT, "%-22s %8d %10s %10.1f %9.1f %7d %9d %9d", label, streams,
                    gc ? String.format(Locale.ROOT, "%.1f", heap / 1048576.0) : "-", direct / 1048576.0,
                    rssKiB / 1024.0, fds, conns, upstreamOpen);
        }
    }

    /** After a full GC of the gateway. */
    private Sample measure(String label, long streams) throws Exception {
        Path jcmd = Path.of(ChildProcess.javaBinary()).resolveSibling("jcmd");
        Process p = new ProcessBuilder(jcmd.toString(), String.valueOf(gateway.pid()), "GC.run")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException(jcmd + " " + gateway.pid() + " GC.run failed");
        }
        return sample(label, streams, true);
    }

    private Sample sample(String label, long streams) throws IOException {
        return sample(label, streams, false);
    }

    private Sample sample(String label, long streams, boolean gc) throws IOException {
        Map<String, Double> m = metrics(true);
        long pid = gateway.pid();
        return new Sample(label, streams, m.getOrDefault("heap", 0.0).longValue(),
                m.getOrDefault("direct", 0.0).longValue(), rssKiB(pid), fds(pid),
                m.getOrDefault("conns", 0.0).longValue() - 1, upstreamOpen() - 1, gc);
    }

    /**
     * The gateway's heap used (all heap pools), Netty's direct memory and its open client connections (this scrape's
     * included), from {@code /metrics}.
     */
    private Map<String, Double> metrics(boolean memory) throws IOException {
        String text = ChildProcess.get(gatewayPort, "/metrics");
        if (!text.startsWith("HTTP/1.1 200") && !text.startsWith("HTTP/1.0 200")) {
            throw new IOException("GET /metrics on the gateway failed: "
                    + text.lines().findFirst().orElse("no answer"));
        }
        Map<String, Double> m = new TreeMap<>();
        for (String line : (Iterable<String>) text.lines()::iterator) {
            if (memory && line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
                m.merge("heap", value(line), Double::sum);
            } else if (memory && line.startsWith("netty_allocator_memory_used{")
                    && line.contains("memory_type=\"direct\"")) {
                m.merge("direct", value(line), Double::sum);
            } else if (line.startsWith("gemgate_connections_open ")) {
                m.put("conns", value(line));
            }
        }
        return m;
    }

    private static double value(String line) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
    }

    /** The upstream's open connections, this query's included. */
    private long upstreamOpen() {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"open\":(\\d+)")
                .matcher(ChildProcess.get(upstreamPort, "/stats"));
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    static long rssKiB(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        throw new IOException("no VmRSS in /proc/" + pid + "/status");
    }

    static int fds(long pid) throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc", String.valueOf(pid), "fd"))) {
            return (int) s.count();
        }
    }

    /** The soft limit on open files of a process ({@code ulimit -n} as it started). */
    static long fdLimit(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "limits"))) {
            if (line.startsWith("Max open files")) {
                return Long.parseLong(line.substring("Max open files".length()).trim().split("\\s+")[0]);
            }
        }
        throw new IOException("no open-files limit in /proc/" + pid + "/limits");
    }

    /** Lines of the gateway's log from {@code offset} on with WARN or ERROR (the bench's pattern: level second). */
    private static List<String> loggedProblems(Path log, long offset) throws IOException {
        byte[] all = Files.readAllBytes(log);
        String text = new String(all, (int) Math.min(offset, all.length), (int) Math.max(0, all.length - offset),
                StandardCharsets.UTF_8);
        return text.lines().filter(l -> l.contains(" WARN ") || l.contains(" ERROR ")).toList();
    }

    private static String seconds(Duration d) {
        return String.format(Locale.ROOT, "%.0fs", d.toMillis() / 1000.0);
    }

    // ------------------------------------------------------------------------------------------------ client

    /** The streams' client: Netty, one or two event loops; each stream one connection. */
    private final class Client implements AutoCloseable {
        private final EventLoopGroup group = Net.group(Math.min(2, Runtime.getRuntime().availableProcessors()),
                "soak");
        private final io.netty.buffer.ByteBuf request = Scenario.NATIVE_SSE.encode("127.0.0.1:" + gatewayPort, token,
                null);

        /** Opens {@code n} streams, at most {@code openConcurrency} at a time, and returns once each opened or failed. */
        Wave open(int n) throws InterruptedException {
            Wave w = new Wave(n);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60 + n / 50);
            for (int i = 0; i < n; i++) {
                if (!w.permits.tryAcquire(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) {
                    w.fail("not attempted: opening took too long", n - i);
                    break;
                }
                w.streams.add(new SoakStream(w).connect());
            }
            if (!w.permits.tryAcquire(options.openConcurrency(), Math.max(0, deadline - System.nanoTime()),
                    TimeUnit.NANOSECONDS)) {
                System.out.println("note: some streams neither opened nor failed before the deadline");
            } else {
                w.permits.release(options.openConcurrency());
            }
            return w;
        }

        @Override
        public void close() {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }

        /** One stream, on its connection's event loop. */
        private final class SoakStream extends ChannelInboundHandlerAdapter {
            private final Wave wave;
            private final SseEventEnds ends = new SseEventEnds() {
                @Override
                void onEvent() {
                    wave.events.increment();
                    lastEvent = System.nanoTime();
                    if (!opened) {
                        opened = true;
                        wave.opened.increment();
                        wave.live.increment();
                        settle(null);
                    }
                }
            };
            private Channel ch;
            private ScheduledFuture<?> openTimeout;
            private boolean settled;
            private volatile boolean opened;
            private volatile boolean closing;
            private volatile boolean inactive;
            volatile long lastEvent;

            SoakStream(Wave wave) {
                this.wave = wave;
            }

            SoakStream connect() {
                ChannelFuture f = new Bootstrap().group(group).channel(Net.socketChannel())
                        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                        .handler(new ChannelInitializer<Channel>() {
                            @Override
                            protected void initChannel(Channel c) {
                                c.pipeline().addLast(new HttpResponseDecoder(new HttpDecoderConfig()));
                                c.pipeline().addLast(SoakStream.this);
                            }
                        })
                        .connect("127.0.0.1", gatewayPort);
                ch = f.channel();
                f.addListener(done -> {
                    if (!done.isSuccess()) {
                        settle("connect: " + done.cause().getClass().getSimpleName());
                        return;
                    }
                    openTimeout = ch.eventLoop().schedule(() -> {
                        settle("no first event within 30 s");
                        ch.close();
                    }, 30, TimeUnit.SECONDS);
                    ch.writeAndFlush(request.duplicate(), ch.voidPromise());
                });
                return this;
            }

            /** The stream opened (reason null) or failed: counted once, and its opening slot freed. */
            private void settle(String failure) {
                if (settled) {
                    return;
                }
                settled = true;
                if (openTimeout != null) {
                    openTimeout.cancel(false);
                }
                if (failure != null) {
                    wave.fail(failure, 1);
                }
                wave.permits.release();
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                try {
                    if (msg instanceof HttpResponse r && r.status().code() != 200) {
                        settle("status " + r.status().code());
                        ctx.close();
                        return;
                    }
                    if (msg instanceof HttpContent c) {
                        c.content().forEachByte(ends);
                        if (c instanceof LastHttpContent && !closing) {
                            wave.endedEarly.increment();
                        }
                    }
                } finally {
                    ReferenceCountUtil.release(msg);
                }
            }

            boolean isLive() {
                return opened && !inactive;
            }

            /** Closes the stream from the client side (any thread). */
            ChannelFuture close() {
                closing = true;
                return ch.close();
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                inactive = true;
                settle("closed before the first event");
                if (opened) {
                    wave.live.decrement();
                    if (!closing) {
                        wave.dropped.increment();
                    }
                }
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close();
            }
        }
    }

    /** Streams opened together, and their counters (updated on the event loops, read by the main thread). */
    private final class Wave {
        final List<Client.SoakStream> streams;
        /** Free opening slots: taken before a connect, given back when the stream has opened or failed. */
        final Semaphore permits = new Semaphore(options.openConcurrency());
        final LongAdder opened = new LongAdder();
        final LongAdder live = new LongAdder();
        final LongAdder events = new LongAdder();
        final LongAdder dropped = new LongAdder();
        final LongAdder endedEarly = new LongAdder();
        final ConcurrentMap<String, LongAdder> failures = new ConcurrentHashMap<>();

        Wave(int n) {
            this.streams = new ArrayList<>(n);
        }

        void fail(String reason, long n) {
            failures.computeIfAbsent(reason, k -> new LongAdder()).add(n);
        }

        long failed() {
            return failures.values().stream().mapToLong(LongAdder::sum).sum();
        }

        String failures() {
            Map<String, Long> m = new TreeMap<>();
            failures.forEach((k, v) -> m.put(k, v.sum()));
            return m.toString();
        }

        /** Streams open now (opened and not closed). */
        long live() {
            return live.sum();
        }

        /** Open streams whose last event is older than {@code nanos}. */
        long stalled(long nanos) {
            long now = System.nanoTime();
            return streams.stream().filter(s -> s.isLive() && now - s.lastEvent > nanos).count();
        }

        /** Closes every stream from the client side and waits (up to 30 s) until each connection is closed. */
        void close() throws InterruptedException {
            List<ChannelFuture> closing = new ArrayList<>(streams.size());
            for (Client.SoakStream s : streams) {
                closing.add(s.close());
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            for (ChannelFuture f : closing) {
                if (!f.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    System.out.println("note: client connections still closing after 30 s");
                    return;
                }
            }
        }
    }
}
