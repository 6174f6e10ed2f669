package io.gemgate.server.shared;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.tokens.Admission;
import io.gemgate.core.tokens.TokenLease;
import io.gemgate.core.tokens.TokenLimiter;
import io.gemgate.core.tokens.TokenLimits;
import io.gemgate.core.tokens.TokenRegistry;
import io.gemgate.core.tokens.UserToken;
import io.gemgate.server.GatewayContext;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Makes the user tokens' limits hold across every gateway of a prefix (issue 18) without a Redis round trip per
 * request: each gateway leases a share of each limit from Redis ({@link RedisLayout#LEASE_TOKEN}, one atomic script
 * call per token and renewal), spends it in {@link TokenLimiter} from local memory ({@link TokenLease}), renews it
 * ahead of need on this class's own thread, and gives back what it did not use.
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
 * <p>Threads: {@link #asked} is called on event loops and only queues; everything else runs on the leaser thread,
 * which waits for Lettuce's futures with a timeout and is not an event loop.
 */
final class TokenLeases implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(TokenLeases.class);
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
    /** The leaser looks at the tokens in use this often, and at once when one runs low. */
    static final long TICK_MILLIS = 100;
    /** A token without a request and without a share for this long is no longer looked at. */
    private static final long FORGET = 60_000;
    private static final long COMMAND_TIMEOUT_MILLIS = 3_000;

    private final GatewayContext gw;
    private final TokenRegistry tokens;
    private final TokenLimiter limiter;
    private final RedisLayout layout;
    private final String instance;
    private final Supplier<RedisClusterAsyncCommands<String, String>> redis;
    private final IntSupplier gateways;
    private final String sha;
    private final ScheduledExecutorService thread;
    private final ConcurrentLinkedQueue<UserToken> queue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private final AtomicLong calls = new AtomicLong();
    private volatile boolean closed;

    // Leaser thread only.
    private final Map<String, Book> books = new HashMap<>();
    /** Until the first answer, the limiter splits the limits (by one: each gateway counts its own). */
    private boolean down = true;
    private long lastTry;
    private int lastGateways = 1;

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

    /**
     * @param redis    the commands of the current connection, or null while there is none
     * @param gateways how many gateways share the state now (instances seen), at least 1
     */
    TokenLeases(GatewayContext gw, RedisLayout layout, String instance,
                Supplier<RedisClusterAsyncCommands<String, String>> redis, IntSupplier gateways) {
        this.gw = requireNonNull(gw, "gw");
        this.tokens = gw.tokens();
        this.limiter = gw.limiter();
        this.layout = requireNonNull(layout, "layout");
        this.instance = requireNonNull(instance, "instance");
        this.redis = requireNonNull(redis, "redis");
        this.gateways = requireNonNull(gateways, "gateways");
        this.sha = sha1(RedisLayout.LEASE_TOKEN);
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "gemgate-leases");
            t.setDaemon(true);
            return t;
        });
    }

    void start() {
        limiter.sharing(TokenLimiter.Sharing.SPLIT, 1);
        limiter.leaseListener(this::asked);
        thread.scheduleWithFixedDelay(this::tick, 0, TICK_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Script calls made so far (tests and the sizing figures). */
    long calls() {
        return calls.get();
    }

    /** A token runs low (or was refused for want of a share): look at it now. Any thread; no I/O. */
    private void asked(UserToken t) {
        queue.add(t);
        if (!closed && wakePending.compareAndSet(false, true)) {
            try {
                thread.execute(this::tick);
            } catch (RejectedExecutionException e) {
                // closing
            }
        }
    }

    /** Redis lost its data: every share held is void (its counts went with it). */
    void reset() {
        thread.execute(() -> {
            for (Book b : books.values()) {
                tokens.get(b.id).ifPresent(t -> t.lease().reset());
            }
        });
    }

    // ------------------------------------------------------------------------------------------------ the leaser

    private void tick() {
        wakePending.set(false);
        if (closed) {
            return;
        }
        try {
            long now = gw.now();
            for (UserToken t; (t = queue.poll()) != null;) {
                books.computeIfAbsent(t.id(), id -> new Book(id, now));
            }
            if (down) {
                if (now - lastTry < 1000) {
                    return;
                }
                lastTry = now;
                tryUp();
                if (down) {
                    limiter.sharing(TokenLimiter.Sharing.SPLIT, Math.max(1, gateways.getAsInt()));
                    return;
                }
            }
            int g = Math.max(1, gateways.getAsInt());
            if (g != lastGateways) {
                lastGateways = g;
                limiter.sharing(TokenLimiter.Sharing.LEASED, g);
            }
            if (!books.isEmpty()) {
                round(now);
            }
        } catch (RuntimeException e) {
            log.warn("token leases: {}", e.toString());
        }
    }

    /** While Redis is away: notice its return. */
    private void tryUp() {
        RedisClusterAsyncCommands<String, String> r = redis.get();
        if (r == null) {
            return;
        }
        try {
            await(r.ping());
            up();
        } catch (Exception e) {
            // still away
        }
    }

    private record Pending(Book book, TokenLease lease, TokenLease.Call call, TokenLimits limits, long second,
                           RedisFuture<List<Object>> answer, String[] keys, String[] args) {
    }

    private void round(long now) {
        int g = Math.max(1, gateways.getAsInt());
        RedisClusterAsyncCommands<String, String> r = redis.get();
        List<Pending> pending = new ArrayList<>();
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
            if (r == null) {
                lease.failed(c);
                continue;
            }
            String[] keys = {layout.lease(b.id), layout.leaseSlots(b.id)};
            String[] args = args(now, l, wantUnits, wantTokens, perSlot ? wantSlots : 0, c);
            if (perSlot) {
                b.slotsRefreshed = now;
            }
            calls.incrementAndGet();
            RedisFuture<List<Object>> f = r.evalsha(sha, ScriptOutputType.MULTI, keys, args);
            pending.add(new Pending(b, lease, c, l, second, f, keys, args));
        }
        boolean failed = false;
        for (Pending p : pending) {
            List<Object> a;
            try {
                a = answer(r, p);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.lease().failed(p.call());
                return;
            } catch (Exception e) {
                p.lease().failed(p.call());
                if (!failed) {
                    failed = true;
                    down(e);
                }
                continue;
            }
            apply(p, a, now, g);
        }
        if (!failed && !pending.isEmpty()) {
            up();
        }
    }

    /** The script's answer; loads the script when this Redis does not know it yet (EVAL caches it). */
    private List<Object> answer(RedisClusterAsyncCommands<String, String> r, Pending p) throws Exception {
        try {
            return await(p.answer());
        } catch (RedisNoScriptException e) {
            return await(r.eval(RedisLayout.LEASE_TOKEN, ScriptOutputType.MULTI, p.keys(), p.args()));
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

    private void up() {
        if (down || limiter.sharing() != TokenLimiter.Sharing.LEASED) {
            if (down) {
                log.info("token limits: leasing shares from Redis again");
            }
            down = false;
        }
        limiter.sharing(TokenLimiter.Sharing.LEASED, Math.max(1, gateways.getAsInt()));
    }

    private void down(Exception e) {
        int g = Math.max(1, gateways.getAsInt());
        limiter.sharing(TokenLimiter.Sharing.SPLIT, g);
        if (!down) {
            down = true;
            log.debug("token limits: Redis unreachable ({}); each of {} gateway(s) allows its part of each limit",
                    e.toString(), g);
        }
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

    private static <T> T await(RedisFuture<T> f) throws Exception {
        try {
            return f.get(COMMAND_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception c ? c : e;
        } catch (TimeoutException e) {
            f.cancel(true);
            throw e;
        }
    }

    static String sha1(String script) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1")
                    .digest(script.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Gives back what every token holds (one last round, a few seconds at most) and stops. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        var last = thread.submit(() -> {
            RedisClusterAsyncCommands<String, String> r = redis.get();
            if (r == null || down) {
                return;
            }
            long now = gw.now();
            for (Book b : books.values()) {
                b.lastUse = Long.MIN_VALUE / 2;
            }
            try {
                giveBack(r, now);
            } catch (Exception e) {
                log.debug("token leases not given back: {}", e.toString());
            }
        });
        closed = true;
        try {
            last.get(COMMAND_TIMEOUT_MILLIS + 1000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.debug("token leases not given back: {}", e.toString());
        }
        limiter.leaseListener(null);
        thread.shutdownNow();
    }

    private void giveBack(RedisClusterAsyncCommands<String, String> r, long now) {
        List<RedisFuture<List<Object>>> fs = new ArrayList<>();
        for (Book b : books.values()) {
            Optional<UserToken> t = tokens.get(b.id);
            if (t.isEmpty()) {
                continue;
            }
            TokenLease.Call c = t.get().lease().prepare(now, true);
            String[] args = args(now, t.get().limits(), 0, 0, 0, c);
            fs.add(r.eval(RedisLayout.LEASE_TOKEN, ScriptOutputType.MULTI,
                    new String[] {layout.lease(b.id), layout.leaseSlots(b.id)}, args));
        }
        for (RedisFuture<List<Object>> f : fs) {
            try {
                await(f);
            } catch (Exception e) {
                log.debug("token lease not given back: {}", e.toString());
            }
        }
    }
}
