package io.gemgate.server;

import static io.gemgate.server.AdminClient.await;
import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.keys.KeyPool;
import io.gemgate.server.AdminClient.Answer;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A per-key budget ({@code keyBudgets}) holds across the gateways on one Redis, within the bound documented in README,
 * "Limits across gateways" (each gateway may send a key {@code B = clamp(min(rpm, rpd) / (4 × gateways), 1, 4)}
 * requests Redis does not know of yet), whichever gateway gets the traffic; without Redis each gateway paces alone as
 * before.
 */
@ExtendWith(LeakDetection.class)
class GlobalKeyBudgetsTest {
    @RegisterExtension
    static final RedisServer redis = new RedisServer();

    private static final String FLASH = "gemini-2.5-flash";
    private static final Duration SOON = Duration.ofSeconds(10);
    private static final int RPM = 30;
    /** B for an rpm of 30 on 3 gateways: 30 / 12 = 2. */
    private static final int BORROW = 2;

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

    private GatewayHarness gateway(boolean shared) {
        return gateway(shared, System::currentTimeMillis);
    }

    private GatewayHarness gateway(boolean shared, java.util.function.LongSupplier clock) {
        Map<String, String> env = shared ? AdminClient.env("GEMGATE_REDIS_URL", redis.url()) : AdminClient.env();
        GatewayHarness g = GatewayHarness.start(fake, GatewayHarness.specs(2), env, clock);
        gateways.add(g);
        return g;
    }

    private static void budget(GatewayHarness g, int rpm) {
        Answer a = new AdminClient(g, 2).patch("/admin/api/settings",
                "{\"keyBudgets\":{\"" + FLASH + "\":{\"rpm\":" + rpm + "}}}");
        assertThat(a.status()).as(a.raw().body()).isEqualTo(200);
    }

    /** Three gateways that know of each other and lease the budget set on the first (the whole rpm, not a third). */
    private List<GatewayHarness> threeSharing() {
        List<GatewayHarness> gs = List.of(gateway(true), gateway(true), gateway(true));
        for (GatewayHarness g : gs) {
            await(() -> g.server().shared().instances().size(), n -> n == 3, SOON);
        }
        budget(gs.get(0), RPM);
        for (GatewayHarness g : gs) {
            KeyPool pool = g.server().context().pool();
            await(() -> pool.budgetsLeased() && pool.budget(pool.model(FLASH)).rpm() == RPM, ok -> ok, SOON);
        }
        return gs;
    }

    /** Sends {@code n} requests, request i through {@code via(i)}, from three client threads; the statuses. */
    private static List<Integer> send(int n, java.util.function.IntFunction<GatewayHarness> via) throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(3);
        try {
            List<CompletableFuture<Integer>> answers = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                GatewayHarness g = via.apply(i);
                answers.add(CompletableFuture.supplyAsync(() -> g.generate(FLASH).statusCode(), clients));
            }
            List<Integer> out = new ArrayList<>();
            for (CompletableFuture<Integer> a : answers) {
                out.add(a.get(30, TimeUnit.SECONDS));
            }
            return out;
        } finally {
            clients.shutdownNow();
        }
    }

    @Test
    void aKeysRpmHoldsAcrossThreeGatewaysWithinTheirBorrowedUnits() throws Exception {
        List<GatewayHarness> gs = threeSharing();

        // 180 requests round robin over the gateways: three times what the two keys may take in the minute.
        List<Integer> statuses = send(180, i -> gs.get(i % 3));

        long ok = statuses.stream().filter(s -> s == 200).count();
        assertThat(statuses).allMatch(s -> s == 200 || s == 429);
        assertThat(fake.requestCount()).isEqualTo((int) ok);
        for (int k = 0; k < 2; k++) {
            // At most the budget plus what each gateway admitted before Redis knew; at least the budget less what
            // the other gateways may hold unused (a grant is at most rpm / (4 × 3) = 2 units).
            assertThat(fake.requestCount(key(k))).as("requests key %d received from 3 gateways", k)
                    .isLessThanOrEqualTo(RPM + 3 * BORROW)
                    .isGreaterThanOrEqualTo(RPM - 3 * 2);
        }
        // Spent everywhere: every gateway now answers 429 for the model, naming the budget.
        for (GatewayHarness g : gs) {
            HttpResponse<String> r = g.generate(FLASH);
            assertThat(r.statusCode()).isEqualTo(429);
            assertThat(r.body()).contains("budget for the minute");
        }
        assertThat(gs.get(0).server().shared().leaseCalls()).isPositive();
    }

    @Test
    void allTheTrafficThroughOneGatewayStillGetsTheWholeBudgetOfEachKey() throws Exception {
        List<GatewayHarness> gs = threeSharing();
        GatewayHarness busy = gs.get(0);

        // Batches of 30 until a whole batch is refused (at most 8 batches).
        List<Integer> statuses = new ArrayList<>();
        for (int batch = 0; batch < 8; batch++) {
            List<Integer> b = send(30, i -> busy);
            statuses.addAll(b);
            if (!b.contains(200)) {
                break;
            }
        }

        long ok = statuses.stream().filter(s -> s == 200).count();
        assertThat(statuses).allMatch(s -> s == 200 || s == 429);
        // Not a third of it: the idle gateways hold nothing, so the busy one leases the whole rpm of each key, and
        // fails over to the other key when one is spent.
        for (int k = 0; k < 2; k++) {
            assertThat(fake.requestCount(key(k))).as("requests key %d received", k)
                    .isBetween(RPM, RPM + BORROW);
        }
        assertThat(ok).isEqualTo(fake.requestCount());
        HttpResponse<String> spent = busy.generate(FLASH);
        assertThat(spent.statusCode()).isEqualTo(429);
        // Until the oldest units Redis counted leave its minute: 60 s, a grant's life and a second of margin at most.
        assertThat(Long.parseLong(spent.headers().firstValue("retry-after").orElseThrow())).isBetween(1L, 71L);
        // A gateway that had no share yet admits at most its borrowed units per key before Redis tells it the
        // minute is spent; then it refuses too.
        int late = 0;
        for (int i = 0; i < 2 * BORROW + 2; i++) {
            late += gs.get(2).generate(FLASH).statusCode() == 200 ? 1 : 0;
        }
        assertThat(late).isLessThanOrEqualTo(2 * BORROW);
        assertThat(gs.get(2).generate(FLASH).statusCode()).isEqualTo(429);
        for (int k = 0; k < 2; k++) {
            assertThat(fake.requestCount(key(k))).isLessThanOrEqualTo(RPM + 2 * BORROW);
        }
    }

    @Test
    void withoutRedisEachGatewayPacesItsKeysAloneAsBefore() throws Exception {
        long fixed = System.currentTimeMillis(); // one minute for the whole test, whenever it runs
        GatewayHarness a = gateway(false, () -> fixed);
        GatewayHarness b = gateway(false, () -> fixed);
        budget(a, 3);
        budget(b, 3);
        assertThat(a.server().context().pool().budgetsLeased()).isFalse();

        List<Integer> statuses = send(20, i -> i % 2 == 0 ? a : b);

        // Each gateway sends each key its own 3 a minute: 2 gateways × 2 keys × 3.
        assertThat(statuses.stream().filter(s -> s == 200).count()).isEqualTo(12);
        assertThat(fake.requestCount(key(0))).isEqualTo(6);
        assertThat(fake.requestCount(key(1))).isEqualTo(6);
    }
}
