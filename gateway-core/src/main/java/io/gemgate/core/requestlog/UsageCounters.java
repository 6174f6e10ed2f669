package io.gemgate.core.requestlog;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Exact usage counters per minute, by user token, key, model and key group: requests, failures and tokens. Every
 * request ends here on its event loop (whether or not its record reaches the database), so the usage history is
 * exact, not drawn from sampled rows. The request log's writer drains the counts periodically
 * ({@link #drain}) and adds them to the database's per-minute and per-day rows.
 *
 * <p>Thread-safe and lock-free. Each counting thread (an event loop) has cells of its own, so that two loops never
 * pass one cache line back and forth per request, and adds to them with plain additions (one writer per cell: no
 * atomic read-modify-write); a dimension's value is looked up in a map only when it differs from the one the thread
 * counted last (the names are the existing strings: no key object is made); a new minute, model, token or key makes
 * its cell once. A drain adds the threads' counts up, each count handed out once.
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
        m.cell(Dim.TOKEN, token).add(failed, r.promptTokens(), r.outputTokens(), r.reasoningTokens());
        if (!r.model().isEmpty()) {
            m.cell(Dim.MODEL, r.model()).add(failed, r.promptTokens(), r.outputTokens(), r.reasoningTokens());
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
            m.cell(Dim.KEY, a.keyId()).add(attemptFailed, p, o, t);
            if (last) {
                m.cell(Dim.GROUP, a.group().isEmpty() ? NO_GROUP : a.group()).add(failed, p, o, t);
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

    /**
     * One value's counts in one minute of one thread: written by that thread alone (plain additions published with
     * release stores, no atomic read-modify-write), read by the drain, which remembers what it has handed out
     * ({@code drained}, its own) and hands out the difference.
     */
    private static final class Cell {
        private static final java.lang.invoke.VarHandle SLOT =
                java.lang.invoke.MethodHandles.arrayElementVarHandle(long[].class);
        final long[] counts = new long[SLOTS];
        final long[] drained = new long[SLOTS];

        void add(boolean failed, long prompt, long output, long reasoning) {
            long[] c = counts;
            SLOT.setRelease(c, REQUESTS, c[REQUESTS] + 1);
            if (failed) {
                SLOT.setRelease(c, FAILURES, c[FAILURES] + 1);
            }
            if (prompt != 0) {
                SLOT.setRelease(c, PROMPT, c[PROMPT] + prompt);
            }
            if (output != 0) {
                SLOT.setRelease(c, OUTPUT, c[OUTPUT] + output);
            }
            if (reasoning != 0) {
                SLOT.setRelease(c, REASONING, c[REASONING] + reasoning);
            }
        }

        /** What was added since the last call, into {@code out}; true when anything was. Drain only. */
        boolean takeNew(long[] out) {
            boolean any = false;
            for (int i = 0; i < SLOTS; i++) {
                long now = (long) SLOT.getAcquire(counts, i);
                out[i] = now - drained[i];
                drained[i] = now;
                any |= out[i] != 0;
            }
            return any;
        }
    }

    /**
     * Takes the counts added since the last drain (each count is handed out exactly once) and forgets minutes that
     * ended more than two minutes before {@code nowMillis} once they are drained.
     */
    public synchronized List<Row> drain(long nowMillis) {
        long[] taken = new long[SLOTS];
        // The threads' counts of one minute, dimension and value add up to one row.
        Map<Long, Map<Dim, Map<String, long[]>>> sums = new java.util.TreeMap<>();
        for (Stripe stripe : stripes) {
            for (Map.Entry<Long, Minute> e : stripe.minutes.entrySet()) {
                Minute m = e.getValue();
                boolean any = false;
                for (Dim d : Dim.values()) {
                    for (Map.Entry<String, Cell> cell : m.cells[d.ordinal()].entrySet()) {
                        if (cell.getValue().takeNew(taken)) {
                            any = true;
                            long[] sum = sums.computeIfAbsent(m.start, k -> new java.util.EnumMap<>(Dim.class))
                                    .computeIfAbsent(d, k -> new java.util.LinkedHashMap<>())
                                    .computeIfAbsent(cell.getKey(), k -> new long[SLOTS]);
                            for (int i = 0; i < SLOTS; i++) {
                                sum[i] += taken[i];
                            }
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

    /** One minute's cells, per dimension, with the last cell each dimension found (its owner's alone). */
    private static final class Minute {
        final long start;
        @SuppressWarnings("unchecked")
        final ConcurrentHashMap<String, Cell>[] cells = new ConcurrentHashMap[Dim.values().length];
        final String[] lastValue = new String[cells.length];
        final Cell[] lastCell = new Cell[cells.length];

        Minute(long start) {
            this.start = start;
            for (int i = 0; i < cells.length; i++) {
                cells[i] = new ConcurrentHashMap<>();
            }
        }

        /** The cell of {@code value}: most requests name the model, token, key and group the last one did. */
        Cell cell(Dim d, String value) {
            int i = d.ordinal();
            String last = lastValue[i];
            if (last == value || value.equals(last)) {
                return lastCell[i];
            }
            Cell c = cells[i].get(value);
            if (c == null) {
                c = cells[i].computeIfAbsent(value, v -> new Cell());
            }
            lastValue[i] = value;
            lastCell[i] = c;
            return c;
        }
    }
}
