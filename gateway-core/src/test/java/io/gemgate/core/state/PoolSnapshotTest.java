package io.gemgate.core.state;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.KeyAttempts;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.KeySpec;
import io.gemgate.core.keys.KeyStatus;
import io.gemgate.core.keys.KeyUsage;
import io.gemgate.core.keys.ModelRef;
import io.gemgate.core.keys.PoolSettings;
import io.gemgate.core.keys.QuotaCalendar;
import io.gemgate.core.keys.Strategy;
import io.gemgate.core.keys.Verdict;
import io.gemgate.core.keys.VerdictKind;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The key pool's part of the state file, taken from a pool and restored into another (moved from KeyPoolTest). */
class PoolSnapshotTest {
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

    @Test
    void snapshotAndRestoreCarryMarksCooldownsExhaustionAndTodaysCounters() {
        KeyPool first = pool(Strategy.ROUND_ROBIN, key("a"), key("b"), key("c"));
        ModelRef m = first.model("m");
        ApiKey a = first.acquire(m, new KeyAttempts(1));
        first.record(a, m, Verdict.SUCCESS, 10);
        first.recordUsage(a, m, 100, 20);
        first.record(first.keys().get(1), m, new Verdict(VerdictKind.QUOTA_DAY, -1, ""), 1);
        first.record(first.keys().get(2), first.model("n"), new Verdict(VerdictKind.INVALID_KEY, -1, "bad"), 1);
        StateSnapshot snap = PoolSnapshot.take(first);
        assertThat(snap.toString()).doesNotContain("AIza");

        // A restart with the keys in another order and one key more.
        KeyPool second = pool(Strategy.ROUND_ROBIN, key("c"), key("new"), key("b"), key("a"));
        assertThat(PoolSnapshot.restore(second, snap)).isEqualTo(3);
        ModelRef m2 = second.model("m");
        ApiKey a2 = second.keys().get(3);
        assertThat(second.usage(a2, m2)).isEqualTo(new KeyUsage(1, 1, 0, 0, 100, 20));
        assertThat(second.status(second.keys().get(2), m2).state()).isEqualTo(KeyStatus.State.EXHAUSTED);
        assertThat(second.keys().get(0).isInvalid()).isTrue();
        assertThat(second.keys().get(0).invalidReason()).isEqualTo("bad");
        assertThat(second.status(second.keys().get(1), m2).state()).isEqualTo(KeyStatus.State.ACTIVE);
    }

    @Test
    void yesterdaysCountersAreNotRestored() {
        KeyPool first = pool(Strategy.ROUND_ROBIN, key("a"));
        ModelRef m = first.model("m");
        first.acquire(m, new KeyAttempts(1));
        StateSnapshot snap = PoolSnapshot.take(first);
        now.addAndGet(24 * 3_600_000L);
        KeyPool second = pool(Strategy.ROUND_ROBIN, key("a"));
        PoolSnapshot.restore(second, snap);
        assertThat(second.usage(second.keys().get(0), second.model("m"))).isEqualTo(KeyUsage.ZERO);
    }
}
