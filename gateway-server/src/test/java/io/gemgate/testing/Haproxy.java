package io.gemgate.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;

/**
 * A real haproxy (Debian's {@code haproxy} package, which {@code ./test} installs) run in the foreground ({@code -db})
 * with a configuration file and the environment variables it names, listening on 127.0.0.1; its statistics page
 * ({@code stats uri /stats}) tells which servers it counts as up. Stopped by {@link #close()}.
 *
 * <p>Without haproxy the test fails: it is never skipped.
 */
public final class Haproxy implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    private final Process process;
    private final Path log;
    private final int statsPort;

    private Haproxy(Process process, Path log, int statsPort) {
        this.process = process;
        this.log = log;
        this.statsPort = statsPort;
    }

    /** The haproxy binary: on the PATH, else Debian's {@code /usr/sbin/haproxy}. */
    public static Path binary() {
        Path p = Programs.onPath("haproxy");
        if (p == null && Files.isExecutable(Path.of("/usr/sbin/haproxy"))) {
            p = Path.of("/usr/sbin/haproxy");
        }
        if (p == null) {
            throw new IllegalStateException("haproxy is not installed (apt-get install -y haproxy; ./test installs"
                    + " it)");
        }
        return p;
    }

    /**
     * Checks {@code config} ({@code haproxy -c}), then starts haproxy with it and {@code env} in {@code dir} (its
     * output goes to {@code haproxy.log} there), and waits until its statistics page on 127.0.0.1:{@code statsPort}
     * answers.
     */
    public static Haproxy start(Path config, Map<String, String> env, int statsPort, Path dir) throws IOException {
        Path bin = binary();
        Path log = dir.resolve("haproxy.log");
        Process check = builder(List.of(bin.toString(), "-c", "-f", config.toString()), env, dir, log).start();
        try {
            if (!check.waitFor(30, TimeUnit.SECONDS) || check.exitValue() != 0) {
                check.destroyForcibly();
                throw new IllegalStateException("haproxy -c refused " + config + ":\n" + Files.readString(log));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        Process p = builder(List.of(bin.toString(), "-db", "-f", config.toString()), env, dir, log).start();
        Haproxy h = new Haproxy(p, log, statsPort);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (h.stats() == null) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                h.close();
                throw new IllegalStateException("haproxy did not start:\n" + h.output());
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
        return h;
    }

    private static ProcessBuilder builder(List<String> cmd, Map<String, String> env, Path dir, Path log) {
        ProcessBuilder b = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        b.environment().putAll(env);
        return b;
    }

    /**
     * The status haproxy gives each server of {@code backend} now ({@code UP}, {@code DOWN}, {@code UP 1/2},
     * {@code DOWN 1/2}, {@code no check}...), by server name, from {@code /stats;csv}; empty when the page does not
     * answer.
     */
    public Map<String, String> servers(String backend) {
        List<String[]> rows = stats();
        Map<String, String> out = new LinkedHashMap<>();
        if (rows == null || rows.isEmpty()) {
            return out;
        }
        List<String> head = Arrays.asList(rows.get(0));
        int px = head.indexOf("pxname");
        int sv = head.indexOf("svname");
        int st = head.indexOf("status");
        for (String[] r : rows.subList(1, rows.size())) {
            if (r.length > st && r[px].equals(backend) && !r[sv].equals("BACKEND") && !r[sv].equals("FRONTEND")) {
                out.put(r[sv], r[st]);
            }
        }
        return out;
    }

    /** Polls {@link #servers} until {@code ok} holds, for up to {@code timeout}; false when it never did. */
    public boolean await(String backend, Predicate<Map<String, String>> ok, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (ok.test(servers(backend))) {
                return true;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
        return ok.test(servers(backend));
    }

    /** The CSV rows of the statistics page (the first is the header, without its leading {@code # }), or null. */
    private List<String[]> stats() {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + statsPort
                    + "/stats;csv")).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                return null;
            }
            List<String[]> rows = new ArrayList<>();
            for (String line : r.body().split("\n")) {
                if (!line.isBlank()) {
                    rows.add((line.startsWith("# ") ? line.substring(2) : line).split(",", -1));
                }
            }
            return rows;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** What haproxy printed (its alerts and warnings). */
    public String output() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
