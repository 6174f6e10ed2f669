package io.gemgate.server.metrics;

import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.KeyStatus;
import io.gemgate.core.keys.KeyUsage;
import io.gemgate.core.keys.ModelRef;
import io.gemgate.core.settings.KeyBudget;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The key pool's gauges ({@link GatewayMeters#KEY_STATE} and the other per-key and pool meters), read from the
 * {@link KeyPool} at each scrape by {@link #refresh()}: it works out the models in use, adds the series of keys and
 * models that appeared, removes those that went away, and stores the values that the gauges then report. So one
 * scrape sees one consistent reading of the pool, and the set of series follows keys added or removed at run time.
 *
 * <p>Thread-safe: {@link #refresh()} is synchronized (scrapes are rare); the gauges read volatile fields.
 */
final class KeyPoolGauges {
    private static final KeyStatus.State[] STATES = KeyStatus.State.values();

    private final MeterRegistry registry;
    private final KeyPool pool;
    private final Gauge configured;
    private volatile int configuredCount;
    /** By key fingerprint and model name. */
    private final Map<String, KeyRow> keyRows = new HashMap<>();
    private final Map<String, ModelRow> modelRows = new HashMap<>();
    /** By model name and tier. */
    private final Map<String, TierRow> tierRows = new HashMap<>();

    KeyPoolGauges(MeterRegistry registry, KeyPool pool) {
        this.registry = registry;
        this.pool = pool;
        this.configured = Gauge.builder(GatewayMeters.KEYS_CONFIGURED, this, g -> g.configuredCount)
                .description("Keys in the pool, soft-removed ones excluded").strongReference(true).register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder(GatewayMeters.KEYS_SET_ASIDE_BRAKED, pool,
                        p -> p.brake().braked())
                .description("Invalid-key set-asides the brake refused; the keys kept serving").register(registry);
        Gauge.builder(GatewayMeters.KEYS_SET_ASIDE_BRAKE_ENGAGED, pool,
                        p -> p.brake().isEngaged(System.currentTimeMillis()) ? 1 : 0)
                .description("1 while the set-aside brake holds for some reason").strongReference(true)
                .register(registry);
    }

    /** Reads the pool and updates the gauges (and their set). */
    synchronized void refresh() {
        List<ApiKey> keys = pool.keys();
        List<ModelRef> models = modelsInUse(keys);
        Set<String> seenKeys = new HashSet<>();
        Set<String> seenModels = new HashSet<>();
        Set<String> seenTiers = new HashSet<>();
        int notRemoved = 0;
        for (ApiKey k : keys) {
            if (!k.isRemoved()) {
                notRemoved++;
            }
        }
        configuredCount = notRemoved;
        for (ModelRef m : models) {
            long rpd = pool.budget(m).rpd(); // the live budgets (setting keyBudgets); none for "*"
            int usable = 0;
            Set<String> quotas = new HashSet<>();
            Map<Integer, int[]> usableByTier = new java.util.TreeMap<>();
            for (ApiKey k : keys) {
                String rowId = k.id() + '\n' + m.name();
                seenKeys.add(rowId);
                KeyRow row = keyRows.computeIfAbsent(rowId, id -> new KeyRow(k, m.name()));
                KeyStatus status = pool.status(k, m);
                KeyUsage usage = pool.usage(k, m);
                row.update(status, usage.requests(), rpd);
                int[] tierUsable = k.isRemoved() ? null : usableByTier.computeIfAbsent(k.tier(), t -> new int[1]);
                if (status.state() == KeyStatus.State.ACTIVE) {
                    usable++;
                    quotas.add(k.project().isEmpty() ? "key:" + k.id() : "project:" + k.project());
                    if (tierUsable != null) {
                        tierUsable[0]++;
                    }
                }
            }
            seenModels.add(m.name());
            modelRows.computeIfAbsent(m.name(), ModelRow::new).update(usable, quotas.size());
            for (Map.Entry<Integer, int[]> e : usableByTier.entrySet()) {
                String rowId = m.name() + '\n' + e.getKey();
                seenTiers.add(rowId);
                tierRows.computeIfAbsent(rowId, id -> new TierRow(m.name(), e.getKey())).usable = e.getValue()[0];
            }
        }
        for (Iterator<Map.Entry<String, TierRow>> it = tierRows.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, TierRow> e = it.next();
            if (!seenTiers.contains(e.getKey())) {
                registry.remove(e.getValue().gauge);
                it.remove();
            }
        }
        for (Iterator<Map.Entry<String, KeyRow>> it = keyRows.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, KeyRow> e = it.next();
            if (!seenKeys.contains(e.getKey())) {
                e.getValue().remove();
                it.remove();
            }
        }
        for (Iterator<Map.Entry<String, ModelRow>> it = modelRows.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, ModelRow> e = it.next();
            if (!seenModels.contains(e.getKey())) {
                e.getValue().remove();
                it.remove();
            }
        }
    }

    /** Removes every gauge of this pool (the binding moves to another gateway). */
    synchronized void unregister() {
        keyRows.values().forEach(KeyRow::remove);
        keyRows.clear();
        modelRows.values().forEach(ModelRow::remove);
        modelRows.clear();
        tierRows.values().forEach(r -> registry.remove(r.gauge));
        tierRows.clear();
        registry.remove(configured);
    }

    /**
     * {@code *}, and the models some key sent a request for today or rests for (cooling, exhausted): the bound on
     * per-key series is keys × models in use, not keys × every model ever named.
     */
    private List<ModelRef> modelsInUse(List<ApiKey> keys) {
        List<ModelRef> out = new ArrayList<>();
        for (ModelRef m : pool.models()) {
            if (m.name().equals(KeyPool.ANY_MODEL) || isInUse(keys, m)) {
                out.add(m);
            }
        }
        return out;
    }

    private boolean isInUse(List<ApiKey> keys, ModelRef m) {
        for (ApiKey k : keys) {
            if (pool.usage(k, m).requests() > 0) {
                return true;
            }
            KeyStatus.State s = pool.status(k, m).state();
            if (s == KeyStatus.State.COOLING || s == KeyStatus.State.EXHAUSTED) {
                return true;
            }
        }
        return false;
    }

    /** One key's gauges for one model. */
    private final class KeyRow {
        private final Tags tags;
        private final List<Meter> meters = new ArrayList<>();
        private volatile KeyStatus.State state = KeyStatus.State.ACTIVE;
        private volatile long requestsToday;
        private volatile double cooldownEndSeconds;
        private volatile double budgetUsed;
        private Gauge budget;

        KeyRow(ApiKey k, String model) {
            this.tags = Tags.of(GatewayMeters.KEY, k.masked(), GatewayMeters.KEY_ID, k.id(), GatewayMeters.MODEL,
                    model);
            for (KeyStatus.State s : STATES) {
                meters.add(Gauge.builder(GatewayMeters.KEY_STATE, this, r -> r.state == s ? 1 : 0)
                        .tags(tags).tag(GatewayMeters.STATE, s.label())
                        .description("1 for the key's current state for the model, 0 for the others")
                        .strongReference(true).register(registry));
            }
            meters.add(Gauge.builder(GatewayMeters.KEY_REQUESTS_TODAY, this, r -> r.requestsToday).tags(tags)
                    .description("Requests sent with the key for the model since the quota day began")
                    .strongReference(true).register(registry));
            meters.add(Gauge.builder(GatewayMeters.KEY_COOLDOWN_END, this, r -> r.cooldownEndSeconds).tags(tags)
                    .baseUnit("seconds")
                    .description("Epoch seconds when the key is usable again for the model; 0 when not resting")
                    .strongReference(true).register(registry));
        }

        void update(KeyStatus status, long requests, long rpd) {
            state = status.state();
            requestsToday = requests;
            cooldownEndSeconds = status.untilMillis() > 0 ? status.untilMillis() / 1000.0 : 0;
            if (rpd == KeyBudget.UNLIMITED) {
                if (budget != null) {
                    registry.remove(budget);
                    budget = null;
                }
                return;
            }
            budgetUsed = requests / (double) rpd;
            if (budget == null) {
                budget = Gauge.builder(GatewayMeters.KEY_BUDGET_USED, this, r -> r.budgetUsed).tags(tags)
                        .baseUnit("ratio")
                        .description("Today's requests divided by the key's requests-per-day budget for the model")
                        .strongReference(true).register(registry);
            }
        }

        void remove() {
            meters.forEach(registry::remove);
            if (budget != null) {
                registry.remove(budget);
            }
        }
    }

    /** Usable keys of one tier for one model. */
    private final class TierRow {
        private final Gauge gauge;
        private volatile int usable;

        TierRow(String model, int tier) {
            gauge = Gauge.builder(GatewayMeters.KEYS_USABLE_BY_TIER, this, r -> r.usable)
                    .tag(GatewayMeters.MODEL, model).tag(GatewayMeters.TIER, Integer.toString(tier))
                    .description("Keys of the tier that could serve the model now").strongReference(true)
                    .register(registry);
        }
    }

    /** The pool gauges of one model. */
    private final class ModelRow {
        private final List<Meter> meters = new ArrayList<>();
        private volatile int usable;
        private volatile int capacity;

        ModelRow(String model) {
            meters.add(Gauge.builder(GatewayMeters.KEYS_USABLE, this, r -> r.usable).tag(GatewayMeters.MODEL, model)
                    .description("Keys that could serve the model now").strongReference(true).register(registry));
            meters.add(Gauge.builder(GatewayMeters.POOL_CAPACITY, this, r -> r.capacity)
                    .tag(GatewayMeters.MODEL, model)
                    .description("Single-key quotas the usable keys add up to (keys of one project count once)")
                    .strongReference(true).register(registry));
        }

        void update(int usableKeys, int quotas) {
            usable = usableKeys;
            capacity = quotas;
        }

        void remove() {
            meters.forEach(registry::remove);
        }
    }
}
