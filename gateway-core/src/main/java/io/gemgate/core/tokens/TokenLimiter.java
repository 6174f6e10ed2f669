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
 * <p>Thread-safe. Counters live with the token ({@link UserToken}), so a revoked token's counters go with it.
 */
public final class TokenLimiter {
    private static final Admission DISABLED =
            new Admission(Admission.Outcome.DISABLED, 0, "token is disabled");

    private final QuotaCalendar calendar;

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
        Admission.Outcome refused;
        long retryAfter;
        long used;
        synchronized (c) {
            c.rollDay(day);
            long second = c.advance(Math.floorDiv(nowMillis, 1000L));
            if (l.tokensPerDay() != TokenLimits.UNLIMITED
                    && c.promptTokensToday + c.outputTokensToday >= l.tokensPerDay()) {
                refused = Admission.Outcome.TOKENS_PER_DAY;
                used = c.promptTokensToday + c.outputTokensToday;
                retryAfter = -1;
            } else if (l.requestsPerDay() != TokenLimits.UNLIMITED && c.requestsToday >= l.requestsPerDay()) {
                refused = Admission.Outcome.REQUESTS_PER_DAY;
                used = c.requestsToday;
                retryAfter = -1;
            } else if (l.requestsPerMinute() != TokenLimits.UNLIMITED && c.minuteTotal >= l.requestsPerMinute()) {
                refused = Admission.Outcome.REQUESTS_PER_MINUTE;
                used = c.minuteTotal;
                retryAfter = c.secondsUntilBelow(l.requestsPerMinute(), nowMillis);
            } else if (l.maxConcurrency() != TokenLimits.UNLIMITED && c.inFlight >= l.maxConcurrency()) {
                refused = Admission.Outcome.MAX_CONCURRENCY;
                used = c.inFlight;
                retryAfter = 1;
            } else {
                c.buckets[UsageCounters.slot(second)]++;
                c.minuteTotal++;
                c.requestsToday++;
                c.totalRequests++;
                c.inFlight++;
                c.lastUsed = nowMillis;
                c.dirty.mark();
                return Admission.ACCEPTED;
            }
        }
        if (retryAfter < 0) {
            retryAfter = UsageCounters.ceilSeconds(calendar.nextReset(nowMillis) - nowMillis);
        }
        return refusal(refused, limitOf(l, refused), used, retryAfter);
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

    private static void addTokens(UsageCounters c, long day, long prompt, long output) {
        if (prompt == 0 && output == 0) {
            return;
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
