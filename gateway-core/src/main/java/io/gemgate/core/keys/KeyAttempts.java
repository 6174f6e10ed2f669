package io.gemgate.core.keys;

/**
 * The keys one request has tried, so that each attempt goes to a distinct key. Owned by one request; not
 * thread-safe.
 */
public final class KeyAttempts {
    private final int[] slots;
    private int count;

    public KeyAttempts(int maxAttempts) {
        this.slots = new int[maxAttempts];
    }

    /** How many keys were handed out to this request. */
    public int count() {
        return count;
    }

    /** True when no further key may be tried. */
    public boolean isSpent() {
        return count == slots.length;
    }

    boolean contains(int slot) {
        for (int i = 0; i < count; i++) {
            if (slots[i] == slot) {
                return true;
            }
        }
        return false;
    }

    void add(int slot) {
        slots[count++] = slot;
    }
}
