package io.gemgate.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A real forward proxy started by a test on 127.0.0.1 and a free port: Debian's {@code tinyproxy} (HTTP, CONNECT
 * tunnels, optional Basic credentials) or {@code microsocks} (SOCKS5, optional user/password), each with its own
 * config in a temp directory. Its outgoing connections leave from {@link #exitAddress()} (another loopback address,
 * 127.0.0.2, 127.0.0.3 ...), so that the fake upstream can tell which proxy carried a request, as Google sees an
 * exit's IP.
 *
 * <p>Without the binaries the tests fail (never skipped); {@code .ci/run} installs them.
 */
public final class ProxyServer implements AutoCloseable {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(10);

    /** What to start. */
    public enum Kind { TINYPROXY, MICROSOCKS }

    private final Kind kind;
    private final String exitAddress;
    private final String user;
    private final String password;
    private final Path dir;
    private final int port;
    private Process process;

    private ProxyServer(Kind kind, String exitAddress, String user, String password, int port) {
        this.kind = kind;
        this.exitAddress = exitAddress;
        this.user = user;
        this.password = password;
        this.port = port;
        try {
            this.dir = Files.createTempDirectory("gemgate-proxy-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An HTTP CONNECT proxy; {@code user} null: no credentials asked. */
    public static ProxyServer tinyproxy(String exitAddress, String user, String password) {
        ProxyServer p = new ProxyServer(Kind.TINYPROXY, exitAddress, user, password, freePort());
        p.start();
        return p;
    }

    /** A SOCKS5 proxy; {@code user} null: no credentials asked. */
    public static ProxyServer microsocks(String exitAddress, String user, String password) {
        ProxyServer p = new ProxyServer(Kind.MICROSOCKS, exitAddress, user, password, freePort());
        p.start();
        return p;
    }

    /** The proxy URL for {@code upstream.proxies}, with the credentials when it asks for them. */
    public String url() {
        String scheme = kind == Kind.TINYPROXY ? "http" : "socks5";
        return scheme + "://" + (user == null ? "" : user + ":" + password + "@") + "127.0.0.1:" + port;
    }

    /** The proxy URL with other credentials (a wrong password). */
    public String urlWith(String user, String password) {
        String scheme = kind == Kind.TINYPROXY ? "http" : "socks5";
        return scheme + "://" + user + ":" + password + "@127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** The address the proxy's connections to the upstream come from. */
    public String exitAddress() {
        return exitAddress;
    }

    /** {@code 127.0.0.1:PORT}: the exit's label in metrics and the admin API. */
    public String label() {
        return "127.0.0.1:" + port;
    }

    /** Starts the proxy (again, on the same port) and waits until it accepts connections. */
    public synchronized void start() {
        if (process != null && process.isAlive()) {
            return;
        }
        List<String> cmd = new ArrayList<>();
        Path log = dir.resolve("proxy.log");
        if (kind == Kind.TINYPROXY) {
            Path conf = dir.resolve("tinyproxy.conf");
            StringBuilder c = new StringBuilder()
                    .append("Port ").append(port).append('\n')
                    .append("Listen 127.0.0.1\n")
                    .append("Bind ").append(exitAddress).append('\n')
                    .append("Timeout 60\n")
                    .append("MaxClients 200\n")
                    .append("LogLevel Notice\n")
                    .append("DisableViaHeader Yes\n");
            if (user != null) {
                c.append("BasicAuth ").append(user).append(' ').append(password).append('\n');
            }
            try {
                Files.writeString(conf, c.toString());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            cmd.addAll(List.of(binary("tinyproxy"), "-d", "-c", conf.toString()));
        } else {
            cmd.addAll(List.of(binary("microsocks"), "-i", "127.0.0.1", "-p", Integer.toString(port), "-b",
                    exitAddress));
            if (user != null) {
                cmd.addAll(List.of("-u", user, "-P", password));
            }
        }
        try {
            process = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + cmd.get(0), e);
        }
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!accepts()) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                process.destroyForcibly();
                String out;
                try {
                    out = Files.readString(log);
                } catch (IOException e) {
                    out = e.toString();
                }
                throw new IllegalStateException(kind + " did not listen on port " + port + ":\n" + out);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    /** Kills the proxy at once (SIGKILL: its tunnels drop) and waits until it is gone. */
    public synchronized void kill() {
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

    private boolean accepts() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void close() {
        kill();
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
            Files.delete(dir);
        } catch (IOException e) {
            // a temp directory left behind is harmless
        }
    }

    private static String binary(String name) {
        String path = System.getenv("PATH");
        List<String> dirs = new ArrayList<>(List.of("/usr/bin", "/usr/sbin", "/usr/local/bin"));
        if (path != null) {
            dirs.addAll(0, List.of(path.split(File.pathSeparator)));
        }
        for (String d : dirs) {
            Path p = Path.of(d, name);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        throw new IllegalStateException(name + " is not installed (apt-get install -y tinyproxy microsocks): the "
                + "egress tests need it");
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
