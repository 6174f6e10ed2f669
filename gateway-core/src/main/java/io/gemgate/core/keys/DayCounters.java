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

    private static final java.lang.invoke.VarHandle REQUESTS_VH;
    private static final java.lang.invoke.VarHandle SUCCESSES_VH;
    private static final java.lang.invoke.VarHandle FAILURES_VH;
    private static final java.lang.invoke.VarHandle RATE_LIMITED_VH;
    private static final java.lang.invoke.VarHandle PROMPT_TOKENS_VH;
    private static final java.lang.invoke.VarHandle OUTPUT_TOKENS_VH;

    static {
        try {
            var l = java.lang.invoke.MethodHandles.lookup();
            REQUESTS_VH = l.findVarHandle(DayCounters.class, "requests", long.class);
            SUCCESSES_VH = l.findVarHandle(DayCounters.class, "successes", long.class);
            FAILURES_VH = l.findVarHandle(DayCounters.class, "failures", long.class);
            RATE_LIMITED_VH = l.findVarHandle(DayCounters.class, "rateLimited", long.class);
            PROMPT_TOKENS_VH = l.findVarHandle(DayCounters.class, "promptTokens", long.class);
            OUTPUT_TOKENS_VH = l.findVarHandle(DayCounters.class, "outputTokens", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final long dayStart;
    /*
     * The counters are fields of this object, not an array beside it: selection reads and adds today's requests of
     * the key it lands on, and at 100,000 keys each object between the key and that count is a cache miss
     * (docs/benchmarks.md). Each is read and added atomically (a volatile field, added through its VarHandle);
     * the switches below fold away when the counter is a constant, as it is on the hot paths.
     */
    private volatile long requests;
    private volatile long successes;
    private volatile long failures;
    private volatile long rateLimited;
    private volatile long promptTokens;
    private volatile long outputTokens;

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
        return switch (counter) {
            case REQUESTS -> requests;
            case SUCCESSES -> successes;
            case FAILURES -> failures;
            case RATE_LIMITED -> rateLimited;
            case PROMPT_TOKENS -> promptTokens;
            case OUTPUT_TOKENS -> outputTokens;
            default -> throw outOfRange(counter);
        };
    }

    public void add(int counter, long delta) {
        switch (counter) {
            case REQUESTS -> REQUESTS_VH.getAndAdd(this, delta);
            case SUCCESSES -> SUCCESSES_VH.getAndAdd(this, delta);
            case FAILURES -> FAILURES_VH.getAndAdd(this, delta);
            case RATE_LIMITED -> RATE_LIMITED_VH.getAndAdd(this, delta);
            case PROMPT_TOKENS -> PROMPT_TOKENS_VH.getAndAdd(this, delta);
            case OUTPUT_TOKENS -> OUTPUT_TOKENS_VH.getAndAdd(this, delta);
            default -> throw outOfRange(counter);
        }
    }

    void set(int counter, long value) {
        switch (counter) {
            case REQUESTS -> requests = value;
            case SUCCESSES -> successes = value;
            case FAILURES -> failures = value;
            case RATE_LIMITED -> rateLimited = value;
            case PROMPT_TOKENS -> promptTokens = value;
            case OUTPUT_TOKENS -> outputTokens = value;
            default -> throw outOfRange(counter);
        }
    }

    private static IndexOutOfBoundsException outOfRange(int counter) {
        return new IndexOutOfBoundsException("counter: " + counter + " (expected: 0 to " + (COUNT - 1) + ")");
    }
}
