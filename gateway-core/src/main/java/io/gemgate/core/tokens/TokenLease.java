package io.gemgate.core.tokens;

/**
 * This gateway's share of one user token's limits when several gateways enforce them together (README, "Limits across
 * gateways"): request units (one per request, toward {@code requestsPerMinute} and {@code requestsPerDay}), an
 * allowance of tokens (toward {@code tokensPerDay}) and concurrency slots (toward {@code maxConcurrency}), each leased
 * from a shared store by a background leaser and spent here without asking anyone.
 *
 * <h2>Who does what</h2>
 * {@link TokenLimiter#admit} spends: one request unit from the oldest grant, or, when there is none and the store has
 * not said the limit is reached, one of a few borrowed units ({@link TokenLimiter#borrow}: the worst-case overshoot
 * per gateway); it asks the leaser for more when what is left falls below the leaser's low-water mark (ahead of need, so that a
 * steady client never waits). The leaser ({@link #prepare}, {@link #granted}, {@link #failed}) gives back grants
 * that are older than their life or unused while the token is idle, reports what was borrowed, and adds what the store
 * grants. A grant is usable for {@link #life} milliseconds after the store granted it; the store counts it toward the
 * minute for 60 s plus that life, which is what keeps the minute exact whatever the moment a unit is spent.
 *
 * <p>Every field is guarded by the token's counters ({@link UsageCounters}, the monitor {@link TokenLimiter} already
 * holds): the hot path adds no lock and allocates nothing. Grants are a ring of {@link #RING} entries.
 */
public final class TokenLease {
    /** Most grants held at once; the leaser asks for no more while the ring is full. */
    public static final int RING = 8;

    private final Object lock;

    // Grants, oldest first: the second the store counted each at, what is left of it, when it stops being usable.
    private final long[] grantSecond = new long[RING];
    private final long[] grantLeft = new long[RING];
    private final long[] grantEnd = new long[RING];
    private int head;
    private int count;
    /** Sum of {@link #grantLeft}. */
    long reqLeft;
    /** Units admitted without a grant, not reported yet. */
    long reqBorrowed;
    /** Units spent from grants since the leaser last looked (its rate estimate). */
    long reqSpent;
    /** Requests refused for want of a share (not because a limit was reached) since the leaser last looked. */
    long reqWanting;
    /** Tokens the allowance still covers; negative: tokens used beyond it, to report. */
    long tokLeft;
    /** Tokens counted since the leaser last looked. */
    long tokSpent;
    /** Requests admitted while the allowance was empty, since the last allowance came. */
    int tokWaiting;
    int slots;
    long reqBlockedUntil;
    Admission.Outcome reqBlockedBy = Admission.Outcome.REQUESTS_PER_MINUTE;
    long tokBlockedUntil;
    long concFullUntil;
    long lowReq = 1;
    long lowTok = 1;
    long lastUse;
    /** True while the leaser has been asked to look at this token and has not yet. */
    boolean queued;

    TokenLease(Object lock) {
        this.lock = lock;
    }

    /** Request units held now. */
    public long requestsLeft() {
        synchronized (lock) {
            return reqLeft;
        }
    }

    /** Concurrency slots held now. */
    public int slots() {
        synchronized (lock) {
            return slots;
        }
    }


    // ------------------------------------------------------------------------------------------ hot path (locked)

    /** True when a grant is usable at {@code now}. Caller holds the lock. */
    boolean hasUnit(long now) {
        return count > 0 && grantEnd[head] > now;
    }

    /** Spends one unit of the oldest grant. Caller holds the lock and saw {@link #hasUnit}. */
    void spendUnit() {
        reqLeft--;
        reqSpent++;
        if (--grantLeft[head] == 0) {
            head = (head + 1) % RING;
            count--;
        }
    }

    // ------------------------------------------------------------------------------------------------- leaser side

    /** What one call to the store carries for this token, taken out of the lease by {@link #prepare}. */
    public static final class Call {
        /** Seconds and counts of unused units given back (pairs). */
        public final long[] returns = new long[2 * RING];
        public int returnCount;
        public long debtRequests;
        public long debtTokens;
        public long returnTokens;
        public long spentRequests;
        /** Requests refused while waiting for a share: demand the next share must cover. */
        public long wantingRequests;
        public long spentTokens;
        public int inFlight;
        public int slots;
        public long requestsLeft;
        public long tokensLeft;
        public long lastUse;
        public int grants;

        /** Unused units given back, in the order of {@link #returns}. */
        public long returnedUnits() {
            long n = 0;
            for (int i = 0; i < returnCount; i++) {
                n += returns[2 * i + 1];
            }
            return n;
        }
    }

    /**
     * Takes out of the lease what must go to the store: grants past their end or, when {@code idle}, all of them
     * (their unused units are given back), the borrowed units and the tokens used beyond the allowance (debts), and,
     * when idle, the unused allowance. Clears the "asked" flag.
     */
    public Call prepare(long now, boolean idle) {
        Call c = new Call();
        synchronized (lock) {
            queued = false;
            while (count > 0 && (idle || grantEnd[head] <= now)) {
                if (grantLeft[head] > 0) {
                    c.returns[2 * c.returnCount] = grantSecond[head];
                    c.returns[2 * c.returnCount + 1] = grantLeft[head];
                    c.returnCount++;
                }
                reqLeft -= grantLeft[head];
                grantLeft[head] = 0;
                head = (head + 1) % RING;
                count--;
            }
            c.debtRequests = reqBorrowed;
            reqBorrowed = 0;
            if (tokLeft < 0) {
                c.debtTokens = -tokLeft;
                tokLeft = 0;
            } else if (idle && tokLeft > 0) {
                c.returnTokens = tokLeft;
                tokLeft = 0;
            }
            c.spentRequests = reqSpent;
            reqSpent = 0;
            c.wantingRequests = reqWanting;
            reqWanting = 0;
            c.spentTokens = tokSpent;
            tokSpent = 0;
            c.slots = slots;
            c.requestsLeft = reqLeft;
            c.tokensLeft = tokLeft;
            c.lastUse = lastUse;
            c.grants = count;
        }
        return c;
    }

    /** Concurrency slots in use now. */
    public int inFlight() {
        synchronized (lock) {
            return ((UsageCounters) lock).inFlight;
        }
    }

    /** The call failed (or may not have reached the store): its debts are owed again. Given-back units are lost. */
    public void failed(Call c) {
        synchronized (lock) {
            reqBorrowed += c.debtRequests;
            tokLeft -= c.debtTokens;
            tokLeft += c.returnTokens;
        }
    }

    /**
     * What the store answered.
     *
     * @param second          the second the store counted the grant at
     * @param units           request units granted (0: none)
     * @param life            how long they are usable, millis
     * @param tokens          tokens granted
     * @param slotsHeld       concurrency slots this gateway holds now
     * @param reqBlockedUntil until when no more request units can be had (0: not blocked)
     * @param reqBlockedBy    the limit that blocks them
     * @param tokBlockedUntil until when no more tokens can be had (0: not blocked)
     * @param concFull        true when every slot is held by someone
     * @param lowRequests     ask for more units when fewer are left
     * @param lowTokens       ask for more tokens when fewer are left
     */
    public void granted(long now, long second, long units, long life, long tokens, int slotsHeld,
                        long reqBlockedUntil, Admission.Outcome reqBlockedBy, long tokBlockedUntil, boolean concFull,
                        long lowRequests, long lowTokens) {
        synchronized (lock) {
            if (units > 0 && count < RING) {
                int tail = (head + count) % RING;
                grantSecond[tail] = second;
                grantLeft[tail] = units;
                grantEnd[tail] = now + life;
                count++;
                reqLeft += units;
            }
            tokLeft += tokens;
            if (tokens > 0) {
                tokWaiting = 0;
            }
            slots = slotsHeld;
            this.reqBlockedUntil = reqBlockedUntil;
            this.reqBlockedBy = reqBlockedBy;
            this.tokBlockedUntil = tokBlockedUntil;
            this.concFullUntil = concFull ? now + 1000 : 0;
            this.lowReq = lowRequests;
            this.lowTok = lowTokens;
        }
    }

    /** Forgets every grant and debt without giving anything back (the store lost its data). */
    public void reset() {
        synchronized (lock) {
            head = 0;
            count = 0;
            reqLeft = 0;
            reqBorrowed = 0;
            tokLeft = 0;
            tokWaiting = 0;
            slots = 0;
            reqBlockedUntil = 0;
            tokBlockedUntil = 0;
            concFullUntil = 0;
        }
    }
}
