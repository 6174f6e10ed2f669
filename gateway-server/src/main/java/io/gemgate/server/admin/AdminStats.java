package io.gemgate.server.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonGenerator;
import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.KeyCleanup;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.KeyStatus;
import io.gemgate.core.keys.KeyUsage;
import io.gemgate.core.keys.ModelRef;
import io.gemgate.core.keys.VerdictKind;
import io.gemgate.core.metrics.GatewayEvents;
import io.netty.util.concurrent.FastThreadLocal;
import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The numbers behind {@code GET /admin/api/stats}. Two sources:
 * <ul>
 *   <li>the hot path, through {@link GatewayEvents}: requests per minute over the last hour, latency and time to
 *       first byte (HdrHistogram), attempts by verdict and failovers by reason, since the start;</li>
 *   <li>the key pool, read when asked: today's counters per key and model (they survive restarts), key states and
 *       the capacity multiplier;</li>
 *   <li>the key clean-up: the keys at risk of removal ({@code atRisk}).</li>
 * </ul>
 *
 * <p>Thread-safe. The event methods are called on event loops for every request: they take no lock and allocate
 * nothing once a thread has its cell (packed minute buckets and HdrHistogram {@link Recorder}s per recording
 * thread, {@link LongAdder}s). Reading ({@link #write}) sums the cells and folds their recorders' intervals into
 * running totals under a lock that only readers take.
 */
public final class AdminStats implements GatewayEvents {
    /** The model the capacity multiplier is given for when the caller names none. */
    static final String DEFAULT_MODEL = io.gemgate.core.openai.ModelResolver.DEFAULT.defaultModel();
    private static final int MINUTES = 60;
    private static final long MINUTE_MILLIS = 60_000;
    private static final long COUNT_MASK = 0xFFFF_FFFFL;
    /** One hour in microseconds: longer requests are recorded as one hour. */
    private static final long MAX_MICROS = 3_600_000_000L;
    private static final VerdictKind[] VERDICTS = VerdictKind.values();

    private final KeyPool pool;
    private final LongSupplier clock;
    private final long startedAtMillis;
    /** The recording threads' cells (see {@link Cell}), summed by readers. */
    private final List<Cell> cells = new CopyOnWriteArrayList<>();
    private final FastThreadLocal<Cell> cell = new FastThreadLocal<>() {
        @Override
        protected Cell initialValue() {
            Cell c = new Cell();
            cells.add(c);
            return c;
        }
    };
    private final LongAdder requests = new LongAdder();
    private final LongAdder[] byStatusClass = adders(6);
    private final LongAdder[] attempts = adders(VERDICTS.length);
    private final LongAdder[] failovers = adders(VERDICTS.length);
    private final Map<String, Integer> verdictIndex = new HashMap<>();
    // Reader side, guarded by this.
    private final Histogram latencyTotal = new Histogram(MAX_MICROS, 2);
    private final Histogram firstByteTotal = new Histogram(MAX_MICROS, 2);

    /**
     * What one recording thread (an event loop) counts: written by that thread only, so its atomics never contend
     * with another core's (one shared minute counter and recorder cost several cache-line transfers per request
     * between the event loops).
     */
    private static final class Cell {
        /** Per minute bucket: the minute number (epoch minutes) in the high 32 bits, the count in the low 32. */
        final AtomicLongArray perMinute = new AtomicLongArray(MINUTES);
        final AtomicLongArray errorsPerMinute = new AtomicLongArray(MINUTES);
        final Recorder latency = new Recorder(MAX_MICROS, 2);
        final Recorder firstByte = new Recorder(MAX_MICROS, 2);
        // Reader side, guarded by the AdminStats.
        Histogram latencyInterval;
        Histogram firstByteInterval;
    }

    /** @param clock epoch millis, the gateway's clock */
    public AdminStats(KeyPool pool, LongSupplier clock) {
        this.pool = requireNonNull(pool, "pool");
        this.clock = requireNonNull(clock, "clock");
        this.startedAtMillis = clock.getAsLong();
        for (VerdictKind v : VERDICTS) {
            verdictIndex.put(v.label(), v.ordinal());
        }
    }

    private static LongAdder[] adders(int n) {
        LongAdder[] a = new LongAdder[n];
        for (int i = 0; i < n; i++) {
            a[i] = new LongAdder();
        }
        return a;
    }

    // ---------------------------------------------------------------------------------------------------- hot path

    @Override
    public void requestFinished(String route, String model, int status, long durationNanos, long firstByteNanos) {
        long minute = clock.getAsLong() / MINUTE_MILLIS;
        Cell c = cell.get();
        bump(c.perMinute, minute);
        if (status >= 400) {
            bump(c.errorsPerMinute, minute);
        }
        requests.increment();
        byStatusClass[Math.min(5, Math.max(0, status / 100))].increment();
        c.latency.recordValue(Math.min(MAX_MICROS, Math.max(0, durationNanos / 1000)));
        if (firstByteNanos >= 0) {
            c.firstByte.recordValue(Math.min(MAX_MICROS, firstByteNanos / 1000));
        }
    }

    @Override
    public void attempt(String model, String verdict, boolean failover) {
        Integer i = verdictIndex.get(verdict);
        if (i == null) {
            return;
        }
        attempts[i].increment();
        if (failover) {
            failovers[i].increment();
        }
    }

    /**
     * Adds one to the bucket of {@code minute}, restarting it when it still holds an older minute. Only the cell's
     * thread writes: a plain read and a release store, no compare-and-set.
     */
    private static void bump(AtomicLongArray buckets, long minute) {
        int i = (int) (minute % MINUTES);
        long v = buckets.getPlain(i);
        buckets.setRelease(i, (v >>> 32) == minute ? v + 1 : (minute << 32) | 1);
    }

    private static long count(AtomicLongArray buckets, long minute) {
        long v = buckets.getAcquire((int) (minute % MINUTES));
        return (v >>> 32) == minute ? v & COUNT_MASK : 0;
    }

    /** The count of {@code minute} over all cells. */
    private long count(boolean errors, long minute) {
        long n = 0;
        for (Cell c : cells) {
            n += count(errors ? c.errorsPerMinute : c.perMinute, minute);
        }
        return n;
    }

    // ------------------------------------------------------------------------------------------------------ report

    /**
     * Writes the statistics object.
     *
     * @param model  the model of the capacity multiplier; null for the OpenAI routes' default model
     * @param atRisk the keys with bad days in their current streak
     */
    void write(JsonGenerator g, String model, List<KeyCleanup.AtRisk> atRisk) throws IOException {
        long now = clock.getAsLong();
        List<ApiKey> keys = pool.keys();
        List<ModelRef> models = pool.models();
        g.writeStartObject();
        AdminJson.instant(g, "at", now);
        writeToday(g, keys, models, now);
        writePerMinute(g, now);
        synchronized (this) {
            for (Cell c : cells) {
                c.latencyInterval = c.latency.getIntervalHistogram(c.latencyInterval);
                latencyTotal.add(c.latencyInterval);
                c.firstByteInterval = c.firstByte.getIntervalHistogram(c.firstByteInterval);
                firstByteTotal.add(c.firstByteInterval);
            }
            writeHistogram(g, "latencyMillis", latencyTotal);
            writeHistogram(g, "firstByteMillis", firstByteTotal);
        }
        writeSinceStart(g);
        writeCapacity(g, keys, models, model == null ? DEFAULT_MODEL : model, now);
        writeAtRisk(g, atRisk);
        writeAlerts(g, pool.brake().alerts(now));
        g.writeEndObject();
    }

    /**
     * {@code "alerts":[{"kind":"setAsideBrake","reason","since","lastRefused","refused","setAside","limit",
     * "message"}]}: the engaged set-aside brakes (keys are no longer set aside for that reason).
     */
    static void writeAlerts(JsonGenerator g, List<io.gemgate.core.keys.SetAsideBrake.Alert> alerts)
            throws IOException {
        g.writeArrayFieldStart("alerts");
        for (io.gemgate.core.keys.SetAsideBrake.Alert a : alerts) {
            g.writeStartObject();
            g.writeStringField("kind", "setAsideBrake");
            g.writeStringField("reason", a.reason());
            AdminJson.instant(g, "since", a.sinceMillis());
            AdminJson.instant(g, "lastRefused", a.lastRefusedMillis());
            g.writeNumberField("refused", a.refused());
            g.writeNumberField("setAside", a.setAside());
            g.writeNumberField("limit", a.limit());
            g.writeStringField("message", "The upstream refused more keys (" + a.reason() + ") than the set-aside "
                    + "brake allows (" + a.limit() + " per window): keys are kept in rotation. Check the upstream "
                    + "URL, Google's status, and the keys.");
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    /** {@code "atRisk":[{"id","key","label","inRotation","badDays"}]}: keys with bad days in their current streak. */
    static void writeAtRisk(JsonGenerator g, List<KeyCleanup.AtRisk> list) throws IOException {
        g.writeArrayFieldStart("atRisk");
        for (KeyCleanup.AtRisk r : list) {
            g.writeStartObject();
            g.writeStringField("id", r.key().id());
            g.writeStringField("key", r.key().masked());
            g.writeStringField("label", r.key().label());
            g.writeBooleanField("inRotation", KeyCleanup.inRotation(r.key()));
            g.writeNumberField("badDays", r.badDays());
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    private void writeToday(JsonGenerator g, List<ApiKey> keys, List<ModelRef> models, long now) throws IOException {
        long[][] perKey = new long[keys.size()][];
        long[] total = new long[6];
        for (int i = 0; i < keys.size(); i++) {
            long[] c = new long[6];
            for (ModelRef m : models) {
                add(c, pool.usage(keys.get(i), m));
            }
            perKey[i] = c;
            for (int j = 0; j < c.length; j++) {
                total[j] += c[j];
            }
        }
        g.writeObjectFieldStart("today");
        AdminJson.instant(g, "dayStart", pool.calendar().dayStart(now));
        AdminJson.instant(g, "resetsAt", pool.calendar().nextReset(now));
        counters(g, total);
        g.writeEndObject();
        g.writeArrayFieldStart("keys");
        for (int i = 0; i < keys.size(); i++) {
            ApiKey k = keys.get(i);
            g.writeStartObject();
            g.writeStringField("id", k.id());
            g.writeStringField("key", k.masked());
            g.writeStringField("label", k.label());
            g.writeStringField("project", k.project());
            counters(g, perKey[i]);
            g.writeNumberField("share", total[0] == 0 ? 0 : AdminJson.round(perKey[i][0] / (double) total[0], 4));
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    /** Adds a usage to {@code c}: requests, successes, failures, rateLimited, promptTokens, outputTokens. */
    static void add(long[] c, KeyUsage u) {
        c[0] += u.requests();
        c[1] += u.successes();
        c[2] += u.failures();
        c[3] += u.rateLimited();
        c[4] += u.promptTokens();
        c[5] += u.outputTokens();
    }

    /** Writes what {@link #add} summed, as fields of the current object. */
    static void counters(JsonGenerator g, long[] c) throws IOException {
        g.writeNumberField("requests", c[0]);
        g.writeNumberField("successes", c[1]);
        g.writeNumberField("failures", c[2]);
        g.writeNumberField("rateLimited", c[3]);
        g.writeNumberField("promptTokens", c[4]);
        g.writeNumberField("outputTokens", c[5]);
        g.writeNumberField("tokens", c[4] + c[5]);
    }

    private void writePerMinute(JsonGenerator g, long now) throws IOException {
        long current = now / MINUTE_MILLIS;
        long first = current - MINUTES + 1;
        g.writeObjectFieldStart("requestsPerMinute");
        AdminJson.instant(g, "from", first * MINUTE_MILLIS);
        g.writeNumberField("minutes", MINUTES);
        long sum = 0;
        g.writeArrayFieldStart("requests");
        for (long m = first; m <= current; m++) {
            long n = count(false, m);
            sum += n;
            g.writeNumber(n);
        }
        g.writeEndArray();
        g.writeArrayFieldStart("errors");
        for (long m = first; m <= current; m++) {
            g.writeNumber(count(true, m));
        }
        g.writeEndArray();
        g.writeNumberField("lastHour", sum);
        g.writeEndObject();
    }

    private static void writeHistogram(JsonGenerator g, String field, Histogram h) throws IOException {
        g.writeObjectFieldStart(field);
        long n = h.getTotalCount();
        g.writeNumberField("count", n);
        g.writeNumberField("p50", n == 0 ? 0 : millis(h.getValueAtPercentile(50)));
        g.writeNumberField("p90", n == 0 ? 0 : millis(h.getValueAtPercentile(90)));
        g.writeNumberField("p99", n == 0 ? 0 : millis(h.getValueAtPercentile(99)));
        g.writeNumberField("max", n == 0 ? 0 : millis(h.getMaxValue()));
        g.writeNumberField("mean", n == 0 ? 0 : AdminJson.round(h.getMean() / 1000.0, 3));
        g.writeEndObject();
    }

    private static double millis(long micros) {
        return AdminJson.round(micros / 1000.0, 3);
    }

    private void writeSinceStart(JsonGenerator g) throws IOException {
        g.writeObjectFieldStart("sinceStart");
        AdminJson.instant(g, "startedAt", startedAtMillis);
        g.writeNumberField("requests", requests.sum());
        g.writeObjectFieldStart("byStatus");
        for (int c = 1; c <= 5; c++) {
            g.writeNumberField(c + "xx", byStatusClass[c].sum());
        }
        g.writeEndObject();
        g.writeObjectFieldStart("attempts");
        for (VerdictKind v : VERDICTS) {
            g.writeNumberField(v.label(), attempts[v.ordinal()].sum());
        }
        g.writeEndObject();
        g.writeEndObject();
        g.writeObjectFieldStart("failovers");
        long total = 0;
        for (LongAdder a : failovers) {
            total += a.sum();
        }
        g.writeNumberField("total", total);
        g.writeObjectFieldStart("byReason");
        for (VerdictKind v : VERDICTS) {
            if (v.retryOnNextKey()) {
                g.writeNumberField(v.label(), failovers[v.ordinal()].sum());
            }
        }
        g.writeEndObject();
        g.writeEndObject();
    }

    /**
     * Capacity: keys usable now for a model, and the quota groups among them (keys of one project share one quota,
     * a key without a project is its own). The multiplier is what the pool can take against one key.
     */
    private void writeCapacity(JsonGenerator g, List<ApiKey> keys, List<ModelRef> models, String model, long now)
            throws IOException {
        Map<String, Integer> byState = new java.util.LinkedHashMap<>();
        for (KeyStatus.State s : KeyStatus.State.values()) {
            byState.put(s.label(), 0);
        }
        for (ApiKey k : keys) {
            byState.merge(KeyViews.summary(pool, k, models).state().label(), 1, Integer::sum);
        }
        g.writeObjectFieldStart("keysByStatus");
        for (Map.Entry<String, Integer> e : byState.entrySet()) {
            g.writeNumberField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
        g.writeObjectFieldStart("capacity");
        writeCapacityOf(g, keys, pool.model(model));
        g.writeArrayFieldStart("models");
        for (ModelRef m : models) {
            if (m.name().equals(KeyPool.ANY_MODEL) || m.name().equals(model)) {
                continue;
            }
            g.writeStartObject();
            writeCapacityOf(g, keys, m);
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    /**
     * One model's capacity: {@code keys}, {@code usableKeys}, {@code quotaGroups}, {@code multiplier}, and the same
     * per tier in {@code tiers} ({@code [{"tier":0,"keys","usableKeys","quotaGroups"}]}, lowest first).
     */
    private void writeCapacityOf(JsonGenerator g, List<ApiKey> keys, ModelRef m) throws IOException {
        int usable = 0;
        Set<String> groups = new HashSet<>();
        java.util.TreeMap<Integer, int[]> tierCounts = new java.util.TreeMap<>(); // tier -> {keys, usable}
        java.util.Map<Integer, Set<String>> tierGroups = new java.util.HashMap<>();
        for (ApiKey k : keys) {
            int[] c = tierCounts.computeIfAbsent(k.tier(), t -> new int[2]);
            c[0]++;
            if (pool.status(k, m).state() == KeyStatus.State.ACTIVE) {
                usable++;
                c[1]++;
                String group = k.project().isEmpty() ? "key:" + k.id() : "project:" + k.project();
                groups.add(group);
                tierGroups.computeIfAbsent(k.tier(), t -> new HashSet<>()).add(group);
            }
        }
        g.writeStringField("model", m.name());
        g.writeNumberField("keys", keys.size());
        g.writeNumberField("usableKeys", usable);
        g.writeNumberField("quotaGroups", groups.size());
        g.writeNumberField("multiplier", groups.size());
        g.writeArrayFieldStart("tiers");
        for (Map.Entry<Integer, int[]> e : tierCounts.entrySet()) {
            g.writeStartObject();
            g.writeNumberField("tier", e.getKey());
            g.writeNumberField("keys", e.getValue()[0]);
            g.writeNumberField("usableKeys", e.getValue()[1]);
            g.writeNumberField("quotaGroups", tierGroups.getOrDefault(e.getKey(), Set.of()).size());
            g.writeEndObject();
        }
        g.writeEndArray();
    }
}
