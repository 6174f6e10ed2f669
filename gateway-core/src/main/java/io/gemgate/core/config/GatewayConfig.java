package io.gemgate.core.config;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.keys.Strategy;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.time.ZoneId;

/**
 * The whole configuration, immutable after start-up. Read by {@link ConfigLoader} from {@code config/gateway.yaml} (or
 * the file named by {@code GEMGATE_CONFIG}), then from {@code GEMGATE_*} environment variables, which win. Each
 * setting's YAML path, variable and default are listed in {@code config/gateway.yaml}.
 */
public record GatewayConfig(Server server, Upstream upstream, Auth auth, Keys keys, Pool pool, State state,
                            Affinity affinity, SetAside setAside, RequestLog requestLog, Responses responses) {

    public GatewayConfig {
        requireNonNull(server, "server");
        requireNonNull(upstream, "upstream");
        requireNonNull(auth, "auth");
        requireNonNull(keys, "keys");
        requireNonNull(pool, "pool");
        requireNonNull(state, "state");
        requireNonNull(affinity, "affinity");
        requireNonNull(setAside, "setAside");
        requireNonNull(requestLog, "requestLog");
        requireNonNull(responses, "responses");
    }

    /** The configuration with the request log's defaults and the default stored responses. */
    public GatewayConfig(Server server, Upstream upstream, Auth auth, Keys keys, Pool pool, State state,
                         Affinity affinity, SetAside setAside) {
        this(server, upstream, auth, keys, pool, state, affinity, setAside, RequestLog.defaults(),
                Responses.DEFAULT);
    }

    /** The configuration with the defaults of the key affinity and set-aside brake settings. */
    public GatewayConfig(Server server, Upstream upstream, Auth auth, Keys keys, Pool pool, State state) {
        this(server, upstream, auth, keys, pool, state, new Affinity(100_000, 32), new SetAside(0.5,
                Duration.ofSeconds(60)));
    }

    /**
     * Key affinity (README, "Files, cached contents, batches and stores"): which key holds which file, cached content,
     * batch, store and upload session.
     *
     * @param maxEntries    live entries kept at most; calls that would create more get 503
     *                      ({@code affinity.maxEntries}, 100000)
     * @param lookupMaxKeys keys asked ({@code GET files/x}) to find the holder of a resource without a record; 0: no
     *                      lookup, the request goes to any key ({@code affinity.lookupMaxKeys}, 32)
     */
    public record Affinity(int maxEntries, int lookupMaxKeys) {
    }

    /**
     * The request log and usage history (README, "Request log and usage"): one record per request, written in batches
     * by one thread to a SQLite file in the data directory, or to PostgreSQL.
     *
     * @param enabled        records and usage are kept ({@code requests.enabled}, true)
     * @param databaseUrl    {@code postgres://user:pass@host:port/db} (also {@code postgresql://},
     *                       {@code jdbc:postgresql://}), or null for the SQLite file {@code requests.db} in the data
     *                       directory ({@code requests.databaseUrl}, {@code GEMGATE_DATABASE_URL})
     * @param retention      records older than this are pruned ({@code requests.retention}, 7d)
     * @param maxSize        the records' share of the database is kept under this by pruning the oldest
     *                       ({@code requests.maxSize}, 1 GiB)
     * @param usageRetention usage per day older than this is pruned; usage per minute is kept one day
     *                       ({@code requests.usageRetention}, 90d)
     * @param queueSize      records waiting for the writer at most; past half of it successes are sampled, when it
     *                       is full records are dropped and counted ({@code requests.queueSize}, 10000)
     * @param sampleWhenBusy past half the queue, one success in this many is kept ({@code requests.sampleWhenBusy},
     *                       10)
     * @param errorBodyBytes Google's error body is stored for failures up to this many bytes; 0: not stored
     *                       ({@code requests.errorBodyBytes}, 4 KiB)
     * @param flushInterval  the usage counts reach the database at least this often; records are written as they
     *                       come, in batches ({@code requests.flushInterval}, 1s)
     * @param cpuPercent     the writer's database work takes at most this share of one core, in percent: its cost
     *                       per row is measured and the sampling follows the rate of successes every 50 ms; past it
     *                       successes are sampled (failures are always written, usage stays exact)
     *                       ({@code requests.cpuPercent}, 1)
     */
    public record RequestLog(boolean enabled, String databaseUrl, Duration retention, long maxSize,
                             Duration usageRetention, int queueSize, int sampleWhenBusy, int errorBodyBytes,
                             Duration flushInterval, int cpuPercent) {
        public RequestLog {
            requireNonNull(retention, "retention");
            requireNonNull(usageRetention, "usageRetention");
            requireNonNull(flushInterval, "flushInterval");
        }

        /** The defaults, as {@code config/gateway.yaml} lists them. */
        public static RequestLog defaults() {
            return new RequestLog(true, null, Duration.ofDays(7), 1L << 30, Duration.ofDays(90), 10_000, 10, 4096,
                    Duration.ofSeconds(1), 1);
        }

        /** The same settings with the request log on or off. */
        public RequestLog withEnabled(boolean on) {
            return new RequestLog(on, databaseUrl, retention, maxSize, usageRetention, queueSize, sampleWhenBusy,
                    errorBodyBytes, flushInterval, cpuPercent);
        }

        /** The same settings with another database URL (null: the SQLite file). */
        public RequestLog withDatabaseUrl(String url) {
            return new RequestLog(enabled, url, retention, maxSize, usageRetention, queueSize, sampleWhenBusy,
                    errorBodyBytes, flushInterval, cpuPercent);
        }

        @Override
        public String toString() { // the URL may hold a password
            return "RequestLog[enabled=" + enabled + ", database=" + (databaseUrl == null ? "sqlite" : "<url>")
                    + ", retention=" + retention + ", maxSize=" + maxSize + ", usageRetention=" + usageRetention
                    + ", queueSize=" + queueSize + "]";
        }
    }

    /**
     * The set-aside brake: past {@code share} of the pool set aside as invalid for one reason within {@code window},
     * keys stay in rotation ({@code brake.share}, 0.5; {@code brake.window}, 60s).
     */
    /**
     * The responses of OpenAI's Responses API kept in memory for {@code previous_response_id} and
     * {@code GET /v1/responses/{id}} (README, "Responses API").
     *
     * @param storeMaxBytes estimated bytes kept at most, least recently used out first; 0 keeps none
     *                      ({@code responses.storeMaxBytes}, 64MiB)
     * @param storeTtl      how long one is kept ({@code responses.storeTtl}, 6h)
     */
    public record Responses(long storeMaxBytes, Duration storeTtl) {
        public static final Responses DEFAULT = new Responses(64L << 20, Duration.ofHours(6));

        public Responses {
            requireNonNull(storeTtl, "storeTtl");
        }
    }

    public record SetAside(double share, Duration window) {
        public SetAside {
            requireNonNull(window, "window");
        }
    }

    /**
     * The listening side.
     *
     * @param host               listen address ({@code server.host}, {@code GEMGATE_HOST}, default 0.0.0.0)
     * @param port               listen port, 0 = any free port ({@code server.port}, {@code GEMGATE_PORT}, 8080)
     * @param ioThreads          event loop threads, 0 = one per core ({@code server.ioThreads})
     * @param maxBodyBytes       largest request body; a larger declared Content-Length is answered 413 before the
     *                           body is read ({@code server.maxBodyBytes}, 20 MiB)
     * @param maxHeaderBytes     largest request header block, else 431 ({@code server.maxHeaderBytes}, 16 KiB)
     * @param maxInitialLineBytes largest request line, else 414 ({@code server.maxInitialLineBytes}, 8 KiB)
     * @param idleTimeout        a keep-alive connection with no request in flight is closed after this
     *                           ({@code server.idleTimeout}, 60s)
     * @param requestReadTimeout a client must send its whole request (head and body) within this, else 408 and
     *                           close: slow clients cannot hold a connection ({@code server.requestReadTimeout}, 30s)
     * @param shutdownGrace      on SIGTERM, streams in flight may finish for this long ({@code server.shutdownGrace},
     *                           25s)
     * @param maxConnections     client connections beyond this are closed at accept ({@code server.maxConnections},
     *                           20000)
     * @param corsAllowOrigins   origins whose pages may call the API routes from a browser (CORS): {@code ["*"]} for
     *                           any, an empty list for none; never the admin API ({@code server.corsAllowOrigins},
     *                           {@code *})
     */
    public record Server(String host, int port, int ioThreads, long maxBodyBytes, int maxHeaderBytes,
                         int maxInitialLineBytes, Duration idleTimeout, Duration requestReadTimeout,
                         Duration shutdownGrace, int maxConnections, List<String> corsAllowOrigins) {
        public Server {
            requireNonNull(host, "host");
            requireNonNull(idleTimeout, "idleTimeout");
            requireNonNull(requestReadTimeout, "requestReadTimeout");
            requireNonNull(shutdownGrace, "shutdownGrace");
            corsAllowOrigins = List.copyOf(requireNonNull(corsAllowOrigins, "corsAllowOrigins"));
        }

        /** With CORS open to any origin (the default). */
        public Server(String host, int port, int ioThreads, long maxBodyBytes, int maxHeaderBytes,
                      int maxInitialLineBytes, Duration idleTimeout, Duration requestReadTimeout,
                      Duration shutdownGrace, int maxConnections) {
            this(host, port, ioThreads, maxBodyBytes, maxHeaderBytes, maxInitialLineBytes, idleTimeout,
                    requestReadTimeout, shutdownGrace, maxConnections, List.of("*"));
        }
    }

    /**
     * The Gemini API side.
     *
     * @param url                   base URL, http or https, no path ({@code upstream.url}, {@code GEMGATE_UPSTREAM},
     *                              https://generativelanguage.googleapis.com)
     * @param connectTimeout        TCP + TLS connect ({@code upstream.connectTimeout}, 5s)
     * @param responseTimeout       from request sent to response head; past it the attempt is a timeout and the next
     *                              key is tried ({@code upstream.responseTimeout}, 120s)
     * @param streamIdleTimeout     longest gap between two body chunks once the answer has started
     *                              ({@code upstream.streamIdleTimeout}, 300s)
     * @param maxConnectionsPerLoop pooled connections per event loop ({@code upstream.maxConnectionsPerLoop}, 1024)
     * @param maxPendingAcquires    requests waiting for a pooled connection per event loop, beyond which they fail
     *                              fast with 503 ({@code upstream.maxPendingAcquires}, 4096)
     * @param poolIdleTimeout       idle pooled connections are closed after this, below Google's keep-alive
     *                              ({@code upstream.poolIdleTimeout}, 50s)
     * @param maxConnectionLifetime a pooled connection is retired after this, with up to 10% jitter
     *                              ({@code upstream.maxConnectionLifetime}, 10m)
     * @param egress                proxies and trust ({@code upstream.proxies}, {@code upstream.trustCertificates},
     *                              {@code upstream.exit*})
     */
    public record Upstream(URI url, Duration connectTimeout, Duration responseTimeout, Duration streamIdleTimeout,
                           int maxConnectionsPerLoop, int maxPendingAcquires, Duration poolIdleTimeout,
                           Duration maxConnectionLifetime, Egress egress) {
        /** Direct, with the system's trust. */
        public Upstream(URI url, Duration connectTimeout, Duration responseTimeout, Duration streamIdleTimeout,
                        int maxConnectionsPerLoop, int maxPendingAcquires, Duration poolIdleTimeout,
                        Duration maxConnectionLifetime) {
            this(url, connectTimeout, responseTimeout, streamIdleTimeout, maxConnectionsPerLoop, maxPendingAcquires,
                    poolIdleTimeout, maxConnectionLifetime, Egress.DIRECT);
        }

        public Upstream {
            requireNonNull(egress, "egress");
            requireNonNull(url, "url");
            requireNonNull(connectTimeout, "connectTimeout");
            requireNonNull(responseTimeout, "responseTimeout");
            requireNonNull(streamIdleTimeout, "streamIdleTimeout");
            requireNonNull(poolIdleTimeout, "poolIdleTimeout");
            requireNonNull(maxConnectionLifetime, "maxConnectionLifetime");
        }

        public boolean isTls() {
            return "https".equalsIgnoreCase(url.getScheme());
        }

        /** The port, with the scheme's default filled in. */
        public int port() {
            return url.getPort() > 0 ? url.getPort() : (isTls() ? 443 : 80);
        }
    }

    /**
     * How requests leave for the upstream.
     *
     * @param proxies           HTTP CONNECT and SOCKS5 proxies keys are pinned over ({@code upstream.proxies},
     *                          {@code GEMGATE_UPSTREAM_PROXIES}); empty: direct
     * @param trustCertificates a PEM file of CA certificates trusted for the upstream's TLS instead of the system's
     *                          (a TLS-inspecting company proxy, a local test upstream); hostname verification stays on
     *                          ({@code upstream.trustCertificates}, {@code GEMGATE_UPSTREAM_TRUST_CERTIFICATES}); null:
     *                          the system's trust
     * @param checkInterval     how often a failing exit is checked ({@code upstream.exitCheckInterval}, 10s)
     * @param rateLimitWindow   429s of every key of one exit within this are the exit's rate limit
     *                          ({@code upstream.exitRateLimitWindow}, 10s)
     * @param cooldown          how long a rate-limited exit cools ({@code upstream.exitCooldown}, 60s)
     * @param keysWait          what the keys of a cooling exit do: wait for it (true, {@code wait}) or move to the
     *                          next exit (false, {@code move}) ({@code upstream.exitCooling}, move)
     */
    public record Egress(java.util.List<io.gemgate.core.egress.ProxySpec> proxies, Path trustCertificates,
                         Duration checkInterval, Duration rateLimitWindow, Duration cooldown, boolean keysWait) {
        /** No proxies, the system's trust, the default exit settings. */
        public static final Egress DIRECT = new Egress(java.util.List.of(), null, Duration.ofSeconds(10),
                Duration.ofSeconds(10), Duration.ofSeconds(60), false);

        public Egress {
            proxies = java.util.List.copyOf(requireNonNull(proxies, "proxies"));
            requireNonNull(checkInterval, "checkInterval");
            requireNonNull(rateLimitWindow, "rateLimitWindow");
            requireNonNull(cooldown, "cooldown");
        }

        /** The settings of {@link io.gemgate.core.egress.Exits}. */
        public io.gemgate.core.egress.Exits.Settings exitSettings() {
            return new io.gemgate.core.egress.Exits.Settings(proxies, checkInterval, rateLimitWindow, cooldown,
                    keysWait);
        }
    }

    /**
     * Client credentials.
     *
     * @param token      the shared placeholder token clients present ({@code auth.token}, {@code GEMGATE_TOKEN});
     *                   null: none, then only user tokens work
     * @param adminToken bearer token of the admin API and page ({@code auth.adminToken}, {@code GEMGATE_ADMIN_TOKEN});
     *                   null: admin API off
     */
    public record Auth(String token, String adminToken) {
    }

    /**
     * @param file the keys file: one key a line, optional {@code project=NAME weight=N label=TEXT} after it, {@code #}
     *             comments and blank lines ignored, duplicates dropped ({@code keys.file}, {@code GEMGATE_KEYS_FILE},
     *             key.txt)
     */
    public record Keys(Path file) {
        public Keys {
            requireNonNull(file, "file");
        }
    }

    /**
     * The key pool.
     *
     * @param strategy            round_robin, least_used or adaptive ({@code pool.strategy}, round_robin)
     * @param maxAttempts         costly failures (5xx, connection failure, timeout) one request may meet before it
     *                            gives up, 1 to 20 ({@code pool.maxAttempts}, 3); 429s and invalid keys do not count
     * @param rateLimitCooldown   cooldown after a 429 that carries no RetryInfo; doubles on repeats
     *                            ({@code pool.rateLimitCooldown}, 60s)
     * @param rateLimitCooldownMax ceiling of that doubling ({@code pool.rateLimitCooldownMax}, 15m)
     * @param serverErrorCooldown cooldown of a key for a model after a 5xx, connect failure or timeout
     *                            ({@code pool.serverErrorCooldown}, 5s)
     * @param quotaResetZone      daily quotas reset at midnight in this zone ({@code pool.quotaResetZone},
     *                            America/Los_Angeles)
     * @param failoverDeadline    a request tries keys until one serves, none is left, or this long after it arrived
     *                            ({@code failover.deadline}, 30s; 1s to 10m)
     */
    public record Pool(Strategy strategy, int maxAttempts, Duration rateLimitCooldown, Duration rateLimitCooldownMax,
                       Duration serverErrorCooldown, ZoneId quotaResetZone, Duration failoverDeadline) {
        public Pool {
            requireNonNull(strategy, "strategy");
            requireNonNull(rateLimitCooldown, "rateLimitCooldown");
            requireNonNull(rateLimitCooldownMax, "rateLimitCooldownMax");
            requireNonNull(serverErrorCooldown, "serverErrorCooldown");
            requireNonNull(quotaResetZone, "quotaResetZone");
            requireNonNull(failoverDeadline, "failoverDeadline");
        }
    }

    /**
     * Where state lives.
     *
     * @param dataDir       directory of the embedded state file ({@code state.dataDir}, {@code GEMGATE_DATA_DIR},
     *                      ./data)
     * @param flushInterval a change is written at most this long after it happens ({@code state.flushInterval}, 2s)
     * @param redisUrl      share state through this Redis ({@code state.redisUrl}, {@code GEMGATE_REDIS_URL}); null:
     *                      embedded only
     * @param redisPrefix   starts the name of everything the gateway stores in Redis ({@code state.redisPrefix},
     *                      {@code GEMGATE_REDIS_PREFIX}, {@code gemgate:}): gateways share state when they share it
     * @param masterKey     encrypt stored upstream keys with a key derived from this ({@code state.masterKey},
     *                      {@code GEMGATE_MASTER_KEY}); null: stored as given
     * @param redisTrustCertificates a PEM file of CA certificates trusted for Redis's TLS ({@code rediss://} and the
     *                      other TLS forms) instead of the JVM's ({@code state.redisTrustCertificates},
     *                      {@code GEMGATE_REDIS_TRUST_CERTIFICATES}); hostname verification stays on; null: the JVM's
     */
    public record State(Path dataDir, Duration flushInterval, String redisUrl, String redisPrefix, String masterKey,
                        Path redisTrustCertificates) {
        public State {
            requireNonNull(dataDir, "dataDir");
            requireNonNull(redisPrefix, "redisPrefix");
            requireNonNull(flushInterval, "flushInterval");
        }

        /** Without a trust file for Redis (the JVM's trust). */
        public State(Path dataDir, Duration flushInterval, String redisUrl, String redisPrefix, String masterKey) {
            this(dataDir, flushInterval, redisUrl, redisPrefix, masterKey, null);
        }
    }
}
