package io.gemgate.core.keys;


/**
 * What one key knows about one model: cooldown, daily exhaustion, the 429 streak and today's counters. Fields are
 * written by whichever thread records a verdict; readers see a recent value, which is all selection needs.
 */
final class KeyModelState {
    /** Epoch millis until which the key rests for this model (per-minute quota, 5xx); 0 = none. */
    volatile long cooldownUntil;
    /** Epoch millis until which the key's daily quota for this model is spent (the next reset); 0 = none. */
    volatile long exhaustedUntil;
    /** Consecutive 429s without RetryInfo, for the growing default cooldown. */
    volatile int rateLimitStreak;
    /** This minute's requests and tokens, for {@link KeyBudgetMeter}: the minute and the count packed in one long. */
    volatile long minuteRequests;
    volatile long minuteTokens;
    /** Today's counters; replaced by compare-and-set when the day rolls over (a field, not an AtomicReference: one
     * object fewer between a key and its counts on the selection path). */
    private volatile DayCounters day;
    private static final java.lang.invoke.VarHandle DAY;

    static {
        try {
            DAY = java.lang.invoke.MethodHandles.lookup().findVarHandle(KeyModelState.class, "day", DayCounters.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    KeyModelState(long dayStart) {
        this.day = new DayCounters(dayStart);
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
                // A new day also ends yesterday's exhaustion and streak (exhaustedUntil already points at the reset).
                rateLimitStreak = 0;
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
