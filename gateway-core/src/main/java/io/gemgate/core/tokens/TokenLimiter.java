package io.gemgate.core.tokens;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.keys.QuotaCalendar;
import java.time.Instant;

/**
 * Enforces each user token's {@link TokenLimits} and counts its usage.
 *
 * <h2>Per request</h2>
 * <pre>{@code
 * UserToken t = registry.authenticate(presented);          // null: 401 unknown token
 * Admission a = limiter.admit(t, model, now);
 * if (!a.isAccepted()) -> answer a.status(), Retry-After a.retryAfterSeconds() when 429, a.message()
 * ... proxy the request ...
 * limiter.release(t, promptTokens, outputTokens, now);     // exactly once per accepted admission, on every path
 * }</pre>
 *
 * <h2>Rules</h2>
 * Checked in this order, the first failing one answers: disabled (401), expired (401), model not allowed (403),
 * {@code tokensPerDay}, {@code requestsPerDay}, {@code requestsPerMinute}, {@code maxConcurrency} (429). Daily limits
 * come first because their wait is the longest: telling a client to retry in 12 s when the day's quota is gone would
 * only earn it another refusal. Refused requests count toward nothing.
 * <ul>
 *   <li>Requests per minute: a sliding window of 60 one-second buckets, so a client cannot get twice its limit by
 *       straddling a minute boundary, as a fixed window would allow. {@code Retry-After} is the time until enough of
 *       the oldest requests leave the window.</li>
 *   <li>Per day: requests and prompt + output tokens of the quota day of {@link QuotaCalendar} (the same day as the
 *       keys' quotas), cleared lazily by the first request of a new day. {@code Retry-After} is the time to the
 *       reset.</li>
 *   <li>Concurrency: requests admitted and not yet released; {@code Retry-After: 1}.</li>
 * </ul>
 *
 * <h2>Exactness and cost</h2>
 * All checks and increments of one token happen in one critical section on that token's counters (a per-token
 * monitor, held for a few dozen instructions, no allocation, no I/O): under any concurrency a token never gets more
 * than its limits, and never gets less. Tokens do not contend with each other. Accepting allocates nothing; a
 * refusal allocates its {@link Admission}.
 *
 * <h2>Several gateways</h2>
 * With a shared store, {@link #sharing} is {@link Sharing#LEASED}: after the local rules, a request also spends this
 * gateway's share of the limits ({@link TokenLease}), leased in the background; the hot path still does no I/O.
 * While the store is away it is {@link Sharing#SPLIT}: the local rules apply to each gateway's part of the limits.
 *
 * <p>Thread-safe. Counters live with the token ({@link UserToken}), so a revoked token's counters go with it.
 */
public final class TokenLimiter {
    private static final Admission DISABLED =
            new Admission(Admission.Outcome.DISABLED, 0, "token is disabled");

    private final QuotaCalendar calendar;
    /** Most units of a limit one gateway admits before the shared store has answered: see {@link #borrow}. */
    public static final int BORROW_MAX = 4;
    private volatile Sharing sharing = Sharing.LOCAL;
    private volatile int splitBy = 1;
    private volatile java.util.function.Consumer<UserToken> leaseListener;

    /** @param calendar where quota days start and end; use the key pool's */
    public TokenLimiter(QuotaCalendar calendar) {
        this.calendar = requireNonNull(calendar, "calendar");
    }

    /**
     * Decides whether {@code token} may send a request for {@code model} now and, if so, counts it: one more request
     * this minute and today, one more in flight, last used now.
     *
     * @param token     the authenticated token
     * @param model     the model the request names, with or without {@code models/}; {@code null} or {@code "*"}
     *                  when it names none (model lists): then {@code allowedModels} does not apply
     * @param nowMillis epoch millis
     * @return {@link Admission#ACCEPTED}, after which {@link #release} must be called exactly once, or a refusal
     */
    public Admission admit(UserToken token, String model, long nowMillis) {
        TokenLimits l = token.limits();
        if (!token.isEnabled()) {
            return DISABLED;
        }
        if (l.isExpired(nowMillis)) {
            return new Admission(Admission.Outcome.EXPIRED, 0,
                    "token expired at " + Instant.ofEpochMilli(l.expiresAtMillis()));
        }
        if (!l.isModelAllowed(model)) {
            return new Admission(Admission.Outcome.MODEL_NOT_ALLOWED, 0,
                    "model '" + abbreviate(model) + "' is not allowed for this token");
        }
        long day = calendar.dayStart(nowMillis);
        UsageCounters c = token.usage;
        Sharing mode = sharing;
        // Split: the shared store is away; each gateway allows its share of the limits, on its own counters.
        int split = mode == Sharing.SPLIT ? splitBy : 1;
        long tokensPerDay = share(l.tokensPerDay(), split);
        long requestsPerDay = share(l.requestsPerDay(), split);
        int requestsPerMinute = (int) share(l.requestsPerMinute(), split);
        int maxConcurrency = (int) share(l.maxConcurrency(), split);
        Admission.Outcome refused;
        long retryAfter;
        long used;
        long limit;
        boolean ask = false;
        synchronized (c) {
            c.rollDay(day);
            long second = c.advance(Math.floorDiv(nowMillis, 1000L));
            if (tokensPerDay != TokenLimits.UNLIMITED
                    && c.promptTokensToday + c.outputTokensToday >= tokensPerDay) {
                refused = Admission.Outcome.TOKENS_PER_DAY;
                used = c.promptTokensToday + c.outputTokensToday;
                limit = tokensPerDay;
                retryAfter = -1;
            } else if (requestsPerDay != TokenLimits.UNLIMITED && c.requestsToday >= requestsPerDay) {
                refused = Admission.Outcome.REQUESTS_PER_DAY;
                used = c.requestsToday;
                limit = requestsPerDay;
                retryAfter = -1;
            } else if (requestsPerMinute != TokenLimits.UNLIMITED && c.minuteTotal >= requestsPerMinute) {
                refused = Admission.Outcome.REQUESTS_PER_MINUTE;
                used = c.minuteTotal;
                limit = requestsPerMinute;
                retryAfter = c.secondsUntilBelow(requestsPerMinute, nowMillis);
            } else if (maxConcurrency != TokenLimits.UNLIMITED && c.inFlight >= maxConcurrency) {
                refused = Admission.Outcome.MAX_CONCURRENCY;
                used = c.inFlight;
                limit = maxConcurrency;
                retryAfter = 1;
            } else if (mode == Sharing.LEASED && l.hasRateLimits()
                    && (refused = leaseRefusal(l, c.lease, c.inFlight, nowMillis, splitBy)) != null) {
                TokenLease g = c.lease;
                used = -1;
                limit = limitOf(l, refused);
                long until = switch (refused) {
                    case TOKENS_PER_DAY -> g.tokBlockedUntil;
                    case REQUESTS_PER_DAY, REQUESTS_PER_MINUTE -> g.reqBlockedUntil;
                    default -> 0;
                };
                retryAfter = until > nowMillis ? UsageCounters.ceilSeconds(until - nowMillis) : 1;
                if (until <= nowMillis) {
                    g.reqWanting++; // demand the next share must cover
                }
                if (!g.queued) {
                    g.queued = true;
                    ask = true;
                }
            } else {
                c.buckets[UsageCounters.slot(second)]++;
                c.minuteTotal++;
                c.requestsToday++;
                c.totalRequests++;
                c.inFlight++;
                c.lastUsed = nowMillis;
                c.dirty.mark();
                if (mode == Sharing.LEASED && l.hasRateLimits()) {
                    ask = spendLease(l, c.lease, c.inFlight, nowMillis);
                }
                refused = null;
                used = 0;
                limit = 0;
                retryAfter = 0;
            }
        }
        if (ask) {
            askLease(token);
        }
        if (refused == null) {
            return Admission.ACCEPTED;
        }
        if (retryAfter < 0) {
            retryAfter = UsageCounters.ceilSeconds(calendar.nextReset(nowMillis) - nowMillis);
        }
        return used < 0 ? leaseRefusal(refused, limit, retryAfter)
                : refusal(refused, limit, used, retryAfter);
    }

    /**
     * Why the lease refuses a request the local counters admit, or null. Caller holds the counters' lock. Checked in
     * the order of the local rules; a limit the store said is reached refuses until it frees up, and so does one whose
     * few borrowed units (admitted before the store answered) are all spent.
     */
    private static Admission.Outcome leaseRefusal(TokenLimits l, TokenLease g, int inFlight, long now, int gateways) {
        if (l.tokensPerDay() != TokenLimits.UNLIMITED && g.tokLeft <= 0
                && (g.tokBlockedUntil > now || g.tokWaiting >= borrow(l.tokensPerDay(), gateways))) {
            return Admission.Outcome.TOKENS_PER_DAY;
        }
        if ((l.requestsPerDay() != TokenLimits.UNLIMITED || l.requestsPerMinute() != TokenLimits.UNLIMITED)
                && !g.hasUnit(now) && (g.reqBlockedUntil > now
                || g.reqBorrowed >= borrow(Math.min(unsigned(l.requestsPerDay()), unsigned(l.requestsPerMinute())), gateways))) {
            return g.reqBlockedUntil > now ? g.reqBlockedBy
                    : l.requestsPerMinute() != TokenLimits.UNLIMITED ? Admission.Outcome.REQUESTS_PER_MINUTE
                    : Admission.Outcome.REQUESTS_PER_DAY;
        }
        if (l.maxConcurrency() != TokenLimits.UNLIMITED && inFlight >= g.slots
                && (g.concFullUntil > now || inFlight - g.slots >= borrow(l.maxConcurrency(), gateways))) {
            return Admission.Outcome.MAX_CONCURRENCY;
        }
        return null;
    }

    /**
     * Spends what an admitted request takes from the lease. Caller holds the counters' lock and saw
     * {@link #leaseRefusal} return null.
     *
     * @return true when the leaser is to be asked for more (and had not been)
     */
    private static boolean spendLease(TokenLimits l, TokenLease g, int inFlight, long now) {
        boolean low = false;
        g.lastUse = now;
        if (l.requestsPerDay() != TokenLimits.UNLIMITED || l.requestsPerMinute() != TokenLimits.UNLIMITED) {
            if (g.hasUnit(now)) {
                g.spendUnit();
            } else {
                g.reqBorrowed++;
            }
            low = g.reqLeft < g.lowReq || g.reqBorrowed > 0;
        }
        if (l.tokensPerDay() != TokenLimits.UNLIMITED) {
            if (g.tokLeft <= 0) {
                g.tokWaiting++;
            }
            low |= g.tokLeft < g.lowTok;
        }
        if (l.maxConcurrency() != TokenLimits.UNLIMITED) {
            low |= inFlight >= g.slots;
        }
        if (low && !g.queued) {
            g.queued = true;
            return true;
        }
        return false;
    }

    private void askLease(UserToken token) {
        java.util.function.Consumer<UserToken> l = leaseListener;
        if (l != null) {
            l.accept(token);
        }
    }

    /**
     * Units of a limit one gateway may admit before the shared store knows of them: its worst-case overshoot of that
     * limit, {@code clamp(limit / (4 * gateways), 1, }{@value #BORROW_MAX}{@code )}.
     */
    public static int borrow(long limit, int gateways) {
        return (int) Math.max(1, Math.min(BORROW_MAX, limit / (4L * Math.max(1, gateways))));
    }

    private static long unsigned(long limit) {
        return limit == TokenLimits.UNLIMITED ? Long.MAX_VALUE : limit;
    }

    private static long share(long limit, int split) {
        return limit == TokenLimits.UNLIMITED || split <= 1 ? limit : Math.max(1, (limit + split - 1) / split);
    }

    private static Admission leaseRefusal(Admission.Outcome o, long limit, long retryAfterSeconds) {
        return new Admission(o, retryAfterSeconds, o.limit() + " limit of " + limit + " reached across gateways"
                + "; retry in " + formatDelay(retryAfterSeconds));
    }

    /**
     * How the limits are enforced: {@link Sharing#LOCAL} (one gateway, or several each on its own: the default),
     * {@link Sharing#LEASED} (several gateways, each spending a share leased from a shared store: {@link TokenLease}),
     * or {@link Sharing#SPLIT} (the shared store is away: each of {@code gateways} allows its part of every limit).
     *
     * @param gateways the number of gateways sharing the limits: each allows its part in {@link Sharing#SPLIT}, and
     *                 borrows at most {@link #borrow} units in {@link Sharing#LEASED}
     */
    public void sharing(Sharing mode, int gateways) {
        this.splitBy = Math.max(1, gateways);
        this.sharing = requireNonNull(mode, "mode");
    }

    /** The current {@link #sharing} mode. */
    public Sharing sharing() {
        return sharing;
    }

    /**
     * Told (outside any lock, on the admitting thread, at most once until the leaser next looks at the token) when a
     * token's lease runs low; it must only hand the token off. Null: nobody.
     */
    public void leaseListener(java.util.function.Consumer<UserToken> listener) {
        this.leaseListener = listener;
    }

    /** How {@link TokenLimiter} counts with the other gateways. */
    public enum Sharing {
        /** Every gateway counts its own. */
        LOCAL,
        /** Shares leased from a shared store ({@link TokenLease}). */
        LEASED,
        /** The store is away: each gateway allows its part of the limits. */
        SPLIT
    }

    /**
     * Ends a request admitted by {@link #admit}: frees its concurrency slot. Call exactly once per accepted
     * admission, also when the request failed or the client went away. An extra call is ignored rather than letting
     * the in-flight count go negative.
     */
    public void release(UserToken token) {
        UsageCounters c = token.usage;
        synchronized (c) {
            if (c.inFlight > 0) {
                c.inFlight--;
            }
        }
    }

    /**
     * {@link #recordTokens} and {@link #release(UserToken)} in one step: the usual end of a request.
     *
     * @param promptTokens prompt tokens the upstream reported (usageMetadata), 0 if unknown
     * @param outputTokens output tokens (candidates + thoughts), 0 if unknown
     */
    public void release(UserToken token, long promptTokens, long outputTokens, long nowMillis) {
        checkTokens(promptTokens, outputTokens);
        long day = calendar.dayStart(nowMillis);
        UsageCounters c = token.usage;
        synchronized (c) {
            addTokens(c, day, promptTokens, outputTokens);
            if (c.inFlight > 0) {
                c.inFlight--;
            }
        }
    }

    /**
     * Counts tokens toward today's {@code tokensPerDay} without ending the request (a long stream may report as it
     * goes; report each token once). Tokens count in the quota day of {@code nowMillis}.
     *
     * @throws IllegalArgumentException if a count is negative
     */
    public void recordTokens(UserToken token, long promptTokens, long outputTokens, long nowMillis) {
        checkTokens(promptTokens, outputTokens);
        long day = calendar.dayStart(nowMillis);
        UsageCounters c = token.usage;
        synchronized (c) {
            addTokens(c, day, promptTokens, outputTokens);
        }
    }

    /** {@code token}'s usage at {@code nowMillis}. */
    public TokenUsage usage(UserToken token, long nowMillis) {
        long day = calendar.dayStart(nowMillis);
        UsageCounters c = token.usage;
        synchronized (c) {
            c.rollDay(day);
            c.advance(Math.floorDiv(nowMillis, 1000L));
            return new TokenUsage(token.id(), c.dayStart, c.requestsToday, c.promptTokensToday,
                    c.outputTokensToday, c.minuteTotal, c.inFlight, c.lastUsed, c.totalRequests, c.totalTokens);
        }
    }

    private void addTokens(UsageCounters c, long day, long prompt, long output) {
        if (prompt == 0 && output == 0) {
            return;
        }
        if (sharing == Sharing.LEASED) {
            c.lease.tokLeft -= prompt + output; // below 0: used beyond the allowance, reported by the leaser
            c.lease.tokSpent += prompt + output;
        }
        c.rollDay(day);
        c.promptTokensToday += prompt;
        c.outputTokensToday += output;
        c.totalTokens += prompt + output;
        c.dirty.mark();
    }

    private static void checkTokens(long prompt, long output) {
        if (prompt < 0 || output < 0) {
            throw new IllegalArgumentException("tokens: prompt " + prompt + ", output " + output
                    + " (expected: >= 0)");
        }
    }

    private static long limitOf(TokenLimits l, Admission.Outcome o) {
        return switch (o) {
            case TOKENS_PER_DAY -> l.tokensPerDay();
            case REQUESTS_PER_DAY -> l.requestsPerDay();
            case REQUESTS_PER_MINUTE -> l.requestsPerMinute();
            case MAX_CONCURRENCY -> l.maxConcurrency();
            default -> throw new IllegalArgumentException("not a rate limit: " + o);
        };
    }

    private static Admission refusal(Admission.Outcome o, long limit, long used, long retryAfterSeconds) {
        String usedPart = o == Admission.Outcome.TOKENS_PER_DAY ? " (" + used + " used)" : "";
        return new Admission(o, retryAfterSeconds, o.limit() + " limit of " + limit + " reached" + usedPart
                + "; retry in " + formatDelay(retryAfterSeconds));
    }

    private static String abbreviate(String s) {
        return s.length() <= 100 ? s : s.substring(0, 100) + "...";
    }

    /** {@code 12s}, {@code 45m}, {@code 7h 5m}: exact below two minutes, rounded up above. */
    static String formatDelay(long seconds) {
        if (seconds < 120) {
            return seconds + "s";
        }
        long minutes = (seconds + 59) / 60;
        if (minutes < 120) {
            return minutes + "m";
        }
        return minutes / 60 + "h " + minutes % 60 + "m";
    }
}
