package io.gemgate.core.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A key's definition and marks ({@link KeyState}) and its rest for a model ({@link KeyRest}) change whole: readers,
 * the lanes and the shared store's listener see all of a change or none of it.
 */
class KeyStateTest {
    private static final ZoneId LA = ZoneId.of("America/Los_Angeles");
    /** Bounds of the concurrent tests: in count and in time, whichever ends first. */
    private static final int FLIPS = 20_000;
    private static final long DEADLINE_MILLIS = 20_000;

    private final AtomicLong now = new AtomicLong(
            ZonedDateTime.of(2026, 11, 22, 10, 0, 0, 0, LA).toInstant().toEpochMilli());

    private KeyPool pool(KeySpec... keys) {
        return new KeyPool(List.of(keys), new PoolSettings(Strategy.ROUND_ROBIN, 3, 60_000, 900_000, 5_000),
                new QuotaCalendar(LA), now::get);
    }

    private static KeySpec key(String name) {
        return new KeySpec("AIza" + name + "-0123456789abcdefghij", "", 1, "team a");
    }

    /** Records the key's whole state each time the listener hears of a change. */
    private static List<KeyState> heard(KeyPool pool) {
        List<KeyState> heard = new ArrayList<>();
        pool.listener(new KeyPool.Listener() {
            @Override
            public void restChanged(ApiKey key, ModelRef model) {
            }

            @Override
            public void keyChanged(ApiKey key) {
                heard.add(key.state());
            }

            @Override
            public void keysAdded(List<ApiKey> added) {
            }
        });
        return heard;
    }

    @Test
    void anAdminEditOfDefinitionAndEnabledFlagIsHeardOnceWithAllOfIt() {
        KeyPool pool = pool(key("a"), key("b"));
        ApiKey a = pool.keys().get(0);
        List<KeyState> heard = heard(pool);

        assertThat(pool.edit(a.id(), new KeyChange(7, "team b", "p1", 1, Set.of("paid"), false))).isTrue();

        // One change, one message: a shared store never publishes the new label with the old enabled flag.
        assertThat(heard).hasSize(1);
        KeyState st = heard.get(0);
        assertThat(st.spec().label()).isEqualTo("team b");
        assertThat(st.isEnabled()).isFalse();
        assertThat(st.spec().weight()).isEqualTo(7);
        assertThat(st.spec().tier()).isEqualTo(1);
        assertThat(st.spec().groups()).containsExactly("paid");
        assertThat(st.spec().project()).isEqualTo("p1");
        assertThat(a.state()).isSameAs(st);
        ModelRef m = pool.model("m");
        for (int i = 0; i < 4; i++) {
            assertThat(pool.acquire(m, new KeyAttempts(3))).isSameAs(pool.keys().get(1));
        }
    }

    @Test
    void anEditWithABadFieldChangesNothingAndIsNotHeard() {
        KeyPool pool = pool(key("a"));
        ApiKey a = pool.keys().get(0);
        KeyState before = a.state();
        List<KeyState> heard = heard(pool);

        assertThatThrownBy(() -> pool.edit(a.id(), new KeyChange(7, "team b", null, 99, null, false)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tier: 99");

        assertThat(a.state()).isSameAs(before);
        assertThat(a.isEnabled()).isTrue();
        assertThat(a.label()).isEqualTo("team a");
        assertThat(heard).isEmpty();
        assertThat(pool.edit("unknown", new KeyChange(2, null, null, null, null, null))).isFalse();
    }

    @Test
    void readersNeverSeeHalfOfAChangeAnotherGatewayMade() throws Exception {
        KeyPool pool = pool(key("a"), key("b"), key("c"));
        ApiKey b = pool.keys().get(1);
        ModelRef m = pool.model("m");
        AtomicBoolean done = new AtomicBoolean();
        ConcurrentLinkedQueue<String> torn = new ConcurrentLinkedQueue<>();
        AtomicLong reads = new AtomicLong();
        int readers = 2;
        CountDownLatch start = new CountDownLatch(1);
        CountDownLatch finished = new CountDownLatch(readers);
        CountDownLatch reading = new CountDownLatch(1);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        for (int r = 0; r < readers; r++) {
            Thread t = new Thread(() -> {
                try {
                    start.await();
                    while (!done.get() && System.nanoTime() < deadline) {
                        // "on" goes with enabled, weight 1, tier 0; "off" with disabled, weight 7, tier 1, invalid
                        KeyState st = b.state();
                        boolean on = st.spec().label().equals("on");
                        if (on != st.isEnabled() || on != (st.spec().weight() == 1) || on != (st.spec().tier() == 0)
                                || on == st.isInvalid() || (!on && !st.invalidReason().equals("API_KEY_INVALID"))) {
                            torn.add(st.toString());
                        }
                        pool.acquire(m, new KeyAttempts(3)); // selection reads the same state meanwhile
                        reads.incrementAndGet();
                        reading.countDown();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    finished.countDown();
                }
            }, "key-state-reader-" + r);
            t.setDaemon(true);
            t.start();
        }
        flip(pool, b, true); // from "team a" to the first of the two states the readers know
        start.countDown();
        // The flips start once a reader reads, so that the two overlap (else a fast writer could finish first).
        assertThat(reading.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS)).isTrue();
        for (int i = 0; i < FLIPS && System.nanoTime() < deadline; i++) {
            flip(pool, b, i % 2 == 1);
        }
        done.set(true);
        assertThat(finished.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS)).isTrue();

        assertThat(reads.get()).isPositive();
        assertThat(torn).isEmpty();
    }

    /** Sets every field of the key as another gateway would, in one call: "on" (in rotation) or "off". */
    private void flip(KeyPool pool, ApiKey k, boolean on) {
        pool.applyKeyState(k.id(), on, false, on ? 0 : now.get(), "API_KEY_INVALID", on ? 1 : 7, on ? "on" : "off",
                "", on ? 0 : 1, Set.of());
    }

    @Test
    void concurrent429sMoveCooldownAndStreakTogether() throws Exception {
        KeyPool pool = pool(key("a"));
        ApiKey a = pool.keys().get(0);
        ModelRef m = pool.model("m");
        long base = pool.settings().rateLimitCooldownMillis();
        long max = pool.settings().rateLimitCooldownMaxMillis();
        long t0 = now.get(); // the clock stands still: the n-th 429 in a row asks for base << (n - 1) from t0
        AtomicBoolean done = new AtomicBoolean();
        ConcurrentLinkedQueue<KeyRest> torn = new ConcurrentLinkedQueue<>();
        AtomicLong reads = new AtomicLong();
        CountDownLatch start = new CountDownLatch(1);
        CountDownLatch reading = new CountDownLatch(1);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        Thread reader = new Thread(() -> {
            try {
                start.await();
                while (!done.get() && System.nanoTime() < deadline) {
                    KeyRest r = pool.rest(a, m);
                    int streak = r.rateLimitStreak();
                    if (streak > 0 && r.cooldownUntilMillis() != t0 + Math.min(max, base << Math.min(streak - 1, 20))) {
                        torn.add(r);
                    }
                    reads.incrementAndGet();
                    reading.countDown();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "key-rest-reader");
        reader.setDaemon(true);
        reader.start();
        start.countDown();
        // The writer starts once the reader reads, so that the two overlap (else a fast writer could finish first).
        assertThat(reading.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS)).isTrue();
        int rateLimited = 0;
        for (int i = 0; i < FLIPS && System.nanoTime() < deadline; i++) {
            if (i % 5 == 4) {
                pool.liftCooldown(a, m); // back to no cooldown and no streak, so that the streak grows again
            } else {
                pool.record(a, m, new Verdict(VerdictKind.RATE_LIMIT, -1, ""), 5);
                rateLimited++;
            }
        }
        done.set(true);
        reader.join(DEADLINE_MILLIS);

        assertThat(reader.isAlive()).isFalse();
        assertThat(reads.get()).isPositive();
        assertThat(torn).isEmpty();
        assertThat(pool.usage(a, m).rateLimited()).isEqualTo(rateLimited);
    }

    @Test
    void theStreakStopsGrowingAtItsCapAndTheCooldownAtItsMaximum() {
        KeyPool pool = pool(key("a"));
        ApiKey a = pool.keys().get(0);
        ModelRef m = pool.model("m");
        for (int i = 0; i < 25; i++) {
            pool.record(a, m, new Verdict(VerdictKind.RATE_LIMIT, -1, ""), 5);
        }
        assertThat(pool.rest(a, m)).isEqualTo(new KeyRest(now.get() + pool.settings().rateLimitCooldownMaxMillis(), 0,
                21));
    }

    @Test
    void aSuccessEndsTheStreakAndKeepsTheCooldownItRaised() {
        KeyPool pool = pool(key("a"));
        ApiKey a = pool.keys().get(0);
        ModelRef m = pool.model("m");
        long t0 = now.get();
        pool.record(a, m, new Verdict(VerdictKind.RATE_LIMIT, -1, ""), 5);
        pool.record(a, m, new Verdict(VerdictKind.RATE_LIMIT, -1, ""), 5);
        assertThat(pool.rest(a, m)).isEqualTo(new KeyRest(t0 + 120_000, 0, 2));

        pool.record(a, m, Verdict.SUCCESS, 5);
        assertThat(pool.rest(a, m)).isEqualTo(new KeyRest(t0 + 120_000, 0, 0));
        pool.liftCooldown(a, m);
        assertThat(pool.rest(a, m)).isEqualTo(new KeyRest(t0, 0, 0));
        assertThat(pool.status(a, m).state()).isEqualTo(KeyStatus.State.ACTIVE);
    }
}
