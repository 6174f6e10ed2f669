package io.gemgate.core.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The hooks a shared store uses: the change listener, the {@code apply*} methods and the live counters. */
class KeyPoolSharingTest {
    private static final ZoneId LA = ZoneId.of("America/Los_Angeles");
    private final AtomicLong now = new AtomicLong(
            ZonedDateTime.of(2026, 11, 22, 10, 0, 0, 0, LA).toInstant().toEpochMilli());
    private final List<String> events = new ArrayList<>();

    private KeyPool pool(KeySpec... keys) {
        KeyPool pool = new KeyPool(List.of(keys), new PoolSettings(Strategy.ROUND_ROBIN, 3, 60_000, 900_000, 5_000),
                new QuotaCalendar(LA), now::get);
        pool.listener(new KeyPool.Listener() {
            @Override
            public void restChanged(ApiKey key, ModelRef model) {
                events.add("rest " + name(key) + " " + model.name());
            }

            @Override
            public void keyChanged(ApiKey key) {
                events.add("key " + name(key));
            }

            @Override
            public void keysAdded(List<ApiKey> added) {
                for (ApiKey k : added) {
                    events.add("added " + name(k));
                }
            }
        });
        return pool;
    }

    private static KeySpec key(String name) {
        return KeySpec.of("AIza" + name + "-0123456789abcdefghij");
    }

    private static KeySpec key(String name, String project) {
        return new KeySpec("AIza" + name + "-0123456789abcdefghij", project, 1, "");
    }

    private static String name(ApiKey k) {
        return k.secret().substring(4, k.secret().indexOf('-'));
    }

    @Test
    void verdictsThatRestAKeyAreReportedForEveryKeyOfItsProject() {
        KeyPool pool = pool(key("a", "p"), key("b", "p"), key("c"));
        ModelRef m = pool.model("m");
        ApiKey a = pool.keys().get(0);
        ApiKey c = pool.keys().get(2);

        pool.record(a, m, new Verdict(VerdictKind.QUOTA_DAY, -1, "PerDay"), 1);
        pool.record(a, m, new Verdict(VerdictKind.RATE_LIMIT, 20_000, "PerMinute"), 1);
        pool.record(c, m, new Verdict(VerdictKind.SERVER_ERROR, -1, "500"), 1);
        assertThat(events).containsExactly("rest a m", "rest b m", "rest a m", "rest b m", "rest c m");
    }

    @Test
    void successesClientErrorsAndSelectionReportNothing() {
        KeyPool pool = pool(key("a"));
        ModelRef m = pool.model("m");
        ApiKey a = pool.acquire(m, new KeyAttempts(1));
        pool.record(a, m, Verdict.SUCCESS, 1);
        pool.record(a, m, Verdict.CLIENT_ERROR, 1);
        pool.recordUsage(a, m, 10, 5);
        assertThat(events).isEmpty();
    }

    @Test
    void marksEditsAndAddedKeysAreReported() {
        KeyPool pool = pool(key("a"), key("b"));
        ApiKey a = pool.keys().get(0);
        pool.record(a, pool.model("m"), new Verdict(VerdictKind.INVALID_KEY, -1, "API_KEY_INVALID"), 1);
        pool.markValid(a.id());
        pool.setEnabled(a.id(), false);
        pool.setRemoved(a.id(), true);
        pool.update(a.id(), 3, "team", null);
        pool.addKeys(List.of(key("b"), key("c")));
        pool.addKeys(List.of(key("c")));
        assertThat(events).containsExactly("key a", "key a", "key a", "key a", "key a", "added c");
    }

    @Test
    void applyMethodsChangeThePoolWithoutReportingIt() {
        KeyPool pool = pool(key("a"), key("b"));
        ApiKey a = pool.keys().get(0);
        ModelRef m = pool.model("m");
        long t = now.get();

        assertThat(pool.applyRest(a.id(), "m", t + 60_000, 0)).isTrue();
        assertThat(pool.applyKeyState(a.id(), true, false, t, "API_KEY_INVALID", 4, "shared", "proj")).isTrue();
        assertThat(pool.applyAddedKeys(List.of(key("c"))).added()).hasSize(1);
        assertThat(pool.applyRest("unknown", "m", t + 1, t + 1)).isFalse();
        assertThat(pool.applyKeyState("unknown", true, false, 0, "", 1, "", "")).isFalse();
        assertThat(events).isEmpty();

        assertThat(pool.status(a, m).state()).isEqualTo(KeyStatus.State.INVALID);
        assertThat(a.invalidSinceMillis()).isEqualTo(t);
        assertThat(a.weight()).isEqualTo(4);
        assertThat(a.label()).isEqualTo("shared");
        assertThat(a.project()).isEqualTo("proj");
        assertThat(pool.cooldownUntil(a, m)).isEqualTo(t + 60_000);
        assertThat(pool.keys()).hasSize(3);
        assertThatThrownBy(() -> pool.applyKeyState(a.id(), true, false, 0, "", 0, "", ""))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("weight");
    }

    @Test
    void applyRestKeepsTheLaterEndAndIgnoresEndsAlreadyPast() {
        KeyPool pool = pool(key("a"));
        ApiKey a = pool.keys().get(0);
        ModelRef m = pool.model("m");
        long t = now.get();
        pool.takeDirty();

        pool.applyRest(a.id(), "m", t - 1, t - 1);
        assertThat(pool.counters(a, m, false)).as("no state created for ends already past").isNull();
        assertThat(pool.takeDirty()).isFalse();

        pool.applyRest(a.id(), "m", t + 50_000, t + 90_000);
        pool.applyRest(a.id(), "m", t + 10_000, t + 10_000);
        assertThat(pool.cooldownUntil(a, m)).isEqualTo(t + 50_000);
        assertThat(pool.exhaustedUntil(a, m)).isEqualTo(t + 90_000);
        assertThat(pool.status(a, m).state()).isEqualTo(KeyStatus.State.EXHAUSTED);
        assertThat(pool.takeDirty()).isTrue();
        pool.applyRest(a.id(), "m", t + 50_000, t + 90_000);
        assertThat(pool.takeDirty()).as("nothing raised, nothing to write").isFalse();
    }

    @Test
    void applyKeyStateThatChangesNothingLeavesThePoolClean() {
        KeyPool pool = pool(key("a"));
        ApiKey a = pool.keys().get(0);
        pool.takeDirty();
        assertThat(pool.applyKeyState(a.id(), true, false, 0, "", 1, "", "")).isTrue();
        assertThat(pool.takeDirty()).isFalse();
        assertThat(pool.applyKeyState(a.id(), false, true, 0, "ignored when valid", 1, "", "")).isTrue();
        assertThat(pool.takeDirty()).isTrue();
        assertThat(a.isEnabled()).isFalse();
        assertThat(a.isRemoved()).isTrue();
        assertThat(a.invalidReason()).isEmpty();
    }

    @Test
    void countersAreTheLiveSetOfTheQuotaDay() {
        KeyPool pool = pool(key("a"));
        ApiKey a = pool.keys().get(0);
        ModelRef m = pool.model("m");
        assertThat(pool.counters(a, m, false)).isNull();

        pool.acquire(m, new KeyAttempts(1));
        DayCounters today = pool.counters(a, m, false);
        assertThat(today.get(DayCounters.REQUESTS)).isEqualTo(1);
        today.add(DayCounters.REQUESTS, 41);
        assertThat(pool.usage(a, m).requests()).isEqualTo(42);
        assertThat(pool.counters(a, m, true)).isSameAs(today);

        now.addAndGet(24 * 3_600_000L);
        assertThat(pool.counters(a, m, false)).as("not rolled over by a peek").isSameAs(today);
        DayCounters tomorrow = pool.counters(a, m, true);
        assertThat(tomorrow).isNotSameAs(today);
        assertThat(tomorrow.dayStart()).isGreaterThan(today.dayStart());
        assertThat(tomorrow.get(DayCounters.REQUESTS)).isZero();
        assertThat(DayCounters.indexOf(DayCounters.name(DayCounters.OUTPUT_TOKENS)))
                .isEqualTo(DayCounters.OUTPUT_TOKENS);
        assertThat(DayCounters.indexOf("nope")).isEqualTo(-1);
    }
}
