package io.gemgate.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gemgate.core.config.ConfigLoader.Setting;
import io.gemgate.core.keys.Strategy;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class ConfigLoaderTest {
    private static final Path REPO_YAML = Path.of("../config/gateway.yaml");
    private static final GatewayConfig DEFAULTS = ConfigLoader.load(null, Map.of());

    @TempDir
    Path dir;

    @Test
    void defaults() {
        GatewayConfig.Server server = DEFAULTS.server();
        assertThat(server).isEqualTo(new GatewayConfig.Server("0.0.0.0", 8080, 0, 20L * 1024 * 1024, 16 * 1024,
                8 * 1024, Duration.ofSeconds(60), Duration.ofSeconds(30), Duration.ofSeconds(25), 20_000));
        assertThat(DEFAULTS.upstream()).isEqualTo(new GatewayConfig.Upstream(
                URI.create("https://generativelanguage.googleapis.com"), Duration.ofSeconds(5),
                Duration.ofSeconds(120), Duration.ofSeconds(300), 1024, 4096, Duration.ofSeconds(50),
                Duration.ofMinutes(10)));
        assertThat(DEFAULTS.auth()).isEqualTo(new GatewayConfig.Auth(null, null));
        assertThat(DEFAULTS.keys().file()).isEqualTo(Path.of("key.txt"));
        assertThat(DEFAULTS.pool()).isEqualTo(new GatewayConfig.Pool(Strategy.ROUND_ROBIN, 3, Duration.ofSeconds(60),
                Duration.ofMinutes(15), Duration.ofSeconds(5), ZoneId.of("America/Los_Angeles"), Duration.ofSeconds(30)));
        assertThat(DEFAULTS.state()).isEqualTo(
                new GatewayConfig.State(Path.of("./data"), Duration.ofSeconds(2), null, "gemgate:", null));
        assertThat(DEFAULTS.upstream().isTls()).isTrue();
        assertThat(DEFAULTS.upstream().port()).isEqualTo(443);
    }

    @Test
    void repoYamlLoadsToExactlyTheDefaults() {
        assertThat(ConfigLoader.load(REPO_YAML, Map.of())).isEqualTo(DEFAULTS);
    }

    @ParameterizedTest
    @EnumSource(Setting.class)
    void repoYamlDocumentsEverySettingWithItsVariable(Setting setting) throws IOException {
        String yaml = Files.readString(REPO_YAML);
        String name = setting.path.substring(setting.path.indexOf('.') + 1);

        assertThat(yaml).contains(setting.section() + ":\n")
                .containsPattern("(?m)^  (# )?" + name + ": ")
                .containsPattern("(?m)^  # .*" + setting.env + "$");
    }

    @Test
    void loadFromEnvironmentAloneUsesTheWorkingDirectoryFileOrDefaults() {
        // The module directory has no config/gateway.yaml; the repository's one equals the defaults anyway.
        assertThat(ConfigLoader.load(Map.of())).isEqualTo(DEFAULTS);
    }

    @Test
    void gemgateConfigNamesTheFile() throws IOException {
        Path file = write("server:\n  port: 9001\n");

        assertThat(ConfigLoader.load(Map.of("GEMGATE_CONFIG", file.toString())).server().port()).isEqualTo(9001);
    }

    @Test
    void gemgateConfigMustExist() {
        Path missing = dir.resolve("nope.yaml");

        assertThatThrownBy(() -> ConfigLoader.load(Map.of("GEMGATE_CONFIG", missing.toString())))
                .isInstanceOf(ConfigException.class)
                .hasMessage("GEMGATE_CONFIG: " + missing.toAbsolutePath() + " not found");
    }

    @Test
    void yamlOverridesDefaults() throws IOException {
        Path file = write("""
                server:
                  host: 127.0.0.1
                  port: 0
                  ioThreads: 4
                  maxBodyBytes: 1MiB
                  shutdownGrace: 0
                upstream:
                  url: http://127.0.0.1:9999/
                  maxConnectionsPerLoop: 8
                auth:
                  token: " tok "
                  adminToken: ""
                keys:
                  file: /etc/gemgate/keys.txt
                pool:
                  strategy: Least-Used
                  maxAttempts: 20
                  rateLimitCooldown: 15m
                state:
                  redisUrl: redis://cache:6379
                  masterKey: mk
                """);

        GatewayConfig c = ConfigLoader.load(file, Map.of());

        assertThat(c.server().host()).isEqualTo("127.0.0.1");
        assertThat(c.server().port()).isZero();
        assertThat(c.server().ioThreads()).isEqualTo(4);
        assertThat(c.server().maxBodyBytes()).isEqualTo(1024 * 1024);
        assertThat(c.server().shutdownGrace()).isZero();
        assertThat(c.server().idleTimeout()).isEqualTo(DEFAULTS.server().idleTimeout());
        assertThat(c.upstream().url()).isEqualTo(URI.create("http://127.0.0.1:9999"));
        assertThat(c.upstream().isTls()).isFalse();
        assertThat(c.upstream().port()).isEqualTo(9999);
        assertThat(c.upstream().maxConnectionsPerLoop()).isEqualTo(8);
        assertThat(c.auth()).isEqualTo(new GatewayConfig.Auth("tok", null));
        assertThat(c.keys().file()).isEqualTo(Path.of("/etc/gemgate/keys.txt"));
        assertThat(c.pool().strategy()).isEqualTo(Strategy.LEAST_USED);
        assertThat(c.pool().maxAttempts()).isEqualTo(20);
        assertThat(c.pool().rateLimitCooldown()).isEqualTo(c.pool().rateLimitCooldownMax());
        assertThat(c.state().redisUrl()).isEqualTo("redis://cache:6379");
        assertThat(c.state().masterKey()).isEqualTo("mk");
    }

    @Test
    void environmentWinsOverYamlAndBlankIsUnset() throws IOException {
        Path file = write("server:\n  port: 9000\n  host: 10.0.0.1\npool:\n  maxAttempts: 5\n");

        GatewayConfig c = ConfigLoader.load(file, Map.of("GEMGATE_PORT", " 9100 ", "GEMGATE_HOST", "",
                "GEMGATE_POOL_MAX_ATTEMPTS", "   "));

        assertThat(c.server().port()).isEqualTo(9100);
        assertThat(c.server().host()).isEqualTo("10.0.0.1");
        assertThat(c.pool().maxAttempts()).isEqualTo(5);
    }

    @Test
    void emptyFileCommentsAndEmptySectionsGiveDefaults() throws IOException {
        assertThat(ConfigLoader.load(write(""), Map.of())).isEqualTo(DEFAULTS);
        assertThat(ConfigLoader.load(write("# nothing\n"), Map.of())).isEqualTo(DEFAULTS);
        assertThat(ConfigLoader.load(write("auth:\nstate:\n  redisUrl:\n"), Map.of())).isEqualTo(DEFAULTS);
    }

    static Stream<Arguments> everyVariable() {
        return Stream.of(
                setBy("GEMGATE_HOST", "::1", c -> c.server().host(), "::1"),
                setBy("GEMGATE_PORT", "1234", c -> c.server().port(), 1234),
                setBy("GEMGATE_SERVER_IO_THREADS", "3", c -> c.server().ioThreads(), 3),
                setBy("GEMGATE_SERVER_MAX_BODY_BYTES", "2GiB", c -> c.server().maxBodyBytes(), 2L << 30),
                setBy("GEMGATE_SERVER_MAX_HEADER_BYTES", "256", c -> c.server().maxHeaderBytes(), 256),
                setBy("GEMGATE_SERVER_MAX_INITIAL_LINE_BYTES", "1MiB", c -> c.server().maxInitialLineBytes(), 1 << 20),
                setBy("GEMGATE_SERVER_IDLE_TIMEOUT", "2m", c -> c.server().idleTimeout(), Duration.ofMinutes(2)),
                setBy("GEMGATE_SERVER_REQUEST_READ_TIMEOUT", "9", c -> c.server().requestReadTimeout(),
                        Duration.ofSeconds(9)),
                setBy("GEMGATE_SERVER_SHUTDOWN_GRACE", "1h", c -> c.server().shutdownGrace(), Duration.ofHours(1)),
                setBy("GEMGATE_SERVER_MAX_CONNECTIONS", "1", c -> c.server().maxConnections(), 1),
                setBy("GEMGATE_SERVER_CORS_ALLOW_ORIGINS", "https://Chat.example.com, http://localhost:3000",
                        c -> c.server().corsAllowOrigins(), List.of("https://chat.example.com", "http://localhost:3000")),
                setBy("GEMGATE_UPSTREAM", "http://[::1]:81", c -> c.upstream().url(), URI.create("http://[::1]:81")),
                setBy("GEMGATE_UPSTREAM_CONNECT_TIMEOUT", "250ms", c -> c.upstream().connectTimeout(),
                        Duration.ofMillis(250)),
                setBy("GEMGATE_UPSTREAM_RESPONSE_TIMEOUT", "1d", c -> c.upstream().responseTimeout(),
                        Duration.ofDays(1)),
                setBy("GEMGATE_UPSTREAM_STREAM_IDLE_TIMEOUT", "7s", c -> c.upstream().streamIdleTimeout(),
                        Duration.ofSeconds(7)),
                setBy("GEMGATE_UPSTREAM_MAX_CONNECTIONS_PER_LOOP", "2", c -> c.upstream().maxConnectionsPerLoop(), 2),
                setBy("GEMGATE_UPSTREAM_MAX_PENDING_ACQUIRES", "3", c -> c.upstream().maxPendingAcquires(), 3),
                setBy("GEMGATE_UPSTREAM_POOL_IDLE_TIMEOUT", "4s", c -> c.upstream().poolIdleTimeout(),
                        Duration.ofSeconds(4)),
                setBy("GEMGATE_UPSTREAM_MAX_CONNECTION_LIFETIME", "5h", c -> c.upstream().maxConnectionLifetime(),
                        Duration.ofHours(5)),
                setBy("GEMGATE_TOKEN", "t0k", c -> c.auth().token(), "t0k"),
                setBy("GEMGATE_ADMIN_TOKEN", "adm", c -> c.auth().adminToken(), "adm"),
                setBy("GEMGATE_KEYS_FILE", "/k.txt", c -> c.keys().file(), Path.of("/k.txt")),
                setBy("GEMGATE_POOL_STRATEGY", "adaptive", c -> c.pool().strategy(), Strategy.ADAPTIVE),
                setBy("GEMGATE_POOL_MAX_ATTEMPTS", "7", c -> c.pool().maxAttempts(), 7),
                setBy("GEMGATE_POOL_RATE_LIMIT_COOLDOWN", "1s", c -> c.pool().rateLimitCooldown(),
                        Duration.ofSeconds(1)),
                setBy("GEMGATE_POOL_RATE_LIMIT_COOLDOWN_MAX", "1h", c -> c.pool().rateLimitCooldownMax(),
                        Duration.ofHours(1)),
                setBy("GEMGATE_POOL_SERVER_ERROR_COOLDOWN", "100ms", c -> c.pool().serverErrorCooldown(),
                        Duration.ofMillis(100)),
                setBy("GEMGATE_POOL_QUOTA_RESET_ZONE", "UTC", c -> c.pool().quotaResetZone(), ZoneId.of("UTC")),
                setBy("GEMGATE_FAILOVER_DEADLINE", "45s", c -> c.pool().failoverDeadline(), Duration.ofSeconds(45)),
                setBy("GEMGATE_DATA_DIR", "/var/lib/gemgate", c -> c.state().dataDir(), Path.of("/var/lib/gemgate")),
                setBy("GEMGATE_STATE_FLUSH_INTERVAL", "10s", c -> c.state().flushInterval(), Duration.ofSeconds(10)),
                setBy("GEMGATE_REDIS_URL", "redis://r:6379", c -> c.state().redisUrl(), "redis://r:6379"),
                setBy("GEMGATE_REDIS_PREFIX", "eu-gateways:", c -> c.state().redisPrefix(), "eu-gateways:"),
                setBy("GEMGATE_REDIS_TRUST_CERTIFICATES", "pom.xml", c -> c.state().redisTrustCertificates(),
                        Path.of("pom.xml")),
                setBy("GEMGATE_MASTER_KEY", "m", c -> c.state().masterKey(), "m"),
                setBy("GEMGATE_AFFINITY_MAX_ENTRIES", "7", c -> c.affinity().maxEntries(), 7),
                setBy("GEMGATE_AFFINITY_LOOKUP_MAX_KEYS", "0", c -> c.affinity().lookupMaxKeys(), 0),
                setBy("GEMGATE_RESPONSES_STORE_MAX_BYTES", "1MiB", c -> c.responses().storeMaxBytes(), 1L << 20),
                setBy("GEMGATE_RESPONSES_STORE_TTL", "30m", c -> c.responses().storeTtl(), Duration.ofMinutes(30)),
                setBy("GEMGATE_BRAKE_SHARE", "0.25", c -> c.setAside().share(), 0.25),
                setBy("GEMGATE_BRAKE_WINDOW", "5m", c -> c.setAside().window(), Duration.ofMinutes(5)),
                setBy("GEMGATE_REQUESTS_ENABLED", "false", c -> c.requestLog().enabled(), false),
                setBy("GEMGATE_DATABASE_URL", "postgres://gg:pw@db:5432/gemgate", c -> c.requestLog().databaseUrl(),
                        "postgres://gg:pw@db:5432/gemgate"),
                setBy("GEMGATE_REQUESTS_RETENTION", "3d", c -> c.requestLog().retention(), Duration.ofDays(3)),
                setBy("GEMGATE_REQUESTS_MAX_SIZE", "64MiB", c -> c.requestLog().maxSize(), 64L << 20),
                setBy("GEMGATE_REQUESTS_USAGE_RETENTION", "30d", c -> c.requestLog().usageRetention(),
                        Duration.ofDays(30)),
                setBy("GEMGATE_REQUESTS_QUEUE_SIZE", "500", c -> c.requestLog().queueSize(), 500),
                setBy("GEMGATE_REQUESTS_SAMPLE_WHEN_BUSY", "4", c -> c.requestLog().sampleWhenBusy(), 4),
                setBy("GEMGATE_REQUESTS_ERROR_BODY_BYTES", "0", c -> c.requestLog().errorBodyBytes(), 0),
                setBy("GEMGATE_REQUESTS_FLUSH_INTERVAL", "10s", c -> c.requestLog().flushInterval(),
                        Duration.ofSeconds(10)),
                setBy("GEMGATE_REQUESTS_CPU_PERCENT", "20", c -> c.requestLog().cpuPercent(), 20),
                setBy("GEMGATE_UPSTREAM_PROXIES", "http://u:p@proxy.corp:3128, socks5://10.0.0.7:1080",
                        c -> c.upstream().egress().proxies().stream().map(p -> p.id()).toList(),
                        List.of("http://proxy.corp:3128", "socks5://10.0.0.7:1080")),
                setBy("GEMGATE_UPSTREAM_TRUST_CERTIFICATES", "pom.xml",
                        c -> c.upstream().egress().trustCertificates(), Path.of("pom.xml")),
                setBy("GEMGATE_UPSTREAM_EXIT_CHECK_INTERVAL", "3s", c -> c.upstream().egress().checkInterval(),
                        Duration.ofSeconds(3)),
                setBy("GEMGATE_UPSTREAM_EXIT_RATE_LIMIT_WINDOW", "4s",
                        c -> c.upstream().egress().rateLimitWindow(), Duration.ofSeconds(4)),
                setBy("GEMGATE_UPSTREAM_EXIT_COOLDOWN", "5m", c -> c.upstream().egress().cooldown(),
                        Duration.ofMinutes(5)),
                setBy("GEMGATE_UPSTREAM_EXIT_COOLING", "wait", c -> c.upstream().egress().keysWait(), true));
    }

    private static Arguments setBy(String variable, String value, Function<GatewayConfig, Object> getter,
                                   Object expected) {
        return Arguments.of(variable, value, getter, expected);
    }

    @ParameterizedTest(name = "{0}={1}")
    @MethodSource("everyVariable")
    void everySettingHasItsVariable(String variable, String value, Function<GatewayConfig, Object> getter,
                                    Object expected) {
        assertThat(getter.apply(ConfigLoader.load(null, Map.of(variable, value)))).isEqualTo(expected);
    }

    @Test
    void aBadProxyIsNamedByItsPositionNeverByItsCredentials() {
        assertThatThrownBy(() -> ConfigLoader.load(null, Map.of("GEMGATE_UPSTREAM_PROXIES",
                "http://a:1, ftp://user:hunter2@proxy:21")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("GEMGATE_UPSTREAM_PROXIES: entry 2: not a proxy URL")
                .hasMessageNotContaining("hunter2");
        assertThatThrownBy(() -> ConfigLoader.load(null, Map.of("GEMGATE_UPSTREAM_EXIT_COOLING", "hop")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("move or wait");
        assertThatThrownBy(() -> ConfigLoader.load(null, Map.of("GEMGATE_UPSTREAM_TRUST_CERTIFICATES",
                "/no/such/ca.pem")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("/no/such/ca.pem is not a readable file");
        assertThatThrownBy(() -> ConfigLoader.load(null, Map.of("GEMGATE_REDIS_TRUST_CERTIFICATES",
                "/no/such/redis-ca.pem")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("GEMGATE_REDIS_TRUST_CERTIFICATES")
                .hasMessageContaining("/no/such/redis-ca.pem is not a readable file");
    }

    @Test
    void proxiesMayBeAYamlList() throws IOException {
        Path file = write("upstream:\n  proxies:\n    - http://proxy-a:3128\n    - socks5://u:p@proxy-b:1080\n");

        GatewayConfig c = ConfigLoader.load(file, Map.of());

        assertThat(c.upstream().egress().proxies()).extracting(p -> p.masked())
                .containsExactly("http://proxy-a:3128", "socks5://***:***@proxy-b:1080");
    }

    @Test
    void everySettingIsCoveredByTheVariableTable() {
        assertThat(everyVariable().map(a -> (String) a.get()[0]))
                .containsExactlyInAnyOrder(Stream.of(Setting.values()).map(s -> s.env).toArray(String[]::new));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            500ms | 500
            30s   | 30000
            5m    | 300000
            2h    | 7200000
            1d    | 86400000
            45    | 45000
            365d  | 31536000000
            """)
    void durations(String text, long millis) {
        GatewayConfig c = ConfigLoader.load(null, Map.of("GEMGATE_STATE_FLUSH_INTERVAL", text));

        assertThat(c.state().flushInterval()).isEqualTo(Duration.ofMillis(millis));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            1       | 1
            65536   | 65536
            64KiB   | 65536
            20MiB   | 20971520
            1GiB    | 1073741824
            2GiB    | 2147483648
            """)
    void sizes(String text, long bytes) {
        GatewayConfig c = ConfigLoader.load(null, Map.of("GEMGATE_SERVER_MAX_BODY_BYTES", text));

        assertThat(c.server().maxBodyBytes()).isEqualTo(bytes);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            https://example.com/       | https://example.com
            HTTPS://example.com:8443   | https://example.com:8443
            http://127.0.0.1:9999      | http://127.0.0.1:9999
            """)
    void upstreamUrlIsNormalized(String text, String expected) {
        GatewayConfig c = ConfigLoader.load(null, Map.of("GEMGATE_UPSTREAM", text));

        assertThat(c.upstream().url()).isEqualTo(URI.create(expected));
    }

    @Test
    void zeroShutdownGraceAndEqualCooldownsAreValid() {
        GatewayConfig c = ConfigLoader.load(null, Map.of("GEMGATE_SERVER_SHUTDOWN_GRACE", "0s",
                "GEMGATE_POOL_RATE_LIMIT_COOLDOWN", "2m", "GEMGATE_POOL_RATE_LIMIT_COOLDOWN_MAX", "120"));

        assertThat(c.server().shutdownGrace()).isZero();
        assertThat(c.pool().rateLimitCooldownMax()).isEqualTo(c.pool().rateLimitCooldown());
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            GEMGATE_PORT                              | abc              | 'abc' is not a number
            GEMGATE_PORT                              | 70000            | 70000 (expected: 0 to 65535)
            GEMGATE_PORT                              | -1               | -1 (expected: 0 to 65535)
            GEMGATE_PORT                              | 80.5             | '80.5' is not a number
            GEMGATE_SERVER_IO_THREADS                 | -1               | -1 (expected: >= 0)
            GEMGATE_SERVER_MAX_BODY_BYTES             | 0                | 0 (expected: 1 to 2GiB)
            GEMGATE_SERVER_MAX_BODY_BYTES             | 3GiB             | 3GiB (expected: 1 to 2GiB)
            GEMGATE_SERVER_MAX_BODY_BYTES             | 99999999999GiB   | 99999999999GiB (expected: 1 to 2GiB)
            GEMGATE_SERVER_MAX_BODY_BYTES             | 20MB             | '20MB' (expected: a size such as 65536, 64KiB, 20MiB or 1GiB)
            GEMGATE_SERVER_MAX_HEADER_BYTES           | 255              | 255 (expected: 256 to 1MiB)
            GEMGATE_SERVER_MAX_HEADER_BYTES           | 1025KiB          | 1025KiB (expected: 256 to 1MiB)
            GEMGATE_SERVER_MAX_INITIAL_LINE_BYTES     | 2MiB             | 2MiB (expected: 256 to 1MiB)
            GEMGATE_SERVER_IDLE_TIMEOUT               | 0s               | 0s (expected: > 0)
            GEMGATE_SERVER_IDLE_TIMEOUT               | 1w               | '1w' (expected: a duration such as 500ms, 30s, 5m, 2h, 1d, or a number of seconds)
            GEMGATE_SERVER_IDLE_TIMEOUT               | -5s              | '-5s' (expected: a duration such as 500ms, 30s, 5m, 2h, 1d, or a number of seconds)
            GEMGATE_SERVER_IDLE_TIMEOUT               | 366d             | 366d (expected: at most 365d)
            GEMGATE_SERVER_REQUEST_READ_TIMEOUT       | 0                | 0 (expected: > 0)
            GEMGATE_SERVER_SHUTDOWN_GRACE             | soon             | 'soon' (expected: a duration such as 500ms, 30s, 5m, 2h, 1d, or a number of seconds)
            GEMGATE_SERVER_CORS_ALLOW_ORIGINS         | https://a.example/path | 'https://a.example/path' (expected: *, none, or origins such as https://chat.example.com, http://localhost:3000)
            GEMGATE_SERVER_CORS_ALLOW_ORIGINS         | chat.example.com | 'chat.example.com' (expected: *, none, or origins such as https://chat.example.com, http://localhost:3000)
            GEMGATE_SERVER_MAX_CONNECTIONS            | 0                | 0 (expected: > 0)
            GEMGATE_SERVER_MAX_CONNECTIONS            | 3000000000       | 3000000000 (expected: > 0)
            GEMGATE_UPSTREAM                          | ftp://x          | 'ftp://x' (expected: an http:// or https:// URL)
            GEMGATE_UPSTREAM                          | example.com      | 'example.com' (expected: an http:// or https:// URL)
            GEMGATE_UPSTREAM                          | http://          | 'http://' (expected: an http:// or https:// URL)
            GEMGATE_UPSTREAM                          | http://a b       | 'http://a b' (expected: an http:// or https:// URL)
            GEMGATE_UPSTREAM                          | http://x:99999   | 'http://x:99999' (expected: an http:// or https:// URL)
            GEMGATE_UPSTREAM                          | https://x/v1beta | 'https://x/v1beta' (expected: an http:// or https:// URL with no path, query or user info)
            GEMGATE_UPSTREAM                          | https://x?a=1    | 'https://x?a=1' (expected: an http:// or https:// URL with no path, query or user info)
            GEMGATE_UPSTREAM                          | https://u@x      | 'https://u@x' (expected: an http:// or https:// URL with no path, query or user info)
            GEMGATE_UPSTREAM_CONNECT_TIMEOUT          | 0ms              | 0ms (expected: > 0)
            GEMGATE_UPSTREAM_RESPONSE_TIMEOUT         | 0                | 0 (expected: > 0)
            GEMGATE_UPSTREAM_STREAM_IDLE_TIMEOUT      | 0                | 0 (expected: > 0)
            GEMGATE_UPSTREAM_MAX_CONNECTIONS_PER_LOOP | 0                | 0 (expected: > 0)
            GEMGATE_UPSTREAM_MAX_PENDING_ACQUIRES     | 0                | 0 (expected: > 0)
            GEMGATE_UPSTREAM_POOL_IDLE_TIMEOUT        | 0                | 0 (expected: > 0)
            GEMGATE_UPSTREAM_MAX_CONNECTION_LIFETIME  | 0                | 0 (expected: > 0)
            GEMGATE_POOL_STRATEGY                     | random           | unknown strategy 'random' (expected: round_robin, least_used or adaptive)
            GEMGATE_POOL_MAX_ATTEMPTS                 | 0                | 0 (expected: 1 to 20)
            GEMGATE_POOL_MAX_ATTEMPTS                 | 21               | 21 (expected: 1 to 20)
            GEMGATE_POOL_RATE_LIMIT_COOLDOWN          | 0                | 0 (expected: > 0)
            GEMGATE_POOL_RATE_LIMIT_COOLDOWN_MAX      | 30s              | 30s (expected: >= pool.rateLimitCooldown, 60s)
            GEMGATE_POOL_SERVER_ERROR_COOLDOWN        | 0                | 0 (expected: > 0)
            GEMGATE_POOL_QUOTA_RESET_ZONE             | Mars/Base        | 'Mars/Base' (expected: a time zone such as America/Los_Angeles or UTC)
            GEMGATE_STATE_FLUSH_INTERVAL              | 0                | 0 (expected: > 0)
            GEMGATE_REDIS_PREFIX                      | gem gate:        | 'gem gate:' (expected: 1 to 64 printable ASCII characters without spaces, such as gemgate:)
            """)
    void invalidValueFromTheEnvironmentNamesTheVariable(String variable, String value, String problem) {
        assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(variable, value)))
                .isInstanceOf(ConfigException.class)
                .hasMessage(variable + ": " + problem);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            server.port                 | abc       | server.port: 'abc' is not a number
            server.port                 | 70000     | server.port: 70000 (expected: 0 to 65535)
            server.maxBodyBytes         | 3GiB      | server.maxBodyBytes: 3GiB (expected: 1 to 2GiB)
            upstream.url                | ftp://x   | upstream.url: 'ftp://x' (expected: an http:// or https:// URL)
            upstream.connectTimeout     | 0s        | upstream.connectTimeout: 0s (expected: > 0)
            pool.strategy               | random    | pool.strategy: unknown strategy 'random' (expected: round_robin, least_used or adaptive)
            pool.maxAttempts            | 21        | pool.maxAttempts: 21 (expected: 1 to 20)
            pool.rateLimitCooldownMax   | 30s       | pool.rateLimitCooldownMax: 30s (expected: >= pool.rateLimitCooldown, 60s)
            failover.deadline           | 11m       | failover.deadline: 11m (expected: 1s to 10m)
            pool.quotaResetZone         | Mars/Base | pool.quotaResetZone: 'Mars/Base' (expected: a time zone such as America/Los_Angeles or UTC)
            """)
    void invalidValueFromYamlNamesThePath(String path, String value, String message) throws IOException {
        String[] parts = path.split("\\.");
        Path file = write(parts[0] + ":\n  " + parts[1] + ": " + value + "\n");

        assertThatThrownBy(() -> ConfigLoader.load(file, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessage(message);
    }

    @Test
    void crossCheckNamesBothOrigins() throws IOException {
        Path file = write("pool:\n  rateLimitCooldownMax: 1m\n");

        assertThatThrownBy(() -> ConfigLoader.load(file, Map.of("GEMGATE_POOL_RATE_LIMIT_COOLDOWN", "2m")))
                .hasMessage("pool.rateLimitCooldownMax: 1m (expected: >= GEMGATE_POOL_RATE_LIMIT_COOLDOWN, 2m)");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            "server:\\n  prot: 8080\\n"                 | unknown setting 'server.prot'
            "serverr:\\n  port: 8080\\n"                | unknown setting 'serverr'
            "server:\\n  port: 1\\nupstreams: x\\n"     | unknown setting 'upstreams'
            "server:\\n  maxbodybytes: 1\\n"            | unknown setting 'server.maxbodybytes'
            "server:\\n  port: [1, 2]\\n"               | server.port: expected a single value, not a list or mapping
            "server:\\n  port:\\n    value: 1\\n"       | server.port: expected a single value, not a list or mapping
            "server: 8080\\n"                           | server: expected its settings indented below it
            """)
    void badStructure(String yaml, String message) throws IOException {
        Path file = write(yaml.replace("\\n", "\n"));

        assertThatThrownBy(() -> ConfigLoader.load(file, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessage(message);
    }

    @Test
    void topLevelListIsRejectedWithTheFileName() throws IOException {
        Path file = write("- a\n- b\n");

        assertThatThrownBy(() -> ConfigLoader.load(file, Map.of()))
                .hasMessage(file.toAbsolutePath() + ": expected sections such as 'server:' at the top");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            "server:\\n  port: 1\\n  port: 2\\n"     | " line 3, column 7: Duplicate field 'port'"
            "server:\\n\\tport: 1\\n"                | " line 2, column 1: found character '\\t(TAB)' that cannot start any token. (Do not use \\t(TAB) for indentation) (while scanning for the next token)"
            "server: [1,\\n"                         | " line 2, column 1: expected the node content, but found '<stream end>' (while parsing a flow node)"
            """)
    void badYamlNamesTheFileAndLineInOneLine(String yaml, String where) throws IOException {
        Path file = write(yaml.replace("\\n", "\n").replace("\\t", "\t"));

        assertThatThrownBy(() -> ConfigLoader.load(file, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessage(file.toAbsolutePath() + where)
                .hasMessageNotContaining("\n");
    }

    @Test
    void missingYamlFile() {
        Path missing = dir.resolve("missing.yaml");

        assertThatThrownBy(() -> ConfigLoader.load(missing, Map.of()))
                .hasMessage(missing.toAbsolutePath() + " not found");
    }

    @Test
    void unreadableYamlFile() {
        assertThatThrownBy(() -> ConfigLoader.load(dir, Map.of()))
                .hasMessage(dir.toAbsolutePath() + " is not readable");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '\'', textBlock = """
            'auth:\\n  token: "s3cret-value\\n'
            'auth:\\n  token: s3cret-value: x\\n'
            'auth:\\n  adminToken: s3cret-value\\n  adminToken: s3cret-value\\n'
            'state:\\n  masterKey: [s3cret-value\\n'
            'state:\\n  masterKey: s3cret-value\\n   bad: indent\\n'
            """)
    void secretsNeverReachMessages(String yaml) throws IOException {
        Path file = write(yaml.replace("\\n", "\n"));

        assertThatThrownBy(() -> ConfigLoader.load(file, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(file.toAbsolutePath().toString())
                .hasMessageNotContaining("s3cret");
    }

    @Test
    void derivedVariableNames() {
        assertThat(Setting.POOL_MAX_ATTEMPTS.env).isEqualTo("GEMGATE_POOL_MAX_ATTEMPTS");
        assertThat(Setting.SERVER_MAX_BODY_BYTES.env).isEqualTo("GEMGATE_SERVER_MAX_BODY_BYTES");
        assertThat(Setting.SERVER_IO_THREADS.env).isEqualTo("GEMGATE_SERVER_IO_THREADS");
        assertThat(Setting.UPSTREAM_URL.env).isEqualTo("GEMGATE_UPSTREAM");
    }

    @Test
    void exceptionMessageIsOneLine() {
        assertThat(new ConfigException("a\nb\r\nc")).hasMessage("a b c");
    }

    private Path write(String yaml) throws IOException {
        return Files.writeString(Files.createTempFile(dir, "gateway", ".yaml"), yaml);
    }

    @Test
    void aDatabaseUrlOfAnotherKindIsRefusedWithoutShowingItsPassword() {
        assertThatThrownBy(() -> ConfigLoader.load(null, Map.of("GEMGATE_DATABASE_URL", "mysql://u:hunter2pw@db/x")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("GEMGATE_DATABASE_URL: <hidden> (expected: postgres://")
                .hasMessageNotContaining("hunter2pw");
        assertThat(ConfigLoader.load(null, Map.of("GEMGATE_DATABASE_URL", "postgresql://u:p@db/x")).requestLog()
                .toString()).doesNotContain("u:p");
    }
}
