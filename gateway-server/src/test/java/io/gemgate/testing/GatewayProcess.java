package io.gemgate.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * The gateway in a JVM of its own, as a user runs it: started from the tests' classpath ({@link #launchMain}) or from
 * the packaged jar by the caller, then awaited on {@code /health}. For the tests that stop it with SIGTERM or kill it
 * with SIGKILL.
 */
public final class GatewayProcess {
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private GatewayProcess() {
    }

    /** A TCP port free on this machine now. */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * Starts {@code io.gemgate.server.Main} from the tests' classpath in {@code dir}, with the module's log4j2.xml and
     * no {@code GEMGATE_} variable but those of {@code env}; its output goes to {@code stdout-<n>.log} and
     * {@code stderr-<n>.log} in {@code dir}.
     */
    public static Process launchMain(Path dir, Map<String, String> env, int n) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "-Dlog4j2.configurationFile=" + Path.of("src/main/resources/log4j2.xml").toAbsolutePath(),
                "io.gemgate.server.Main");
        pb.directory(dir.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("GEMGATE_"));
        pb.environment().putAll(env);
        pb.redirectOutput(dir.resolve("stdout-" + n + ".log").toFile());
        pb.redirectError(dir.resolve("stderr-" + n + ".log").toFile());
        return pb.start();
    }

    /**
     * Starts the packaged jar as a user does ({@code java -jar gemgate.jar}) in {@code dir}, with no {@code GEMGATE_}
     * variable but those of {@code env}; stdout and stderr go to {@code log} (appended: a restarted gateway keeps
     * its earlier output).
     */
    public static Process launchJar(Path jar, Path dir, Map<String, String> env, Path log) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-jar", jar.toString()).directory(dir.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("GEMGATE_"));
        pb.environment().putAll(env);
        pb.redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        return pb.start();
    }

    /** Polls {@code /health} on 127.0.0.1 until it answers 200, for up to 30 s, failing if the process dies. */
    public static void awaitHealthy(Process p, int port) {
        awaitHealthy(p, port, () -> "");
    }

    /**
     * As {@link #awaitHealthy(Process, int)}; a failure message carries {@code output} (the process's log, say).
     */
    public static void awaitHealthy(Process p, int port, Supplier<String> output) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            assertThat(p.isAlive()).as("gateway process alive; its output: %s", output.get()).isTrue();
            try {
                HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                        + "/health")).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException | InterruptedException e) {
                // not listening yet
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
        throw new AssertionError("gateway did not become healthy; its output: " + output.get());
    }
}
