package io.gemgate.core.keys;

import io.gemgate.core.settings.KeyBudget;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One key's lease of its budget for one model when several gateways share the budgets (README, "Limits across
 * gateways"): the leaser's side of the counters that selection spends ({@link KeyBudgetMeter}, leased). Obtained from
 * {@link KeyPool#newBudgetLeases} and used by one leaser thread; selection touches the same counters by
 * compare-and-set, so every change here is a compare-and-set or an atomic add too.
 */
public final class BudgetLease {
    private static final VarHandle LEFT;
    private static final VarHandle BORROWED;
    private static final VarHandle TOKENS;
    private static final VarHandle REFUSED;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            LEFT = l.findVarHandle(KeyModelState.class, "leaseLeft", long.class);
            BORROWED = l.findVarHandle(KeyModelState.class, "leaseBorrowed", long.class);
            TOKENS = l.findVarHandle(KeyModelState.class, "leaseTokens", long.class);
            REFUSED = l.findVarHandle(KeyModelState.class, "leaseRefused", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final KeyRing ring;
    private final ApiKey key;
    private final ModelRef model;
    private final KeyModelState s;

    BudgetLease(KeyRing ring, ApiKey key, ModelRef model, KeyModelState s) {
        this.ring = ring;
        this.key = key;
        this.model = model;
        this.s = s;
    }

    public ApiKey key() {
        return key;
    }

    public ModelRef model() {
        return model;
    }

    /** The key's budget for the model now ({@link KeyBudget#NONE} when the budgets changed and none applies). */
    public KeyBudget budget() {
        return ring.budgets.of(model);
    }

    /** Units held now. */
    public long left() {
        return (long) LEFT.getVolatile(s);
    }

    /** Replaces the units held if they are still {@code expected} (selection may have spent one since). */
    public boolean swapLeft(long expected, long next) {
        return LEFT.compareAndSet(s, expected, next);
    }

    /** Adds granted units. */
    public void add(long units) {
        LEFT.getAndAdd(s, units);
    }

    /**
     * Units admitted without a lease and not settled yet (a debt to report). They stay borrowed, so that selection
     * borrows no more, until {@link #settle} says the store counted them.
     */
    public long borrowed() {
        return (long) BORROWED.getVolatile(s);
    }

    /** The store counted {@code units} borrowed units: selection may borrow again (if the store has room). */
    public void settle(long units) {
        BORROWED.getAndAdd(s, -units);
    }

    /** Tokens answers reported since the last call; resets them. */
    public long takeTokens() {
        return (long) TOKENS.getAndSet(s, 0L);
    }

    /** Requests refused for want of a unit since the last call (demand the next grant must cover); resets them. */
    public long takeRefused() {
        return (long) REFUSED.getAndSet(s, 0L);
    }

    /**
     * What the store said: the key's requests are spent across the gateways until {@code minuteUntil} (the minute)
     * or {@code dayUntil} (the quota day), its tokens until {@code tokensUntil} (0: not spent); renew below
     * {@code low} units.
     */
    public void store(long minuteUntil, long dayUntil, long tokensUntil, long low) {
        s.leaseMinuteUntil = minuteUntil;
        s.leaseDayUntil = dayUntil;
        s.leaseTokensUntil = tokensUntil;
        s.leaseLow = low;
    }

    /** The latest end the store said, of minute, day or tokens (0: none). */
    public long blockedUntil() {
        return Math.max(s.leaseMinuteUntil, Math.max(s.leaseDayUntil, s.leaseTokensUntil));
    }

    /** Lets selection try the key for the model again now (units arrived, or the store's "spent" ended). */
    public void refile(long now) {
        ring.refile(key, model, now);
    }

    /** The leaser no longer keeps a book on it (idle); the next request asks again. */
    public void forget() {
        s.leaseBooked = false;
    }

    /** Forgets units, debts and the store's marks without giving anything back (the store lost its data). */
    public void reset() {
        for (long l = left(); !swapLeft(l, 0); l = left()) {
            // retry
        }
        BORROWED.getAndSet(s, 0L);
        s.leaseMinuteUntil = 0;
        s.leaseDayUntil = 0;
        s.leaseTokensUntil = 0;
    }

    @Override
    public String toString() {
        return key.masked() + "/" + model.name();
    }
}
