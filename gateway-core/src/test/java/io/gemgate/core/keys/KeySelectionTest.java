package io.gemgate.core.keys;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Fair rotation, tiers and selection over large pools with most keys resting (the lanes of {@link ModelLanes}). */
class KeySelectionTest {
    private static final ZoneId LA = ZoneId.of("America/Los_Angeles");
    private static final Verdict DAY = new Verdict(VerdictKind.QUOTA_DAY, -1, "PerDay");
    private final AtomicLong now = new AtomicLong(
            ZonedDateTime.of(2026, 11, 22, 10, 0, 0, 0, LA).toInstant().toEpochMilli());

    private KeyPool pool(Strategy strategy, List<KeySpec> keys) {
        return new KeyPool(keys, new PoolSettings(strategy, 3, 60_000, 900_000, 5_000), new QuotaCalendar(LA),
                now::get);
    }

    private static KeySpec key(String name, int weight, int tier) {
        return new KeySpec("AIza" + name + "-0123456789abcdefghij", "", weight, name, tier, Set.of());
    }

    private static String nameOf(ApiKey k) {
        return k.secret().substring(4, k.secret().indexOf('-'));
    }

    private ApiKey key(KeyPool pool, String name) {
        return pool.keys().stream().filter(k -> nameOf(k).equals(name)).findFirst().orElseThrow();
    }

    private Map<String, Integer> pick(KeyPool pool, String model, int requests) {
        Map<String, Integer> counts = new HashMap<>();
        ModelRef m = pool.model(model);
        for (int i = 0; i < requests; i++) {
            ApiKey k = pool.acquire(m, new KeyAttempts(3));
            counts.merge(k == null ? "none" : nameOf(k), 1, Integer::sum);
        }
        return counts;
    }

    @Test
    void aRestingKeysTurnsAreSharedByEveryUsableKeyNotHandedToItsNeighbour() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, List.of(key("a", 1, 0), key("b", 1, 0), key("c", 1, 0),
                key("d", 1, 0), key("e", 1, 0)));
        ModelRef m = pool.model("m");
        pool.record(key(pool, "b"), m, DAY, 10);
        pool.record(key(pool, "c"), m, DAY, 10);

        Map<String, Integer> counts = pick(pool, "m", 300);

        assertThat(counts).containsOnlyKeys("a", "d", "e");
        assertThat(counts.values()).allSatisfy(n -> assertThat(n).isBetween(90, 110));
    }

    @Test
    void weightsHoldWithRestingKeysAmongThem() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, List.of(key("x", 4, 0), key("a", 1, 0), key("y", 5, 0),
                key("b", 2, 0), key("z", 1, 0), key("c", 3, 0)));
        ModelRef m = pool.model("m");
        for (String resting : List.of("x", "y", "z")) {
            pool.record(key(pool, resting), m, DAY, 10);
        }

        Map<String, Integer> counts = pick(pool, "m", 600);

        assertThat(counts).containsOnlyKeys("a", "b", "c");
        assertThat(counts.get("a")).isBetween(90, 110);
        assertThat(counts.get("b")).isBetween(180, 220);
        assertThat(counts.get("c")).isBetween(270, 330);
    }

    @Test
    void aKeyBackFromItsCooldownRejoinsTheRotation() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, List.of(key("a", 1, 0), key("b", 1, 0)));
        ModelRef m = pool.model("m");
        pool.record(key(pool, "a"), m, new Verdict(VerdictKind.RATE_LIMIT, 20_000, "PerMinute"), 10);
        assertThat(pick(pool, "m", 4)).containsOnlyKeys("b");

        now.addAndGet(20_000);

        assertThat(pick(pool, "m", 4)).containsEntry("a", 2).containsEntry("b", 2);
    }

    @Test
    void aRequestUsesTheLowestTierWithAUsableKeyAndComesBackWhenAFreeKeyIsBack() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, List.of(key("paid1", 1, 1), key("free1", 1, 0),
                key("free2", 1, 0), key("paid2", 1, 1)));
        ModelRef m = pool.model("m");
        assertThat(pick(pool, "m", 10)).containsOnlyKeys("free1", "free2");

        pool.record(key(pool, "free1"), m, DAY, 10);
        pool.record(key(pool, "free2"), m, new Verdict(VerdictKind.RATE_LIMIT, 60_000, "PerMinute"), 10);
        Map<String, Integer> paid = pick(pool, "m", 10);
        assertThat(paid).containsEntry("paid1", 5).containsEntry("paid2", 5);

        now.addAndGet(60_000); // free2's minute is over
        assertThat(pick(pool, "m", 6)).containsOnlyKeys("free2");
    }

    @ParameterizedTest
    @EnumSource(Strategy.class)
    void aFailingRequestWalksIntoTheNextTierAfterTryingEveryKeyOfTheFirst(Strategy strategy) {
        KeyPool pool = pool(strategy, List.of(key("free1", 1, 0), key("free2", 1, 0), key("paid", 1, 3)));
        ModelRef m = pool.model("m");
        KeyAttempts attempts = new KeyAttempts(3);
        List<String> order = new ArrayList<>();
        ApiKey k;
        while ((k = pool.acquire(m, attempts)) != null) {
            order.add(nameOf(k));
        }
        assertThat(order).hasSize(3).endsWith("paid");
    }

    @ParameterizedTest
    @EnumSource(Strategy.class)
    void aLargePoolWithAlmostEveryKeyRestingServesFromTheFewLeftAndReadmitsTheRest(Strategy strategy) {
        List<KeySpec> specs = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            specs.add(key("k" + i, 1, 0));
        }
        KeyPool pool = pool(strategy, specs);
        ModelRef m = pool.model("m");
        List<ApiKey> keys = pool.keys();
        for (int i = 0; i < keys.size(); i++) {
            if (i % 1000 != 7) {
                pool.record(keys.get(i), m, new Verdict(VerdictKind.RATE_LIMIT, 30_000 + i, "PerMinute"), 10);
            }
        }

        Map<String, Integer> counts = pick(pool, "m", 2000);

        assertThat(counts).doesNotContainKey("none");
        assertThat(counts.keySet()).allSatisfy(name -> assertThat(Integer.parseInt(name.substring(1)) % 1000)
                .isEqualTo(7));
        if (strategy == Strategy.ROUND_ROBIN) {
            assertThat(counts.values()).allSatisfy(n -> assertThat(n).isEqualTo(100));
        }

        now.addAndGet(60_000); // every rest is over
        assertThat(pick(pool, "m", 20_000)).hasSizeGreaterThan(5_000).doesNotContainKey("none");
    }

    @Test
    void everyKeyRestingLeavesNoneWithoutScanningAndTheReasonStillNamesTheModel() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, List.of(key("a", 1, 0), key("b", 1, 1)));
        ModelRef m = pool.model("m");
        pool.record(key(pool, "a"), m, new Verdict(VerdictKind.RATE_LIMIT, 30_000, "PerMinute"), 10);
        pool.record(key(pool, "b"), m, DAY, 10);

        assertThat(pool.acquire(m, new KeyAttempts(3))).isNull();
        assertThat(pool.hasAvailableKey(m)).isFalse();
        Unavailable u = pool.unavailable(m);
        assertThat(u.status()).isEqualTo(429);
        assertThat(u.message()).contains("model m");
        assertThat(u.retryAfterSeconds()).isEqualTo(30);
    }

    @Test
    void disablingAndEnablingAKeyTakesItOutOfAndBackIntoTheLanes() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, List.of(key("a", 1, 0), key("b", 1, 0)));
        pick(pool, "m", 2);
        ApiKey a = key(pool, "a");
        pool.setEnabled(a.id(), false);
        assertThat(pick(pool, "m", 4)).containsOnlyKeys("b");
        pool.setEnabled(a.id(), true);
        assertThat(pick(pool, "m", 4)).containsKeys("a", "b");
        pool.markInvalid(a.id(), "API_KEY_INVALID");
        assertThat(pick(pool, "m", 4)).containsOnlyKeys("b");
        pool.markValid(a.id());
        assertThat(pick(pool, "m", 4)).containsKeys("a", "b");
    }

    @Test
    void groupsNarrowTheKeysAndInternOneInstancePerSet() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, List.of(
                new KeySpec("AIzafree1-0123456789abcdefghij", "", 1, "", 0, Set.of("free")),
                new KeySpec("AIzapaid-0123456789abcdefghij", "", 1, "", 1, Set.of("paid", "free")),
                new KeySpec("AIzaplain-0123456789abcdefghij", "", 1, "", 0, Set.of())));
        ModelRef m = pool.model("m");
        KeyGroups paid = pool.groups(Set.of("paid"), null);
        assertThat(pool.groups(new java.util.TreeSet<>(Set.of("paid")), Set.of())).isSameAs(paid);
        assertThat(pool.groups(null, null)).isSameAs(pool.allKeys());

        for (int i = 0; i < 4; i++) {
            assertThat(nameOf(pool.acquire(m, paid, new KeyAttempts(3)))).isEqualTo("paid");
        }
        KeyGroups free = pool.groups(Set.of("free", "paid"), Set.of("free"));
        assertThat(free.names()).containsExactly("free");
        assertThat(nameOf(pool.acquire(m, free, new KeyAttempts(3)))).isEqualTo("free1"); // tier 0 first

        KeyGroups closed = pool.groups(Set.of("paid"), Set.of("other"));
        assertThat(closed.isClosed()).isTrue();
        assertThat(pool.acquire(m, closed, new KeyAttempts(3))).isNull();
        assertThat(pool.unavailable(m, closed).message()).contains("group paid", "may not use");

        pool.record(key(pool, "paid"), m, DAY, 10);
        assertThat(pool.acquire(m, paid, new KeyAttempts(3))).isNull();
        Unavailable u = pool.unavailable(m, paid);
        assertThat(u.status()).isEqualTo(503);
        assertThat(u.message()).contains("of group paid", "model m", "1 exhausted");
    }

    /**
     * The lanes hand the caller the selected key's state and today's counters (so that it counts the request without
     * walking the key again), and keep those counters between selections: each request must still land on the key
     * it selected, and on the day it was made, not on the counters the lanes kept from the day before.
     */
    @ParameterizedTest
    @EnumSource(Strategy.class)
    void eachRequestIsCountedOnTheKeySelectedAndOnTheDayItWasMade(Strategy strategy) {
        List<KeySpec> specs = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            specs.add(key("k" + i, 1 + i % 3, 0));
        }
        KeyPool pool = pool(strategy, specs);
        ModelRef m = pool.model("m");
        for (int day = 0; day < 2; day++) {
            Map<ApiKey, Integer> selected = new HashMap<>();
            for (int i = 0; i < 600; i++) {
                selected.merge(pool.acquire(m, new KeyAttempts(3)), 1, Integer::sum);
            }
            assertThat(selected).doesNotContainKey(null);
            for (ApiKey k : pool.keys()) {
                assertThat(pool.usage(k, m).requests()).as("day %d, %s", day, k)
                        .isEqualTo(selected.getOrDefault(k, 0).longValue());
            }
            now.addAndGet(24 * 3_600_000L); // the next quota day: today's counts start again from 0
        }
    }

    /**
     * Selections keep figures beside the usable keys in the lanes' dense array while verdicts and edits move keys in
     * and out of it under the lanes' lock. Two threads select while a third rests and restores keys; afterwards
     * every key is in the lanes once, and serves.
     */
    @ParameterizedTest
    @EnumSource(Strategy.class)
    void concurrentSelectionsAndRestsLeaveEveryKeyInTheLanesOnce(Strategy strategy) throws Exception {
        int n = 300;
        List<KeySpec> specs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            specs.add(key("k" + i, 1, 0));
        }
        KeyPool pool = pool(strategy, specs);
        ModelRef m = pool.model("m");
        List<ApiKey> keys = pool.keys();
        pool.acquire(m, new KeyAttempts(3)); // builds the lanes
        java.util.concurrent.CountDownLatch start = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean churning = new java.util.concurrent.atomic.AtomicBoolean(true);
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(3);
        try {
            List<java.util.concurrent.Future<?>> selectors = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                selectors.add(threads.submit(() -> {
                    start.await();
                    KeyAttempts attempts = new KeyAttempts(3);
                    for (int i = 0; i < 200_000 && churning.get(); i++) {
                        attempts.reset();
                        pool.acquire(m, attempts);
                    }
                    return null;
                }));
            }
            java.util.concurrent.Future<?> churn = threads.submit(() -> {
                start.await();
                try {
                    for (int i = 0; i < 3_000; i++) {
                        ApiKey k = keys.get((i * 7) % n);
                        if (i % 2 == 0) {
                            pool.record(k, m, new Verdict(VerdictKind.RATE_LIMIT, 60_000, "PerMinute"), 10);
                            pool.liftCooldown(k, m);
                        } else {
                            pool.setEnabled(k.id(), false);
                            pool.setEnabled(k.id(), true);
                        }
                    }
                } finally {
                    churning.set(false);
                }
                return null;
            });
            start.countDown();
            churn.get(60, java.util.concurrent.TimeUnit.SECONDS);
            for (var f : selectors) {
                f.get(60, java.util.concurrent.TimeUnit.SECONDS);
            }
        } finally {
            threads.shutdownNow();
        }

        ModelLanes lanes = pool.allKeys().lanes.get(m.index());
        ModelLanes.Lane lane = lanes.lanes[0];
        assertThat(lane.size).isEqualTo(n);
        java.util.Set<Integer> members = new java.util.HashSet<>();
        for (int j = 0; j < n; j++) {
            int local = (int) (lane.slots[j] & ((1 << WakeHeap.INDEX_BITS) - 1));
            assertThat(lane.memberPos[local]).isEqualTo(j);
            members.add(local);
        }
        assertThat(members).hasSize(n);
        Map<String, Integer> counts = pick(pool, "m", 3 * n);
        assertThat(counts).doesNotContainKey("none");
        if (strategy == Strategy.ROUND_ROBIN) {
            assertThat(counts).hasSize(n);
            assertThat(counts.values()).allSatisfy(c -> assertThat(c).isEqualTo(3));
        } else if (strategy == Strategy.LEAST_USED) {
            assertThat(counts).hasSize(n); // adaptive rightly passes over the keys whose 429s lowered their health
        }
    }
}
