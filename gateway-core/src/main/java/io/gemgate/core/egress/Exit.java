package io.gemgate.core.egress;

import static java.util.Objects.requireNonNull;

import java.util.concurrent.atomic.LongAdder;

/**
 * One way out to the upstream: a proxy from {@code upstream.proxies} (in the ring keys are pinned over) or a key's
 * own {@code proxy=URL}. Its health is its own, apart from its keys' health: a failing or rate-limited exit costs
 * its keys nothing. State changes are made by {@link Exits}; readers on the hot path see one volatile {@link Status}
 * at a time, so state, end and reason always belong together.
 */
public final class Exit {
    /** What an exit can be. */
    public enum State {
        /** Serves. */
        HEALTHY("healthy"),
        /** Its keys all answered 429 together: rate-limited as one until {@link Status#until()}. */
        COOLING("cooling"),
        /** Refused, timed out or dropped the tunnel (or Google refused its location): out until found good again. */
        FAILING("failing");

        private final String label;

        State(String label) {
            this.label = label;
        }

        /** Bounded label for metrics and the admin API. */
        public String label() {
            return label;
        }
    }

    /** Why an exit failed a request; each counted apart. */
    public enum Failure {
        /** The proxy refused the connection or the tunnel (connection refused, CONNECT answered non-2xx...). */
        REFUSED("refused"),
        /** The proxy or its tunnel did not answer within the connect timeout. */
        TIMEOUT("timeout"),
        /** The tunnel closed before the upstream's answer began. */
        TUNNEL("tunnel_closed"),
        /** Google answered "User location is not supported for the API use": the exit is in the wrong country. */
        LOCATION("location"),
        /** Every key pinned to the exit answered 429 within the window while other exits served. */
        RATE_LIMIT("rate_limit");

        private final String label;

        Failure(String label) {
            this.label = label;
        }

        /** Bounded label for metrics and the admin API. */
        public String label() {
            return label;
        }
    }

    /**
     * The exit's state, whole.
     *
     * @param state  what it is
     * @param until  epoch millis when a {@code COOLING} exit serves again, or when a location-refused exit is given
     *               another chance; 0 for none
     * @param reason the failure that set the state, or null when healthy
     * @param since  epoch millis when the state began
     */
    public record Status(State state, long until, Failure reason, long since) {
        static final Status HEALTHY = new Status(State.HEALTHY, 0, null, 0);
    }

    private final int index;
    private final ProxySpec spec;
    private final boolean inRing;
    private final long idHash;
    private volatile Status status = Status.HEALTHY;
    private final LongAdder requests = new LongAdder();
    private final LongAdder[] failures = new LongAdder[Failure.values().length];
    /** Epoch millis of the last answer with a 2xx through this exit (0: none yet); for telling exit limits apart. */
    volatile long lastSuccess;

    Exit(int index, ProxySpec spec, boolean inRing) {
        this.index = index;
        this.spec = requireNonNull(spec, "spec");
        this.inRing = inRing;
        this.idHash = Exits.mix(spec.id().hashCode() * 0x9E3779B97F4A7C15L + spec.id().length());
        for (int i = 0; i < failures.length; i++) {
            failures[i] = new LongAdder();
        }
    }

    /** Position among all exits, stable for the gateway's life: connection pools are indexed by it. */
    public int index() {
        return index;
    }

    /** The proxy; its credentials only for the proxy handler. */
    public ProxySpec spec() {
        return spec;
    }

    /** True for an exit of {@code upstream.proxies} (keys are pinned over these); false for a key's own proxy. */
    public boolean inRing() {
        return inRing;
    }

    long idHash() {
        return idHash;
    }

    /** {@code host:port}: the {@code exit} label of metrics. */
    public String label() {
        return spec.label();
    }

    public Status status() {
        return status;
    }

    void status(Status s) {
        status = s;
    }

    /** True when the exit may carry a request now. */
    public boolean isUsable(long nowMillis) {
        Status s = status;
        return s.state == State.HEALTHY || (s.until != 0 && s.until <= nowMillis);
    }

    /** The state as it is now: a cooling or location-refused exit whose end passed is healthy again. */
    public State state(long nowMillis) {
        Status s = status;
        return s.until != 0 && s.until <= nowMillis ? State.HEALTHY : s.state;
    }

    /** Requests sent through this exit. */
    public long requests() {
        return requests.sum();
    }

    /** Failures of the given reason. */
    public long failures(Failure reason) {
        return failures[reason.ordinal()].sum();
    }

    void countRequest() {
        requests.increment();
    }

    void countFailure(Failure reason) {
        failures[reason.ordinal()].increment();
    }

    @Override
    public String toString() {
        return "Exit[" + spec.masked() + ", " + status.state.label + "]";
    }
}
