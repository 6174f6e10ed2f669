package io.gemgate.core.keys;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * What one key knows about one model: its rest ({@link KeyRest}: cooldown, daily exhaustion, 429 streak, replaced
 * whole by compare-and-set), the minute's budget windows ({@link KeyBudgetMeter}) and today's counters. Written by
 * whichever thread records a verdict or a request; readers see a recent value, which is all selection needs.
 */
final class KeyModelState {
    private static final VarHandle REST;
    private static final VarHandle DAY;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            REST = l.findVarHandle(KeyModelState.class, "rest", KeyRest.class);
            DAY = l.findVarHandle(KeyModelState.class, "day", DayCounters.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Cooldown, exhaustion and streak as one value; changed only through the compare-and-set methods below. */
    private volatile KeyRest rest = KeyRest.NONE;
    /** This minute's requests and tokens, for {@link KeyBudgetMeter}: the minute and the count packed in one long. */
    volatile long minuteRequests;
    volatile long minuteTokens;
    /**
     * This gateway's lease of the key's budget for the model when several gateways share it ({@link BudgetLease}):
     * request units held, units admitted without a lease and not reported yet, tokens not reported yet, requests
     * refused for want of a unit, when the store said the minute's (day's, minute's tokens) budget is spent until,
     * the low-water mark below which the leaser renews, and whether the leaser keeps a book on it (or was asked to).
     * Untouched while budgets are not leased.
     */
    volatile long leaseLeft;
    volatile long leaseBorrowed;
    volatile long leaseTokens;
    volatile long leaseRefused;
    volatile long leaseMinuteUntil;
    volatile long leaseDayUntil;
    volatile long leaseTokensUntil;
    volatile long leaseLow;
    volatile boolean leaseBooked;
    volatile boolean leaseWanted;
    /** Today's counters; replaced by compare-and-set when the day rolls over (a field, not an AtomicReference: one
     * object fewer between a key and its counts on the selection path). */
    private volatile DayCounters day;

    KeyModelState(long dayStart) {
        this.day = new DayCounters(dayStart);
    }

    /** The rest as last set (its ends may be past). */
    KeyRest rest() {
        return rest;
    }

    /** Raises the cooldown and the exhaustion to at least these ends (the later end wins); true when either rose. */
    boolean raise(long cooldownUntil, long exhaustedUntil) {
        for (;;) {
            KeyRest r = rest;
            if (cooldownUntil <= r.cooldownUntilMillis() && exhaustedUntil <= r.exhaustedUntilMillis()) {
                return false;
            }
            KeyRest next = new KeyRest(Math.max(r.cooldownUntilMillis(), cooldownUntil),
                    Math.max(r.exhaustedUntilMillis(), exhaustedUntil), r.rateLimitStreak());
            if (REST.compareAndSet(this, r, next)) {
                return true;
            }
        }
    }

    /**
     * A 429 without RetryInfo: the cooldown grows with the streak ({@code base << streak}, capped at {@code max},
     * the streak itself at 20) and the streak goes up by one, in one change.
     *
     * @return the cooldown's end this 429 asks for
     */
    long rateLimited(long now, long baseMillis, long maxMillis) {
        for (;;) {
            KeyRest r = rest;
            int streak = Math.min(r.rateLimitStreak(), 20);
            long until = now + Math.min(maxMillis, baseMillis << streak);
            KeyRest next = new KeyRest(Math.max(r.cooldownUntilMillis(), until), r.exhaustedUntilMillis(), streak + 1);
            if (REST.compareAndSet(this, r, next)) {
                return until;
            }
        }
    }

    /** Ends the 429 streak (a success). No store when it is already 0: no cache line taken from another core. */
    void endStreak() {
        for (;;) {
            KeyRest r = rest;
            if (r.rateLimitStreak() == 0
                    || REST.compareAndSet(this, r, new KeyRest(r.cooldownUntilMillis(), r.exhaustedUntilMillis(), 0))) {
                return;
            }
        }
    }

    /** Ends a cooldown that runs past {@code now}, with its streak; true when there was one. */
    boolean lift(long now) {
        for (;;) {
            KeyRest r = rest;
            if (r.cooldownUntilMillis() <= now) {
                return false;
            }
            if (REST.compareAndSet(this, r, new KeyRest(now, r.exhaustedUntilMillis(), 0))) {
                return true;
            }
        }
    }

    /** Sets the rest outright (a restore, before the pool serves). */
    void rest(KeyRest r) {
        rest = r;
    }

    /** The current counters, maybe of an earlier day. */
    DayCounters day() {
        return day;
    }

    /** Today's counters, starting a fresh set when the quota day has changed. */
    DayCounters today(long dayStart) {
        DayCounters d = day;
        while (d.dayStart < dayStart) {
            DayCounters fresh = new DayCounters(dayStart);
            if (DAY.compareAndSet(this, d, fresh)) {
                // A new day also ends yesterday's streak (exhaustedUntil already points at the reset).
                endStreak();
                return fresh;
            }
            d = day;
        }
        return d;
    }

    /** Today's value of one counter without creating anything: 0 when the stored day is over. */
    long todayValue(int counter, long dayStart) {
        DayCounters d = day;
        return d.dayStart == dayStart ? d.get(counter) : 0;
    }
}
