package io.gemgate.core.keys;

import static java.util.Objects.requireNonNull;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * How each key fared, per quota day, over the last {@value #DAYS} days with activity: calls that succeeded, calls
 * that failed for the key's or the upstream's sake (invalid key, 5xx, connect failure, timeout; not rate limits or
 * daily exhaustion, which are quota, not health; not empty answers, which are the model's), and probes with their
 * outcome. Also, per key, the run of server errors in a row (what sets a key aside for probing) and the marks of the
 * clean-up: why it removed a key, and from when bad days count again after a restore.
 *
 * <p>A day is <em>bad</em> when it has no success (call or probe) and at least {@code minChecksPerDay} failed calls
 * and probes; <em>good</em> when it has a success. A key's bad streak counts bad days back from today: today counts
 * when already bad, is skipped while undecided (no success, too few failures) and ends the streak when good; a
 * day without any activity ends it too, so idle days never count against a key.
 *
 * <p>Thread-safe. The recording methods are called on event loops for every upstream attempt: they allocate nothing
 * except once per key and day, and take a lock only then. Reading takes each key's lock briefly.
 */
public final class KeyHealthHistory {
    /** Days of history kept per key, today included. */
    public static final int DAYS = 30;

    private static final int FAILED = 0;
    private static final int CHECKS = 1;
    private static final int CHECKS_FAILED = 2;

    private final QuotaCalendar calendar;
    private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();
    private volatile boolean dirty;

    public KeyHealthHistory(QuotaCalendar calendar) {
        this.calendar = requireNonNull(calendar, "calendar");
    }

    /**
     * One day's counters, updated lock-free. Successes, which every ordinary request adds on one event loop or
     * another, go to a {@link LongAdder} (a cell per contending thread) rather than one word both loops would pass
     * back and forth per request; the rarer counts share an array.
     */
    private static final class Day {
        final long start;
        final LongAdder ok = new LongAdder();
        final AtomicLongArray counts = new AtomicLongArray(3);

        Day(long start) {
            this.start = start;
        }

        HealthDay view() {
            return new HealthDay(start, ok.sum(), counts.get(FAILED), counts.get(CHECKS),
                    counts.get(CHECKS_FAILED));
        }
    }

    /** One key's history. */
    private final class Entry {
        final AtomicInteger serverErrors = new AtomicInteger();
        /** The newest day with activity; null before any. */
        volatile Day current;
        // Guarded by this.
        /** Older days, newest first. */
        final ArrayDeque<HealthDay> past = new ArrayDeque<>();
        long streakFrom;
        String removedReason = "";

        Day day(long now) {
            long start = calendar.dayStart(now);
            Day d = current;
            return d != null && d.start >= start ? d : roll(start);
        }

        /** Starts a new day (or reopens a restored one); an older clock reading counts in the newest day. */
        synchronized Day roll(long start) {
            Day d = current;
            if (d != null && d.start >= start) {
                return d;
            }
            if (d != null) {
                past.addFirst(d.view());
            }
            Day next = new Day(start);
            HealthDay restored = past.peekFirst();
            if (restored != null && restored.dayStartMillis() == start) {
                past.pollFirst();
                next.ok.add(restored.ok());
                next.counts.set(FAILED, restored.failed());
                next.counts.set(CHECKS, restored.checks());
                next.counts.set(CHECKS_FAILED, restored.checksFailed());
            }
            while (past.size() > DAYS - 1) {
                past.pollLast();
            }
            current = next;
            return next;
        }

        synchronized List<HealthDay> days() {
            List<HealthDay> out = new ArrayList<>(past.size() + 1);
            Day d = current;
            if (d != null) {
                out.add(d.view());
            }
            for (HealthDay h : past) {
                if (out.size() == DAYS) {
                    break;
                }
                out.add(h);
            }
            return out;
        }
    }

    private Entry entry(String id) {
        Entry e = entries.get(id);
        return e != null ? e : entries.computeIfAbsent(id, k -> new Entry());
    }

    private void markDirty() {
        if (!dirty) {
            dirty = true;
        }
    }

    // -------------------------------------------------------------------------------------------------- recording

    /**
     * Counts one upstream call's verdict.
     *
     * @return the key's server errors (5xx, connect failure, timeout) in a row after this verdict: 0 after a
     *         success, unchanged after a verdict that says nothing about the key's health
     */
    public int recordCall(String id, VerdictKind kind, long now) {
        return switch (kind) {
            case SUCCESS -> {
                Entry e = entry(id);
                e.day(now).ok.increment();
                markDirty();
                if (e.serverErrors.get() != 0) {
                    e.serverErrors.set(0);
                }
                yield 0;
            }
            case INVALID_KEY -> {
                Entry e = entry(id);
                e.day(now).counts.incrementAndGet(FAILED);
                markDirty();
                yield e.serverErrors.get();
            }
            case SERVER_ERROR, CONNECT_FAILURE, TIMEOUT -> {
                Entry e = entry(id);
                e.day(now).counts.incrementAndGet(FAILED);
                markDirty();
                yield e.serverErrors.incrementAndGet();
            }
            default -> {
                Entry e = entries.get(id);
                yield e == null ? 0 : e.serverErrors.get();
            }
        };
    }

    /** Counts one probe: {@code good} when the upstream accepted the key, which also ends its run of errors. */
    public void recordCheck(String id, boolean good, long now) {
        Entry e = entry(id);
        Day d = e.day(now);
        d.counts.incrementAndGet(CHECKS);
        if (good) {
            e.serverErrors.set(0);
        } else {
            d.counts.incrementAndGet(CHECKS_FAILED);
        }
        markDirty();
    }

    /** The key's server errors in a row. */
    public int serverErrors(String id) {
        Entry e = entries.get(id);
        return e == null ? 0 : e.serverErrors.get();
    }

    /** Notes that the clean-up removed the key, and why (shown until it is restored). */
    public void removed(String id, String reason) {
        Entry e = entry(id);
        synchronized (e) {
            e.removedReason = requireNonNull(reason, "reason");
        }
        markDirty();
    }

    /**
     * A fresh start for a restored key: bad days up to and including today no longer count, the removal reason and
     * the run of errors are cleared.
     */
    public void restart(String id, long now) {
        Entry e = entry(id);
        synchronized (e) {
            e.removedReason = "";
            e.streakFrom = calendar.nextReset(now);
        }
        e.serverErrors.set(0);
        markDirty();
    }

    // ------------------------------------------------------------------------------------------------------ reading

    /** The key's days with activity, newest first, at most {@value #DAYS}. */
    public List<HealthDay> days(String id) {
        Entry e = entries.get(id);
        return e == null ? List.of() : e.days();
    }

    /** Why the clean-up removed the key; {@code ""} when it did not. */
    public String removedReason(String id) {
        Entry e = entries.get(id);
        if (e == null) {
            return "";
        }
        synchronized (e) {
            return e.removedReason;
        }
    }

    /** True when the day had no success and at least {@code minChecks} failed calls and probes. */
    public static boolean isBad(HealthDay d, int minChecks) {
        return !isGood(d) && d.failed() + d.checksFailed() >= minChecks;
    }

    /** True when a call or a probe succeeded that day. */
    public static boolean isGood(HealthDay d) {
        return d.ok() > 0 || d.checks() > d.checksFailed();
    }

    /** Bad days in a row, back from today (see the class comment); 0 for a key without history. */
    public int badStreak(String id, long now, int minChecks) {
        Entry e = entries.get(id);
        if (e == null) {
            return 0;
        }
        long from;
        synchronized (e) {
            from = e.streakFrom;
        }
        long today = calendar.dayStart(now);
        long expect = calendar.dayStart(today - 1);
        int streak = 0;
        for (HealthDay d : e.days()) {
            long start = d.dayStartMillis();
            if (start < from) {
                break;
            }
            if (start >= today) {
                if (isGood(d)) {
                    return 0;
                }
                streak += isBad(d, minChecks) ? 1 : 0;
                continue;
            }
            if (start != expect || !isBad(d, minChecks)) {
                break;
            }
            streak++;
            expect = calendar.dayStart(start - 1);
        }
        return streak;
    }

    // -------------------------------------------------------------------------------------------------- persisting

    /**
     * One key's history as the state file keeps it (the state package maps it to its own record).
     *
     * @param fingerprint      the key
     * @param streakFromMillis bad days that start before this instant do not count towards removal (the key was
     *                         restored then); 0 = all count
     * @param removedReason    why the clean-up removed the key, {@code ""} when it did not
     * @param days             one entry per quota day with activity, newest first, at most {@value #DAYS}
     */
    public record KeyHistory(String fingerprint, long streakFromMillis, String removedReason, List<HealthDay> days) {
        public KeyHistory {
            java.util.Objects.requireNonNull(fingerprint, "fingerprint");
            java.util.Objects.requireNonNull(removedReason, "removedReason");
            days = List.copyOf(days);
        }
    }


    /** True (once) when something changed since the last call. */
    public boolean takeDirty() {
        if (!dirty) {
            return false;
        }
        dirty = false;
        return true;
    }

    /** What the state file keeps: every key with history or marks. */
    public List<KeyHistory> snapshot() {
        List<KeyHistory> out = new ArrayList<>();
        entries.forEach((id, e) -> {
            List<HealthDay> days = e.days();
            long from;
            String reason;
            synchronized (e) {
                from = e.streakFrom;
                reason = e.removedReason;
            }
            if (!days.isEmpty() || from != 0 || !reason.isEmpty()) {
                out.add(new KeyHistory(id, from, reason, days));
            }
        });
        return out;
    }

    /**
     * Restores what {@link #snapshot()} took, replacing the history of these keys. Days are taken newest first, at
     * most {@value #DAYS}; a restored day that is still today goes on counting.
     */
    public void restore(Collection<KeyHistory> stored) {
        for (KeyHistory h : stored) {
            List<HealthDay> days = new ArrayList<>(h.days());
            days.sort((a, b) -> Long.compare(b.dayStartMillis(), a.dayStartMillis()));
            Entry e = new Entry();
            synchronized (e) {
                long last = Long.MAX_VALUE;
                for (HealthDay d : days) {
                    if (e.past.size() < DAYS && d.dayStartMillis() < last) {
                        e.past.addLast(d);
                        last = d.dayStartMillis();
                    }
                }
                e.streakFrom = h.streakFromMillis();
                e.removedReason = h.removedReason();
            }
            entries.put(h.fingerprint(), e);
        }
    }
}
