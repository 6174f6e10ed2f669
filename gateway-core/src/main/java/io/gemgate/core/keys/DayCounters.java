package io.gemgate.core.keys;

import java.util.concurrent.atomic.AtomicLongArray;

/** One key's counters for one model and one quota day. Replaced, not cleared, when the day rolls over. */
final class DayCounters {
    static final int REQUESTS = 0;
    static final int SUCCESSES = 1;
    static final int FAILURES = 2;
    static final int RATE_LIMITED = 3;
    static final int PROMPT_TOKENS = 4;
    static final int OUTPUT_TOKENS = 5;
    static final int COUNT = 6;

    final long dayStart;
    private final AtomicLongArray values = new AtomicLongArray(COUNT);

    DayCounters(long dayStart) {
        this.dayStart = dayStart;
    }

    long get(int counter) {
        return values.get(counter);
    }

    void add(int counter, long delta) {
        values.getAndAdd(counter, delta);
    }

    void set(int counter, long value) {
        values.set(counter, value);
    }
}
