package io.gemgate.core.keys;

import java.util.Set;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The keys a request may use, by group: every key ({@link #isAll()}), or the keys that belong to at least one of
 * {@link #names()} (a key's {@code group=} entries). Interned by {@link KeyPool#groups}, so that each distinct set has
 * one instance holding the usable keys of each model for it ({@link ModelLanes}); a request looks it up once.
 */
public final class KeyGroups {
    private final Set<String> names;
    private final boolean all;
    /** The model's groups, none of which the request's user token may use: matches no key. */
    private final boolean closed;
    /** Per model index: the usable keys of these groups, built on first use. */
    final AtomicReferenceArray<ModelLanes> lanes = new AtomicReferenceArray<>(KeyPool.MAX_MODELS + 1);

    KeyGroups(Set<String> names, boolean all, boolean closed) {
        this.names = names;
        this.all = all;
        this.closed = closed;
    }

    /** True when every key may serve (no group restriction). */
    public boolean isAll() {
        return all;
    }

    /**
     * The group names (sorted); empty for {@link #isAll()}. For {@link #isClosed()}, the groups of the model, which
     * the token may not use.
     */
    public Set<String> names() {
        return names;
    }

    /** True when the request's model is routed to groups its user token may not use: no key can serve it. */
    public boolean isClosed() {
        return closed;
    }

    /** Whether {@code k} may serve a request limited to these groups. */
    public boolean matches(ApiKey k) {
        if (all) {
            return true;
        }
        if (closed) {
            return false;
        }
        for (String g : k.groups()) {
            if (names.contains(g)) {
                return true;
            }
        }
        return false;
    }

    /** For messages: {@code group paid} or {@code groups paid, pro}; empty for every key. */
    public String describe() {
        if (all) {
            return "";
        }
        return (names.size() == 1 ? "group " : "groups ") + String.join(", ", names);
    }

    @Override
    public String toString() {
        return all ? "KeyGroups[all]" : "KeyGroups" + names + (closed ? "(closed)" : "");
    }
}
