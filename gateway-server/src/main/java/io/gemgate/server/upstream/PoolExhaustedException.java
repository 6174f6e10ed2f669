package io.gemgate.server.upstream;

/** No upstream connection could be had without waiting past the pool's bounds. Not the key's fault. */
public final class PoolExhaustedException extends Exception {
    private static final long serialVersionUID = 1L;

    public PoolExhaustedException(String message) {
        super(message, null, false, false);
    }
}
