package io.gemgate.testing;

import io.gemgate.core.config.ConfigLoader;
import io.gemgate.core.config.GatewayConfig;
import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.KeySpec;
import io.gemgate.server.GatewayServer;
import io.gemgate.server.MetricsBinding;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * A gateway on a free loopback port in front of a {@link FakeGemini}, configured through the same loader and
 * environment variables a user sets. Keys are {@code key(0)}, {@code key(1)}, ...; clients authenticate with
 * {@link #TOKEN}.
 */
public final class GatewayHarness implements AutoCloseable {
    public static final String TOKEN = "gg-test-client-token-5d1c";

    private final FakeGemini fake;
    private final boolean ownsFake;
    private final Path dataDir;
    private final List<KeySpec> keys;
    private final Map<String, String> env;
    private final LongSupplier clock;
    private final MetricsBinding metrics;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private GatewayServer server;
    private static volatile Duration sseKeepAlive = Duration.ofSeconds(10);

    /** The OpenAI stream keep-alive interval for gateways started after this call (tests of the comments). */
    public static void sseKeepAlive(Duration interval) {
        sseKeepAlive = interval;
    }

    private GatewayHarness(FakeGemini fake, boolean ownsFake, List<KeySpec> keys, Map<String, String> extraEnv,
                           LongSupplier clock) {
        this(fake, ownsFake, keys, extraEnv, clock, null);
    }

    private GatewayHarness(FakeGemini fake, boolean ownsFake, List<KeySpec> keys, Map<String, String> extraEnv,
                           LongSupplier clock, MetricsBinding metrics) {
        this.metrics = metrics;
        this.fake = fake;
        this.ownsFake = ownsFake;
        this.keys = keys;
        this.clock = clock;
        try {
            this.dataDir = Files.createTempDirectory("gemgate-test-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.env = new HashMap<>();
        env.put("GEMGATE_HOST", "127.0.0.1");
        env.put("GEMGATE_PORT", "0");
        env.put("GEMGATE_UPSTREAM", fake.baseUrl());
        env.put("GEMGATE_TOKEN", TOKEN);
        env.put("GEMGATE_DATA_DIR", dataDir.toString());
        env.put("GEMGATE_SERVER_IO_THREADS", "2");
        env.putAll(extraEnv);
        startServer();
    }

    /** A gateway with {@code n} keys in front of a new fake upstream. */
    public static GatewayHarness start(int n) {
        return start(n, Map.of());
    }

    public static GatewayHarness start(int n, Map<String, String> env) {
        return new GatewayHarness(FakeGemini.start(), true, specs(n), env, System::currentTimeMillis);
    }

    /** A gateway in front of the given fake (which the caller closes), with a controllable clock. */
    public static GatewayHarness start(FakeGemini fake, List<KeySpec> keys, Map<String, String> env,
                                       LongSupplier clock) {
        return new GatewayHarness(fake, false, keys, env, clock);
    }

    /** A gateway in front of the given fake (which the caller closes), reporting to {@code metrics}. */
    public static GatewayHarness start(FakeGemini fake, List<KeySpec> keys, Map<String, String> env,
                                       LongSupplier clock, MetricsBinding metrics) {
        return new GatewayHarness(fake, false, keys, env, clock, metrics);
    }

    /** A gateway with {@code n} keys in front of a new fake upstream, reporting to {@code metrics}. */
    public static GatewayHarness start(int n, Map<String, String> env, MetricsBinding metrics) {
        return new GatewayHarness(FakeGemini.start(), true, specs(n), env, System::currentTimeMillis, metrics);
    }

    public static List<KeySpec> specs(int n) {
        List<KeySpec> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(KeySpec.of(key(i)));
        }
        return out;
    }

    /** The i-th test key: shaped like a real one (AIza + 35 characters). */
    public static String key(int i) {
        return "AIzaSyTEST" + "x".repeat(25) + String.format("%04d", i);
    }

    private void startServer() {
        GatewayConfig cfg = ConfigLoader.load(null, env);
        try {
            var b = GatewayServer.builder(cfg, keys).clock(clock).sseKeepAlive(sseKeepAlive);
            if (fake.isTls() && !env.containsKey("GEMGATE_UPSTREAM_TRUST_CERTIFICATES")) {
                b.upstreamSsl(fake.clientTrust()); // else the gateway trusts what that setting names
            }
            if (metrics != null) {
                b.metrics(metrics);
            }
            server = b.start();
        } catch (javax.net.ssl.SSLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Stops the gateway gracefully and starts a new one on the same data directory (a restart). */
    public void restart() {
        server.close();
        startServer();
    }

    public FakeGemini fake() {
        return fake;
    }

    public GatewayServer server() {
        return server;
    }

    public Path dataDir() {
        return dataDir;
    }

    public int port() {
        return server.port();
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + port();
    }

    /** The pool's key whose secret is {@code secret}. */
    public ApiKey poolKey(String secret) {
        return server.pool().keys().stream().filter(k -> k.secret().equals(secret)).findFirst().orElseThrow();
    }

    public HttpClient http() {
        return http;
    }

    public HttpRequest.Builder request(String pathAndQuery) {
        return HttpRequest.newBuilder(URI.create(baseUrl() + pathAndQuery)).timeout(Duration.ofSeconds(20));
    }

    /** POSTs JSON with the client token in {@code x-goog-api-key}. */
    public HttpResponse<String> post(String pathAndQuery, String json) {
        return send(request(pathAndQuery).header("x-goog-api-key", TOKEN)
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    public HttpResponse<String> generate(String model) {
        return post("/v1beta/models/" + model + ":generateContent",
                "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}");
    }

    public HttpResponse<String> get(String pathAndQuery) {
        return send(request(pathAndQuery).header("x-goog-api-key", TOKEN).GET().build());
    }

    public HttpResponse<String> send(HttpRequest r) {
        try {
            return http.send(r, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Stops the gateway (and the fake when it is this harness's) and deletes the data directory it made. */
    @Override
    public void close() {
        if (server != null) {
            server.close();
        }
        if (ownsFake) {
            fake.close();
        }
        deleteTree(dataDir);
    }

    /** Deletes {@code dir} and what it holds, as far as it can (a test's leftovers must not fill the disk). */
    static void deleteTree(Path dir) {
        try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // already gone, or unreadable: nothing more to do
        }
    }
}
