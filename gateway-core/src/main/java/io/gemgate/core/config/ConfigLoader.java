package io.gemgate.core.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.gemgate.core.keys.Strategy;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Reads the {@link GatewayConfig}: built-in defaults, overridden by a YAML file, overridden by environment variables.
 *
 * <p>Every setting has a YAML path ({@code section.name}, as listed in {@link GatewayConfig}) and an environment
 * variable: {@code GEMGATE_HOST}, {@code GEMGATE_PORT}, {@code GEMGATE_UPSTREAM}, {@code GEMGATE_KEYS_FILE},
 * {@code GEMGATE_TOKEN}, {@code GEMGATE_ADMIN_TOKEN}, {@code GEMGATE_DATA_DIR}, {@code GEMGATE_REDIS_URL} and
 * {@code GEMGATE_MASTER_KEY} for the documented ones, {@code GEMGATE_<SECTION>_<NAME>} in upper snake case for the
 * others ({@code pool.maxAttempts} is {@code GEMGATE_POOL_MAX_ATTEMPTS}). A blank value, in the file or the
 * environment, counts as unset.
 *
 * <p>Durations are written {@code 500ms}, {@code 30s}, {@code 5m}, {@code 2h}, {@code 1d} or as a bare number of
 * seconds, at most 365 days. Sizes are a number of bytes or {@code 64KiB}, {@code 20MiB}, {@code 1GiB}.
 *
 * <p>Everything is validated here, at start-up: any unknown setting, malformed value or value out of range is a
 * {@link ConfigException} that names the setting the way the user wrote it (the YAML path, or the environment
 * variable when the value came from there). Token, admin token, master key and Redis URL values never appear in
 * messages.
 */
public final class ConfigLoader {

    /** The environment variable that names the YAML file. */
    public static final String CONFIG_ENV = "GEMGATE_CONFIG";

    /** The YAML file read when {@value #CONFIG_ENV} is unset, relative to the working directory, if it exists. */
    public static final Path DEFAULT_FILE = Path.of("config", "gateway.yaml");

    private static final long KIB = 1024;
    private static final long MIB = 1024 * KIB;
    private static final long GIB = 1024 * MIB;
    private static final Duration MAX_DURATION = Duration.ofDays(365);
    private static final Pattern DURATION = Pattern.compile("(\\d{1,18})(ms|s|m|h|d)?");
    /** An origin as browsers send it: scheme, host, optional port (RFC 6454 §6.1). */
    private static final Pattern ORIGIN =
            Pattern.compile("[A-Za-z][A-Za-z0-9+.-]*://(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+)(:\\d{1,5})?");
    private static final Pattern SIZE = Pattern.compile("(\\d{1,18})(KiB|MiB|GiB)?");

    private static final ObjectMapper YAML =
            YAMLMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private static final Map<String, Setting> BY_PATH =
            Arrays.stream(Setting.values()).collect(Collectors.toUnmodifiableMap(s -> s.path, Function.identity()));
    private static final Set<String> SECTIONS =
            Arrays.stream(Setting.values()).map(Setting::section).collect(Collectors.toUnmodifiableSet());

    private ConfigLoader() {
    }

    /**
     * Loads the configuration as {@code Main} does: the YAML file named by {@value #CONFIG_ENV} (which must then
     * exist), else {@link #DEFAULT_FILE} if it exists, else the defaults alone; then the environment.
     *
     * @param env the environment, usually {@code System.getenv()}
     * @throws ConfigException naming the first bad setting
     */
    public static GatewayConfig load(Map<String, String> env) {
        requireNonNull(env, "env");
        String named = trimToNull(env.get(CONFIG_ENV));
        if (named == null) {
            return load(Files.isRegularFile(DEFAULT_FILE) ? DEFAULT_FILE : null, env);
        }
        Path file;
        try {
            file = Path.of(named).toAbsolutePath();
        } catch (InvalidPathException e) {
            throw new ConfigException(CONFIG_ENV + ": '" + named + "' (expected: a file path)");
        }
        if (Files.notExists(file)) {
            throw new ConfigException(CONFIG_ENV + ": " + file + " not found");
        }
        return load(file, env);
    }

    /**
     * Loads the configuration from the given YAML file, if any, and the given environment.
     *
     * @param yaml the YAML file, or null for the defaults alone
     * @param env  the environment; only {@code GEMGATE_*} variables of known settings are read
     * @throws ConfigException naming the first bad setting
     */
    public static GatewayConfig load(Path yaml, Map<String, String> env) {
        requireNonNull(env, "env");
        Values v = new Values(yaml == null ? Map.of() : readYaml(yaml), env);
        return new GatewayConfig(server(v), upstream(v), auth(v), keys(v), pool(v), state(v), affinity(v),
                setAside(v), requestLog(v), responses(v));
    }

    private static GatewayConfig.Server server(Values v) {
        return new GatewayConfig.Server(
                v.text(Setting.SERVER_HOST),
                v.intBetween(Setting.SERVER_PORT, 0, 65535),
                v.nonNegativeInt(Setting.SERVER_IO_THREADS),
                v.size(Setting.SERVER_MAX_BODY_BYTES, 1, 2 * GIB),
                (int) v.size(Setting.SERVER_MAX_HEADER_BYTES, 256, MIB),
                (int) v.size(Setting.SERVER_MAX_INITIAL_LINE_BYTES, 256, MIB),
                v.positiveDuration(Setting.SERVER_IDLE_TIMEOUT),
                v.positiveDuration(Setting.SERVER_REQUEST_READ_TIMEOUT),
                v.duration(Setting.SERVER_SHUTDOWN_GRACE),
                v.positiveInt(Setting.SERVER_MAX_CONNECTIONS),
                v.origins(Setting.SERVER_CORS_ALLOW_ORIGINS));
    }

    private static GatewayConfig.Upstream upstream(Values v) {
        return new GatewayConfig.Upstream(
                v.url(Setting.UPSTREAM_URL),
                v.positiveDuration(Setting.UPSTREAM_CONNECT_TIMEOUT),
                v.positiveDuration(Setting.UPSTREAM_RESPONSE_TIMEOUT),
                v.positiveDuration(Setting.UPSTREAM_STREAM_IDLE_TIMEOUT),
                v.positiveInt(Setting.UPSTREAM_MAX_CONNECTIONS_PER_LOOP),
                v.positiveInt(Setting.UPSTREAM_MAX_PENDING_ACQUIRES),
                v.positiveDuration(Setting.UPSTREAM_POOL_IDLE_TIMEOUT),
                v.positiveDuration(Setting.UPSTREAM_MAX_CONNECTION_LIFETIME),
                egress(v));
    }

    private static GatewayConfig.Egress egress(Values v) {
        Raw cooling = v.raw(Setting.UPSTREAM_EXIT_COOLING);
        String mode = cooling.text.toLowerCase(Locale.ROOT);
        if (!mode.equals("move") && !mode.equals("wait")) {
            throw cooling.failQuoted("move or wait");
        }
        String trust = v.optional(Setting.UPSTREAM_TRUST_CERTIFICATES);
        Path trustFile = trust == null ? null : v.path(Setting.UPSTREAM_TRUST_CERTIFICATES);
        if (trustFile != null && !Files.isReadable(trustFile)) {
            throw new ConfigException(v.raw(Setting.UPSTREAM_TRUST_CERTIFICATES).origin + ": "
                    + trustFile.toAbsolutePath() + " is not a readable file");
        }
        return new GatewayConfig.Egress(
                v.proxies(Setting.UPSTREAM_PROXIES),
                trustFile,
                v.positiveDuration(Setting.UPSTREAM_EXIT_CHECK_INTERVAL),
                v.positiveDuration(Setting.UPSTREAM_EXIT_RATE_LIMIT_WINDOW),
                v.positiveDuration(Setting.UPSTREAM_EXIT_COOLDOWN),
                mode.equals("wait"));
    }

    private static GatewayConfig.Auth auth(Values v) {
        return new GatewayConfig.Auth(v.optional(Setting.AUTH_TOKEN), v.optional(Setting.AUTH_ADMIN_TOKEN));
    }

    private static GatewayConfig.Keys keys(Values v) {
        return new GatewayConfig.Keys(v.path(Setting.KEYS_FILE));
    }

    private static GatewayConfig.Pool pool(Values v) {
        Duration cooldown = v.positiveDuration(Setting.POOL_RATE_LIMIT_COOLDOWN);
        Duration cooldownMax = v.positiveDuration(Setting.POOL_RATE_LIMIT_COOLDOWN_MAX);
        if (cooldownMax.compareTo(cooldown) < 0) {
            Raw min = v.raw(Setting.POOL_RATE_LIMIT_COOLDOWN);
            throw v.raw(Setting.POOL_RATE_LIMIT_COOLDOWN_MAX).fail(">= " + min.origin + ", " + min.text);
        }
        return new GatewayConfig.Pool(
                v.strategy(Setting.POOL_STRATEGY),
                v.intBetween(Setting.POOL_MAX_ATTEMPTS, 1, 20),
                cooldown,
                cooldownMax,
                v.positiveDuration(Setting.POOL_SERVER_ERROR_COOLDOWN),
                v.zone(Setting.POOL_QUOTA_RESET_ZONE),
                failoverDeadline(v));
    }

    /** {@code failover.deadline}: 1s to 10m, the range of the live setting {@code failoverDeadline}. */
    private static Duration failoverDeadline(Values v) {
        Duration d = v.positiveDuration(Setting.FAILOVER_DEADLINE);
        if (d.compareTo(Duration.ofSeconds(1)) < 0 || d.compareTo(Duration.ofMinutes(10)) > 0) {
            throw v.raw(Setting.FAILOVER_DEADLINE).fail("1s to 10m");
        }
        return d;
    }

    private static GatewayConfig.Affinity affinity(Values v) {
        return new GatewayConfig.Affinity(v.intBetween(Setting.AFFINITY_MAX_ENTRIES, 1, 10_000_000),
                v.intBetween(Setting.AFFINITY_LOOKUP_MAX_KEYS, 0, 1000));
    }

    private static GatewayConfig.Responses responses(Values v) {
        return new GatewayConfig.Responses(v.size(Setting.RESPONSES_STORE_MAX_BYTES, 0, 64 * GIB),
                v.positiveDuration(Setting.RESPONSES_STORE_TTL));
    }

    private static GatewayConfig.SetAside setAside(Values v) {
        Raw r = v.raw(Setting.BRAKE_SHARE);
        double share;
        try {
            share = Double.parseDouble(r.text);
        } catch (NumberFormatException e) {
            throw r.fail("a share of the pool, above 0 and at most 1");
        }
        if (!(share > 0 && share <= 1)) {
            throw r.fail("a share of the pool, above 0 and at most 1");
        }
        return new GatewayConfig.SetAside(share, v.positiveDuration(Setting.BRAKE_WINDOW));
    }

    private static GatewayConfig.RequestLog requestLog(Values v) {
        String url = v.optional(Setting.REQUEST_LOG_DATABASE_URL);
        if (url != null) {
            String lower = url.toLowerCase(Locale.ROOT);
            if (!lower.startsWith("postgres://") && !lower.startsWith("postgresql://")
                    && !lower.startsWith("jdbc:postgresql://")) {
                throw v.raw(Setting.REQUEST_LOG_DATABASE_URL).fail(
                        "postgres://user:password@host:port/database, postgresql://... or jdbc:postgresql://...");
            }
        }
        return new GatewayConfig.RequestLog(
                v.bool(Setting.REQUEST_LOG_ENABLED),
                url,
                v.positiveDuration(Setting.REQUEST_LOG_RETENTION),
                v.size(Setting.REQUEST_LOG_MAX_SIZE, MIB, 1024 * GIB),
                v.positiveDuration(Setting.REQUEST_LOG_USAGE_RETENTION),
                v.intBetween(Setting.REQUEST_LOG_QUEUE_SIZE, 16, 10_000_000),
                v.intBetween(Setting.REQUEST_LOG_SAMPLE_WHEN_BUSY, 1, 1_000_000),
                (int) v.size(Setting.REQUEST_LOG_ERROR_BODY_BYTES, 0, 64 * KIB),
                v.positiveDuration(Setting.REQUEST_LOG_FLUSH_INTERVAL),
                v.intBetween(Setting.REQUEST_LOG_CPU_PERCENT, 1, 100));
    }

    private static GatewayConfig.State state(Values v) {
        String trust = v.optional(Setting.STATE_REDIS_TRUST_CERTIFICATES);
        Path trustFile = trust == null ? null : v.path(Setting.STATE_REDIS_TRUST_CERTIFICATES);
        if (trustFile != null && !Files.isReadable(trustFile)) {
            throw new ConfigException(v.raw(Setting.STATE_REDIS_TRUST_CERTIFICATES).origin + ": "
                    + trustFile.toAbsolutePath() + " is not a readable file");
        }
        return new GatewayConfig.State(
                v.path(Setting.STATE_DATA_DIR),
                v.positiveDuration(Setting.STATE_FLUSH_INTERVAL),
                v.optional(Setting.STATE_REDIS_URL),
                v.redisPrefix(Setting.STATE_REDIS_PREFIX),
                v.optional(Setting.STATE_MASTER_KEY),
                trustFile);
    }

    /** Reads the file into {@code section.name -> text}, rejecting unknown settings. */
    private static Map<String, String> readYaml(Path file) {
        Path abs = file.toAbsolutePath();
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(abs);
        } catch (NoSuchFileException e) {
            throw new ConfigException(abs + " not found");
        } catch (IOException e) {
            throw new ConfigException(abs + " is not readable");
        }
        JsonNode root;
        try {
            root = YAML.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new ConfigException(abs + describe(e));
        } catch (IOException e) { // not thrown when reading from memory
            throw new ConfigException(abs + " is not readable");
        }
        return flatten(abs, root);
    }

    /**
     * {@code " line 3, column 9: mapping values are not allowed here"}, to follow the file name. SnakeYAML's own
     * message quotes the offending line, which may hold a token: only its problem and position are kept.
     */
    private static String describe(JsonProcessingException e) {
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            if (t instanceof MarkedYAMLException m && m.getProblemMark() != null) {
                Mark at = m.getProblemMark();
                String context = m.getContext() == null ? "" : " (" + m.getContext() + ")";
                return " line " + (at.getLine() + 1) + ", column " + (at.getColumn() + 1) + ": " + m.getProblem()
                        + context;
            }
        }
        String problem = String.valueOf(e.getOriginalMessage()).lines().findFirst().orElse("invalid YAML");
        JsonLocation at = e.getLocation();
        if (at == null) {
            return ": " + problem;
        }
        return " line " + at.getLineNr() + ", column " + at.getColumnNr() + ": " + problem;
    }

    private static Map<String, String> flatten(Path file, JsonNode root) {
        if (root == null || root.isMissingNode() || root.isNull()) {
            return Map.of();
        }
        if (!root.isObject()) {
            throw new ConfigException(file + ": expected sections such as 'server:' at the top");
        }
        Map<String, String> values = new HashMap<>();
        for (Map.Entry<String, JsonNode> section : root.properties()) {
            String name = section.getKey();
            if (!SECTIONS.contains(name)) {
                throw new ConfigException("unknown setting '" + name + "'");
            }
            JsonNode settings = section.getValue();
            if (settings.isNull()) {
                continue; // a section whose settings are all commented out
            }
            if (!settings.isObject()) {
                throw new ConfigException(name + ": expected its settings indented below it");
            }
            for (Map.Entry<String, JsonNode> setting : settings.properties()) {
                String path = name + "." + setting.getKey();
                if (!BY_PATH.containsKey(path)) {
                    throw new ConfigException("unknown setting '" + path + "'");
                }
                JsonNode value = setting.getValue();
                if (value.isArray() && path.equals(Setting.UPSTREAM_PROXIES.path)) {
                    // upstream.proxies may be a YAML list as well as one comma-separated text
                    List<String> items = new ArrayList<>();
                    for (JsonNode item : value) {
                        if (item.isContainerNode()) {
                            throw new ConfigException(path + ": expected a list of proxy URLs");
                        }
                        items.add(item.asText());
                    }
                    values.put(path, String.join(",", items));
                    continue;
                }
                if (value.isContainerNode()) {
                    throw new ConfigException(path + ": expected a single value, not a list or mapping");
                }
                if (!value.isNull()) {
                    values.put(path, value.asText());
                }
            }
        }
        return values;
    }

    private static String trimToNull(String s) {
        if (s == null || s.isBlank()) {
            return null;
        }
        return s.trim();
    }

    private static String formatSize(long bytes) {
        if (bytes >= GIB && bytes % GIB == 0) {
            return bytes / GIB + "GiB";
        }
        if (bytes >= MIB && bytes % MIB == 0) {
            return bytes / MIB + "MiB";
        }
        if (bytes >= KIB && bytes % KIB == 0) {
            return bytes / KIB + "KiB";
        }
        return Long.toString(bytes);
    }

    private static long saturatedMultiply(long a, long b) {
        return a > Long.MAX_VALUE / b ? Long.MAX_VALUE : a * b;
    }

    /**
     * Every setting: its YAML path, environment variable and default as written in {@code gateway.yaml} (null: none).
     * Package-private so that tests can check {@code gateway.yaml} against it.
     */
    enum Setting {
        SERVER_HOST("server.host", "GEMGATE_HOST", "0.0.0.0"),
        SERVER_PORT("server.port", "GEMGATE_PORT", "8080"),
        SERVER_IO_THREADS("server.ioThreads", "0"),
        SERVER_MAX_BODY_BYTES("server.maxBodyBytes", "20MiB"),
        SERVER_MAX_HEADER_BYTES("server.maxHeaderBytes", "16KiB"),
        SERVER_MAX_INITIAL_LINE_BYTES("server.maxInitialLineBytes", "8KiB"),
        SERVER_IDLE_TIMEOUT("server.idleTimeout", "60s"),
        SERVER_REQUEST_READ_TIMEOUT("server.requestReadTimeout", "30s"),
        SERVER_SHUTDOWN_GRACE("server.shutdownGrace", "25s"),
        SERVER_MAX_CONNECTIONS("server.maxConnections", "20000"),
        SERVER_CORS_ALLOW_ORIGINS("server.corsAllowOrigins", "*"),

        UPSTREAM_URL("upstream.url", "GEMGATE_UPSTREAM", "https://generativelanguage.googleapis.com"),
        UPSTREAM_CONNECT_TIMEOUT("upstream.connectTimeout", "5s"),
        UPSTREAM_RESPONSE_TIMEOUT("upstream.responseTimeout", "120s"),
        UPSTREAM_STREAM_IDLE_TIMEOUT("upstream.streamIdleTimeout", "300s"),
        UPSTREAM_MAX_CONNECTIONS_PER_LOOP("upstream.maxConnectionsPerLoop", "1024"),
        UPSTREAM_MAX_PENDING_ACQUIRES("upstream.maxPendingAcquires", "4096"),
        UPSTREAM_POOL_IDLE_TIMEOUT("upstream.poolIdleTimeout", "50s"),
        UPSTREAM_MAX_CONNECTION_LIFETIME("upstream.maxConnectionLifetime", "10m"),
        UPSTREAM_PROXIES("upstream.proxies", "GEMGATE_UPSTREAM_PROXIES", null),
        UPSTREAM_TRUST_CERTIFICATES("upstream.trustCertificates", "GEMGATE_UPSTREAM_TRUST_CERTIFICATES", null),
        UPSTREAM_EXIT_CHECK_INTERVAL("upstream.exitCheckInterval", "10s"),
        UPSTREAM_EXIT_RATE_LIMIT_WINDOW("upstream.exitRateLimitWindow", "10s"),
        UPSTREAM_EXIT_COOLDOWN("upstream.exitCooldown", "60s"),
        UPSTREAM_EXIT_COOLING("upstream.exitCooling", "move"),

        AUTH_TOKEN("auth.token", "GEMGATE_TOKEN", null),
        AUTH_ADMIN_TOKEN("auth.adminToken", "GEMGATE_ADMIN_TOKEN", null),

        KEYS_FILE("keys.file", "GEMGATE_KEYS_FILE", "key.txt"),

        POOL_STRATEGY("pool.strategy", "round_robin"),
        POOL_MAX_ATTEMPTS("pool.maxAttempts", "3"),
        POOL_RATE_LIMIT_COOLDOWN("pool.rateLimitCooldown", "60s"),
        POOL_RATE_LIMIT_COOLDOWN_MAX("pool.rateLimitCooldownMax", "15m"),
        POOL_SERVER_ERROR_COOLDOWN("pool.serverErrorCooldown", "5s"),
        POOL_QUOTA_RESET_ZONE("pool.quotaResetZone", "America/Los_Angeles"),

        FAILOVER_DEADLINE("failover.deadline", "30s"),

        STATE_DATA_DIR("state.dataDir", "GEMGATE_DATA_DIR", "./data"),
        STATE_FLUSH_INTERVAL("state.flushInterval", "2s"),
        STATE_REDIS_URL("state.redisUrl", "GEMGATE_REDIS_URL", null),
        STATE_REDIS_PREFIX("state.redisPrefix", "GEMGATE_REDIS_PREFIX", "gemgate:"),
        STATE_REDIS_TRUST_CERTIFICATES("state.redisTrustCertificates", "GEMGATE_REDIS_TRUST_CERTIFICATES", null),
        STATE_MASTER_KEY("state.masterKey", "GEMGATE_MASTER_KEY", null),

        AFFINITY_MAX_ENTRIES("affinity.maxEntries", "100000"),
        AFFINITY_LOOKUP_MAX_KEYS("affinity.lookupMaxKeys", "32"),

        RESPONSES_STORE_MAX_BYTES("responses.storeMaxBytes", "64MiB"),
        RESPONSES_STORE_TTL("responses.storeTtl", "6h"),

        BRAKE_SHARE("brake.share", "0.5"),
        BRAKE_WINDOW("brake.window", "60s"),

        REQUEST_LOG_ENABLED("requests.enabled", "true"),
        REQUEST_LOG_DATABASE_URL("requests.databaseUrl", "GEMGATE_DATABASE_URL", null),
        REQUEST_LOG_RETENTION("requests.retention", "7d"),
        REQUEST_LOG_MAX_SIZE("requests.maxSize", "1GiB"),
        REQUEST_LOG_USAGE_RETENTION("requests.usageRetention", "90d"),
        REQUEST_LOG_QUEUE_SIZE("requests.queueSize", "10000"),
        REQUEST_LOG_SAMPLE_WHEN_BUSY("requests.sampleWhenBusy", "10"),
        REQUEST_LOG_ERROR_BODY_BYTES("requests.errorBodyBytes", "4KiB"),
        REQUEST_LOG_FLUSH_INTERVAL("requests.flushInterval", "1s"),
        REQUEST_LOG_CPU_PERCENT("requests.cpuPercent", "1");

        final String path;
        final String env;
        final String defaultValue;

        /** A setting whose variable is {@code GEMGATE_<SECTION>_<NAME>}. */
        Setting(String path, String defaultValue) {
            this(path, "GEMGATE_" + path.replace('.', '_').replaceAll("([a-z0-9])([A-Z])", "$1_$2")
                    .toUpperCase(Locale.ROOT), defaultValue);
        }

        Setting(String path, String env, String defaultValue) {
            this.path = path;
            this.env = env;
            this.defaultValue = defaultValue;
        }

        String section() {
            return path.substring(0, path.indexOf('.'));
        }

        /** Values never shown in messages: credentials, and the Redis URL, which may hold a password. */
        boolean isSecret() {
            return this == AUTH_TOKEN || this == AUTH_ADMIN_TOKEN || this == STATE_MASTER_KEY
                    || this == STATE_REDIS_URL || this == REQUEST_LOG_DATABASE_URL;
        }
    }

    /**
     * One setting's value and where it came from.
     *
     * @param origin the environment variable or YAML path, as the user wrote it
     */
    private record Raw(Setting setting, String text, String origin) {
        String shown() {
            return setting.isSecret() ? "<hidden>" : text;
        }

        ConfigException fail(String expected) {
            return new ConfigException(origin + ": " + shown() + " (expected: " + expected + ")");
        }

        ConfigException failQuoted(String expected) {
            return new ConfigException(origin + ": '" + shown() + "' (expected: " + expected + ")");
        }

        long number() {
            try {
                return Long.parseLong(text);
            } catch (NumberFormatException e) {
                throw new ConfigException(origin + ": '" + shown() + "' is not a number");
            }
        }
    }

    /** The settings' sources in order of precedence: environment, YAML, defaults. */
    private static final class Values {
        private final Map<String, String> yaml;
        private final Map<String, String> env;

        Values(Map<String, String> yaml, Map<String, String> env) {
            this.yaml = yaml;
            this.env = env;
        }

        /** The winning value, or null if the setting is unset and has no default. */
        Raw raw(Setting s) {
            String fromEnv = trimToNull(env.get(s.env));
            if (fromEnv != null) {
                return new Raw(s, fromEnv, s.env);
            }
            String fromYaml = trimToNull(yaml.get(s.path));
            if (fromYaml != null) {
                return new Raw(s, fromYaml, s.path);
            }
            return s.defaultValue == null ? null : new Raw(s, s.defaultValue, s.path);
        }

        String text(Setting s) {
            return raw(s).text;
        }

        String optional(Setting s) {
            Raw r = raw(s);
            return r == null ? null : r.text;
        }

        /**
         * {@code *} (any origin), {@code none}, or origins separated by commas, each {@code scheme://host[:port]}
         * as a browser sends it in {@code Origin} (RFC 6454 §6.1): no path, no trailing slash.
         */
        List<String> origins(Setting s) {
            Raw r = raw(s);
            String t = r.text.trim();
            if (t.equals("*")) {
                return List.of("*");
            }
            if (t.equalsIgnoreCase("none")) {
                return List.of();
            }
            List<String> out = new java.util.ArrayList<>();
            for (String o : t.split(",")) {
                String origin = o.trim();
                if (!ORIGIN.matcher(origin).matches()) {
                    throw r.failQuoted("*, none, or origins such as https://chat.example.com, http://localhost:3000");
                }
                out.add(origin.toLowerCase(java.util.Locale.ROOT));
            }
            return List.copyOf(out);
        }

        int intBetween(Setting s, int min, int max) {
            Raw r = raw(s);
            long n = r.number();
            if (n < min || n > max) {
                throw r.fail(min + " to " + max);
            }
            return (int) n;
        }

        boolean bool(Setting s) {
            Raw r = raw(s);
            return switch (r.text.toLowerCase(Locale.ROOT)) {
                case "true", "yes", "on" -> true;
                case "false", "no", "off" -> false;
                default -> throw r.failQuoted("true or false");
            };
        }

        int nonNegativeInt(Setting s) {
            Raw r = raw(s);
            long n = r.number();
            if (n < 0 || n > Integer.MAX_VALUE) {
                throw r.fail(">= 0");
            }
            return (int) n;
        }

        int positiveInt(Setting s) {
            Raw r = raw(s);
            long n = r.number();
            if (n < 1 || n > Integer.MAX_VALUE) {
                throw r.fail("> 0");
            }
            return (int) n;
        }

        long size(Setting s, long min, long max) {
            Raw r = raw(s);
            Matcher m = SIZE.matcher(r.text);
            if (!m.matches()) {
                throw r.failQuoted("a size such as 65536, 64KiB, 20MiB or 1GiB");
            }
            long unit = m.group(2) == null ? 1 : switch (m.group(2)) {
                case "KiB" -> KIB;
                case "MiB" -> MIB;
                default -> GIB;
            };
            long bytes = saturatedMultiply(Long.parseLong(m.group(1)), unit);
            if (bytes < min || bytes > max) {
                throw r.fail(formatSize(min) + " to " + formatSize(max));
            }
            return bytes;
        }

        /** A duration of zero or more. */
        Duration duration(Setting s) {
            Raw r = raw(s);
            Matcher m = DURATION.matcher(r.text);
            if (!m.matches()) {
                throw r.failQuoted("a duration such as 500ms, 30s, 5m, 2h, 1d, or a number of seconds");
            }
            long unitMillis = m.group(2) == null ? 1000 : switch (m.group(2)) {
                case "ms" -> 1;
                case "s" -> 1000;
                case "m" -> 60_000;
                case "h" -> 3_600_000;
                default -> 86_400_000;
            };
            Duration d = Duration.ofMillis(saturatedMultiply(Long.parseLong(m.group(1)), unitMillis));
            if (d.compareTo(MAX_DURATION) > 0) {
                throw r.fail("at most 365d");
            }
            return d;
        }

        Duration positiveDuration(Setting s) {
            Duration d = duration(s);
            if (d.isZero()) {
                throw raw(s).fail("> 0");
            }
            return d;
        }

        /** An absolute http or https URL with nothing after the authority, normalized without a trailing slash. */
        URI url(Setting s) {
            Raw r = raw(s);
            String expected = "an http:// or https:// URL";
            URI uri;
            try {
                uri = new URI(r.text);
            } catch (URISyntaxException e) {
                throw r.failQuoted(expected);
            }
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if ((!scheme.equals("http") && !scheme.equals("https")) || uri.getHost() == null
                    || uri.getPort() > 65535) {
                throw r.failQuoted(expected);
            }
            String path = uri.getRawPath();
            if (!(path == null || path.isEmpty() || path.equals("/"))
                    || uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
                throw r.failQuoted(expected + " with no path, query or user info");
            }
            return URI.create(scheme + "://" + uri.getHost() + (uri.getPort() < 0 ? "" : ":" + uri.getPort()));
        }

        /** A comma-separated list of proxy URLs; errors name the entry's position, never its text (credentials). */
        List<io.gemgate.core.egress.ProxySpec> proxies(Setting s) {
            Raw r = raw(s);
            if (r == null) {
                return List.of();
            }
            try {
                return io.gemgate.core.egress.ProxySpec.parseList(r.text);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(r.origin + ": " + e.getMessage());
            }
        }

        Path path(Setting s) {
            Raw r = raw(s);
            try {
                return Path.of(r.text);
            } catch (InvalidPathException e) {
                throw r.failQuoted("a file path");
            }
        }

        /** 1 to 64 printable ASCII characters, no spaces: it starts Redis key names. */
        String redisPrefix(Setting s) {
            Raw r = raw(s);
            if (r.text.length() > 64 || !r.text.chars().allMatch(c -> c > ' ' && c < 127)) {
                throw r.failQuoted("1 to 64 printable ASCII characters without spaces, such as gemgate:");
            }
            return r.text;
        }

        Strategy strategy(Setting s) {
            Raw r = raw(s);
            try {
                return Strategy.parse(r.text);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(r.origin + ": " + e.getMessage());
            }
        }

        ZoneId zone(Setting s) {
            Raw r = raw(s);
            try {
                return ZoneId.of(r.text);
            } catch (DateTimeException e) {
                throw r.failQuoted("a time zone such as America/Los_Angeles or UTC");
            }
        }
    }
}
