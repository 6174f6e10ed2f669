package io.gemgate.server;

import static io.gemgate.server.AdminClient.await;
import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.KeyMask;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.KeyState;
import io.gemgate.core.keys.KeyStatus;
import io.gemgate.core.keys.Strategy;
import io.gemgate.core.tokens.TokenLimits;
import io.gemgate.server.AdminClient.Answer;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.CapturingAppender;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Several gateways on one real Redis ({@code GEMGATE_REDIS_URL}), each with its own data directory, in front of one
 * fake Gemini: keys, tokens, settings, counters, cooldowns and exhaustion are shared, and a Redis restarted mid-run
 * loses nothing. Redis is emptied before each test.
 */
@ExtendWith(LeakDetection.class)
class SharedStateTest {
    @RegisterExtension
    static final RedisServer redis = new RedisServer();

    private static final String FLASH = "gemini-2.5-flash";
    private static final String NEW_KEY = "AIzaSyRDS1" + "r".repeat(25) + "7777";
    private static final String MASTER_KEY = "a long random master key for the shared-state tests 4f1e";
    /** Pub/sub delivers at once; a missed message is healed by the next full read (10 rounds of 1 s). */
    private static final Duration PROPAGATION = Duration.ofSeconds(15);
    /** Cooldowns and exhaustion: published at once, and merged every round (1 s) besides. */
    private static final Duration PROMPTLY = Duration.ofSeconds(5);

    private FakeGemini fake;
    private final List<GatewayHarness> gateways = new ArrayList<>();

    @BeforeEach
    void emptyRedisAndStartTheFake() {
        redis.start();
        try (RedisClient c = RedisClient.create(redis.url()); StatefulRedisConnection<String, String> conn =
                c.connect()) {
            conn.sync().flushall();
        }
        fake = FakeGemini.start();
    }

    @AfterEach
    void stop() {
        for (GatewayHarness g : gateways) {
            g.close();
        }
        fake.close();
    }

    /** A gateway with keys {@code key(0..n-1)} on the test Redis, admin API on, up to 4 attempts per request. */
    private GatewayHarness gateway(int keys, String... env) {
        Map<String, String> e = AdminClient.env("GEMGATE_REDIS_URL", redis.url(), "GEMGATE_POOL_MAX_ATTEMPTS", "4");
        for (int i = 0; i < env.length; i += 2) {
            e.put(env[i], env[i + 1]);
        }
        GatewayHarness g = GatewayHarness.start(fake, GatewayHarness.specs(keys), e, System::currentTimeMillis);
        gateways.add(g);
        return g;
    }

    private static KeyStatus.State status(GatewayHarness g, String secret, String model) {
        KeyPool pool = g.server().pool();
        ApiKey k = pool.find(KeyMask.fingerprint(secret));
        return k == null ? null : pool.status(k, pool.model(model)).state();
    }

    /** Requests counted today for the model over all keys: the pool-wide view once counters are merged. */
    private static long requests(GatewayHarness g, String model) {
        KeyPool pool = g.server().pool();
        long n = 0;
        for (ApiKey k : pool.keys()) {
            n += pool.usage(k, pool.model(model)).requests();
        }
        return n;
    }

    private static int generate(GatewayHarness g, String secret) {
        return g.send(g.request("/v1beta/models/" + FLASH + ":generateContent").header("x-goog-api-key", secret)
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}")).build()).statusCode();
    }

    /** Sends requests through {@code g} until the fake has seen {@code secret}, at most {@code max}; all 200. */
    private void generateUntilCalled(GatewayHarness g, String secret, int max) {
        int before = fake.requestCount(secret);
        for (int i = 0; i < max && fake.requestCount(secret) == before; i++) {
            assertThat(g.generate(FLASH).statusCode()).isEqualTo(200);
        }
        assertThat(fake.requestCount(secret)).as("calls with %s", KeyMask.mask(secret)).isGreaterThan(before);
    }

    private static <T> T inRedis(Function<RedisCommands<String, String>, T> read) {
        try (RedisClient c = RedisClient.create(redis.url()); StatefulRedisConnection<String, String> conn =
                c.connect()) {
            return read.apply(conn.sync());
        }
    }

    // ---------------------------------------------------------------------------------------------------- keys

    @Test
    void aKeyExhaustedThroughOneIsNeverCalledByTheOtherForThatModel() {
        GatewayHarness a = gateway(3);
        GatewayHarness b = gateway(3);
        fake.always(key(0), Behavior.quotaDay());

        generateUntilCalled(a, key(0), 3);
        assertThat(status(a, key(0), FLASH)).isEqualTo(KeyStatus.State.EXHAUSTED);
        await(() -> status(b, key(0), FLASH), s -> s == KeyStatus.State.EXHAUSTED, PROMPTLY);
        long until = a.server().pool().status(a.poolKey(key(0)), a.server().pool().model(FLASH)).untilMillis();
        assertThat(b.server().pool().status(b.poolKey(key(0)), b.server().pool().model(FLASH)).untilMillis())
                .isEqualTo(until);

        int before = fake.requestCount();
        for (int i = 0; i < 9; i++) {
            assertThat(b.generate(FLASH).statusCode()).isEqualTo(200);
        }
        assertThat(fake.keysUsed().subList(before, fake.requestCount())).hasSize(9).doesNotContain(key(0));
        assertThat(status(b, key(0), "gemini-2.5-pro")).as("other models keep the key")
                .isEqualTo(KeyStatus.State.ACTIVE);
    }

    @Test
    void aCooldownReachesTheOtherWithinABoundedPoll() {
        GatewayHarness a = gateway(2);
        GatewayHarness b = gateway(2);
        fake.always(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(600)));

        generateUntilCalled(a, key(0), 2);
        assertThat(status(a, key(0), FLASH)).isEqualTo(KeyStatus.State.COOLING);
        await(() -> status(b, key(0), FLASH), s -> s == KeyStatus.State.COOLING, PROMPTLY);
        int before = fake.requestCount();
        assertThat(b.generate(FLASH).statusCode()).isEqualTo(200);
        assertThat(fake.keysUsed().subList(before, fake.requestCount())).containsExactly(key(1));
    }

    @Test
    void anInvalidMarkAndAnAdminEditReachTheOther() {
        GatewayHarness a = gateway(3);
        GatewayHarness b = gateway(3);
        fake.always(key(0), Behavior.invalidKey());
        generateUntilCalled(a, key(0), 3);
        await(() -> b.poolKey(key(0)).isInvalid(), v -> v, PROPAGATION);
        assertThat(b.poolKey(key(0)).invalidReason()).isEqualTo(a.poolKey(key(0)).invalidReason());

        Answer patched = new AdminClient(a, 3).patch("/admin/api/keys/" + KeyMask.fingerprint(key(1)),
                "{\"enabled\": false, \"weight\": 7, \"label\": \"team b\", \"tier\": 1, \"groups\": [\"paid\"]}");
        assertThat(patched.status()).isEqualTo(200);
        // An edit applies whole (KeyState): once the other sees the new label, it sees every other field of the
        // same edit too, never a new label with the old enabled flag.
        KeyState edited = await(() -> b.poolKey(key(1)).state(), st -> st.spec().label().equals("team b"),
                PROPAGATION);
        assertThat(edited.isEnabled()).isFalse();
        assertThat(edited.spec().weight()).isEqualTo(7);
        assertThat(edited.spec().tier()).isEqualTo(1);
        assertThat(edited.spec().groups()).containsExactly("paid");
        int before = fake.requestCount();
        assertThat(b.generate(FLASH).statusCode()).isEqualTo(200);
        assertThat(fake.keysUsed().subList(before, fake.requestCount())).containsExactly(key(2));
    }

    @Test
    void aKeyAddedDisabledAndRemovedThroughOneShowsOnTheOtherAndNoKeyIsInRedisInClear() throws Exception {
        GatewayHarness a = gateway(2, "GEMGATE_MASTER_KEY", MASTER_KEY);
        GatewayHarness b = gateway(2, "GEMGATE_MASTER_KEY", MASTER_KEY);
        AdminClient adminA = new AdminClient(a, 2).secret(NEW_KEY);
        AdminClient adminB = new AdminClient(b, 2).secret(NEW_KEY);
        String id = KeyMask.fingerprint(NEW_KEY);

        assertThat(adminA.post("/admin/api/keys", "{\"text\": \"" + NEW_KEY + "\", \"label\": \"added\", \"tier\": 3}")
                .status()).isEqualTo(201);
        assertThat(adminA.patch("/admin/api/keys/" + KeyMask.fingerprint(key(0)), "{\"enabled\": false}").status())
                .isEqualTo(200);
        assertThat(adminA.delete("/admin/api/keys/" + KeyMask.fingerprint(key(1))).status()).isEqualTo(200);
        await(() -> b.server().pool().find(id) != null && !b.poolKey(key(0)).isEnabled()
                && b.poolKey(key(1)).isRemoved(), v -> v, PROPAGATION);
        assertThat(adminB.key(id).path("label").asText()).isEqualTo("added");
        assertThat(adminB.key(id).path("tier").asInt()).isEqualTo(3);
        assertThat(adminB.key(KeyMask.fingerprint(key(0))).path("enabled").asBoolean()).isFalse();

        int before = fake.requestCount();
        for (int i = 0; i < 3; i++) {
            assertThat(b.generate(FLASH).statusCode()).isEqualTo(200);
        }
        assertThat(fake.keysUsed().subList(before, fake.requestCount())).containsOnly(NEW_KEY);

        assertThat(adminA.delete("/admin/api/keys/" + id).status()).isEqualTo(200);
        await(() -> b.poolKey(NEW_KEY).isRemoved(), v -> v, PROPAGATION);
        assertThat(b.generate(FLASH).statusCode()).as("no key left on B").isEqualTo(503);
        assertThat(fake.requestCount()).isEqualTo(before + 3);

        String stored = inRedis(r -> r.hget("gemgate:keys", id));
        assertThat(stored).contains("\"secret\":\"v1:").doesNotContain(NEW_KEY);
        List<String> everything = inRedis(r -> {
            List<String> out = new ArrayList<>();
            for (String k : r.keys("*")) {
                String type = r.type(k);
                out.add(k + " = " + (type.equals("hash") ? r.hgetall(k).toString() : r.get(k)));
            }
            return out;
        });
        assertThat(everything).isNotEmpty().noneMatch(s -> s.contains(NEW_KEY) || s.contains(key(0))
                || s.contains(key(1)));
        b.server().flushState();
        assertThat(Files.readString(b.dataDir().resolve("state.json"))).doesNotContain(NEW_KEY);
    }

    // ------------------------------------------------------------------------------------ tokens and settings

    @Test
    void aTokenCreatedOnOneWorksOnTheOtherAndARevocationReachesItToo() {
        GatewayHarness a = gateway(1);
        GatewayHarness b = gateway(1);
        Answer created = new AdminClient(a, 1).post("/admin/api/tokens", "{\"name\": \"alice\"}");
        assertThat(created.status()).isEqualTo(201);
        String secret = created.json().path("token").asText();
        String id = created.json().path("id").asText();

        await(() -> generate(b, secret), s -> s == 200, PROPAGATION);
        String stored = inRedis(r -> r.hget("gemgate:tokens", id));
        assertThat(stored).contains(id).doesNotContain(secret);

        // And the other way round, through the registry itself.
        var bob = b.server().context().tokens().create("bob", TokenLimits.unlimited());
        await(() -> generate(a, bob.secret()), s -> s == 200, PROPAGATION);
        assertThat(b.server().context().tokens().revoke(id)).isTrue();
        await(() -> generate(a, secret), s -> s == 401, PROPAGATION);
        assertThat(a.server().context().tokens().get(id)).isEmpty();
    }

    @Test
    void settingsPatchedOnOneApplyOnTheOther() {
        GatewayHarness a = gateway(2);
        GatewayHarness b = gateway(2);
        Answer patched = new AdminClient(a, 2).patch("/admin/api/settings",
                "{\"strategy\": \"least_used\", \"systemInstruction\": \"Answer in French.\"}");
        assertThat(patched.status()).isEqualTo(200);

        await(() -> b.server().context().settings().strategy(), s -> s == Strategy.LEAST_USED, PROPAGATION);
        assertThat(b.server().context().settings().systemInstruction()).isEqualTo("Answer in French.");
        assertThat(b.server().pool().settings().strategy()).isEqualTo(Strategy.LEAST_USED);
        assertThat(b.generate(FLASH).statusCode()).isEqualTo(200);
    }

    // -------------------------------------------------------------------------------------------------- counters

    @Test
    void countersAreMergedSoThatEachGatewaySeesThePoolWideTotals() {
        GatewayHarness a = gateway(2);
        GatewayHarness b = gateway(2);
        for (int i = 0; i < 5; i++) {
            assertThat(a.generate(FLASH).statusCode()).isEqualTo(200);
        }
        for (int i = 0; i < 7; i++) {
            assertThat(b.generate(FLASH).statusCode()).isEqualTo(200);
        }
        await(() -> List.of(requests(a, FLASH), requests(b, FLASH)), v -> v.equals(List.of(12L, 12L)),
                PROPAGATION);
        KeyPool pool = b.server().pool();
        assertThat(pool.usage(b.poolKey(key(0)), pool.model(FLASH)).successes()
                + pool.usage(b.poolKey(key(1)), pool.model(FLASH)).successes()).isEqualTo(12);
    }

    // ------------------------------------------------------------------------------------------------ start-up

    @Test
    void aGatewayStartedLaterLoadsTheSharedStateBeforeItsFirstRequest() {
        GatewayHarness a = gateway(2);
        fake.always(key(0), Behavior.quotaDay());
        generateUntilCalled(a, key(0), 2);
        AdminClient adminA = new AdminClient(a, 2).secret(NEW_KEY);
        adminA.post("/admin/api/keys", "{\"text\": \"" + NEW_KEY + "\"}");
        String secret = adminA.post("/admin/api/tokens", "{\"name\": \"carol\"}").json().path("token").asText();
        adminA.patch("/admin/api/settings", "{\"maxAttempts\": 5}");
        long total = fake.requestCount();
        await(() -> requests(a, FLASH) == total && inRedis(r -> r.exists("gemgate:counters:"
                + a.server().pool().calendar().dayStart(System.currentTimeMillis()))) == 1, v -> v, PROPAGATION);

        GatewayHarness c = gateway(2);
        // No polling: the start waited for the first round with Redis.
        assertThat(status(c, key(0), FLASH)).isEqualTo(KeyStatus.State.EXHAUSTED);
        assertThat(c.server().pool().find(KeyMask.fingerprint(NEW_KEY))).isNotNull();
        assertThat(c.server().context().settings().maxAttempts()).isEqualTo(5);
        assertThat(requests(c, FLASH)).isEqualTo(total);
        assertThat(generate(c, secret)).isEqualTo(200);
    }

    @Test
    void aGatewayStartsWithoutRedisServesFromLocalStateAndJoinsWhenRedisAppears() {
        redis.stop();
        int logged = CapturingAppender.lines().size();
        GatewayHarness a = gateway(2);
        assertThat(a.server().shared().isConnected()).isFalse();
        List<String> lines = CapturingAppender.lines();
        assertThat(lines.subList(logged, lines.size())).anyMatch(l -> l.contains("Redis at 127.0.0.1:" + redis.port()
                + "/0 unreachable") && l.contains("serving from local state"));
        assertThat(a.generate(FLASH).statusCode()).isEqualTo(200);
        String secret = a.server().context().tokens().create("dave", TokenLimits.unlimited()).secret();

        redis.start();
        await(() -> a.server().shared().isConnected(), v -> v, PROPAGATION);
        GatewayHarness b = gateway(2);
        assertThat(generate(b, secret)).isEqualTo(200);
        await(() -> requests(b, FLASH), n -> n == fake.requestCount(), PROPAGATION);
    }

    @Test
    void gatewaysWithAnotherPrefixShareNothingWithThem() {
        GatewayHarness a = gateway(1);
        GatewayHarness other = gateway(1, "GEMGATE_REDIS_PREFIX", "team-b:");
        String secret = a.server().context().tokens().create("frank", TokenLimits.unlimited()).secret();
        String mine = other.server().context().tokens().create("grace", TokenLimits.unlimited()).secret();
        await(() -> inRedis(r -> r.hlen("team-b:tokens") == 1 && r.hlen("gemgate:tokens") == 1), v -> v,
                PROPAGATION);
        assertThat(generate(other, secret)).isEqualTo(401);
        assertThat(generate(a, mine)).isEqualTo(401);
    }

    // ---------------------------------------------------------------------------------------------- Redis outage

    @Test
    void redisStoppedAndRestartedMidRunServesThroughoutAndLosesNothing() {
        GatewayHarness a = gateway(3);
        GatewayHarness b = gateway(3);
        for (int i = 0; i < 3; i++) {
            assertThat(a.generate(FLASH).statusCode()).isEqualTo(200);
            assertThat(b.generate(FLASH).statusCode()).isEqualTo(200);
        }
        await(() -> List.of(requests(a, FLASH), requests(b, FLASH)), v -> v.equals(List.of(6L, 6L)), PROPAGATION);

        redis.stop(); // killed, without persistence: it comes back empty
        await(() -> a.server().shared().isConnected() || b.server().shared().isConnected(), v -> !v, PROPAGATION);
        for (int i = 0; i < 3; i++) {
            assertThat(b.generate(FLASH).statusCode()).as("served while Redis is down").isEqualTo(200);
        }
        fake.always(key(0), Behavior.quotaDay());
        generateUntilCalled(a, key(0), 3);
        assertThat(status(a, key(0), FLASH)).isEqualTo(KeyStatus.State.EXHAUSTED);
        String secret = a.server().context().tokens().create("erin", TokenLimits.unlimited()).secret();
        AdminClient adminA = new AdminClient(a, 3).secret(NEW_KEY);
        assertThat(adminA.patch("/admin/api/settings", "{\"strategy\": \"least_used\"}").status()).isEqualTo(200);
        assertThat(adminA.post("/admin/api/keys", "{\"text\": \"" + NEW_KEY + "\"}").status()).isEqualTo(201);
        assertThat(a.generate(FLASH).statusCode()).isEqualTo(200);
        assertThat(status(b, key(0), FLASH)).as("nothing reaches B while Redis is down")
                .isEqualTo(KeyStatus.State.ACTIVE);

        redis.start();
        await(() -> status(b, key(0), FLASH), s -> s == KeyStatus.State.EXHAUSTED, PROPAGATION);
        await(() -> generate(b, secret), s -> s == 200, PROPAGATION);
        await(() -> b.server().context().settings().strategy(), s -> s == Strategy.LEAST_USED, PROPAGATION);
        await(() -> b.server().pool().find(KeyMask.fingerprint(NEW_KEY)) != null, v -> v, PROPAGATION);
        long total = fake.requestCount();
        await(() -> List.of(requests(a, FLASH), requests(b, FLASH)), v -> v.equals(List.of(total, total)),
                PROPAGATION);

        int before = fake.requestCount();
        for (int i = 0; i < 6; i++) {
            assertThat(b.generate(FLASH).statusCode()).isEqualTo(200);
        }
        assertThat(fake.keysUsed().subList(before, fake.requestCount())).doesNotContain(key(0));
    }
}
