package io.gemgate.core.keys;

import static java.util.Objects.requireNonNull;

/**
 * What is decided about one key as a whole: its definition ({@link KeySpec}: project, weight, label, tier, groups,
 * proxy) and its marks (enabled, soft-removed, invalid with its reason and time). Immutable: an admin edit, an
 * invalid mark or a change another gateway made replaces it whole by compare-and-set ({@link ApiKey#state()}), so a
 * reader sees all of a change or none of it, never a new label with an old enabled flag.
 *
 * <p>Counters that move with every request (today's counts, the minute's budget, health averages) are not in it:
 * they change alone and stay atomics beside it.
 */
public final class KeyState {
    private final KeySpec spec;
    private final boolean enabled;
    private final boolean removed;
    private final long invalidSinceMillis;
    private final String invalidReason;
    /** Enabled, not removed and valid: precomputed, so that selection reads one field. */
    private final boolean inRotation;

    /**
     * @param invalidSinceMillis epoch millis since the key was found invalid; 0 = valid
     * @param invalidReason      why it is invalid; empty when valid (forced so)
     */
    public KeyState(KeySpec spec, boolean enabled, boolean removed, long invalidSinceMillis, String invalidReason) {
        this.spec = requireNonNull(spec, "spec");
        this.enabled = enabled;
        this.removed = removed;
        this.invalidSinceMillis = invalidSinceMillis;
        this.invalidReason = invalidSinceMillis == 0 ? "" : requireNonNull(invalidReason, "invalidReason");
        this.inRotation = enabled && !removed && invalidSinceMillis == 0;
    }

    /** A key as configured: enabled, not removed, valid. */
    static KeyState of(KeySpec spec) {
        return new KeyState(spec, true, false, 0, "");
    }

    public KeySpec spec() {
        return spec;
    }

    public boolean isEnabled() {
        return enabled;
    }

    public boolean isRemoved() {
        return removed;
    }

    public boolean isInvalid() {
        return invalidSinceMillis != 0;
    }

    /** Epoch millis since the key was found invalid; 0 when it is valid. */
    public long invalidSinceMillis() {
        return invalidSinceMillis;
    }

    /** Why the key is invalid; empty when it is valid. */
    public String invalidReason() {
        return invalidReason;
    }

    /** Enabled, not removed and valid: the key may be selected for a model it does not rest for. */
    public boolean isInRotation() {
        return inRotation;
    }

    KeyState withSpec(KeySpec s) {
        return new KeyState(s, enabled, removed, invalidSinceMillis, invalidReason);
    }

    KeyState withEnabled(boolean e) {
        return new KeyState(spec, e, removed, invalidSinceMillis, invalidReason);
    }

    KeyState withRemoved(boolean r) {
        return new KeyState(spec, enabled, r, invalidSinceMillis, invalidReason);
    }

    /** Invalid for {@code reason}, since {@code sinceMillis} (must not be 0), or valid when {@code sinceMillis} is 0. */
    KeyState withInvalid(long sinceMillis, String reason) {
        return new KeyState(spec, enabled, removed, sinceMillis, reason);
    }

    /** True when both say the same of the key. */
    boolean sameAs(KeyState o) {
        return spec.equals(o.spec) && enabled == o.enabled && removed == o.removed
                && invalidSinceMillis == o.invalidSinceMillis && invalidReason.equals(o.invalidReason);
    }

    @Override
    public String toString() {
        return "KeyState[" + spec + ", enabled=" + enabled + ", removed=" + removed + ", invalidSince="
                + invalidSinceMillis + ", invalidReason=" + invalidReason + "]";
    }
}
