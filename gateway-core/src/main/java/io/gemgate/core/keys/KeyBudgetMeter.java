package io.gemgate.core.keys;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.settings.KeyBudget;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.List;
import java.util.function.Function;

/**
 * Paces keys by the live per-key budgets (setting {@code keyBudgets}): a key whose requests in the current minute
 * reached the model's RPM, whose tokens in the current minute reached its TPM, or whose requests today reached its
 * RPD is passed over for that model until the minute (or the quota day) rolls over. Pacing is not a verdict: the key
 * gets no cooldown and no health penalty, and nothing of it is persisted.
 *
 * <p>A budget is per key and per model. Keys that share a project ({@code project=}) each have the whole budget:
 * Google's quota is per project, so give each key its share of it.
 *
 * <p>Minutes are fixed windows aligned to the wall clock (epoch minutes), not sliding ones: a key that spent its RPM
 * at 12:00:50 is free again at 12:01:00, so up to twice the RPM may go out within 60 seconds across a minute's edge.
 * Requests count when a key is acquired, claimed by compare-and-set, so concurrent requests never exceed the RPM;
 * tokens count when an answer reports them, so requests already under way may take a key past its TPM. The RPD is
 * read from the day's request counter, so requests racing for a key's last request of the day may pass it by one
 * each.
 *
 * <p>Each minute window is one {@code long} in {@link KeyModelState} packing the minute (low 24 bits of the epoch
 * minute) and the count (40 bits), so a window is read and reset atomically without a lock. Each model's budget is
 * resolved when the budgets change or the model is first met, so that selection reads it from an array: models
 * without a budget cost that read and one comparison.
 *
 * <h2>Leased (several gateways: README, "Limits across gateways")</h2>
 * When gateways share the keys through a store that leases ({@link #leased}), the RPM and RPD hold across all of
 * them: a key is sent a request for a model only with a unit of this gateway's lease ({@link BudgetLease}, fed by a
 * leaser in the background), or, while it holds none, with one of a few borrowed units ({@link #borrow}) the store
 * counts when the leaser reports them. The store also says when a key's minute, day or minute's tokens are spent
 * across the gateways. Selection then reads and decrements counters of the key's state: no lock, no allocation, no
 * store round trip. Tokens are counted toward the minute here and reported to the store by the leaser. The local
 * minute windows go on counting what this gateway sent (the admin API's view), without pacing.
 */
final class KeyBudgetMeter {
    private static final long MINUTE_MILLIS = 60_000;
    private static final int COUNT_BITS = 40;
    private static final long COUNT_MASK = (1L << COUNT_BITS) - 1;
    private static final long STAMP_MASK = (1L << (Long.SIZE - COUNT_BITS)) - 1;
    private static final VarHandle MINUTE_REQUESTS;
    private static final VarHandle MINUTE_TOKENS;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            MINUTE_REQUESTS = l.findVarHandle(KeyModelState.class, "minuteRequests", long.class);
            MINUTE_TOKENS = l.findVarHandle(KeyModelState.class, "minuteTokens", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

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

    /** Most units a gateway admits for one key and model before the store knows of them (see {@link #borrow}). */
    static final int BORROW_MAX = 4;
    /** A leased key without a unit is looked at again after this, when the leaser's grant has not put it back. */
    static final long GRANT_WAIT_MILLIS = 200;

    private final QuotaCalendar calendar;
    private volatile Table table = new Table(model -> KeyBudget.NONE);
    /** True while the budgets are leased from a shared store. */
    private volatile boolean leased;
    /** Gateways sharing the budgets, while leased. */
    private volatile int gateways = 1;
    /** Set when a key and model without a book asked for a lease; the leaser clears it. */
    volatile boolean newcomers;
    /** Wakes the leaser (no I/O, no allocation); a no-op unless leased. */
    private volatile Runnable wake = () -> { };

    /**
     * The budget lookup and, per model index, what it answered. Entries are written under the pool's model lock
     * before the table or the model is published.
     */
    private static final class Table {
        final Function<String, KeyBudget> lookup;
        final KeyBudget[] byModel = new KeyBudget[KeyPool.MAX_MODELS + 1];

        Table(Function<String, KeyBudget> lookup) {
            this.lookup = lookup;
        }
    }

    KeyBudgetMeter(QuotaCalendar calendar) {
        this.calendar = calendar;
    }

    /**
     * Replaces the budgets, resolved for the models met so far; the next selection applies them, minute and day
     * counts carry on. Called under the pool's model lock.
     */
    void budgets(Function<String, KeyBudget> budgetFor, List<ModelRef> known) {
        Table t = new Table(requireNonNull(budgetFor, "budgetFor"));
        known.forEach(m -> resolve(t, m));
        table = t;
    }

    /** Resolves the budget of a model met for the first time, before it is published. Called under the same lock. */
    void add(ModelRef model) {
        resolve(table, model);
    }

    /**
     * The budget of one key for the model: {@link KeyBudget#NONE} (this instance) when nothing limits, and always for
     * {@link KeyPool#ANY_MODEL} (model lists and files do not spend a model's quota). One array read.
     */
    KeyBudget of(ModelRef model) {
        return table.byModel[model.index()];
    }

    private static void resolve(Table t, ModelRef model) {
        KeyBudget b = model.name().equals(KeyPool.ANY_MODEL) ? null : t.lookup.apply(model.name());
        t.byModel[model.index()] = b == null || b.isUnlimited() ? KeyBudget.NONE : b;
    }

    /**
     * Leases the budgets from a shared store (true) or counts them here alone (false: the budgets given to
     * {@link #budgets}, which a store that is away divides among the gateways).
     */
    void leased(boolean on, int gatewayCount, Runnable wakeLeaser) {
        gateways = Math.max(1, gatewayCount);
        wake = requireNonNull(wakeLeaser, "wakeLeaser");
        leased = on;
    }

    boolean isLeased() {
        return leased;
    }

    /**
     * Units a gateway admits for one key and model before the store knows of them, the whole worst-case overshoot
     * per gateway: the smaller of RPM and RPD over four times the gateways, at least 1 and at most
     * {@value #BORROW_MAX}; 0 when neither is set (a TPM alone needs no units).
     */
    static int borrow(KeyBudget b, int gateways) {
        long limit = Math.min(b.rpm() == KeyBudget.UNLIMITED ? Long.MAX_VALUE : b.rpm(),
                b.rpd() == KeyBudget.UNLIMITED ? Long.MAX_VALUE : b.rpd());
        if (limit == Long.MAX_VALUE) {
            return 0;
        }
        return (int) Math.max(1, Math.min(BORROW_MAX, limit / (4L * Math.max(1, gateways))));
    }

    /** True when the budget lets the key be sent one more request now; {@code s} null means unused. */
    boolean allows(KeyModelState s, KeyBudget b, long now) {
        return s == null || (!overForMinute(s, b, now) && !overForDay(s, b, now));
    }

    /**
     * Counts one request for the key's minute, refusing when that would pass the RPM (another request took the last
     * one since {@link #allows}). Called for the key that selection picked, before the request goes out. Leased: takes
     * a unit of the lease (or borrows one) instead, and counts the minute without pacing.
     */
    boolean take(KeyModelState s, KeyBudget b, long now) {
        if (leased && (b.rpm() != KeyBudget.UNLIMITED || b.rpd() != KeyBudget.UNLIMITED)) {
            if (!takeUnit(s, b, now)) {
                return false;
            }
            long minute = stamp(now);
            for (;;) {
                long packed = (long) MINUTE_REQUESTS.getVolatile(s);
                if (MINUTE_REQUESTS.compareAndSet(s, packed, pack(minute, Math.min(COUNT_MASK,
                        count(packed, minute) + 1)))) {
                    return true;
                }
            }
        }
        long minute = stamp(now);
        long limit = b.rpm() == KeyBudget.UNLIMITED ? COUNT_MASK : b.rpm();
        for (;;) {
            long packed = (long) MINUTE_REQUESTS.getVolatile(s);
            long count = count(packed, minute);
            if (count >= limit) {
                return false;
            }
            if (MINUTE_REQUESTS.compareAndSet(s, packed, pack(minute, count + 1))) {
                return true;
            }
        }
    }

    /**
     * One unit of the lease, else (unless the store said the budget is spent) a borrowed one; false when there is
     * neither. Units held are spent even when the store said that the budget is spent: they are part of it.
     */
    private boolean takeUnit(KeyModelState s, KeyBudget b, long now) {
        for (long l = (long) LEFT.getVolatile(s); l > 0; l = (long) LEFT.getVolatile(s)) {
            if (LEFT.compareAndSet(s, l, l - 1)) {
                if (l - 1 < s.leaseLow) {
                    wanted(s);
                    wake.run(); // renew ahead of need
                }
                return true;
            }
        }
        if (s.leaseMinuteUntil > now || s.leaseDayUntil > now) {
            return false; // spent across the gateways: nothing to borrow
        }
        int cap = borrow(b, gateways);
        for (long n = (long) BORROWED.getVolatile(s); n < cap; n = (long) BORROWED.getVolatile(s)) {
            if (BORROWED.compareAndSet(s, n, n + 1)) {
                wanted(s);
                wake.run();
                return true;
            }
        }
        REFUSED.getAndAdd(s, 1L);
        wanted(s);
        wake.run();
        return false;
    }

    /** Asks the leaser to look at a key and model it keeps no book on (it looks at the others every tick). */
    private void wanted(KeyModelState s) {
        if (!s.leaseBooked && !s.leaseWanted) {
            s.leaseWanted = true;
            newcomers = true;
        }
    }

    /** Adds an answer's tokens to the key's minute, when the model has a budget. */
    void addTokens(KeyModelState s, KeyBudget b, long tokens, long now) {
        if (b == KeyBudget.NONE || tokens <= 0) {
            return;
        }
        if (leased && b.tpm() != KeyBudget.UNLIMITED) {
            TOKENS.getAndAdd(s, tokens);
        }
        long minute = stamp(now);
        for (;;) {
            long packed = (long) MINUTE_TOKENS.getVolatile(s);
            long count = Math.min(COUNT_MASK, count(packed, minute) + tokens);
            if (MINUTE_TOKENS.compareAndSet(s, packed, pack(minute, count))) {
                return;
            }
        }
    }

    /** True when the key has spent the RPM or the TPM of the current minute (leased: across the gateways). */
    boolean overForMinute(KeyModelState s, KeyBudget b, long now) {
        long minute = stamp(now);
        if (leased) {
            boolean units = b.rpm() != KeyBudget.UNLIMITED || b.rpd() != KeyBudget.UNLIMITED;
            return units && (long) LEFT.getVolatile(s) <= 0 && (s.leaseMinuteUntil > now
                    || (long) BORROWED.getVolatile(s) >= borrow(b, gateways))
                    || (b.tpm() != KeyBudget.UNLIMITED && (s.leaseTokensUntil > now || minuteTokens(s, minute)
                    >= b.tpm()));
        }
        return (b.rpm() != KeyBudget.UNLIMITED && minuteRequests(s, minute) >= b.rpm())
                || (b.tpm() != KeyBudget.UNLIMITED && minuteTokens(s, minute) >= b.tpm());
    }

    /** True when the key has spent the RPD of the current quota day. */
    boolean overForDay(KeyModelState s, KeyBudget b, long now) {
        return b.rpd() != KeyBudget.UNLIMITED
                && (s.todayValue(DayCounters.REQUESTS, calendar.dayStart(now)) >= b.rpd()
                || leased && s.leaseDayUntil > now && (long) LEFT.getVolatile(s) <= 0);
    }

    /**
     * When a key over its minute budget ({@link #overForMinute}) is free again: the next minute; leased, when the
     * store said the key's minute (or minute of tokens) across the gateways ends, or, when it only waits for the
     * leaser's next grant, {@value #GRANT_WAIT_MILLIS} ms from now.
     */
    long minuteFree(KeyModelState s, KeyBudget b, long now) {
        if (!leased) {
            return nextMinute(now);
        }
        long until = Math.max(s.leaseMinuteUntil, b.tpm() == KeyBudget.UNLIMITED ? 0 : s.leaseTokensUntil);
        if (b.tpm() != KeyBudget.UNLIMITED && minuteTokens(s, stamp(now)) >= b.tpm()) {
            until = Math.max(until, nextMinute(now));
        }
        return until > now ? until : now + GRANT_WAIT_MILLIS;
    }

    /** Start of the next minute: when a key over its minute budget is free again. */
    static long nextMinute(long now) {
        return Math.floorDiv(now, MINUTE_MILLIS) * MINUTE_MILLIS + MINUTE_MILLIS;
    }

    /** What the key has used of the budget now. */
    BudgetUse use(KeyModelState s, KeyBudget b, long now) {
        if (s == null) {
            return new BudgetUse(b, 0, 0, 0);
        }
        long minute = stamp(now);
        return new BudgetUse(b, minuteRequests(s, minute), minuteTokens(s, minute),
                s.todayValue(DayCounters.REQUESTS, calendar.dayStart(now)));
    }

    private static long minuteRequests(KeyModelState s, long minute) {
        return count((long) MINUTE_REQUESTS.getVolatile(s), minute);
    }

    private static long minuteTokens(KeyModelState s, long minute) {
        return count((long) MINUTE_TOKENS.getVolatile(s), minute);
    }

    private static long stamp(long now) {
        return Math.floorDiv(now, MINUTE_MILLIS) & STAMP_MASK;
    }

    private static long pack(long stamp, long count) {
        return stamp << COUNT_BITS | count;
    }

    /** The count of a window if it holds {@code stamp}'s minute, else 0 (an older minute is over). */
    private static long count(long packed, long stamp) {
        return packed >>> COUNT_BITS == stamp ? packed & COUNT_MASK : 0;
    }
}
