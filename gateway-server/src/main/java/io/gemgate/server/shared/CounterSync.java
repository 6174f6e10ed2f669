package io.gemgate.server.shared;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.DayCounters;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.ModelRef;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Merges the key pool's day counters with the other gateways' through one Redis hash per quota day, without touching
 * the hot path: requests keep counting into the pool's own {@link DayCounters}; this class, on the shared-state
 * thread only, finds what was counted since the last round, has it added to Redis, and adds to the local counters
 * what the other gateways added there meanwhile.
 *
 * <h2>Bookkeeping, per key, model and counter</h2>
 * <ul>
 *   <li>{@code synced}: the Redis total as last read, our confirmed deltas included. The local value is always
 *       {@code synced} + what was counted here since (the next delta), so the local counters are the pool-wide
 *       view.</li>
 *   <li>{@code own}: what this process has added to Redis this day. When Redis lost its data (a restart without
 *       persistence), each instance adds its own contribution again and the sum is whole once more.</li>
 * </ul>
 * A round is {@link #deltas}, {@link Batch#confirm()} for each batch Redis took (a batch that failed is simply not
 * confirmed: its counts come back in the next round's deltas), then {@link #apply} with the day's totals read back.
 * Deltas are added with HINCRBY, which is not idempotent: a connection lost after Redis applied a batch but before
 * its answer arrived counts that batch twice. Counters are statistics and a least-used hint; that is accepted.
 *
 * <p>Not thread-safe: the shared-state thread owns it. The counters it changes are atomic.
 */
final class CounterSync {
    private final KeyPool pool;
    /** {@code fingerprint|model} → the pair's counters of its current day. */
    private final Map<String, Tracked> tracked = new HashMap<>();
    /** Pairs whose quota day ended with counts not pushed yet: they still go to their own day's hash. */
    private final List<Tracked> retired = new ArrayList<>();

    /** One key and model's counters of one day. */
    private static final class Tracked {
        final ApiKey key;
        final ModelRef model;
        final DayCounters day;
        final long[] synced = new long[DayCounters.COUNT];
        final long[] own = new long[DayCounters.COUNT];

        Tracked(ApiKey key, ModelRef model, DayCounters day) {
            this.key = key;
            this.model = model;
            this.day = day;
        }

        String field(int counter) {
            return RedisLayout.counterField(key.id(), DayCounters.name(counter), model.name());
        }

        boolean isSynced() {
            for (int c = 0; c < DayCounters.COUNT; c++) {
                if (day.get(c) != synced[c]) {
                    return false;
                }
            }
            return true;
        }
    }

    /** Counts to add to one day's hash; {@link #confirm()} once Redis has them. */
    static final class Batch {
        private final long day;
        private final Map<String, Long> deltas = new LinkedHashMap<>();
        private final List<Tracked> owners = new ArrayList<>();
        private final List<Integer> counters = new ArrayList<>();
        private final boolean count;

        private Batch(long day, boolean count) {
            this.day = day;
            this.count = count;
        }

        /** Start of the quota day whose hash the deltas go to. */
        long day() {
            return day;
        }

        /** Requests among the deltas (attempts made by this instance since the last confirmed batch). */
        long requests() {
            long n = 0;
            for (int i = 0; i < owners.size(); i++) {
                if (counters.get(i) == DayCounters.REQUESTS) {
                    n += deltas.get(owners.get(i).field(DayCounters.REQUESTS));
                }
            }
            return count ? n : 0;
        }

        /** Hash field → amount to add. */
        Map<String, Long> deltas() {
            return deltas;
        }

        /** Redis has added the deltas: they count as synced and as this instance's own. */
        void confirm() {
            if (!count) {
                return;
            }
            for (int i = 0; i < owners.size(); i++) {
                Tracked t = owners.get(i);
                int c = counters.get(i);
                long d = deltas.get(t.field(c));
                t.synced[c] += d;
                t.own[c] += d;
            }
        }

        private void add(Tracked t, int counter, long delta) {
            deltas.put(t.field(counter), delta);
            owners.add(t);
            counters.add(counter);
        }
    }

    CounterSync(KeyPool pool) {
        this.pool = requireNonNull(pool, "pool");
    }

    /**
     * Takes the counters as they are now (restored from the state file, before any request) as already counted in
     * Redis: Redis's totals will replace them rather than be added to them.
     */
    void baseline() {
        for (ApiKey k : pool.keys()) {
            for (ModelRef m : pool.models()) {
                DayCounters d = pool.counters(k, m, false);
                if (d != null) {
                    Tracked t = track(k, m, d);
                    for (int c = 0; c < DayCounters.COUNT; c++) {
                        t.synced[c] = d.get(c);
                    }
                }
            }
        }
    }

    /**
     * Makes the baseline this instance's own contribution: the first instance on an empty Redis brings the counts of
     * its state file along ({@link #contributions} then holds them).
     */
    void seedFromBaseline() {
        for (Tracked t : tracked.values()) {
            System.arraycopy(t.synced, 0, t.own, 0, DayCounters.COUNT);
        }
    }

    /**
     * What was counted here since the last confirmed batch, in batches of at most {@code maxFields} fields of one day
     * each. The same counts come back until their batch is confirmed.
     */
    List<Batch> deltas(int maxFields) {
        retired.removeIf(Tracked::isSynced);
        for (ApiKey k : pool.keys()) {
            for (ModelRef m : pool.models()) {
                DayCounters d = pool.counters(k, m, false);
                if (d == null) {
                    continue;
                }
                Tracked t = tracked.get(id(k, m));
                if (t == null || t.day != d) {
                    if (t != null && !t.isSynced()) {
                        retired.add(t);
                    }
                    track(k, m, d); // a pair met since the last round: everything in it was counted here
                }
            }
        }
        List<Batch> out = new ArrayList<>();
        Map<Long, Batch> open = new HashMap<>();
        List<Tracked> all = new ArrayList<>(retired);
        all.addAll(tracked.values());
        for (Tracked t : all) {
            for (int c = 0; c < DayCounters.COUNT; c++) {
                long delta = t.day.get(c) - t.synced[c];
                if (delta != 0) {
                    batch(open, out, t.day.dayStart(), maxFields, true).add(t, c, delta);
                }
            }
        }
        return out;
    }

    /**
     * What this process has added to Redis, in batches of at most {@code maxFields} fields of one day each: to be
     * added again when Redis lost its data. Confirming them changes nothing.
     */
    List<Batch> contributions(int maxFields) {
        List<Batch> out = new ArrayList<>();
        Map<Long, Batch> open = new HashMap<>();
        for (Tracked t : tracked.values()) {
            for (int c = 0; c < DayCounters.COUNT; c++) {
                if (t.own[c] != 0) {
                    batch(open, out, t.day.dayStart(), maxFields, false).add(t, c, t.own[c]);
                }
            }
        }
        return out;
    }

    private static Batch batch(Map<Long, Batch> open, List<Batch> out, long day, int maxFields, boolean count) {
        Batch b = open.get(day);
        if (b == null || b.deltas.size() >= maxFields) {
            b = new Batch(day, count);
            open.put(day, b);
            out.add(b);
        }
        return b;
    }

    /**
     * Brings the local counters of {@code day} to Redis's totals plus what was counted here and not pushed yet.
     *
     * @param totals the day's hash: {@code fingerprint|counter|model} → total; unknown keys and malformed fields
     *               are skipped
     */
    void apply(long day, Map<String, String> totals) {
        Map<String, ApiKey> byId = new HashMap<>();
        for (ApiKey k : pool.keys()) {
            byId.put(k.id(), k);
        }
        for (Map.Entry<String, String> e : totals.entrySet()) {
            String field = e.getKey();
            int a = field.indexOf(RedisLayout.SEP);
            int b = a < 0 ? -1 : field.indexOf(RedisLayout.SEP, a + 1);
            if (b < 0) {
                continue;
            }
            ApiKey k = byId.get(field.substring(0, a));
            int counter = DayCounters.indexOf(field.substring(a + 1, b));
            long total;
            try {
                total = Long.parseLong(e.getValue());
            } catch (NumberFormatException bad) {
                continue;
            }
            if (k == null || counter < 0) {
                continue;
            }
            ModelRef m = pool.model(field.substring(b + 1));
            Tracked t = tracked.get(id(k, m));
            if (t == null) {
                DayCounters d = pool.counters(k, m, true);
                if (d.dayStart() != day) {
                    continue;
                }
                t = track(k, m, d); // counted elsewhere only: synced 0, so the total is added whole
            }
            if (t.day.dayStart() != day) {
                continue;
            }
            long diff = total - t.synced[counter];
            if (diff != 0) {
                t.day.add(counter, diff);
                t.synced[counter] = total;
            }
        }
    }

    private Tracked track(ApiKey k, ModelRef m, DayCounters d) {
        Tracked t = new Tracked(k, m, d);
        tracked.put(id(k, m), t);
        return t;
    }

    private static String id(ApiKey k, ModelRef m) {
        return k.id() + RedisLayout.SEP + m.name();
    }
}
