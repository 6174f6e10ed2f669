package io.gemgate.core.keys;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * least_used over more keys than {@link ModelLanes#EXACT_SCAN}: the first of its two choices is the next key of the
 * rotation, the second a key drawn at random, compared first by the figure the lanes kept for it. These tests hold
 * the balance to that of the textbook power of two choices (two keys drawn uniformly, the less loaded serves),
 * simulated here with a fixed seed: every key within a small gap of the others, keys behind the others served first,
 * a key far ahead left alone, and yesterday's counts forgotten at the quota day's reset.
 */
class TwoChoicesBalanceTest {
    private static final ZoneId LA = ZoneId.of("America/Los_Angeles");
    private final AtomicLong now = new AtomicLong(
            ZonedDateTime.of(2026, 11, 22, 10, 0, 0, 0, LA).toInstant().toEpochMilli());

    private KeyPool pool(int keys, int... weights) {
        return pool(Strategy.LEAST_USED, keys, weights);
    }

    private KeyPool pool(Strategy strategy, int keys, int... weights) {
        List<KeySpec> specs = new ArrayList<>(keys);
        for (int i = 0; i < keys; i++) {
            int weight = weights.length == 0 ? 1 : weights[i % weights.length];
            specs.add(new KeySpec("AIzak" + i + "-0123456789abcdefghij", "", weight, "k" + i));
        }
        return new KeyPool(specs, new PoolSettings(strategy, 3, 60_000, 900_000, 5_000),
                new QuotaCalendar(LA), now::get);
    }

    /** Selections by the pool, counted per key (by slot). */
    private static int[] select(KeyPool pool, ModelRef m, int requests, int[] counts) {
        for (int i = 0; i < requests; i++) {
            ApiKey k = pool.acquire(m, new KeyAttempts(3));
            assertThat(k).isNotNull();
            counts[k.slot()]++;
        }
        return counts;
    }

    /** The power of two choices as textbooks state it: two distinct keys drawn uniformly, the lower load serves. */
    private static int[] twoRandomChoices(int[] start, int requests, long seed) {
        int[] loads = start.clone();
        Random rnd = new Random(seed);
        int n = loads.length;
        for (int r = 0; r < requests; r++) {
            int i = rnd.nextInt(n);
            int j = rnd.nextInt(n - 1);
            if (j >= i) {
                j++;
            }
            loads[loads[i] < loads[j] || (loads[i] == loads[j] && rnd.nextBoolean()) ? i : j]++;
        }
        return loads;
    }

    private static int max(int[] a) {
        return java.util.Arrays.stream(a).max().orElseThrow();
    }

    private static int min(int[] a) {
        return java.util.Arrays.stream(a).min().orElseThrow();
    }

    @Test
    void everyKeyStaysWithinTheGapOfTwoRandomChoicesOrCloser() {
        int keys = 1_000;
        int requests = 100 * keys;
        KeyPool pool = pool(keys);
        int[] ours = select(pool, pool.model("m"), requests, new int[keys]);
        int[] textbook = twoRandomChoices(new int[keys], requests, 14);

        // Two random choices leave the busiest key a few requests above the mean (log log n), the idlest a few below.
        assertThat(max(textbook) - min(textbook)).isGreaterThanOrEqualTo(2);
        assertThat(max(ours)).isLessThanOrEqualTo(max(textbook));
        assertThat(min(ours)).isGreaterThanOrEqualTo(min(textbook));
        assertThat(max(ours) - min(ours)).isLessThanOrEqualTo(2);
    }

    @Test
    void keysBehindTheOthersAreServedFirstAsOftenAsWithTwoRandomChoices() {
        int keys = 1_000;
        KeyPool pool = pool(keys);
        ModelRef m = pool.model("m");
        List<ApiKey> all = pool.keys();
        int[] start = new int[keys];
        // Keys 0-899 served 40 requests each already today (for a resource they hold); keys 900-999 none.
        for (int i = 0; i < 900; i++) {
            ApiKey k = all.get(i);
            for (int r = 0; r < 40; r++) {
                assertThat(pool.acquireKey(k, m, new KeyAttempts(3))).isSameAs(k);
            }
            start[k.slot()] = 40;
        }

        int requests = 2_000;
        int[] ours = select(pool, m, requests, new int[keys]);
        int[] textbook = twoRandomChoices(start, requests, 17);
        int oursToIdle = 0;
        int textbookToIdle = 0;
        for (int i = 900; i < keys; i++) {
            int slot = all.get(i).slot();
            oursToIdle += ours[slot];
            textbookToIdle += textbook[slot] - start[slot];
        }
        // Two random choices find an idle key in 19 % of the draws (1 - 0.9²): about 380 of 2,000.
        assertThat(textbookToIdle).isBetween(300, 460);
        // Ours: each idle key is the first choice twice in these 2,000 (two turns of the rotation of 1,000) and serves,
        // and the second choice is idle in 10 % of the 1,800 other draws: about 380 too. Without the second choice
        // (or without looking at the key it names) the idle keys would serve 200.
        assertThat(oursToIdle).isGreaterThanOrEqualTo(textbookToIdle * 8 / 10);
        // Busy keys share what is left evenly, while the idle ones (about 4 each now) are far below them.
        for (int i = 0; i < 900; i++) {
            assertThat(ours[all.get(i).slot()]).isLessThanOrEqualTo(3);
        }
    }

    @Test
    void aKeyFarAheadOfTheOthersIsLeftAloneUntilTheyCatchUp() {
        int keys = 200;
        KeyPool pool = pool(keys);
        ModelRef m = pool.model("m");
        ApiKey busy = pool.keys().get(17);
        for (int r = 0; r < 100; r++) {
            pool.acquireKey(busy, m, new KeyAttempts(3));
        }

        int[] counts = select(pool, m, 50 * keys, new int[keys]);

        // Its turn in the rotation comes 50 times; each time the second choice (another key) is behind it and serves.
        assertThat(counts[busy.slot()]).isZero();
        for (ApiKey k : pool.keys()) {
            if (k != busy) {
                assertThat(counts[k.slot()]).isBetween(49, 52);
            }
        }
    }

    @Test
    void weightsHoldAtEveryScale() {
        int keys = 300;
        KeyPool pool = pool(keys, 1, 2, 3);
        int[] counts = select(pool, pool.model("m"), 60_000, new int[keys]);
        for (ApiKey k : pool.keys()) {
            // 60,000 requests over a total weight of 600: 100 per unit of weight.
            assertThat(counts[k.slot()] / (double) k.weight()).isBetween(95.0, 105.0);
        }
    }

    @Test
    void yesterdaysCountsAreForgottenAtTheQuotaDaysReset() {
        int keys = 100;
        KeyPool pool = pool(keys);
        ModelRef m = pool.model("m");
        List<ApiKey> all = pool.keys();
        // Yesterday: keys 50-99 were exhausted for the day and keys 0-49 served 100 requests each.
        for (int i = 50; i < keys; i++) {
            pool.record(all.get(i), m, new Verdict(VerdictKind.QUOTA_DAY, -1, "PerDay"), 10);
        }
        int[] yesterday = select(pool, m, 5_000, new int[keys]);
        for (int i = 0; i < 50; i++) {
            assertThat(yesterday[all.get(i).slot()]).isEqualTo(100);
        }
        // Today (past Google's midnight reset): keys 50-99 are back and have already served 50 each; keys 0-49 none.
        now.set(ZonedDateTime.of(2026, 11, 23, 1, 0, 0, 0, LA).toInstant().toEpochMilli());
        for (int i = 50; i < keys; i++) {
            for (int r = 0; r < 50; r++) {
                assertThat(pool.acquireKey(all.get(i), m, new KeyAttempts(3))).isSameAs(all.get(i));
            }
        }

        int[] today = select(pool, m, keys, new int[keys]); // one turn of the rotation

        // Keys 0-49 are behind by 50 today: in this turn each is the first choice once and serves, and each of keys
        // 50-99 serves only when the second choice is one of them too (half the draws: about 25 times, as with two
        // random choices). Were yesterday's 100 taken for today's, every one of those 50 turns would go to keys 50-99.
        int toBusy = 0;
        for (int i = 50; i < keys; i++) {
            toBusy += today[all.get(i).slot()];
        }
        assertThat(toBusy).isLessThanOrEqualTo(40);
    }

    @Test
    void adaptiveServesFromAnUnhealthyKeyOnlyWhenBothChoicesAreUnhealthy() {
        int keys = 50;
        KeyPool pool = pool(Strategy.ADAPTIVE, keys);
        ModelRef m = pool.model("m");
        List<ApiKey> all = pool.keys();
        for (int i = 0; i < 10; i++) {
            all.get(i * 5).health(new Health(0.2, 300, 0)); // score 0.4 against 1.0 for the others
        }

        int requests = 5_000;
        int[] counts = select(pool, m, requests, new int[keys]);

        int toUnhealthy = 0;
        for (int i = 0; i < 10; i++) {
            toUnhealthy += counts[all.get(i * 5).slot()];
        }
        // Both choices unhealthy: 10/50 x 9/49, 3.7 % of the draws (about 180), as with two random choices. Were the
        // second choice not looked at, each unhealthy key would serve its turns of the rotation: 20 % (1,000).
        assertThat(toUnhealthy).isBetween(90, 300);
        for (ApiKey k : all) {
            assertThat(counts[k.slot()]).isPositive();
        }
    }
}
