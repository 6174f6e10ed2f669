package io.gemgate.core.keys;


/** Masks secrets for logs, errors, metrics and the admin API: at most the first 4 and last 4 characters. */
public final class KeyMask {
    private KeyMask() {
    }

    /**
     * {@code AIzaSyAbc...xyz9} becomes {@code AIza...xyz9}; secrets of 12 characters or fewer show only their first
     * 2 characters, so that the visible part is never more than a third of the secret.
     */
    public static String mask(String secret) {
        if (secret == null || secret.isEmpty()) {
            return "";
        }
        int n = secret.length();
        if (n <= 12) {
            return secret.substring(0, Math.min(2, n)) + "...";
        }
        return secret.substring(0, 4) + "..." + secret.substring(n - 4);
    }

    /** First 16 lowercase hex characters of the SHA-256 of the secret: a stable id that reveals nothing usable. */
    public static String fingerprint(String secret) {
        return io.gemgate.core.state.StateSnapshot.fingerprint(secret);
    }
}
