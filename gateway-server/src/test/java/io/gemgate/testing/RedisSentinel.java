package io.gemgate.testing;

import io.lettuce.core.RedisClient;
import io.lettuce.core.sentinel.api.StatefulRedisSentinelConnection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

/**
 * Redis as operators run it with Sentinel, all real {@code redis-server} processes on 127.0.0.1 on free ports, in a
 * temporary directory removed afterwards: one master, one replica, and three {@code redis-server --sentinel} watching
 * them under the name {@link #MASTER} (quorum 2, down after 1 s). {@link #killMaster()} kills the master with SIGKILL;
 * {@link #awaitFailover} waits until the Sentinels name the replica. Without persistence, like {@link RedisServer}.
 *
 * <p>Use with try-with-resources: {@code try (RedisSentinel s = RedisSentinel.start()) { ... }}.
 */
public final class RedisSentinel implements AutoCloseable {
    /** The name the Sentinels know the master by. */
    public static final String MASTER = "gemgate";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(15);

    private final Path dir;
    private final Path binary;
    private final int masterPort;
    private final int replicaPort;
    private final int[] sentinelPorts = new int[3];
    private final List<Process> processes = new ArrayList<>();
    private Process master;

    private RedisSentinel() throws IOException {
        binary = RedisServer.binary();
        if (binary == null) {
            throw new IllegalStateException("redis-server is not installed: the Sentinel tests need it");
        }
        dir = Files.createTempDirectory("gemgate-sentinel-");
        masterPort = freePort();
        replicaPort = freePort();
        for (int i = 0; i < 3; i++) {
            sentinelPorts[i] = freePort();
        }
    }

    /** Starts the master, the replica and the three Sentinels, and waits until the Sentinels see both. */
    public static RedisSentinel start() {
        RedisSentinel s;
        try {
            s = new RedisSentinel();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            s.master = s.server("master", s.masterPort);
            s.server("replica", s.replicaPort, "--replicaof", "127.0.0.1", Integer.toString(s.masterPort));
            for (int i = 0; i < 3; i++) {
                s.sentinel(i);
            }
            s.awaitReplicaKnown();
            return s;
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** {@code redis-sentinel://127.0.0.1:A,127.0.0.1:B,127.0.0.1:C/0#gemgate}. */
    public String url() {
        return "redis-sentinel://127.0.0.1:" + sentinelPorts[0] + ",127.0.0.1:" + sentinelPorts[1] + ",127.0.0.1:"
                + sentinelPorts[2] + "/0#" + MASTER;
    }

    public int masterPort() {
        return masterPort;
    }

    public int replicaPort() {
        return replicaPort;
    }

    /** Kills the master at once (SIGKILL) and waits until it is gone. */
    public void killMaster() {
        master.destroyForcibly();
        try {
            master.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The port of the master the first Sentinel names now. */
    public int currentMasterPort() {
        try (RedisClient c = RedisClient.create("redis://127.0.0.1:" + sentinelPorts[0]);
             StatefulRedisSentinelConnection<String, String> conn = c.connectSentinel()) {
            SocketAddress a = conn.sync().getMasterAddrByName(MASTER);
            return ((InetSocketAddress) a).getPort();
        }
    }

    /** Waits until every Sentinel names the replica as the master. */
    public void awaitFailover(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            boolean all = true;
            for (int port : sentinelPorts) {
                all &= masterPortAt(port) == replicaPort;
            }
            if (all) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the Sentinels did not promote the replica within " + timeout + ":\n" + logs());
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
        }
    }

    private int masterPortAt(int sentinelPort) {
        try (RedisClient c = RedisClient.create("redis://127.0.0.1:" + sentinelPort);
             StatefulRedisSentinelConnection<String, String> conn = c.connectSentinel()) {
            SocketAddress a = conn.sync().getMasterAddrByName(MASTER);
            return a == null ? -1 : ((InetSocketAddress) a).getPort();
        } catch (RuntimeException e) {
            return -1;
        }
    }

    private void awaitReplicaKnown() {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            boolean ok = true;
            for (int port : sentinelPorts) {
                try (RedisClient c = RedisClient.create("redis://127.0.0.1:" + port);
                     StatefulRedisSentinelConnection<String, String> conn = c.connectSentinel()) {
                    ok &= conn.sync().replicas(MASTER).stream()
                            .anyMatch(r -> String.valueOf(replicaPort).equals(r.get("port"))
                                    && !String.valueOf(r.get("flags")).contains("down"))
                            && "2".equals(conn.sync().master(MASTER).get("num-other-sentinels"));
                } catch (RuntimeException e) {
                    ok = false;
                }
            }
            if (ok) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the Sentinels did not see the replica and each other:\n" + logs());
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
        }
    }

    private Process server(String name, int port, String... more) {
        List<String> cmd = new ArrayList<>(List.of(binary.toString(), "--port", Integer.toString(port),
                "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.toString()));
        cmd.addAll(List.of(more));
        return launch(name, cmd, port);
    }

    private void sentinel(int i) {
        Path conf = dir.resolve("sentinel-" + i + ".conf");
        try {
            Files.writeString(conf, String.join("\n",
                    "port " + sentinelPorts[i],
                    "bind 127.0.0.1",
                    "dir " + dir,
                    "sentinel monitor " + MASTER + " 127.0.0.1 " + masterPort + " 2",
                    "sentinel down-after-milliseconds " + MASTER + " 1000",
                    "sentinel failover-timeout " + MASTER + " 4000",
                    "sentinel parallel-syncs " + MASTER + " 1",
                    ""));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        launch("sentinel-" + i, List.of(binary.toString(), conf.toString(), "--sentinel"), sentinelPorts[i]);
    }

    private Process launch(String name, List<String> cmd, int port) {
        Path log = dir.resolve(name + ".log");
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + binary, e);
        }
        processes.add(p);
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!RedisServer.ping(port)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException(name + " did not answer on port " + port + ":\n" + logs());
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
        return p;
    }

    private String logs() {
        StringBuilder b = new StringBuilder();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(f -> f.toString().endsWith(".log")).sorted().toList()) {
                String text = Files.readString(f);
                b.append("--- ").append(f.getFileName()).append('\n')
                        .append(text.length() > 3000 ? text.substring(text.length() - 3000) : text);
            }
        } catch (IOException e) {
            b.append(e);
        }
        return b.toString();
    }

    /** Kills every process (SIGKILL) and removes the directory. */
    @Override
    public void close() {
        for (Process p : processes) {
            p.destroyForcibly();
        }
        for (Process p : processes) {
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            // a temporary directory left behind is not worth failing a test for
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
