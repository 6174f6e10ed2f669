package io.gemgate.server.metrics;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.VerdictKind;
import io.gemgate.core.metrics.GatewayEvents;
import io.gemgate.server.MetricsBinding;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.netty4.NettyAllocatorMetrics;
import io.micrometer.core.instrument.binder.netty4.NettyEventExecutorMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.channel.EventLoopGroup;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Gemgate's metrics on Micrometer's Prometheus registry: receives the hot path's events ({@link GatewayEvents}) and
 * answers {@code GET /metrics} ({@link MetricsBinding}). The meters are listed in {@link GatewayMeters}.
 *
 * <p>Hot path: event methods run on event loops for every request and attempt. They take no lock and allocate nothing
 * once a (route, model, status) has been seen: counters are cached per route and model name (concurrent maps keyed by
 * the strings the hot path already holds), per status in a small copy-on-write array, and in-flight and connection
 * gauges are {@link LongAdder}s. Registering a meter the first time goes through Micrometer's registry, which locks.
 *
 * <p>Scrape: per-key and pool gauges are read from the {@link KeyPool} when {@code /metrics} is asked for (see
 * {@link KeyPoolGauges}), then the registry writes the text format 0.0.4.
 *
 * <p>One instance serves one gateway at a time; a gateway started again with the same instance (a restart) takes the
 * pool gauges over, the counters go on. {@link #close()} unbinds the JVM listeners.
 */
public final class MicrometerMetrics implements MetricsBinding, GatewayEvents, AutoCloseable {
    /** Distinct model tag values beyond which further models are counted as {@value #OTHER_MODEL}. */
    static final int MAX_MODEL_TAGS = 300;
    static final String OTHER_MODEL = "(other)";
    /** Bound on distinct {@code user} tags of {@link GatewayMeters#TOKENS} per model; further names share one. */
    static final int MAX_USER_TAGS = 1000;
    /** The {@code user} tag of tokens used through the shared placeholder token. */
    static final String SHARED_USER = "shared";
    private static final String OTHER = "other";
    private static final String NETTY_ALLOCATOR = "netty.allocator.";
    private static final String NETTY_EXECUTOR = "netty.eventexecutor.";
    /** Netty's thread names, {@code <pool>-<pool number>-<thread number>}: the pool number changes on a restart. */
    private static final Pattern THREAD_NAME = Pattern.compile("(.+)-\\d+-(\\d+)");
    private static final Set<String> VERDICTS = Arrays.stream(VerdictKind.values()).map(VerdictKind::label)
            .collect(Collectors.toUnmodifiableSet());
    /** Histogram buckets of the request timers: from a few ms (errors, model lists) to minutes of streaming. */
    private static final Duration[] LATENCY_BUCKETS = millis(1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500,
            5_000, 10_000, 20_000, 30_000, 60_000, 120_000);

    private final PrometheusMeterRegistry registry;
    /** The exits' meters of the current gateway, or null. */
    private volatile ExitGauges exitGauges;
    private final JvmGcMetrics gc;
    private final Map<String, RouteMeters> routes;
    private final RouteMeters otherRoute;
    private final ConcurrentHashMap<String, ModelMeters> models = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> failovers = new ConcurrentHashMap<>();
    /** One counter per tier, registered on first use (tiers are 0 to KeySpec.MAX_TIER). */
    private final java.util.concurrent.atomic.AtomicReferenceArray<Counter> tiers =
            new java.util.concurrent.atomic.AtomicReferenceArray<>(io.gemgate.core.keys.KeySpec.MAX_TIER + 1);
    private final LongAdder inFlight = new LongAdder();
    private final LongAdder connections = new LongAdder();
    private final Counter sseEvents;
    private final Counter received;
    private final Counter sent;
    private volatile KeyPoolGauges pool;
    private final RouteHistogram durations = new RouteHistogram(prometheusName(GatewayMeters.REQUEST_DURATION),
            "Time from the complete request to the end of the answer", GatewayMeters.ROUTE, LATENCY_BUCKETS);
    private final RouteHistogram firstBytes = new RouteHistogram(prometheusName(GatewayMeters.REQUEST_FIRST_BYTE),
            "Time from the complete request to the first byte of the answer sent to the client", GatewayMeters.ROUTE,
            LATENCY_BUCKETS);

    public MicrometerMetrics() {
        this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        // The two request histograms are recorded for every request: collected straight into the Prometheus registry
        // from per-thread cells (RouteHistogram), not through Micrometer timers.
        registry.getPrometheusRegistry().register(durations);
        registry.getPrometheusRegistry().register(firstBytes);
        bindJvmAndNetty();
        this.gc = new JvmGcMetrics();
        gc.bindTo(registry);

        Map<String, RouteMeters> r = new HashMap<>();
        for (int i = 0; i < ROUTES.size(); i++) {
            r.put(ROUTES.get(i), new RouteMeters(i, ROUTES.get(i)));
        }
        this.routes = Map.copyOf(r);
        this.otherRoute = routes.get(GatewayEvents.OTHER);
        for (VerdictKind v : VerdictKind.values()) {
            if (v.retryOnNextKey()) {
                failoverCounter(v.label());
            }
        }
        Gauge.builder(GatewayMeters.REQUESTS_IN_FLIGHT, inFlight, LongAdder::sum)
                .description("Requests handed to an exchange and not yet ended").register(registry);
        Gauge.builder(GatewayMeters.CONNECTIONS_OPEN, connections, LongAdder::sum)
                .description("Open client connections").register(registry);
        // Static counters (log4j2's queue-full policy is one per process): read at each scrape.
        io.micrometer.core.instrument.FunctionCounter.builder(GatewayMeters.ACCESS_LOG_DROPPED, this,
                m -> io.gemgate.server.AccessLog.dropped())
                .description("Access lines dropped because the log's queue was full").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder(GatewayMeters.LOG_DROPPED, this,
                m -> io.gemgate.server.LogQueueFullPolicy.droppedOther())
                .description("Log events other than access lines dropped because the log's queue was full")
                .register(registry);
        this.sseEvents = Counter.builder(GatewayMeters.SSE_EVENTS)
                .description("SSE events relayed or produced for clients").register(registry);
        this.received = Counter.builder(GatewayMeters.CLIENT_RECEIVED).baseUnit("bytes")
                .description("Request body bytes received from clients").register(registry);
        this.sent = Counter.builder(GatewayMeters.CLIENT_SENT).baseUnit("bytes")
                .description("Answer body bytes sent to clients").register(registry);
    }

    private void bindJvmAndNetty() {
        registry.config()
                // Two of Micrometer's meters fail promtool's lint: process_cpu_time_ns_total ("abbreviated units")
                // and the gauge system_cpu_count ("_count" suffix). process_cpu_usage and system_cpu_usage remain.
                .meterFilter(MeterFilter.deny(id -> id.getName().equals("process.cpu.time")
                        || id.getName().equals("system.cpu.count")))
                // Micrometer's Netty allocator meters come without a description (so without HELP), and with an
                // "id" tag (the allocator's identity hash) that would start new series at every restart; there is
                // one allocator here.
                .meterFilter(new MeterFilter() {
                    @Override
                    public Meter.Id map(Meter.Id id) {
                        if (id.getName().startsWith(NETTY_EXECUTOR)) {
                            return eventExecutorId(id);
                        }
                        if (!id.getName().startsWith(NETTY_ALLOCATOR)) {
                            return id;
                        }
                        List<Tag> tags = new ArrayList<>();
                        id.getTagsAsIterable().forEach(t -> {
                            if (!t.getKey().equals("id")) {
                                tags.add(t);
                            }
                        });
                        String help = id.getDescription() != null ? id.getDescription() : "Netty ByteBuf allocator: "
                                + id.getName().substring(NETTY_ALLOCATOR.length()).replace('.', ' ');
                        return new Meter.Id(id.getName(), Tags.of(tags), id.getBaseUnit(), help, id.getType());
                    }
                });
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
        // The allocator the channels use: Netty 4.2's default is the adaptive allocator, not PooledByteBufAllocator
        // (unless io.netty.allocator.type=pooled); both publish used heap and direct memory, pooled adds its arenas.
        if (ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider allocator) {
            new NettyAllocatorMetrics(allocator).bindTo(registry);
        }
    }

    /**
     * Micrometer's event loop meters with a HELP text, and with the pool number taken out of the thread name (the
     * {@code name} tag), so that a restart in the same process keeps the series: one per loop thread.
     */
    private static Meter.Id eventExecutorId(Meter.Id id) {
        List<Tag> tags = new ArrayList<>();
        id.getTagsAsIterable().forEach(t -> {
            Matcher m = THREAD_NAME.matcher(t.getValue());
            tags.add(t.getKey().equals("name") && m.matches() ? Tag.of("name", m.group(1) + '-' + m.group(2)) : t);
        });
        String help = id.getDescription() != null ? id.getDescription()
                : "Tasks queued on the event loop, waiting for its thread";
        return new Meter.Id(id.getName(), Tags.of(tags), id.getBaseUnit(), help, id.getType());
    }

    /** The registry, for embedding (more meters, another format). */
    public PrometheusMeterRegistry registry() {
        return registry;
    }

    // ---------------------------------------------------------------------------------------------- MetricsBinding

    @Override
    public synchronized GatewayEvents events(KeyPool keyPool) {
        requireNonNull(keyPool, "keyPool");
        KeyPoolGauges previous = pool;
        if (previous != null) {
            previous.unregister();
        }
        KeyPoolGauges g = new KeyPoolGauges(registry, keyPool);
        g.refresh();
        pool = g;
        return this;
    }

    /** The affinity meters ({@code gemgate_affinity_*}), replacing those of a previous start. */
    @Override
    public synchronized void affinity(io.gemgate.core.affinity.AffinityStats stats,
                                      io.gemgate.core.affinity.AffinityMap map) {
        for (Meter m : registry.getMeters()) {
            if (m.getId().getName().startsWith(GatewayMeters.AFFINITY_PREFIX)) {
                registry.remove(m);
            }
        }
        io.micrometer.core.instrument.FunctionCounter.builder(GatewayMeters.AFFINITY_HITS, stats,
                io.gemgate.core.affinity.AffinityStats::hits)
                .description("Requests sent to the key that holds the file, cache, batch or store they reference")
                .register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder(GatewayMeters.AFFINITY_RECORDED, stats,
                io.gemgate.core.affinity.AffinityStats::recordedCount)
                .description("Resources created through the gateway and recorded with their key").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder(GatewayMeters.AFFINITY_LOOKUPS, stats,
                io.gemgate.core.affinity.AffinityStats::lookups)
                .description("Owner lookups of resources without a record").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder(GatewayMeters.AFFINITY_LOOKUP_CALLS, stats,
                io.gemgate.core.affinity.AffinityStats::lookupCalls)
                .description("Metadata calls made by owner lookups").register(registry);
        for (io.gemgate.core.affinity.AffinityStats.Failure f : io.gemgate.core.affinity.AffinityStats.Failure
                .values()) {
            io.micrometer.core.instrument.FunctionCounter.builder(GatewayMeters.AFFINITY_FAILURES, stats,
                    s -> s.failures(f)).tag(GatewayMeters.REASON, f.label())
                    .description("Requests refused because of where what they reference is held").register(registry);
        }
        Gauge.builder(GatewayMeters.AFFINITY_ENTRIES, map, io.gemgate.core.affinity.AffinityMap::size)
                .description("Entries in the affinity map (resource -> key)").strongReference(true)
                .register(registry);
    }

    /** The request log's meters ({@code gemgate_request_log_*}), replacing those of a previous start. */
    @Override
    public synchronized void requestLog(io.gemgate.server.requestlog.RequestLog log) {
        for (Meter m : registry.getMeters()) {
            if (m.getId().getName().startsWith(GatewayMeters.REQUEST_LOG_PREFIX)) {
                registry.remove(m);
            }
        }
        io.micrometer.core.instrument.FunctionCounter.builder(GatewayMeters.REQUEST_LOG_WRITTEN, log,
                io.gemgate.server.requestlog.RequestLog::written)
                .description("Request records written to the database").register(registry);
        for (io.gemgate.server.requestlog.RequestLog.Drop d : io.gemgate.server.requestlog.RequestLog.Drop.values()) {
            io.micrometer.core.instrument.FunctionCounter.builder(GatewayMeters.REQUEST_LOG_DROPPED, log,
                    l -> l.dropped(d)).tag(GatewayMeters.REASON, d.label())
                    .description("Request records not written: sampled while the queue was busy, or the queue was full")
                    .register(registry);
        }
        io.micrometer.core.instrument.FunctionCounter.builder(GatewayMeters.REQUEST_LOG_WRITE_ERRORS, log,
                io.gemgate.server.requestlog.RequestLog::writeErrors)
                .description("Failed request log database writes and connections (retried)").register(registry);
        Gauge.builder(GatewayMeters.REQUEST_LOG_QUEUED, log, io.gemgate.server.requestlog.RequestLog::queued)
                .description("Request records waiting for the database writer").strongReference(true)
                .register(registry);
    }

    /** Binds Netty's event executor meters to the groups, replacing those of a previous start. */
    @Override
    public synchronized void eventLoops(Map<String, EventLoopGroup> groups) {
        for (Meter m : registry.getMeters()) {
            if (m.getId().getName().startsWith(NETTY_EXECUTOR)) {
                registry.remove(m);
            }
        }
        groups.forEach((name, group) -> new NettyEventExecutorMetrics(group, Tags.of("group", name))
                .bindTo(registry));
    }

    @Override
    public Supplier<String> scrape() {
        return this::scrapeText;
    }

    @Override
    public synchronized void exits(io.gemgate.core.egress.Exits exits) {
        ExitGauges previous = exitGauges;
        if (previous != null) {
            previous.unregister();
        }
        exitGauges = new ExitGauges(registry, requireNonNull(exits, "exits"));
    }

    private String scrapeText() {
        KeyPoolGauges g = pool;
        if (g != null) {
            g.refresh();
        }
        ExitGauges x = exitGauges;
        if (x != null) {
            x.refresh();
        }
        return registry.scrape();
    }

    @Override
    public void close() {
        gc.close();
        registry.close();
    }

    // ------------------------------------------------------------------------------------------------ GatewayEvents

    @Override
    public void connection(boolean opened) {
        if (opened) {
            connections.increment();
        } else {
            connections.decrement();
        }
    }

    @Override
    public void requestStarted(String route) {
        inFlight.increment();
    }

    @Override
    public void requestFinished(String route, String model, int status, long durationNanos, long firstByteNanos) {
        inFlight.decrement();
        RouteMeters r = route(route);
        model(model).requests(r).get(status).increment();
        r.duration().record(durationNanos);
        if (firstByteNanos >= 0) {
            r.firstByte().record(firstByteNanos);
        }
    }

    @Override
    public void servedByTier(int tier) {
        if (tier < 0 || tier >= tiers.length()) {
            return;
        }
        Counter c = tiers.get(tier);
        if (c == null) {
            c = Counter.builder(GatewayMeters.REQUESTS_SERVED_BY_TIER).tag(GatewayMeters.TIER, Integer.toString(tier))
                    .description("Requests answered by a key of this tier").register(registry);
            tiers.set(tier, c);
        }
        c.increment();
    }

    @Override
    public void requestRejected(String route, int status) {
        route(route).rejected.get(status).increment();
    }

    @Override
    public void attempt(String model, String verdict, boolean failover) {
        model(model).attempt(verdict).increment();
        if (failover) {
            Counter c = failovers.get(verdict);
            (c != null ? c : failoverCounter(verdict)).increment();
        }
    }

    @Override
    public void sseEvents(int count) {
        sseEvents.increment(count);
    }

    @Override
    public void tokens(String model, String user, long promptTokens, long outputTokens) {
        Counter[] c = model(model).tokens(user == null ? SHARED_USER : user);
        if (promptTokens > 0) {
            c[0].increment(promptTokens);
        }
        if (outputTokens > 0) {
            c[1].increment(outputTokens);
        }
    }

    @Override
    public void bytes(long in, long out) {
        if (in > 0) {
            received.increment(in);
        }
        if (out > 0) {
            sent.increment(out);
        }
    }

    // ------------------------------------------------------------------------------------------------ meter caches

    private RouteMeters route(String route) {
        RouteMeters r = route == null ? null : routes.get(route);
        return r != null ? r : otherRoute;
    }

    private ModelMeters model(String model) {
        String name = model == null ? KeyPool.ANY_MODEL : model;
        ModelMeters m = models.get(name);
        if (m != null) {
            return m;
        }
        if (models.size() >= MAX_MODEL_TAGS) {
            name = OTHER_MODEL;
        }
        return models.computeIfAbsent(name, ModelMeters::new);
    }

    private Counter failoverCounter(String verdict) {
        String reason = isVerdict(verdict) ? verdict : OTHER;
        return failovers.computeIfAbsent(reason, v -> Counter.builder(GatewayMeters.UPSTREAM_FAILOVERS)
                .tag(GatewayMeters.REASON, v)
                .description("Upstream attempts after which the request went on to another key, by verdict")
                .register(registry));
    }

    private static boolean isVerdict(String label) {
        return VERDICTS.contains(label);
    }

    private static String statusTag(int status) {
        return status >= 100 && status <= 599 ? Integer.toString(status) : OTHER;
    }

    /** Micrometer's dotted name as the Prometheus registry writes a timer's: underscores and {@code _seconds}. */
    private static String prometheusName(String dotted) {
        return dotted.replace('.', '_') + "_seconds";
    }

    private static Duration[] millis(long... ms) {
        Duration[] d = new Duration[ms.length];
        for (int i = 0; i < ms.length; i++) {
            d[i] = Duration.ofMillis(ms[i]);
        }
        return d;
    }

    /**
     * The meters of one route. The histograms of the API routes exist from the start, so that their series are there
     * (at 0) before the first request; those of {@code admin} and {@code other}, which no exchange serves yet, come
     * with their first request.
     */
    private final class RouteMeters {
        final int index;
        final String route;
        final StatusCounters rejected;
        private volatile RouteHistogram.Series duration;
        private volatile RouteHistogram.Series firstByte;

        RouteMeters(int index, String route) {
            this.index = index;
            this.route = route;
            this.rejected = new StatusCounters(GatewayMeters.REQUESTS_REJECTED, Tags.of(GatewayMeters.ROUTE, route),
                    "Requests answered before reaching an exchange (auth, limits, routing)");
            if (!route.equals(GatewayEvents.ADMIN) && !route.equals(GatewayEvents.OTHER)) {
                registerSeries();
            }
        }

        RouteHistogram.Series duration() {
            RouteHistogram.Series t = duration;
            return t != null ? t : registerSeries().duration;
        }

        RouteHistogram.Series firstByte() {
            RouteHistogram.Series t = firstByte;
            return t != null ? t : registerSeries().firstByte;
        }

        private synchronized RouteMeters registerSeries() {
            if (duration == null) {
                firstByte = firstBytes.series(route);
                duration = durations.series(route);
            }
            return this;
        }
    }

    /** The meters of one model: its requests per route and status, its attempts per verdict. */
    private final class ModelMeters {
        private final String model;
        private final StatusCounters[] requests = new StatusCounters[ROUTES.size()];
        private final ConcurrentHashMap<String, Counter> attempts = new ConcurrentHashMap<>();
        /** Per user: the prompt and the output token counters. */
        private final ConcurrentHashMap<String, Counter[]> tokens = new ConcurrentHashMap<>();

        ModelMeters(String model) {
            this.model = model;
            for (String route : ROUTES) {
                requests[routes.get(route).index] = new StatusCounters(GatewayMeters.REQUESTS,
                        Tags.of(GatewayMeters.ROUTE, route, GatewayMeters.MODEL, model),
                        "Requests handed to an exchange, by how they ended");
            }
            for (VerdictKind v : VerdictKind.values()) {
                newAttemptCounter(v.label());
            }
        }

        StatusCounters requests(RouteMeters route) {
            return requests[route.index];
        }

        Counter[] tokens(String user) {
            Counter[] c = tokens.get(user);
            if (c != null) {
                return c;
            }
            String name = tokens.size() >= MAX_USER_TAGS ? OTHER_MODEL : user;
            return tokens.computeIfAbsent(name, u -> new Counter[] {tokenCounter(u, "prompt"), tokenCounter(u, "output")});
        }

        private Counter tokenCounter(String user, String type) {
            return Counter.builder(GatewayMeters.TOKENS)
                    .tag(GatewayMeters.MODEL, model)
                    .tag(GatewayMeters.TYPE, type)
                    .tag(GatewayMeters.USER, user)
                    .description("Tokens the answers reported in their usageMetadata")
                    .register(registry);
        }

        Counter attempt(String verdict) {
            Counter c = attempts.get(verdict);
            return c != null ? c : newAttemptCounter(isVerdict(verdict) ? verdict : OTHER);
        }

        private Counter newAttemptCounter(String outcome) {
            return attempts.computeIfAbsent(outcome, o -> Counter.builder(GatewayMeters.UPSTREAM_ATTEMPTS)
                    .tag(GatewayMeters.MODEL, model)
                    .tag(GatewayMeters.OUTCOME, o)
                    .description("Upstream calls by verdict")
                    .register(registry));
        }
    }

    /**
     * Counters of one meter that differ only by status. A route or model sees a handful of statuses, so a linear scan
     * of a copy-on-write array finds one without boxing the status; a new status takes the lock once.
     */
    private final class StatusCounters {
        private final String name;
        private final Tags tags;
        private final String description;
        private volatile StatusCounter[] counters = new StatusCounter[0];

        StatusCounters(String name, Tags tags, String description) {
            this.name = name;
            this.tags = tags;
            this.description = description;
        }

        Counter get(int status) {
            for (StatusCounter c : counters) {
                if (c.status == status) {
                    return c.counter;
                }
            }
            return add(status);
        }

        private synchronized Counter add(int status) {
            StatusCounter[] now = counters;
            for (StatusCounter c : now) {
                if (c.status == status) {
                    return c.counter;
                }
            }
            Counter counter = Counter.builder(name).tags(tags).tag(GatewayMeters.STATUS, statusTag(status))
                    .description(description).register(registry);
            StatusCounter[] grown = Arrays.copyOf(now, now.length + 1);
            grown[now.length] = new StatusCounter(status, counter);
            counters = grown;
            return counter;
        }
    }

    private record StatusCounter(int status, Counter counter) {
    }
}
