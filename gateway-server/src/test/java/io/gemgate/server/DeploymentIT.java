package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gemgate.core.tokens.TokenLimiter;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.GatewayProcess;
import io.gemgate.testing.Haproxy;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.PostgresServer;
import io.gemgate.testing.RecordedRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A deployment as a user runs it (docs/operations.md, "Deployment" and "What the deployment test checks"). Three
 * gateways from the packaged jar ({@code java -jar gemgate.jar}, each in its own directory) share one redis-server
 * (with its data directory, restarted as an operator restarts it) and one PostgreSQL request log, behind Debian's
 * haproxy running {@code ops/haproxy/haproxy.cfg} (the configuration docs/operations.md shows). One fake upstream holds
 * nine keys: four that serve, two that answer 429 for the minute, one that serves until its day's quota runs out in the
 * middle of the run, two that an operator disables through the admin API on the way.
 *
 * <p>Client threads send a bounded load through haproxy (paced, at most {@value #MAX_PER_CLIENT} requests each, for
 * 50 s when the machine keeps the schedule and never more than {@link #LOAD_CAP}) while the test kills one gateway
 * with SIGKILL and restarts it on the same port, and restarts Redis. Then it checks what a user would notice: no
 * error but where no key could serve (or the requests in flight on the killed gateway), user tokens within their
 * limits plus the documented overshoot, a spent day learned by one gateway honoured by all within a second, admin
 * changes made on one gateway seen by all, and every answered request in the PostgreSQL log once, with the upstream
 * calls the fake saw.
 *
 * <p>The request log is configured not to sample ({@code GEMGATE_REQUESTS_SAMPLE_WHEN_BUSY=1},
 * {@code GEMGATE_REQUESTS_CPU_PERCENT=100}, a queue of 100,000): every request must be there. Run by failsafe after
 * {@code package}.
 */
@ExtendWith(LeakDetection.class)
class DeploymentIT {
    @RegisterExtension
    static final PostgresServer pg = new PostgresServer();

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MODEL = "gemini-2.5-flash";
    private static final String SHARED_TOKEN = "gg-deploy-client-token-71c3";
    private static final String ADMIN_TOKEN = "gg-deploy-admin-token-2f0e-a9d4";
    private static final String MASTER_KEY = "gg-deploy-master-key-6b1d-40aa-93f7";
    private static final String BODY = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}";
    private static final Pattern CID = Pattern.compile("[?&]cid=([A-Za-z0-9-]+)");

    /** The load's bounds: time (50 s when the schedule is kept, never more than this) and requests per client. */
    private static final Duration LOAD_CAP = Duration.ofSeconds(90);
    private static final int MAX_PER_CLIENT = 1_200;
    /** Requests per minute of the two limited tokens. */
    private static final int LIMIT = 30;
    private static final int GATEWAYS = 3;
    /**
     * What a gateway's start may cost: CPU time of its JVM until {@code /ready} answers 200 (measured 3.5 to 4.2 s
     * with Redis and PostgreSQL: docs/operations.md, "Start-up"), and, on a machine so loaded that it gets little of
     * that, wall time at most.
     */
    private static final Duration START_CPU = Duration.ofSeconds(10);
    private static final Duration START_WALL = Duration.ofSeconds(120);
    /** A key verdict or an admin change reaches every gateway within this (pub/sub, or the next sync round). */
    private static final Duration SPREAD = Duration.ofSeconds(1);

    // Keys: GatewayHarness.key(i), masked "AIza...000i".
    private static final int[] SERVING = {0, 1, 2, 3};
    private static final int[] MINUTE_429 = {4, 5};
    private static final int QUOTA_DAY = 6;
    private static final int DISABLED_FIRST = 7;
    private static final int DISABLED_LATER = 8;
    private static final int KEYS = 9;

    @TempDir
    Path dir;
    private FakeGemini fake;
    private RedisProcess redis;
    private Haproxy lb;
    private final List<Gateway> gateways = new ArrayList<>();
    private ExecutorService pool;
    private final AtomicBoolean stopAll = new AtomicBoolean();
    private final ConcurrentLinkedQueue<Call> calls = new ConcurrentLinkedQueue<>();
    private final StringBuilder report = new StringBuilder();

    /** One request a client sent and what it got: status -1 when no answer came (the connection failed). */
    record Call(String cid, String client, long sentNanos, long endNanos, int status, String servedBy, String body,
                int port) {
        boolean inFlightAt(long nanos) {
            return sentNanos <= nanos && endNanos >= nanos;
        }
    }

    @AfterEach
    void tearDown() throws Exception {
        stopAll.set(true);
        if (pool != null) {
            pool.shutdownNow();
            pool.awaitTermination(30, TimeUnit.SECONDS);
        }
        if (lb != null) {
            lb.close();
        }
        for (Gateway g : gateways) {
            g.stop();
        }
        if (redis != null) {
            redis.stop();
        }
        if (fake != null) {
            fake.close();
        }
        System.out.println(report);
    }

    @Test
    void threeGatewaysBehindHaproxyKeepTheirPromisesThroughAKillAndARedisRestart() throws Exception {
        Path jar = Path.of("target/gemgate.jar").toAbsolutePath();
        assertThat(jar).as("the packaged jar (failsafe runs after package)").exists();
        fake = FakeGemini.start();
        for (int k : MINUTE_429) {
            fake.always(key(k), Behavior.rateLimitMinute(Duration.ofSeconds(4)));
        }
        StringBuilder keysFile = new StringBuilder();
        for (int i = 0; i < KEYS; i++) {
            keysFile.append(key(i)).append(i == QUOTA_DAY ? "  group=q" : "").append('\n');
        }
        Files.writeString(dir.resolve("key.txt"), keysFile);
        redis = new RedisProcess(dir.resolve("redis"));
        redis.start();
        pg.createDatabase("deploy");

        // ---- three gateways from the packaged jar, started together as an operator's service manager does
        for (int i = 1; i <= GATEWAYS; i++) {
            gateways.add(new Gateway("g" + i, GatewayProcess.freePort(), dir.resolve("g" + i), jar));
        }
        for (Gateway g : gateways) {
            g.start();
        }
        for (Gateway g : gateways) {
            g.awaitReady(); // the three start together, as a service manager starts them
        }
        for (Gateway g : gateways) {
            report.append(g.startLines());
        }
        int lbPort = GatewayProcess.freePort();
        int statsPort = GatewayProcess.freePort();
        Map<String, String> lbEnv = new HashMap<>();
        lbEnv.put("GEMGATE_LB_BIND", "127.0.0.1:" + lbPort);
        lbEnv.put("GEMGATE_LB_STATS", "127.0.0.1:" + statsPort);
        for (Gateway g : gateways) {
            lbEnv.put("GEMGATE_GATEWAY_" + g.name.substring(1), "127.0.0.1:" + g.port);
        }
        Path config = Path.of("..", "ops", "haproxy", "haproxy.cfg").toAbsolutePath().normalize();
        String docs = Files.readString(Path.of("..", "docs", "operations.md"));
        int from = docs.indexOf("```haproxy\n") + "```haproxy\n".length();
        assertThat(docs.substring(from, docs.indexOf("\n```", from)))
                .as("docs/operations.md shows the configuration the test runs")
                .isEqualTo(Files.readString(config).strip());
        lb = Haproxy.start(config, lbEnv, statsPort, dir);
        assertThat(lb.await("gateways", s -> s.size() == GATEWAYS && s.values().stream().allMatch("UP"::equals),
                Duration.ofSeconds(10))).as("haproxy sees the three gateways up: %s", lb.servers("gateways")).isTrue();

        Gateway g1 = gateways.get(0);
        Gateway g2 = gateways.get(1);
        Gateway g3 = gateways.get(2);
        // Tokens made through the admin API of one gateway; both limited ones before the load, for their minute.
        String tokenA = g1.createToken("{\"name\":\"limited-a\",\"requestsPerMinute\":" + LIMIT + "}");
        String tokenB = g1.createToken("{\"name\":\"limited-b\",\"requestsPerMinute\":" + LIMIT + "}");
        String tokenQ = g1.createToken("{\"name\":\"group-q\",\"keyGroups\":[\"q\"]}");
        Map<Integer, String> keyIds = g1.keyIds();

        // ---- the load
        pool = Executors.newCachedThreadPool();
        long t0 = System.nanoTime();
        long cap = t0 + LOAD_CAP.toNanos();
        AtomicBoolean stopLoad = new AtomicBoolean();
        List<Future<?>> load = new ArrayList<>();
        for (int c = 1; c <= 4; c++) {
            load.add(pool.submit(client("s" + c, SHARED_TOKEN, lbPort, 100, t0, cap, stopLoad)));
        }
        // Each limited token's minute lies within the load, whatever the machine's speed: A for the first 24 s
        // (across the kill), B from then on for at most 40 s (across the Redis restart).
        load.add(pool.submit(client("a", tokenA, lbPort, 60, t0, t0 + TimeUnit.SECONDS.toNanos(24), stopLoad)));
        load.add(pool.submit(client("b", tokenB, lbPort, 60, t0 + TimeUnit.SECONDS.toNanos(24),
                t0 + TimeUnit.SECONDS.toNanos(64), stopLoad)));

        // Admin changes on one gateway reach the others: a token created on g1 works on g2 and g3; a key disabled on
        // g3 is disabled on g1 and g2.
        at(t0, 3);
        String tokenC = g1.createToken("{\"name\":\"made-on-g1\"}");
        awaitServes(tokenC, List.of(g2, g3), "token created on g1");
        g3.admin("PATCH", "/admin/api/keys/" + keyIds.get(DISABLED_FIRST), "{\"enabled\":false}");
        long disabledFirst = awaitKeyState(keyIds.get(DISABLED_FIRST), List.of(g1, g2),
                k -> !k.path("enabled").asBoolean(true), "key disabled on g3");

        // A key's day runs out: the gateway that meets it tells the others, who never call it again.
        at(t0, 6);
        long switched = System.currentTimeMillis();
        fake.always(key(QUOTA_DAY), Behavior.quotaDay());
        Call probe1 = send("probe-q1", tokenQ, g1.port, false);
        // README, "Status codes": 503 when every key of the request's groups has spent its day.
        assertThat(probe1.status()).as("group q's only key is spent: %s", probe1).isEqualTo(503);
        assertThat(probe1.body()).contains("exhausted for today");
        long learned = firstQuotaDayCall(switched);
        awaitKeyState(keyIds.get(QUOTA_DAY), List.of(g2, g3), k -> "exhausted".equals(k.path("status").asText()),
                "key exhausted as learned by a gateway");
        long spread = System.currentTimeMillis() - learned;
        report.append("quota day learned at +").append(learned - switched).append(" ms after the switch, every "
                + "gateway knew ").append(spread).append(" ms later\n");
        assertThat(spread).as("ms from the first spent-day answer to every gateway knowing")
                .isLessThanOrEqualTo(SPREAD.toMillis());
        Call probe2 = send("probe-q2", tokenQ, g2.port, false);
        Call probe3 = send("probe-q3", tokenQ, g3.port, false);
        assertThat(List.of(probe2.status(), probe3.status())).containsExactly(503, 503);
        assertThat(fake.requests().stream().map(DeploymentIT::cidOf)).as("the other gateways answered without "
                + "calling the spent key").doesNotContain("probe-q2", "probe-q3");

        // One gateway killed (SIGKILL) in the middle of the load, and restarted on its port with its data directory.
        at(t0, 10);
        long killed = g2.kill();
        long restart = System.nanoTime();
        g2.start();
        report.append("g2 restarted under load:\n");
        g2.awaitReady();
        assertThat(lb.await("gateways", s -> "UP".equals(s.get("g2")), Duration.ofSeconds(10)))
                .as("haproxy takes g2 back: %s", lb.servers("gateways")).isTrue();
        report.append("g2 back in haproxy after ").append(ms(System.nanoTime() - restart)).append(" ms\n");

        // Token A's minute ends here; token B's starts, across the Redis restart.
        at(t0, 30);
        long redisDown = System.nanoTime();
        redis.stop();
        redis.start();
        report.append("redis stopped and started in ").append(ms(System.nanoTime() - redisDown)).append(" ms\n");

        // Admin changes after the restart travel again: a token made on the restarted g2, a key disabled on g1.
        String tokenE = g2.createToken("{\"name\":\"made-on-g2\"}");
        awaitServes(tokenE, List.of(g1, g3), "token created on g2 after the Redis restart");
        g1.admin("PATCH", "/admin/api/keys/" + keyIds.get(DISABLED_LATER), "{\"enabled\":false}");
        long disabledLater = awaitKeyState(keyIds.get(DISABLED_LATER), List.of(g2, g3),
                k -> !k.path("enabled").asBoolean(true), "key disabled on g1 after the Redis restart");

        // The load goes on for 12 s after the last step (50 s in all when the machine keeps the schedule).
        long last = System.nanoTime();
        at(Math.max(t0 + TimeUnit.SECONDS.toNanos(38), last), 12);
        stopLoad.set(true);
        for (Future<?> f : load) {
            f.get(LOAD_CAP.toSeconds(), TimeUnit.SECONDS);
        }
        report.append("load: ").append(calls.size()).append(" requests in ").append(ms(System.nanoTime() - t0))
                .append(" ms\n");

        // ---- what the clients saw
        List<Call> all = List.copyOf(calls);
        List<Call> unexplained = new ArrayList<>();
        List<Call> closedUnsent = new ArrayList<>();
        int limited = 0;
        int limitedByPart = 0;
        int killWindow = 0;
        int inFlightAtKill = 0;
        for (Call c : all) {
            if (c.inFlightAt(killed) && c.port() == lbPort) {
                inFlightAtKill++;
            }
            if (c.status() / 100 == 2 || c.cid().startsWith("probe")) {
                continue;
            }
            if (c.status() == 429 && (c.client().equals("a") || c.client().equals("b"))
                    && c.body().contains("requestsPerMinute limit of ")) {
                limited++;
                // While Redis is away a gateway refuses at its part of the limit, and names that part.
                if (!c.body().contains("requestsPerMinute limit of " + LIMIT)) {
                    limitedByPart++;
                }
            } else if (c.inFlightAt(killed)) {
                killWindow++;
                report.append("  in flight at the kill: ").append(c.status()).append(' ')
                        .append(c.body(), 0, Math.min(200, c.body().length())).append('\n');
                lb.output().lines().filter(l -> l.contains("cid=" + c.cid() + " "))
                        .forEach(l -> report.append("  haproxy: ").append(l).append('\n'));
            } else if (c.status() < 0 && c.body().contains("received no bytes")) {
                // The client's keep-alive connection to haproxy closed as the request went out: checked below to
                // have reached no gateway, and bounded.
                closedUnsent.add(c);
                report.append("  connection closed, no answer: ").append(c).append('\n');
                lb.output().lines().filter(l -> l.contains("cid=" + c.cid() + " "))
                        .forEach(l -> report.append("  haproxy: ").append(l).append('\n'));
            } else {
                unexplained.add(c);
            }
        }
        report.append("refused by a token's limit: ").append(limited).append(" (").append(limitedByPart)
                .append(" naming a gateway's part of it)").append("; errors in flight at the kill: ")
                .append(killWindow).append(" of ").append(inFlightAtKill).append(" in flight\n");
        assertThat(unexplained).as("errors a client saw while a key could serve; haproxy's lines of them:\n%s",
                lb.output().lines().filter(l -> unexplained.stream().anyMatch(c -> l.contains("cid=" + c.cid() + " ")))
                        .collect(Collectors.joining("\n"))).isEmpty();
        assertThat(killWindow).as("errors from the kill: at most the requests in flight then")
                .isLessThanOrEqualTo(inFlightAtKill);

        // ---- user tokens' limits: the minute of each limited token lies within the load (< 60 s)
        int bound = GATEWAYS * TokenLimiter.borrow(LIMIT, GATEWAYS);
        long okA = all.stream().filter(c -> c.client().equals("a") && c.status() == 200).count();
        long okB = all.stream().filter(c -> c.client().equals("b") && c.status() == 200).count();
        report.append("token A (").append(LIMIT).append("/min, across the kill): ").append(okA)
                .append(" served; token B (across the Redis restart): ").append(okB).append(" served; bound ")
                .append(LIMIT).append(" + ").append(bound).append('\n');
        assertThat(okA).as("token A's requests served in its minute, a gateway killed and restarted meanwhile")
                .isBetween((long) LIMIT - bound, (long) LIMIT + bound);
        // Redis away: each gateway allows its part of the limit on its own counters (README, "Limits across
        // gateways"), which Redis does not count when it is back: at most one more limit's worth.
        assertThat(okB).as("token B's requests served in its minute, Redis restarted meanwhile")
                .isBetween((long) LIMIT - bound, 2L * LIMIT + bound);

        // ---- the upstream: a spent key, disabled keys
        List<RecordedRequest> upstream = fake.requests();
        long lastQuota = upstream.stream().filter(r -> r.key().equals(key(QUOTA_DAY)))
                .mapToLong(r -> r.at().toEpochMilli()).max().orElse(0);
        assertThat(lastQuota - learned).as("ms from the spent day learned to the last call with that key")
                .isLessThanOrEqualTo(SPREAD.toMillis());
        assertThat(callsAfter(upstream, key(DISABLED_FIRST), disabledFirst)).as("calls with the key disabled on g3"
                + " after every gateway had it disabled").isEmpty();
        assertThat(callsAfter(upstream, key(DISABLED_LATER), disabledLater)).as("calls with the key disabled on g1"
                + " after every gateway had it disabled").isEmpty();

        // ---- the request log: every answered request once, with its upstream calls
        for (Gateway g : List.of(g1, g2, g3)) {
            // Answered once what was queued before is written.
            JsonNode dropped = g.admin("GET", "/admin/api/requests?limit=1", null).path("log").path("dropped");
            assertThat(dropped.path("sampled").asLong() + dropped.path("full").asLong())
                    .as("records %s did not write: %s", g.name, dropped).isZero();
        }
        Map<String, List<Long>> rowsByCid = new HashMap<>();
        Map<Long, List<String>> attemptsById = new HashMap<>();
        try (Connection c = pg.connect("deploy"); Statement s = c.createStatement()) {
            try (ResultSet r = s.executeQuery("select id, path from gemgate_requests")) {
                while (r.next()) {
                    String cid = cidOf(r.getString(2));
                    if (cid != null) {
                        rowsByCid.computeIfAbsent(cid, k -> new ArrayList<>()).add(r.getLong(1));
                    }
                }
            }
            try (ResultSet r = s.executeQuery("select request_id, key_masked from gemgate_attempts order by "
                    + "request_id, n")) {
                while (r.next()) {
                    attemptsById.computeIfAbsent(r.getLong(1), k -> new ArrayList<>()).add(last4(r.getString(2)));
                }
            }
        }
        Map<String, List<String>> upstreamByCid = new HashMap<>();
        for (RecordedRequest r : upstream) {
            String cid = cidOf(r);
            if (cid != null) {
                upstreamByCid.computeIfAbsent(cid, k -> new ArrayList<>()).add(last4(r.key()));
            }
        }
        List<String> twice = new ArrayList<>();
        List<Call> missing = new ArrayList<>();
        List<String> lostAtKill = new ArrayList<>();
        List<String> attemptsDiffer = new ArrayList<>();
        int answered = 0;
        for (Call c : all) {
            if (c.status() < 0 || c.servedBy() == null && c.port() == lbPort) {
                continue; // no gateway answered it
            }
            answered++;
            List<Long> rows = rowsByCid.getOrDefault(c.cid(), List.of());
            if (rows.size() > 1) {
                twice.add(c.cid() + " " + rows);
            } else if (rows.isEmpty()) {
                // A SIGKILL loses what its writer had not written yet: answers of the killed gateway just before.
                if ("g2".equals(c.servedBy()) && c.endNanos() <= killed && killed - c.endNanos() < 1_000_000_000L) {
                    lostAtKill.add(c.cid());
                } else {
                    missing.add(c);
                }
            } else {
                List<String> logged = attemptsById.getOrDefault(rows.get(0), List.of());
                List<String> seen = upstreamByCid.getOrDefault(c.cid(), List.of());
                boolean replayed = c.inFlightAt(killed) && seen.size() > logged.size()
                        && seen.subList(seen.size() - logged.size(), seen.size()).equals(logged);
                if (!logged.equals(seen) && !replayed) {
                    attemptsDiffer.add(c.cid() + " logged " + logged + ", upstream saw " + seen);
                }
            }
        }
        report.append("request log: ").append(answered).append(" answered requests, ").append(rowsByCid.size())
                .append(" with a row; lost with the killed gateway's unwritten queue: ").append(lostAtKill.size())
                .append('\n');
        assertThat(closedUnsent).as("requests whose connection closed without an answer, outside the kill")
                .hasSizeLessThanOrEqualTo(2);
        for (Call c : closedUnsent) {
            assertThat(upstreamByCid).as("%s reached no gateway", c.cid()).doesNotContainKey(c.cid());
            assertThat(rowsByCid).as("%s reached no gateway", c.cid()).doesNotContainKey(c.cid());
        }
        assertThat(twice).as("requests logged more than once").isEmpty();
        assertThat(missing).as("answered requests missing from the log").isEmpty();
        assertThat(attemptsDiffer).as("logged attempts against the upstream calls the fake saw").isEmpty();
        assertThat(rowsByCid.keySet()).as("rows for requests no client sent")
                .isSubsetOf(all.stream().map(Call::cid).collect(Collectors.toSet()));
        assertThat(redis.log()).doesNotContain("# Bad file format", "Short read");
    }

    // ------------------------------------------------------------------------------------------------ the clients

    /**
     * A client: from {@code start} (nanoTime), sends {@code generateContent} (one in four streamed) every
     * {@code everyMillis} through haproxy with its token, until {@code end}, {@code stop} or {@value #MAX_PER_CLIENT}
     * requests.
     */
    private Runnable client(String name, String token, int port, long everyMillis, long start, long end,
                            AtomicBoolean stop) {
        return () -> {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(5)).build();
            long next = start;
            for (int n = 0; n < MAX_PER_CLIENT && !stop.get() && !stopAll.get(); n++) {
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(wait); // pacing: the load is a rate, not a race
                }
                if (System.nanoTime() >= end || stop.get()) {
                    break;
                }
                send(http, name + "-" + n, name, token, port, n % 4 == 3);
                next = Math.max(next + TimeUnit.MILLISECONDS.toNanos(everyMillis), System.nanoTime());
            }
        };
    }

    private final HttpClient probes = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    /** One request straight to a gateway (not through haproxy), recorded like the clients'. */
    private Call send(String cid, String token, int port, boolean stream) {
        return send(probes, cid, "probe", token, port, stream);
    }

    private Call send(HttpClient http, String cid, String client, String token, int port, boolean stream) {
        String path = "/v1beta/models/" + MODEL + (stream ? ":streamGenerateContent?alt=sse&cid=" : ":generateContent"
                + "?cid=") + cid;
        long sent = System.nanoTime();
        Call c;
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofSeconds(40)).header("x-goog-api-key", token)
                    .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(BODY))
                    .build(), HttpResponse.BodyHandlers.ofString());
            c = new Call(cid, client, sent, System.nanoTime(), r.statusCode(),
                    r.headers().firstValue("x-served-by").orElse(null), r.body(), port);
        } catch (IOException e) {
            c = new Call(cid, client, sent, System.nanoTime(), -1, null, e.toString(), port);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            c = new Call(cid, client, sent, System.nanoTime(), -1, null, e.toString(), port);
        }
        calls.add(c);
        return c;
    }

    /** Polls until a request with {@code token} straight to each of {@code gws} is served (200). */
    private void awaitServes(String token, List<Gateway> gws, String what) {
        int change = ++changes;
        for (Gateway g : gws) {
            int[] n = {0};
            awaitTrue(() -> send("probe-admin" + change + "-" + g.name + "-" + n[0]++, token, g.port, false)
                    .status() == 200, Duration.ofSeconds(10), what + " serves on " + g.name);
        }
    }

    private int changes;

    /** Polls each of {@code gws}' admin API until {@code key} satisfies {@code ok}; returns when all did. */
    private long awaitKeyState(String keyId, List<Gateway> gws, java.util.function.Predicate<JsonNode> ok,
                               String what) {
        for (Gateway g : gws) {
            awaitTrue(() -> ok.test(g.admin("GET", "/admin/api/keys/" + keyId, null)), Duration.ofSeconds(10),
                    what + " on " + g.name);
        }
        return System.currentTimeMillis();
    }

    private static void awaitTrue(BooleanSupplier ok, Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!ok.getAsBoolean()) {
            assertThat(System.nanoTime()).as("%s within %s", what, timeout).isLessThan(deadline);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(25));
        }
    }

    /** Waits until {@code seconds} after {@code t0} (a step of the schedule; at once when already past). */
    private static void at(long t0, int seconds) {
        long wait = t0 + TimeUnit.SECONDS.toNanos(seconds) - System.nanoTime();
        if (wait > 0) {
            LockSupport.parkNanos(wait); // the schedule of the faults, not a wait for a result
        }
    }

    /** When the fake took the first call with the spent key after {@code switched} (epoch ms). */
    private long firstQuotaDayCall(long switched) {
        return fake.requests().stream().filter(r -> r.key().equals(key(QUOTA_DAY)))
                .mapToLong(r -> r.at().toEpochMilli()).filter(t -> t >= switched).min()
                .orElseThrow(() -> new AssertionError("no call with the spent key after the switch"));
    }

    /** The calls with {@code key} the fake took later than 500 ms after {@code sinceMillis} (calls then in flight). */
    private static List<String> callsAfter(List<RecordedRequest> upstream, String key, long sinceMillis) {
        return upstream.stream().filter(r -> r.key().equals(key) && r.at().toEpochMilli() > sinceMillis + 500)
                .map(r -> r.at() + " " + r.uri()).toList();
    }

    private static String cidOf(RecordedRequest r) {
        return cidOf(r.uri());
    }

    private static String cidOf(String target) {
        Matcher m = CID.matcher(target);
        return m.find() ? m.group(1) : null;
    }

    private static String key(int i) {
        return GatewayHarness.key(i);
    }

    private static String last4(String key) {
        return key.substring(key.length() - 4);
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    // ------------------------------------------------------------------------------------------------ the gateways

    /** One gateway: the packaged jar in a directory of its own, on a fixed port (kept across a restart). */
    private final class Gateway {
        final String name;
        final int port;
        final Path home;
        final Path jar;
        final Path log;
        final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        Process process;
        long launched;

        Gateway(String name, int port, Path home, Path jar) throws IOException {
            this.name = name;
            this.port = port;
            this.home = Files.createDirectories(home);
            this.jar = jar;
            this.log = home.resolve("gateway.log");
        }

        void start() throws IOException {
            Map<String, String> env = new HashMap<>();
            env.put("GEMGATE_HOST", "127.0.0.1");
            env.put("GEMGATE_PORT", Integer.toString(port));
            env.put("GEMGATE_UPSTREAM", fake.baseUrl());
            env.put("GEMGATE_TOKEN", SHARED_TOKEN);
            env.put("GEMGATE_ADMIN_TOKEN", ADMIN_TOKEN);
            env.put("GEMGATE_MASTER_KEY", MASTER_KEY);
            env.put("GEMGATE_KEYS_FILE", dir.resolve("key.txt").toString());
            env.put("GEMGATE_DATA_DIR", home.resolve("data").toString());
            env.put("GEMGATE_REDIS_URL", redis.url());
            env.put("GEMGATE_DATABASE_URL", pg.url("deploy"));
            // Every request is to be in the log: a queue no load here comes near, no sampling when busy, and the
            // writer's database work not held to a share of a core (its default of 2 % samples on this loaded box).
            env.put("GEMGATE_REQUESTS_QUEUE_SIZE", "100000");
            env.put("GEMGATE_REQUESTS_SAMPLE_WHEN_BUSY", "1");
            env.put("GEMGATE_REQUESTS_CPU_PERCENT", "100");
            launched = System.nanoTime();
            process = GatewayProcess.launchJar(jar, home, env, log);
        }

        /**
         * Polls {@code /ready} until 200; returns the milliseconds since launch. Fails when the gateway used more than
         * {@link #START_CPU} of CPU time without becoming ready (a slow start), or took {@link #START_WALL}.
         */
        long awaitReady() {
            long deadline = launched + START_WALL.toNanos();
            while (true) {
                assertThat(process.isAlive()).as("%s alive; its log:\n%s", name, logText()).isTrue();
                try {
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                            + "/ready")).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() == 200) {
                        long wall = ms(System.nanoTime() - launched);
                        report.append(name).append(" ready after ").append(wall).append(" ms, ")
                                .append(cpu().toMillis()).append(" ms of CPU\n");
                        return wall;
                    }
                } catch (IOException e) {
                    // not listening yet
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError(e);
                }
                if (System.nanoTime() > deadline || cpu().compareTo(START_CPU) > 0) {
                    throw new AssertionError(name + " not ready after " + ms(System.nanoTime() - launched) + " ms and "
                            + cpu().toMillis() + " ms of CPU; its log:\n" + logText() + "\nits threads:\n" + threads());
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
            }
        }

        /** CPU time (user and system) the gateway's JVM used so far. */
        Duration cpu() {
            return process.info().totalCpuDuration().orElse(Duration.ZERO);
        }

        /** SIGKILL; returns the instant (nanoTime) the process was seen gone. */
        long kill() throws InterruptedException {
            process.destroyForcibly();
            assertThat(process.waitFor(10, TimeUnit.SECONDS)).isTrue();
            return System.nanoTime();
        }

        void stop() throws InterruptedException {
            if (process != null && process.isAlive()) {
                process.destroy();
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }

        JsonNode admin(String method, String path, String body) {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                                + path)).timeout(Duration.ofSeconds(20)).header("authorization", "Bearer "
                                + ADMIN_TOKEN).header("content-type", "application/json")
                        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                                : HttpRequest.BodyPublishers.ofString(body)).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as("%s %s on %s: %s", method, path, name, r.body()).isBetween(200, 201);
                for (int i = 0; i < KEYS; i++) {
                    assertThat(r.body()).doesNotContain(key(i));
                }
                return JSON.readTree(r.body());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }

        /** Creates a user token through this gateway's admin API; returns its secret. */
        String createToken(String json) {
            return admin("POST", "/admin/api/tokens", json).path("token").asText();
        }

        /** The keys' ids by index, matched on their masked form's last four characters. */
        Map<Integer, String> keyIds() {
            Map<Integer, String> ids = new TreeMap<>();
            for (JsonNode k : admin("GET", "/admin/api/keys", null).path("keys")) {
                String masked = k.path("key").asText();
                for (int i = 0; i < KEYS; i++) {
                    if (masked.endsWith(last4(key(i)))) {
                        ids.put(i, k.path("id").asText());
                    }
                }
            }
            assertThat(ids).hasSize(KEYS);
            return ids;
        }

        /** The gateway's thread dump ({@code jstack}), for a start that did not finish. */
        String threads() {
            try {
                Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jstack").toString(),
                        Long.toString(process.pid())).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                p.waitFor(20, TimeUnit.SECONDS);
                return out;
            } catch (IOException e) {
                return e.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return e.toString();
            }
        }

        /** The log lines of the start's steps, with their times. */
        String startLines() {
            return logText().lines().filter(l -> l.contains("StateFile") || l.contains("sharing keys")
                    || l.contains("request log") || l.contains("listening") || l.contains(" WARN "))
                    .map(l -> name + ": " + l + "\n").collect(Collectors.joining());
        }

        String logText() {
            try {
                return Files.exists(log) ? Files.readString(log) : "";
            } catch (IOException e) {
                return e.toString();
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ Redis

    /**
     * redis-server as an operator runs it: on a fixed port with a data directory and its snapshot settings
     * ({@code save 3600 1 300 100 60 10000}, Redis's defaults), stopped with SIGTERM (it writes its snapshot and
     * exits) and started again on the same port and directory.
     */
    private static final class RedisProcess {
        private final Path home;
        private final int port;
        private Process process;

        RedisProcess(Path home) throws IOException {
            this.home = Files.createDirectories(home);
            this.port = GatewayProcess.freePort();
        }

        String url() {
            return "redis://127.0.0.1:" + port + "/0";
        }

        void start() throws IOException {
            process = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
                    "--dir", home.toString(), "--save", "3600 1 300 100 60 10000", "--appendonly", "no")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(
                            home.resolve("redis.log").toFile())).start();
            awaitTrue(this::ping, Duration.ofSeconds(10), "redis-server answers PING");
        }

        void stop() throws InterruptedException {
            if (process == null) {
                return;
            }
            process.destroy(); // SIGTERM: Redis saves its snapshot, then exits
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            process = null;
        }

        String log() throws IOException {
            return Files.readString(home.resolve("redis.log"));
        }

        private boolean ping() {
            assertThat(process.isAlive()).as("redis-server alive").isTrue();
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                s.setSoTimeout(1000);
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
    }
}
