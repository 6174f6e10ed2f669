package io.gemgate.core.tokens;

import java.security.MessageDigest;

/**
 * A SHA-256 digest as a hash map key. {@link #equals} compares in constant time ({@link MessageDigest#isEqual}), so
 * the map lookup itself does not leak how many leading bytes matched.
 *
 * <p>Stored keys are immutable. A probe key ({@link #probe()}) is mutable and thread-confined: it is overwritten for
 * every lookup so that authentication allocates nothing, and must never be inserted into a map.
 */
final class DigestKey {
    static final int LENGTH = 32;

    final byte[] bytes;
    private int hash;

    private DigestKey(byte[] bytes) {
        this.bytes = bytes;
        rehash();
    }

    /** An immutable key holding {@code digest} (not copied: the caller hands it over). */
    static DigestKey of(byte[] digest) {
        if (digest.length != LENGTH) {
            throw new IllegalArgumentException("digest: " + digest.length + " bytes (expected: " + LENGTH + ")");
        }
        return new DigestKey(digest);
    }

    /** A mutable key for lookups: write {@link #bytes}, then call {@link #rehash()}. */
    static DigestKey probe() {
        return new DigestKey(new byte[LENGTH]);
    }

    /** Recomputes the hash code after {@link #bytes} changed. The digest is uniform: its first 4 bytes will do. */
    void rehash() {
        hash = (bytes[0] & 0xff) << 24 | (bytes[1] & 0xff) << 16 | (bytes[2] & 0xff) << 8 | (bytes[3] & 0xff);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DigestKey k && MessageDigest.isEqual(bytes, k.bytes);
    }
}
