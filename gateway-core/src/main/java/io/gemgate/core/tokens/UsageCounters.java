package io.gemgate.core.tokens;

import java.util.Arrays;

/**
 * One token's live counters. Every field except {@link #lastUsed} is guarded by {@code this}: {@link TokenLimiter}
 * checks and increments them in one short critical section, which is what makes the limits exact. The lock is per
 * token, held for a few dozen instructions, and taken without allocating.
 *
 * <p>Requests of the last minute are counted in {@link #WINDOW_SECONDS} one-second buckets, a ring indexed by epoch
 * second: the window at second {@code S} holds the requests of seconds {@code S-59..S}.
 *
 * <p>Shared by every {@link UserToken} version of one token id, so that renaming or re-limiting keeps the counts.
 */
final class UsageCounters {
    static final int WINDOW_SECONDS = 60;

    final DirtyFlag dirty;
    final int[] buckets = new int[WINDOW_SECONDS];
    /** Epoch second of the newest bucket; {@code Long.MIN_VALUE} before the first request. */
    long newestSecond = Long.MIN_VALUE;
    /** Sum of {@link #buckets}. */
    int minuteTotal;
    /** Start of the quota day the day counters belong to. */
    long dayStart;
    long requestsToday;
    long promptTokensToday;
    long outputTokensToday;
    int inFlight;
    long totalRequests;
    long totalTokens;
    /** Written under the lock, read without it. */
    volatile long lastUsed;
    /** This gateway's share of the token's limits when gateways enforce them together; guarded by {@code this}. */
    final TokenLease lease = new TokenLease(this);

    UsageCounters(DirtyFlag dirty) {
        this.dirty = dirty;
    }

    /**
     * Moves the window to {@code second}, dropping buckets that fell out of it. A clock that went back is held at
     * the newest second seen, so counts are never lost. Caller holds the lock.
     *
     * @return the second requests are counted in now
     */
    long advance(long second) {
        long newest = newestSecond;
        if (second <= newest) {
            return newest;
        }
        if (newest == Long.MIN_VALUE || second - newest >= WINDOW_SECONDS) {
            Arrays.fill(buckets, 0);
            minuteTotal = 0;
        } else {
            for (long s = newest + 1; s <= second; s++) {
                int i = slot(s);
                minuteTotal -= buckets[i];
                buckets[i] = 0;
            }
        }
        newestSecond = second;
        return second;
    }

    /** Clears the day counters when {@code day} is a later quota day. Caller holds the lock. */
    void rollDay(long day) {
        if (day > dayStart) {
            dayStart = day;
            requestsToday = 0;
            promptTokensToday = 0;
            outputTokensToday = 0;
        }
    }

    /**
     * Seconds from {@code nowMillis} until the window holds fewer than {@code limit} requests, at least 1. Caller
     * holds the lock, has advanced the window, and has seen {@code minuteTotal >= limit}.
     */
    long secondsUntilBelow(int limit, long nowMillis) {
        long oldest = newestSecond - WINDOW_SECONDS + 1;
        int remaining = minuteTotal;
        for (long s = oldest; s <= newestSecond; s++) {
            remaining -= buckets[slot(s)];
            if (remaining < limit) {
                // the requests of second s stop counting at s + 60
                return ceilSeconds((s + WINDOW_SECONDS) * 1000 - nowMillis);
            }
        }
        return 1; // not reached when the caller's precondition holds
    }

    /** Restores persisted counters; the minute window and in-flight count start empty. */
    synchronized void restore(TokenRecord r) {
        dayStart = r.dayStartMillis();
        requestsToday = r.requestsToday();
        promptTokensToday = r.promptTokensToday();
        outputTokensToday = r.outputTokensToday();
        totalRequests = r.totalRequests();
        totalTokens = r.totalTokens();
        lastUsed = r.lastUsedMillis();
    }

    static int slot(long second) {
        return (int) Math.floorMod(second, (long) WINDOW_SECONDS);
    }

    static long ceilSeconds(long millis) {
        return Math.max(1, (millis + 999) / 1000);
    }
}
