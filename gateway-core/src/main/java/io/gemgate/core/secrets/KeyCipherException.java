package io.gemgate.core.secrets;

/**
 * A stored value that {@link KeyCipher#decrypt} cannot open: not an encrypted value, corrupted, or encrypted under
 * another master key. The message says which and never contains the value.
 */
public final class KeyCipherException extends Exception {
    private static final long serialVersionUID = 1L;

    /** @param message what is wrong, without the value */
    public KeyCipherException(String message) {
        super(message);
    }

    /**
     * @param message what is wrong, without the value
     * @param cause   the cryptographic failure behind it
     */
    public KeyCipherException(String message, Throwable cause) {
        super(message, cause);
    }
}
