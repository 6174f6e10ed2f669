package io.gemgate.server;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.config.ConfigException;
import io.gemgate.core.config.GatewayConfig;
import io.gemgate.core.keys.KeyCleanup;
import io.gemgate.core.keys.KeyHealthHistory;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.KeySpec;
import io.gemgate.core.keys.PoolSettings;
import io.gemgate.core.keys.QuotaCalendar;
import io.gemgate.core.metrics.GatewayEvents;
import io.gemgate.core.secrets.KeyCipher;
import io.gemgate.core.settings.RuntimeSettings;
import io.gemgate.core.state.StateFile;
import io.gemgate.core.state.StatePersister;
import io.gemgate.core.tokens.TokenRegistry;
import io.gemgate.server.admin.AdminApi;
import io.gemgate.server.admin.AdminStats;
import io.gemgate.server.admin.CompositeEvents;
import io.gemgate.server.admin.KeyProber;
import io.gemgate.server.internal.Transport;
import io.gemgate.server.shared.RedisSharedState;
import io.gemgate.server.upstream.UpstreamClient;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLException;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * A running gateway: the key pool with its persisted state, the upstream client and the listening socket. Started by
 * {@link #start}, stopped gracefully by {@link #close()}: readiness down, listener closed, idle connections closed,
 * answers in flight allowed to finish until the grace period ends, then the state is written.
 */
public final class GatewayServer implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(GatewayServer.class);

    private final GatewayContext gw;
    private final StatePersister persister;
    /** Shares the state with the other gateways on the same Redis; null without GEMGATE_REDIS_URL. */
    private final RedisSharedState shared;
    /** Probes keys on demand (admin API), brings invalid ones back in the background, keeps the health history. */
    private final KeyProber prober;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final ChannelGroup clients = new DefaultChannelGroup("clients", GlobalEventExecutor.INSTANCE);
    private final Channel listener;
    private final io.gemgate.server.upstream.ExitChecker exitChecker;
    /** Records of every request and the usage history; {@code RequestLog.OFF} when not kept. */
    private final io.gemgate.server.requestlog.RequestLog requestLog;
    private boolean closed;

    private GatewayServer(Builder b) throws SSLException {
        GatewayConfig cfg = b.config;
        RedisSharedState.Builder sharing = cfg.state().redisUrl() == null ? null
                : RedisSharedState.builder(cfg.state().redisUrl()).prefix(cfg.state().redisPrefix())
                        .trustCertificates(cfg.state().redisTrustCertificates());
        KeyPool pool = new KeyPool(b.keys, PoolSettings.from(cfg.pool()), new QuotaCalendar(cfg.pool().quotaResetZone()),
                b.clock);
        UpstreamClient upstream = new UpstreamClient(cfg.upstream(), b.upstreamSsl);
        MetricsBinding metrics = b.metrics == null ? MetricsBinding.NONE : b.metrics;
        TokenRegistry tokens = new TokenRegistry(b.clock, new java.security.SecureRandom());
        boolean adminOn = new io.gemgate.core.auth.TokenMatcher(cfg.auth().adminToken()).isConfigured();
        AdminStats stats = adminOn ? new AdminStats(pool, b.clock) : null;
        GatewayEvents events = stats == null ? metrics.events(pool) : CompositeEvents.of(metrics.events(pool), stats);
        this.gw = new GatewayContext(cfg, pool, upstream,
                new OpenAiSupport(java.time.Clock.systemUTC(), b.sseKeepAlive, new io.gemgate.core.openai.ResponseStore(
                        cfg.responses().storeMaxBytes(), cfg.responses().storeTtl(), java.time.Clock.systemUTC())),
                events, metrics.scrape(), tokens,
                b.clock);
        KeyCipher cipher = cfg.state().masterKey() == null ? null : new KeyCipher(cfg.state().masterKey());
        KeyHealthHistory health = new KeyHealthHistory(pool.calendar());
        // Keys added at run time go back into the pool before its counters are restored; tokens and settings too.
        this.persister = StatePersister.builder(pool, new StateFile(cfg.state().dataDir()), cfg.state().flushInterval())
                .tokens(tokens)
                .settings(RuntimeSettings.from(cfg), gw::settings, gw::settings)
                .configuredKeys(b.keys)
                .cipher(cipher)
                .health(health)
                .affinity(gw.affinity())
                .build();
        var restored = persister.restore();
        if (cipher == null && (adminOn || !restored.snapshot().addedKeys().isEmpty())) {
            log.warn("GEMGATE_MASTER_KEY is not set: keys added at run time are stored in clear in {} (readable by "
                    + "this user only){}", cfg.state().dataDir().resolve("state.json"),
                    sharing == null ? "" : " and in Redis");
        }
        // The shared state is loaded over the local one (precedence: shared/RedisLayout), before any request.
        this.shared = sharing == null ? null
                : sharing.configuredKeys(b.keys).cipher(cipher).defaults(RuntimeSettings.from(cfg)).start(gw);
        RedisSharedState sharedState = shared;
        gw.shared(sharedState);
        gw.store(() -> sharedState == null ? persister.flushAsync()
                : java.util.concurrent.CompletableFuture.allOf(persister.flushAsync(), sharedState.writeChangesNow()));
        this.boss = Transport.newGroup(1, "gemgate-accept");
        // One event loop per core, as nginx's worker_processes auto (Netty's own default, twice the cores, makes
        // each loop wake for fewer ready channels: more epoll waits and context switches per request).
        int ioThreads = cfg.server().ioThreads() > 0 ? cfg.server().ioThreads()
                : Runtime.getRuntime().availableProcessors();
        this.workers = Transport.newGroup(ioThreads, "gemgate-io");
        metrics.eventLoops(java.util.Map.of("accept", boss, "io", workers));
        metrics.exits(gw.exits());
        metrics.affinity(gw.affinityStats(), gw.affinity());
        this.prober = new KeyProber(gw, workers.next(), new KeyCleanup(pool, health));
        gw.exits().listener(new io.gemgate.core.egress.Exits.Listener() {
            @Override
            public void stateChanged(io.gemgate.core.egress.Exit exit, io.gemgate.core.egress.Exit.Status s) {
                log.warn("exit {} is {}{}", exit.label(), s.state().label(),
                        s.reason() == null ? "" : " (" + s.reason().label() + ")");
            }

            @Override
            public void unblame(io.gemgate.core.keys.ApiKey key, io.gemgate.core.keys.ModelRef model) {
                pool.liftCooldown(key, model);
            }
        });
        this.exitChecker = new io.gemgate.server.upstream.ExitChecker(gw.exits(), upstream, workers.next());
        this.requestLog = io.gemgate.server.requestlog.RequestLog.start(cfg.requestLog(), cfg.state().dataDir(),
                pool.calendar(), b.clock);
        gw.requestLog(requestLog);
        metrics.requestLog(requestLog);
        if (adminOn) {
            gw.admin(new AdminApi(gw, stats, prober));
        }
        ServerBootstrap sb = new ServerBootstrap()
                .group(boss, workers)
                .channel(Transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 128 * 1024))
                .childHandler(new ServerInitializer(gw, clients));
        try {
            this.listener = sb.bind(cfg.server().host(), cfg.server().port()).sync().channel();
        } catch (Exception e) {
            prober.close();
            exitChecker.close();
            requestLog.close();
            shutdownGroups();
            upstream.close();
            if (shared != null) {
                shared.close();
            }
            persister.close();
            if (e instanceof BindException || e.getCause() instanceof BindException
                    || String.valueOf(e.getMessage()).contains("Address already in use")) {
                throw new ConfigException("server.port: " + cfg.server().port() + " is already in use on "
                        + cfg.server().host());
            }
            throw new ConfigException("server.host: cannot listen on " + cfg.server().host() + ":"
                    + cfg.server().port() + " (" + e + ")");
        }
        if (shared != null) {
            shared.address(cfg.server().host() + ":" + port());
        }
        persister.start();
        prober.start();
        exitChecker.start();
        log.info("Gemgate listening on {}:{} ({}), {} keys, upstream {}, strategy {}", cfg.server().host(), port(),
                Transport.name(), pool.keys().size(), cfg.upstream().url(), pool.settings().strategy().wireName());
    }

    public static Builder builder(GatewayConfig config, List<KeySpec> keys) {
        return new Builder(config, keys);
    }

    /** Starts a gateway with default options. */
    public static GatewayServer start(GatewayConfig config, List<KeySpec> keys) throws SSLException {
        return builder(config, keys).start();
    }

    /** The port actually bound (useful with port 0). */
    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    public KeyPool pool() {
        return gw.pool();
    }

    public GatewayContext context() {
        return gw;
    }

    /** The open client connections (tests inspect their outbound buffers). */
    ChannelGroup clientChannels() {
        return clients;
    }

    /** The link to the other gateways through Redis, or null without {@code GEMGATE_REDIS_URL}. */
    public RedisSharedState shared() {
        return shared;
    }

    /** Writes the state file now (tests and admin). */
    public void flushState() {
        persister.flushNow();
    }

    /** Graceful stop: see the class comment. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        long grace = gw.config().server().shutdownGrace().toNanos();
        log.info("Gemgate stopping: {} request(s) in flight, up to {}s to finish", gw.inFlight().sum(),
                gw.config().server().shutdownGrace().toSeconds());
        gw.startShutdown();
        listener.close().syncUninterruptibly();
        for (Channel ch : clients) {
            ch.eventLoop().execute(() -> ch.pipeline().fireUserEventTriggered(ShutdownEvent.INSTANCE));
        }
        long deadline = System.nanoTime() + grace;
        while (gw.inFlight().sum() > 0 && System.nanoTime() < deadline) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
        if (gw.inFlight().sum() > 0) {
            log.warn("{} request(s) still in flight after the grace period: closing them", gw.inFlight().sum());
        }
        clients.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        prober.close();
        exitChecker.close();
        requestLog.close(); // what is queued is written, and the last usage counts
        gw.upstream().close();
        shutdownGroups();
        if (shared != null) {
            shared.close(); // last counts and changes to Redis, then the state file
        }
        persister.close();
        log.info("Gemgate stopped");
    }

    private void shutdownGroups() {
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        boss.terminationFuture().awaitUninterruptibly(5, TimeUnit.SECONDS);
        workers.terminationFuture().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /** Options beyond the configuration, for tests and embedding. */
    public static final class Builder {
        private final GatewayConfig config;
        private final List<KeySpec> keys;
        private SslContext upstreamSsl;
        private LongSupplier clock = System::currentTimeMillis;
        private java.time.Duration sseKeepAlive = java.time.Duration.ofSeconds(10);
        private MetricsBinding metrics;

        private Builder(GatewayConfig config, List<KeySpec> keys) {
            this.config = requireNonNull(config, "config");
            this.keys = List.copyOf(keys);
        }

        /** TLS context for the upstream instead of the system trust store (tests trust their own certificate). */
        public Builder upstreamSsl(SslContext ssl) {
            this.upstreamSsl = ssl;
            return this;
        }

        /** Epoch-millisecond clock for cooldowns and quota days. */
        public Builder clock(LongSupplier clock) {
            this.clock = requireNonNull(clock, "clock");
            return this;
        }

        /** How often {@code : keep-alive} comments go out while an OpenAI stream is awaited (10 s). */
        public Builder sseKeepAlive(java.time.Duration interval) {
            this.sseKeepAlive = requireNonNull(interval, "interval");
            return this;
        }

        /** Where the hot path reports, and what {@code GET /metrics} answers (none by default). */
        public Builder metrics(MetricsBinding metrics) {
            this.metrics = metrics;
            return this;
        }

        public GatewayServer start() throws SSLException {
            return new GatewayServer(this);
        }
    }
}
