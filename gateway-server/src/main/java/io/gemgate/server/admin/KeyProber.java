package io.gemgate.server.admin;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.KeyCleanup;
import io.gemgate.core.keys.KeyHealthHistory;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.Verdict;
import io.gemgate.core.keys.VerdictClassifier;
import io.gemgate.core.keys.VerdictKind;
import io.gemgate.server.GatewayContext;
import io.gemgate.server.upstream.UpstreamGet;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Probes keys with a cheap upstream call, {@code GET /v1beta/models?pageSize=1} with that one key, and acts on the
 * answer: a key the upstream accepts (2xx, or a 429, which only an accepted key gets) is marked valid again and its
 * run of server errors ends; a key it refuses (API_KEY_INVALID, 401, 403) is marked invalid with the reason; anything
 * else (5xx, timeout, connect failure) leaves the key as it was: in rotation, or set aside.
 *
 * <p>Probes run on demand ({@link #check}, the admin API's check routes) and in the background: every second the
 * prober looks for keys marked invalid for at least the live {@code probeInterval} setting since they were first seen
 * invalid or last probed, and probes them (self-healing). At most {@value #MAX_CONCURRENT} probes run at once, one
 * per key; more wait in a queue in which each key appears once.
 *
 * <p>Health: the prober listens to the key pool's verdicts and keeps the {@link KeyHealthHistory}. A key whose calls
 * end {@code probeAfterServerErrors} times in a row in a 5xx, connect failure or timeout is set aside as invalid
 * (unless it is the last key in rotation, see {@link KeyCleanup}), so that the background pass probes it after the
 * probe interval instead of clients finding out again. Every probe counts in the history. At the first tick of each
 * quota day (and once after start) the clean-up removes keys bad for {@code removeAfterBadDays} days in a row up to
 * the day that just ended.
 *
 * <p>Threading (docs/architecture.md, threads): all of the prober's own state and its upstream calls live on one event
 * loop; {@link #check} hops there. The last results are published in a concurrent map for the admin API to read from
 * any loop. Nothing blocks.
 */
public final class KeyProber implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(KeyProber.class);
    /** Probes in flight at once. */
    static final int MAX_CONCURRENT = 4;
    /** The call: lists one model, costs no generation quota. */
    static final String PROBE_PATH = "/v1beta/models?pageSize=1";
    private static final long TICK_MILLIS = 1_000;
    private static final long MAX_PROBE_MILLIS = 30_000;
    private static final int MAX_ERROR_BODY = 64 * 1024;

    /** What a probe concluded. */
    public enum Outcome {
        /** The upstream accepted the key. */
        GOOD,
        /** The upstream refused the key. */
        INVALID,
        /** No conclusion: the upstream or the network failed. */
        ERROR;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * The last probe of a key.
     *
     * @param atMillis      when it ended
     * @param outcome       what it concluded
     * @param reason        the verdict's reason (an ErrorInfo reason, a status), empty when good
     * @param latencyMillis time to the answer's head, -1 without one
     */
    public record Result(long atMillis, Outcome outcome, String reason, long latencyMillis) {
    }

    private final GatewayContext gw;
    private final EventLoop loop;
    private final KeyCleanup cleanup;
    private final KeyHealthHistory history;
    private final Map<String, Result> results = new ConcurrentHashMap<>();
    /** Keys queued or in flight; read by the admin API, so concurrent. */
    private final Set<String> checking = ConcurrentHashMap.newKeySet();

    // Confined to the loop.
    private final ArrayDeque<String> queue = new ArrayDeque<>();
    private final Set<String> queued = new HashSet<>();
    /** Key id → when the background pass first saw it invalid (the probe delay counts from there). */
    private final Map<String, Long> invalidSeen = new HashMap<>();
    private int running;
    private ScheduledFuture<?> tick;
    private boolean closed;
    /** The quota day the daily clean-up last ran for; 0 before the first tick. */
    private long cleanedDay;

    /**
     * @param loop    the event loop that runs the probes and owns the prober's state
     * @param cleanup sets keys aside and removes them; its history is where verdicts and probes are counted
     */
    public KeyProber(GatewayContext gw, EventLoop loop, KeyCleanup cleanup) {
        this.gw = requireNonNull(gw, "gw");
        this.loop = requireNonNull(loop, "loop");
        this.cleanup = requireNonNull(cleanup, "cleanup");
        this.history = cleanup.history();
    }

    /** What sets keys aside and removes them. */
    public KeyCleanup cleanup() {
        return cleanup;
    }

    /** Starts counting verdicts and the background pass over invalid keys. */
    public void start() {
        gw.pool().verdictListener(this::onVerdict);
        loop.execute(() -> {
            if (!closed) {
                tick = loop.scheduleWithFixedDelay(this::backgroundPass, TICK_MILLIS, TICK_MILLIS,
                        TimeUnit.MILLISECONDS);
            }
        });
    }

    /**
     * Google's 503 UNAVAILABLE ("the model is overloaded") says nothing about the key that got it: it neither counts
     * in the key's run of server errors nor as a failed call in its health history.
     */
    static boolean isOverload(Verdict v) {
        return v.kind() == VerdictKind.SERVER_ERROR
                && ("UNAVAILABLE".equals(v.reason()) || "http 503".equals(v.reason()));
    }

    /** Probes these keys as soon as a slot is free; keys already queued or in flight are not probed twice. */
    public void check(Collection<String> ids) {
        checking.addAll(ids);
        loop.execute(() -> {
            for (String id : ids) {
                enqueue(id);
            }
            drain();
        });
    }

    /** The last probe of a key, or null when it was never probed (since start). */
    public Result lastResult(String id) {
        return results.get(id);
    }

    /** True while a probe of the key is queued or in flight. */
    public boolean isChecking(String id) {
        return checking.contains(id);
    }

    /**
     * Counts a verdict; on the thread of the call (any event loop), allocation-free unless the key has just failed
     * often enough to be set aside.
     */
    private void onVerdict(ApiKey k, Verdict verdict, long now) {
        if (isOverload(verdict)) {
            return; // the model's state, not the key's: a wave of these must not set every key aside
        }
        int errors = history.recordCall(k.id(), verdict.kind(), now);
        int limit = gw.settings().probeAfterServerErrors();
        if (limit > 0 && errors >= limit && errors % limit == 0 && KeyCleanup.inRotation(k)) {
            loop.execute(() -> setAside(k, errors));
        }
    }

    private void setAside(ApiKey k, int errors) {
        String reason = errors + " server errors in a row; probing every "
                + io.gemgate.core.settings.SettingsCodec.formatDuration(gw.settings().probeInterval());
        if (cleanup.setAside(k, reason)) {
            log.warn("key {} set aside after {} server errors in a row; probing it", k.masked(), errors);
        }
    }

    /** Stops the background pass and drops queued probes; probes in flight end with the upstream connections. */
    @Override
    public void close() {
        gw.pool().verdictListener(null);
        loop.execute(() -> {
            closed = true;
            if (tick != null) {
                tick.cancel(false);
            }
            for (String id : queue) {
                checking.remove(id);
            }
            queue.clear();
            queued.clear();
        });
    }

    // -------------------------------------------------------------------------------------------------- on the loop

    private void backgroundPass() {
        long now = gw.now();
        long day = gw.pool().calendar().dayStart(now);
        if (day != cleanedDay) {
            cleanedDay = day;
            dailyCleanup(day - 1); // judges the days that have ended, not the one just begun
        }
        long interval = gw.settings().probeInterval().toMillis();
        Set<String> stillInvalid = new HashSet<>();
        Map<String, Long> since = null;
        for (ApiKey k : gw.pool().keys()) {
            if (!k.isInvalid() || k.isRemoved()) {
                continue;
            }
            String id = k.id();
            stillInvalid.add(id);
            Long seen = invalidSeen.get(id);
            if (seen == null) {
                // Newly invalid (or invalid since before a restart): when it was set aside is in the pool's
                // snapshot, read once per pass and only then, as keys seldom turn invalid.
                if (since == null) {
                    since = invalidSinceByKey();
                }
                seen = since.getOrDefault(id, now);
                invalidSeen.put(id, seen);
            }
            Result last = results.get(id);
            long from = Math.max(seen, last == null ? 0 : last.atMillis());
            if (now - from >= interval && !queued.contains(id)) {
                log.debug("probing key {}, invalid ({})", k.masked(), k.invalidReason());
                checking.add(id);
                enqueue(id);
            }
        }
        invalidSeen.keySet().retainAll(stillInvalid);
        drain();
    }

    /** @param asOf the last instant of the quota day that just ended */
    private void dailyCleanup(long asOf) {
        int days = gw.settings().removeAfterBadDays();
        if (days == 0) {
            return;
        }
        KeyCleanup.Result r = cleanup.removeBad(days, gw.settings().minChecksPerDay(), asOf);
        for (KeyCleanup.Decision d : r.removed()) {
            log.warn("key {} removed by the daily clean-up: {}", d.key().masked(), d.reason());
        }
        for (KeyCleanup.Decision d : r.kept()) {
            log.warn("key {} is bad for {} days or more but stays: {}", d.key().masked(), days, d.reason());
        }
    }

    private Map<String, Long> invalidSinceByKey() {
        Map<String, Long> out = new HashMap<>();
        for (ApiKey k : gw.pool().keys()) {
            long since = k.invalidSinceMillis();
            if (since != 0) {
                out.put(k.id(), since);
            }
        }
        return out;
    }

    private void enqueue(String id) {
        if (closed) {
            checking.remove(id);
            return;
        }
        if (queued.add(id)) {
            queue.add(id);
        }
    }

    private void drain() {
        while (!closed && running < MAX_CONCURRENT && !queue.isEmpty()) {
            String id = queue.poll();
            ApiKey k = gw.pool().find(id);
            if (k == null) {
                queued.remove(id);
                checking.remove(id);
                continue;
            }
            running++;
            new Probe(k).start();
        }
    }

    private void finished(ApiKey k, Result r) {
        results.put(k.id(), r);
        history.recordCheck(k.id(), r.outcome() == Outcome.GOOD, r.atMillis());
        running--;
        queued.remove(k.id());
        checking.remove(k.id());
        drain();
    }

    /** One probe call; every method runs on the prober's loop. */
    private final class Probe implements UpstreamGet.Callback {
        private final ApiKey key;
        private int status;
        private long headMillis = -1;
        private boolean done;

        Probe(ApiKey key) {
            this.key = key;
        }

        void start() {
            long limit = Math.min(MAX_PROBE_MILLIS, gw.config().upstream().responseTimeout().toMillis());
            // The body matters only for a refusal: VerdictClassifier reads Google's error from it.
            UpstreamGet.start(gw.upstream(), loop, key, PROBE_PATH, limit, MAX_ERROR_BODY, s -> s < 200 || s >= 300,
                    this);
        }

        @Override
        public void answered(int status, byte[] body, long headMillis, boolean complete) {
            // A connection closed mid-body still classifies, with what arrived of the body.
            this.status = status;
            this.headMillis = headMillis;
            conclude(VerdictClassifier.classify(status, body));
        }

        @Override
        public void failed(String why) {
            end(Outcome.ERROR, why);
        }

        private void conclude(Verdict v) {
            KeyPool pool = gw.pool();
            VerdictKind kind = v.kind();
            if (kind == VerdictKind.SUCCESS || kind == VerdictKind.RATE_LIMIT || kind == VerdictKind.QUOTA_DAY) {
                if (key.isInvalid()) {
                    log.info("key {} answered a probe: back in rotation", key.masked());
                }
                // The check's result first, then the key back: whoever sees the key active sees why.
                end(Outcome.GOOD, kind == VerdictKind.SUCCESS ? "" : v.reason());
                pool.markValid(key.id());
            } else if (kind == VerdictKind.INVALID_KEY) {
                if (!key.isInvalid()) {
                    log.warn("key {} refused by the upstream on a probe: {}", key.masked(), v.reason());
                }
                // Not counted as a call: the probe is counted once, as a check. A key set aside for errors takes
                // the refusal as its reason.
                end(Outcome.INVALID, v.reason());
                pool.markInvalid(key.id(), v.reason());
            } else {
                end(Outcome.ERROR, v.reason().isEmpty() ? "http " + status : v.reason());
            }
        }

        private void end(Outcome outcome, String reason) {
            if (done) {
                return;
            }
            done = true;
            log.debug("probe of key {}: {} {}", key.masked(), outcome.label(), reason);
            finished(key, new Result(gw.now(), outcome, reason, headMillis));
        }
    }
}
