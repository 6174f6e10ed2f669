package io.gemgate.core.keys;

/**
 * A fixed-size bit set with summary levels (one bit per non-zero word of the level below), so that the next set bit
 * from any position is found in O(log64 n): three word reads for 262,144 positions, four for 16 million, however
 * long the run of clear bits between.
 *
 * <p>Written by one thread at a time (the caller holds its {@link ModelLanes}' lock); read without a lock by any
 * thread. A reader may see a summary bit whose word is already clear, or miss a bit being set: it is told so by the
 * result (a position whose key is then checked), never by an exception.
 */
final class UsableBits {
    /** levels[0]: one bit per position; levels[i + 1]: one bit per word of levels[i]; the last has at most 64 words. */
    private final long[][] levels;
    private final int size;

    UsableBits(int size) {
        this.size = size;
        int n = Math.max(1, size);
        java.util.ArrayList<long[]> ls = new java.util.ArrayList<>();
        do {
            int words = (n + 63) >>> 6;
            ls.add(new long[words]);
            n = words;
        } while (n > 64);
        levels = ls.toArray(new long[0][]);
    }

    int size() {
        return size;
    }

    boolean get(int pos) {
        return (levels[0][pos >>> 6] & (1L << pos)) != 0;
    }

    void set(int pos) {
        for (long[] words : levels) {
            int w = pos >>> 6;
            long old = words[w];
            words[w] = old | (1L << pos);
            if (old != 0) {
                return; // the summary above already says this word is non-zero
            }
            pos = w;
        }
    }

    void clear(int pos) {
        for (long[] words : levels) {
            int w = pos >>> 6;
            long now = words[w] & ~(1L << pos);
            words[w] = now;
            if (now != 0) {
                return;
            }
            pos = w;
        }
    }

    /** The first set position at or after {@code from}, wrapping to the start; -1 when none is set. */
    int nextWrapping(int from) {
        int p = next(0, from);
        return p >= 0 || from == 0 ? p : next(0, 0);
    }

    /** The first set position of {@code level} at or after {@code from}, or -1. */
    private int next(int level, int from) {
        long[] words = levels[level];
        int w = from >>> 6;
        if (w >= words.length) {
            return -1;
        }
        long word = words[w] & (-1L << from);
        while (true) {
            if (word != 0) {
                int p = (w << 6) | Long.numberOfTrailingZeros(word);
                return level == 0 && p >= size ? -1 : p;
            }
            int nw;
            if (level + 1 == levels.length) {
                nw = -1;
                for (int i = w + 1; i < words.length; i++) {
                    if (words[i] != 0) {
                        nw = i;
                        break;
                    }
                }
            } else {
                nw = next(level + 1, w + 1);
            }
            if (nw < 0) {
                return -1;
            }
            w = nw;
            word = words[w]; // zero only when a writer cleared it meanwhile: then look further
        }
    }
}
