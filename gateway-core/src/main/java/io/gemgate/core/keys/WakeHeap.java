package io.gemgate.core.keys;

import java.util.Arrays;

/**
 * When resting keys may serve again: a binary min-heap of {@code wakeAt << 22 | keyIndex} in a growable
 * {@code long[]}, so that re-admitting the keys whose rest is over costs O(log n) each and allocates nothing (the
 * array grows, by doubling, only when more keys rest than ever before). Not thread-safe: guarded by its
 * {@link ModelLanes}' lock.
 */
final class WakeHeap {
    /** Key indexes take the low 22 bits: up to 4,194,304 keys; epoch milliseconds fit in the 41 above. */
    static final int INDEX_BITS = 22;
    static final int MAX_KEYS = 1 << INDEX_BITS;
    private static final long INDEX_MASK = MAX_KEYS - 1;

    private long[] heap = new long[16];
    private int size;

    int size() {
        return size;
    }

    /** The earliest wake-up time, or {@code Long.MAX_VALUE} when empty. */
    long firstWake() {
        return size == 0 ? Long.MAX_VALUE : heap[0] >>> INDEX_BITS;
    }

    void push(long wakeAt, int index) {
        if (size == heap.length) {
            heap = Arrays.copyOf(heap, size * 2);
        }
        long e = (wakeAt << INDEX_BITS) | index;
        int i = size++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (heap[parent] <= e) {
                break;
            }
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = e;
    }

    /** Removes the earliest entry and returns its key index; the heap must not be empty. */
    int pop() {
        long top = heap[0];
        long last = heap[--size];
        int i = 0;
        int half = size >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            if (child + 1 < size && heap[child + 1] < heap[child]) {
                child++;
            }
            if (last <= heap[child]) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        if (size > 0) {
            heap[i] = last;
        }
        return (int) (top & INDEX_MASK);
    }
}
