package io.gemgate.core.keys;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Daily health history and bad-day streaks, on quota days that start at midnight in Los Angeles. */
class KeyHealthHistoryTest {
    private static final ZoneId LA = ZoneId.of("America/Los_Angeles");
    private static final String ID = "0123456789abcdef";
    private final QuotaCalendar calendar = new QuotaCalendar(LA);
    /** 2026-03-06 23:30 in Los Angeles: half an hour before a quota day ends. */
    private final AtomicLong now = new AtomicLong(at(2026, 3, 6, 23, 30));
    private final KeyHealthHistory history = new KeyHealthHistory(calendar);

    private static long at(int y, int m, int d, int hour, int minute) {
        return ZonedDateTime.of(y, m, d, hour, minute, 0, 0, LA).toInstant().toEpochMilli();
    }

    private void fail(int times) {
        for (int i = 0; i < times; i++) {
            history.recordCall(ID, VerdictKind.SERVER_ERROR, now.get());
        }
    }

    /** Moves the clock to 00:10 of the next quota day. */
    private void nextDay() {
        now.set(calendar.nextReset(now.get()) + Duration.ofMinutes(10).toMillis());
    }

    @Test
    void countsHealthVerdictsPerQuotaDayAndLeavesQuotaVerdictsOut() {
        history.recordCall(ID, VerdictKind.SUCCESS, now.get());
        history.recordCall(ID, VerdictKind.INVALID_KEY, now.get());
        history.recordCall(ID, VerdictKind.TIMEOUT, now.get());
        history.recordCall(ID, VerdictKind.CONNECT_FAILURE, now.get());
        history.recordCall(ID, VerdictKind.RATE_LIMIT, now.get());
        history.recordCall(ID, VerdictKind.QUOTA_DAY, now.get());
        history.recordCall(ID, VerdictKind.CLIENT_ERROR, now.get());
        history.recordCheck(ID, false, now.get());
        now.addAndGet(Duration.ofMinutes(31).toMillis()); // 00:01 on the 7th: a new quota day
        history.recordCheck(ID, true, now.get());

        long seventh = at(2026, 3, 7, 0, 0);
        long sixth = at(2026, 3, 6, 0, 0);
        assertThat(history.days(ID)).containsExactly(
                new HealthDay(seventh, 0, 0, 1, 0),
                new HealthDay(sixth, 1, 3, 1, 1));
        assertThat(history.days("unknown")).isEmpty();
    }

    @Test
    void serverErrorsInARowEndWithASuccessOrAGoodProbeNotWithQuotaVerdicts() {
        assertThat(history.recordCall(ID, VerdictKind.SERVER_ERROR, now.get())).isEqualTo(1);
        assertThat(history.recordCall(ID, VerdictKind.TIMEOUT, now.get())).isEqualTo(2);
        assertThat(history.recordCall(ID, VerdictKind.RATE_LIMIT, now.get())).isEqualTo(2);
        assertThat(history.recordCall(ID, VerdictKind.CONNECT_FAILURE, now.get())).isEqualTo(3);
        assertThat(history.recordCall(ID, VerdictKind.SUCCESS, now.get())).isZero();
        fail(2);
        history.recordCheck(ID, false, now.get());
        assertThat(history.serverErrors(ID)).isEqualTo(2);
        history.recordCheck(ID, true, now.get());
        assertThat(history.serverErrors(ID)).isZero();
    }

    @Test
    void aBadDayNeedsNoSuccessAndEnoughFailures() {
        assertThat(KeyHealthHistory.isBad(new HealthDay(0, 0, 2, 1, 1), 3)).isTrue();
        assertThat(KeyHealthHistory.isBad(new HealthDay(0, 0, 2, 0, 0), 3)).isFalse(); // too few
        assertThat(KeyHealthHistory.isBad(new HealthDay(0, 1, 9, 0, 0), 3)).isFalse(); // a success
        assertThat(KeyHealthHistory.isBad(new HealthDay(0, 0, 9, 2, 1), 3)).isFalse(); // a good probe
    }

    @Test
    void theStreakCountsConsecutiveBadDaysAcrossMidnightInLosAngeles() {
        fail(3);
        assertThat(history.badStreak(ID, now.get(), 3)).isEqualTo(1); // today, already bad
        nextDay();
        assertThat(history.badStreak(ID, now.get(), 3)).isEqualTo(1); // today undecided: yesterday counts
        fail(2);
        assertThat(history.badStreak(ID, now.get(), 3)).isEqualTo(1);
        fail(1);
        assertThat(history.badStreak(ID, now.get(), 3)).isEqualTo(2);
        nextDay();
        fail(5);
        assertThat(history.badStreak(ID, now.get(), 3)).isEqualTo(3);
        assertThat(history.badStreak(ID, now.get(), 6)).isZero(); // a higher bar: no day was bad

        history.recordCall(ID, VerdictKind.SUCCESS, now.get());
        assertThat(history.badStreak(ID, now.get(), 3)).isZero(); // a good today ends it
    }

    @Test
    void aDayWithoutActivityOrANeutralDayEndsTheStreak() {
        fail(3);
        nextDay();
        nextDay(); // nothing at all on this day
        fail(3);
        assertThat(history.badStreak(ID, now.get(), 3)).isEqualTo(1);
        nextDay();
        fail(1); // neutral: too few failures
        nextDay();
        fail(3);
        nextDay();
        assertThat(history.badStreak(ID, now.get(), 3)).isEqualTo(1);
    }

    @Test
    void theStreakFollowsTheQuotaDayOverADaylightSavingChange() {
        // 2026-03-08 is 23 hours long in Los Angeles; 2026-11-01 is 25 hours long.
        for (long start : List.of(at(2026, 3, 7, 12, 0), at(2026, 10, 31, 12, 0))) {
            KeyHealthHistory h = new KeyHealthHistory(calendar);
            now.set(start);
            for (int day = 0; day < 3; day++) {
                h.recordCall(ID, VerdictKind.SERVER_ERROR, now.get());
                nextDay();
            }
            assertThat(h.days(ID)).hasSize(3);
            assertThat(h.badStreak(ID, now.get(), 1)).isEqualTo(3);
        }
    }

    @Test
    void aRestartForgivesTheDaysUpToTodayAndClearsTheRemovalReason() {
        fail(3);
        nextDay();
        fail(3);
        history.removed(ID, "bad 2 days in a row");
        assertThat(history.removedReason(ID)).isEqualTo("bad 2 days in a row");
        history.restart(ID, now.get());
        assertThat(history.removedReason(ID)).isEmpty();
        assertThat(history.badStreak(ID, now.get(), 3)).isZero();
        fail(3);
        assertThat(history.badStreak(ID, now.get(), 3)).isZero();
        nextDay();
        fail(3);
        assertThat(history.badStreak(ID, now.get(), 3)).isEqualTo(1);
        assertThat(history.days(ID)).hasSize(3); // the history itself is kept
    }

    @Test
    void keepsAtMostThirtyDays() {
        for (int day = 0; day < 40; day++) {
            fail(1);
            nextDay();
        }
        List<HealthDay> days = history.days(ID);
        assertThat(days).hasSize(KeyHealthHistory.DAYS);
        assertThat(days.get(0).dayStartMillis()).isGreaterThan(days.get(1).dayStartMillis());
        assertThat(history.badStreak(ID, now.get(), 1)).isEqualTo(KeyHealthHistory.DAYS);
    }

    @Test
    void snapshotAndRestoreKeepTheHistoryAndTodayGoesOnCounting() {
        fail(3);
        nextDay();
        history.recordCall(ID, VerdictKind.SUCCESS, now.get());
        history.restart(ID, now.get());
        history.removed(ID, "why");
        assertThat(history.takeDirty()).isTrue();
        assertThat(history.takeDirty()).isFalse();
        List<KeyHealthHistory.KeyHistory> stored = history.snapshot();
        assertThat(stored).hasSize(1);

        KeyHealthHistory back = new KeyHealthHistory(calendar);
        back.restore(stored);
        assertThat(back.snapshot()).isEqualTo(stored);
        back.recordCall(ID, VerdictKind.SUCCESS, now.get());
        assertThat(back.days(ID).get(0).ok()).isEqualTo(2);
        assertThat(back.days(ID)).hasSize(2);
        assertThat(back.takeDirty()).isTrue();
    }
}
