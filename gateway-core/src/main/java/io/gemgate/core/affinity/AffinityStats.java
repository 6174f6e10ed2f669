package io.gemgate.core.affinity;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of key affinity (README, "Files, cached contents, batches and stores"), read by the metrics
 * ({@code gemgate_affinity_*}) and the admin API. Thread-safe; adding is a {@link LongAdder} increment.
 */
public final class AffinityStats {
    /** Why a request that references a resource could not be served by its holder. Bounded: a metric tag. */
    public enum Failure {
        /** The request references resources held by two different keys (400). */
        CONFLICT("conflict"),
        /** The holder is cooling down past failover.maxWait (429). */
        OWNER_COOLING("owner_cooling"),
        /** The holder has spent its daily quota for the model (503). */
        OWNER_EXHAUSTED("owner_exhausted"),
        /** The holder is invalid, disabled or removed (503). */
        OWNER_UNAVAILABLE("owner_unavailable"),
        /** No key holds it (owner lookup found none: 403/404). */
        NOT_FOUND("not_found"),
        /** The lookup could not ask every key (errors, timeouts): 503. */
        LOOKUP_FAILED("lookup_failed"),
        /** The map is full (503). */
        FULL("full");

        private final String label;

        Failure(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    private final LongAdder hits = new LongAdder();
    private final LongAdder recorded = new LongAdder();
    private final LongAdder lookups = new LongAdder();
    private final LongAdder lookupCalls = new LongAdder();
    private final LongAdder[] failures = new LongAdder[Failure.values().length];

    public AffinityStats() {
        for (int i = 0; i < failures.length; i++) {
            failures[i] = new LongAdder();
        }
    }

    /** A request went to the key that holds what it references. */
    public void hit() {
        hits.increment();
    }

    /** A resource created through the gateway was recorded. */
    public void recorded() {
        recorded.increment();
    }

    /** An owner lookup started (a resource without a record). */
    public void lookup() {
        lookups.increment();
    }

    /** One metadata call of an owner lookup. */
    public void lookupCall() {
        lookupCalls.increment();
    }

    public void failure(Failure f) {
        failures[f.ordinal()].increment();
    }

    public long hits() {
        return hits.sum();
    }

    public long recordedCount() {
        return recorded.sum();
    }

    public long lookups() {
        return lookups.sum();
    }

    public long lookupCalls() {
        return lookupCalls.sum();
    }

    public long failures(Failure f) {
        return failures[f.ordinal()].sum();
    }
}
