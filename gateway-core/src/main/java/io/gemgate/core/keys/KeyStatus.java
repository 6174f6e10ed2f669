package io.gemgate.core.keys;

import java.util.Locale;

/**
 * A key's state for one model now.
 *
 * @param state       the state
 * @param reason      why (the quotaId, the invalid reason ...); empty when active
 * @param untilMillis when it ends (cooling, exhausted), 0 when open-ended or active
 */
public record KeyStatus(State state, String reason, long untilMillis) {
    public enum State {
        ACTIVE, COOLING, EXHAUSTED, INVALID, DISABLED, REMOVED;

        /** Lower-case name for JSON and metrics. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }
}
