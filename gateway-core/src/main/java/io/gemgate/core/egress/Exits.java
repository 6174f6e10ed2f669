package io.gemgate.core.egress;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.ModelRef;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The exits to the upstream and which key uses which.
 *
 * <p><b>Pinning.</b> A key without its own {@code proxy=} is pinned to one exit of {@code upstream.proxies} by
 * rendezvous (highest random weight) hashing of the key's id and each exit's id: every gateway, after every restart,
 * pins a key to the same exit, and adding or removing an exit moves only the keys that exit gains or loses. While
 * the pinned exit is failing (or cooling, with {@code upstream.exitCooling: move}) the key uses the exit with the next
 * highest weight that serves, and goes back when its own is healthy again.
 *
 * <p><b>Exit verdicts, apart from key verdicts.</b> A refused, timed-out or dropped tunnel fails the exit, never the
 * key ({@link #failed}); a background check ({@link #failing()}) finds it good again. When every active key pinned to
 * an exit answers 429 within {@code upstream.exitRateLimitWindow} while another exit (or the direct path) served in
 * that window, the exit is rate-limited as one ({@link #rateLimited}): it cools for {@code upstream.exitCooldown} and
 * the 429s of its keys are taken back ({@link Listener#unblame}). Google's "User location is not supported" fails
 * the exit for {@link #LOCATION_RECHECK} ({@link #locationRefused}).
 *
 * <p>Thread-safe. {@link #route} is lock-free and allocation-free: one pass over the ring.
 */
public final class Exits {
    /** How long an exit Google refused for its location stays out before it is given another chance. */
    public static final Duration LOCATION_RECHECK = Duration.ofMinutes(10);
    /** {@link #route}'s answer when the key has no exit that may serve now (never null-confused with direct). */
    public static final Exit NONE = new Exit(-1, new ProxySpec(ProxySpec.Scheme.HTTP, "none.invalid", 1, null, null),
            false);

    /** Told of what the exits decide; called on the deciding thread (an event loop): keep it short. */
    public interface Listener {
        /** The exit's state changed. */
        default void stateChanged(Exit exit, Exit.Status status) {
        }

        /** The key's 429 for the model was its exit's rate limit: end the cooldown it caused. */
        default void unblame(ApiKey key, ModelRef model) {
        }
    }

    /**
     * The egress settings.
     *
     * @param proxies         {@code upstream.proxies}: the ring; empty: direct
     * @param checkInterval   how often failing exits are checked ({@code upstream.exitCheckInterval})
     * @param rateLimitWindow 429s of all an exit's keys within this are the exit's ({@code upstream.exitRateLimitWindow})
     * @param cooldown        how long a rate-limited exit cools ({@code upstream.exitCooldown})
     * @param keysWait        true: keys of a cooling exit wait for it; false: they move to the next exit
     *                        ({@code upstream.exitCooling})
     */
    public record Settings(List<ProxySpec> proxies, Duration checkInterval, Duration rateLimitWindow,
                           Duration cooldown, boolean keysWait) {
        public Settings {
            proxies = List.copyOf(requireNonNull(proxies, "proxies"));
            requireNonNull(checkInterval, "checkInterval");
            requireNonNull(rateLimitWindow, "rateLimitWindow");
            requireNonNull(cooldown, "cooldown");
        }

        /** No proxies: every key goes direct. */
        public static Settings direct() {
            return new Settings(List.of(), Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(60),
                    false);
        }
    }

    private final Settings settings;
    private final LongSupplier clock;
    private final Supplier<List<ApiKey>> keys;
    private final Exit[] ring;
    /** Every exit, ring first, then keys' own proxies as they appear; append-only, index = {@link Exit#index()}. */
    private volatile Exit[] all;
    private final Map<String, Exit> byId = new ConcurrentHashMap<>();
    /** Keys with their own proxy, to their exit: found by identity, no string built per request. */
    private final Map<ApiKey, Exit> ownExit = new ConcurrentHashMap<>();
    /** Epoch millis of the last 2xx that went direct (no exit), for telling exit limits apart. */
    private volatile long directLastSuccess;
    /** Per exit index: the keys that answered 429 through it lately. Guarded by itself. */
    private final Map<Integer, Map<ApiKey, Blame>> blames = new HashMap<>();
    private volatile Listener listener = new Listener() { };

    private record Blame(ModelRef model, long at) {
    }

    /**
     * @param keys the pool's keys now (for counting the keys pinned to an exit)
     */
    public Exits(Settings settings, Supplier<List<ApiKey>> keys, LongSupplier clock) {
        this.settings = requireNonNull(settings, "settings");
        this.keys = requireNonNull(keys, "keys");
        this.clock = requireNonNull(clock, "clock");
        List<ProxySpec> proxies = settings.proxies();
        Exit[] r = new Exit[proxies.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = new Exit(i, proxies.get(i), true);
            byId.put(proxies.get(i).id(), r[i]);
        }
        this.ring = r;
        this.all = r.clone();
    }

    public Settings settings() {
        return settings;
    }

    public void listener(Listener l) {
        this.listener = requireNonNull(l, "listener");
    }

    /**
     * True when there is no {@code upstream.proxies} and no key's own proxy met so far: a key without
     * {@link ApiKey#proxySpec()} then goes direct without {@link #route} (one volatile read on the hot path).
     */
    public boolean isDirectOnly() {
        return all.length == 0;
    }

    /** Every exit: the ring's, then the keys' own (those of keys added since included). Not for the hot path. */
    public List<Exit> all() {
        for (ApiKey k : keys.get()) {
            if (k.proxySpec() != null) {
                ownExit(k);
            }
        }
        return List.of(all);
    }

    /** The exit with this index ({@link Exit#index()}). */
    public Exit get(int index) {
        return all[index];
    }

    // ------------------------------------------------------------------------------------------------- routing

    /**
     * The exit a request with key {@code k} goes through now.
     *
     * @return null: direct; {@link #NONE}: no exit may carry this key now (its own proxy is failing, or every exit of
     *         the ring is, or its pinned exit cools and keys wait); else the exit
     */
    public Exit route(ApiKey k, long nowMillis) {
        if (k.proxySpec() != null) {
            Exit own = ownExit(k);
            return own.isUsable(nowMillis) ? own : NONE;
        }
        Exit[] r = ring;
        if (r.length == 0 || k.isDirect()) {
            return null;
        }
        long h = k.routeHash();
        Exit best = null;
        long bestScore = 0;
        Exit bestUsable = null;
        long bestUsableScore = 0;
        for (Exit e : r) {
            long score = mix(h ^ e.idHash());
            if (best == null || Long.compareUnsigned(score, bestScore) > 0) {
                best = e;
                bestScore = score;
            }
            if (e.isUsable(nowMillis) && (bestUsable == null || Long.compareUnsigned(score, bestUsableScore) > 0)) {
                bestUsable = e;
                bestUsableScore = score;
            }
        }
        if (best == bestUsable) {
            return best;
        }
        if (settings.keysWait() && best.status().state() == Exit.State.COOLING) {
            return NONE;
        }
        return bestUsable == null ? NONE : bestUsable;
    }

    /** The exit the key is pinned to, whatever its health: null for direct. */
    public Exit pinned(ApiKey k) {
        if (k.proxySpec() != null) {
            return ownExit(k);
        }
        if (ring.length == 0 || k.isDirect()) {
            return null;
        }
        long h = k.routeHash();
        Exit best = null;
        long bestScore = 0;
        for (Exit e : ring) {
            long score = mix(h ^ e.idHash());
            if (best == null || Long.compareUnsigned(score, bestScore) > 0) {
                best = e;
                bestScore = score;
            }
        }
        return best;
    }

    /** The keys pinned to the exit now (whatever their state). */
    public int pinnedKeys(Exit e) {
        int n = 0;
        for (ApiKey k : keys.get()) {
            if (pinned(k) == e) {
                n++;
            }
        }
        return n;
    }

    private Exit ownExit(ApiKey k) {
        Exit e = ownExit.get(k);
        return e != null ? e : ownExit.computeIfAbsent(k, this::register);
    }

    private Exit register(ApiKey k) {
        ProxySpec p = k.proxySpec();
        return byId.computeIfAbsent(p.id(), id -> {
            synchronized (this) {
                Exit[] a = all;
                Exit e = new Exit(a.length, p, false);
                Exit[] grown = Arrays.copyOf(a, a.length + 1);
                grown[a.length] = e;
                all = grown;
                return e;
            }
        });
    }

    // ------------------------------------------------------------------------------------------------ verdicts

    /** A request goes out through the exit (null: direct, not counted). */
    public void sent(Exit e) {
        if (e != null) {
            e.countRequest();
        }
    }

    /** A 2xx came back through the exit (null: direct). One volatile store; nothing when there are no exits. */
    public void succeeded(Exit e, long nowMillis) {
        if (e != null) {
            if (e.lastSuccess != nowMillis) {
                e.lastSuccess = nowMillis;
            }
        } else if (ring.length > 0 && directLastSuccess != nowMillis) {
            directLastSuccess = nowMillis;
        }
    }

    /** The exit refused, timed out or dropped the tunnel: it is failing until {@link #recovered}. */
    public void failed(Exit e, Exit.Failure reason) {
        e.countFailure(reason);
        long now = clock.getAsLong();
        // The state as it is now: a location refusal whose recheck time passed counts as healthy, and fails again.
        if (e.state(now) != Exit.State.FAILING || e.status().until() != 0) {
            change(e, new Exit.Status(Exit.State.FAILING, 0, reason, now));
        }
    }

    /** Google refused the exit's location: out for {@link #LOCATION_RECHECK}, then tried again. */
    public void locationRefused(Exit e) {
        e.countFailure(Exit.Failure.LOCATION);
        long now = clock.getAsLong();
        change(e, new Exit.Status(Exit.State.FAILING, now + LOCATION_RECHECK.toMillis(), Exit.Failure.LOCATION, now));
    }

    /** A background check reached the upstream through the exit: it serves again (unless it is cooling). */
    public void recovered(Exit e) {
        Exit.Status s = e.status();
        if (s.state() == Exit.State.FAILING && s.reason() != Exit.Failure.LOCATION) {
            change(e, Exit.Status.HEALTHY);
        }
    }

    /** The failing exits a background check should try (a location refusal waits for its own end). */
    public List<Exit> failing() {
        List<Exit> out = new ArrayList<>();
        for (Exit e : all) {
            Exit.Status s = e.status();
            if (s.state() == Exit.State.FAILING && s.reason() != Exit.Failure.LOCATION) {
                out.add(e);
            }
        }
        return out;
    }

    /**
     * A per-minute 429 came back through the exit with key {@code k}. Decides whether it is the exit's rate limit:
     * every active key pinned to the exit (at least two) answered 429 within the window, while another exit or the
     * direct path had a success in it. Then the exit cools as one and the keys' earlier 429s are taken back.
     *
     * @return true when the exit is cooling (now or already): the 429 is not the key's
     */
    public boolean rateLimited(Exit e, ApiKey k, ModelRef model) {
        long now = clock.getAsLong();
        Exit.Status s = e.status();
        if (s.state() == Exit.State.COOLING && s.until() > now) {
            return true; // a request that left before the exit cooled
        }
        long window = settings.rateLimitWindow().toMillis();
        List<Map.Entry<ApiKey, Blame>> toUnblame;
        synchronized (blames) {
            Map<ApiKey, Blame> m = blames.computeIfAbsent(e.index(), i -> new HashMap<>());
            m.put(k, new Blame(model, now));
            for (Iterator<Blame> it = m.values().iterator(); it.hasNext(); ) {
                if (it.next().at() < now - window) {
                    it.remove();
                }
            }
            int active = 0;
            for (ApiKey key : keys.get()) {
                if (key.isEnabled() && !key.isRemoved() && !key.isInvalid() && pinned(key) == e) {
                    active++;
                }
            }
            if (active < 2 || m.size() < active || !servedElsewhere(e, now - window)) {
                return false;
            }
            toUnblame = new ArrayList<>(m.entrySet());
            m.clear();
        }
        e.countFailure(Exit.Failure.RATE_LIMIT);
        change(e, new Exit.Status(Exit.State.COOLING, now + settings.cooldown().toMillis(), Exit.Failure.RATE_LIMIT,
                now));
        Listener l = listener;
        for (Map.Entry<ApiKey, Blame> b : toUnblame) {
            l.unblame(b.getKey(), b.getValue().model());
        }
        return true;
    }

    private boolean servedElsewhere(Exit e, long since) {
        if (directLastSuccess >= since && directLastSuccess > 0) {
            return true;
        }
        for (Exit o : all) {
            if (o != e && o.lastSuccess >= since && o.lastSuccess > 0) {
                return true;
            }
        }
        return false;
    }

    private void change(Exit e, Exit.Status s) {
        e.status(s);
        listener.stateChanged(e, s);
    }

    /** A 64-bit finalizer (the one of SplitMix64): spreads the bits of a key hash xor an exit hash. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
