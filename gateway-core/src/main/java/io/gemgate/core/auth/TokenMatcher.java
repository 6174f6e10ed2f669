package io.gemgate.core.auth;

/**
 * Compares a presented token with the configured one in constant time, on the request path of every call.
 *
 * <p>The comparison visits every character of the presented token and, for each, one character of the configured
 * token, folding the differences (and the difference of the lengths) into one value without branching on them: its
 * time depends on the presented token's length only, never on the configured token's content or length. It neither
 * hashes nor allocates (a digest per request showed up in profiles of the gateway under load).
 */
public final class TokenMatcher {
    private final char[] expected;

    /** @param token the configured token; null or empty: nothing matches */
    public TokenMatcher(String token) {
        this.expected = token == null || token.isEmpty() ? null : token.toCharArray();
    }

    /** True when a token is configured at all. */
    public boolean isConfigured() {
        return expected != null;
    }

    /** True when {@code presented} equals the configured token. Constant time in the configured token's content. */
    public boolean matches(CharSequence presented) {
        char[] e = expected;
        if (e == null || presented == null || presented.length() == 0) {
            return false;
        }
        int n = presented.length();
        int m = e.length;
        int diff = n ^ m;
        for (int i = 0; i < n; i++) {
            // Index i while i < m, else 0: computed, not branched on, as in MessageDigest.isEqual.
            int j = ((i - m) >>> 31) * i;
            diff |= presented.charAt(i) ^ e[j];
        }
        return diff == 0;
    }
}
