package io.gemgate.core.keys;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.settings.KeyBudget;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * The upstream keys and what is known about each of them: which may serve which model now, and which to pick next.
 * The one object the rest of the gateway holds; each call is done by one of its parts:
 * <ul>
 *   <li>{@link KeySelector}: selection ({@link #acquire}, {@link #acquireKey}) and availability
 *       ({@link #unavailable}, {@link #hasAvailableKey}, {@link #nextFreeMillis}, {@link #status});</li>
 *   <li>{@link KeyVerdicts}: what an answer says of a key ({@link #record}, {@link #recordUsage},
 *       {@link #liftCooldown}) and rests another gateway recorded ({@link #applyRest});</li>
 *   <li>{@link KeyAdmin}: keys added, enabled, removed, marked, edited ({@link #edit}), by an admin or another
 *       gateway ({@link #applyKeyState}, {@link #applyAddedKeys}), or restored at start ({@link #restoreKey});</li>
 *   <li>{@link KeyRing}: what they share (the keys, models, group sets and lanes, settings, the dirty flag).</li>
 * </ul>
 * The state file's view of the pool is taken and restored by the state package's {@code PoolSnapshot}, through the
 * public read and restore methods here: this package does not depend on the state package.
 *
 * <p>Per-key definitions and marks are one immutable {@link KeyState} per key, per key and model the rest is one
 * immutable {@link KeyRest}; both are replaced whole by compare-and-set, so that a reader never sees half a change.
 * Counters that move with each request stay atomics beside them.
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

    private final KeyRing ring;
    private final KeySelector selector;
    private final KeyVerdicts verdicts;
    private final KeyAdmin admin;

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

        /**
         * A key was marked invalid, enabled, disabled, removed, restored or found valid, or edited; any thread. Once
         * per change: an edit of several fields is one call, after all of them apply ({@link ApiKey#state()}).
         */
        void keyChanged(ApiKey key);

        /** Keys were added at run time ({@link #addKeys}); called while the pool's lock is held. */
        void keysAdded(List<ApiKey> added);
    }

    /** Told of every verdict {@link #record} applies, on the caller's thread: it must not block. */
    @FunctionalInterface
    public interface VerdictListener {
        void verdict(ApiKey key, Verdict verdict, long nowMillis);
    }

    /**
     * @param keys     the configured keys, in file order; must not be empty
     * @param settings strategy, attempts and cooldowns
     * @param calendar where quota days begin and end
     * @param clock    epoch milliseconds ({@code System::currentTimeMillis} outside tests)
     */
    public KeyPool(List<KeySpec> keys, PoolSettings settings, QuotaCalendar calendar, LongSupplier clock) {
        this.ring = new KeyRing(keys, settings, calendar, clock);
        this.selector = new KeySelector(ring);
        this.verdicts = new KeyVerdicts(ring);
        this.admin = new KeyAdmin(ring);
    }

    // ---------------------------------------------------------------------------------------------------- models

    /**
     * The interned reference for a model name (with or without {@code models/}). Allocation-free once the name has
     * been seen; past {@value #MAX_MODELS} distinct names, new names share one bucket.
     */
    public ModelRef model(String name) {
        return ring.model(name);
    }

    /** Every model the pool has met, in order of first use. */
    public List<ModelRef> models() {
        return ring.models();
    }

    /** Every key: no group restriction. */
    public KeyGroups allKeys() {
        return ring.allKeys;
    }

    /**
     * The keys a request may use: those of the groups its model is routed to (the live setting {@code modelGroups};
     * null: every key) that are also among the groups its user token is limited to (empty or null: no limit). When
     * the two share no group, no key can serve. Interned: cheap to call per request once both are known.
     */
    public KeyGroups groups(Set<String> modelGroups, Set<String> tokenGroups) {
        return ring.groups(modelGroups, tokenGroups);
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
        return selector.acquire(model, ring.allKeys, attempts);
    }

    /**
     * {@link #acquire(ModelRef, KeyAttempts)} among the keys of {@code groups} only ({@link #groups}).
     *
     * @return the key, or null when none is left (then {@link #unavailable(ModelRef, KeyGroups)} says why)
     */
    public ApiKey acquire(ModelRef model, KeyGroups groups, KeyAttempts attempts) {
        return selector.acquire(model, groups, attempts);
    }

    /**
     * Acquires the key that holds a resource the request references (README, key affinity: files, caches, batches and
     * stores are bound to the project of the key that created them), or another key of its project, when it can serve
     * the model now and this request has not tried it; adds it to {@code attempts} and counts one request for it, as
     * {@link #acquire} does. Lock-free and allocation-free.
     *
     * @return the key, or null when neither the holder nor a key of its project can serve now (then
     *         {@link #cooldownUntil}, {@link #exhaustedUntil} and the key's own state say why)
     */
    public ApiKey acquireKey(ApiKey holder, ModelRef model, KeyAttempts attempts) {
        return selector.acquireKey(requireNonNull(holder, "holder"), model, attempts);
    }

    /**
     * Why no key is left for the model: 429 with the first cooldown's end when some key is only cooling down (or
     * over its budget for the minute), else 503 with the next daily reset.
     */
    public Unavailable unavailable(ModelRef model) {
        return selector.unavailable(model, ring.allKeys);
    }

    /**
     * {@link #unavailable(ModelRef)} among the keys of {@code groups}; the message names the groups. 503 when no key
     * is in them.
     */
    public Unavailable unavailable(ModelRef model, KeyGroups groups) {
        return selector.unavailable(model, groups);
    }

    /** True when some key could serve the model now (whether or not a given request has tried it). */
    public boolean hasAvailableKey(ModelRef model) {
        return selector.hasAvailableKey(model, ring.allKeys);
    }

    /** True when some key of {@code groups} could serve the model now (whether or not a request has tried it). */
    public boolean hasAvailableKey(ModelRef model, KeyGroups groups) {
        return selector.hasAvailableKey(model, groups);
    }

    /**
     * When the first key that is only cooling down for the model, or over its budget for the minute (not exhausted,
     * over its daily budget, invalid, disabled or removed), and not yet tried by this request becomes free, in epoch
     * millis; {@code Long.MAX_VALUE} when there is none.
     */
    public long nextFreeMillis(ModelRef model, KeyAttempts attempts) {
        return selector.nextFreeMillis(model, ring.allKeys, attempts);
    }

    /** {@link #nextFreeMillis(ModelRef, KeyAttempts)} among the keys of {@code groups}. */
    public long nextFreeMillis(ModelRef model, KeyGroups groups, KeyAttempts attempts) {
        return selector.nextFreeMillis(model, groups, attempts);
    }

    /** True while at least one key is enabled and valid (for {@code /ready}). */
    public boolean hasUsableKey() {
        return selector.hasUsableKey();
    }

    /** The state of a key for a model now. */
    public KeyStatus status(ApiKey k, ModelRef model) {
        return selector.status(k, model);
    }

    /** Today's counters of a key for a model. */
    public KeyUsage usage(ApiKey k, ModelRef model) {
        return selector.usage(k, model);
    }

    /** What the key has used of its budget for the model now, or null when the model has no budget. */
    public BudgetUse budgetUse(ApiKey k, ModelRef model) {
        return selector.budgetUse(k, model);
    }

    // -------------------------------------------------------------------------------------------------- verdicts

    /**
     * Records what an attempt with key {@code k} for {@code model} came to, and applies the verdict rules.
     *
     * @param latencyMillis time from request sent to response head (for the health score)
     */
    public void record(ApiKey k, ModelRef model, Verdict verdict, long latencyMillis) {
        verdicts.record(k, model, verdict, latencyMillis);
    }

    /**
     * Ends the cooldown a 429 of key {@code k} for the model set (on it and its project), when the 429 turned out
     * to be its exit's rate limit and not the key's ({@link io.gemgate.core.egress.Exits#rateLimited}).
     */
    public void liftCooldown(ApiKey k, ModelRef model) {
        verdicts.liftCooldown(k, model);
    }

    /** Adds the tokens an answer reported in its usageMetadata (to the day, and to the minute's budget). */
    public void recordUsage(ApiKey k, ModelRef model, long promptTokens, long outputTokens) {
        verdicts.recordUsage(k, model, promptTokens, outputTokens);
    }

    /**
     * The brake on invalid-key set-asides (README, "Failover and verdicts"): its alerts are shown by the admin API and
     * page.
     */
    public SetAsideBrake brake() {
        return verdicts.brake();
    }

    /** Replaces the brake (the configured share and window), before the pool serves. */
    public void brake(SetAsideBrake b) {
        verdicts.brake(b);
    }

    /** Sets the one listener told of every verdict (health history); null: none. */
    public void verdictListener(VerdictListener listener) {
        verdicts.verdictListener(listener);
    }

    /** True when {@code k} is (still) set aside as invalid. */
    public static boolean isInvalid(ApiKey k) {
        return k.isInvalid();
    }

    // -------------------------------------------------------------------------------------------------- settings

    /**
     * Costly failures ({@link VerdictKind#isCostly()}) a request may meet before it gives up: the live
     * {@code maxAttempts}. Cheap ones (429, invalid key) do not count; a request never gets a key twice.
     */
    public int maxAttempts() {
        return ring.settings.maxAttempts();
    }

    public PoolSettings settings() {
        return ring.settings;
    }

    /** Replaces the live settings; applies to the next selection. */
    public void settings(PoolSettings s) {
        ring.settings = requireNonNull(s, "settings");
        ring.markDirty();
    }

    /**
     * Replaces the per-key budgets (the live setting {@code keyBudgets}); applies to the next selection.
     *
     * @param budgetFor the budget of one key for a model name, {@link KeyBudget#NONE} when none applies
     */
    public void budgets(Function<String, KeyBudget> budgetFor) {
        ring.budgets(budgetFor);
        ring.dropLanes(); // which keys are paced changed
    }

    /**
     * Leases the per-key budgets from a shared store (true: {@link #newBudgetLeases}; README, "Limits across gateways")
     * or counts them here (false, the default: the budgets of {@link #budgets}). Applies to the next selection.
     *
     * @param gateways how many gateways share the budgets (sizes the units each may borrow)
     * @param wake     wakes the leaser when a lease runs low; called on event loops: no I/O, no allocation
     */
    public void leaseBudgets(boolean on, int gateways, Runnable wake) {
        boolean was = ring.budgets.isLeased();
        ring.budgets.leased(on, gateways, wake);
        if (was != on) {
            ring.dropLanes(); // which keys are paced changed
        }
    }

    /** True while the budgets are leased. */
    public boolean budgetsLeased() {
        return ring.budgets.isLeased();
    }

    /**
     * The keys and models that asked for a lease (their first request while leased, or the first since the leaser
     * forgot them) and have none yet; each is returned once until {@link BudgetLease#forget}. Cheap when none asked
     * (one volatile read); otherwise a scan of the keys' budgeted models, on the caller's thread.
     */
    public List<BudgetLease> newBudgetLeases() {
        KeyBudgetMeter m = ring.budgets;
        if (!m.newcomers) {
            return List.of();
        }
        m.newcomers = false;
        List<BudgetLease> out = new java.util.ArrayList<>();
        List<ModelRef> models = ring.models();
        for (ApiKey k : ring.keys()) {
            for (ModelRef model : models) {
                KeyModelState s = k.peek(model.index());
                if (s != null && s.leaseWanted && !s.leaseBooked) {
                    s.leaseBooked = true;
                    s.leaseWanted = false;
                    out.add(new BudgetLease(ring, k, model, s));
                }
            }
        }
        return out;
    }

    /** The budget of one key for the model: {@link KeyBudget#NONE} when nothing limits. */
    public KeyBudget budget(ModelRef model) {
        return ring.budgets.of(model);
    }

    public List<ApiKey> keys() {
        return List.of(ring.keys());
    }

    public QuotaCalendar calendar() {
        return ring.calendar;
    }

    /** The key with this id (fingerprint), or null. */
    public ApiKey find(String id) {
        return ring.find(id);
    }

    // ------------------------------------------------------------------------------------------------ run-time changes

    /** What {@link #addKeys} did. */
    public record AddResult(List<ApiKey> added, int duplicates) {
    }

    /**
     * Adds keys at run time (admin bulk add); keys already in the pool (same secret) are counted as duplicates. The
     * new ring is swapped in atomically: requests in flight keep the ring they started with.
     */
    public AddResult addKeys(List<KeySpec> specs) {
        return admin.addKeys(specs);
    }

    /**
     * Adds keys that another gateway added (they come from a shared store), as {@link #addKeys} does but without
     * telling the {@link Listener}.
     */
    public AddResult applyAddedKeys(List<KeySpec> specs) {
        return admin.applyAddedKeys(specs);
    }

    /** Takes a key out of rotation (or back in); false when the id is unknown. */
    public boolean setEnabled(String id, boolean enabled) {
        return admin.setEnabled(id, enabled);
    }

    /** Soft-removes a key (out of rotation, listed as removed) or restores it; false when the id is unknown. */
    public boolean setRemoved(String id, boolean removed) {
        return admin.setRemoved(id, removed);
    }

    /**
     * Sets a key aside as invalid with this reason, as an {@code INVALID_KEY} verdict would but without counting a
     * call (health checks set aside keys that keep failing); keeps the time of an earlier mark. False when the id is
     * unknown.
     */
    public boolean markInvalid(String id, String reason) {
        return admin.markInvalid(id, reason);
    }

    /** Clears a key's invalid mark (a probe or an admin found it good again); false when the id is unknown. */
    public boolean markValid(String id) {
        return admin.markValid(id);
    }

    /**
     * Changes a key's weight, label or project (null: unchanged) and rebuilds the schedule and project groups.
     *
     * @return false when the id is unknown
     * @throws IllegalArgumentException for a weight outside 1 to 100
     */
    public boolean update(String id, Integer weight, String label, String project) {
        return admin.edit(id, new KeyChange(weight, label, project, null, null));
    }

    /**
     * Changes a key's weight, label, project, tier or groups (null: unchanged) and rebuilds the schedule, project
     * groups and lanes.
     *
     * @return false when the id is unknown
     * @throws IllegalArgumentException for a weight outside 1 to 100, a tier outside 0 to {@value KeySpec#MAX_TIER}
     *                                  or a malformed group name
     */
    public boolean update(String id, Integer weight, String label, String project, Integer tier, Set<String> groups) {
        return admin.edit(id, new KeyChange(weight, label, project, tier, groups));
    }

    /**
     * Applies an edit whole (definition and enabled flag together): readers, the lanes and the {@link Listener} see
     * all of it or none of it; the listener hears of it once. Nothing changes when a field is invalid.
     *
     * @return false when the id is unknown
     * @throws IllegalArgumentException for a weight outside 1 to 100, a tier outside 0 to {@value KeySpec#MAX_TIER}
     *                                  or a malformed group name
     */
    public boolean edit(String id, KeyChange change) {
        return admin.edit(id, change);
    }

    // --------------------------------------------------------------------------------------------- shared store

    /**
     * Sets the one listener told of the changes other gateways must hear of; null: none. A shared store sets it once
     * at start.
     */
    public void listener(Listener l) {
        ring.listener(l);
    }

    /**
     * Raises a key's cooldown and exhaustion for a model to what another gateway recorded (the later end wins), without
     * telling the {@link Listener}. Ends already past change nothing.
     *
     * @return false when the id is unknown
     */
    public boolean applyRest(String id, String modelName, long cooldownUntil, long exhaustedUntil) {
        return verdicts.applyRest(id, modelName, cooldownUntil, exhaustedUntil);
    }

    /**
     * Sets a key's marks and definition as another gateway last set them, without telling the {@link Listener}.
     *
     * @param invalidSince  epoch millis since the key was found invalid; 0 = valid
     * @param invalidReason why; ignored when valid
     * @return false when the id is unknown
     * @throws IllegalArgumentException for a weight outside 1 to 100
     */
    public boolean applyKeyState(String id, boolean enabled, boolean removed, long invalidSince,
                                 String invalidReason, int weight, String label, String project) {
        return admin.applyKeyState(id, enabled, removed, invalidSince, invalidReason, weight, label, project, null,
                null);
    }

    /**
     * {@link #applyKeyState(String, boolean, boolean, long, String, int, String, String)} with the key's tier and
     * groups too. All of it applies as one change ({@link KeyState}).
     *
     * @throws IllegalArgumentException for a weight outside 1 to 100, a tier outside 0 to 9 or a bad group name
     */
    public boolean applyKeyState(String id, boolean enabled, boolean removed, long invalidSince,
                                 String invalidReason, int weight, String label, String project,
                                 int tier, Set<String> groups) {
        return admin.applyKeyState(id, enabled, removed, invalidSince, invalidReason, weight, label, project, tier,
                groups);
    }

    /** The end of a key's cooldown for a model in epoch millis, as recorded (it may be past); 0 = none. */
    public long cooldownUntil(ApiKey k, ModelRef model) {
        return rest(k, model).cooldownUntilMillis();
    }

    /** The end of a key's daily exhaustion for a model in epoch millis, as recorded (it may be past); 0 = none. */
    public long exhaustedUntil(ApiKey k, ModelRef model) {
        return rest(k, model).exhaustedUntilMillis();
    }

    /** A key's rest for a model as one value (its ends may be past); {@link KeyRest#NONE} when it has none. */
    public KeyRest rest(ApiKey k, ModelRef model) {
        KeyModelState s = k.peek(model.index());
        return s == null ? KeyRest.NONE : s.rest();
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
        long day = ring.calendar.dayStart(ring.clock.getAsLong());
        return k.state(model.index(), day).today(day);
    }

    // ------------------------------------------------------------------------------------------------ persistence

    /** True (once) when something changed since the last call: the persister writes only then. */
    public boolean takeDirty() {
        return ring.takeDirty();
    }

    /**
     * Marks the state changed, so that the next flush writes it. Written only when it flips: a store on every call
     * would bounce the pool's cache line between cores on the hot path.
     */
    public void markDirty() {
        ring.markDirty();
    }

    /** The pool's clock, epoch millis: what a snapshot is taken and restored against. */
    public long now() {
        return ring.clock.getAsLong();
    }

    /**
     * Restores a key's marks from the state file (the persister, before the pool serves), without telling the
     * {@link Listener}: enabled unless {@code disabled}, invalid since {@code invalidSince} (0: valid).
     *
     * @return false when the id is unknown
     */
    public boolean restoreKey(String id, boolean disabled, long invalidSince, String invalidReason) {
        return admin.restoreKey(id, disabled, invalidSince, invalidReason);
    }

    /**
     * Restores a key's rest and counters for a model from the state file: ends already past are dropped; the 429
     * streak and the counters only when {@code today} is given (the record is of the current quota day).
     *
     * @param today the day's counters indexed as {@link DayCounters} ({@code DayCounters.COUNT} of them), or null
     *              when the record is of an earlier day
     */
    public void restoreModel(ApiKey k, ModelRef model, long cooldownUntil, long exhaustedUntil, int rateLimitStreak,
                             long[] today) {
        admin.restoreModel(k, model, cooldownUntil, exhaustedUntil, rateLimitStreak, today);
    }

    /** Ends a restore: rests and marks were set behind the lanes' back, so they are built again on next use. */
    public void restored() {
        ring.dropLanes();
    }
}
