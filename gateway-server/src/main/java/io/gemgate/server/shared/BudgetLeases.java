package io.gemgate.server.shared;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.keys.BudgetLease;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.settings.KeyBudget;
import io.gemgate.server.GatewayContext;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Makes the per-key budgets ({@code keyBudgets}: rpm, rpd and tpm of each key for each model) hold across every
 * gateway of a prefix (README, "Limits across gateways"), with the protocol of the user tokens' limits
 * ({@link TokenLeases}) on the same {@link LeaseEngine}: each gateway leases units of a key's budget for a model from
 * Redis ({@link RedisLayout#LEASE_BUDGET}, one atomic script call per grant), selection spends them from counters in
 * the key's state ({@link BudgetLease}; no lock, no allocation, no Redis round trip), and this ledger renews them ahead
 * of need and gives back what was not used.
 *
 * <ul>
 *   <li>Requests (per minute and per day): a grant of units, usable for {@link TokenLeases#LIFE} and counted by Redis
 *       toward the minute for {@link TokenLeases#SPAN_SECONDS} from the second it was granted, so that a key's minute
 *       holds whenever its units are spent. A grant is sized to {@link #TARGET_SECONDS} of this gateway's
 *       own rate on that key and model, at least {@link #MIN_UNITS} and at most
 *       {@code min(rpm, rpd) / (4 * gateways)}; the next is asked when less than half a grant is left, unused units go
 *       back when a grant's life ends or after {@link TokenLeases#IDLE} without a request.</li>
 *   <li>Before the first grant, or while one is on its way, selection admits at most {@code borrow(budget, gateways)}
 *       units Redis does not know of yet (the worst-case overshoot per gateway: at most 4); they are reported with the
 *       next call and stay borrowed until Redis has answered it, so that no more are borrowed meanwhile.</li>
 *   <li>Tokens per minute: the tokens answers reported are sent to Redis with the next call, as soon as they reach
 *       {@code tpm / (4 * gateways)}, and within {@link #TOKENS_EVERY} anyway; Redis answers when the key's minute of
 *       tokens across the gateways is spent.</li>
 * </ul>
 * Redis answers when a key's minute (or day, or minute of tokens) is spent across the gateways; selection then passes
 * the key over for that model until then, and this ledger puts it back in the lanes when the time comes or units
 * arrive.
 *
 * <p>Redis away: the pool counts alone again, each gateway at its part of the minute budgets ({@link
 * GatewayContext#budgetSplit}).
 */
final class BudgetLeases implements LeaseEngine.Ledger {
    private static final LeaseEngine.Script SCRIPT = LeaseEngine.Script.of(RedisLayout.LEASE_BUDGET);
    /** A book without a request and without units for this long is dropped. */
    private static final long FORGET = 60_000;
    /**
     * Tokens reported by answers go to Redis with every call, as soon as they reach {@code tpm / (4 * gateways)}, and
     * at least this often while there are any.
     */
    static final long TOKENS_EVERY = 10_000;
    private static final int RING = 8;
    /**
     * Grants are sized to last about this long at the gateway's rate on the key (within a grant's 10 s life): keys
     * share a pool's traffic, so each key sees a fraction of it, and larger grants keep the calls per request low.
     */
    static final double TARGET_SECONDS = 8.0;
    /** The smallest grant (when the budget allows it): about a grant's life of a key that serves 3 requests a second. */
    static final long MIN_UNITS = 32;

    private final GatewayContext gw;
    private final KeyPool pool;
    private final RedisLayout layout;
    private final Runnable wake;
    /** Leaser thread only. */
    private final List<Book> books = new ArrayList<>();

    /** The leaser's notes on one key and model: the grants it holds (oldest first), its rate, what is pending. */
    private static final class Book {
        final BudgetLease lease;
        final long[] second = new long[RING];
        final long[] left = new long[RING];
        final long[] end = new long[RING];
        int count;
        /** Sum of {@link #left}: what the lease held when last looked at. */
        long held;
        /** Units selection spent since the last look. */
        long lastSpent;
        double rate;
        long lastLook;
        long lastUse;
        long tokens;
        long tokensSince;
        /** The store's "spent until" last applied: the key goes back to the lanes when it passes. */
        long blockedUntil;

        Book(BudgetLease lease, long now) {
            this.lease = lease;
            this.lastLook = now;
            this.lastUse = now;
            this.tokensSince = now;
        }
    }

    BudgetLeases(GatewayContext gw, RedisLayout layout, LeaseEngine engine) {
        this.gw = requireNonNull(gw, "gw");
        this.wake = requireNonNull(engine, "engine")::wake;
        this.pool = gw.pool();
        this.layout = requireNonNull(layout, "layout");
    }

    @Override
    public void sharing(boolean leased, int gateways) {
        gw.budgetSplit(leased ? 1 : gateways);
        pool.leaseBudgets(leased, gateways, wake);
    }

    @Override
    public void reset() {
        for (Book b : books) {
            b.lease.reset();
            b.count = 0;
            b.held = 0;
            b.blockedUntil = 0;
        }
    }

    @Override
    public void closed() {
        pool.leaseBudgets(false, 1, () -> { });
    }

    @Override
    public void round(long now, int g, LeaseEngine.Calls calls) {
        for (BudgetLease l : pool.newBudgetLeases()) {
            books.add(new Book(l, now));
        }
        for (Iterator<Book> it = books.iterator(); it.hasNext();) {
            Book b = it.next();
            KeyBudget budget = b.lease.budget();
            boolean gone = budget == KeyBudget.NONE || b.lease.key().isRemoved();
            boolean perUnit = budget.rpm() != KeyBudget.UNLIMITED || budget.rpd() != KeyBudget.UNLIMITED;
            boolean idleBefore = now - b.lastUse > TokenLeases.IDLE;
            long[] returns = new long[2 * RING];
            int returnCount = reconcile(b, now, gone || idleBefore, returns);
            long spent = b.lastSpent;
            long borrowed = b.lease.borrowed(); // settled when Redis has counted them: no more meanwhile
            long refused = b.lease.takeRefused();
            b.tokens += b.lease.takeTokens();
            if (spent + borrowed + refused > 0) {
                b.lastUse = now;
            }
            boolean idle = gone || now - b.lastUse > TokenLeases.IDLE;
            double dt = Math.max(0.05, (now - b.lastLook) / 1000.0);
            b.lastLook = now;
            double alpha = Math.min(1.0, dt / 2.0); // about two seconds of memory
            b.rate += alpha * ((spent + borrowed + refused) / dt - b.rate);

            long limit = Math.min(unlimitedAsMax(budget.rpm()), unlimitedAsMax(budget.rpd()));
            long maxUnits = Math.max(1, limit / (4L * g));
            long units = clamp((long) Math.ceil(b.rate * TARGET_SECONDS), Math.min(MIN_UNITS, maxUnits), maxUnits);
            long low = Math.max(1, units / 2);
            // While Redis said the budget is spent, ask only with units given back (which may make room again).
            long want = perUnit && !idle && b.held < low && b.count < RING
                    && (b.blockedUntil <= now || returnCount > 0) ? units : 0;
            long tokenStep = budget.tpm() == KeyBudget.UNLIMITED ? Long.MAX_VALUE
                    : Math.max(1, budget.tpm() / (4L * g));
            boolean tokensDue = b.tokens > 0 && (gone || b.tokens >= tokenStep || now - b.tokensSince >= TOKENS_EVERY);

            if (b.blockedUntil > 0 && b.blockedUntil <= now) {
                b.blockedUntil = 0;
                b.lease.refile(now); // the minute (day) Redis said was spent is over
            }
            if (want == 0 && returnCount == 0 && borrowed == 0 && !tokensDue) {
                if (gone || idle && b.count == 0 && now - b.lastUse > FORGET) {
                    b.lease.forget();
                    it.remove();
                }
                continue;
            }
            long tokens = b.tokens; // with every call
            b.tokens = 0;
            b.tokensSince = now;
            String[] args = args(now, budget, want, borrowed, tokens, returns, returnCount);
            long second = Math.floorDiv(now, 1000L);
            calls.add(SCRIPT, new String[] {layout.budget(b.lease.key().id(), b.lease.model().name())}, args,
                    a -> {
                        b.lease.settle(borrowed);
                        apply(b, a, now, second, low);
                    }, () -> b.tokens += tokens); // given-back units are lost: counted until they end
        }
    }

    /**
     * Brings the book up to date with what selection spent (oldest grants first), and takes out of the lease the
     * unused units of the grants whose life ended (all of them when {@code all}), in one compare-and-set with the
     * units selection sees. Fills {@code returns} with (second, units) pairs; returns how many.
     */
    private static int reconcile(Book b, long now, boolean all, long[] returns) {
        long[] left = new long[RING];
        for (;;) {
            long have = b.lease.left();
            long spent = Math.max(0, b.held - have);
            long toSpend = spent;
            long back = 0;
            int n = 0;
            int keep = 0;
            for (int i = 0; i < b.count; i++) {
                long l = b.left[i];
                long used = Math.min(l, toSpend);
                toSpend -= used;
                left[i] = l - used;
            }
            for (int i = 0; i < b.count; i++) {
                if (all || b.end[i] <= now) {
                    if (left[i] > 0) {
                        returns[2 * n] = b.second[i];
                        returns[2 * n + 1] = left[i];
                        n++;
                        back += left[i];
                    }
                } else {
                    keep++;
                }
            }
            if (back > 0 && !b.lease.swapLeft(have, have - back)) {
                continue; // selection spent one meanwhile: count again
            }
            int j = 0;
            for (int i = 0; i < b.count; i++) {
                if (!(all || b.end[i] <= now) && left[i] > 0) {
                    b.second[j] = b.second[i];
                    b.left[j] = left[i];
                    b.end[j] = b.end[i];
                    j++;
                }
            }
            b.count = j;
            b.held = have - back;
            b.lastSpent = spent;
            return n;
        }
    }

    private void apply(Book b, List<Object> a, long now, long second, long low) {
        long units = number(a, 0);
        long minuteUntil = number(a, 1);
        long dayUntil = number(a, 2);
        long tokensUntil = number(a, 3);
        if (units > 0) {
            if (b.count < RING) {
                b.second[b.count] = second;
                b.left[b.count] = units;
                b.end[b.count] = now + TokenLeases.LIFE;
                b.count++;
                b.held += units;
                b.lease.add(units);
            }
        }
        b.lease.store(minuteUntil, dayUntil, tokensUntil, low);
        long blocked = Math.max(minuteUntil, Math.max(dayUntil, tokensUntil));
        boolean wasBlocked = b.blockedUntil > now;
        b.blockedUntil = blocked > now ? blocked : 0;
        if (units > 0 || wasBlocked && b.blockedUntil == 0) {
            b.lease.refile(now); // selection may have passed the key over while it had no unit or was spent
        }
    }

    @Override
    public void giveBack(long now, LeaseEngine.Calls calls) {
        for (Book b : books) {
            long[] returns = new long[2 * RING];
            int n = reconcile(b, now, true, returns);
            long borrowed = b.lease.borrowed();
            long tokens = b.tokens + b.lease.takeTokens();
            if (n == 0 && borrowed == 0 && tokens == 0) {
                continue;
            }
            KeyBudget budget = b.lease.budget();
            calls.add(SCRIPT, new String[] {layout.budget(b.lease.key().id(), b.lease.model().name())},
                    args(now, budget, 0, borrowed, tokens, returns, n), x -> { }, () -> { });
        }
    }

    /** {@link RedisLayout#LEASE_BUDGET}'s arguments. */
    private String[] args(long now, KeyBudget budget, long want, long borrowed, long tokens, long[] returns, int n) {
        String[] args = new String[11 + 2 * n];
        args[0] = Long.toString(now);
        args[1] = Long.toString(Math.floorDiv(now, 1000L));
        args[2] = Long.toString(TokenLeases.SPAN_SECONDS);
        args[3] = Long.toString(pool.calendar().dayStart(now));
        args[4] = Long.toString(pool.calendar().nextReset(now));
        args[5] = Long.toString(budget.rpm());
        args[6] = Long.toString(budget.rpd());
        args[7] = Long.toString(budget.tpm());
        args[8] = Long.toString(want);
        args[9] = Long.toString(borrowed);
        args[10] = Long.toString(tokens);
        for (int i = 0; i < n; i++) {
            args[11 + 2 * i] = Long.toString(returns[2 * i]);
            args[12 + 2 * i] = Long.toString(returns[2 * i + 1]);
        }
        return args;
    }

    private static long unlimitedAsMax(long limit) {
        return limit == KeyBudget.UNLIMITED ? Long.MAX_VALUE : limit;
    }

    private static long clamp(long v, long min, long max) {
        return Math.max(min, Math.min(max, v));
    }

    private static long number(List<Object> a, int i) {
        Object o = i < a.size() ? a.get(i) : null;
        return o instanceof Number n ? n.longValue() : 0;
    }
}
