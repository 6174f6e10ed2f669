package io.gemgate.testing;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real {@code redis-server} bound to 127.0.0.1 on a free port, without persistence ({@code --save ''
 * --appendonly no}) and with its working directory in a temporary directory removed afterwards, for the tests of the
 * shared state. Register it with {@code @RegisterExtension static final RedisServer redis = new RedisServer();}: it
 * starts before the class's tests and stops after them. {@link #stop()} and {@link #start()} in between simulate an
 * outage; a restarted server has lost everything, as a Redis without persistence does.
 *
 * <p>Modes besides the plain one: {@link #tls()} (TLS only, with a CA and a server certificate for 127.0.0.1 made
 * by {@code openssl} for the test, and an ACL user with a password: {@link #url()} carries them, {@link
 * #caFile()} is the CA to trust) and {@link #clusterNode()} (cluster mode, for {@link RedisCluster}).
 *
 * <p>Without {@code redis-server} the tests fail (they are never skipped: a green build must have run them);
 * {@code .ci/run} installs it.
 */
public final class RedisServer implements BeforeAllCallback, AfterAllCallback {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(10);
    /** The ACL user of {@link #tls()} mode. */
    public static final String USER = "gemgate";

    private final boolean tls;
    private final boolean cluster;
    private final String password;
    private Path binary;
    private int port;
    private int busPort;
    private Process process;
    private Path dir;
    private Path log;

    /** A plain server: no TLS, no password. */
    public RedisServer() {
        this(false, false);
    }

    private RedisServer(boolean tls, boolean cluster) {
        this.tls = tls;
        this.cluster = cluster;
        this.password = tls ? "pw-" + Long.toHexString(new java.security.SecureRandom().nextLong()) : null;
    }

    /** A server that speaks TLS only, with ACL user {@value #USER} and a password; the default user is off. */
    public static RedisServer tls() {
        return new RedisServer(true, false);
    }

    /** A plain server in cluster mode (its cluster bus on a port of its own), for {@link RedisCluster}. */
    static RedisServer clusterNode() {
        return new RedisServer(false, true);
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        binary = binary();
        if (binary == null) {
            throw new IllegalStateException("redis-server is not installed (apt-get install -y redis-server): the "
                    + "shared-state tests need it");
        }
        try {
            dir = Files.createTempDirectory("gemgate-redis-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        log = dir.resolve("redis.log");
        port = freePort();
        if (cluster) {
            busPort = freePort();
        }
        if (tls) {
            certificates();
        }
        start();
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        stop();
        if (dir != null) {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    /**
     * {@code redis://127.0.0.1:PORT/0}; in {@link #tls()} mode {@code rediss://gemgate:PASSWORD@127.0.0.1:PORT/0}
     * (verified against {@link #caFile()}).
     */
    public String url() {
        return tls ? "rediss://" + USER + ":" + password + "@127.0.0.1:" + port + "/0"
                : "redis://127.0.0.1:" + port + "/0";
    }

    public int port() {
        return port;
    }

    /** The password of user {@value #USER} ({@link #tls()} mode), else null. */
    public String password() {
        return password;
    }

    /** The PEM file of the CA that signed the server's certificate ({@link #tls()} mode). */
    public Path caFile() {
        return dir.resolve("ca.crt");
    }

    /** Makes a CA and a certificate for 127.0.0.1 it signs, in the server's directory. */
    private void certificates() {
        Path ext = dir.resolve("server.ext");
        try {
            Files.writeString(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
                "-days", "2", "-subj", "/CN=Gemgate test CA");
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
                "-subj", "/CN=127.0.0.1");
        run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "server.crt", "-days", "2", "-extfile", "server.ext");
    }

    /** Runs a tool in the server's directory and waits for it; fails the test when it fails. */
    String run(String... command) {
        try {
            Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " failed:\n" + out);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** redis-server's arguments for the mode. */
    private List<String> arguments() {
        List<String> a = new java.util.ArrayList<>(List.of(binary.toString(), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", dir.toString()));
        if (tls) {
            a.addAll(List.of("--port", "0", "--tls-port", Integer.toString(port),
                    "--tls-cert-file", dir.resolve("server.crt").toString(),
                    "--tls-key-file", dir.resolve("server.key").toString(),
                    "--tls-ca-cert-file", caFile().toString(), "--tls-auth-clients", "no",
                    "--user", "default", "off",
                    "--user", USER, "on", ">" + password, "~*", "&*", "+@all"));
        } else {
            a.addAll(List.of("--port", Integer.toString(port)));
        }
        if (cluster) {
            a.addAll(List.of("--cluster-enabled", "yes", "--cluster-port", Integer.toString(busPort),
                    "--cluster-config-file", dir.resolve("nodes.conf").toString(),
                    "--cluster-node-timeout", "2000"));
        }
        return a;
    }

    /** True when the server answers PING (through redis-cli over TLS, with the user, in {@link #tls()} mode). */
    private boolean answers() {
        if (!tls) {
            return ping();
        }
        try {
            Process p = new ProcessBuilder(cli("ping")).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return p.waitFor(5, TimeUnit.SECONDS) && out.trim().equals("PONG");
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** A redis-cli command line for this server (TLS, user and password included in {@link #tls()} mode). */
    List<String> cli(String... command) {
        List<String> c = new java.util.ArrayList<>(List.of("redis-cli", "-h", "127.0.0.1", "-p",
                Integer.toString(port)));
        if (tls) {
            c.addAll(List.of("--tls", "--cacert", caFile().toString(), "--user", USER, "--pass", password,
                    "--no-auth-warning"));
        }
        c.addAll(List.of(command));
        return c;
    }

    /** Starts the server (again, on the same port, empty) and waits until it answers PING. */
    public synchronized void start() {
        if (process != null && process.isAlive()) {
            return;
        }
        try {
            if (cluster) {
                Files.deleteIfExists(dir.resolve("nodes.conf")); // a restarted node starts empty, out of the cluster
            }
            process = new ProcessBuilder(arguments())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + binary, e);
        }
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!answers()) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                String out;
                try {
                    out = Files.readString(log);
                } catch (IOException e) {
                    out = e.toString();
                }
                process.destroyForcibly();
                throw new IllegalStateException("redis-server did not answer on port " + port + ":\n" + out);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    /** Stops the server at once (SIGKILL: no save, no goodbye to clients) and waits until it is gone. */
    public synchronized void stop() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    /** True when the server answers {@code PING} with {@code +PONG}. */
    public boolean ping() {
        return ping(port);
    }

    /** True when whatever listens on 127.0.0.1:{@code port} answers {@code PING} with {@code +PONG}. */
    static boolean ping(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            s.setSoTimeout(500);
            OutputStream out = s.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            byte[] b = new byte[7];
            int n = in.readNBytes(b, 0, b.length);
            return new String(b, 0, n, StandardCharsets.US_ASCII).equals("+PONG\r\n");
        } catch (IOException e) {
            return false;
        }
    }

    /** The {@code redis-server} binary, or null when it is not installed. */
    static Path binary() {
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(File.pathSeparator)) {
                Path p = Path.of(dir, "redis-server");
                if (Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        for (String p : List.of("/usr/bin/redis-server", "/usr/sbin/redis-server", "/usr/local/bin/redis-server")) {
            if (Files.isExecutable(Path.of(p))) {
                return Path.of(p);
            }
        }
        return null;
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
