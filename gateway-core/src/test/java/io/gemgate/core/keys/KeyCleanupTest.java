package io.gemgate.core.keys;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Setting aside and removing keys, never the last good one. */
class KeyCleanupTest {
    private static final ZoneId LA = ZoneId.of("America/Los_Angeles");
    private final AtomicLong now = new AtomicLong(
            ZonedDateTime.of(2026, 6, 1, 9, 0, 0, 0, LA).toInstant().toEpochMilli());
    private final QuotaCalendar calendar = new QuotaCalendar(LA);
    private final KeyHealthHistory h = new KeyHealthHistory(calendar);
    private KeyPool pool;
    private KeyCleanup c;

    /** A pool of {@code n} keys with its clean-up over {@link #h}; returns the keys. */
    private List<ApiKey> start(int n) {
        pool = pool(n);
        c = new KeyCleanup(pool, h);
        return pool.keys();
    }

    private KeyPool pool(int n) {
        List<KeySpec> specs = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            specs.add(KeySpec.of("AIzaKEY" + i + "-0123456789abcdefghijklmnop"));
        }
        return new KeyPool(specs, new PoolSettings(Strategy.ROUND_ROBIN, 3, 60_000, 900_000, 5_000), calendar,
                now::get);
    }

    private static List<ApiKey> keys(List<KeyCleanup.Decision> ds) {
        return ds.stream().map(KeyCleanup.Decision::key).toList();
    }

    @Test
    void setsAsideAFailingKeyButNeverTheLastOneInRotation() {
        List<ApiKey> keys = start(2);
        ApiKey a = keys.get(0);
        ApiKey b = keys.get(1);
        assertThat(c.setAside(a, "3 server errors in a row")).isTrue();
        assertThat(a.isInvalid()).isTrue();
        assertThat(a.invalidReason()).isEqualTo("3 server errors in a row");
        assertThat(c.setAside(b, "3 server errors in a row")).isFalse();
        assertThat(b.isInvalid()).isFalse();
        assertThat(c.setAside(a, "again")).isFalse(); // already aside
    }

    @Test
    void removesKeysBadForNDaysKeepingTheLastKeyInRotation() {
        List<ApiKey> keys = start(3);
        ApiKey a = keys.get(0);
        ApiKey b = keys.get(1);
        ApiKey ok = keys.get(2);
        // a fails three days in a row, b the last two; ok succeeds.
        for (int day = 0; day < 3; day++) {
            if (day > 0) {
                now.set(calendar.nextReset(now.get()) + Duration.ofHours(1).toMillis());
            }
            h.recordCall(a.id(), VerdictKind.SERVER_ERROR, now.get());
            if (day > 0) {
                h.recordCall(b.id(), VerdictKind.SERVER_ERROR, now.get());
            }
            h.recordCall(ok.id(), VerdictKind.SUCCESS, now.get());
        }

        assertThat(c.atRisk(1, now.get())).extracting(KeyCleanup.AtRisk::key).containsExactly(a, b);
        KeyCleanup.Result r = c.removeBad(3, 1, now.get());
        assertThat(keys(r.removed())).containsExactly(a);
        assertThat(r.removed().get(0).reason()).isEqualTo("bad 3 days in a row");
        assertThat(a.isRemoved()).isTrue();
        assertThat(h.removedReason(a.id())).isEqualTo("bad 3 days in a row");

        // b and ok now: ok is the last good key, b may go; after that, ok stays whatever its days.
        KeyCleanup.Result more = c.removeBad(1, 1, now.get());
        assertThat(keys(more.removed())).containsExactly(b);
        assertThat(c.removeBad(1, 1, now.get()).removed()).isEmpty();
        assertThat(c.atRisk(1, now.get())).isEmpty(); // removed keys are not at risk
    }

    @Test
    void theLastKeyInRotationStaysEvenWhenEveryKeyIsBad() {
        List<ApiKey> keys = start(2);
        ApiKey a = keys.get(0);
        ApiKey b = keys.get(1);
        h.recordCall(a.id(), VerdictKind.SERVER_ERROR, now.get());
        h.recordCall(b.id(), VerdictKind.SERVER_ERROR, now.get());
        h.recordCall(b.id(), VerdictKind.SERVER_ERROR, now.get());
        // Both bad today; a's streak and b's are equal in days: the pool's order decides, b stays.
        KeyCleanup.Result r = c.removeBad(1, 1, now.get());
        assertThat(keys(r.removed())).containsExactly(a);
        assertThat(keys(r.kept())).containsExactly(b);
        assertThat(r.kept().get(0).reason()).isEqualTo("the last key in rotation");
        assertThat(b.isRemoved()).isFalse();
    }

    @Test
    void removeUnhealthyTakesInvalidAndAtRiskKeysButNeverEveryKey() {
        List<ApiKey> keys = start(3);
        ApiKey a = keys.get(0);
        ApiKey b = keys.get(1);
        ApiKey d = keys.get(2);
        pool.markInvalid(a.id(), "API_KEY_INVALID");
        h.recordCall(b.id(), VerdictKind.TIMEOUT, now.get());
        h.recordCall(b.id(), VerdictKind.TIMEOUT, now.get());
        h.recordCall(d.id(), VerdictKind.SUCCESS, now.get());

        KeyCleanup.Result r = c.removeUnhealthy(2, now.get());
        assertThat(keys(r.removed())).containsExactlyInAnyOrder(a, b);
        assertThat(r.removed()).extracting(KeyCleanup.Decision::reason)
                .containsExactlyInAnyOrder("invalid: API_KEY_INVALID", "bad 1 day");
        assertThat(d.isRemoved()).isFalse();

        // Everything invalid: one key is kept all the same.
        KeyPool all = pool(2);
        KeyCleanup c2 = new KeyCleanup(all, new KeyHealthHistory(calendar));
        all.markInvalid(all.keys().get(0).id(), "x");
        all.markInvalid(all.keys().get(1).id(), "y");
        KeyCleanup.Result r2 = c2.removeUnhealthy(3, now.get());
        assertThat(r2.removed()).hasSize(1);
        assertThat(r2.kept()).extracting(KeyCleanup.Decision::reason)
                .containsExactly("the last key that is not removed");
    }

    @Test
    void thePoolTellsItsListenerOfEveryVerdictAndMarkInvalidKeepsTheFirstTime() {
        KeyPool single = pool(1);
        List<VerdictKind> heard = new java.util.ArrayList<>();
        single.verdictListener((k, verdict, at) -> heard.add(verdict.kind()));
        ApiKey a = single.keys().get(0);
        single.record(a, single.model("m"), new Verdict(VerdictKind.SERVER_ERROR, -1, "INTERNAL"), 10);
        single.record(a, single.model("m"), Verdict.SUCCESS, 10);
        single.verdictListener(null);
        single.record(a, single.model("m"), Verdict.SUCCESS, 10);
        assertThat(heard).containsExactly(VerdictKind.SERVER_ERROR, VerdictKind.SUCCESS);

        long first = now.get();
        assertThat(single.markInvalid(a.id(), "3 server errors in a row")).isTrue();
        now.addAndGet(60_000);
        single.markInvalid(a.id(), "API_KEY_INVALID");
        assertThat(a.invalidReason()).isEqualTo("API_KEY_INVALID");
        assertThat(a.invalidSinceMillis()).isEqualTo(first);
        assertThat(single.markInvalid("nope", "x")).isFalse();
    }

    @Test
    void restoreBringsAKeyBackWithAFreshStreak() {
        ApiKey a = start(2).get(0);
        h.recordCall(a.id(), VerdictKind.SERVER_ERROR, now.get());
        assertThat(c.removeBad(1, 1, now.get()).removed()).hasSize(1);
        assertThat(c.restore(a.id(), now.get())).isTrue();
        assertThat(a.isRemoved()).isFalse();
        assertThat(h.removedReason(a.id())).isEmpty();
        assertThat(c.atRisk(1, now.get())).isEmpty();
        assertThat(c.removeBad(1, 1, now.get()).removed()).isEmpty();
        assertThat(c.restore("nope", now.get())).isFalse();
    }
}
