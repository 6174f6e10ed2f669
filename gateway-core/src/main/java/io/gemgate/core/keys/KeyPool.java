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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * The upstream keys and what is known about each of them: which may serve which model now, and which to pick next.
 *
 * <p>Keys live in an immutable {@link Ring} swapped atomically on change. Selection ({@link #acquire}) is lock-free
 * and allocation-free, and O(1) amortized whatever the pool size and however many keys rest: per model, the keys
 * that can serve it are kept by tier in {@link ModelLanes}, updated when a verdict, an expiry or an edit changes a key
 * (verdicts are rare next to requests). Round robin walks a shared cursor over a precomputed smooth weighted schedule,
 * skipping resting keys for every request; least used and adaptive compare two keys drawn among the usable ones (by
 * today's requests per weight, or by health), or all of them when a tier has {@value ModelLanes#EXACT_SCAN} or fewer.
 * A request uses the lowest tier that has a usable key for its model. Verdicts ({@link #record}) write
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
    /** Every key: what requests without a group restriction use. Its lanes (per model) hold the usable keys. */
    private final KeyGroups allKeys = new KeyGroups(java.util.Set.of(), true, false);
    /** Every interned group set, {@link #allKeys} first; copied on write (new sets are rare). */
    private volatile KeyGroups[] groupSets = {allKeys};
    private final ConcurrentHashMap<java.util.Set<String>, KeyGroups> groupsByNames = new ConcurrentHashMap<>();
    /** By the model's groups: the closed sets (none open to the request's token), which match no key. */
    private final ConcurrentHashMap<java.util.Set<String>, KeyGroups> closedByNames = new ConcurrentHashMap<>();
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
    private volatile SetAsideBrake brake = new SetAsideBrake();

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
        index(ring);
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
     * Picks an available key for the model that this request has not tried yet and that has budget left, in the lowest
     * tier that has one, adds it to {@code attempts} and counts one request for it. Lock-free, allocation-free, O(1)
     * amortized (see {@link ModelLanes}).
     *
     * @return the key, or null when none is left (then {@link #unavailable} says why)
     */
    public ApiKey acquire(ModelRef model, KeyAttempts attempts) {
        return acquire(model, allKeys, attempts);
    }

    /**
     * {@link #acquire(ModelRef, KeyAttempts)} among the keys of {@code groups} only ({@link #groups}).
     *
     * @return the key, or null when none is left (then {@link #unavailable(ModelRef, KeyGroups)} says why)
     */
    public ApiKey acquire(ModelRef model, KeyGroups groups, KeyAttempts attempts) {
        if (attempts.isSpent()) {
            return null;
        }
        long now = clock.getAsLong();
        ModelLanes l = lanes(model, groups, now);
        l.wake(now);
        KeyBudget budget = budgets.of(model);
        Strategy strategy = settings.strategy();
        // Without a budget, the constant NONE lets the JIT drop the budget checks from the inlined selection.
        ApiKey k = budget == KeyBudget.NONE ? l.select(strategy, attempts, now, KeyBudget.NONE)
                : selectWithinBudget(l, strategy, model, attempts, now, budget);
        if (k != null) {
            long day = calendar.dayStart(now);
            attempts.add(k.slot());
            k.state(model.index(), day).today(day).add(DayCounters.REQUESTS, 1);
            markDirty();
        }
        return k;
    }

    /** The lanes of a model and group set for the current ring, built when missing or made for an earlier ring. */
    private ModelLanes lanes(ModelRef model, KeyGroups groups, long now) {
        ModelLanes l = groups.lanes.get(model.index());
        if (l != null && l.keys == ring.keys) {
            return l;
        }
        return buildLanes(model, groups, now);
    }

    private synchronized ModelLanes buildLanes(ModelRef model, KeyGroups groups, long now) {
        ModelLanes l = groups.lanes.get(model.index());
        ApiKey[] keys = ring.keys;
        if (l == null || l.keys != keys) {
            l = new ModelLanes(this, keys, model, groups, now);
            groups.lanes.set(model.index(), l);
        }
        return l;
    }

    /** Every key: no group restriction. */
    public KeyGroups allKeys() {
        return allKeys;
    }

    /**
     * The keys a request may use: those of the groups its model is routed to (the live setting {@code modelGroups};
     * null: every key) that are also among the groups its user token is limited to (empty or null: no limit). When
     * the two share no group, no key can serve. Interned: cheap to call per request once both are known.
     */
    public KeyGroups groups(java.util.Set<String> modelGroups, java.util.Set<String> tokenGroups) {
        boolean tokenLimited = tokenGroups != null && !tokenGroups.isEmpty();
        if (modelGroups == null && !tokenLimited) {
            return allKeys;
        }
        java.util.Set<String> names;
        if (modelGroups == null) {
            names = tokenGroups;
        } else if (!tokenLimited) {
            names = modelGroups;
        } else {
            names = new java.util.TreeSet<>(modelGroups);
            names.retainAll(tokenGroups);
        }
        boolean closed = names.isEmpty();
        if (closed) {
            names = modelGroups;
        }
        KeyGroups g = (closed ? closedByNames : groupsByNames).get(names);
        return g != null ? g : internGroups(names, closed);
    }

    private synchronized KeyGroups internGroups(java.util.Set<String> names, boolean closed) {
        ConcurrentHashMap<java.util.Set<String>, KeyGroups> byNames = closed ? closedByNames : groupsByNames;
        KeyGroups g = byNames.get(names);
        if (g == null) {
            java.util.Set<String> copy = java.util.Collections.unmodifiableSortedSet(new java.util.TreeSet<>(names));
            g = new KeyGroups(copy, false, closed);
            KeyGroups[] next = java.util.Arrays.copyOf(groupSets, groupSets.length + 1);
            next[next.length - 1] = g;
            groupSets = next;
            byNames.put(copy, g);
        }
        return g;
    }

    /**
     * Acquires the key that holds a resource the request references (issue 13: files, caches, batches and stores are
     * bound to the project of the key that created them), or another key of its project, when it can serve the
     * model now and this request has not tried it; adds it to {@code attempts} and counts one request for it, as
     * {@link #acquire} does. Lock-free and allocation-free.
     *
     * @return the key, or null when neither the holder nor a key of its project can serve now (then
     *         {@link #cooldownUntil}, {@link #exhaustedUntil} and the key's own state say why)
     */
    public ApiKey acquireKey(ApiKey holder, ModelRef model, KeyAttempts attempts) {
        requireNonNull(holder, "holder");
        if (attempts.isSpent()) {
            return null;
        }
        long now = clock.getAsLong();
        long day = calendar.dayStart(now);
        KeyBudget budget = budgets.of(model);
        ApiKey k = null;
        if (!attempts.contains(holder.slot()) && usable(holder, model, now, budget)
                && (budget == KeyBudget.NONE || budgets.take(holder.state(model.index(), day), budget, now))) {
            k = holder;
        } else {
            for (ApiKey m : holder.projectGroup) {
                if (m != holder && !attempts.contains(m.slot()) && usable(m, model, now, budget)
                        && (budget == KeyBudget.NONE || budgets.take(m.state(model.index(), day), budget, now))) {
                    k = m;
                    break;
                }
            }
        }
        if (k != null) {
            attempts.add(k.slot());
            k.state(model.index(), day).today(day).add(DayCounters.REQUESTS, 1);
            markDirty();
        }
        return k;
    }

    /**
     * Selects a key with budget left and counts the minute's request for it. When a concurrent request took the
     * key's last one, that key is now over its budget: it leaves the lanes and another is selected.
     */
    private ApiKey selectWithinBudget(ModelLanes l, Strategy strategy, ModelRef model, KeyAttempts attempts, long now,
                                      KeyBudget budget) {
        long day = calendar.dayStart(now);
        ApiKey k = l.select(strategy, attempts, now, budget);
        for (int i = 0; k != null && !budgets.take(k.state(model.index(), day), budget, now); i++) {
            l.update(k, now);
            k = i < l.keys.length ? l.select(strategy, attempts, now, budget) : null;
        }
        return k;
    }

    /** Whether a key may serve the model now: in rotation, not resting, within its budget. */
    boolean usable(ApiKey k, ModelRef model, long now, KeyBudget budget) {
        if (!k.enabled || k.removed || k.invalidSince != 0) {
            return false;
        }
        KeyModelState s = k.peek(model.index());
        return s == null || (s.cooldownUntil <= now && s.exhaustedUntil <= now
                && (budget == KeyBudget.NONE || budgets.allows(s, budget, now)));
    }

    /**
     * When a key may serve the model again: {@code now} when it may now; the end of its cooldown, daily exhaustion,
     * or of the minute (day) whose budget it spent; {@code Long.MAX_VALUE} when it is out of rotation (disabled,
     * removed, invalid: an edit or a probe brings it back).
     */
    long wakeAt(ApiKey k, ModelRef model, long now) {
        if (!k.enabled || k.removed || k.invalidSince != 0) {
            return Long.MAX_VALUE;
        }
        KeyModelState s = k.peek(model.index());
        if (s == null) {
            return now;
        }
        long w = Math.max(s.cooldownUntil, s.exhaustedUntil);
        KeyBudget b = budgets.of(model);
        if (b != KeyBudget.NONE) {
            if (budgets.overForDay(s, b, now)) {
                w = Math.max(w, calendar.nextReset(now));
            } else if (budgets.overForMinute(s, b, now)) {
                w = Math.max(w, KeyBudgetMeter.nextMinute(now));
            }
        }
        return w <= now ? now : w;
    }

    /** Tells the lanes of a model (of every group set) that a key's state for it changed (a rest began or ended). */
    private void refile(ApiKey k, ModelRef model, long now) {
        for (KeyGroups g : groupSets) {
            ModelLanes l = g.lanes.get(model.index());
            if (l != null) {
                l.update(k, now);
            }
        }
    }

    /** Tells every model's lanes that a key changed as a whole (enabled, disabled, invalid, valid, removed). */
    private synchronized void refile(ApiKey k) {
        long now = clock.getAsLong();
        for (KeyGroups g : groupSets) {
            for (int i = 0; i < g.lanes.length(); i++) {
                ModelLanes l = g.lanes.get(i);
                if (l != null) {
                    l.update(k, now);
                }
            }
        }
    }

    /** Drops every model's lanes: they are built again, from the keys' state, on next use. */
    private synchronized void dropLanes() {
        for (KeyGroups g : groupSets) {
            for (int i = 0; i < g.lanes.length(); i++) {
                g.lanes.set(i, null);
            }
        }
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
                    refile(member, model, now);
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
                    refile(member, model, now);
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
                    refile(k);
                    keyChanged(k);
                }
            }
            case SERVER_ERROR, CONNECT_FAILURE, TIMEOUT, EMPTY_ANSWER -> {
                c.add(DayCounters.FAILURES, 1);
                s.cooldownUntil = Math.max(s.cooldownUntil, now + cfg.serverErrorCooldownMillis());
                k.healthFailure(now);
                if (s.cooldownUntil > now) {
                    refile(k, model, now);
                }
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
                refile(member, model, now); // the lanes take it back at once
            }
        }
        markDirty();
    }

    /** The brake on invalid-key set-asides (issue 13): its alerts are shown by the admin API and page. */
    public SetAsideBrake brake() {
        return brake;
    }

    /** Replaces the brake (the configured share and window), before the pool serves. */
    public void brake(SetAsideBrake b) {
        this.brake = requireNonNull(b, "b");
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
        return unavailable(model, allKeys);
    }

    /**
     * {@link #unavailable(ModelRef)} among the keys of {@code groups}; the message names the groups. 503 when no key
     * is in them.
     */
    public Unavailable unavailable(ModelRef model, KeyGroups groups) {
        long now = clock.getAsLong();
        // While no key can serve, every request asks this: reuse the answer for a moment rather than count the keys
        // again (O(keys)) each time. The lanes say in O(1) that none can serve; a new answer is made when one can.
        ModelLanes l = groups.lanes.get(model.index());
        boolean cacheable = l != null && l.keys == ring.keys && !l.hasUsable();
        if (cacheable) {
            ModelLanes.Answer a = l.unavailable;
            if (a != null && now - a.atMillis() < UNAVAILABLE_REUSE_MILLIS && now >= a.atMillis()) {
                return a.answer();
            }
        }
        Unavailable u = countUnavailable(model, groups, now);
        if (cacheable) {
            l.unavailable = new ModelLanes.Answer(now, u);
        }
        return u;
    }

    /** How long {@link #unavailable(ModelRef, KeyGroups)} reuses an answer while no key can serve. */
    static final long UNAVAILABLE_REUSE_MILLIS = 500;

    private Unavailable countUnavailable(ModelRef model, KeyGroups groups, long now) {
        ApiKey[] all = ring.keys;
        ApiKey[] keys = all;
        if (!groups.isAll()) {
            int n = 0;
            for (ApiKey k : all) {
                if (groups.matches(k)) {
                    n++;
                }
            }
            keys = new ApiKey[n];
            n = 0;
            for (ApiKey k : all) {
                if (groups.matches(k)) {
                    keys[n++] = k;
                }
            }
        }
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
        String of = groups.isAll() ? "" : " of " + groups.describe();
        if (groups.isClosed()) {
            return new Unavailable(503, 3600, name.substring(0, 1).toUpperCase(java.util.Locale.ROOT)
                    + name.substring(1) + " is served by the keys of " + groups.describe()
                    + ", which this client token may not use.");
        }
        if (keys.length == 0) {
            return new Unavailable(503, 3600, "No upstream key is in " + groups.describe() + ", to which " + name
                    + " is routed.");
        }
        if (firstFree != Long.MAX_VALUE) {
            long seconds = Math.max(1, ceilSeconds(firstFree - now));
            return new Unavailable(429, seconds, "All " + keys.length + " upstream keys" + of + " are cooling down for "
                    + name + (paced == 0 ? "" : " (" + paced + " at their budget for the minute)") + "; retry in "
                    + seconds + "s.");
        }
        long seconds = Math.max(1, ceilSeconds(calendar.nextReset(now) - now));
        return new Unavailable(503, seconds, "No upstream key" + of + " can serve " + name + ": " + exhausted
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
        return hasAvailableKey(model, allKeys);
    }

    /** True when some key of {@code groups} could serve the model now (whether or not a request has tried it). */
    public boolean hasAvailableKey(ModelRef model, KeyGroups groups) {
        long now = clock.getAsLong();
        ModelLanes l = groups.lanes.get(model.index());
        if (l != null && l.keys == ring.keys) {
            l.wake(now);
            if (!l.hasUsable()) {
                return false; // O(1) when every key rests (the lanes never miss a key that can serve)
            }
        }
        KeyBudget budget = budgets.of(model);
        for (ApiKey k : ring.keys) {
            if (k.enabled && !k.removed && k.invalidSince == 0 && groups.matches(k)
                    && freeAt(k.peek(model.index()), budget, now) <= now) {
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
        return nextFreeMillis(model, allKeys, attempts);
    }

    /** {@link #nextFreeMillis(ModelRef, KeyAttempts)} among the keys of {@code groups}. */
    public long nextFreeMillis(ModelRef model, KeyGroups groups, KeyAttempts attempts) {
        long first = Long.MAX_VALUE;
        long now = clock.getAsLong();
        KeyBudget budget = budgets.of(model);
        for (ApiKey k : ring.keys) {
            if (!k.enabled || k.removed || k.invalidSince != 0 || attempts.contains(k.slot()) || !groups.matches(k)) {
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
        dropLanes(); // which keys are paced changed
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
        refile(k);
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
        refile(k);
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
        refile(k);
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
        refile(k);
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
        return update(id, weight, label, project, null, null);
    }

    /**
     * Changes a key's weight, label, project, tier or groups (null: unchanged) and rebuilds the schedule, project
     * groups and lanes.
     *
     * @return false when the id is unknown
     * @throws IllegalArgumentException for a weight outside 1 to 100, a tier outside 0 to {@value KeySpec#MAX_TIER}
     *                                  or a malformed group name
     */
    public synchronized boolean update(String id, Integer weight, String label, String project, Integer tier,
                                       java.util.Set<String> groups) {
        ApiKey k = edit(id, weight, label, project, tier, groups);
        if (k != null) {
            keyChanged(k);
        }
        return k != null;
    }

    private ApiKey edit(String id, Integer weight, String label, String project, Integer tier,
                        java.util.Set<String> groups) {
        ApiKey k = find(id);
        if (k == null) {
            return null;
        }
        KeySpec now = k.spec();
        KeySpec next = new KeySpec(now.secret(), project == null ? now.project() : project,
                weight == null ? now.weight() : weight, label == null ? now.label() : label,
                tier == null ? now.tier() : tier, groups == null ? now.groups() : groups, now.proxy());
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
        refile(k, model(modelName), now);
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
        return k != null && applyKeyState(id, enabled, removed, invalidSince, invalidReason, weight, label, project,
                k.tier(), k.groups());
    }

    /**
     * {@link #applyKeyState(String, boolean, boolean, long, String, int, String, String)} with the key's tier and
     * groups too.
     *
     * @throws IllegalArgumentException for a weight outside 1 to 100, a tier outside 0 to 9 or a bad group name
     */
    public synchronized boolean applyKeyState(String id, boolean enabled, boolean removed, long invalidSince,
                                              String invalidReason, int weight, String label, String project,
                                              int tier, java.util.Set<String> groups) {
        ApiKey k = find(id);
        if (k == null) {
            return false;
        }
        String reason = invalidSince == 0 ? "" : requireNonNull(invalidReason, "invalidReason");
        KeySpec spec = k.spec();
        if (k.enabled == enabled && k.removed == removed && k.invalidSince == invalidSince
                && k.invalidReason.equals(reason) && spec.weight() == weight && spec.label().equals(label)
                && spec.project().equals(project) && spec.tier() == tier && spec.groups().equals(groups)) {
            return true; // the periodic re-read of the shared state finds most keys unchanged
        }
        edit(id, weight, label, project, tier, groups);
        k.enabled = enabled;
        k.removed = removed;
        k.invalidReason = reason;
        k.invalidSince = invalidSince;
        refile(k);
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
            return s == null ? null : s.day();
        }
        long day = calendar.dayStart(clock.getAsLong());
        return k.state(model.index(), day).today(day);
    }

    private void rebuild(ApiKey[] keys) {
        linkProjects(keys);
        index(keys);
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
                DayCounters c = s.day();
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
        dropLanes(); // rests and marks were set behind the lanes' back
        return matched;
    }

    // ----------------------------------------------------------------------------------------------- ring building

    /** Each key's position in the ring, for the lanes (a key's index changes only with a new ring). */
    private static void index(ApiKey[] keys) {
        for (int i = 0; i < keys.length; i++) {
            keys[i].index = i;
        }
    }

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
        if ((long) keys.length * total > 4_000_000L) {
            return spread(w, total);
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

    /**
     * The same shares for pools too large for the O(keys x total) smooth round robin: key i's j-th turn is placed at
     * virtual time (j + 0.5) / w[i] and the turns are sorted by it (stride scheduling), O(total log total).
     */
    private static int[] spread(int[] w, int total) {
        long[] turns = new long[total];
        int n = 0;
        for (int i = 0; i < w.length; i++) {
            for (int j = 0; j < w[i]; j++) {
                // virtual time in 1/2^20 steps in the high bits, the key in the low 22 bits (ties keep key order)
                long t = ((2L * j + 1) << 19) / w[i];
                turns[n++] = (t << 22) | i;
            }
        }
        java.util.Arrays.sort(turns);
        int[] schedule = new int[total];
        for (int k = 0; k < total; k++) {
            schedule[k] = (int) (turns[k] & ((1 << 22) - 1));
        }
        return schedule;
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }
}
