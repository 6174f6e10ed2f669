package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.egress.Exit;
import io.gemgate.core.egress.Exits;
import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.KeySpec;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.ProxyServer;
import io.gemgate.testing.RecordedRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Egress through real proxies started by the test: Debian's tinyproxy (HTTP CONNECT) and microsocks (SOCKS5), with
 * and without credentials. Each proxy's connections leave from its own loopback address, so the fake upstream sees
 * which exit carried a request, as Google sees an exit's IP.
 */
@ExtendWith(LeakDetection.class)
class EgressProxyTest {
    @org.junit.jupiter.api.extension.RegisterExtension
    static final io.gemgate.testing.RedisServer redis = new io.gemgate.testing.RedisServer();

    private static final String MODEL = "gemini-2.5-flash";
    private final List<AutoCloseable> closeLast = new ArrayList<>();
    private final List<AutoCloseable> closeFirst = new ArrayList<>();

    @AfterEach
    void stopEverything() throws Exception {
        for (AutoCloseable c : closeFirst) {
            c.close();
        }
        for (AutoCloseable c : closeLast) {
            c.close();
        }
    }

    private <T extends AutoCloseable> T later(T c) {
        closeLast.add(c);
        return c;
    }

    private GatewayHarness gateway(FakeGemini fake, List<KeySpec> keys, Map<String, String> env) {
        GatewayHarness h = GatewayHarness.start(fake, keys, env, System::currentTimeMillis);
        closeFirst.add(h);
        return h;
    }

    private static Map<String, String> proxies(String... urls) {
        Map<String, String> env = new HashMap<>();
        env.put("GEMGATE_UPSTREAM_PROXIES", String.join(",", urls));
        env.put("GEMGATE_UPSTREAM_EXIT_CHECK_INTERVAL", "200ms");
        return env;
    }

    /**
     * {@code perExit} test keys pinned to each of the proxies: the proxies' ports are chosen at run time, so which key
     * the hash pins where changes from run to run; the keys are picked among {@code key(0..199)} by the gateway's own
     * pinning, so that every exit has keys (a test about one exit's keys must not depend on the ports' luck).
     */
    private static List<KeySpec> spread(int perExit, ProxyServer... proxies) {
        List<KeySpec> candidates = GatewayHarness.specs(200);
        io.gemgate.core.keys.KeyPool pool = new io.gemgate.core.keys.KeyPool(candidates,
                io.gemgate.core.keys.PoolSettings.from(io.gemgate.core.config.ConfigLoader.load(null, Map.of()).pool()),
                new io.gemgate.core.keys.QuotaCalendar(java.time.ZoneId.of("UTC")), System::currentTimeMillis);
        List<io.gemgate.core.egress.ProxySpec> specs = new ArrayList<>();
        for (ProxyServer p : proxies) {
            specs.add(io.gemgate.core.egress.ProxySpec.parse(p.url()));
        }
        Exits exits = new Exits(new Exits.Settings(specs, Duration.ofSeconds(10), Duration.ofSeconds(10),
                Duration.ofSeconds(60), false), pool::keys, System::currentTimeMillis);
        Map<String, Integer> taken = new HashMap<>();
        List<KeySpec> out = new ArrayList<>();
        for (ApiKey k : pool.keys()) {
            String at = exits.pinned(k).label();
            if (taken.merge(at, 1, Integer::sum) <= perExit) {
                out.add(KeySpec.of(k.secret()));
            }
        }
        assertThat(out).hasSize(perExit * proxies.length);
        return out;
    }

    /** Which exit address each key's requests came from; fails when one key came from two. */
    private static Map<String, String> exitOfEachKey(List<RecordedRequest> requests) {
        Map<String, String> out = new HashMap<>();
        for (RecordedRequest r : requests) {
            String before = out.putIfAbsent(r.key(), r.remoteHost());
            assertThat(before == null || before.equals(r.remoteHost()))
                    .as("key %s came from %s and from %s", r.key().substring(r.key().length() - 4), before,
                            r.remoteHost())
                    .isTrue();
        }
        return out;
    }

    private static void await(BooleanSupplier condition, Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime() < deadline).as("waiting for " + what).isTrue();
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    private static Exit exit(GatewayHarness h, ProxyServer p) {
        return h.server().context().exits().all().stream().filter(e -> e.label().equals(p.label())).findFirst()
                .orElseThrow();
    }

    // ------------------------------------------------------------------------------------------ the proxies

    @Test
    void httpConnectProxyWithoutCredentialsCarriesTheRequest() {
        FakeGemini fake = later(FakeGemini.start());
        ProxyServer tiny = later(ProxyServer.tinyproxy("127.0.0.2", null, null));
        GatewayHarness h = gateway(fake, GatewayHarness.specs(2), proxies(tiny.url()));

        HttpResponse<String> r = h.generate(MODEL);

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(fake.lastRequest().remoteHost()).isEqualTo("127.0.0.2");
        assertThat(fake.lastRequest().key()).startsWith("AIzaSyTEST");
    }

    @Test
    void httpConnectProxyWithCredentialsCarriesTheRequest() {
        FakeGemini fake = later(FakeGemini.start());
        ProxyServer tiny = later(ProxyServer.tinyproxy("127.0.0.2", "alice", "s3cr3t-pw"));
        GatewayHarness h = gateway(fake, GatewayHarness.specs(2), proxies(tiny.url()));

        assertThat(h.generate(MODEL).statusCode()).isEqualTo(200);
        assertThat(fake.lastRequest().remoteHost()).isEqualTo("127.0.0.2");
    }

    @Test
    void socks5ProxyWithoutCredentialsCarriesTheRequest() {
        FakeGemini fake = later(FakeGemini.start());
        ProxyServer socks = later(ProxyServer.microsocks("127.0.0.3", null, null));
        GatewayHarness h = gateway(fake, GatewayHarness.specs(2), proxies(socks.url()));

        assertThat(h.generate(MODEL).statusCode()).isEqualTo(200);
        assertThat(fake.lastRequest().remoteHost()).isEqualTo("127.0.0.3");
    }

    @Test
    void socks5ProxyWithCredentialsCarriesTheRequest() {
        FakeGemini fake = later(FakeGemini.start());
        ProxyServer socks = later(ProxyServer.microsocks("127.0.0.3", "bob", "pa55-word"));
        GatewayHarness h = gateway(fake, GatewayHarness.specs(2), proxies(socks.url()));

        assertThat(h.generate(MODEL).statusCode()).isEqualTo(200);
        assertThat(fake.lastRequest().remoteHost()).isEqualTo("127.0.0.3");
    }

    @Test
    void aProxyRefusingTheCredentialsFailsTheExitNotTheKeys() {
        FakeGemini fake = later(FakeGemini.start());
        ProxyServer tiny = later(ProxyServer.tinyproxy("127.0.0.2", "alice", "right-pw"));
        GatewayHarness h = gateway(fake, GatewayHarness.specs(2), proxies(tiny.urlWith("alice", "wrong-pw")));

        HttpResponse<String> r = h.generate(MODEL);

        assertThat(r.statusCode()).isEqualTo(503); // no exit can carry a key
        assertThat(r.body()).doesNotContain("wrong-pw");
        assertThat(fake.requestCount()).isZero();
        Exit e = exit(h, tiny);
        assertThat(e.status().state()).isEqualTo(Exit.State.FAILING);
        assertThat(e.failures(Exit.Failure.REFUSED)).isPositive();
        for (ApiKey k : h.server().pool().keys()) {
            assertThat(k.isInvalid()).isFalse();
            assertThat(h.server().pool().cooldownUntil(k, h.server().pool().model(MODEL)))
                    .isLessThanOrEqualTo(System.currentTimeMillis());
        }
    }

    @Test
    void aKeyMayNameItsOwnProxyOrGoDirect() {
        FakeGemini fake = later(FakeGemini.start());
        ProxyServer tiny = later(ProxyServer.tinyproxy("127.0.0.2", null, null));
        ProxyServer socks = later(ProxyServer.microsocks("127.0.0.3", "bob", "pa55-word"));
        List<KeySpec> keys = List.of(
                new KeySpec(key(0), "", 1, "", socks.url()),
                new KeySpec(key(1), "", 1, "", KeySpec.DIRECT),
                new KeySpec(key(2), "", 1, ""));
        GatewayHarness h = gateway(fake, keys, proxies(tiny.url()));

        for (int i = 0; i < 9; i++) {
            assertThat(h.generate(MODEL).statusCode()).isEqualTo(200);
        }

        Map<String, String> exits = exitOfEachKey(fake.requests());
        assertThat(exits).containsEntry(key(0), "127.0.0.3").containsEntry(key(1), "127.0.0.1")
                .containsEntry(key(2), "127.0.0.2");
    }

    // ------------------------------------------------------------------------------------------------ TLS

    @Test
    void tlsUpstreamThroughTheTunnelTrustsTheConfiguredCertificates() throws Exception {
        FakeGemini fake = later(FakeGemini.startTls());
        Path pem = Files.createTempFile("gemgate-ca-", ".pem");
        closeLast.add(() -> Files.deleteIfExists(pem));
        Files.writeString(pem, "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(fake.certificate().getEncoded())
                + "\n-----END CERTIFICATE-----\n");
        ProxyServer tiny = later(ProxyServer.tinyproxy("127.0.0.2", null, null));
        Map<String, String> env = proxies(tiny.url());
        env.put("GEMGATE_UPSTREAM_TRUST_CERTIFICATES", pem.toString());
        GatewayHarness h = gateway(fake, GatewayHarness.specs(1), env);

        assertThat(h.generate(MODEL).statusCode()).isEqualTo(200);
        assertThat(fake.lastRequest().remoteHost()).isEqualTo("127.0.0.2");
    }

    @Test
    void hostnameVerificationStaysOnWithTrustedCertificates() throws Exception {
        FakeGemini fake = later(FakeGemini.startTls());
        Path pem = Files.createTempFile("gemgate-ca-", ".pem");
        closeLast.add(() -> Files.deleteIfExists(pem));
        Files.writeString(pem, "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(fake.certificate().getEncoded())
                + "\n-----END CERTIFICATE-----\n");
        Map<String, String> env = new HashMap<>();
        env.put("GEMGATE_UPSTREAM_TRUST_CERTIFICATES", pem.toString());
        // The certificate names localhost; reached as 127.0.0.1 it must be refused although its CA is trusted.
        env.put("GEMGATE_UPSTREAM", "https://127.0.0.1:" + fake.port());
        GatewayHarness h = gateway(fake, GatewayHarness.specs(1), env);

        assertThat(h.generate(MODEL).statusCode()).isEqualTo(502);
        assertThat(fake.requestCount()).isZero();
    }

    // ------------------------------------------------------------------------------------------------ pinning

    @Test
    void eachKeyIsPinnedToOneExitAcrossRestarts() {
        FakeGemini fake = later(FakeGemini.start());
        ProxyServer tiny = later(ProxyServer.tinyproxy("127.0.0.2", null, null));
        ProxyServer socks = later(ProxyServer.microsocks("127.0.0.3", null, null));
        GatewayHarness h = gateway(fake, spread(4, tiny, socks), proxies(tiny.url(), socks.url()));

        for (int i = 0; i < 32; i++) {
            assertThat(h.generate(MODEL).statusCode()).isEqualTo(200);
        }
        Map<String, String> before = exitOfEachKey(fake.requests());
        assertThat(before).hasSize(8);
        assertThat(before.values()).contains("127.0.0.2", "127.0.0.3"); // both exits carry keys

        h.restart();
        fake.reset();
        for (int i = 0; i < 32; i++) {
            assertThat(h.generate(MODEL).statusCode()).isEqualTo(200);
        }
        assertThat(exitOfEachKey(fake.requests())).isEqualTo(before);
    }

    @Test
    void aFailingExitsKeysMoveToTheNextExitWithoutPenaltyAndComeBack() {
        FakeGemini fake = later(FakeGemini.start());
        ProxyServer tiny = later(ProxyServer.tinyproxy("127.0.0.2", null, null));
        ProxyServer socks = later(ProxyServer.microsocks("127.0.0.3", null, null));
        GatewayHarness h = gateway(fake, spread(3, tiny, socks), proxies(tiny.url(), socks.url()));
        for (int i = 0; i < 12; i++) {
            assertThat(h.generate(MODEL).statusCode()).isEqualTo(200);
        }
        Map<String, String> pinned = exitOfEachKey(fake.requests());
        assertThat(pinned.values()).contains("127.0.0.2", "127.0.0.3");

        tiny.kill();
        fake.reset();
        for (int i = 0; i < 12; i++) {
            assertThat(h.generate(MODEL).statusCode()).isEqualTo(200);
        }
        assertThat(fake.requests()).allMatch(r -> r.remoteHost().equals("127.0.0.3"));
        assertThat(exit(h, tiny).status().state()).isEqualTo(Exit.State.FAILING);
        for (ApiKey k : h.server().pool().keys()) {
            assertThat(h.server().pool().cooldownUntil(k, h.server().pool().model(MODEL)))
                    .isLessThanOrEqualTo(System.currentTimeMillis());
        }

        tiny.start(); // the background check finds it good again; its keys go back
        await(() -> exit(h, tiny).status().state() == Exit.State.HEALTHY, Duration.ofSeconds(10), "the exit back");
        fake.reset();
        for (int i = 0; i < 12; i++) {
            assertThat(h.generate(MODEL).statusCode()).isEqualTo(200);
        }
        assertThat(exitOfEachKey(fake.requests())).isEqualTo(pinned);
    }

    @Test
    void killingOneProxyMidLoadCostsClientsNothingAndSetsNoKeyAside() throws Exception {
        FakeGemini fake = later(FakeGemini.start());
        ProxyServer tiny = later(ProxyServer.tinyproxy("127.0.0.2", null, null));
        ProxyServer socks = later(ProxyServer.microsocks("127.0.0.3", null, null));
        List<KeySpec> keys = spread(3, tiny, socks);
        for (KeySpec k : keys) {
            // a little think time upstream, so that requests are in the tunnels when it drops
            fake.always(k.secret(), Behavior.slow(Duration.ofMillis(20), Behavior.ok()));
        }
        GatewayHarness h = gateway(fake, keys, proxies(tiny.url(), socks.url()));
        int total = 300;
        AtomicInteger done = new AtomicInteger();
        ExecutorService clients = Executors.newFixedThreadPool(8);
        List<Future<Integer>> statuses = new ArrayList<>();
        try {
            for (int i = 0; i < total; i++) {
                statuses.add(clients.submit(() -> {
                    int s = h.generate(MODEL).statusCode();
                    done.incrementAndGet();
                    return s;
                }));
            }
            await(() -> done.get() >= total / 4, Duration.ofSeconds(30), "a quarter of the load");
            tiny.kill();
            for (Future<Integer> f : statuses) {
                assertThat(f.get(30, TimeUnit.SECONDS)).isEqualTo(200);
            }
        } finally {
            clients.shutdownNow();
        }
        assertThat(exit(h, tiny).status().state()).isEqualTo(Exit.State.FAILING);
        long now = System.currentTimeMillis();
        for (ApiKey k : h.server().pool().keys()) {
            assertThat(k.isInvalid()).isFalse();
            assertThat(h.server().pool().cooldownUntil(k, h.server().pool().model(MODEL))).isLessThanOrEqualTo(now);
        }
    }

    // ------------------------------------------------------------------------------------------ exit verdicts

    @Test
    void anExitWhoseKeysAllAnswer429CoolsAsOneAndItsKeysAreNotBlamed() {
        FakeGemini fake = later(FakeGemini.start());
        ProxyServer tiny = later(ProxyServer.tinyproxy("127.0.0.2", null, null));
        ProxyServer socks = later(ProxyServer.microsocks("127.0.0.3", null, null));
        Map<String, String> env = proxies(tiny.url(), socks.url());
        env.put("GEMGATE_POOL_MAX_ATTEMPTS", "8");
        GatewayHarness h = gateway(fake, spread(4, tiny, socks), env);
        for (int i = 0; i < 16; i++) {
            assertThat(h.generate(MODEL).statusCode()).isEqualTo(200);
        }
        Map<String, String> pinned = exitOfEachKey(fake.requests());
        assertThat(pinned.values()).contains("127.0.0.2", "127.0.0.3");

        // Google rate-limits the exit's IP: every key behind it answers 429, the keys on the other exit serve.
        fake.reset();
        fake.fromRemote("127.0.0.2", Behavior.rateLimitMinute(Duration.ofSeconds(30)));
        for (int i = 0; i < 16; i++) {
            assertThat(h.generate(MODEL).statusCode()).isEqualTo(200);
        }

        Exit limited = exit(h, tiny);
        assertThat(limited.status().state()).isEqualTo(Exit.State.COOLING);
        assertThat(limited.failures(Exit.Failure.RATE_LIMIT)).isEqualTo(1);
        assertThat(exit(h, socks).status().state()).isEqualTo(Exit.State.HEALTHY);
        long now = System.currentTimeMillis();
        for (ApiKey k : h.server().pool().keys()) {
            assertThat(h.server().pool().cooldownUntil(k, h.server().pool().model(MODEL)))
                    .as("cooldown of key %s", k.masked()).isLessThanOrEqualTo(now);
        }
        // upstream.exitCooling: move (the default): the cooling exit's keys serve through the other exit meanwhile
        fake.reset();
        for (int i = 0; i < 16; i++) {
            assertThat(h.generate(MODEL).statusCode()).isEqualTo(200);
        }
        assertThat(fake.requests()).allMatch(r -> r.remoteHost().equals("127.0.0.3"));
        assertThat(exitOfEachKey(fake.requests())).hasSize(8);
    }

    @Test
    void keysOfACoolingExitWaitWhenToldTo() {
        FakeGemini fake = later(FakeGemini.start());
        ProxyServer tiny = later(ProxyServer.tinyproxy("127.0.0.2", null, null));
        ProxyServer socks = later(ProxyServer.microsocks("127.0.0.3", null, null));
        Map<String, String> env = proxies(tiny.url(), socks.url());
        env.put("GEMGATE_POOL_MAX_ATTEMPTS", "8");
        env.put("GEMGATE_UPSTREAM_EXIT_COOLING", "wait");
        GatewayHarness h = gateway(fake, spread(4, tiny, socks), env);
        for (int i = 0; i < 16; i++) {
            assertThat(h.generate(MODEL).statusCode()).isEqualTo(200);
        }
        Map<String, String> pinned = exitOfEachKey(fake.requests());
        fake.fromRemote("127.0.0.2", Behavior.rateLimitMinute(Duration.ofSeconds(30)));
        for (int i = 0; i < 16; i++) {
            assertThat(h.generate(MODEL).statusCode()).isEqualTo(200);
        }
        assertThat(exit(h, tiny).status().state()).isEqualTo(Exit.State.COOLING);

        fake.reset();
        for (int i = 0; i < 16; i++) {
            assertThat(h.generate(MODEL).statusCode()).isEqualTo(200);
        }
        // only the keys pinned to the other exit served, from their own exit
        assertThat(fake.requests()).allMatch(r -> r.remoteHost().equals("127.0.0.3"));
        assertThat(fake.requests()).allMatch(r -> pinned.get(r.key()).equals("127.0.0.3"));
    }

    @Test
    void userLocationNotSupportedIsTheExitsVerdictNeverTheKeysNorTheClients() {
        FakeGemini fake = later(FakeGemini.start());
        ProxyServer tiny = later(ProxyServer.tinyproxy("127.0.0.2", null, null));
        ProxyServer socks = later(ProxyServer.microsocks("127.0.0.3", null, null));
        fake.fromRemote("127.0.0.2", Behavior.locationNotSupported());
        GatewayHarness h = gateway(fake, spread(3, tiny, socks), proxies(tiny.url(), socks.url()));

        for (int i = 0; i < 12; i++) {
            assertThat(h.generate(MODEL).statusCode()).isEqualTo(200);
        }

        Exit wrongCountry = exit(h, tiny);
        assertThat(wrongCountry.status().state()).isEqualTo(Exit.State.FAILING);
        assertThat(wrongCountry.status().reason()).isEqualTo(Exit.Failure.LOCATION);
        assertThat(wrongCountry.failures(Exit.Failure.LOCATION)).isEqualTo(1);
        long now = System.currentTimeMillis();
        for (ApiKey k : h.server().pool().keys()) {
            assertThat(k.isInvalid()).isFalse();
            assertThat(h.server().pool().cooldownUntil(k, h.server().pool().model(MODEL))).isLessThanOrEqualTo(now);
        }
        assertThat(fake.requests().stream().filter(r -> r.remoteHost().equals("127.0.0.2"))).hasSize(1);
    }

    @Test
    void userLocationNotSupportedDirectIsA502NotTheClientsError() {
        FakeGemini fake = later(FakeGemini.start());
        fake.always(key(0), Behavior.locationNotSupported());
        GatewayHarness h = gateway(fake, GatewayHarness.specs(1), Map.of());

        HttpResponse<String> r = h.generate(MODEL);

        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(r.body()).contains("location");
        assertThat(h.server().pool().keys().get(0).isInvalid()).isFalse();
        assertThat(h.server().pool().cooldownUntil(h.server().pool().keys().get(0), h.server().pool().model(MODEL)))
                .isLessThanOrEqualTo(System.currentTimeMillis());
    }

    // --------------------------------------------------------------------------------------- visible, masked

    @Test
    void theAdminApiAndMetricsShowTheExitsWithoutCredentials() {
        FakeGemini fake = later(FakeGemini.start());
        ProxyServer tiny = later(ProxyServer.tinyproxy("127.0.0.2", "alice", "tiny-s3cret-pw"));
        ProxyServer socks = later(ProxyServer.microsocks("127.0.0.3", "bobby", "socks-s3cret-pw"));
        io.gemgate.server.metrics.MicrometerMetrics metrics = new io.gemgate.server.metrics.MicrometerMetrics();
        closeLast.add(metrics::close);
        Map<String, String> env = AdminClient.env("GEMGATE_UPSTREAM_PROXIES", tiny.url() + "," + socks.url());
        List<KeySpec> keys = spread(3, tiny, socks);
        GatewayHarness h = GatewayHarness.start(fake, keys, env, System::currentTimeMillis, metrics);
        closeFirst.add(h);
        AdminClient admin = new AdminClient(h, 0);
        keys.forEach(k -> admin.secret(k.secret()));
        for (int i = 0; i < 12; i++) {
            assertThat(h.generate(MODEL).statusCode()).isEqualTo(200);
        }
        tiny.kill();
        for (int i = 0; i < 6; i++) {
            assertThat(h.generate(MODEL).statusCode()).isEqualTo(200);
        }

        AdminClient.Answer exits = admin.get("/admin/api/exits");

        assertThat(exits.status()).isEqualTo(200);
        String body = exits.raw().body();
        assertThat(body).doesNotContain("tiny-s3cret-pw").doesNotContain("socks-s3cret-pw").doesNotContain("alice")
                .doesNotContain("bobby");
        assertThat(exits.json().path("directOnly").asBoolean()).isFalse();
        var list = exits.json().path("exits");
        assertThat(list).hasSize(2);
        var t = list.get(0);
        assertThat(t.path("exit").asText()).isEqualTo(tiny.label());
        assertThat(t.path("proxy").asText()).isEqualTo("http://al***:***@" + tiny.label());
        assertThat(t.path("authenticated").asBoolean()).isTrue();
        assertThat(t.path("state").asText()).isEqualTo("failing");
        assertThat(t.path("reason").asText()).isIn("refused", "tunnel_closed");
        var s = list.get(1);
        assertThat(s.path("proxy").asText()).isEqualTo("socks5://bo***:***@" + socks.label());
        assertThat(s.path("state").asText()).isEqualTo("healthy");
        assertThat(t.path("keysPinned").asInt() + s.path("keysPinned").asInt()).isEqualTo(6);
        assertThat(t.path("requests").asLong() + s.path("requests").asLong()).isGreaterThanOrEqualTo(18);
        assertThat(t.path("failures").path("refused").asLong() + t.path("failures").path("tunnel_closed").asLong())
                .isPositive();

        AdminClient.Answer keyList = admin.get("/admin/api/keys");
        assertThat(keyList.raw().body()).doesNotContain("s3cret");
        for (var k : keyList.json().path("keys")) {
            assertThat(k.path("exit").asText()).isIn(tiny.label(), socks.label());
            assertThat(k.path("exitNow").asText()).isEqualTo(socks.label()); // the tinyproxy is down
        }

        String text = metrics.scrape().get();
        assertThat(text).doesNotContain("s3cret").doesNotContain("alice").doesNotContain("bobby");
        assertThat(text).contains("gemgate_exit_state{exit=\"" + tiny.label() + "\",state=\"failing\"} 1.0")
                .contains("gemgate_exit_state{exit=\"" + socks.label() + "\",state=\"healthy\"} 1.0")
                .contains("gemgate_exit_keys{exit=\"" + socks.label() + "\"}")
                .contains("gemgate_exit_requests_total{exit=\"" + socks.label() + "\"}")
                .contains("gemgate_exit_failures_total{exit=\"" + tiny.label() + "\",reason=\"refused\"}");
    }

    @Test
    void aKeyAddedWithItsOwnProxyKeepsItAcrossARestartStoredEncrypted() throws Exception {
        FakeGemini fake = later(FakeGemini.start());
        ProxyServer socks = later(ProxyServer.microsocks("127.0.0.3", "bobby", "socks-s3cret-pw"));
        Map<String, String> env = AdminClient.env("GEMGATE_MASTER_KEY", "master-key-for-the-test");
        GatewayHarness h = gateway(fake, GatewayHarness.specs(1), env);
        String added = "AIzaSyADDED" + "x".repeat(24) + "0042";
        AdminClient admin = new AdminClient(h, 1).secret(added);

        AdminClient.Answer bad = admin.post("/admin/api/keys", "{\"text\":\"" + added
                + "\",\"proxy\":\"ftp://bobby:socks-s3cret-pw@127.0.0.1:1\"}");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.errorField()).isEqualTo("proxy");
        assertThat(bad.raw().body()).doesNotContain("socks-s3cret-pw");

        AdminClient.Answer ok = admin.post("/admin/api/keys", "{\"text\":\"" + added + "\",\"proxy\":\""
                + socks.url() + "\"}");
        assertThat(ok.status()).isEqualTo(201);
        assertThat(ok.raw().body()).doesNotContain("socks-s3cret-pw");
        String id = h.poolKey(added).id();
        assertThat(admin.get("/admin/api/keys/" + id).json().path("proxy").asText())
                .isEqualTo("socks5://bo***:***@" + socks.label());

        h.restart();

        assertThat(h.poolKey(added).proxy()).isEqualTo(socks.url());
        String stored;
        try (var files = Files.list(h.dataDir())) {
            stored = files.filter(f -> f.toString().endsWith(".json")).map(f -> {
                try {
                    return Files.readString(f);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).reduce("", String::concat);
        }
        assertThat(stored).contains("\"proxy\"").doesNotContain("socks-s3cret-pw");
        fake.always(GatewayHarness.key(0), Behavior.rateLimitMinute(Duration.ofSeconds(30)));
        for (int i = 0; i < 3; i++) {
            h.generate(MODEL);
        }
        assertThat(fake.requests()).anyMatch(r -> r.key().equals(added) && r.remoteHost().equals("127.0.0.3"));
    }

    @Test
    void pinningIsTheSameOnEveryGatewaySharingRedis() {
        FakeGemini fake = later(FakeGemini.start());
        ProxyServer tiny = later(ProxyServer.tinyproxy("127.0.0.2", null, null));
        ProxyServer socks = later(ProxyServer.microsocks("127.0.0.3", null, null));
        Map<String, String> env = proxies(tiny.url(), socks.url());
        env.put("GEMGATE_REDIS_URL", redis.url());
        env.put("GEMGATE_REDIS_PREFIX", "egress-test:");
        List<KeySpec> keys = spread(4, tiny, socks);
        GatewayHarness a = gateway(fake, keys, env);
        GatewayHarness b = gateway(fake, keys, env);

        for (int i = 0; i < 24; i++) {
            assertThat((i % 2 == 0 ? a : b).generate(MODEL).statusCode()).isEqualTo(200);
        }

        // one map over the requests of both gateways: a key never came from two exits
        Map<String, String> pins = exitOfEachKey(fake.requests());
        assertThat(pins).hasSize(8);
        assertThat(pins.values()).contains("127.0.0.2", "127.0.0.3");
        for (ApiKey k : a.server().pool().keys()) {
            assertThat(exits(b).pinned(b.poolKey(k.secret())).label()).isEqualTo(exits(a).pinned(k).label());
        }
    }

    static Exits exits(GatewayHarness h) {
        return h.server().context().exits();
    }
}
