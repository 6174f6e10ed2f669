package io.gemgate.core.tokens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gemgate.core.keys.QuotaCalendar;
import java.lang.management.ManagementFactory;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class TokenLimiterTest {
    /** 2026-03-10T12:00:00Z; the quota day is the UTC day, so the reset is 12 h away. */
    private static final long NOON = Instant.parse("2026-03-10T12:00:00Z").toEpochMilli();
    private static final long MIDNIGHT = Instant.parse("2026-03-11T00:00:00Z").toEpochMilli();

    private final TokenRegistry registry = new TokenRegistry(() -> NOON, new SecureRandom());
    private final TokenLimiter limiter = new TokenLimiter(new QuotaCalendar(ZoneOffset.UTC));

    private UserToken token(UnaryOperator<TokenLimits.Builder> limits) {
        return registry.create("t", limits.apply(TokenLimits.builder()).build()).token();
    }

    private static void assertRefused(Admission a, Admission.Outcome outcome, int status, long retryAfter,
                                      String message) {
        assertThat(a.isAccepted()).isFalse();
        assertThat(a.outcome()).isEqualTo(outcome);
        assertThat(a.status()).isEqualTo(status);
        assertThat(a.retryAfterSeconds()).isEqualTo(retryAfter);
        assertThat(a.message()).isEqualTo(message);
    }

    // ---------------------------------------------------------------------------------------------- per minute

    @Test
    void requestsPerMinuteHoldsAndNamesTheLimit() {
        UserToken t = token(b -> b.requestsPerMinute(3));
        for (int i = 0; i < 3; i++) {
            assertThat(limiter.admit(t, "m", NOON + i)).isSameAs(Admission.ACCEPTED);
        }
        assertRefused(limiter.admit(t, "m", NOON + 500), Admission.Outcome.REQUESTS_PER_MINUTE, 429, 60,
                "requestsPerMinute limit of 3 reached; retry in 60s");
    }

    @Test
    void theMinuteWindowSlidesSecondBySecond() {
        UserToken t = token(b -> b.requestsPerMinute(3));
        assertThat(limiter.admit(t, "m", NOON).isAccepted()).isTrue();
        assertThat(limiter.admit(t, "m", NOON + 10_000).isAccepted()).isTrue();
        assertThat(limiter.admit(t, "m", NOON + 20_000).isAccepted()).isTrue();

        Admission refused = limiter.admit(t, "m", NOON + 48_000);
        assertRefused(refused, Admission.Outcome.REQUESTS_PER_MINUTE, 429, 12,
                "requestsPerMinute limit of 3 reached; retry in 12s");
        assertThat(limiter.admit(t, "m", NOON + 59_999).isAccepted()).as("first one still inside").isFalse();
        assertThat(limiter.admit(t, "m", NOON + 60_000).isAccepted()).as("first one left").isTrue();
        assertThat(limiter.admit(t, "m", NOON + 60_001).isAccepted()).isFalse();
        assertThat(limiter.admit(t, "m", NOON + 70_000).isAccepted()).isTrue();
    }

    @Test
    void noBurstAcrossAMinuteBoundary() {
        // a fixed per-minute window would allow 3 at 12:00:59 and 3 more at 12:01:00
        UserToken t = token(b -> b.requestsPerMinute(3));
        for (int i = 0; i < 3; i++) {
            assertThat(limiter.admit(t, "m", NOON + 59_000).isAccepted()).isTrue();
        }
        assertThat(limiter.admit(t, "m", NOON + 60_000).isAccepted()).isFalse();
        assertThat(limiter.admit(t, "m", NOON + 118_999).isAccepted()).isFalse();
        assertThat(limiter.admit(t, "m", NOON + 119_000).isAccepted()).isTrue();
    }

    @Test
    void retryAfterWaitsForEnoughOldRequestsToLeave() {
        UserToken t = token(b -> b.requestsPerMinute(4));
        limiter.admit(t, "m", NOON);
        limiter.admit(t, "m", NOON);
        limiter.admit(t, "m", NOON + 30_000);
        limiter.admit(t, "m", NOON + 30_000);
        // both of 12:00:00 leave at 12:01:00; one leaving is enough
        assertThat(limiter.admit(t, "m", NOON + 40_000).retryAfterSeconds()).isEqualTo(20);
    }

    @Test
    void aLongPauseEmptiesTheWindow() {
        UserToken t = token(b -> b.requestsPerMinute(2));
        limiter.admit(t, "m", NOON);
        limiter.admit(t, "m", NOON);
        assertThat(limiter.usage(t, NOON + 59_999).requestsLastMinute()).isEqualTo(2);
        assertThat(limiter.usage(t, NOON + 3_600_000).requestsLastMinute()).isZero();
        assertThat(limiter.admit(t, "m", NOON + 3_600_000).isAccepted()).isTrue();
    }

    @Test
    void aClockThatGoesBackLosesNoCounts() {
        UserToken t = token(b -> b.requestsPerMinute(2));
        limiter.admit(t, "m", NOON + 30_000);
        limiter.admit(t, "m", NOON); // 30 s in the past: counted in the newest second
        assertThat(limiter.admit(t, "m", NOON + 5_000).isAccepted()).isFalse();
        assertThat(limiter.usage(t, NOON + 89_999).requestsLastMinute()).isEqualTo(2);
        assertThat(limiter.usage(t, NOON + 90_000).requestsLastMinute()).isZero();
    }

    // ------------------------------------------------------------------------------------------------- per day

    @Test
    void requestsPerDayHoldsUntilTheQuotaDayEnds() {
        UserToken t = token(b -> b.requestsPerDay(2));
        assertThat(limiter.admit(t, "m", NOON).isAccepted()).isTrue();
        assertThat(limiter.admit(t, "m", NOON + 1).isAccepted()).isTrue();
        assertRefused(limiter.admit(t, "m", NOON + 1000), Admission.Outcome.REQUESTS_PER_DAY, 429, 43_199,
                "requestsPerDay limit of 2 reached; retry in 12h 0m");
        assertRefused(limiter.admit(t, "m", MIDNIGHT - 30_500), Admission.Outcome.REQUESTS_PER_DAY, 429, 31,
                "requestsPerDay limit of 2 reached; retry in 31s");
        assertThat(limiter.admit(t, "m", MIDNIGHT).isAccepted()).isTrue();
        assertThat(limiter.usage(t, MIDNIGHT).requestsToday()).isEqualTo(1);
        assertThat(limiter.usage(t, MIDNIGHT).dayStartMillis()).isEqualTo(MIDNIGHT);
    }

    @Test
    void tokensPerDayRefusesOnceReachedAndMayBeOvershotByOneRequest() {
        UserToken t = token(b -> b.tokensPerDay(1000));
        assertThat(limiter.admit(t, "m", NOON).isAccepted()).isTrue();
        limiter.release(t, 400, 500, NOON + 10);
        assertThat(limiter.admit(t, "m", NOON + 20).isAccepted()).as("900 < 1000").isTrue();
        limiter.release(t, 200, 300, NOON + 30);
        assertRefused(limiter.admit(t, "m", NOON + 40), Admission.Outcome.TOKENS_PER_DAY, 429, 43_200,
                "tokensPerDay limit of 1000 reached (1400 used); retry in 12h 0m");
        assertThat(limiter.admit(t, "m", MIDNIGHT + 1).isAccepted()).isTrue();
        TokenUsage u = limiter.usage(t, MIDNIGHT + 2);
        assertThat(u.tokensToday()).isZero();
        assertThat(u.totalTokens()).isEqualTo(1400);
    }

    @Test
    void tokensRecordedDuringARequestCountAtOnce() {
        UserToken t = token(b -> b.tokensPerDay(100));
        limiter.admit(t, "m", NOON);
        limiter.recordTokens(t, 60, 40, NOON + 1);
        assertThat(limiter.admit(t, "m", NOON + 2).outcome()).isEqualTo(Admission.Outcome.TOKENS_PER_DAY);
        assertThat(limiter.usage(t, NOON + 3).inFlight()).isEqualTo(1);
        assertThatThrownBy(() -> limiter.recordTokens(t, -1, 0, NOON))
                .hasMessage("tokens: prompt -1, output 0 (expected: >= 0)");
    }

    // --------------------------------------------------------------------------------------------- concurrency

    @Test
    void maxConcurrencyCountsRequestsInFlight() {
        UserToken t = token(b -> b.maxConcurrency(2));
        assertThat(limiter.admit(t, "m", NOON).isAccepted()).isTrue();
        assertThat(limiter.admit(t, "m", NOON).isAccepted()).isTrue();
        assertRefused(limiter.admit(t, "m", NOON), Admission.Outcome.MAX_CONCURRENCY, 429, 1,
                "maxConcurrency limit of 2 reached; retry in 1s");
        limiter.release(t);
        assertThat(limiter.admit(t, "m", NOON).isAccepted()).isTrue();
        assertThat(limiter.usage(t, NOON).inFlight()).isEqualTo(2);
    }

    @Test
    void extraReleasesNeverMakeRoomBeyondTheLimit() {
        UserToken t = token(b -> b.maxConcurrency(1));
        limiter.release(t);
        limiter.release(t, 0, 0, NOON);
        assertThat(limiter.usage(t, NOON).inFlight()).isZero();
        assertThat(limiter.admit(t, "m", NOON).isAccepted()).isTrue();
        assertThat(limiter.admit(t, "m", NOON).isAccepted()).isFalse();
    }

    // ------------------------------------------------------------------------------------- 401 / 403 and order

    @Test
    void disabledAndExpiredTokensAre401() {
        UserToken t = token(b -> b.expiresAtMillis(NOON + 1000));
        assertThat(limiter.admit(t, "m", NOON + 999).isAccepted()).isTrue();
        assertRefused(limiter.admit(t, "m", NOON + 1000), Admission.Outcome.EXPIRED, 401, 0,
                "token expired at 2026-03-10T12:00:01Z");
        UserToken off = registry.setEnabled(t.id(), false).orElseThrow();
        assertRefused(limiter.admit(off, "m", NOON), Admission.Outcome.DISABLED, 401, 0, "token is disabled");
    }

    @Test
    void modelsOutsideTheListAre403() {
        UserToken t = token(b -> b.allowedModels(Set.of("gemini-2.5-flash")));
        assertThat(limiter.admit(t, "gemini-2.5-flash", NOON).isAccepted()).isTrue();
        assertThat(limiter.admit(t, "models/gemini-2.5-flash", NOON).isAccepted()).isTrue();
        assertThat(limiter.admit(t, null, NOON).isAccepted()).as("model list").isTrue();
        assertRefused(limiter.admit(t, "gemini-2.5-pro", NOON), Admission.Outcome.MODEL_NOT_ALLOWED, 403, 0,
                "model 'gemini-2.5-pro' is not allowed for this token");
    }

    static Stream<Arguments> precedence() {
        // every limit is exhausted by one admitted request with 10 tokens; the first failing rule answers
        return Stream.of(
                Arguments.of("disabled first", false, 1L, Set.of("x"), Admission.Outcome.DISABLED),
                Arguments.of("then expiry", true, 1L, Set.of("x"), Admission.Outcome.EXPIRED),
                Arguments.of("then model", true, 0L, Set.of("x"), Admission.Outcome.MODEL_NOT_ALLOWED),
                Arguments.of("then day limits", true, 0L, Set.of(), Admission.Outcome.TOKENS_PER_DAY));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("precedence")
    void refusalsComeInTheDocumentedOrder(String title, boolean enabled, long expiresAt, Set<String> models,
                                          Admission.Outcome expected) {
        UserToken t = token(b -> b.requestsPerMinute(1).requestsPerDay(1).tokensPerDay(10).maxConcurrency(1));
        limiter.admit(t, "m", NOON);
        limiter.recordTokens(t, 5, 5, NOON);
        TokenLimits l = t.limits().toBuilder().allowedModels(models).expiresAtMillis(expiresAt).build();
        UserToken changed = registry.setLimits(t.id(), l).orElseThrow();
        changed = registry.setEnabled(t.id(), enabled).orElseThrow();
        assertThat(limiter.admit(changed, "m", NOON + 1).outcome()).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "daily requests before the minute, 1, 1, -1, REQUESTS_PER_DAY",
            "minute before concurrency,       -1, 1,  1, REQUESTS_PER_MINUTE",
            "concurrency last,                -1, -1, 1, MAX_CONCURRENCY",
    })
    void rateLimitsComeLongestWaitFirst(String title, long perDay, int perMinute, int concurrency,
                                        Admission.Outcome expected) {
        UserToken t = token(b -> b.requestsPerDay(perDay).requestsPerMinute(perMinute).maxConcurrency(concurrency));
        assertThat(limiter.admit(t, "m", NOON).isAccepted()).isTrue();
        assertThat(limiter.admit(t, "m", NOON).outcome()).isEqualTo(expected);
    }

    @Test
    void refusedRequestsCountTowardNothing() {
        UserToken t = token(b -> b.requestsPerMinute(1).allowedModels(Set.of("ok")));
        limiter.admit(t, "ok", NOON);
        for (int i = 0; i < 5; i++) {
            limiter.admit(t, "ok", NOON);
            limiter.admit(t, "forbidden", NOON);
        }
        TokenUsage u = limiter.usage(t, NOON);
        assertThat(u.requestsToday()).isEqualTo(1);
        assertThat(u.requestsLastMinute()).isEqualTo(1);
        assertThat(u.inFlight()).isEqualTo(1);
        assertThat(limiter.admit(t, "ok", NOON + 60_000).isAccepted()).isTrue();
    }

    // -------------------------------------------------------------------------------------------- usage, misc

    @Test
    void usageShowsTodayTheLastMinuteAndTotals() {
        UserToken t = token(b -> b);
        limiter.admit(t, "m", NOON);
        limiter.release(t, 10, 20, NOON + 100);
        limiter.admit(t, "m", NOON + 30_000);
        TokenUsage u = limiter.usage(t, NOON + 40_000);
        assertThat(u).isEqualTo(new TokenUsage(t.id(), MIDNIGHT - 86_400_000L, 2, 10, 20, 2, 1, NOON + 30_000, 2,
                30));
        assertThat(u.tokensToday()).isEqualTo(30);
        assertThat(t.lastUsedMillis()).isEqualTo(NOON + 30_000);
        assertThat(limiter.usage(t, NOON + 61_000).requestsLastMinute()).isEqualTo(1);
    }

    @Test
    void newLimitsApplyToTheNextRequestAndCountersCarryOver() {
        UserToken t = token(b -> b.requestsPerMinute(10));
        for (int i = 0; i < 5; i++) {
            limiter.admit(t, "m", NOON);
        }
        UserToken tighter = registry.setLimits(t.id(), TokenLimits.builder().requestsPerMinute(5).build())
                .orElseThrow();
        assertThat(limiter.admit(tighter, "m", NOON).outcome()).isEqualTo(Admission.Outcome.REQUESTS_PER_MINUTE);
    }

    @Test
    void admittingMarksTheRegistryDirty() {
        UserToken t = token(b -> b);
        registry.takeDirty();
        limiter.admit(t, "m", NOON);
        assertThat(registry.takeDirty()).isTrue();
        limiter.recordTokens(t, 1, 1, NOON);
        assertThat(registry.takeDirty()).isTrue();
        limiter.recordTokens(t, 0, 0, NOON);
        assertThat(registry.takeDirty()).isFalse();
    }

    @Test
    void restoredCountersOfTodayStillCountAndThoseOfYesterdayDoNot() {
        UserToken t = token(b -> b.requestsPerDay(3));
        limiter.admit(t, "m", NOON);
        limiter.admit(t, "m", NOON);
        List<TokenRecord> saved = registry.snapshot();

        TokenRegistry restarted = new TokenRegistry(() -> NOON, new SecureRandom());
        restarted.restore(saved);
        UserToken again = restarted.get(t.id()).orElseThrow();
        assertThat(limiter.admit(again, "m", NOON + 1).isAccepted()).isTrue();
        assertThat(limiter.admit(again, "m", NOON + 2).isAccepted()).isFalse();
        assertThat(limiter.usage(again, NOON + 3).inFlight()).as("in flight is not restored").isEqualTo(1);

        TokenRegistry nextDay = new TokenRegistry(() -> MIDNIGHT, new SecureRandom());
        nextDay.restore(saved);
        assertThat(limiter.usage(nextDay.get(t.id()).orElseThrow(), MIDNIGHT + 1).requestsToday()).isZero();
    }

    @ParameterizedTest(name = "{0}s -> {1}")
    @CsvSource({"1, 1s", "59, 59s", "119, 119s", "120, 2m", "121, 3m", "7140, 119m", "7199, 2h 0m", "7200, 2h 0m",
            "43199, 12h 0m", "43261, 12h 2m"})
    void formatsDelays(long seconds, String text) {
        assertThat(TokenLimiter.formatDelay(seconds)).isEqualTo(text);
    }

    // ------------------------------------------------------------------------------------- threads, allocation

    @Test
    void limitsHoldExactlyUnderTwoThreads() throws Exception {
        UserToken t = token(b -> b.requestsPerMinute(700).requestsPerDay(1_000));
        int perThread = 2_000;
        AtomicInteger accepted = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        AtomicLong clock = new AtomicLong(NOON);
        runTwice(perThread, () -> {
            // both threads move the clock forward by 10 ms per attempt: the window slides while they race
            Admission a = limiter.admit(t, "m", clock.addAndGet(10));
            if (a.isAccepted()) {
                accepted.incrementAndGet();
                limiter.release(t, 1, 1, clock.get());
            } else {
                refused.incrementAndGet();
            }
        });
        // 4,000 attempts over 40 s: the minute limit (700) caps them, never a request more or less
        assertThat(accepted.get()).isEqualTo(700);
        assertThat(refused.get()).isEqualTo(2 * perThread - 700);
        TokenUsage u = limiter.usage(t, clock.get());
        assertThat(u.requestsToday()).isEqualTo(700);
        assertThat(u.totalTokens()).isEqualTo(1_400);
        assertThat(u.inFlight()).isZero();
    }

    @Test
    void dailyLimitHoldsExactlyUnderTwoThreads() throws Exception {
        UserToken t = token(b -> b.requestsPerDay(1_234));
        AtomicInteger accepted = new AtomicInteger();
        runTwice(5_000, () -> {
            if (limiter.admit(t, "m", NOON).isAccepted()) {
                accepted.incrementAndGet();
                limiter.release(t);
            }
        });
        assertThat(accepted.get()).isEqualTo(1_234);
        assertThat(limiter.usage(t, NOON).requestsToday()).isEqualTo(1_234);
    }

    @Test
    void concurrencyLimitHoldsUnderTwoThreads() throws Exception {
        UserToken t = token(b -> b.maxConcurrency(1));
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        AtomicInteger accepted = new AtomicInteger();
        runTwice(20_000, () -> {
            if (limiter.admit(t, "m", NOON).isAccepted()) {
                most.accumulateAndGet(inside.incrementAndGet(), Math::max);
                accepted.incrementAndGet();
                inside.decrementAndGet();
                limiter.release(t);
            }
        });
        assertThat(most.get()).isEqualTo(1);
        assertThat(accepted.get()).isPositive();
        assertThat(limiter.usage(t, NOON).inFlight()).isZero();
        assertThat(limiter.usage(t, NOON).requestsToday()).isEqualTo(accepted.get());
    }

    private static void runTwice(int iterations, Runnable body) throws Exception {
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        for (int n = 0; n < 2; n++) {
            Thread th = new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < iterations; i++) {
                        body.run();
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }, "limiter-test-" + n);
            th.start();
            threads.add(th);
        }
        start.countDown();
        for (Thread th : threads) {
            th.join(TimeUnit.SECONDS.toMillis(30));
            assertThat(th.isAlive()).as(th.getName() + " finished").isFalse();
        }
        assertThat(failures).isEmpty();
    }

    @Test
    void authenticatingAndAdmittingAllocateNothing() {
        java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Assumptions.assumeTrue(mx instanceof com.sun.management.ThreadMXBean
                && ((com.sun.management.ThreadMXBean) mx).isThreadAllocatedMemorySupported());
        com.sun.management.ThreadMXBean bean = (com.sun.management.ThreadMXBean) mx;
        TokenRegistry.Created c = registry.create("hot", TokenLimits.builder().requestsPerMinute(1_000_000)
                .maxConcurrency(10).allowedModels(Set.of("gemini-2.5-flash")).build());
        String secret = c.secret();
        Runnable call = () -> {
            UserToken t = registry.authenticate(secret);
            if (limiter.admit(t, "gemini-2.5-flash", NOON).isAccepted()) {
                limiter.release(t, 1, 1, NOON);
            }
        };
        for (int i = 0; i < 20_000; i++) {
            call.run();
        }
        long tid = Thread.currentThread().getId();
        long before = bean.getThreadAllocatedBytes(tid);
        for (int i = 0; i < 10_000; i++) {
            call.run();
        }
        long allocated = bean.getThreadAllocatedBytes(tid) - before;
        assertThat(allocated).as("bytes allocated by 10,000 calls").isLessThan(10_000);
    }
}
