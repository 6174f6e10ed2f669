package io.gemgate.core.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Compares a presented token with the configured one in constant time. The configured token is kept only as its
 * SHA-256, and the presented one is hashed before comparison, so neither timing nor length leaks.
 */
public final class TokenMatcher {
    private final byte[] expectedDigest;

    /** @param token the configured token; null or empty: nothing matches */
    public TokenMatcher(String token) {
        this.expectedDigest = token == null || token.isEmpty() ? null : sha256(token);
    }

    /** True when a token is configured at all. */
    public boolean isConfigured() {
        return expectedDigest != null;
    }

    /** True when {@code presented} equals the configured token. Constant time in the token's content. */
    public boolean matches(CharSequence presented) {
        if (expectedDigest == null || presented == null || presented.length() == 0) {
            return false;
        }
        return MessageDigest.isEqual(expectedDigest, sha256(presented));
    }

    private static byte[] sha256(CharSequence s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.toString().getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from this JVM", e);
        }
    }
}
