package io.gemgate.core.keys;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;

/**
 * Knows where the quota day starts and ends: midnight in the reset zone (Google resets daily quotas at midnight
 * Pacific). Thread-safe; the current day is cached, so {@link #dayStart(long)} allocates nothing except once a day.
 */
public final class QuotaCalendar {
    private final ZoneId zone;
    private volatile Day current = new Day(Long.MIN_VALUE, Long.MIN_VALUE);

    private record Day(long start, long end) {
    }

    public QuotaCalendar(ZoneId zone) {
        this.zone = requireNonNull(zone, "zone");
    }

    public ZoneId zone() {
        return zone;
    }

    /** Epoch millis of the start of the quota day containing {@code nowMillis}. */
    public long dayStart(long nowMillis) {
        return day(nowMillis).start;
    }

    /** Epoch millis of the next reset after {@code nowMillis} (the end of its quota day). */
    public long nextReset(long nowMillis) {
        return day(nowMillis).end;
    }

    private Day day(long nowMillis) {
        Day d = current;
        if (nowMillis >= d.start && nowMillis < d.end) {
            return d;
        }
        LocalDate date = Instant.ofEpochMilli(nowMillis).atZone(zone).toLocalDate();
        long start = date.atStartOfDay(zone).toInstant().toEpochMilli();
        long end = date.plusDays(1).atStartOfDay(zone).toInstant().toEpochMilli();
        d = new Day(start, end);
        // Only move forward: a caller with an older clock reading must not evict the current day.
        if (start >= current.start) {
            current = d;
        }
        return d;
    }
}
