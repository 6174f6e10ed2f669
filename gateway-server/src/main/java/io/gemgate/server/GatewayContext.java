package io.gemgate.server;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.auth.TokenMatcher;
import io.gemgate.core.config.GatewayConfig;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.server.upstream.UpstreamClient;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/** What every connection of one gateway shares: configuration, key pool, upstream client, counters. */
public final class GatewayContext {
    private final GatewayConfig config;
    private final KeyPool pool;
    private final UpstreamClient upstream;
    private final TokenMatcher token;
    private final TokenMatcher adminToken;
    private volatile io.gemgate.server.admin.AdminApi admin;
    private volatile io.gemgate.core.settings.RuntimeSettings settings;
    private final OpenAiSupport openAi;
    private final AnthropicSupport anthropic;
    private final io.gemgate.core.metrics.GatewayEvents events;
    private final java.util.function.Supplier<String> metricsText;
    private final io.gemgate.core.tokens.TokenRegistry tokens;
    private final io.gemgate.core.tokens.TokenLimiter limiter;
    private final java.util.function.LongSupplier clock;
    /** A LongAdder: both ends of every request change it, from every event loop (a shared atomic would contend). */
    private final LongAdder inFlight = new LongAdder();
    private final Cors cors;
    /** Which key holds which file, cache, batch, store and upload session (README, key affinity). */
    private final io.gemgate.core.affinity.AffinityMap affinity;
    private final io.gemgate.core.affinity.AffinityStats affinityStats = new io.gemgate.core.affinity.AffinityStats();
    /** Resources an owner lookup found no key for, until when that answer stands (no lookup storm). */
    private final java.util.concurrent.ConcurrentHashMap<String, Long> affinityMisses =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final AtomicInteger connections = new AtomicInteger();
    private volatile boolean shuttingDown;
    /** The link to the other gateways through Redis; null without one. */
    private volatile io.gemgate.server.shared.RedisSharedState shared;
    /** Gateways the per-key minute budgets are shared among (README, "Limits across gateways"). */
    private volatile int budgetSplit = 1;
    private volatile io.gemgate.core.egress.Exits exits;
    private final CopyOnWriteArrayList<Consumer<io.gemgate.core.settings.RuntimeSettings>> settingsListeners =
            new CopyOnWriteArrayList<>();

    /**
     * @param events      receives what the hot path reports (metrics, stats)
     * @param metricsText the Prometheus text for {@code GET /metrics}, or null when metrics are off
     */
    public GatewayContext(GatewayConfig config, KeyPool pool, UpstreamClient upstream, OpenAiSupport openAi,
                          io.gemgate.core.metrics.GatewayEvents events,
                          java.util.function.Supplier<String> metricsText,
                          io.gemgate.core.tokens.TokenRegistry tokens, java.util.function.LongSupplier clock) {
        this.cors = new Cors(config.server().corsAllowOrigins());
        this.tokens = requireNonNull(tokens, "tokens");
        this.clock = requireNonNull(clock, "clock");
        this.affinity = new io.gemgate.core.affinity.AffinityMap(clock, config.affinity().maxEntries());
        pool.brake(new io.gemgate.core.keys.SetAsideBrake(config.setAside().share(),
                config.setAside().window().toMillis()));
        this.limiter = new io.gemgate.core.tokens.TokenLimiter(pool.calendar());
        this.openAi = requireNonNull(openAi, "openAi");
        this.events = requireNonNull(events, "events");
        this.metricsText = metricsText;
        this.config = requireNonNull(config, "config");
        this.pool = requireNonNull(pool, "pool");
        this.upstream = requireNonNull(upstream, "upstream");
        this.token = new TokenMatcher(config.auth().token());
        this.adminToken = new TokenMatcher(config.auth().adminToken());
        this.settings = io.gemgate.core.settings.RuntimeSettings.from(config);
        this.exits = new io.gemgate.core.egress.Exits(config.upstream().egress().exitSettings(), pool::keys, clock);
        pool.budgets(this::budgetFor);
        openAi.aliases(settings.modelAliases());
        this.anthropic = new AnthropicSupport(openAi.signatures());
        anthropic.aliases(settings.modelAliases());
    }

    /** Which key holds which project-bound resource. */
    public io.gemgate.core.affinity.AffinityMap affinity() {
        return affinity;
    }

    public io.gemgate.core.affinity.AffinityStats affinityStats() {
        return affinityStats;
    }

    /** Resource name to the time until which "no key holds it" stands. */
    public java.util.concurrent.ConcurrentHashMap<String, Long> affinityMisses() {
        return affinityMisses;
    }

    public GatewayConfig config() {
        return config;
    }

    public KeyPool pool() {
        return pool;
    }

    public UpstreamClient upstream() {
        return upstream;
    }

    /** The exits to the upstream (proxies) and which key goes through which. */
    public io.gemgate.core.egress.Exits exits() {
        return exits;
    }

    /** User tokens ({@code sk-...}), each with its own limits. */
    public io.gemgate.core.tokens.TokenRegistry tokens() {
        return tokens;
    }

    /** Enforces the user tokens' limits. */
    public io.gemgate.core.tokens.TokenLimiter limiter() {
        return limiter;
    }

    /** Epoch milliseconds, the same clock as the key pool's. */
    public long now() {
        return clock.getAsLong();
    }

    public io.gemgate.core.metrics.GatewayEvents events() {
        return events;
    }

    /** The Prometheus exposition text, or null when metrics are off. */
    public java.util.function.Supplier<String> metricsText() {
        return metricsText;
    }

    /** The translators of the OpenAI routes. */
    public OpenAiSupport openAi() {
        return openAi;
    }

    /** The translators of the Anthropic Messages routes. */
    public AnthropicSupport anthropic() {
        return anthropic;
    }

    /** The live settings. */
    public io.gemgate.core.settings.RuntimeSettings settings() {
        return settings;
    }

    /**
     * Replaces the live settings; the key pool's part (strategy, budgets ...) applies to the next selection. The
     * {@linkplain #addSettingsListener listeners} are then told, on this thread.
     */
    public void settings(io.gemgate.core.settings.RuntimeSettings s) {
        this.settings = requireNonNull(s, "settings");
        pool.settings(s.toPoolSettings());
        pool.budgets(this::budgetFor);
        openAi.aliases(s.modelAliases());
        anthropic.aliases(s.modelAliases());
        for (Consumer<io.gemgate.core.settings.RuntimeSettings> l : settingsListeners) {
            l.accept(s);
        }
    }

    /** The link to the other gateways through Redis, or null without {@code GEMGATE_REDIS_URL}. */
    public io.gemgate.server.shared.RedisSharedState shared() {
        return shared;
    }

    /** Set once at start, when the state is shared through Redis. */
    public void shared(io.gemgate.server.shared.RedisSharedState s) {
        this.shared = s;
    }

    /**
     * Shares the per-key minute budgets ({@code rpm}, {@code tpm} of {@code keyBudgets}) among {@code gateways}
     * gateways sharing the keys: each paces every key at its part (rounded down, at least 1). The {@code rpd} budget is
     * read from the day's counters, which the shared store already adds up across gateways. 1: the whole budget. The
     * shared store sets 1 while it leases the budgets from Redis, and the number of gateways while Redis is away.
     */
    public void budgetSplit(int gateways) {
        int g = Math.max(1, gateways);
        if (g != budgetSplit) {
            budgetSplit = g;
            pool.budgets(this::budgetFor);
        }
    }

    /** The budgets of the live settings, the minute ones divided by {@link #budgetSplit}. */
    private io.gemgate.core.settings.KeyBudget budgetFor(String model) {
        io.gemgate.core.settings.KeyBudget b = settings.budgetFor(model);
        int g = budgetSplit;
        if (g <= 1 || b.isUnlimited()) {
            return b;
        }
        return new io.gemgate.core.settings.KeyBudget(part(b.rpm(), g), part(b.tpm(), g), b.rpd());
    }

    private static long part(long budget, int gateways) {
        return budget == io.gemgate.core.settings.KeyBudget.UNLIMITED ? budget : Math.max(1, budget / gateways);
    }

    /**
     * Calls {@code listener} after every {@link #settings(io.gemgate.core.settings.RuntimeSettings) change} of the
     * live settings (the shared store publishes them). It runs on the changing thread: keep it short.
     */
    public void addSettingsListener(Consumer<io.gemgate.core.settings.RuntimeSettings> listener) {
        settingsListeners.add(requireNonNull(listener, "listener"));
    }

    /** The admin token; the admin API is off when none is configured. */
    public TokenMatcher adminToken() {
        return adminToken;
    }

    /**
     * Stores the state now (the state file, written and synced, and Redis when shared); completes when done,
     * exceptionally when the state file could not be written. Admin writes answer only then.
     */
    public java.util.concurrent.CompletableFuture<Void> storeNow() {
        return store.get();
    }

    void store(java.util.function.Supplier<java.util.concurrent.CompletableFuture<Void>> s) {
        this.store = requireNonNull(s, "s");
    }

    /** Which origins' pages may call the API routes (server.corsAllowOrigins). */
    Cors cors() {
        return cors;
    }

    /** The admin API, or null when it is off. */
    public io.gemgate.server.admin.AdminApi admin() {
        return admin;
    }

    private volatile java.util.function.Supplier<java.util.concurrent.CompletableFuture<Void>> store =
            () -> java.util.concurrent.CompletableFuture.completedFuture(null);

    void admin(io.gemgate.server.admin.AdminApi api) {
        this.admin = api;
    }

    private volatile io.gemgate.server.requestlog.RequestLog requestLog =
            io.gemgate.server.requestlog.RequestLog.OFF;

    /** The request log: where each ended request's record goes; {@code OFF} when none is kept. */
    public io.gemgate.server.requestlog.RequestLog requestLog() {
        return requestLog;
    }

    void requestLog(io.gemgate.server.requestlog.RequestLog log) {
        this.requestLog = requireNonNull(log, "log");
    }

    public TokenMatcher token() {
        return token;
    }

    /** Requests between their head and their last byte. */
    public LongAdder inFlight() {
        return inFlight;
    }

    /** Open client connections. */
    public AtomicInteger connections() {
        return connections;
    }

    public boolean isShuttingDown() {
        return shuttingDown;
    }

    void startShutdown() {
        shuttingDown = true;
    }
}
