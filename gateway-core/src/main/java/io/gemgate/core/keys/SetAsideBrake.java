package io.gemgate.core.keys;

import static java.util.Objects.requireNonNull;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The brake on setting keys aside as invalid: a wrong upstream, a Google outage or a bug in the verdict rules must not
 * turn into "every key invalid" (README, "Failover and verdicts"; docs/architecture.md, "The exchange").
 *
 * <p>For each reason ({@code API_KEY_INVALID}, {@code SERVICE_DISABLED} ...) the brake counts the keys set aside
 * within the last {@link #windowMillis()}. When one more would take the count above {@link #share()} of the pool
 * (at least one key), the brake engages for that reason: from then on, keys are no longer set aside for it (they keep
 * serving; the request that met the refusal gets the upstream's error), one ERROR is logged, and the engagement is
 * listed by {@link #alerts} (admin API and page) and counted ({@link #braked()}). It releases once a whole window
 * passes without a refused set-aside, or when an admin {@link #release releases} it.
 *
 * <p>The other half of the rule, one key per request, is the request's to keep: {@code Exchange} records at most one
 * invalid-key verdict per request.
 *
 * <p>Thread-safe. {@link #admit} takes a short lock: it runs only on the invalid-key path (an error answer already
 * read whole), never on a request that succeeds.
 */
public final class SetAsideBrake {
    private static final Logger log = LogManager.getLogger(SetAsideBrake.class);

    /** Default share of the pool that may be set aside for one reason within a window. */
    public static final double DEFAULT_SHARE = 0.5;
    /** Default window. */
    public static final long DEFAULT_WINDOW_MILLIS = 60_000;
    /** Bound on distinct reasons tracked (reasons come from a fixed table; this only guards against surprises). */
    private static final int MAX_REASONS = 64;

    private final double share;
    private final long windowMillis;
    private final Map<String, Reason> reasons = new HashMap<>();
    private long braked;

    /** One engaged brake, for the admin API and page. */
    public record Alert(String reason, long sinceMillis, long lastRefusedMillis, int refused, int setAside,
                        int limit) {
    }

    private static final class Reason {
        final ArrayDeque<Long> setAside = new ArrayDeque<>();
        long engagedSince;
        long lastRefused;
        int refused;
        int limit;
    }

    public SetAsideBrake() {
        this(DEFAULT_SHARE, DEFAULT_WINDOW_MILLIS);
    }

    /**
     * @param share        share of the pool (0 &lt; share &lt;= 1) that may be set aside for one reason per window
     * @param windowMillis the window, &gt; 0
     */
    public SetAsideBrake(double share, long windowMillis) {
        if (!(share > 0 && share <= 1)) {
            throw new IllegalArgumentException("share: " + share + " (expected: > 0 and <= 1)");
        }
        if (windowMillis <= 0) {
            throw new IllegalArgumentException("windowMillis: " + windowMillis + " (expected: > 0)");
        }
        this.share = share;
        this.windowMillis = windowMillis;
    }

    public double share() {
        return share;
    }

    public long windowMillis() {
        return windowMillis;
    }

    /** Keys that may be set aside for one reason within a window, for a pool of {@code poolSize} keys. */
    public int limit(int poolSize) {
        return Math.max(1, (int) Math.floor(share * poolSize));
    }

    /**
     * Asks to set a key aside for {@code reason} now.
     *
     * @param poolSize the keys in the pool (not removed)
     * @return true: set it aside (counted); false: the brake holds, the key keeps serving
     */
    public boolean admit(String reason, long nowMillis, int poolSize) {
        requireNonNull(reason, "reason");
        int limit = limit(poolSize);
        synchronized (this) {
            Reason r = reasons.get(reason);
            if (r == null) {
                if (reasons.size() >= MAX_REASONS) {
                    prune(nowMillis);
                }
                r = new Reason();
                reasons.put(reason, r);
            }
            while (!r.setAside.isEmpty() && r.setAside.peekFirst() <= nowMillis - windowMillis) {
                r.setAside.pollFirst();
            }
            if (r.engagedSince != 0 && r.lastRefused <= nowMillis - windowMillis) {
                r.engagedSince = 0; // a whole window without a refusal: released
                r.refused = 0;
            }
            if (r.engagedSince == 0 && r.setAside.size() < limit) {
                r.setAside.addLast(nowMillis);
                return true;
            }
            boolean engaging = r.engagedSince == 0;
            if (engaging) {
                r.engagedSince = nowMillis;
            }
            r.lastRefused = nowMillis;
            r.refused++;
            r.limit = limit;
            braked++;
            if (engaging) {
                log.error("set-aside brake engaged for {}: {} of {} keys were set aside within {} s; no more keys are "
                        + "set aside for this reason until {} s pass without one (a wrong upstream, an outage or a "
                        + "bug must not empty the pool); see GET /admin/api/stats alerts", reason, r.setAside.size(),
                        poolSize, windowMillis / 1000, windowMillis / 1000);
            }
            return false;
        }
    }

    /** The engaged brakes, oldest first. */
    public synchronized List<Alert> alerts(long nowMillis) {
        List<Alert> out = new ArrayList<>();
        for (Map.Entry<String, Reason> e : reasons.entrySet()) {
            Reason r = e.getValue();
            if (r.engagedSince != 0 && r.lastRefused > nowMillis - windowMillis) {
                out.add(new Alert(e.getKey(), r.engagedSince, r.lastRefused, r.refused, r.setAside.size(), r.limit));
            }
        }
        out.sort((a, b) -> Long.compare(a.sinceMillis(), b.sinceMillis()));
        return out;
    }

    /** True while any reason is braked. */
    public boolean isEngaged(long nowMillis) {
        return !alerts(nowMillis).isEmpty();
    }

    /** Set-asides refused since start. */
    public synchronized long braked() {
        return braked;
    }

    /** Releases every engaged brake and forgets the window (an admin fixed the cause). */
    public synchronized void release() {
        reasons.clear();
    }

    private void prune(long nowMillis) {
        reasons.values().removeIf(r -> r.engagedSince == 0
                && (r.setAside.isEmpty() || r.setAside.peekLast() <= nowMillis - windowMillis));
    }
}
