package io.gemgate.core.tokens;

import static java.util.Objects.requireNonNull;

/**
 * A change to the token definitions, delivered to {@link TokenRegistry.Listener}s so that a state file or a shared
 * store can persist it. Usage counters change on every request and raise no event; they are persisted from
 * {@link TokenRegistry#snapshot()} when {@link TokenRegistry#takeDirty()} says so.
 *
 * @param kind   what happened
 * @param id     the token id
 * @param record the token as it is now (secret hash, never the secret); {@code null} for {@link Kind#REVOKED}
 */
public record TokenEvent(Kind kind, String id, TokenRecord record) {

    /** What happened to the token. */
    public enum Kind {
        /** {@link TokenRegistry#create}. */
        CREATED,
        /** Enabled, disabled, renamed or given new limits. */
        UPDATED,
        /** {@link TokenRegistry#revoke}: the token is gone. */
        REVOKED
    }

    /** @throws IllegalArgumentException if {@code record} is null for a kind other than REVOKED, or the reverse */
    public TokenEvent {
        requireNonNull(kind, "kind");
        requireNonNull(id, "id");
        if ((kind == Kind.REVOKED) != (record == null)) {
            throw new IllegalArgumentException("record: must be null exactly for REVOKED (kind: " + kind + ")");
        }
    }
}
