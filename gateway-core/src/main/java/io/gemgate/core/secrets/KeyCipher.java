package io.gemgate.core.secrets;

import static java.util.Objects.requireNonNull;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Encrypts upstream keys at rest with AES-256-GCM under a key derived from {@code GEMGATE_MASTER_KEY}, so that the
 * data directory (or Redis) holds no key in clear.
 *
 * <h2>Format</h2>
 * {@code "v1:" + base64url-without-padding(salt[16] | iv[12] | ciphertext | tag[16])}. The plaintext is UTF-8; the
 * additional authenticated data is {@code "gemgate/key/v1"}, so a value cannot be moved to another purpose or
 * version unnoticed.
 *
 * <h2>Key derivation</h2>
 * AES key = PBKDF2WithHmacSHA256(master key, salt, {@value #ITERATIONS} iterations, 256 bits), with the salt stored
 * in the value. PBKDF2 rather than HKDF because the master key is often a passphrase: each guess must cost an
 * attacker those iterations. PBKDF2 is slow on purpose (about 0.1 s), so:
 * <ul>
 *   <li>each instance draws one random salt at construction and derives its key then; every {@link #encrypt} by
 *       that instance uses it, with a fresh random 12-byte IV per value (random IVs under one key are safe far
 *       beyond 2<sup>32</sup> values; a gateway stores thousands);</li>
 *   <li>{@link #decrypt} derives the key of a salt once and caches it (values written by one process share a salt,
 *       so a restart derives once per process that ever wrote).</li>
 * </ul>
 * Construct at start-up, off the event loop; afterwards encrypting and decrypting values of known salts take
 * microseconds. The first decryption of a value written by another process costs one derivation: do it off the
 * event loop too (on load, or on the admin executor).
 *
 * <p>Thread-safe. Never logs; messages never contain values.
 */
public final class KeyCipher {
    /** Prefix of every value this version writes. */
    public static final String PREFIX = "v1:";
    /** PBKDF2 iterations of format {@code v1}. */
    public static final int ITERATIONS = 200_000;

    static final int SALT_BYTES = 16;
    static final int IV_BYTES = 12;
    static final int TAG_BYTES = 16;
    private static final int KEY_BITS = 256;
    private static final int MAX_CACHED_SALTS = 64;
    private static final byte[] AAD = "gemgate/key/v1".getBytes(StandardCharsets.US_ASCII);
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getUrlDecoder();

    private final char[] masterKey;
    private final int iterations;
    private final SecureRandom random;
    private final byte[] salt;
    private final SecretKeySpec key;
    private final ConcurrentHashMap<ByteBuffer, SecretKeySpec> keysBySalt = new ConcurrentHashMap<>();

    /**
     * Derives the encryption key (about 0.1 s).
     *
     * @param masterKey the value of {@code GEMGATE_MASTER_KEY}; not blank. A long random string is best: it is
     *                  stretched, but a short word can still be guessed
     * @throws IllegalArgumentException if it is blank
     */
    public KeyCipher(String masterKey) {
        this(masterKey, ITERATIONS, new SecureRandom());
    }

    /** For tests: fewer iterations (values are then not readable by a {@link #KeyCipher(String)}) or a fixed seed. */
    KeyCipher(String masterKey, int iterations, SecureRandom random) {
        requireNonNull(masterKey, "masterKey");
        if (masterKey.isBlank()) {
            throw new IllegalArgumentException("masterKey: blank (expected: a secret, best long and random)");
        }
        this.masterKey = masterKey.toCharArray();
        this.iterations = iterations;
        this.random = requireNonNull(random, "random");
        this.salt = new byte[SALT_BYTES];
        random.nextBytes(salt);
        this.key = derive(salt);
        keysBySalt.put(ByteBuffer.wrap(salt.clone()), key);
    }

    /** True when {@code stored} looks like a value of some version of this format ({@code v<digits>:...}). */
    public static boolean isEncrypted(String stored) {
        if (stored == null || stored.length() < 3 || stored.charAt(0) != 'v') {
            return false;
        }
        int i = 1;
        while (i < stored.length() && Character.isDigit(stored.charAt(i))) {
            i++;
        }
        return i > 1 && i < stored.length() && stored.charAt(i) == ':';
    }

    /**
     * Encrypts {@code plain} with a fresh random IV: the same input gives a different value every time.
     *
     * @return {@code v1:} followed by base64url
     */
    public String encrypt(String plain) {
        requireNonNull(plain, "plain");
        byte[] iv = new byte[IV_BYTES];
        random.nextBytes(iv);
        byte[] pt = plain.getBytes(StandardCharsets.UTF_8);
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, iv));
            c.updateAAD(AAD);
            byte[] ct = c.doFinal(pt);
            byte[] out = new byte[SALT_BYTES + IV_BYTES + ct.length];
            System.arraycopy(salt, 0, out, 0, SALT_BYTES);
            System.arraycopy(iv, 0, out, SALT_BYTES, IV_BYTES);
            System.arraycopy(ct, 0, out, SALT_BYTES + IV_BYTES, ct.length);
            return PREFIX + B64.encodeToString(out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available in this JVM", e);
        } finally {
            Arrays.fill(pt, (byte) 0);
        }
    }

    /**
     * Decrypts a value written by {@link #encrypt} under the same master key, by this or any other instance.
     *
     * @throws KeyCipherException "wrong master key or corrupted value" when authentication fails, or a message
     *                            saying that the value is not in this format, of another version, or damaged
     */
    public String decrypt(String stored) throws KeyCipherException {
        requireNonNull(stored, "stored");
        if (!stored.startsWith(PREFIX)) {
            if (isEncrypted(stored)) {
                throw new KeyCipherException("unsupported format version '"
                        + stored.substring(0, stored.indexOf(':')) + "' (expected: v1)");
            }
            throw new KeyCipherException("not an encrypted value (expected: v1: followed by base64url)");
        }
        byte[] data;
        try {
            data = B64D.decode(stored.substring(PREFIX.length()));
        } catch (IllegalArgumentException e) {
            throw new KeyCipherException("corrupted value: not base64url");
        }
        if (data.length < SALT_BYTES + IV_BYTES + TAG_BYTES) {
            throw new KeyCipherException("corrupted value: " + data.length + " bytes (expected: at least "
                    + (SALT_BYTES + IV_BYTES + TAG_BYTES) + ")");
        }
        SecretKeySpec k = keyFor(Arrays.copyOfRange(data, 0, SALT_BYTES));
        byte[] pt = null;
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, k, new GCMParameterSpec(TAG_BYTES * 8, data, SALT_BYTES, IV_BYTES));
            c.updateAAD(AAD);
            pt = c.doFinal(data, SALT_BYTES + IV_BYTES, data.length - SALT_BYTES - IV_BYTES);
            return new String(pt, StandardCharsets.UTF_8);
        } catch (AEADBadTagException e) {
            throw new KeyCipherException("wrong master key or corrupted value", e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available in this JVM", e);
        } finally {
            if (pt != null) {
                Arrays.fill(pt, (byte) 0);
            }
        }
    }

    /** Never shows the master key. */
    @Override
    public String toString() {
        return "KeyCipher[v1, AES-256-GCM, PBKDF2WithHmacSHA256 x " + iterations + "]";
    }

    private SecretKeySpec keyFor(byte[] valueSalt) {
        ByteBuffer id = ByteBuffer.wrap(valueSalt);
        SecretKeySpec k = keysBySalt.get(id);
        if (k != null) {
            return k;
        }
        k = derive(valueSalt);
        if (keysBySalt.size() >= MAX_CACHED_SALTS) {
            // values come from our own store, so many salts is unusual; keep the instance's own key
            keysBySalt.keySet().removeIf(s -> !s.equals(ByteBuffer.wrap(salt)));
        }
        keysBySalt.put(id, k);
        return k;
    }

    private SecretKeySpec derive(byte[] saltBytes) {
        PBEKeySpec spec = new PBEKeySpec(masterKey, saltBytes, iterations, KEY_BITS);
        try {
            byte[] raw = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
            try {
                return new SecretKeySpec(raw, "AES");
            } finally {
                Arrays.fill(raw, (byte) 0);
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("PBKDF2WithHmacSHA256 is not available in this JVM", e);
        } finally {
            spec.clearPassword();
        }
    }
}
