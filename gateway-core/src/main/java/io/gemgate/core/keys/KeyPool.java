package io.gemgate.core.keys;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.settings.KeyBudget;
import io.gemgate.core.state.StateSnapshot;
import io.gemgate.core.state.StateSnapshot.KeyRecord;
import io.gemgate.core.state.StateSnapshot.ModelRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * The upstream keys and what is known about each of them: which may serve which model now, and which to pick next.
 *
 * <p>Keys live in an immutable {@link Ring} swapped atomically on change. Selection ({@link #acquire}) is lock-free
 * and allocation-free: an atomic cursor over a precomputed weighted schedule (round robin), a scan for the fewest
 * requests today (least used), or two random choices compared on health (adaptive). Verdicts ({@link #record}) write
 * per key and model cooldowns, daily exhaustion, invalid marks and counters; a per-day or per-minute verdict on one
 * key applies to every key of the same project, which shares its quota. Optional per-key budgets
 * ({@link #budgets}) pass over a key that has spent its requests or tokens of the minute, or its requests of the day,
 * for a model (see {@link KeyBudgetMeter}).
 *
 * <p>Changes that other gateways must hear of (a shared store: cooldowns, exhaustion, invalid marks, admin edits,
 * keys added) are reported to one {@link Listener}; the {@code apply*} methods load changes that come from such a
 * store and report nothing, so that they are not sent back.
 *
 * <p>Thread-safe. Never blocks: safe to call from event loops.
 */
public final class KeyPool {
    /** Model name used for calls that name no model (model lists, files). */
    public static final String ANY_MODEL = "*";
    /** Bound on distinct model names, so that clients cannot grow the state without limit. */
    static final int MAX_MODELS = 256;
    /** Model name that collects every name past {@link #MAX_MODELS}. */
    static final String OTHER_MODELS = "(other)";

    private final LongSupplier clock;
    private final QuotaCalendar calendar;
    private final KeyBudgetMeter budgets;
    private final AtomicLong cursor = new AtomicLong();
    private final ConcurrentHashMap<String, ModelRef> models = new ConcurrentHashMap<>();
    private final AtomicReferenceArray<ModelRef> modelsByIndex = new AtomicReferenceArray<>(MAX_MODELS + 1);
    private final AtomicInteger nextModelIndex = new AtomicInteger();
    /** Slots are never reused, so that a request's tried-keys list stays right across ring changes. */
    private int nextSlot;
    private final ModelRef otherModels;
    private volatile PoolSettings settings;
    private volatile Ring ring;
    /** Set on every change worth persisting; cleared by {@link #takeDirty()}. */
    private volatile boolean dirty;
    /** Told of the changes a shared store publishes; null: none. */
    private volatile Listener listener;

    /**
     * Receives the changes of this pool that other gateways must hear of. Counters are not reported: a shared store
     * reads them ({@link #counters}) on its own schedule.
     */
    public interface Listener {
        /**
         * A verdict raised a key's cooldown or daily exhaustion for a model. Called on the recording thread, often an
         * event loop: note the change, hand it off and return; never block.
         */
        void restChanged(ApiKey key, ModelRef model);

        /** A key was marked invalid, enabled, disabled, removed, restored or found valid, or edited; any thread. */
        void keyChanged(ApiKey key);

        /** Keys were added at run time ({@link #addKeys}); called while the pool's lock is held. */
        void keysAdded(List<ApiKey> added);
    }

    private volatile VerdictListener verdictListener;
    private final SetAsideBrake brake = new SetAsideBrake();

    /** Told of every verdict {@link #record} applies, on the caller's thread: it must not block. */
    @FunctionalInterface
    public interface VerdictListener {
        void verdict(ApiKey key, Verdict verdict, long nowMillis);
    }

    /** The keys and the weighted round-robin schedule over them; immutable. */
    private record Ring(ApiKey[] keys, int[] schedule) {
    }

    /**
     * @param keys     the configured keys, in file order; must not be empty
     * @param settings strategy, attempts and cooldowns
     * @param calendar where quota days begin and end
     * @param clock    epoch milliseconds ({@code System::currentTimeMillis} outside tests)
     */
    public KeyPool(List<KeySpec> keys, PoolSettings settings, QuotaCalendar calendar, LongSupplier clock) {
        requireNonNull(keys, "keys");
        this.settings = requireNonNull(settings, "settings");
        this.calendar = requireNonNull(calendar, "calendar");
        this.clock = requireNonNull(clock, "clock");
        this.budgets = new KeyBudgetMeter(calendar);
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("keys: empty (expected: at least one key)");
        }
        java.util.LinkedHashMap<String, ApiKey> unique = new java.util.LinkedHashMap<>();
        for (KeySpec spec : keys) {
            ApiKey k = new ApiKey(nextSlot, spec);
            if (unique.putIfAbsent(k.fingerprint(), k) == null) {
                nextSlot++;
            }
        }
        ApiKey[] ring = unique.values().toArray(new ApiKey[0]);
        linkProjects(ring);
        this.ring = new Ring(ring, schedule(ring));
        model(ANY_MODEL);
        this.otherModels = intern(OTHER_MODELS);
    }

    // ---------------------------------------------------------------------------------------------------- models

    /**
     * The interned reference for a model name (with or without {@code models/}). Allocation-free once the name has
     * been seen; past {@value #MAX_MODELS} distinct names, new names share one bucket.
     */
    public ModelRef model(String name) {
        requireNonNull(name, "name");
        ModelRef m = models.get(name);
        if (m != null) {
            return m;
        }
        String bare = name.startsWith("models/") ? name.substring(7) : name;
        m = models.get(bare);
        if (m != null) {
            return m;
        }
        return intern(bare);
    }

    private ModelRef intern(String bare) {
        synchronized (models) {
            ModelRef m = models.get(bare);
            if (m != null) {
                return m;
            }
            int index = nextModelIndex.get();
            if (index >= MAX_MODELS && otherModels != null) {
                return otherModels;
            }
            nextModelIndex.incrementAndGet();
            m = new ModelRef(bare, index);
            budgets.add(m);
            modelsByIndex.set(index, m);
            models.put(bare, m);
            return m;
        }
    }

    // ------------------------------------------------------------------------------------------------- selection

    /**
     * Picks an available key for the model that this request has not tried yet and that has budget left, adds it to
     * {@code attempts} and counts one request for it. Lock-free and allocation-free.
     *
     * @return the key, or null when none is left (then {@link #unavailable} says why)
     */
    public ApiKey acquire(ModelRef model, KeyAttempts attempts) {
        if (attempts.isSpent()) {
            return null;
        }
        long now = clock.getAsLong();
        Ring r = ring;
        KeyBudget budget = budgets.of(model);
        // Without a budget, the constant NONE lets the JIT drop the budget checks from the inlined selection.
        ApiKey k = budget == KeyBudget.NONE ? select(r, model, attempts, now, KeyBudget.NONE)
                : selectWithinBudget(r, model, attempts, now, budget);
        if (k != null) {
            long day = calendar.dayStart(now);
            attempts.add(k.slot());
            k.state(model.index(), day).today(day).add(DayCounters.REQUESTS, 1);
            markDirty();
        }
        return k;
    }

    /**
     * Selects a key with budget left and counts the minute's request for it. When a concurrent request took the
     * key's last one, that key is now over its budget and another selection passes it over: one more selection per
     * key at most.
     */
    private ApiKey selectWithinBudget(Ring r, ModelRef model, KeyAttempts attempts, long now, KeyBudget budget) {
        long day = calendar.dayStart(now);
        ApiKey k = select(r, model, attempts, now, budget);
        for (int i = 0; k != null && !budgets.take(k.state(model.index(), day), budget, now); i++) {
            k = i < r.keys.length ? select(r, model, attempts, now, budget) : null;
        }
        return k;
    }

    private ApiKey select(Ring r, ModelRef model, KeyAttempts attempts, long now, KeyBudget budget) {
        return switch (settings.strategy()) {
            case ROUND_ROBIN -> roundRobin(r, model, attempts, now, budget);
            case LEAST_USED -> leastUsed(r, model, attempts, now, budget);
            case ADAPTIVE -> adaptive(r, model, attempts, now, budget);
        };
    }

    private boolean usable(ApiKey k, ModelRef model, KeyAttempts attempts, long now, KeyBudget budget) {
        if (!k.enabled || k.removed || k.invalidSince != 0 || attempts.contains(k.slot())) {
            return false;
        }
        KeyModelState s = k.peek(model.index());
        return s == null || (s.cooldownUntil <= now && s.exhaustedUntil <= now
                && (budget == KeyBudget.NONE || budgets.allows(s, budget, now)));
    }

    private ApiKey roundRobin(Ring r, ModelRef model, KeyAttempts attempts, long now, KeyBudget budget) {
        int[] schedule = r.schedule;
        ApiKey[] keys = r.keys;
        long c = cursor.getAndIncrement();
        // Walk the weighted schedule a bounded distance, then fall back to one pass over the keys, so that a pool
        // with most keys resting costs O(keys), not O(sum of weights).
        int probes = Math.min(schedule.length, keys.length * 2);
        for (int i = 0; i < probes; i++) {
            ApiKey k = keys[schedule[(int) Long.remainderUnsigned(c + i, schedule.length)]];
            if (usable(k, model, attempts, now, budget)) {
                return k;
            }
        }
        return firstUsable(keys, (int) Long.remainderUnsigned(c, keys.length), model, attempts, now, budget, null);
    }

    private ApiKey firstUsable(ApiKey[] keys, int start, ModelRef model, KeyAttempts attempts, long now,
                               KeyBudget budget, ApiKey except) {
        for (int i = 0; i < keys.length; i++) {
            int j = start + i;
            ApiKey k = keys[j >= keys.length ? j - keys.length : j];
            if (k != except && usable(k, model, attempts, now, budget)) {
                return k;
            }
        }
        return null;
    }

    private ApiKey leastUsed(Ring r, ModelRef model, KeyAttempts attempts, long now, KeyBudget budget) {
        ApiKey[] keys = r.keys;
        long day = calendar.dayStart(now);
        int start = (int) Long.remainderUnsigned(cursor.getAndIncrement(), keys.length);
        ApiKey best = null;
        double bestLoad = Double.MAX_VALUE;
        for (int i = 0; i < keys.length; i++) {
            int j = start + i;
            ApiKey k = keys[j >= keys.length ? j - keys.length : j];
            if (!usable(k, model, attempts, now, budget)) {
                continue;
            }
            KeyModelState s = k.peek(model.index());
            double load = (s == null ? 0 : s.todayValue(DayCounters.REQUESTS, day)) / (double) k.weight();
            if (load < bestLoad) {
                best = k;
                bestLoad = load;
            }
        }
        return best;
    }

    private ApiKey adaptive(Ring r, ModelRef model, KeyAttempts attempts, long now, KeyBudget budget) {
        ApiKey[] keys = r.keys;
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        ApiKey a = firstUsable(keys, rnd.nextInt(keys.length), model, attempts, now, budget, null);
        if (a == null) {
            return null;
        }
        ApiKey b = firstUsable(keys, rnd.nextInt(keys.length), model, attempts, now, budget, a);
        if (b == null) {
            return a;
        }
        return a.health().score(now) >= b.health().score(now) ? a : b;
    }

    // -------------------------------------------------------------------------------------------------- verdicts

    /**
     * Records what an attempt with key {@code k} for {@code model} came to, and applies the verdict rules.
     *
     * @param latencyMillis time from request sent to response head (for the health score)
     */
    public void record(ApiKey k, ModelRef model, Verdict verdict, long latencyMillis) {
        long now = clock.getAsLong();
        long day = calendar.dayStart(now);
        KeyModelState s = k.state(model.index(), day);
        DayCounters c = s.today(day);
        PoolSettings cfg = settings;
        switch (verdict.kind()) {
            case SUCCESS -> {
                c.add(DayCounters.SUCCESSES, 1);
                if (s.rateLimitStreak != 0) { // no store (no cache line taken from another core) when already 0
                    s.rateLimitStreak = 0;
                }
                k.healthSuccess(latencyMillis);
            }
            case CLIENT_ERROR -> {
                // The client's fault: no penalty for the key.
            }
            case QUOTA_DAY -> {
                c.add(DayCounters.FAILURES, 1);
                c.add(DayCounters.RATE_LIMITED, 1);
                long until = calendar.nextReset(now);
                for (ApiKey member : k.projectGroup) {
                    KeyModelState ms = member.state(model.index(), day);
                    ms.exhaustedUntil = Math.max(ms.exhaustedUntil, until);
                    restChanged(member, model);
                }
            }
            case RATE_LIMIT -> {
                c.add(DayCounters.FAILURES, 1);
                c.add(DayCounters.RATE_LIMITED, 1);
                long delay;
                if (verdict.retryDelayMillis() >= 0) {
                    delay = Math.max(1_000, verdict.retryDelayMillis());
                } else {
                    int streak = Math.min(s.rateLimitStreak, 20);
                    delay = Math.min(cfg.rateLimitCooldownMaxMillis(), cfg.rateLimitCooldownMillis() << streak);
                    s.rateLimitStreak = streak + 1;
                }
                long until = now + delay;
                for (ApiKey member : k.projectGroup) {
                    KeyModelState ms = member.state(model.index(), day);
                    ms.cooldownUntil = Math.max(ms.cooldownUntil, until);
                    restChanged(member, model);
                }
                k.healthFailure(now);
            }
            case INVALID_KEY -> {
                c.add(DayCounters.FAILURES, 1);
                // The brake (SetAsideBrake): past a share of the pool within a window, keys stay in rotation.
                if (k.invalidSince != 0 || brake.admit(verdict.reason(), now, poolSize())) {
                    k.invalidReason = verdict.reason();
                    k.invalidSince = now;
                    k.healthFailure(now);
                    keyChanged(k);
                }
            }
            case SERVER_ERROR, CONNECT_FAILURE, TIMEOUT, EMPTY_ANSWER -> {
                c.add(DayCounters.FAILURES, 1);
                s.cooldownUntil = Math.max(s.cooldownUntil, now + cfg.serverErrorCooldownMillis());
                k.healthFailure(now);
                restChanged(k, model);
            }
        }
        markDirty();
        VerdictListener l = verdictListener;
        if (l != null) {
            l.verdict(k, verdict, now);
        }
    }

    /**
     * Ends the cooldown a 429 of key {@code k} for the model set (on it and its project), when the 429 turned out
     * to be its exit's rate limit and not the key's ({@link io.gemgate.core.egress.Exits#rateLimited}).
     */
    public void liftCooldown(ApiKey k, ModelRef model) {
        long now = clock.getAsLong();
        for (ApiKey member : k.projectGroup) {
            KeyModelState s = member.peek(model.index());
            if (s != null && s.cooldownUntil > now) {
                s.cooldownUntil = now;
                s.rateLimitStreak = 0;
            }
        }
        markDirty();
    }

    /** The brake on invalid-key set-asides (issue 13): its alerts are shown by the admin API and page. */
    public SetAsideBrake brake() {
        return brake;
    }

    /** True when {@code k} is (still) set aside as invalid. */
    public static boolean isInvalid(ApiKey k) {
        return k.invalidSince != 0;
    }

    /** Keys in the pool that are not removed. */
    private int poolSize() {
        int n = 0;
        for (ApiKey k : ring.keys()) {
            if (!k.removed) {
                n++;
            }
        }
        return n;
    }

    /** Sets the one listener told of every verdict (health history); null: none. */
    public void verdictListener(VerdictListener listener) {
        this.verdictListener = listener;
    }

    /** Adds the tokens an answer reported in its usageMetadata (to the day, and to the minute's budget). */
    public void recordUsage(ApiKey k, ModelRef model, long promptTokens, long outputTokens) {
        long now = clock.getAsLong();
        long day = calendar.dayStart(now);
        KeyModelState s = k.state(model.index(), day);
        DayCounters c = s.today(day);
        c.add(DayCounters.PROMPT_TOKENS, promptTokens);
        c.add(DayCounters.OUTPUT_TOKENS, outputTokens);
        budgets.addTokens(s, budgets.of(model), promptTokens + outputTokens, now);
        markDirty();
    }

    /**
     * Why no key is left for the model: 429 with the first cooldown's end when some key is only cooling down (or
     * over its budget for the minute), else 503 with the next daily reset.
     */
    public Unavailable unavailable(ModelRef model) {
        long now = clock.getAsLong();
        ApiKey[] keys = ring.keys;
        KeyBudget budget = budgets.of(model);
        long firstFree = Long.MAX_VALUE;
        int exhausted = 0;
        int invalid = 0;
        int disabled = 0;
        int paced = 0;
        for (ApiKey k : keys) {
            if (!k.enabled || k.removed) {
                disabled++;
                continue;
            }
            if (k.invalidSince != 0) {
                invalid++;
                continue;
            }
            KeyModelState s = k.peek(model.index());
            long free = freeAt(s, budget, now);
            if (free == Long.MAX_VALUE) {
                exhausted++;
            } else {
                firstFree = Math.min(firstFree, free); // now: usable, but already tried by this request
                if (s != null && budget != KeyBudget.NONE && budgets.overForMinute(s, budget, now)) {
                    paced++;
                }
            }
        }
        String name = model.name().equals(ANY_MODEL) ? "this call" : "model " + model.name();
        if (firstFree != Long.MAX_VALUE) {
            long seconds = Math.max(1, ceilSeconds(firstFree - now));
            return new Unavailable(429, seconds, "All " + keys.length + " upstream keys are cooling down for " + name
                    + (paced == 0 ? "" : " (" + paced + " at their budget for the minute)") + "; retry in " + seconds
                    + "s.");
        }
        long seconds = Math.max(1, ceilSeconds(calendar.nextReset(now) - now));
        return new Unavailable(503, seconds, "No upstream key can serve " + name + ": " + exhausted
                + " exhausted for today, " + invalid + " invalid, " + disabled + " disabled. Daily quotas reset in "
                + seconds + "s.");
    }

    /**
     * When a valid, enabled key is free for the model again: {@code now} or earlier when it is; the end of its
     * cooldown or of the minute whose budget it spent; {@code Long.MAX_VALUE} when it is exhausted for the day or has
     * spent the day's budget.
     */
    private long freeAt(KeyModelState s, KeyBudget budget, long now) {
        if (s == null) {
            return now;
        }
        if (s.exhaustedUntil > now || (budget != KeyBudget.NONE && budgets.overForDay(s, budget, now))) {
            return Long.MAX_VALUE;
        }
        long free = Math.max(now, s.cooldownUntil);
        return budget != KeyBudget.NONE && budgets.overForMinute(s, budget, now)
                ? Math.max(free, KeyBudgetMeter.nextMinute(now)) : free;
    }

    private static long ceilSeconds(long millis) {
        return (millis + 999) / 1000;
    }

    /** True when some key could serve the model now (whether or not a given request has tried it). */
    public boolean hasAvailableKey(ModelRef model) {
        long now = clock.getAsLong();
        KeyBudget budget = budgets.of(model);
        for (ApiKey k : ring.keys) {
            if (k.enabled && !k.removed && k.invalidSince == 0 && freeAt(k.peek(model.index()), budget, now) <= now) {
                return true;
            }
        }
        return false;
    }

    /**
     * When the first key that is only cooling down for the model, or over its budget for the minute (not exhausted,
     * over its daily budget, invalid, disabled or removed), and not yet tried by this request becomes free, in epoch
     * millis; {@code Long.MAX_VALUE} when there is none.
     */
    public long nextFreeMillis(ModelRef model, KeyAttempts attempts) {
        long first = Long.MAX_VALUE;
        long now = clock.getAsLong();
        KeyBudget budget = budgets.of(model);
        for (ApiKey k : ring.keys) {
            if (!k.enabled || k.removed || k.invalidSince != 0 || attempts.contains(k.slot())) {
                continue;
            }
            first = Math.min(first, freeAt(k.peek(model.index()), budget, now));
        }
        return first;
    }

    /** True while at least one key is enabled and valid (for {@code /ready}). */
    public boolean hasUsableKey() {
        for (ApiKey k : ring.keys) {
            if (k.enabled && !k.removed && k.invalidSince == 0) {
                return true;
            }
        }
        return false;
    }

    // --------------------------------------------------------------------------------------------- inspection

    /**
     * Costly failures ({@link VerdictKind#isCostly()}) a request may meet before it gives up: the live
     * {@code maxAttempts}. Cheap ones (429, invalid key) do not count; a request never gets a key twice.
     */
    public int maxAttempts() {
        return settings.maxAttempts();
    }

    public PoolSettings settings() {
        return settings;
    }

    /** Replaces the live settings; applies to the next selection. */
    public void settings(PoolSettings s) {
        this.settings = requireNonNull(s, "settings");
        markDirty();
    }

    /**
     * Replaces the per-key budgets (the live setting {@code keyBudgets}); applies to the next selection.
     *
     * @param budgetFor the budget of one key for a model name, {@link KeyBudget#NONE} when none applies
     */
    public void budgets(Function<String, KeyBudget> budgetFor) {
        synchronized (models) { // with intern: a model met meanwhile gets the new budgets too
            budgets.budgets(budgetFor, models());
        }
    }

    /** The budget of one key for the model: {@link KeyBudget#NONE} when nothing limits. */
    public KeyBudget budget(ModelRef model) {
        return budgets.of(model);
    }

    /** What the key has used of its budget for the model now, or null when the model has no budget. */
    public BudgetUse budgetUse(ApiKey k, ModelRef model) {
        KeyBudget b = budgets.of(model);
        return b == KeyBudget.NONE ? null : budgets.use(k.peek(model.index()), b, clock.getAsLong());
    }

    public List<ApiKey> keys() {
        return List.of(ring.keys);
    }

    public QuotaCalendar calendar() {
        return calendar;
    }

    /** The state of a key for a model now. */
    public KeyStatus status(ApiKey k, ModelRef model) {
        long now = clock.getAsLong();
        if (k.removed) {
            return new KeyStatus(KeyStatus.State.REMOVED, "removed", 0);
        }
        if (!k.enabled) {
            return new KeyStatus(KeyStatus.State.DISABLED, "disabled", 0);
        }
        if (k.invalidSince != 0) {
            return new KeyStatus(KeyStatus.State.INVALID, k.invalidReason, 0);
        }
        KeyModelState s = k.peek(model.index());
        if (s != null && s.exhaustedUntil > now) {
            return new KeyStatus(KeyStatus.State.EXHAUSTED, "daily quota", s.exhaustedUntil);
        }
        if (s != null && s.cooldownUntil > now) {
            return new KeyStatus(KeyStatus.State.COOLING, "cooling down", s.cooldownUntil);
        }
        KeyBudget b = budgets.of(model);
        if (s != null && b != KeyBudget.NONE) {
            if (budgets.overForDay(s, b, now)) {
                return new KeyStatus(KeyStatus.State.EXHAUSTED, "daily budget", calendar.nextReset(now));
            }
            if (budgets.overForMinute(s, b, now)) {
                return new KeyStatus(KeyStatus.State.COOLING, "budget for the minute", KeyBudgetMeter.nextMinute(now));
            }
        }
        return new KeyStatus(KeyStatus.State.ACTIVE, "", 0);
    }

    /** Today's counters of a key for a model. */
    public KeyUsage usage(ApiKey k, ModelRef model) {
        long day = calendar.dayStart(clock.getAsLong());
        KeyModelState s = k.peek(model.index());
        if (s == null) {
            return KeyUsage.ZERO;
        }
        return new KeyUsage(s.todayValue(DayCounters.REQUESTS, day), s.todayValue(DayCounters.SUCCESSES, day),
                s.todayValue(DayCounters.FAILURES, day), s.todayValue(DayCounters.RATE_LIMITED, day),
                s.todayValue(DayCounters.PROMPT_TOKENS, day), s.todayValue(DayCounters.OUTPUT_TOKENS, day));
    }

    /** Every model the pool has met, in order of first use. */
    public List<ModelRef> models() {
        List<ModelRef> out = new ArrayList<>();
        for (int i = 0; i < nextModelIndex.get(); i++) {
            ModelRef m = modelsByIndex.get(i);
            if (m != null) {
                out.add(m);
            }
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------------ run-time changes

    /** What {@link #addKeys} did. */
    public record AddResult(List<ApiKey> added, int duplicates) {
    }

    /**
     * Adds keys at run time (admin bulk add); keys already in the pool (same secret) are counted as duplicates. The
     * new ring is swapped in atomically: requests in flight keep the ring they started with.
     */
    public synchronized AddResult addKeys(List<KeySpec> specs) {
        AddResult r = add(specs);
        Listener l = listener;
        if (l != null && !r.added().isEmpty()) {
            l.keysAdded(r.added());
        }
        return r;
    }

    /**
     * Adds keys that another gateway added (they come from a shared store), as {@link #addKeys} does but without
     * telling the {@link Listener}.
     */
    public synchronized AddResult applyAddedKeys(List<KeySpec> specs) {
        return add(specs);
    }

    private AddResult add(List<KeySpec> specs) {
        Map<String, ApiKey> byId = new LinkedHashMap<>();
        for (ApiKey k : ring.keys) {
            byId.put(k.fingerprint(), k);
        }
        List<ApiKey> added = new ArrayList<>();
        int duplicates = 0;
        for (KeySpec spec : specs) {
            ApiKey k = new ApiKey(nextSlot, spec);
            if (byId.putIfAbsent(k.fingerprint(), k) != null) {
                duplicates++;
                continue;
            }
            nextSlot++;
            added.add(k);
        }
        if (!added.isEmpty()) {
            rebuild(byId.values().toArray(new ApiKey[0]));
        }
        return new AddResult(List.copyOf(added), duplicates);
    }

    /** The key with this id (fingerprint), or null. */
    public ApiKey find(String id) {
        for (ApiKey k : ring.keys) {
            if (k.fingerprint().equals(id)) {
                return k;
            }
        }
        return null;
    }

    /** Takes a key out of rotation (or back in); false when the id is unknown. */
    public boolean setEnabled(String id, boolean enabled) {
        ApiKey k = find(id);
        if (k == null) {
            return false;
        }
        k.enabled = enabled;
        markDirty();
        keyChanged(k);
        return true;
    }

    /** Soft-removes a key (out of rotation, listed as removed) or restores it; false when the id is unknown. */
    public boolean setRemoved(String id, boolean removed) {
        ApiKey k = find(id);
        if (k == null) {
            return false;
        }
        k.removed = removed;
        markDirty();
        keyChanged(k);
        return true;
    }

    /**
     * Sets a key aside as invalid with this reason, as an {@code INVALID_KEY} verdict would but without counting a
     * call (health checks set aside keys that keep failing); keeps the time of an earlier mark. False when the id is
     * unknown.
     */
    public boolean markInvalid(String id, String reason) {
        ApiKey k = find(id);
        if (k == null) {
            return false;
        }
        k.invalidReason = requireNonNull(reason, "reason");
        if (k.invalidSince == 0) {
            k.invalidSince = clock.getAsLong();
        }
        markDirty();
        keyChanged(k);
        return true;
    }

    /** Clears a key's invalid mark (a probe or an admin found it good again); false when the id is unknown. */
    public boolean markValid(String id) {
        ApiKey k = find(id);
        if (k == null) {
            return false;
        }
        k.invalidSince = 0;
        k.invalidReason = "";
        markDirty();
        keyChanged(k);
        return true;
    }

    /**
     * Changes a key's weight, label or project (null: unchanged) and rebuilds the schedule and project groups.
     *
     * @return false when the id is unknown
     * @throws IllegalArgumentException for a weight outside 1 to 100
     */
    public synchronized boolean update(String id, Integer weight, String label, String project) {
        ApiKey k = edit(id, weight, label, project);
        if (k != null) {
            keyChanged(k);
        }
        return k != null;
    }

    private ApiKey edit(String id, Integer weight, String label, String project) {
        ApiKey k = find(id);
        if (k == null) {
            return null;
        }
        KeySpec now = k.spec();
        KeySpec next = new KeySpec(now.secret(), project == null ? now.project() : project,
                weight == null ? now.weight() : weight, label == null ? now.label() : label, now.proxy());
        if (!next.equals(now)) {
            k.apply(next);
            rebuild(ring.keys.clone());
        }
        markDirty();
        return k;
    }

    // --------------------------------------------------------------------------------------------- shared store

    /**
     * Sets the one listener told of the changes other gateways must hear of; null: none. A shared store sets it once
     * at start.
     */
    public void listener(Listener l) {
        this.listener = l;
    }

    private void restChanged(ApiKey k, ModelRef model) {
        Listener l = listener;
        if (l != null) {
            l.restChanged(k, model);
        }
    }

    private void keyChanged(ApiKey k) {
        Listener l = listener;
        if (l != null) {
            l.keyChanged(k);
        }
    }

    /**
     * Raises a key's cooldown and exhaustion for a model to what another gateway recorded (the later end wins), without
     * telling the {@link Listener}. Ends already past change nothing.
     *
     * @return false when the id is unknown
     */
    public boolean applyRest(String id, String modelName, long cooldownUntil, long exhaustedUntil) {
        ApiKey k = find(id);
        if (k == null) {
            return false;
        }
        long now = clock.getAsLong();
        if (cooldownUntil <= now && exhaustedUntil <= now) {
            return true;
        }
        KeyModelState s = k.state(model(modelName).index(), calendar.dayStart(now));
        if (cooldownUntil > s.cooldownUntil) {
            s.cooldownUntil = cooldownUntil;
            markDirty();
        }
        if (exhaustedUntil > s.exhaustedUntil) {
            s.exhaustedUntil = exhaustedUntil;
            markDirty();
        }
        return true;
    }

    /**
     * Sets a key's marks and definition as another gateway last set them, without telling the {@link Listener}.
     *
     * @param invalidSince  epoch millis since the key was found invalid; 0 = valid
     * @param invalidReason why; ignored when valid
     * @return false when the id is unknown
     * @throws IllegalArgumentException for a weight outside 1 to 100
     */
    public synchronized boolean applyKeyState(String id, boolean enabled, boolean removed, long invalidSince,
                                              String invalidReason, int weight, String label, String project) {
        ApiKey k = find(id);
        if (k == null) {
            return false;
        }
        String reason = invalidSince == 0 ? "" : requireNonNull(invalidReason, "invalidReason");
        KeySpec spec = k.spec();
        if (k.enabled == enabled && k.removed == removed && k.invalidSince == invalidSince
                && k.invalidReason.equals(reason) && spec.weight() == weight && spec.label().equals(label)
                && spec.project().equals(project)) {
            return true; // the periodic re-read of the shared state finds most keys unchanged
        }
        edit(id, weight, label, project);
        k.enabled = enabled;
        k.removed = removed;
        k.invalidReason = reason;
        k.invalidSince = invalidSince;
        markDirty();
        return true;
    }

    /** The end of a key's cooldown for a model in epoch millis, as recorded (it may be past); 0 = none. */
    public long cooldownUntil(ApiKey k, ModelRef model) {
        KeyModelState s = k.peek(model.index());
        return s == null ? 0 : s.cooldownUntil;
    }

    /** The end of a key's daily exhaustion for a model in epoch millis, as recorded (it may be past); 0 = none. */
    public long exhaustedUntil(ApiKey k, ModelRef model) {
        KeyModelState s = k.peek(model.index());
        return s == null ? 0 : s.exhaustedUntil;
    }

    /**
     * The live counters of a key for a model, for a shared store that adds other gateways' counts to them.
     *
     * @param create true: today's, created when missing or of an earlier day; false: the current set as it is, maybe
     *               of an earlier day ({@link DayCounters#dayStart()}), or null when the key has not met the model
     */
    public DayCounters counters(ApiKey k, ModelRef model, boolean create) {
        if (!create) {
            KeyModelState s = k.peek(model.index());
            return s == null ? null : s.day.get();
        }
        long day = calendar.dayStart(clock.getAsLong());
        return k.state(model.index(), day).today(day);
    }

    private void rebuild(ApiKey[] keys) {
        linkProjects(keys);
        ring = new Ring(keys, schedule(keys));
        markDirty();
    }

    // ------------------------------------------------------------------------------------------------ persistence

    /** True (once) when something changed since the last call: the persister writes only then. */
    public boolean takeDirty() {
        if (!dirty) {
            return false;
        }
        dirty = false;
        return true;
    }

    /**
     * Marks the state changed, so that the next flush writes it. Written only when it flips: a store on every call
     * would bounce the pool's cache line between cores on the hot path.
     */
    public void markDirty() {
        if (!dirty) {
            dirty = true;
        }
    }

    /** The persisted view: per key (by fingerprint) its marks, cooldowns, exhaustion and today's counters. */
    public StateSnapshot snapshot() {
        long now = clock.getAsLong();
        long day = calendar.dayStart(now);
        List<ModelRef> known = models();
        List<KeyRecord> records = new ArrayList<>();
        for (ApiKey k : ring.keys) {
            List<ModelRecord> ms = new ArrayList<>();
            for (ModelRef m : known) {
                KeyModelState s = k.peek(m.index());
                if (s == null) {
                    continue;
                }
                DayCounters c = s.day.get();
                boolean today = c.dayStart == day;
                ms.add(new ModelRecord(m.name(), s.cooldownUntil > now ? s.cooldownUntil : 0, s.rateLimitStreak,
                        s.exhaustedUntil > now ? s.exhaustedUntil : 0, day,
                        today ? c.get(DayCounters.REQUESTS) : 0, today ? c.get(DayCounters.SUCCESSES) : 0,
                        today ? c.get(DayCounters.FAILURES) : 0, today ? c.get(DayCounters.RATE_LIMITED) : 0,
                        today ? c.get(DayCounters.PROMPT_TOKENS) : 0, today ? c.get(DayCounters.OUTPUT_TOKENS) : 0));
            }
            records.add(new KeyRecord(k.fingerprint(), !k.enabled, k.invalidSince, k.invalidReason, ms));
        }
        return new StateSnapshot(StateSnapshot.CURRENT_VERSION, now, records);
    }

    /**
     * Restores a snapshot taken by {@link #snapshot()}: keys are matched by fingerprint (keys no longer configured
     * are ignored), counters are kept only if they belong to the current quota day, and cooldowns and exhaustion
     * only if they have not ended.
     *
     * @return how many configured keys were found in the snapshot
     */
    public int restore(StateSnapshot snapshot) {
        long now = clock.getAsLong();
        long day = calendar.dayStart(now);
        Map<String, ApiKey> byFingerprint = new HashMap<>();
        for (ApiKey k : ring.keys) {
            byFingerprint.put(k.fingerprint(), k);
        }
        int matched = 0;
        for (KeyRecord r : snapshot.keys()) {
            ApiKey k = byFingerprint.get(r.fingerprint());
            if (k == null) {
                continue;
            }
            matched++;
            k.enabled = !r.disabled();
            k.invalidReason = r.invalidReason();
            k.invalidSince = r.invalidSinceMillis();
            for (ModelRecord mr : r.models()) {
                ModelRef m = model(mr.model());
                KeyModelState s = k.state(m.index(), day);
                if (mr.cooldownUntilMillis() > now) {
                    s.cooldownUntil = mr.cooldownUntilMillis();
                }
                if (mr.exhaustedUntilMillis() > now) {
                    s.exhaustedUntil = mr.exhaustedUntilMillis();
                }
                if (mr.dayStartMillis() == day) {
                    s.rateLimitStreak = mr.rateLimitStreak();
                    DayCounters c = s.today(day);
                    c.set(DayCounters.REQUESTS, mr.requests());
                    c.set(DayCounters.SUCCESSES, mr.successes());
                    c.set(DayCounters.FAILURES, mr.failures());
                    c.set(DayCounters.RATE_LIMITED, mr.rateLimited());
                    c.set(DayCounters.PROMPT_TOKENS, mr.promptTokens());
                    c.set(DayCounters.OUTPUT_TOKENS, mr.outputTokens());
                }
            }
        }
        return matched;
    }

    // ----------------------------------------------------------------------------------------------- ring building

    private static void linkProjects(ApiKey[] keys) {
        Map<String, List<ApiKey>> byProject = new LinkedHashMap<>();
        for (ApiKey k : keys) {
            k.projectGroup = new ApiKey[] {k};
            if (!k.project().isEmpty()) {
                byProject.computeIfAbsent(k.project(), p -> new ArrayList<>()).add(k);
            }
        }
        for (List<ApiKey> group : byProject.values()) {
            ApiKey[] g = group.toArray(new ApiKey[0]);
            for (ApiKey k : g) {
                k.projectGroup = g;
            }
        }
    }

    /**
     * Smooth weighted round robin (as nginx does it): each key appears {@code weight / gcd} times, spread out rather
     * than in runs. Equal weights give the keys in order.
     */
    static int[] schedule(ApiKey[] keys) {
        int g = 0;
        for (ApiKey k : keys) {
            g = gcd(g, k.weight());
        }
        int total = 0;
        int[] w = new int[keys.length];
        for (int i = 0; i < keys.length; i++) {
            w[i] = keys[i].weight() / g;
            total += w[i];
        }
        int[] schedule = new int[total];
        if (total == keys.length) {
            for (int i = 0; i < total; i++) {
                schedule[i] = i;
            }
            return schedule;
        }
        int[] current = new int[keys.length];
        for (int n = 0; n < total; n++) {
            int best = 0;
            for (int i = 0; i < keys.length; i++) {
                current[i] += w[i];
                if (current[i] > current[best]) {
                    best = i;
                }
            }
            current[best] -= total;
            schedule[n] = best;
        }
        return schedule;
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }
}
