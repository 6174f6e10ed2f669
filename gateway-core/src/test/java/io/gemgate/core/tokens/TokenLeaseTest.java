package io.gemgate.core.tokens;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.keys.QuotaCalendar;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * {@link TokenLimiter} spending a {@link TokenLease} (several gateways: README, "Limits across gateways"), the store
 * played by the test.
 */
class TokenLeaseTest {
    private static final long NOON = Instant.parse("2026-03-10T12:00:00Z").toEpochMilli();
    private static final long SECOND = NOON / 1000;

    private final TokenRegistry registry = new TokenRegistry(() -> NOON, new SecureRandom());
    private final TokenLimiter limiter = new TokenLimiter(new QuotaCalendar(ZoneOffset.UTC));
    private final List<UserToken> asked = new ArrayList<>();

    TokenLeaseTest() {
        limiter.leaseListener(asked::add);
        limiter.sharing(TokenLimiter.Sharing.LEASED, 3);
    }

    private UserToken token(UnaryOperator<TokenLimits.Builder> limits) {
        return registry.create("t", limits.apply(TokenLimits.builder()).build()).token();
    }

    @Test
    void beforeAnyGrantAGatewayAdmitsOnlyItsBorrowedUnitsAndAsksTheLeaserOnce() {
        UserToken t = token(b -> b.requestsPerMinute(60));
        int borrow = TokenLimiter.borrow(60, 3);
        assertThat(borrow).isEqualTo(4);
        for (int i = 0; i < borrow; i++) {
            assertThat(limiter.admit(t, "m", NOON).isAccepted()).isTrue();
        }
        Admission refused = limiter.admit(t, "m", NOON);
        assertThat(refused.outcome()).isEqualTo(Admission.Outcome.REQUESTS_PER_MINUTE);
        assertThat(refused.retryAfterSeconds()).isEqualTo(1);
        assertThat(refused.message()).isEqualTo("requestsPerMinute limit of 60 reached across gateways; retry in 1s");
        assertThat(asked).containsExactly(t);

        // The leaser reports the borrowed units as a debt.
        TokenLease.Call call = t.lease().prepare(NOON, false);
        assertThat(call.debtRequests).isEqualTo(borrow);
        assertThat(call.returnCount).isZero();
    }

    @Test
    void grantedUnitsAreSpentOldestFirstAndWhatIsLeftGoesBackWhenTheGrantEnds() {
        UserToken t = token(b -> b.requestsPerMinute(60));
        t.lease().granted(NOON, SECOND, 5, 10_000, 0, 0, 0, Admission.Outcome.REQUESTS_PER_MINUTE, 0, false, 2, 1);
        t.lease().granted(NOON, SECOND + 1, 3, 12_000, 0, 0, 0, Admission.Outcome.REQUESTS_PER_MINUTE, 0, false, 2,
                1);
        for (int i = 0; i < 6; i++) {
            assertThat(limiter.admit(t, "m", NOON + 100).isAccepted()).isTrue();
        }
        assertThat(t.lease().requestsLeft()).isEqualTo(2);
        // Both grants ended: the first was spent whole, two units of the second go back to its second.
        TokenLease.Call call = t.lease().prepare(NOON + 12_000, false);
        assertThat(call.returnCount).isEqualTo(1);
        assertThat(call.returns[0]).isEqualTo(SECOND + 1);
        assertThat(call.returns[1]).isEqualTo(2);
        assertThat(call.debtRequests).isZero();
        assertThat(t.lease().requestsLeft()).isZero();
    }

    @Test
    void aLimitTheStoreSaysIsReachedRefusesUntilItFreesUpWithoutBorrowing() {
        UserToken t = token(b -> b.requestsPerDay(100));
        t.lease().granted(NOON, SECOND, 1, 10_000, 0, 0, NOON + 3_600_000, Admission.Outcome.REQUESTS_PER_DAY, 0,
                false, 1, 1);
        assertThat(limiter.admit(t, "m", NOON).isAccepted()).isTrue();
        Admission refused = limiter.admit(t, "m", NOON + 1);
        assertThat(refused.outcome()).isEqualTo(Admission.Outcome.REQUESTS_PER_DAY);
        assertThat(refused.retryAfterSeconds()).isEqualTo(3600);
        assertThat(refused.message()).isEqualTo("requestsPerDay limit of 100 reached across gateways; retry in 60m");
    }

    @Test
    void concurrencyBeyondTheHeldSlotsIsBorrowedOnlyUpToTheBound() {
        UserToken t = token(b -> b.maxConcurrency(8));
        t.lease().granted(NOON, SECOND, 0, 10_000, 0, 2, 0, Admission.Outcome.REQUESTS_PER_MINUTE, 0, false, 1, 1);
        int borrow = TokenLimiter.borrow(8, 3);
        for (int i = 0; i < 2 + borrow; i++) {
            assertThat(limiter.admit(t, "m", NOON).isAccepted()).isTrue();
        }
        assertThat(limiter.admit(t, "m", NOON).outcome()).isEqualTo(Admission.Outcome.MAX_CONCURRENCY);
        limiter.release(t);
        assertThat(limiter.admit(t, "m", NOON).isAccepted()).isTrue();
    }

    @Test
    void tokensUsedBeyondTheAllowanceAreOwedAndAnIdleTokenGivesTheRestBack() {
        UserToken t = token(b -> b.tokensPerDay(10_000));
        t.lease().granted(NOON, SECOND, 0, 10_000, 500, 0, 0, Admission.Outcome.REQUESTS_PER_MINUTE, 0, false, 1,
                100);
        assertThat(limiter.admit(t, "m", NOON).isAccepted()).isTrue();
        limiter.release(t, 400, 300, NOON);
        TokenLease.Call owed = t.lease().prepare(NOON, false);
        assertThat(owed.debtTokens).isEqualTo(200);
        t.lease().granted(NOON, SECOND, 0, 10_000, 1000, 0, 0, Admission.Outcome.REQUESTS_PER_MINUTE, 0, false, 1,
                100);
        assertThat(limiter.admit(t, "m", NOON).isAccepted()).isTrue();
        limiter.release(t, 100, 0, NOON);
        TokenLease.Call idle = t.lease().prepare(NOON + 5_000, true);
        assertThat(idle.returnTokens).isEqualTo(900);
        assertThat(idle.debtTokens).isZero();
    }

    @Test
    void withTheStoreAwayEachGatewayAllowsItsPartOfEachLimit() {
        limiter.sharing(TokenLimiter.Sharing.SPLIT, 3);
        UserToken t = token(b -> b.requestsPerMinute(10));
        int ok = 0;
        for (int i = 0; i < 10; i++) {
            ok += limiter.admit(t, "m", NOON).isAccepted() ? 1 : 0;
        }
        assertThat(ok).isEqualTo(4); // ceil(10 / 3)
        assertThat(asked).isEmpty();
    }

    @Test
    void aTokenWithoutRateLimitsNeverTouchesItsLease() {
        UserToken t = token(b -> b);
        for (int i = 0; i < 100; i++) {
            assertThat(limiter.admit(t, "m", NOON).isAccepted()).isTrue();
        }
        assertThat(asked).isEmpty();
    }
}
