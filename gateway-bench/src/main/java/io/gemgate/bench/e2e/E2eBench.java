package io.gemgate.bench.e2e;

import io.gemgate.core.config.ConfigLoader;
import io.gemgate.core.keys.KeySpec;
import io.gemgate.server.GatewayServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The end-to-end benchmark (docs/benchmarks.md): a {@link FastUpstream}, Gemgate in front of it, and the {@link
 * LoadGenerator} driving both, scenario by scenario. Each scenario runs {@code --rounds} rounds; a round runs the
 * scenario straight against the upstream ("direct") and through the gateway ("gemgate"), in alternating order, and the
 * summary gives the medians over the rounds of the gateway's throughput ratio to direct and the latency it adds at p50,
 * p99 and p99.9. OpenAI scenarios are compared with the native call that returns the same answer directly; the failover
 * scenario with a direct native call made with a good key.
 *
 * <p><b>Processes.</b> By default the upstream and the gateway each run in their own JVM ({@code java -jar
 * gateway-server/target/gemgate.jar}, as users run it), and this JVM only generates load. On a small machine that is
 * the honest setup: each server has its own heap, GC and JIT, and the operating system schedules three processes as it
 * would in production. {@code --inproc} starts both in this JVM instead ({@link GatewayServer#builder}); quicker to
 * start, but the three share one heap and their garbage collections pause each other.
 *
 * <p><b>Proxy scenario.</b> A third gateway holds the same good keys with {@code upstream.proxies} set to one
 * {@code tinyproxy} (Debian's HTTP CONNECT proxy, started here on a free port with its own config; {@code
 * --tinyproxy /path} to name the binary); its runs are compared with the plain gateway's ("gemgate"), not with direct,
 * so the ratio and the added latency are those of the proxy hop. The proxy is a process of its own on the same cores.
 *
 * <p><b>Failover scenario.</b> A second gateway holds {@code --keys} good keys and as many that the upstream answers
 * with a per-minute 429 (RetryInfo 1 s) every time. The gateway cools such a key for the RetryInfo delay after each
 * 429, so it routes around them; each bad key costs one failed attempt per second when its cooldown ends. The upstream's
 * 429 count during the gateway's runs is printed.
 *
 * <pre>
 * java -cp gateway-bench/target/benchmarks.jar io.gemgate.bench.e2e.E2eBench                # every scenario
 * java -cp gateway-bench/target/benchmarks.jar io.gemgate.bench.e2e.E2eBench --scenario native --rate 5000
 * java -cp gateway-bench/target/benchmarks.jar io.gemgate.bench.e2e.E2eBench --scenario soak --streams 1000 --hold 10s
 * </pre>
 * Options: {@code --scenario} (all, or a comma list of native, native-sse, openai, openai-stream, failover, proxy),
 * {@code --duration 10s}, {@code --warmup 3s}, {@code --rounds 2}, {@code --connections 32}, {@code --rate 0}
 * (closed loop; else requests/s), {@code --threads 1} (load generator loops), {@code --keys 10},
 * {@code --sse-events 10}, {@code --sse-gap-ms 2}, {@code --upstream-threads 1}, {@code --gateway-threads 0} (0: the
 * gateway's default), {@code --gateway-jar gateway-server/target/gemgate.jar}, {@code --gateway-jvm-opts "..."},
 * {@code --jfr} (record the gateway with Java Flight Recorder), {@code --access-log} (the gateway writes its access log
 * to a file, as it does by default; off otherwise), {@code --inproc}, {@code --keep} (keep the work directory with the
 * logs), {@code --max-requests}, {@code --timeout 10s}.
 *
 * <p><b>Soak.</b> {@code --scenario soak} runs {@link Soak} instead, alone: {@code --streams 10000} (capped by the
 * open-files limits, and the cap printed), {@code --hold 60s}, {@code --sse-gap-ms 2000} (the upstream's interval
 * between events), {@code --open-concurrency 200}, {@code --soak-warmup-streams 100}. The exit code is 1 when it
 * fails.
 */
public final class E2eBench {
    private static final String TOKEN = "bench-token";
    private static final Pattern UPSTREAM_READY = Pattern.compile("FastUpstream listening on 127\\.0\\.0\\.1:(\\d+)");

    private final Args args;
    private final Path work;
    private final List<AutoCloseable> started = new ArrayList<>();

    private E2eBench(Args args, Path work) {
        this.args = args;
        this.work = work;
    }

    public static void main(String[] argv) throws Exception {
        Args a = Args.parse(argv, Set.of("scenario", "duration", "warmup", "rounds", "connections", "rate", "threads",
                "keys", "sse-events", "sse-gap-ms", "upstream-threads", "gateway-threads", "gateway-jar",
                "gateway-jvm-opts", "jfr", "access-log", "inproc", "keep", "max-requests", "timeout", "streams", "hold",
                "open-concurrency", "soak-warmup-streams", "tinyproxy"), Set.of("jfr", "access-log", "inproc", "keep"));
        Path work = Files.createTempDirectory("gemgate-e2e-");
        if (a.flag("inproc")) {
            // Before the first logger exists (Netty's first class creates one): the gateway's access log off (or to a
            // file), only warnings on the console.
            System.setProperty("log4j2.configurationFile", writeLogConfig(work, a.flag("access-log")).toString());
        }
        Net.quietNetty();
        E2eBench bench = new E2eBench(a, work);
        boolean passed = true;
        try {
            if (a.get("scenario", "all").equals("soak")) {
                passed = bench.soak();
            } else {
                bench.run();
            }
        } finally {
            bench.stopAll();
            if (a.flag("keep")) {
                System.out.println("work directory kept: " + work);
            } else {
                deleteTree(work);
            }
        }
        if (!passed) {
            System.exit(1);
        }
    }

    private void run() throws Exception {
        List<Scenario> scenarios = scenarios(args.get("scenario", "all"));
        int keys = args.getInt("keys", 10);
        List<String> good = new ArrayList<>();
        List<String> limited = new ArrayList<>();
        for (int i = 0; i < keys; i++) {
            good.add(String.format(Locale.ROOT, "AIzaSyBenchGood%024d", i));
            limited.add(String.format(Locale.ROOT, "AIzaSyBenchRateLimited%017d", i));
        }
        Upstream upstream = startUpstream(args.getInt("sse-events", 10), args.getLong("sse-gap-ms", 2), limited);
        boolean failover = scenarios.contains(Scenario.FAILOVER);
        boolean proxied = scenarios.contains(Scenario.PROXY);
        boolean plain = scenarios.stream().anyMatch(s -> s != Scenario.FAILOVER);
        int gateway = plain ? startGateway("gemgate", upstream.port(), good, Map.of()).port() : -1;
        List<String> mixed = new ArrayList<>();
        for (int i = 0; i < keys; i++) {
            mixed.add(good.get(i));
            mixed.add(limited.get(i));
        }
        int failoverGateway = failover ? startGateway("gemgate-failover", upstream.port(), mixed, Map.of()).port()
                : -1;
        int proxyGateway = proxied ? startGateway("gemgate-proxy", upstream.port(), good,
                Map.of("GEMGATE_UPSTREAM_PROXIES", "http://127.0.0.1:" + startTinyproxy())).port() : -1;

        Duration warmup = args.getDuration("warmup", Duration.ofSeconds(3));
        Duration duration = args.getDuration("duration", Duration.ofSeconds(10));
        int rounds = args.getInt("rounds", 2);
        double rate = args.getDouble("rate", 0);
        LoadGenerator.Spec template = new LoadGenerator.Spec("", "127.0.0.1", 0, Scenario.NATIVE, TOKEN, null,
                args.getInt("connections", 32), rate, warmup, duration, args.getLong("max-requests", 100_000_000L),
                args.getDuration("timeout", Duration.ofSeconds(10)));
        System.out.printf(Locale.ROOT, "e2e: %s, %d connection(s), %s, %.1fs measured after %.1fs warm-up, %d round(s);"
                        + " %d CPU(s), %s %s; upstream and gateway %s%n", scenarios, template.connections(),
                rate > 0 ? "fixed rate " + (long) rate + "/s" : "closed loop", duration.toMillis() / 1000.0,
                warmup.toMillis() / 1000.0, rounds, Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.vm.name"), System.getProperty("java.version"),
                args.flag("inproc") ? "in this JVM" : "in their own JVMs");

        List<Report.Row> summaries = new ArrayList<>();
        try (LoadGenerator gen = new LoadGenerator(args.getInt("threads", 1))) {
            for (Scenario s : scenarios) {
                int gwPort = s == Scenario.FAILOVER ? failoverGateway : s == Scenario.PROXY ? proxyGateway : gateway;
                String directToken = good.get(0);
                // The proxy scenario's baseline is the gateway going direct: the figures are the proxy hop's.
                String baseline = s == Scenario.PROXY ? "gemgate" : "direct";
                LoadGenerator.Spec direct = s == Scenario.PROXY
                        ? template.withTarget("gemgate", "127.0.0.1", gateway, Scenario.NATIVE)
                        : new LoadGenerator.Spec("direct", "127.0.0.1", upstream.port(),
                        s.directEquivalent(), directToken, null, template.connections(), rate, warmup, duration,
                        template.maxRequests(), template.timeout());
                LoadGenerator.Spec through = template.withTarget(s == Scenario.PROXY ? "gemgate-proxy" : "gemgate",
                        "127.0.0.1", gwPort, s);
                System.out.printf("%n== %s ==%n", s);
                // One unrecorded run each: JIT and connection pools warm before the first measured round.
                gen.run(direct.withTiming(Duration.ZERO, warmup));
                gen.run(through.withTiming(Duration.ZERO, warmup));
                List<List<LoadResult>> results = new ArrayList<>();
                long limitedBefore = upstream.rateLimited();
                double gatewaySeconds = 0;
                for (int r = 0; r < rounds; r++) {
                    List<LoadResult> round = new ArrayList<>();
                    for (LoadGenerator.Spec spec : r % 2 == 0 ? List.of(direct, through) : List.of(through, direct)) {
                        LoadResult res = gen.run(spec);
                        System.out.println("round " + (r + 1) + "  " + res.line());
                        round.add(res);
                        if (spec == through) {
                            gatewaySeconds += res.seconds() + warmup.toMillis() / 1000.0;
                        }
                    }
                    results.add(round);
                }
                if (s == Scenario.FAILOVER) {
                    long n = upstream.rateLimited() - limitedBefore;
                    System.out.printf(Locale.ROOT, "upstream answered %d 429s to the gateway during its runs (%.1f/s "
                            + "for %d rate-limited keys: each is tried again when its 1 s cooldown ends)%n", n,
                            n / Math.max(gatewaySeconds, 1e-9), keys);
                }
                System.out.print(Report.summary(results, baseline));
                Report.rows(results, baseline).stream().filter(r -> r.target().equals(through.name()))
                        .forEach(summaries::add);
            }
        }
        System.out.printf("%n== all scenarios: gemgate against direct, gemgate-proxy against gemgate (medians over %d"
                + " round(s)) ==%n", rounds);
        System.out.printf("%-14s %9s %7s %9s %9s %9s %7s %14s%n", "scenario", "req/s", "ratio", "+p50 ms",
                "+p99 ms", "+p99.9 ms", "errors", "+1st event p99");
        for (Report.Row r : summaries) {
            System.out.printf(Locale.ROOT, "%-14s %9.0f %7.2f %9.3f %9.3f %9.3f %7d %14s%n", r.scenario(), r.rps(),
                    r.ratio(), r.plusP50(), r.plusP99(), r.plusP999(), r.errors(),
                    r.scenario().sse ? String.format(Locale.ROOT, "%.3f", r.plusFirstP99()) : "");
        }
    }

    private static List<Scenario> scenarios(String text) {
        if (text.equals("all")) {
            return List.of(Scenario.values());
        }
        Set<Scenario> s = new LinkedHashSet<>();
        for (String part : text.split(",")) {
            s.add(Scenario.of(part.trim()));
        }
        return List.copyOf(s);
    }

    // ------------------------------------------------------------------------------------------ the servers

    /**
     * The soak ({@link Soak}): a gateway and an upstream in their own JVMs (their memory, descriptors and RSS are what
     * is measured), the upstream sending an event every {@code --sse-gap-ms} (default 2000) on every stream for longer
     * than the hold. The gateway may open an upstream connection per stream on any of its event loops, and its
     * defaults (1024 per loop, 20,000 client connections) would refuse some: both limits are raised to the streams.
     *
     * @return true when the soak passed
     */
    private boolean soak() throws Exception {
        if (args.flag("inproc")) {
            throw new IllegalArgumentException("--scenario soak measures the gateway's own process: drop --inproc");
        }
        int streams = args.getInt("streams", 10_000);
        Duration hold = args.getDuration("hold", Duration.ofSeconds(60));
        long gapMillis = args.getLong("sse-gap-ms", 2_000);
        if (streams < 1 || gapMillis < 1 || hold.isNegative()) {
            throw new IllegalArgumentException("--streams, --sse-gap-ms: at least 1; --hold: at least 0");
        }
        // Enough events to outlast the opening, the hold and the measurements; the streams end by themselves after.
        long streamMillis = hold.toMillis() + 180_000 + streams * 20L;
        int events = (int) Math.min(100_000, streamMillis / gapMillis + 1);
        Upstream upstream = startUpstream(events, gapMillis, List.of());
        String key = String.format(Locale.ROOT, "AIzaSyBenchGood%024d", 0);
        String limit = String.valueOf(streams + Soak.FD_RESERVE);
        Gateway gw = startGateway("gemgate", upstream.port(), List.of(key), Map.of(
                "GEMGATE_UPSTREAM_MAX_CONNECTIONS_PER_LOOP", limit,
                "GEMGATE_SERVER_MAX_CONNECTIONS", limit));
        Soak.Options o = new Soak.Options(streams, hold, Duration.ofMillis(gapMillis),
                args.getInt("open-concurrency", 200), args.getInt("soak-warmup-streams", 100));
        return new Soak(o, gw.port(), gw.process(), upstream.port(), upstream.process(), TOKEN).run();
    }

    /** The fake upstream; {@code process} is null when it runs in this JVM. */
    private record Upstream(int port, ChildProcess process) {
        /** 429 answers so far, from its {@code /stats}. */
        long rateLimited() {
            Matcher m = Pattern.compile("\"rateLimited\":(\\d+)").matcher(ChildProcess.get(port, "/stats"));
            return m.find() ? Long.parseLong(m.group(1)) : 0;
        }
    }

    /** A gateway; {@code process} is null when it runs in this JVM. */
    private record Gateway(int port, ChildProcess process) {
    }

    private Upstream startUpstream(int sseEvents, long sseGapMillis, List<String> rateLimited) throws Exception {
        FastUpstream.Options o = new FastUpstream.Options("127.0.0.1", 0, args.getInt("upstream-threads", 1),
                sseEvents, 0, sseGapMillis, Set.copyOf(rateLimited));
        if (args.flag("inproc")) {
            FastUpstream up = new FastUpstream(o);
            started.add(up);
            return new Upstream(up.port(), null);
        }
        List<String> cmd = new ArrayList<>(List.of(ChildProcess.javaBinary(), "-Xms256m", "-Xmx256m",
                "-cp", absoluteClassPath(), FastUpstream.class.getName(),
                "--threads", String.valueOf(o.threads()), "--sse-events", String.valueOf(o.sseEvents()),
                "--sse-gap-ms", String.valueOf(o.sseGapMillis()), "--rate-limited", String.join(",", rateLimited)));
        ChildProcess p = ChildProcess.start("upstream", cmd, Map.of(), work);
        started.add(p);
        int port = Integer.parseInt(p.awaitLog(UPSTREAM_READY, 20_000));
        System.out.println("upstream: pid " + p.pid() + ", port " + port);
        return new Upstream(port, p);
    }

    /**
     * Starts tinyproxy on a free port of 127.0.0.1 with its own config in the work directory (CONNECT to any port,
     * no Via header, logging only warnings); returns its port.
     */
    private int startTinyproxy() throws Exception {
        String binary = args.get("tinyproxy", "/usr/bin/tinyproxy");
        if (!Files.isExecutable(Path.of(binary))) {
            throw new IOException(binary + " not found: the proxy scenario needs tinyproxy (Debian: apt-get install -y"
                    + " tinyproxy), or give --tinyproxy /path");
        }
        Path dir = Files.createDirectories(work.resolve("tinyproxy"));
        int port = Net.freePorts(1)[0];
        Path conf = dir.resolve("tinyproxy.conf");
        Files.writeString(conf, "Port " + port + "\nListen 127.0.0.1\nTimeout 60\nMaxClients 1024\n"
                + "LogLevel Warning\nDisableViaHeader Yes\n", StandardCharsets.UTF_8);
        ChildProcess p = ChildProcess.start("tinyproxy", List.of(binary, "-d", "-c", conf.toString()), Map.of(), dir);
        started.add(p);
        long deadline = System.currentTimeMillis() + 10_000;
        while (true) {
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                break;
            } catch (IOException e) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IOException("tinyproxy did not listen on " + port + ": see " + p.log());
                }
                Thread.sleep(20);
            }
        }
        System.out.println("tinyproxy: pid " + p.pid() + ", port " + port);
        return port;
    }

    /** Starts a gateway with these keys in front of the upstream, {@code extraEnv} added to its settings. */
    private Gateway startGateway(String name, int upstreamPort, List<String> keys, Map<String, String> extraEnv)
            throws Exception {
        Path dir = Files.createDirectories(work.resolve(name));
        Map<String, String> env = new HashMap<>();
        env.put("GEMGATE_HOST", "127.0.0.1");
        env.put("GEMGATE_UPSTREAM", "http://127.0.0.1:" + upstreamPort);
        env.put("GEMGATE_TOKEN", TOKEN);
        env.put("GEMGATE_DATA_DIR", dir.resolve("data").toString());
        env.put("GEMGATE_POOL_MAX_ATTEMPTS", "3");
        int threads = args.getInt("gateway-threads", 0);
        if (threads > 0) {
            env.put("GEMGATE_SERVER_IO_THREADS", String.valueOf(threads));
        }
        env.putAll(extraEnv);
        if (args.flag("inproc")) {
            env.put("GEMGATE_PORT", "0");
            GatewayServer gw = GatewayServer.builder(ConfigLoader.load(null, env),
                    keys.stream().map(KeySpec::of).toList()).start();
            started.add(gw);
            System.out.println(name + ": in this JVM, port " + gw.port());
            return new Gateway(gw.port(), null);
        }
        Path jar = Path.of(args.get("gateway-jar", "gateway-server/target/gemgate.jar")).toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            throw new IOException(jar + " not found: build it with `mvn -q -DskipTests package`, or give "
                    + "--gateway-jar, or use --inproc");
        }
        Path keysFile = dir.resolve("keys.txt");
        Files.write(keysFile, keys, StandardCharsets.UTF_8);
        int port = Net.freePorts(1)[0];
        env.put("GEMGATE_PORT", String.valueOf(port));
        env.put("GEMGATE_KEYS_FILE", keysFile.toString());
        env.put("GEMGATE_LOG_CONFIG", writeLogConfig(dir, args.flag("access-log")).toString());
        env.put("GEMGATE_LOG_DIR", dir.resolve("logs").toString());
        List<String> cmd = new ArrayList<>();
        cmd.add(ChildProcess.javaBinary());
        String opts = args.get("gateway-jvm-opts", "");
        if (!opts.isBlank()) {
            cmd.addAll(List.of(opts.trim().split("\\s+")));
        }
        if (args.flag("jfr")) {
            cmd.add("-XX:StartFlightRecording=filename=" + dir.resolve(name + ".jfr") + ",settings=profile");
        }
        cmd.addAll(List.of("-jar", jar.toString()));
        ChildProcess p = ChildProcess.start(name, cmd, env, dir);
        started.add(p);
        p.awaitHttp200(port, "/health", 30_000);
        System.out.println(name + ": pid " + p.pid() + ", port " + port + ", " + keys.size() + " keys"
                + (args.flag("jfr") ? ", recording " + dir.resolve(name + ".jfr") : ""));
        return new Gateway(port, p);
    }

    /**
     * A log4j2 configuration for a benchmarked gateway: warnings to the console (the child's log file), and the access
     * log either off or, with {@code accessLog}, to a file through an async logger as in {@code config/log4j2.xml}.
     */
    static Path writeLogConfig(Path dir, boolean accessLog) throws IOException {
        String access = accessLog
                ? "<AsyncLogger name=\"gemgate.access\" level=\"info\" additivity=\"false\"><AppenderRef ref=\"file\"/>"
                + "</AsyncLogger>"
                : "<Logger name=\"gemgate.access\" level=\"off\" additivity=\"false\"/>";
        String xml = """
                <?xml version="1.0" encoding="UTF-8"?>
                <!-- Written by E2eBench: warnings to the console, the access log %s. -->
                <Configuration status="warn" shutdownHook="disable">
                  <Appenders>
                    <Console name="console" target="SYSTEM_OUT">
                      <PatternLayout pattern="%%d{HH:mm:ss.SSS} %%-5level [%%t] %%c{1} - %%msg%%n%%throwable"/>
                    </Console>
                    <RandomAccessFile name="file" fileName="%s" immediateFlush="false">
                      <PatternLayout pattern="%%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %%-5level [%%t] %%c{1} - %%msg%%n"/>
                    </RandomAccessFile>
                  </Appenders>
                  <Loggers>
                    %s
                    <AsyncLogger name="io.gemgate" level="info" additivity="false"><AppenderRef ref="console"/></AsyncLogger>
                    <AsyncRoot level="warn"><AppenderRef ref="console"/></AsyncRoot>
                  </Loggers>
                </Configuration>
                """.formatted(accessLog ? "to access.log" : "off", dir.resolve("access.log"), access);
        Path file = dir.resolve("log4j2-bench.xml");
        Files.writeString(file, xml, StandardCharsets.UTF_8);
        return file;
    }

    /** This JVM's class path with absolute entries: the children run in the work directory. */
    private static String absoluteClassPath() {
        return Stream.of(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                .map(e -> Path.of(e).toAbsolutePath().toString())
                .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
    }

    private void stopAll() {
        for (int i = started.size() - 1; i >= 0; i--) {
            try {
                started.get(i).close();
            } catch (Exception e) {
                System.err.println("stopping " + started.get(i) + ": " + e);
            }
        }
        started.clear();
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("could not delete " + root + ": " + e);
        }
    }
}
