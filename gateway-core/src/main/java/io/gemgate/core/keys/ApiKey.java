package io.gemgate.core.keys;

import static java.util.Objects.requireNonNull;


/**
 * One upstream key in the pool, with its live state. The secret is reachable only through {@link #secret()}, which
 * the upstream client calls to fill {@code x-goog-api-key}; everything shown to people uses {@link #masked()}.
 */
public final class ApiKey {
    private final int slot;
    private final String secret;
    /** The secret's ASCII bytes, written into each upstream request head. */
    private final byte[] secretAscii;
    private final String masked;
    private final String fingerprint;
    /** {@link KeySpec#proxy()}: fixed for the key's life. */
    private final String proxy;
    /** The parsed {@link #proxy}, or null when the key has no own proxy. */
    private final io.gemgate.core.egress.ProxySpec proxySpec;
    /** The fingerprint's first 64 bits: what the egress hashes to pin the key to an exit (same on every gateway). */
    private final long routeHash;
    /** Position in the pool's current ring; set before the ring is published ({@link ModelLanes} finds keys by it). */
    volatile int index = -1;

    /** Keys of the same project; this key included. Set once when the ring is built. */
    ApiKey[] projectGroup = {this};

    /** Definition and marks as one value, replaced whole by compare-and-set ({@link #update}). */
    private volatile KeyState state;
    /**
     * {@link KeyState#isInRotation()} of {@link #state}, copied here by {@link #update} so that selection reads it
     * without a step to the state object (one cache miss fewer per key at 100,000 keys, docs/benchmarks.md). It may
     * lag the state for the instant of a change, as if read just before it, and ends equal to it.
     */
    private volatile boolean inRotation;
    private static final java.lang.invoke.VarHandle STATE;

    static {
        try {
            STATE = java.lang.invoke.MethodHandles.lookup().findVarHandle(ApiKey.class, "state", KeyState.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * Moving averages of the key's outcomes. Updated by a plain read-modify-write, not a compare-and-set loop: two
     * event loops recording at once may lose one sample, which a moving average shrugs off, and a success costs no
     * lambda and no retry under contention (it showed in profiles as the top frame of {@link KeyPool#record}).
     */
    private volatile Health health = Health.INITIAL;

    /** Indexed by {@link ModelRef#index()}; grown copy-on-write when a new model appears. */
    private volatile KeyModelState[] models = new KeyModelState[8];

    ApiKey(int slot, KeySpec spec) {
        requireNonNull(spec, "spec");
        this.slot = slot;
        this.secret = spec.secret();
        this.secretAscii = spec.secret().getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        this.masked = KeyMask.mask(spec.secret());
        this.fingerprint = KeyMask.fingerprint(spec.secret());
        this.proxy = spec.proxy();
        this.proxySpec = spec.proxySpec();
        this.routeHash = Long.parseUnsignedLong(fingerprint, 0, 16, 16);
        this.state = KeyState.of(spec);
        this.inRotation = state.isInRotation();
    }

    /** Stable position of this key in the pool. */
    public int slot() {
        return slot;
    }

    /** The key itself, for the upstream request header only. Never log it. */
    public String secret() {
        return secret;
    }

    /**
     * The key's bytes, for the upstream request head only: the array itself, shared, so that a request costs no
     * copy. Never modify it, never log it.
     */
    public byte[] secretAscii() {
        return secretAscii;
    }

    /** At most the first 4 and last 4 characters: safe for logs, metrics and the admin API. */
    public String masked() {
        return masked;
    }

    /** First 16 hex characters of the SHA-256 of the secret: a stable id that reveals nothing. */
    public String fingerprint() {
        return fingerprint;
    }

    /** This key and the other keys of its project (itself alone without a project label); a copy. */
    public java.util.List<ApiKey> projectKeys() {
        return java.util.List.of(projectGroup);
    }

    public String project() {
        return state.spec().project();
    }

    public int weight() {
        return state.spec().weight();
    }

    public String label() {
        return state.spec().label();
    }

    /** The key's own exit as configured: empty (the default), {@code direct} or a proxy URL. */
    public String proxy() {
        return proxy;
    }

    /** The key's own proxy, or null (none: the default, or direct). */
    public io.gemgate.core.egress.ProxySpec proxySpec() {
        return proxySpec;
    }

    /** True when the key was told to go straight to the upstream ({@code proxy=direct}). */
    public boolean isDirect() {
        return proxy.equals(KeySpec.DIRECT);
    }

    /** A stable 64-bit hash of the key's id, the same on every gateway and after restarts. */
    public long routeHash() {
        return routeHash;
    }

    /** Lower tiers serve first; a request goes to the next tier only when every key of the lower ones rests. */
    public int tier() {
        return state.spec().tier();
    }

    /** The groups the key belongs to (sorted); empty: none (it serves only models routed to every key). */
    public java.util.Set<String> groups() {
        return state.spec().groups();
    }

    public boolean isEnabled() {
        return state.isEnabled();
    }

    public boolean isRemoved() {
        return state.isRemoved();
    }

    /** A stable id for the admin API and metrics: the fingerprint. */
    public String id() {
        return fingerprint;
    }

    /** The key as configured now. */
    public KeySpec spec() {
        return state.spec();
    }

    /**
     * Definition and marks as one immutable value: read it once to see several of them from the same change (the
     * getters below each read the current one).
     */
    public KeyState state() {
        return state;
    }

    /**
     * Replaces the state with {@code change} applied to the current one, by compare-and-set (retried when another
     * change came first, so {@code change} may run more than once and must have no side effect).
     *
     * @return the state now in force
     */
    KeyState update(java.util.function.UnaryOperator<KeyState> change) {
        for (;;) {
            KeyState now = state;
            KeyState next = change.apply(now);
            if (next == now) {
                return next;
            }
            if (STATE.compareAndSet(this, now, next)) {
                // Copy the flag from the state in force until it stays in force: the last change's writer sees its
                // own state or a later one, so the flag ends as the state says whatever the order of writers.
                KeyState in;
                do {
                    in = state;
                    inRotation = in.isInRotation();
                } while (state != in);
                return next;
            }
        }
    }

    /** True when the key is enabled, not removed and valid: one volatile read of this object for selection. */
    boolean isInRotation() {
        return inRotation;
    }

    public boolean isInvalid() {
        return state.isInvalid();
    }

    public String invalidReason() {
        return state.invalidReason();
    }

    /** Epoch millis since the key was found invalid; 0 when it is valid. */
    public long invalidSinceMillis() {
        return state.invalidSinceMillis();
    }

    public Health health() {
        return health;
    }

    /** Sets the moving averages outright (tests put a key in a given state). */
    void health(Health h) {
        health = h;
    }

    void healthSuccess(long latencyMillis) {
        health = health.success(latencyMillis);
    }

    void healthFailure(long nowMillis) {
        health = health.failure(nowMillis);
    }

    /** The state for a model, or null when this key has not met the model yet. Allocation-free. */
    KeyModelState peek(int modelIndex) {
        KeyModelState[] m = models;
        return modelIndex < m.length ? m[modelIndex] : null;
    }

    /** The state for a model, created on first use. */
    KeyModelState state(int modelIndex, long dayStart) {
        KeyModelState s = peek(modelIndex);
        return s != null ? s : create(modelIndex, dayStart);
    }

    private synchronized KeyModelState create(int modelIndex, long dayStart) {
        KeyModelState[] m = models;
        if (modelIndex < m.length && m[modelIndex] != null) {
            return m[modelIndex];
        }
        KeyModelState[] grown = m;
        if (modelIndex >= m.length) {
            grown = java.util.Arrays.copyOf(m, Math.max(modelIndex + 1, m.length * 2));
        } else {
            grown = m.clone();
        }
        KeyModelState s = new KeyModelState(dayStart);
        grown[modelIndex] = s;
        models = grown;
        return s;
    }

    @Override
    public String toString() {
        return "ApiKey[" + masked + "]";
    }
}
