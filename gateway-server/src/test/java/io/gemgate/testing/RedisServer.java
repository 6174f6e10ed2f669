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
 * <p>Without {@code redis-server} the tests fail (they are never skipped: a green build must have run them);
 * {@code .ci/run} installs it.
 */
public final class RedisServer implements BeforeAllCallback, AfterAllCallback {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(10);

    private Path binary;
    private int port;
    private Process process;
    private Path dir;
    private Path log;

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

    /** {@code redis://127.0.0.1:PORT/0}. */
    public String url() {
        return "redis://127.0.0.1:" + port + "/0";
    }

    public int port() {
        return port;
    }

    /** Starts the server (again, on the same port, empty) and waits until it answers PING. */
    public synchronized void start() {
        if (process != null && process.isAlive()) {
            return;
        }
        try {
            process = new ProcessBuilder(List.of(binary.toString(), "--port", Integer.toString(port),
                    "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.toString()))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + binary, e);
        }
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!ping()) {
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
