package io.gemgate.server.shared;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.config.ConfigException;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.SslOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One Redis deployment as {@code GEMGATE_REDIS_URL} names it, and Lettuce's client for it (README, "Several gateways"):
 * <ul>
 *   <li>{@code redis://[[user]:password@]host[:port][/database]}, {@code rediss://...} (TLS), {@code redis-socket://path}:
 *       one server;</li>
 *   <li>{@code redis-sentinel://[[user]:password@]host[:port][,host[:port]...][/database]#master} (or
 *       {@code rediss-sentinel://} for TLS, or {@code redis://host:port?sentinelMasterId=master}): the master that
 *       these Sentinels name, followed through failovers;</li>
 *   <li>{@code redis-cluster://[[user]:password@]host[:port][,host[:port]...]} (or {@code rediss-cluster://} for TLS):
 *       a Redis Cluster reached through any of these nodes; the layout's hash tags keep each script's keys in one
 *       slot ({@link RedisLayout}).</li>
 * </ul>
 * The URL is never logged: {@link #where()} names the place without user or password.
 */
final class RedisLink {
    static final String CLUSTER = "redis-cluster";
    static final String CLUSTER_SECURE = "rediss-cluster";

    private static final String EXPECTED = "redis://[[user]:password@]host[:port][/database], rediss://... (TLS), "
            + "redis-socket://path, redis-sentinel://host:port[,host:port...][/database]#master (or "
            + "redis://...?sentinelMasterId=master), or redis-cluster://host:port[,host:port...]";

    private final List<RedisURI> uris;
    private final boolean cluster;
    private final String where;
    private Path trust;
    private AbstractRedisClient client;

    private RedisLink(List<RedisURI> uris, boolean cluster) {
        this.uris = uris;
        this.cluster = cluster;
        RedisURI u = uris.get(0);
        String kind;
        if (cluster) {
            StringBuilder b = new StringBuilder("cluster ");
            for (int i = 0; i < uris.size(); i++) {
                b.append(i == 0 ? "" : ",").append(uris.get(i).getHost()).append(':').append(uris.get(i).getPort());
            }
            kind = b.toString();
        } else if (u.getSentinelMasterId() != null) {
            StringBuilder b = new StringBuilder("master '" + u.getSentinelMasterId() + "' of sentinels ");
            for (int i = 0; i < u.getSentinels().size(); i++) {
                RedisURI s = u.getSentinels().get(i);
                b.append(i == 0 ? "" : ",").append(s.getHost()).append(':').append(s.getPort());
            }
            kind = b + "/" + u.getDatabase();
        } else if (u.getSocket() != null) {
            kind = u.getSocket() + "/" + u.getDatabase();
        } else {
            kind = u.getHost() + ":" + u.getPort() + "/" + u.getDatabase();
        }
        this.where = (u.isSsl() ? "tls " : "") + kind;
    }

    /**
     * Reads a Redis URL.
     *
     * @throws ConfigException naming GEMGATE_REDIS_URL, never repeating the URL (it may hold a password)
     */
    static RedisLink parse(String url) {
        requireNonNull(url, "url");
        try {
            int colon = url.indexOf("://");
            if (colon <= 0) {
                throw new IllegalArgumentException("no scheme");
            }
            String scheme = url.substring(0, colon);
            if (scheme.equals(CLUSTER) || scheme.equals(CLUSTER_SECURE)) {
                return new RedisLink(clusterNodes(url, scheme), true);
            }
            RedisURI uri = RedisURI.create(url);
            if ((scheme.equals(RedisURI.URI_SCHEME_REDIS) || scheme.equals(RedisURI.URI_SCHEME_REDIS_SECURE))
                    && URI.create(url).getHost() == null) {
                throw new IllegalArgumentException("no host");
            }
            if (uri.getSentinelMasterId() != null && uri.getSentinels().isEmpty()) {
                uri = RedisURI.create(asSentinel(URI.create(url), scheme, uri));
            }
            if (scheme.startsWith(RedisURI.URI_SCHEME_REDIS_SENTINEL) && (uri.getSentinelMasterId() == null
                    || uri.getSentinelMasterId().isBlank() || uri.getSentinels().isEmpty())) {
                throw new IllegalArgumentException("no master");
            }
            return new RedisLink(List.of(uri), false);
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            // Not e's message: it may repeat the URL, which may hold a password.
            throw new ConfigException("GEMGATE_REDIS_URL (state.redisUrl): not a Redis URL (expected: " + EXPECTED
                    + ")");
        }
    }

    /** {@code redis://[cred@]host:port/db?sentinelMasterId=m} → {@code redis-sentinel://[cred@]host:port/db#m}. */
    private static String asSentinel(URI u, String scheme, RedisURI read) {
        String user = u.getRawUserInfo() == null ? "" : u.getRawUserInfo() + "@";
        int port = u.getPort() < 0 ? RedisURI.DEFAULT_SENTINEL_PORT : u.getPort();
        return (scheme.equals(RedisURI.URI_SCHEME_REDIS_SECURE) ? RedisURI.URI_SCHEME_REDIS_SENTINEL_SECURE
                : RedisURI.URI_SCHEME_REDIS_SENTINEL) + "://" + user + u.getHost() + ":" + port + "/"
                + read.getDatabase() + "#" + read.getSentinelMasterId();
    }

    /** {@code redis-cluster://[cred@]h:p,h:p} → one {@code redis://} (or {@code rediss://}) URI per node. */
    private static List<RedisURI> clusterNodes(String url, String scheme) {
        String rest = url.substring(scheme.length() + 3);
        String credentials = "";
        int at = rest.lastIndexOf('@');
        if (at >= 0) {
            credentials = rest.substring(0, at + 1);
            rest = rest.substring(at + 1);
        }
        int end = rest.indexOf('/');
        if (end >= 0) {
            String tail = rest.substring(end);
            if (!tail.equals("/") && !tail.equals("/0")) {
                throw new IllegalArgumentException("a cluster has database 0 only");
            }
            rest = rest.substring(0, end);
        }
        String single = scheme.equals(CLUSTER_SECURE) ? RedisURI.URI_SCHEME_REDIS_SECURE : RedisURI.URI_SCHEME_REDIS;
        List<RedisURI> out = new ArrayList<>();
        for (String node : rest.split(",")) {
            if (node.isBlank()) {
                throw new IllegalArgumentException("empty node");
            }
            String u = single + "://" + credentials + node.trim();
            if (URI.create(u).getHost() == null) {
                throw new IllegalArgumentException("no host");
            }
            out.add(RedisURI.create(u));
        }
        return List.copyOf(out);
    }

    /**
     * Trusts the CA certificates of this PEM file for TLS instead of the JVM's (a private CA); null: the JVM's. Before
     * {@link #open}. Host names are still verified (Lettuce's default for TLS URLs).
     */
    void trustCertificates(Path pemFile) {
        this.trust = pemFile;
    }

    /** The TLS options: the trust file's CAs, or Lettuce's defaults (the JVM's trust). */
    private SslOptions ssl() {
        return trust == null ? SslOptions.create() : SslOptions.builder().jdkSslProvider().trustManager(trust.toFile())
                .build();
    }

    /** Where, for logs: host and port (or socket, Sentinel master, cluster nodes) and database; no credentials. */
    String where() {
        return where;
    }

    boolean isCluster() {
        return cluster;
    }

    boolean isSentinel() {
        return !cluster && uris.get(0).getSentinelMasterId() != null;
    }

    /** The database number: part of the channel name (0 in a cluster). */
    int database() {
        return cluster ? 0 : uris.get(0).getDatabase();
    }

    /** Builds the client (once): auto-reconnect, commands rejected at once while disconnected, timeouts. */
    void open(ClientResources resources, Duration commandTimeout, Duration connectTimeout,
              RedisConnectionStateListener listener) {
        for (RedisURI u : uris) {
            u.setTimeout(commandTimeout);
        }
        SocketOptions socket = SocketOptions.builder().connectTimeout(connectTimeout).keepAlive(true).build();
        if (cluster) {
            client = ClusterClients.create(resources, uris, socket, ssl(), commandTimeout, listener);
        } else {
            RedisClient c = RedisClient.create(resources, uris.get(0));
            c.setOptions(ClientOptions.builder()
                    .autoReconnect(true)
                    // Fail at once while disconnected: our own marks keep the changes, Lettuce need not buffer them.
                    .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                    .socketOptions(socket)
                    .sslOptions(ssl())
                    .timeoutOptions(TimeoutOptions.enabled(commandTimeout))
                    .build());
            c.addListener(listener);
            client = c;
        }
    }

    /** A new connection for commands. */
    StatefulConnection<String, String> connect() {
        return cluster ? ClusterClients.connect(client) : ((RedisClient) client).connect();
    }

    /** The asynchronous commands of a connection from {@link #connect()}. */
    static RedisClusterAsyncCommands<String, String> async(StatefulConnection<String, String> c) {
        if (c instanceof StatefulRedisConnection<String, String> sc) {
            return sc.async();
        }
        return ClusterClients.async(c);
    }

    /** A new connection for pub/sub (in a cluster, messages published on any node reach it). */
    StatefulRedisPubSubConnection<String, String> connectPubSub() {
        return cluster ? ClusterClients.connectPubSub(client) : ((RedisClient) client).connectPubSub();
    }

    /**
     * Everything that names Lettuce's cluster classes, in a class of its own: a gateway on one server or Sentinel never
     * loads them (loading them cost the start a noticeable time on a busy machine).
     */
    private static final class ClusterClients {
        static AbstractRedisClient create(ClientResources resources, List<RedisURI> uris, SocketOptions socket,
                                          SslOptions ssl, Duration commandTimeout,
                                          RedisConnectionStateListener listener) {
            RedisClusterClient c = RedisClusterClient.create(resources, uris);
            c.setOptions(ClusterClientOptions.builder()
                    .autoReconnect(true)
                    .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                    .socketOptions(socket)
                    .sslOptions(ssl)
                    .timeoutOptions(TimeoutOptions.enabled(commandTimeout))
                    // A failover moves slots: follow it (MOVED, ASK, reconnect attempts) and now and then anyway.
                    .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
                            .enableAllAdaptiveRefreshTriggers()
                            .enablePeriodicRefresh(Duration.ofSeconds(30))
                            .build())
                    .build());
            c.addListener(listener);
            return c;
        }

        static StatefulConnection<String, String> connect(AbstractRedisClient client) {
            return ((RedisClusterClient) client).connect();
        }

        static StatefulRedisPubSubConnection<String, String> connectPubSub(AbstractRedisClient client) {
            return ((RedisClusterClient) client).connectPubSub();
        }

        static RedisClusterAsyncCommands<String, String> async(StatefulConnection<String, String> c) {
            return ((StatefulRedisClusterConnection<String, String>) c).async();
        }
    }

    void shutdown() {
        if (client != null) {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }
}
