package io.gemgate.server.shared;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.tokens.Admission;
import io.gemgate.core.tokens.TokenLease;
import io.gemgate.core.tokens.TokenLimiter;
import io.gemgate.core.tokens.TokenLimits;
import io.gemgate.core.tokens.TokenRegistry;
import io.gemgate.core.tokens.UserToken;
import io.gemgate.server.GatewayContext;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Makes the user tokens' limits hold across every gateway of a prefix (README, "Limits across gateways") without a
 * Redis round trip per request: each gateway leases a share of each limit from Redis ({@link RedisLayout#LEASE_TOKEN},
 * one atomic script call per token and renewal), spends it in {@link TokenLimiter} from local memory
 * ({@link TokenLease}), renews it ahead of need on the {@link LeaseEngine}'s thread, and gives back what it did not
 * use.
 *
 * <h2>Shares</h2>
 * <ul>
 *   <li>Requests (per minute and per day): a grant of units, usable for {@link #LIFE} and counted by Redis toward the
 *       minute for 60 s + {@link #LIFE} from the moment it was granted. The size follows the gateway's own rate, enough
 *       for {@link #TARGET_SECONDS} of its traffic, and is at most {@code limit / (4 * gateways)}; the next grant is
 *       asked when less than half a grant is left. Unused units go back when the grant's life ends, or after
 *       {@link #IDLE} without a request.</li>
 *   <li>Tokens per day: an allowance sized the same way from the tokens reported; tokens used beyond it are reported
 *       as a debt; the rest goes back when the token is idle.</li>
 *   <li>Concurrency: slots held by this gateway in a hash with a lifetime ({@link #SLOT_TTL}, refreshed while held),
 *       so that the slots of a gateway killed with SIGKILL come free by themselves.</li>
 * </ul>
 * Before the first answer, or while a grant is on its way, a gateway admits at most {@link TokenLimiter#borrow}
 * units the store does not know of yet; they are reported with the next call. That is the whole worst-case
 * overshoot: {@code gateways * borrow} per minute, per day, and in concurrency (README, "Limits across gateways").
 *
 * <h2>Redis away</h2>
 * The limiter switches to {@link TokenLimiter.Sharing#SPLIT}: each gateway allows its part of each limit (the limit
 * divided by the gateways last seen), on its own counters; leasing resumes when Redis answers.
 *
 * <p>Threads: {@link #asked} is called on event loops and only queues; everything else runs on the leaser thread.
 */
final class TokenLeases implements LeaseEngine.Ledger {
    /** A grant is usable this long after Redis granted it. */
    static final long LIFE = 10_000;
    /** Redis counts a grant toward the minute this long from its second: 60 s, its life, and a second of margin. */
    static final long SPAN_SECONDS = 60 + LIFE / 1000 + 1;
    /**
     * Shares of a token without a request for this long go back, and are no longer renewed. Until then a share that
     * ends is renewed (one call per {@link #LIFE} and token), so that a client that pauses finds one waiting.
     */
    static final long IDLE = 30_000;
    /** Shares are sized to last about this long at the gateway's current rate. */
    static final double TARGET_SECONDS = 2.0;
    /** The smallest share of requests (when the limit allows it): a new client's first burst needs no second call. */
    static final long MIN_UNITS = 8;
    /** Concurrency slots held by a gateway that stopped refreshing them come free after this. */
    static final long SLOT_TTL = 15_000;
    /** A token without a request and without a share for this long is no longer looked at. */
    private static final long FORGET = 60_000;
    private static final LeaseEngine.Script SCRIPT = LeaseEngine.Script.of(RedisLayout.LEASE_TOKEN);

    private final GatewayContext gw;
    private final TokenRegistry tokens;
    private final TokenLimiter limiter;
    private final RedisLayout layout;
    private final String instance;
    private final LeaseEngine engine;
    private final ConcurrentLinkedQueue<UserToken> queue = new ConcurrentLinkedQueue<>();

    // Leaser thread only.
    private final Map<String, Book> books = new HashMap<>();

    /** The leaser's notes on one token: its rates, what was last asked. */
    private static final class Book {
        final String id;
        double requestRate;
        double tokenRate;
        long lastLook;
        long slotsRefreshed;
        long lastUse;
        int peakInFlight;

        Book(String id, long now) {
            this.id = id;
            this.lastLook = now;
            this.lastUse = now;
        }
    }

    TokenLeases(GatewayContext gw, RedisLayout layout, String instance, LeaseEngine engine) {
        this.gw = requireNonNull(gw, "gw");
        this.tokens = gw.tokens();
        this.limiter = gw.limiter();
        this.layout = requireNonNull(layout, "layout");
        this.instance = requireNonNull(instance, "instance");
        this.engine = requireNonNull(engine, "engine");
        limiter.leaseListener(this::asked);
    }

    /** A token runs low (or was refused for want of a share): look at it now. Any thread; no I/O. */
    private void asked(UserToken t) {
        queue.add(t);
        engine.wake();
    }

    @Override
    public void sharing(boolean leased, int gateways) {
        limiter.sharing(leased ? TokenLimiter.Sharing.LEASED : TokenLimiter.Sharing.SPLIT, gateways);
    }

    /** Redis lost its data: every share held is void (its counts went with it). */
    @Override
    public void reset() {
        for (Book b : books.values()) {
            tokens.get(b.id).ifPresent(t -> t.lease().reset());
        }
    }

    @Override
    public void closed() {
        limiter.leaseListener(null);
    }

    // ------------------------------------------------------------------------------------------------ the leaser

    private record Pending(Book book, TokenLease lease, TokenLease.Call call, TokenLimits limits, long second) {
    }

    @Override
    public void round(long now, int g, LeaseEngine.Calls calls) {
        for (UserToken t; (t = queue.poll()) != null;) {
            books.computeIfAbsent(t.id(), id -> new Book(id, now));
        }
        long second = Math.floorDiv(now, 1000L);
        for (Iterator<Book> it = books.values().iterator(); it.hasNext();) {
            Book b = it.next();
            Optional<UserToken> found = tokens.get(b.id);
            TokenLimits l = found.map(UserToken::limits).orElse(TokenLimits.unlimited());
            if (found.isEmpty()) {
                it.remove(); // revoked: what it held is counted until it ends, no less
                continue;
            }
            TokenLease lease = found.get().lease();
            int inFlight = lease.inFlight();
            boolean idle = !l.hasRateLimits()
                    || inFlight == 0 && now - Math.max(b.lastUse, found.get().lastUsedMillis()) > IDLE;
            TokenLease.Call c = lease.prepare(now, idle);
            if (c.lastUse > b.lastUse) {
                b.lastUse = c.lastUse;
            }
            double dt = Math.max(0.05, (now - b.lastLook) / 1000.0);
            b.lastLook = now;
            b.requestRate = rate(b.requestRate, (c.spentRequests + c.debtRequests + c.wantingRequests) / dt, dt);
            b.tokenRate = rate(b.tokenRate, (c.spentTokens + c.debtTokens) / dt, dt);

            boolean perRequest = l.requestsPerMinute() != TokenLimits.UNLIMITED
                    || l.requestsPerDay() != TokenLimits.UNLIMITED;
            long maxUnits = Math.max(1, Math.min(unlimitedAsMax(l.requestsPerMinute()),
                    unlimitedAsMax(l.requestsPerDay())) / (4L * g));
            long units = clamp((long) Math.ceil(b.requestRate * TARGET_SECONDS), Math.min(MIN_UNITS, maxUnits),
                    maxUnits);
            long wantUnits = perRequest && !idle && c.requestsLeft < Math.max(1, units / 2)
                    && c.grants < TokenLease.RING ? units : 0;

            boolean perToken = l.tokensPerDay() != TokenLimits.UNLIMITED;
            long maxTokens = Math.max(1, l.tokensPerDay() / (4L * g));
            long tokenShare = clamp((long) Math.ceil(b.tokenRate * TARGET_SECONDS), Math.min(1000, maxTokens),
                    maxTokens);
            long wantTokens = perToken && !idle && c.tokensLeft < Math.max(1, tokenShare / 2) ? tokenShare : 0;

            boolean perSlot = l.maxConcurrency() != TokenLimits.UNLIMITED;
            int slotStep = TokenLimiter.borrow(l.maxConcurrency(), g);
            int wantSlots = c.slots;
            boolean refresh = c.slots > 0 && now - b.slotsRefreshed > SLOT_TTL / 3;
            b.peakInFlight = Math.max(b.peakInFlight, inFlight);
            if (perSlot) {
                if (idle && inFlight == 0) {
                    wantSlots = 0;
                } else if (inFlight + slotStep / 2 >= c.slots) {
                    // Nearly all in use: hold twice as many (a burst needs no call per request).
                    wantSlots = (int) Math.min(l.maxConcurrency(), Math.max(2L * c.slots, inFlight + slotStep));
                } else if (refresh) {
                    // Shrink only now and then, to twice the peak since: in-flight counts swing request by request.
                    wantSlots = Math.min(c.slots, Math.max(2 * b.peakInFlight, slotStep));
                }
            }
            boolean slotsDue = perSlot && (wantSlots > c.slots && c.slots < l.maxConcurrency() || wantSlots < c.slots
                    || refresh);
            if (slotsDue) {
                b.peakInFlight = inFlight;
            }

            boolean send = wantUnits > 0 || wantTokens > 0 || slotsDue || c.returnCount > 0 || c.debtRequests > 0
                    || c.debtTokens > 0 || c.returnTokens > 0;
            if (!send) {
                if (idle && c.grants == 0 && c.slots == 0 && now - b.lastUse > FORGET) {
                    it.remove();
                }
                continue;
            }
            String[] keys = {layout.lease(b.id), layout.leaseSlots(b.id)};
            String[] args = args(now, l, wantUnits, wantTokens, perSlot ? wantSlots : 0, c);
            if (perSlot) {
                b.slotsRefreshed = now;
            }
            Pending p = new Pending(b, lease, c, l, second);
            calls.add(SCRIPT, keys, args, a -> apply(p, a, now, g), () -> lease.failed(c));
        }
    }

    private void apply(Pending p, List<Object> a, long now, int g) {
        long units = number(a, 0);
        long tokensGranted = number(a, 1);
        int slots = (int) number(a, 2);
        long reqBlocked = number(a, 3);
        Admission.Outcome by = number(a, 4) == 2 ? Admission.Outcome.REQUESTS_PER_DAY
                : Admission.Outcome.REQUESTS_PER_MINUTE;
        long tokBlocked = number(a, 5);
        boolean full = number(a, 6) == 1;
        TokenLimits l = p.limits();
        long maxUnits = Math.max(1, Math.min(unlimitedAsMax(l.requestsPerMinute()),
                unlimitedAsMax(l.requestsPerDay())) / (4L * g));
        long low = Math.max(1, clamp((long) Math.ceil(p.book().requestRate * TARGET_SECONDS),
                Math.min(MIN_UNITS, maxUnits), maxUnits) / 2);
        long maxTokens = Math.max(1, l.tokensPerDay() / (4L * g));
        long lowTokens = Math.max(1, clamp((long) Math.ceil(p.book().tokenRate * TARGET_SECONDS),
                Math.min(1000, maxTokens), maxTokens) / 2);
        p.lease().granted(now, p.second(), units, LIFE, tokensGranted, slots, reqBlocked, by, tokBlocked, full, low,
                lowTokens);
    }

    // --------------------------------------------------------------------------------------------------- helpers

    /** {@link RedisLayout#LEASE_TOKEN}'s arguments. */
    private String[] args(long now, TokenLimits l, long wantUnits, long wantTokens, int wantSlots, TokenLease.Call c) {
        String[] args = new String[17 + 2 * c.returnCount];
        args[0] = Long.toString(now);
        args[1] = Long.toString(Math.floorDiv(now, 1000L));
        args[2] = Long.toString(SPAN_SECONDS);
        args[3] = Long.toString(gw.pool().calendar().dayStart(now));
        args[4] = Long.toString(gw.pool().calendar().nextReset(now));
        args[5] = Long.toString(l.requestsPerMinute());
        args[6] = Long.toString(l.requestsPerDay());
        args[7] = Long.toString(l.tokensPerDay());
        args[8] = Long.toString(l.maxConcurrency());
        args[9] = instance;
        args[10] = Long.toString(wantUnits);
        args[11] = Long.toString(wantTokens);
        args[12] = Integer.toString(wantSlots);
        args[13] = Long.toString(c.debtRequests);
        args[14] = Long.toString(c.debtTokens);
        args[15] = Long.toString(c.returnTokens);
        args[16] = Long.toString(SLOT_TTL);
        for (int i = 0; i < c.returnCount; i++) {
            args[17 + 2 * i] = Long.toString(c.returns[2 * i]);
            args[18 + 2 * i] = Long.toString(c.returns[2 * i + 1]);
        }
        return args;
    }

    private static double rate(double old, double sample, double dt) {
        double alpha = Math.min(1.0, dt / 2.0); // about two seconds of memory
        return old + alpha * (sample - old);
    }

    private static long unlimitedAsMax(long limit) {
        return limit == TokenLimits.UNLIMITED ? Long.MAX_VALUE : limit;
    }

    private static long clamp(long v, long min, long max) {
        return Math.max(min, Math.min(max, v));
    }

    private static long number(List<Object> a, int i) {
        Object o = i < a.size() ? a.get(i) : null;
        return o instanceof Number n ? n.longValue() : 0;
    }

    /** Gives back what every token holds (the gateway stops). */
    @Override
    public void giveBack(long now, LeaseEngine.Calls calls) {
        for (Book b : books.values()) {
            Optional<UserToken> t = tokens.get(b.id);
            if (t.isEmpty()) {
                continue;
            }
            TokenLease.Call c = t.get().lease().prepare(now, true);
            String[] args = args(now, t.get().limits(), 0, 0, 0, c);
            calls.add(SCRIPT, new String[] {layout.lease(b.id), layout.leaseSlots(b.id)}, args, a -> { }, () -> { });
        }
    }
}
