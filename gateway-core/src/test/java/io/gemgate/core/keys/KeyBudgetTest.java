package io.gemgate.core.keys;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.settings.KeyBudget;
import io.gemgate.core.settings.RuntimeSettings;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Per-key budgets: a key that spent its RPM, TPM or RPD for a model is passed over until the window rolls over. */
class KeyBudgetTest {
    private static final ZoneId LA = ZoneId.of("America/Los_Angeles");
    private static final String FLASH = "gemini-2.5-flash";
    private static final long UNLIMITED = KeyBudget.UNLIMITED;
    /** 2026-11-22 10:00:20 in Los Angeles: 40 s before the minute ends. */
    private final AtomicLong now = new AtomicLong(
            ZonedDateTime.of(2026, 11, 22, 10, 0, 20, 0, LA).toInstant().toEpochMilli());
    private final long nextMinute = now.get() + 40_000;

    private KeyPool pool(Strategy strategy, Map<String, KeyBudget> budgets, KeySpec... keys) {
        KeyPool pool = new KeyPool(List.of(keys), new PoolSettings(strategy, 3, 60_000, 900_000, 5_000),
                new QuotaCalendar(LA), now::get);
        pool.budgets(RuntimeSettings.builder().keyBudgets(budgets).build()::budgetFor);
        return pool;
    }

    private static KeySpec key(String name) {
        return KeySpec.of("AIza" + name + "-0123456789abcdefghij");
    }

    private static KeySpec key(String name, String project) {
        return new KeySpec("AIza" + name + "-0123456789abcdefghij", project, 1, name);
    }

    private static String nameOf(ApiKey k) {
        return k.secret().substring(4, k.secret().indexOf('-'));
    }

    /** One request each, as separate requests do: the names of the keys picked, null when none was left. */
    private static List<String> pick(KeyPool pool, String model, int requests) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            ApiKey k = pool.acquire(pool.model(model), new KeyAttempts(pool.maxAttempts()));
            out.add(k == null ? null : nameOf(k));
        }
        return out;
    }

    private static Map<String, KeyBudget> rpm(String model, long rpm) {
        return Map.of(model, new KeyBudget(rpm, UNLIMITED, UNLIMITED));
    }

    @ParameterizedTest
    @EnumSource(Strategy.class)
    void aKeyThatSpentItsRpmIsPassedOverUntilTheMinuteRollsOver(Strategy strategy) {
        KeyPool pool = pool(strategy, rpm(FLASH, 2), key("a"), key("b"));
        ModelRef flash = pool.model(FLASH);

        assertThat(pick(pool, FLASH, 4)).containsOnly("a", "b").filteredOn("a"::equals).hasSize(2);
        assertThat(pick(pool, FLASH, 1)).containsOnlyNulls();
        Unavailable u = pool.unavailable(flash);
        assertThat(u.status()).isEqualTo(429);
        assertThat(u.retryAfterSeconds()).isEqualTo(40);
        assertThat(u.message()).contains("cooling down", "2 at their budget for the minute");
        assertThat(pool.nextFreeMillis(flash, new KeyAttempts(2))).isEqualTo(nextMinute);
        assertThat(pool.hasAvailableKey(flash)).isFalse();
        ApiKey a = pool.keys().get(0);
        assertThat(pool.status(a, flash)).isEqualTo(new KeyStatus(KeyStatus.State.COOLING, "budget for the minute",
                nextMinute));
        // Pacing is no verdict: no cooldown, no health penalty, nothing counted but the requests.
        assertThat(a.health()).isEqualTo(Health.INITIAL);
        assertThat(pool.usage(a, flash)).isEqualTo(new KeyUsage(2, 0, 0, 0, 0, 0));
        assertThat(pick(pool, "gemini-2.5-pro", 2)).doesNotContainNull(); // another model: no budget

        now.set(nextMinute - 1);
        assertThat(pick(pool, FLASH, 1)).containsOnlyNulls();
        now.set(nextMinute);
        assertThat(pool.status(a, flash).state()).isEqualTo(KeyStatus.State.ACTIVE);
        assertThat(pick(pool, FLASH, 5)).containsOnly("a", "b", null).filteredOn(n -> n == null).hasSize(1);
    }

    @Test
    void tokensRecordedInTheMinuteCountAgainstTheTpm() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, Map.of(FLASH, new KeyBudget(UNLIMITED, 1_000, UNLIMITED)),
                key("a"), key("b"));
        ModelRef flash = pool.model(FLASH);
        ApiKey a = pool.keys().get(0);
        ApiKey b = pool.keys().get(1);

        assertThat(pick(pool, FLASH, 2)).containsExactly("a", "b");
        pool.recordUsage(a, flash, 700, 299);
        assertThat(pick(pool, FLASH, 2)).containsExactly("a", "b"); // 999 < 1000
        pool.recordUsage(a, flash, 0, 1);
        pool.recordUsage(b, flash, 400, 0);
        assertThat(pick(pool, FLASH, 3)).containsExactly("b", "b", "b");
        assertThat(pool.budgetUse(a, flash)).isEqualTo(new BudgetUse(pool.budget(flash), 2, 1_000, 2));
        pool.recordUsage(b, flash, 600, 0);
        assertThat(pick(pool, FLASH, 1)).containsOnlyNulls();
        assertThat(pool.unavailable(flash).retryAfterSeconds()).isEqualTo(40);

        now.set(nextMinute);
        assertThat(pick(pool, FLASH, 2)).containsOnly("a", "b");
        assertThat(pool.budgetUse(a, flash).minuteTokens()).isZero();
    }

    @Test
    void aKeyThatSpentItsRpdRestsUntilTheQuotaDayEnds() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, Map.of(FLASH, new KeyBudget(UNLIMITED, UNLIMITED, 3)), key("a"));
        ModelRef flash = pool.model(FLASH);
        long midnight = ZonedDateTime.of(2026, 11, 23, 0, 0, 0, 0, LA).toInstant().toEpochMilli();

        assertThat(pick(pool, FLASH, 4)).containsExactly("a", "a", "a", null);
        Unavailable u = pool.unavailable(flash);
        assertThat(u.status()).isEqualTo(503);
        assertThat(u.message()).contains("1 exhausted for today");
        assertThat(u.retryAfterSeconds()).isEqualTo((midnight - now.get()) / 1000);
        assertThat(pool.nextFreeMillis(flash, new KeyAttempts(1))).isEqualTo(Long.MAX_VALUE); // nothing to wait for
        assertThat(pool.status(pool.keys().get(0), flash))
                .isEqualTo(new KeyStatus(KeyStatus.State.EXHAUSTED, "daily budget", midnight));

        now.set(nextMinute + 3_600_000);
        assertThat(pick(pool, FLASH, 1)).containsOnlyNulls();
        now.set(midnight);
        assertThat(pick(pool, FLASH, 1)).containsExactly("a");
    }

    @Test
    void theStarBudgetAppliesToModelsWithoutTheirOwnButNotToModelLessCalls() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, Map.of("gemini-2.5-pro", new KeyBudget(1, UNLIMITED, UNLIMITED),
                "*", new KeyBudget(2, UNLIMITED, UNLIMITED)), key("a"));

        assertThat(pick(pool, "gemini-2.5-pro", 2)).containsExactly("a", null);
        assertThat(pick(pool, "models/" + FLASH, 3)).containsExactly("a", "a", null);
        assertThat(pick(pool, KeyPool.ANY_MODEL, 5)).doesNotContainNull();
        assertThat(pool.budget(pool.model(KeyPool.ANY_MODEL))).isSameAs(KeyBudget.NONE);
        assertThat(pool.budgetUse(pool.keys().get(0), pool.model(KeyPool.ANY_MODEL))).isNull();
    }

    @Test
    void keysOfOneProjectEachHaveTheWholeBudget() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, rpm(FLASH, 1), key("a", "team"), key("b", "team"));
        assertThat(pick(pool, FLASH, 3)).containsExactly("a", "b", null);
    }

    @ParameterizedTest
    @EnumSource(Strategy.class)
    void withoutABudgetSelectionIsUnchanged(Strategy strategy) {
        KeyPool budgeted = pool(strategy, Map.of(), key("a"), key("b"));
        KeyPool plain = new KeyPool(List.of(key("a"), key("b")), new PoolSettings(strategy, 3, 60_000, 900_000,
                5_000), new QuotaCalendar(LA), now::get);
        if (strategy != Strategy.ADAPTIVE) { // adaptive draws random keys
            assertThat(pick(budgeted, FLASH, 200)).isEqualTo(pick(plain, FLASH, 200));
        }
        assertThat(pick(budgeted, FLASH, 1_000)).doesNotContainNull();
        ModelRef flash = budgeted.model(FLASH);
        assertThat(budgeted.budget(flash)).isSameAs(KeyBudget.NONE);
        assertThat(budgeted.budgetUse(budgeted.keys().get(0), flash)).isNull();
        assertThat(budgeted.status(budgeted.keys().get(0), flash).state()).isEqualTo(KeyStatus.State.ACTIVE);
    }

    @Test
    void aChangedBudgetAppliesToTheNextSelectionAndTheMinuteCountCarriesOn() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, rpm(FLASH, 1), key("a"));
        assertThat(pick(pool, FLASH, 2)).containsExactly("a", null);

        pool.budgets(RuntimeSettings.builder().keyBudgets(rpm(FLASH, 3)).build()::budgetFor);
        assertThat(pick(pool, FLASH, 3)).containsExactly("a", "a", null);

        pool.budgets(m -> KeyBudget.NONE);
        assertThat(pick(pool, FLASH, 3)).containsExactly("a", "a", "a");
    }

    @Test
    void concurrentRequestsNeverExceedTheRpm() throws Exception {
        int keys = 4;
        int rpm = 50;
        KeySpec[] specs = new KeySpec[keys];
        for (int i = 0; i < keys; i++) {
            specs[i] = key("k" + i);
        }
        KeyPool pool = pool(Strategy.ROUND_ROBIN, rpm(FLASH, rpm), specs);
        ModelRef flash = pool.model(FLASH);
        Map<String, AtomicLong> perKey = new ConcurrentHashMap<>();
        ExecutorService threads = Executors.newFixedThreadPool(4);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                done.add(threads.submit(() -> {
                    go.await();
                    for (int i = 0; i < 500; i++) {
                        ApiKey k = pool.acquire(flash, new KeyAttempts(1));
                        if (k != null) {
                            perKey.computeIfAbsent(nameOf(k), n -> new AtomicLong()).incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            threads.shutdownNow();
        }
        assertThat(perKey).hasSize(keys);
        assertThat(perKey.values()).allSatisfy(n -> assertThat(n.get()).isEqualTo(rpm));
    }

    @Test
    void leasedAKeyServesFromItsUnitsBorrowsAFewThenWaitsForTheLeaser() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, rpm(FLASH, 30), key("a"));
        AtomicLong wakes = new AtomicLong();
        pool.leaseBudgets(true, 3, wakes::incrementAndGet);
        ModelRef flash = pool.model(FLASH);

        // No units yet: B = 30 / (4 × 3) = 2 borrowed, then none; the leaser is woken and finds the newcomer.
        assertThat(pick(pool, FLASH, 3)).containsExactly("a", "a", null);
        assertThat(wakes.get()).isPositive();
        List<BudgetLease> leases = pool.newBudgetLeases();
        assertThat(leases).hasSize(1);
        BudgetLease lease = leases.get(0);
        assertThat(lease.borrowed()).isEqualTo(2);
        lease.settle(2); // Redis counted them
        assertThat(pool.newBudgetLeases()).isEmpty(); // booked: the leaser looks at it every round

        // Waiting for a grant, the key is free again in 200 ms, not at the next minute.
        Unavailable u = pool.unavailable(flash);
        assertThat(u.status()).isEqualTo(429);
        assertThat(u.retryAfterSeconds()).isEqualTo(1);

        // Units granted: served from them, even after Redis said the minute is spent (they are part of it).
        lease.add(2);
        lease.store(now.get() + 30_000, 0, 0, 1);
        lease.refile(now.get());
        assertThat(pick(pool, FLASH, 3)).containsExactly("a", "a", null);
        assertThat(lease.left()).isZero();
        assertThat(lease.borrowed()).isZero(); // spent across the gateways: nothing borrowed
        now.addAndGet(2_000);
        assertThat(pool.unavailable(flash).retryAfterSeconds()).isEqualTo(28); // when Redis said the minute ends

        // Without the leases the pool paces alone again, on its own minute.
        pool.leaseBudgets(false, 1, () -> { });
        assertThat(pool.budgetsLeased()).isFalse();
    }
}
