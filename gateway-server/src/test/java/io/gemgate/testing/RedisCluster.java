package io.gemgate.testing;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real Redis Cluster of three masters ({@code redis-server --cluster-enabled yes}, each a {@link
 * RedisServer#clusterNode()} on free ports of 127.0.0.1, its cluster bus on another), joined by {@code redis-cli
 * --cluster create} with the 16384 slots spread over the three. Register it with {@code @RegisterExtension static
 * final RedisCluster cluster = new RedisCluster();}: it starts before the class's tests and stops after them.
 */
public final class RedisCluster implements BeforeAllCallback, AfterAllCallback {
    private static final int NODES = 3;
    private final List<RedisServer> nodes = new ArrayList<>();

    @Override
    public void beforeAll(ExtensionContext context) {
        for (int i = 0; i < NODES; i++) {
            RedisServer n = RedisServer.clusterNode();
            nodes.add(n);
            n.beforeAll(context);
        }
        List<String> create = new ArrayList<>(List.of("--cluster", "create"));
        for (RedisServer n : nodes) {
            create.add("127.0.0.1:" + n.port());
        }
        create.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
        nodes.get(0).run(nodes.get(0).cli(create.toArray(String[]::new)).toArray(String[]::new));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (RedisServer n : nodes) {
            while (!n.run(n.cli("cluster", "info").toArray(String[]::new)).contains("cluster_state:ok")) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the Redis Cluster did not reach cluster_state:ok");
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
            }
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        IOException first = null;
        for (RedisServer n : nodes) {
            try {
                n.afterAll(context);
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** {@code redis-cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3}: the form {@code GEMGATE_REDIS_URL} takes. */
    public String url() {
        StringBuilder b = new StringBuilder("redis-cluster://");
        for (int i = 0; i < nodes.size(); i++) {
            b.append(i == 0 ? "" : ",").append("127.0.0.1:").append(nodes.get(i).port());
        }
        return b.toString();
    }

    /** The nodes, each a master of a third of the slots. */
    public List<RedisServer> nodes() {
        return List.copyOf(nodes);
    }

    /** Empties every node ({@code FLUSHALL}). */
    public void flushAll() {
        for (RedisServer n : nodes) {
            n.run(n.cli("flushall").toArray(String[]::new));
        }
    }

    /** The keys every node holds, by node ({@code KEYS *}: tests only). */
    public List<List<String>> keysByNode() {
        List<List<String>> out = new ArrayList<>();
        for (RedisServer n : nodes) {
            String all = n.run(n.cli("--no-raw", "keys", "*").toArray(String[]::new));
            List<String> keys = new ArrayList<>();
            for (String line : all.split("\n")) {
                int q = line.indexOf('"');
                if (q >= 0 && line.lastIndexOf('"') > q) {
                    keys.add(line.substring(q + 1, line.lastIndexOf('"')));
                }
            }
            out.add(keys);
        }
        return out;
    }
}
