package io.gemgate.core.keys;


/**
 * One key's counters for one model and one quota day. Replaced, not cleared, when the day rolls over. Thread-safe;
 * public so that a shared store can read them and add other gateways' counts ({@link KeyPool#counters}).
 */
public final class DayCounters {
    public static final int REQUESTS = 0;
    public static final int SUCCESSES = 1;
    public static final int FAILURES = 2;
    public static final int RATE_LIMITED = 3;
    public static final int PROMPT_TOKENS = 4;
    public static final int OUTPUT_TOKENS = 5;
    /** How many counters there are: indices run from 0 to {@code COUNT - 1}. */
    public static final int COUNT = 6;
    private static final String[] NAMES = {"requests", "successes", "failures", "rateLimited", "promptTokens",
            "outputTokens"};

    /** Atomic access to {@link #values}: one object fewer between a key and its counts than an AtomicLongArray. */
    private static final java.lang.invoke.VarHandle VALUES =
            java.lang.invoke.MethodHandles.arrayElementVarHandle(long[].class);

    final long dayStart;
    private final long[] values = new long[COUNT];

    DayCounters(long dayStart) {
        this.dayStart = dayStart;
    }

    /** Start of the quota day these counters belong to, epoch millis. */
    public long dayStart() {
        return dayStart;
    }

    /** A stable name of a counter, for stores: {@code requests}, {@code successes}, ... */
    public static String name(int counter) {
        return NAMES[counter];
    }

    /** The index of the counter named {@code name}, or -1. */
    public static int indexOf(String name) {
        for (int i = 0; i < COUNT; i++) {
            if (NAMES[i].equals(name)) {
                return i;
            }
        }
        return -1;
    }

    public long get(int counter) {
        return (long) VALUES.getVolatile(values, counter);
    }

    public void add(int counter, long delta) {
        VALUES.getAndAdd(values, counter, delta);
    }

    void set(int counter, long value) {
        VALUES.setVolatile(values, counter, value);
    }
}
