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

    /**
     * The key's stable id, under which its state is stored and shown: the first 16 lowercase hex characters of the
     * SHA-256 of the secret's UTF-8 bytes. It reveals nothing usable and cannot be turned back into the secret.
     */
    public static String fingerprint(String secret) {
        java.util.Objects.requireNonNull(secret, "secret");
        java.security.MessageDigest sha256;
        try {
            sha256 = java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
        byte[] digest = sha256.digest(secret.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return java.util.HexFormat.of().formatHex(digest, 0, FINGERPRINT_CHARS / 2);
    }

    private static final int FINGERPRINT_CHARS = 16;
}
