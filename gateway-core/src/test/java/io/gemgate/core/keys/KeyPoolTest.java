package io.gemgate.core.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class KeyPoolTest {
    private static final ZoneId LA = ZoneId.of("America/Los_Angeles");
    /** 2026-11-22 10:00 in Los Angeles. */
    private final AtomicLong now = new AtomicLong(
            ZonedDateTime.of(2026, 11, 22, 10, 0, 0, 0, LA).toInstant().toEpochMilli());

    private KeyPool pool(Strategy strategy, KeySpec... keys) {
        return new KeyPool(List.of(keys), new PoolSettings(strategy, 3, 60_000, 900_000, 5_000),
                new QuotaCalendar(LA), now::get);
    }

    private static KeySpec key(String name) {
        return KeySpec.of("AIza" + name + "-0123456789abcdefghij");
    }

    private static KeySpec key(String name, String project, int weight) {
        return new KeySpec("AIza" + name + "-0123456789abcdefghij", project, weight, name);
    }

    private static String nameOf(ApiKey k) {
        return k.secret().substring(4, k.secret().indexOf('-'));
    }

    private List<String> pick(KeyPool pool, String model, int requests) {
        List<String> out = new ArrayList<>();
        ModelRef m = pool.model(model);
        for (int i = 0; i < requests; i++) {
            ApiKey k = pool.acquire(m, new KeyAttempts(pool.maxAttempts()));
            out.add(k == null ? null : nameOf(k));
        }
        return out;
    }

    @Test
    void roundRobinSpreadsEvenly() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, key("a"), key("b"), key("c"));
        assertThat(pick(pool, "gemini-2.5-flash", 6)).containsExactly("a", "b", "c", "a", "b", "c");
    }

    @Test
    void weightedRoundRobinFollowsWeightsAndInterleaves() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, key("a", "", 3), key("b", "", 1));
        List<String> picks = pick(pool, "m", 8);
        assertThat(picks).filteredOn("a"::equals).hasSize(6);
        assertThat(picks).filteredOn("b"::equals).hasSize(2);
        assertThat(picks.subList(0, 4)).contains("b"); // smooth: b is not left to the end of the cycle
    }

    @Test
    void leastUsedPicksTheKeyWithFewestRequestsTodayForThatModel() {
        KeyPool pool = pool(Strategy.LEAST_USED, key("a"), key("b"));
        ModelRef m = pool.model("m");
        ApiKey a = pool.keys().get(0);
        for (int i = 0; i < 5; i++) {
            pool.acquire(pool.model("m"), new KeyAttempts(1)); // spreads: a, b, a, b, ...
        }
        // Another model's traffic does not count.
        for (int i = 0; i < 10; i++) {
            KeyAttempts t = new KeyAttempts(1);
            ApiKey k = pool.acquire(pool.model("other"), t);
            assertThat(k).isNotNull();
        }
        long aUsed = pool.usage(a, m).requests();
        long bUsed = pool.usage(pool.keys().get(1), m).requests();
        assertThat(Math.abs(aUsed - bUsed)).isLessThanOrEqualTo(1);
        String next = pick(pool, "m", 1).get(0);
        assertThat(next).isEqualTo(aUsed < bUsed ? "a" : "b");
    }

    @Test
    void adaptivePrefersTheHealthierKey() {
        KeyPool pool = pool(Strategy.ADAPTIVE, key("good"), key("bad"));
        ModelRef m = pool.model("m");
        ApiKey bad = pool.keys().get(1);
        ApiKey good = pool.keys().get(0);
        for (int i = 0; i < 20; i++) {
            pool.record(good, m, Verdict.SUCCESS, 100);
            pool.record(bad, m, Verdict.CLIENT_ERROR, 100);
        }
        bad.health(new Health(0.2, 5000, now.get()));
        Map<String, Integer> counts = new HashMap<>();
        for (String s : pick(pool, "m", 200)) {
            counts.merge(s, 1, Integer::sum);
        }
        // Two random choices: the bad key wins only when both choices land on it (about a quarter of the time).
        assertThat(counts.get("good")).isGreaterThan(120);
    }

    @ParameterizedTest
    @EnumSource(Strategy.class)
    void oneRequestTriesEveryKeyOnceWhateverMaxAttempts(Strategy strategy) {
        KeyPool pool = pool(strategy, key("a"), key("b"), key("c"), key("d"), key("e"));
        ModelRef m = pool.model("m");
        KeyAttempts attempts = new KeyAttempts(pool.maxAttempts());
        List<ApiKey> tried = new ArrayList<>();
        ApiKey k;
        while ((k = pool.acquire(m, attempts)) != null) {
            tried.add(k);
        }
        assertThat(tried).hasSize(5).doesNotHaveDuplicates();
    }

    @ParameterizedTest
    @EnumSource(Strategy.class)
    void costlyFailuresSpendTheAttempts(Strategy strategy) {
        KeyPool pool = pool(strategy, key("a"), key("b"), key("c"), key("d"), key("e"));
        ModelRef m = pool.model("m");
        KeyAttempts attempts = new KeyAttempts(pool.maxAttempts());
        int handed = 0;
        while (pool.acquire(m, attempts) != null) {
            handed++;
            attempts.costlyFailure();
        }
        assertThat(handed).isEqualTo(3);
        assertThat(attempts.isSpent()).isTrue();
    }

    @Test
    void keyAttemptsRemembersManyKeysAndForgetsThemOnReset() {
        KeyAttempts attempts = new KeyAttempts(3);
        for (int slot = 0; slot < 100_000; slot += 3) {
            attempts.add(slot);
        }
        attempts.add(3); // already there
        assertThat(attempts.count()).isEqualTo(33_334);
        assertThat(attempts.contains(99_999)).isTrue();
        assertThat(attempts.contains(99_998)).isFalse();
        assertThat(attempts.contains(0)).isTrue();
        attempts.costlyFailure();
        attempts.reset();
        assertThat(attempts.count()).isZero();
        assertThat(attempts.costlyFailures()).isZero();
        assertThat(attempts.contains(0)).isFalse();
    }

    @Test
    void perMinuteRateLimitCoolsTheKeyForThatModelOnlyForTheRetryDelay() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, key("a"), key("b"));
        ModelRef flash = pool.model("flash");
        ApiKey a = pool.keys().get(0);
        pool.record(a, flash, new Verdict(VerdictKind.RATE_LIMIT, 20_000, "PerMinute"), 10);

        assertThat(pick(pool, "flash", 4)).containsOnly("b");
        assertThat(pick(pool, "pro", 4)).contains("a"); // other models unaffected
        assertThat(pool.status(a, flash).state()).isEqualTo(KeyStatus.State.COOLING);

        now.addAndGet(20_000);
        assertThat(pick(pool, "flash", 4)).contains("a");
    }

    @Test
    void rateLimitWithoutRetryInfoUsesADefaultThatGrowsOnRepeats() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, key("a"), key("b"));
        ModelRef m = pool.model("m");
        ApiKey a = pool.keys().get(0);
        Verdict noDelay = new Verdict(VerdictKind.RATE_LIMIT, -1, "rate limited");
        pool.record(a, m, noDelay, 1);
        assertThat(pool.status(a, m).untilMillis()).isEqualTo(now.get() + 60_000);
        now.addAndGet(60_000);
        pool.record(a, m, noDelay, 1);
        assertThat(pool.status(a, m).untilMillis()).isEqualTo(now.get() + 120_000);
        now.addAndGet(120_000);
        pool.record(a, m, Verdict.SUCCESS, 1);
        pool.record(a, m, noDelay, 1);
        assertThat(pool.status(a, m).untilMillis()).isEqualTo(now.get() + 60_000);
    }

    @Test
    void perDayQuotaExhaustsTheKeyForThatModelUntilMidnightPacificIgnoringRetryInfo() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, key("a"), key("b"));
        ModelRef m = pool.model("m");
        ApiKey a = pool.keys().get(0);
        pool.record(a, m, new Verdict(VerdictKind.QUOTA_DAY, 34_000, "PerDay"), 1);

        long midnight = ZonedDateTime.of(2026, 11, 23, 0, 0, 0, 0, LA).toInstant().toEpochMilli();
        KeyStatus s = pool.status(a, m);
        assertThat(s.state()).isEqualTo(KeyStatus.State.EXHAUSTED);
        assertThat(s.untilMillis()).isEqualTo(midnight);

        now.addAndGet(60_000); // well past the 34 s RetryInfo
        assertThat(pick(pool, "m", 4)).containsOnly("b");
        now.set(midnight);
        assertThat(pick(pool, "m", 4)).contains("a");
    }

    @Test
    void invalidKeyLeavesTheRotationForEveryModel() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, key("a"), key("b"));
        ApiKey a = pool.keys().get(0);
        pool.record(a, pool.model("m"), new Verdict(VerdictKind.INVALID_KEY, -1, "API_KEY_INVALID"), 1);
        now.addAndGet(86_400_000L * 3);
        assertThat(pick(pool, "m", 3)).containsOnly("b");
        assertThat(pick(pool, "other", 3)).containsOnly("b");
        assertThat(a.isInvalid()).isTrue();
        assertThat(a.invalidReason()).isEqualTo("API_KEY_INVALID");
    }

    @ParameterizedTest
    @EnumSource(value = VerdictKind.class, names = {"SERVER_ERROR", "CONNECT_FAILURE", "TIMEOUT", "EMPTY_ANSWER"})
    void transientFailuresCoolTheKeyBriefly(VerdictKind kind) {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, key("a"), key("b"));
        ModelRef m = pool.model("m");
        ApiKey a = pool.keys().get(0);
        pool.record(a, m, new Verdict(kind, -1, kind.label()), 1);
        assertThat(pool.status(a, m).untilMillis()).isEqualTo(now.get() + 5_000);
        assertThat(a.health().successRate()).isLessThan(1.0);
        now.addAndGet(5_000);
        assertThat(pool.status(a, m).state()).isEqualTo(KeyStatus.State.ACTIVE);
    }

    @Test
    void clientErrorsCostTheKeyNothing() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, key("a"));
        ModelRef m = pool.model("m");
        ApiKey a = pool.keys().get(0);
        pool.record(a, m, Verdict.CLIENT_ERROR, 1);
        assertThat(pool.status(a, m).state()).isEqualTo(KeyStatus.State.ACTIVE);
        assertThat(a.health()).isEqualTo(Health.INITIAL);
        assertThat(pool.usage(a, m).failures()).isZero();
    }

    @Test
    void aQuotaVerdictAppliesToEveryKeyOfTheSameProject() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, key("a", "p1", 1), key("b", "p1", 1), key("c", "p2", 1));
        ModelRef m = pool.model("m");
        pool.record(pool.keys().get(0), m, new Verdict(VerdictKind.RATE_LIMIT, 30_000, "PerMinute"), 1);
        assertThat(pick(pool, "m", 4)).containsOnly("c");
        pool.record(pool.keys().get(2), m, new Verdict(VerdictKind.QUOTA_DAY, -1, "PerDay"), 1);
        assertThat(pool.status(pool.keys().get(1), m).state()).isEqualTo(KeyStatus.State.COOLING);
    }

    @Test
    void everyKeyCoolingAnswers429WithTheFirstCooldownEnd() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, key("a"), key("b"));
        ModelRef m = pool.model("gemini-2.5-flash");
        pool.record(pool.keys().get(0), m, new Verdict(VerdictKind.RATE_LIMIT, 30_000, ""), 1);
        pool.record(pool.keys().get(1), m, new Verdict(VerdictKind.RATE_LIMIT, 12_500, ""), 1);
        assertThat(pool.acquire(m, new KeyAttempts(2))).isNull();
        Unavailable u = pool.unavailable(m);
        assertThat(u.status()).isEqualTo(429);
        assertThat(u.retryAfterSeconds()).isEqualTo(13);
        assertThat(u.message()).contains("gemini-2.5-flash").doesNotContain("AIza");
    }

    @Test
    void everyKeyExhaustedOrInvalidAnswers503UntilTheReset() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, key("a"), key("b"));
        ModelRef m = pool.model("gemini-2.5-pro");
        pool.record(pool.keys().get(0), m, new Verdict(VerdictKind.QUOTA_DAY, -1, ""), 1);
        pool.record(pool.keys().get(1), m, new Verdict(VerdictKind.INVALID_KEY, -1, ""), 1);
        Unavailable u = pool.unavailable(m);
        assertThat(u.status()).isEqualTo(503);
        assertThat(u.retryAfterSeconds()).isEqualTo(14 * 3600); // 10:00 to midnight Pacific
        assertThat(u.message()).contains("gemini-2.5-pro", "1 exhausted", "1 invalid");
    }

    @Test
    void countersArePerKeyPerModelPerDayAndResetAtTheQuotaBoundary() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, key("a"));
        ModelRef m = pool.model("m");
        ApiKey a = pool.acquire(m, new KeyAttempts(1));
        pool.record(a, m, Verdict.SUCCESS, 50);
        pool.recordUsage(a, m, 7, 3);
        pool.acquire(m, new KeyAttempts(1));
        pool.record(a, m, new Verdict(VerdictKind.RATE_LIMIT, 1_000, ""), 50);
        assertThat(pool.usage(a, m)).isEqualTo(new KeyUsage(2, 1, 1, 1, 7, 3));
        assertThat(pool.usage(a, pool.model("n"))).isEqualTo(KeyUsage.ZERO);

        now.set(ZonedDateTime.of(2026, 11, 23, 0, 0, 0, 0, LA).toInstant().toEpochMilli());
        assertThat(pool.usage(a, m)).isEqualTo(KeyUsage.ZERO);
        pool.acquire(m, new KeyAttempts(1));
        assertThat(pool.usage(a, m).requests()).isEqualTo(1);
    }

    @Test
    void modelNamesAreInternedWithOrWithoutPrefixAndBounded() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, key("a"));
        assertThat(pool.model("models/gemini-2.5-flash")).isSameAs(pool.model("gemini-2.5-flash"));
        for (int i = 0; i < KeyPool.MAX_MODELS + 50; i++) {
            pool.model("m" + i);
        }
        assertThat(pool.model("one-more").name()).isEqualTo(KeyPool.OTHER_MODELS);
        assertThat(pool.models()).hasSizeLessThanOrEqualTo(KeyPool.MAX_MODELS + 1);
    }

    @Test
    void disabledKeysAreSkippedAndDirtyTrackingWorks() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, key("a"), key("b"));
        pool.setEnabled(pool.keys().get(0).id(), false);
        assertThat(pick(pool, "m", 3)).containsOnly("b");
        assertThat(pool.takeDirty()).isTrue();
        assertThat(pool.takeDirty()).isFalse();
        assertThat(pool.hasUsableKey()).isTrue();
        pool.setEnabled(pool.keys().get(1).id(), false);
        assertThat(pool.hasUsableKey()).isFalse();
        assertThat(pool.unavailable(pool.model("m")).status()).isEqualTo(503);
    }

    @Test
    void keysAddedAtRunTimeJoinTheRotationAndDuplicatesAreCounted() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, key("a"), key("b"));
        KeyPool.AddResult r = pool.addKeys(List.of(key("c"), key("a"), key("c")));
        assertThat(r.added()).extracting(KeyPoolTest::nameOf).containsExactly("c");
        assertThat(r.duplicates()).isEqualTo(2);
        assertThat(pick(pool, "m", 6)).containsOnly("a", "b", "c").contains("c");
        assertThat(pool.keys()).extracting(ApiKey::slot).doesNotHaveDuplicates();
    }

    @Test
    void duplicateKeysInTheFileAreDroppedAtStart() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, key("a"), key("a"), key("b"));
        assertThat(pool.keys()).hasSize(2);
    }

    @Test
    void softRemovedKeysLeaveTheRotationUntilRestored() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, key("a"), key("b"));
        ApiKey a = pool.keys().get(0);
        ModelRef m = pool.model("m");
        assertThat(pool.setRemoved(a.id(), true)).isTrue();
        assertThat(pick(pool, "m", 4)).containsOnly("b");
        assertThat(pool.status(a, m).state()).isEqualTo(KeyStatus.State.REMOVED);
        pool.setRemoved(a.id(), false);
        assertThat(pick(pool, "m", 4)).contains("a");
        assertThat(pool.setRemoved("no-such-id", true)).isFalse();
    }

    @Test
    void disablingAndMarkingValidWorkByIdAndUpdatesRebuildTheRing() {
        KeyPool pool = pool(Strategy.ROUND_ROBIN, key("a"), key("b"));
        ApiKey a = pool.keys().get(0);
        ApiKey b = pool.keys().get(1);
        pool.setEnabled(a.id(), false);
        assertThat(pick(pool, "m", 3)).containsOnly("b");
        pool.setEnabled(a.id(), true);
        pool.record(b, pool.model("m"), new Verdict(VerdictKind.INVALID_KEY, -1, "bad"), 1);
        assertThat(pool.markValid(b.id())).isTrue();
        assertThat(b.isInvalid()).isFalse();

        assertThat(pool.update(a.id(), 3, "primary", "p1")).isTrue();
        assertThat(a.weight()).isEqualTo(3);
        assertThat(a.label()).isEqualTo("primary");
        List<String> picks = pick(pool, "m", 8);
        assertThat(picks).filteredOn("a"::equals).hasSize(6);
        pool.update(b.id(), null, null, "p1");
        pool.record(a, pool.model("m"), new Verdict(VerdictKind.RATE_LIMIT, 10_000, ""), 1);
        assertThat(pool.status(b, pool.model("m")).state()).isEqualTo(KeyStatus.State.COOLING); // same project now
    }

    @Test
    void anEmptyKeyListIsRefused() {
        assertThatThrownBy(() -> pool(Strategy.ROUND_ROBIN)).hasMessageContaining("at least one key");
    }

    @Test
    void maskShowsAtMostFourAndFour() {
        assertThat(KeyMask.mask("AIzaSyA1234567890abcdefghijklmnopqrstu")).isEqualTo("AIza...rstu");
        assertThat(KeyMask.mask("short-key")).isEqualTo("sh...");
    }
}
