package io.gemgate.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real PostgreSQL server for the request log's tests: {@code initdb} into a temporary directory, {@code postgres}
 * on 127.0.0.1 and a free port with its Unix socket in that directory, fsync off, stopped and removed after the class.
 * Register it with {@code @RegisterExtension static final PostgresServer pg = new PostgresServer();}.
 *
 * <p>The binaries are looked for on the PATH, then under {@code /usr/lib/postgresql/<version>/bin} (Debian's
 * {@code postgresql} package, which {@code ./test} installs). {@code initdb} and {@code postgres} refuse to run as
 * root: as root the helper runs them as the unprivileged user {@code nobody} ({@code setpriv}), its directory given
 * to that user. Without PostgreSQL the tests fail; they are never skipped.
 *
 * <p>The superuser is {@value #USER} with password {@value #PASSWORD}, checked over TCP (scram-sha-256), so that
 * URLs with credentials are really tested.
 */
public final class PostgresServer implements BeforeAllCallback, AfterAllCallback {
    public static final String USER = "gemgate";
    public static final String PASSWORD = "pg-test-pw-4e1a";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    private Path bin;
    private Path dir;
    private Path data;
    private Path log;
    private int port;
    private Process process;
    private boolean asNobody;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        bin = findBin();
        if (bin == null) {
            throw new IllegalStateException("PostgreSQL is not installed (apt-get install -y postgresql): the request"
                    + " log's PostgreSQL tests need initdb and postgres");
        }
        asNobody = "root".equals(System.getProperty("user.name")) || isRoot();
        dir = Files.createTempDirectory("gemgate-pg-");
        data = dir.resolve("data");
        log = dir.resolve("postgres.log");
        Path pw = dir.resolve("pw");
        Files.writeString(pw, PASSWORD + "\n");
        if (asNobody) {
            giveToNobody(dir);
            giveToNobody(pw);
        }
        run(List.of(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", USER, "--pwfile=" + pw,
                "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"), Duration.ofSeconds(60));
        Files.delete(pw);
        port = freePort();
        start();
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        stop();
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    public int port() {
        return port;
    }

    /** {@code postgres://gemgate:PASSWORD@127.0.0.1:PORT/database}: what {@code GEMGATE_DATABASE_URL} takes. */
    public String url(String database) {
        return "postgres://" + USER + ":" + PASSWORD + "@127.0.0.1:" + port + "/" + database;
    }

    /** A JDBC connection to {@code database} as the superuser. */
    public Connection connect(String database) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", USER);
        p.setProperty("password", PASSWORD);
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + database, p);
    }

    /** Creates an empty database (a test's own). */
    public void createDatabase(String name) throws SQLException {
        try (Connection c = connect("postgres"); Statement s = c.createStatement()) {
            s.execute("create database " + name);
        }
    }

    /** Starts the server and waits until it accepts connections. */
    public synchronized void start() {
        if (process != null && process.isAlive()) {
            return;
        }
        List<String> cmd = List.of(bin.resolve("postgres").toString(), "-D", data.toString(), "-p",
                Integer.toString(port), "-k", dir.toString(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=50");
        try {
            process = builder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + cmd.get(0), e);
        }
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!accepts()) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new IllegalStateException("postgres did not start on port " + port + ":\n" + logText());
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
    }

    /** Stops the server (fast shutdown: clients are disconnected) and waits until it is gone. */
    public synchronized void stop() {
        if (process == null) {
            return;
        }
        try {
            run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "fast", "-w", "stop"),
                    Duration.ofSeconds(30));
        } catch (RuntimeException e) {
            process.destroyForcibly();
        }
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    private boolean accepts() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        } catch (IOException e) {
            return false;
        }
        try (Connection c = connect("postgres")) {
            return c.isValid(2);
        } catch (SQLException e) {
            return false; // still starting ("the database system is starting up")
        }
    }

    private ProcessBuilder builder(List<String> cmd) {
        List<String> full = new ArrayList<>();
        if (asNobody) {
            full.addAll(List.of("setpriv", "--reuid=nobody", "--regid=" + nobodyGroup(), "--clear-groups", "--"));
        }
        full.addAll(cmd);
        ProcessBuilder b = new ProcessBuilder(full).directory(dir.toFile());
        b.environment().put("LC_ALL", "C");
        return b;
    }

    private void run(List<String> cmd, Duration timeout) {
        try {
            Process p = builder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(cmd.get(0) + " did not finish in " + timeout + ":\n" + logText());
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(cmd.get(0) + " failed (exit " + p.exitValue() + "):\n" + logText());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + cmd.get(0), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private String logText() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static boolean isRoot() {
        try {
            Process p = new ProcessBuilder("id", "-u").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            p.waitFor(5, TimeUnit.SECONDS);
            return out.equals("0");
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Debian names nobody's group nogroup; others nobody. */
    private static String nobodyGroup() {
        try {
            return Files.readAllLines(Path.of("/etc/group")).stream().anyMatch(l -> l.startsWith("nogroup:"))
                    ? "nogroup" : "nobody";
        } catch (IOException e) {
            return "nogroup";
        }
    }

    private static void giveToNobody(Path p) throws IOException {
        UserPrincipalLookupService users = p.getFileSystem().getUserPrincipalLookupService();
        UserPrincipal nobody = users.lookupPrincipalByName("nobody");
        GroupPrincipal group = users.lookupPrincipalByGroupName(nobodyGroup());
        PosixFileAttributeView view = Files.getFileAttributeView(p, PosixFileAttributeView.class);
        view.setOwner(nobody);
        view.setGroup(group);
    }

    /** The directory of initdb and postgres: the PATH's, else the newest {@code /usr/lib/postgresql/N/bin}. */
    private static Path findBin() {
        String path = System.getenv("PATH");
        if (path != null) {
            for (String d : path.split(File.pathSeparator)) {
                Path initdb = Path.of(d, "initdb");
                if (Files.isExecutable(initdb)) {
                    try {
                        Path real = initdb.toRealPath().getParent();
                        if (Files.isExecutable(real.resolve("postgres")) && Files.isExecutable(real.resolve("pg_ctl"))) {
                            return real;
                        }
                    } catch (IOException ignored) {
                        // look further
                    }
                }
            }
        }
        Path root = Path.of("/usr/lib/postgresql");
        if (!Files.isDirectory(root)) {
            return null;
        }
        try (Stream<Path> versions = Files.list(root)) {
            return versions.map(v -> v.resolve("bin"))
                    .filter(b -> Files.isExecutable(b.resolve("initdb")) && Files.isExecutable(b.resolve("postgres")))
                    .max(Comparator.comparing(b -> versionOf(b.getParent().getFileName().toString())))
                    .orElse(null);
        } catch (IOException e) {
            return null;
        }
    }

    private static int versionOf(String name) {
        try {
            return Integer.parseInt(name.replaceAll("\\D.*", ""));
        } catch (NumberFormatException e) {
            return 0;
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
