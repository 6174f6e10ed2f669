package io.gemgate.core.state;

/**
 * The bytes given to {@link StateCodec#decode(byte[])} are not a state this code can read: empty, not JSON,
 * truncated, of the wrong shape, holding impossible values (negative counters) or written by a newer version.
 * The message is short and names the offending field where there is one; it never contains key secrets (the state
 * holds none).
 */
public final class StateCorruptException extends Exception {
    private static final long serialVersionUID = 1L;

    /** @param message what is wrong, e.g. {@code keys[0].models[1].requests: negative (-3)} */
    public StateCorruptException(String message) {
        super(message);
    }

    /**
     * @param message what is wrong
     * @param cause   the parser's exception
     */
    public StateCorruptException(String message, Throwable cause) {
        super(message, cause);
    }
}
