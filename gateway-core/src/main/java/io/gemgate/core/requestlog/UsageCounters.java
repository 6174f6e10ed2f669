package io.gemgate.core.requestlog;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Exact usage counters per minute, by user token, key, model and key group: requests, failures and tokens. Every
 * request ends here on its event loop (whether or not its record reaches the database), so the usage history is
 * exact, not drawn from sampled rows. The request log's writer drains the counts periodically
 * ({@link #drain}) and adds them to the database's per-minute and per-day rows.
 *
 * <p>Thread-safe and lock-free: one map lookup per dimension (the names are the existing strings: no key object is
 * made) and atomic additions; a new minute, model, token or key makes its cell once. Each counting thread (an event
 * loop) has cells of its own, so that two loops never pass one cache line back and forth per request; a drain adds
 * the threads' counts up.
 */
public final class UsageCounters {
    /** The shared client token (no user token) in the token dimension. */
    public static final String SHARED_TOKEN = "shared";
    /** Requests refused without a token the gateway accepts, in the token dimension. */
    public static final String NO_TOKEN = "unauthenticated";
    /** Keys that belong to no group, in the group dimension. */
    public static final String NO_GROUP = "default";

    private static final int REQUESTS = 0;
    private static final int FAILURES = 1;
    private static final int PROMPT = 2;
    private static final int OUTPUT = 3;
    private static final int REASONING = 4;
    private static final int SLOTS = 5;
    private static final long MINUTE = 60_000;

    /** What usage is counted by. */
    public enum Dim {
        TOKEN("token"), KEY("key"), MODEL("model"), GROUP("group");

        private final String label;

        Dim(String label) {
            this.label = label;
        }

        /** The name in the database and the admin API ({@code by=}). */
        public String label() {
            return label;
        }

        /** The dimension named {@code label}, or null. */
        public static Dim of(String label) {
            for (Dim d : values()) {
                if (d.label.equals(label)) {
                    return d;
                }
            }
            return null;
        }
    }

    /**
     * Counts drained from one minute of one dimension's value.
     *
     * @param minuteStart the minute, epoch milliseconds
     */
    public record Row(long minuteStart, Dim dim, String value, long requests, long failures, long promptTokens,
                      long outputTokens, long reasoningTokens) {
    }

    private final java.util.Queue<Stripe> stripes = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final ThreadLocal<Stripe> mine = ThreadLocal.withInitial(() -> {
        Stripe s = new Stripe();
        stripes.add(s);
        return s;
    });

    /** Counts one ended request at {@code nowMillis}. */
    public void count(long nowMillis, RequestRecord r) {
        Minute m = mine.get().minute(nowMillis - Math.floorMod(nowMillis, MINUTE));
        boolean failed = r.isFailure();
        String token = r.tokenId().isEmpty() ? SHARED_TOKEN
                : r.tokenId().equals(RequestRecord.UNAUTHENTICATED) ? NO_TOKEN : r.tokenId();
        add(m, Dim.TOKEN, token, failed, r.promptTokens(), r.outputTokens(), r.reasoningTokens());
        if (!r.model().isEmpty()) {
            add(m, Dim.MODEL, r.model(), failed, r.promptTokens(), r.outputTokens(), r.reasoningTokens());
        }
        List<AttemptRecord> attempts = r.attempts();
        int n = attempts.size();
        for (int i = 0; i < n; i++) {
            AttemptRecord a = attempts.get(i);
            boolean last = i == n - 1;
            // The tokens are the serving key's; an earlier attempt failed (the request went on to another key).
            boolean attemptFailed = last ? failed || !a.isSuccess() : !a.isSuccess();
            long p = last ? r.promptTokens() : 0;
            long o = last ? r.outputTokens() : 0;
            long t = last ? r.reasoningTokens() : 0;
            add(m, Dim.KEY, a.keyId(), attemptFailed, p, o, t);
            if (last) {
                add(m, Dim.GROUP, a.group().isEmpty() ? NO_GROUP : a.group(), failed, p, o, t);
            }
        }
    }

    /** One counting thread's minutes. */
    private static final class Stripe {
        final ConcurrentHashMap<Long, Minute> minutes = new ConcurrentHashMap<>();
        Minute current = new Minute(Long.MIN_VALUE); // the owning thread's alone

        Minute minute(long start) {
            Minute m = current;
            if (m.start == start) {
                return m;
            }
            m = minutes.computeIfAbsent(start, Minute::new);
            current = m;
            return m;
        }
    }

    private static void add(Minute m, Dim d, String value, boolean failed, long prompt, long output, long reasoning) {
        ConcurrentHashMap<String, AtomicLongArray> cells = m.cells[d.ordinal()];
        AtomicLongArray c = cells.get(value);
        if (c == null) {
            c = cells.computeIfAbsent(value, v -> new AtomicLongArray(SLOTS));
        }
        c.incrementAndGet(REQUESTS);
        if (failed) {
            c.incrementAndGet(FAILURES);
        }
        if (prompt != 0) {
            c.addAndGet(PROMPT, prompt);
        }
        if (output != 0) {
            c.addAndGet(OUTPUT, output);
        }
        if (reasoning != 0) {
            c.addAndGet(REASONING, reasoning);
        }
    }

    /**
     * Takes the counts added since the last drain (each count is handed out exactly once) and forgets minutes that
     * ended more than two minutes before {@code nowMillis} once they are drained.
     */
    public List<Row> drain(long nowMillis) {
        // The threads' counts of one minute, dimension and value add up to one row.
        Map<Long, Map<Dim, Map<String, long[]>>> sums = new java.util.TreeMap<>();
        for (Stripe stripe : stripes) {
            for (Map.Entry<Long, Minute> e : stripe.minutes.entrySet()) {
                Minute m = e.getValue();
                boolean any = false;
                for (Dim d : Dim.values()) {
                    for (Map.Entry<String, AtomicLongArray> cell : m.cells[d.ordinal()].entrySet()) {
                        AtomicLongArray c = cell.getValue();
                        long req = c.getAndSet(REQUESTS, 0);
                        long fail = c.getAndSet(FAILURES, 0);
                        long p = c.getAndSet(PROMPT, 0);
                        long o = c.getAndSet(OUTPUT, 0);
                        long t = c.getAndSet(REASONING, 0);
                        if (req != 0 || fail != 0 || p != 0 || o != 0 || t != 0) {
                            any = true;
                            long[] sum = sums.computeIfAbsent(m.start, k -> new java.util.EnumMap<>(Dim.class))
                                    .computeIfAbsent(d, k -> new java.util.LinkedHashMap<>())
                                    .computeIfAbsent(cell.getKey(), k -> new long[SLOTS]);
                            sum[REQUESTS] += req;
                            sum[FAILURES] += fail;
                            sum[PROMPT] += p;
                            sum[OUTPUT] += o;
                            sum[REASONING] += t;
                        }
                    }
                }
                if (!any && m.start < nowMillis - 2 * MINUTE) {
                    stripe.minutes.remove(e.getKey(), m);
                }
            }
        }
        List<Row> out = new ArrayList<>();
        sums.forEach((minute, dims) -> dims.forEach((d, values) -> values.forEach((value, c) -> out.add(
                new Row(minute, d, value, c[REQUESTS], c[FAILURES], c[PROMPT], c[OUTPUT], c[REASONING])))));
        return out;
    }

    /** One minute's cells, per dimension. */
    private static final class Minute {
        final long start;
        @SuppressWarnings("unchecked")
        final ConcurrentHashMap<String, AtomicLongArray>[] cells = new ConcurrentHashMap[Dim.values().length];

        Minute(long start) {
            this.start = start;
            for (int i = 0; i < cells.length; i++) {
                cells[i] = new ConcurrentHashMap<>();
            }
        }
    }
}
