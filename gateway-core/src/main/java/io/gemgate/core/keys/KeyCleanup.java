package io.gemgate.core.keys;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Takes unhealthy keys out of rotation, never the last good one: sets aside (marks invalid, for probing) a key that
 * keeps failing, and soft-removes keys that were bad for days ({@link #removeBad}) or that an operator wants gone
 * ({@link #removeUnhealthy}). Removal is soft: {@link #restore} brings a key back with a fresh streak.
 *
 * <h2>The last good key</h2>
 * A key is <em>in rotation</em> when it is enabled, not removed and not invalid. Nothing here ever takes the last
 * key in rotation out of it, and nothing removes the last key that is not removed, even when every key is invalid:
 * the gateway always keeps a key to try and to probe. When only some candidates can go, the worst go first: those
 * already out of rotation, then the longest bad streaks; the one kept is the best of them.
 *
 * <p>Thread-safe: the deciding methods are synchronized, so that two runs (the daily one and an operator's) cannot
 * both count the same key as the one that remains. They are short (a pass over the keys) and never called per
 * request.
 */
public final class KeyCleanup {
    private final KeyPool pool;
    private final KeyHealthHistory history;

    public KeyCleanup(KeyPool pool, KeyHealthHistory history) {
        this.pool = requireNonNull(pool, "pool");
        this.history = requireNonNull(history, "history");
    }

    public KeyHealthHistory history() {
        return history;
    }

    /** A key and why it was removed, or why it was kept. */
    public record Decision(ApiKey key, String reason) {
    }

    /** What one run did: keys removed, and candidates kept because they were the last good ones. */
    public record Result(List<Decision> removed, List<Decision> kept) {
    }

    /** A key with bad days in its current streak. */
    public record AtRisk(ApiKey key, int badDays) {
    }

    /** In rotation: enabled, not removed, not invalid. */
    public static boolean inRotation(ApiKey k) {
        return k.isEnabled() && !k.isRemoved() && !k.isInvalid();
    }

    /**
     * Sets a key aside as invalid with this reason unless it is the last key in rotation.
     *
     * @return true when it was set aside
     */
    public synchronized boolean setAside(ApiKey k, String reason) {
        if (!inRotation(k)) {
            return false;
        }
        for (ApiKey other : pool.keys()) {
            if (other != k && inRotation(other)) {
                return pool.markInvalid(k.id(), reason);
            }
        }
        return false;
    }

    /**
     * Removes the keys bad for at least {@code badDays} days in a row (the daily clean-up and its manual run), with
     * the reason "bad N days in a row".
     *
     * @param badDays at least 1
     */
    public synchronized Result removeBad(int badDays, int minChecks, long now) {
        if (badDays < 1) {
            throw new IllegalArgumentException("badDays: " + badDays + " (expected: at least 1)");
        }
        List<Candidate> candidates = new ArrayList<>();
        for (ApiKey k : pool.keys()) {
            int streak = k.isRemoved() ? 0 : history.badStreak(k.id(), now, minChecks);
            if (streak >= badDays) {
                candidates.add(new Candidate(k, streak, badDaysReason(streak)));
            }
        }
        return remove(candidates);
    }

    /** Removes every key that is invalid or has a bad day in its current streak (the "remove unhealthy" action). */
    public synchronized Result removeUnhealthy(int minChecks, long now) {
        List<Candidate> candidates = new ArrayList<>();
        for (ApiKey k : pool.keys()) {
            if (k.isRemoved()) {
                continue;
            }
            int streak = history.badStreak(k.id(), now, minChecks);
            if (k.isInvalid()) {
                candidates.add(new Candidate(k, streak, "invalid: " + k.invalidReason()));
            } else if (streak > 0) {
                candidates.add(new Candidate(k, streak, badDaysReason(streak)));
            }
        }
        return remove(candidates);
    }

    /** Brings a removed key back with a fresh streak; false when the id is unknown. */
    public synchronized boolean restore(String id, long now) {
        if (!pool.setRemoved(id, false)) {
            return false;
        }
        history.restart(id, now);
        return true;
    }

    /** Keys not removed with at least one bad day in their current streak, longest streak first. */
    public List<AtRisk> atRisk(int minChecks, long now) {
        List<AtRisk> out = new ArrayList<>();
        for (ApiKey k : pool.keys()) {
            int streak = k.isRemoved() ? 0 : history.badStreak(k.id(), now, minChecks);
            if (streak > 0) {
                out.add(new AtRisk(k, streak));
            }
        }
        out.sort(Comparator.comparingInt(AtRisk::badDays).reversed());
        return out;
    }

    private static String badDaysReason(int days) {
        return "bad " + days + (days == 1 ? " day" : " days in a row");
    }

    private record Candidate(ApiKey key, int streak, String reason) {
    }

    private Result remove(List<Candidate> candidates) {
        // Worst first: out of rotation already, then the longest streak; the pool's order breaks ties.
        candidates.sort(Comparator.comparing((Candidate c) -> inRotation(c.key()))
                .thenComparing(Comparator.comparingInt(Candidate::streak).reversed()));
        int rotating = 0;
        int standing = 0;
        for (ApiKey k : pool.keys()) {
            rotating += inRotation(k) ? 1 : 0;
            standing += k.isRemoved() ? 0 : 1;
        }
        List<Decision> removed = new ArrayList<>();
        List<Decision> kept = new ArrayList<>();
        for (Candidate c : candidates) {
            boolean rot = inRotation(c.key());
            if (rot && rotating <= 1) {
                kept.add(new Decision(c.key(), "the last key in rotation"));
            } else if (standing <= 1) {
                kept.add(new Decision(c.key(), "the last key that is not removed"));
            } else {
                pool.setRemoved(c.key().id(), true);
                history.removed(c.key().id(), c.reason());
                removed.add(new Decision(c.key(), c.reason()));
                standing--;
                rotating -= rot ? 1 : 0;
            }
        }
        return new Result(List.copyOf(removed), List.copyOf(kept));
    }
}
