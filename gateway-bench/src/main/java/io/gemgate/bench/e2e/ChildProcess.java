package io.gemgate.bench.e2e;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A server started by the bench in its own JVM (the fake upstream, a gateway), its output in a log file. Stopped by
 * {@link #close()}: SIGTERM, then SIGKILL after 10 s. Every child is also stopped when the bench's JVM exits.
 */
final class ChildProcess implements AutoCloseable {
    private final String name;
    private final Process process;
    private final Path log;

    private ChildProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
        Runtime.getRuntime().addShutdownHook(new Thread(this::close, "stop-" + name));
    }

    /** Starts {@code command} in {@code dir} with {@code env} added to this process's environment. */
    static ChildProcess start(String name, List<String> command, Map<String, String> env, Path dir)
            throws IOException {
        Path log = dir.resolve(name + ".log");
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().putAll(env);
        return new ChildProcess(name, pb.start(), log);
    }

    /** The {@code java} that runs this bench, so that children run on the same JDK. */
    static String javaBinary() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    long pid() {
        return process.pid();
    }

    Path log() {
        return log;
    }

    /** Waits until the log shows a line matching {@code pattern} and returns its first group. */
    String awaitLog(Pattern pattern, long timeoutMillis) throws IOException, InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < deadline) {
            Matcher m = pattern.matcher(Files.readString(log, StandardCharsets.UTF_8));
            if (m.find()) {
                return m.group(1);
            }
            failIfExited();
            Thread.sleep(50);
        }
        throw new IOException(name + " did not start within " + timeoutMillis + " ms; see " + log);
    }

    /** Waits until {@code GET path} on 127.0.0.1:{@code port} answers 200. */
    void awaitHttp200(int port, String path, long timeoutMillis) throws IOException, InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < deadline) {
            if (get200(port, path)) {
                return;
            }
            failIfExited();
            Thread.sleep(100);
        }
        throw new IOException(name + " did not answer GET " + path + " within " + timeoutMillis + " ms; see " + log);
    }

    /** A blocking HTTP/1.0 GET, off every event loop: true on a 200. */
    static boolean get200(int port, String path) {
        String answer = get(port, path);
        return answer.startsWith("HTTP/1.1 200") || answer.startsWith("HTTP/1.0 200");
    }

    /** A blocking HTTP/1.0 GET; the whole answer, or "" when the port does not answer. */
    static String get(int port, String path) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1_000);
            s.setSoTimeout(2_000);
            s.getOutputStream().write(("GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    private void failIfExited() throws IOException {
        if (!process.isAlive()) {
            throw new IOException(name + " exited with code " + process.exitValue() + "; see " + log);
        }
    }

    @Override
    public void close() {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
