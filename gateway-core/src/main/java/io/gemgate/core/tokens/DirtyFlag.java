package io.gemgate.core.tokens;

/**
 * "Something changed since the last write" for the persister. Marked on the hot path, so the volatile write happens
 * only when the flag is not already set: a flag that stays set costs one read per request.
 */
final class DirtyFlag {
    private volatile boolean value;

    void mark() {
        if (!value) {
            value = true;
        }
    }

    /** True (once) when marked since the last call. */
    boolean take() {
        if (!value) {
            return false;
        }
        value = false;
        return true;
    }
}
