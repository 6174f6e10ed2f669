package io.gemgate.core.keys;

import java.util.Arrays;

/**
 * What one request has spent of its failover budget: the keys it was handed (each attempt goes to a distinct key)
 * and the costly failures among them. Only costly failures ({@link VerdictKind#isCostly()}: 5xx, connection failure,
 * timeout, empty answer) use up the attempts; a 429 or an invalid key is learned from an immediate answer and costs
 * nothing but the next key, so a request may try as many keys as the pool has (the gateway bounds that by its failover
 * deadline instead).
 *
 * <p>The tried keys are kept in an open-addressing hash set of slots: {@link #contains} is O(1) however many keys were
 * tried. The table starts with room for 8 keys and doubles past half full (an allocation only on a long failover).
 *
 * <p>Owned by one request; not thread-safe.
 */
public final class KeyAttempts {
    private static final int INITIAL_TABLE = 16;

    private final int maxCostlyFailures;
    /** Slot + 1 of each tried key (0: empty), linear probing; its length is a power of two. */
    private int[] table = new int[INITIAL_TABLE];
    private int count;
    private int costlyFailures;
    /**
     * Where the lanes found the key they selected last: its lane (tier position) and lane-local index, so that
     * {@link KeySelector} reaches the key's state and counters through the lanes' arrays ({@link
     * ModelLanes#selectedState}, {@link ModelLanes#selectedDay}) rather than by walking from the key again. Set by
     * {@link ModelLanes#select}, read right after by {@link KeySelector}. Two ints rather than the two objects: a
     * reference stored in a heap object costs the collector's write barriers on every selection (KeySelectionBenchmark
     * at 10 keys, docs/benchmarks.md).
     */
    int selectedLane;
    int selectedLocal;

    /**
     * @param maxCostlyFailures costly failures after which no further key is handed out (the live {@code maxAttempts})
     */
    public KeyAttempts(int maxCostlyFailures) {
        if (maxCostlyFailures < 1) {
            throw new IllegalArgumentException("maxCostlyFailures: " + maxCostlyFailures + " (expected: > 0)");
        }
        this.maxCostlyFailures = maxCostlyFailures;
    }

    /** How many keys were handed out to this request. */
    public int count() {
        return count;
    }

    /** Costly failures met so far. */
    public int costlyFailures() {
        return costlyFailures;
    }

    /** Notes that the last attempt ended in a costly failure ({@link VerdictKind#isCostly()}). */
    public void costlyFailure() {
        costlyFailures++;
    }

    /** True when no further key may be tried: the costly failures reached the limit. */
    public boolean isSpent() {
        return costlyFailures >= maxCostlyFailures;
    }

    /** Forgets everything, for a new upstream call of the same request (or a benchmark's next selection). */
    public void reset() {
        if (count != 0) {
            Arrays.fill(table, 0);
            count = 0;
        }
        costlyFailures = 0;
    }

    /** True when the key in this slot was handed to this request. O(1). */
    public boolean contains(int slot) {
        if (count == 0) {
            return false;
        }
        int[] t = table;
        int mask = t.length - 1;
        int want = slot + 1;
        for (int i = mix(slot) & mask; ; i = (i + 1) & mask) {
            int v = t[i];
            if (v == want) {
                return true;
            }
            if (v == 0) {
                return false;
            }
        }
    }

    void add(int slot) {
        if ((count + 1) * 2 > table.length) {
            grow();
        }
        if (insert(table, slot)) {
            count++;
        }
    }

    private void grow() {
        int[] bigger = new int[table.length * 2];
        for (int v : table) {
            if (v != 0) {
                insert(bigger, v - 1);
            }
        }
        table = bigger;
    }

    private static boolean insert(int[] t, int slot) {
        int mask = t.length - 1;
        int want = slot + 1;
        for (int i = mix(slot) & mask; ; i = (i + 1) & mask) {
            int v = t[i];
            if (v == want) {
                return false;
            }
            if (v == 0) {
                t[i] = want;
                return true;
            }
        }
    }

    private static int mix(int slot) {
        return slot * 0x9E3779B9 >>> 7 ^ slot;
    }
}
