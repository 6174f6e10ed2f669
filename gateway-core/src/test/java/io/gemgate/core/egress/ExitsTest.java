package io.gemgate.core.egress;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.KeySpec;
import io.gemgate.core.keys.ModelRef;
import io.gemgate.core.keys.PoolSettings;
import io.gemgate.core.keys.QuotaCalendar;
import io.gemgate.core.keys.Strategy;
import io.gemgate.core.keys.Verdict;
import io.gemgate.core.keys.VerdictKind;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ExitsTest {
    private final AtomicLong now = new AtomicLong(1_800_000_000_000L);

    private static List<KeySpec> keys(int n) {
        List<KeySpec> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(KeySpec.of("AIzaSyTESTxxxxxxxxxxxxxxxxxxxxxxxxx" + String.format("%04d", i)));
        }
        return out;
    }

    private KeyPool pool(List<KeySpec> keys) {
        return new KeyPool(keys, new PoolSettings(Strategy.ROUND_ROBIN, 3, 60_000, 900_000, 5_000),
                new QuotaCalendar(ZoneId.of("UTC")), now::get);
    }

    private Exits exits(KeyPool pool, boolean keysWait, String... proxies) {
        List<ProxySpec> specs = new ArrayList<>();
        for (String p : proxies) {
            specs.add(ProxySpec.parse(p));
        }
        return new Exits(new Exits.Settings(specs, Duration.ofSeconds(10), Duration.ofSeconds(10),
                Duration.ofSeconds(60), keysWait), pool::keys, now::get);
    }

    /** Key id to the id of its exit (null: direct). */
    private Map<String, String> pins(KeyPool pool, Exits exits) {
        Map<String, String> out = new HashMap<>();
        for (ApiKey k : pool.keys()) {
            Exit e = exits.route(k, now.get());
            out.put(k.id(), e == null ? null : e.spec().id());
        }
        return out;
    }

    @Test
    void withoutProxiesEveryKeyGoesDirect() {
        KeyPool pool = pool(keys(3));
        Exits exits = exits(pool, false);

        assertThat(exits.isDirectOnly()).isTrue();
        assertThat(pins(pool, exits).values()).containsOnlyNulls();
    }

    @Test
    void pinningIsTheSameWhateverTheOrderOfTheProxiesAndAcrossInstances() {
        KeyPool pool = pool(keys(60));
        Map<String, String> a = pins(pool, exits(pool, false, "http://a:1", "http://b:2", "socks5://c:3"));
        Map<String, String> b = pins(pool(keys(60)), exits(pool, false, "socks5://c:3", "http://b:2", "http://a:1"));
        // credentials are not part of an exit's identity: a new password moves no key
        Map<String, String> c = pins(pool, exits(pool, false, "http://u:new@a:1", "http://b:2", "socks5://c:3"));

        assertThat(b).isEqualTo(a);
        assertThat(c).isEqualTo(a);
    }

    @Test
    void keysAreSpreadOverTheExits() {
        KeyPool pool = pool(keys(300));
        Exits exits = exits(pool, false, "http://a:1", "http://b:2", "http://c:3");

        Map<String, Integer> perExit = new HashMap<>();
        pins(pool, exits).values().forEach(e -> perExit.merge(e, 1, Integer::sum));

        assertThat(perExit).hasSize(3);
        assertThat(perExit.values()).allMatch(n -> n > 60 && n < 140);
        for (Exit e : exits.all()) {
            assertThat(exits.pinnedKeys(e)).isEqualTo(perExit.get(e.spec().id()));
        }
    }

    @Test
    void addingOrRemovingAnExitMovesOnlyTheKeysItMust() {
        KeyPool pool = pool(keys(300));
        Map<String, String> two = pins(pool, exits(pool, false, "http://a:1", "http://b:2"));
        Map<String, String> three = pins(pool, exits(pool, false, "http://a:1", "http://b:2", "http://c:3"));

        int moved = 0;
        for (Map.Entry<String, String> e : two.entrySet()) {
            String after = three.get(e.getKey());
            if (!after.equals(e.getValue())) {
                assertThat(after).as("a key that moves goes to the new exit").isEqualTo("http://c:3");
                moved++;
            }
        }
        assertThat(moved).isBetween(60, 140); // about a third

        Map<String, String> withoutB = pins(pool, exits(pool, false, "http://a:1", "http://c:3"));
        for (Map.Entry<String, String> e : three.entrySet()) {
            if (!e.getValue().equals("http://b:2")) {
                assertThat(withoutB.get(e.getKey())).isEqualTo(e.getValue());
            }
        }
    }

    @Test
    void aFailingExitsKeysGoToTheNextExitUntilItRecovers() {
        KeyPool pool = pool(keys(40));
        Exits exits = exits(pool, false, "http://a:1", "http://b:2", "http://c:3");
        Map<String, String> before = pins(pool, exits);
        Exit a = exits.all().get(0);

        exits.failed(a, Exit.Failure.REFUSED);

        Map<String, String> during = pins(pool, exits);
        assertThat(during.values()).doesNotContain("http://a:1");
        before.forEach((k, e) -> {
            if (!e.equals("http://a:1")) {
                assertThat(during.get(k)).isEqualTo(e);
            }
        });
        assertThat(exits.failing()).containsExactly(a);
        assertThat(a.failures(Exit.Failure.REFUSED)).isEqualTo(1);

        exits.recovered(a);

        assertThat(pins(pool, exits)).isEqualTo(before);
        assertThat(exits.failing()).isEmpty();
    }

    @Test
    void whenEveryExitFailsNoKeyHasAnExitRatherThanGoingDirect() {
        KeyPool pool = pool(keys(4));
        Exits exits = exits(pool, false, "http://a:1");
        exits.failed(exits.all().get(0), Exit.Failure.TIMEOUT);

        for (ApiKey k : pool.keys()) {
            assertThat(exits.route(k, now.get())).isSameAs(Exits.NONE);
        }
    }

    @Test
    void aKeysOwnProxyAndDirectWin() {
        List<KeySpec> specs = List.of(
                new KeySpec("AIzaSyTESTxxxxxxxxxxxxxxxxxxxxxxxxx0000", "", 1, "", "socks5://u:p@own:1080"),
                new KeySpec("AIzaSyTESTxxxxxxxxxxxxxxxxxxxxxxxxx0001", "", 1, "", KeySpec.DIRECT),
                KeySpec.of("AIzaSyTESTxxxxxxxxxxxxxxxxxxxxxxxxx0002"));
        KeyPool pool = pool(specs);
        Exits exits = exits(pool, false, "http://a:1");

        Map<String, String> pins = pins(pool, exits);

        assertThat(pins.get(pool.keys().get(0).id())).isEqualTo("socks5://own:1080");
        assertThat(pins.get(pool.keys().get(1).id())).isNull();
        assertThat(pins.get(pool.keys().get(2).id())).isEqualTo("http://a:1");
        assertThat(exits.all()).hasSize(2);
        Exit own = exits.all().get(1);
        assertThat(own.inRing()).isFalse();
        // a key's own proxy failing does not send the key elsewhere
        exits.failed(own, Exit.Failure.REFUSED);
        assertThat(exits.route(pool.keys().get(0), now.get())).isSameAs(Exits.NONE);
    }

    @Test
    void everyKeyOfOneExitAnswering429WhileAnotherServesCoolsTheExitAndClearsTheKeys() {
        KeyPool pool = pool(keys(12));
        Exits exits = exits(pool, false, "http://a:1", "http://b:2");
        ModelRef m = pool.model("gemini-2.5-flash");
        List<String> unblamed = new ArrayList<>();
        exits.listener(new Exits.Listener() {
            @Override
            public void unblame(ApiKey key, ModelRef model) {
                unblamed.add(key.id());
                pool.liftCooldown(key, model);
            }
        });
        Exit a = exits.all().get(0);
        Exit b = exits.all().get(1);
        List<ApiKey> onA = pool.keys().stream().filter(k -> exits.pinned(k) == a).toList();
        assertThat(onA.size()).isGreaterThanOrEqualTo(2);
        exits.succeeded(b, now.get());

        for (int i = 0; i < onA.size(); i++) {
            ApiKey k = onA.get(i);
            pool.record(k, m, new Verdict(VerdictKind.RATE_LIMIT, 30_000, "429"), 10);
            boolean exitLimit = exits.rateLimited(a, k, m);
            assertThat(exitLimit).as("after %d of %d keys", i + 1, onA.size()).isEqualTo(i == onA.size() - 1);
            now.addAndGet(100);
        }

        assertThat(a.state(now.get())).isEqualTo(Exit.State.COOLING);
        assertThat(a.failures(Exit.Failure.RATE_LIMIT)).isEqualTo(1);
        assertThat(unblamed).containsExactlyInAnyOrderElementsOf(onA.stream().map(ApiKey::id).toList());
        for (ApiKey k : onA) {
            assertThat(pool.cooldownUntil(k, m)).isLessThanOrEqualTo(now.get());
            assertThat(exits.route(k, now.get())).isSameAs(b); // move (the default)
        }
        now.addAndGet(60_000);
        assertThat(a.state(now.get())).isEqualTo(Exit.State.HEALTHY);
        assertThat(exits.route(onA.get(0), now.get())).isSameAs(a);
    }

    @Test
    void waitingKeysOfACoolingExitHaveNoExit() {
        KeyPool pool = pool(keys(12));
        Exits exits = exits(pool, true, "http://a:1", "http://b:2");
        ModelRef m = pool.model("gemini-2.5-flash");
        Exit a = exits.all().get(0);
        exits.succeeded(null, now.get()); // the direct path served: "elsewhere" too
        List<ApiKey> onA = pool.keys().stream().filter(k -> exits.pinned(k) == a).toList();
        onA.forEach(k -> exits.rateLimited(a, k, m));

        assertThat(a.state(now.get())).isEqualTo(Exit.State.COOLING);
        assertThat(exits.route(onA.get(0), now.get())).isSameAs(Exits.NONE);
    }

    @Test
    void fourTwentyNinesOnEveryExitAtOnceAreTheKeysNotAnExits() {
        KeyPool pool = pool(keys(12));
        Exits exits = exits(pool, false, "http://a:1", "http://b:2");
        ModelRef m = pool.model("gemini-2.5-flash");
        Exit a = exits.all().get(0);
        // nothing served elsewhere within the window
        exits.succeeded(exits.all().get(1), now.get() - 20_000);

        for (ApiKey k : pool.keys()) {
            if (exits.pinned(k) == a) {
                assertThat(exits.rateLimited(a, k, m)).isFalse();
            }
        }
        assertThat(a.state(now.get())).isEqualTo(Exit.State.HEALTHY);
    }

    @Test
    void oneKeyAloneOnAnExitIsNeverAnExitLimit() {
        KeyPool pool = pool(keys(1));
        Exits exits = exits(pool, false, "http://a:1", "http://b:2");
        ApiKey k = pool.keys().get(0);
        Exit pinned = exits.pinned(k);
        exits.succeeded(null, now.get());

        assertThat(exits.rateLimited(pinned, k, pool.model("m"))).isFalse();
    }

    @Test
    void aLocationRefusalKeepsTheExitOutUntilItsRecheck() {
        KeyPool pool = pool(keys(8));
        Exits exits = exits(pool, false, "http://a:1", "http://b:2");
        Exit a = exits.all().get(0);

        exits.locationRefused(a);
        exits.recovered(a); // a tunnel that opens says nothing about the country

        assertThat(a.state(now.get())).isEqualTo(Exit.State.FAILING);
        assertThat(exits.failing()).isEmpty(); // not the background check's to clear
        assertThat(pins(pool, exits).values()).containsOnly("http://b:2");
        now.addAndGet(Exits.LOCATION_RECHECK.toMillis());
        assertThat(a.state(now.get())).isEqualTo(Exit.State.HEALTHY);

        // given another chance, it refuses the tunnel now: failing until the background check finds it good
        exits.failed(a, Exit.Failure.REFUSED);
        now.addAndGet(Exits.LOCATION_RECHECK.toMillis());
        assertThat(a.state(now.get())).isEqualTo(Exit.State.FAILING);
        assertThat(exits.failing()).containsExactly(a);
    }
}
