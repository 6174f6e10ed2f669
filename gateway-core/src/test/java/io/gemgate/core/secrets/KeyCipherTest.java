package io.gemgate.core.secrets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class KeyCipherTest {
    private static final String MASTER = "correct horse battery staple";
    private static final String KEY = "AIzaSyD-golden-value-0123456789abcdefgh";
    /** Written by this format with {@link #MASTER}: later versions must still read it. */
    private static final String GOLDEN = "v1:ommvZCGNn_4IO8EW10NHDOfrh4oQD6jl-76I9u2-j8zY8vb16m7P-qTicW2OJg84nyZga-"
            + "TwkEbW705vAzuO7ypFEck4OgoHURiaP9YIVJ3hBpw";

    /** Real iterations: the tests that pin the format use it. */
    private static final KeyCipher REAL = new KeyCipher(MASTER);
    /** Few iterations, for tests that derive many keys (one per tampered salt). */
    private static final KeyCipher FAST = fast(MASTER);

    private static KeyCipher fast(String master) {
        return new KeyCipher(master, 1_000, new SecureRandom());
    }

    private static byte[] raw(String value) {
        return Base64.getUrlDecoder().decode(value.substring(KeyCipher.PREFIX.length()));
    }

    @Test
    void readsAValueWrittenEarlier() throws Exception {
        assertThat(REAL.decrypt(GOLDEN)).isEqualTo(KEY);
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {KEY, "", "x", "ünïcödé ✓ 🔑", "a much longer secret value that spans several AES blocks"
            + " of sixteen bytes each, to be sure"})
    void roundTrips(String plain) throws Exception {
        String enc = REAL.encrypt(plain);
        assertThat(REAL.decrypt(enc)).isEqualTo(plain);
        assertThat(new KeyCipher(MASTER).decrypt(enc)).as("another instance, same master key").isEqualTo(plain);
    }

    @Test
    void writesVersionedBase64UrlOfSaltIvCiphertextAndTag() {
        String enc = REAL.encrypt(KEY);
        assertThat(enc).startsWith("v1:").doesNotContain(KEY).doesNotContain("=");
        assertThat(enc.substring(3)).matches("[A-Za-z0-9_-]+");
        assertThat(raw(enc)).hasSize(KeyCipher.SALT_BYTES + KeyCipher.IV_BYTES + KEY.length()
                + KeyCipher.TAG_BYTES);
        assertThat(KeyCipher.isEncrypted(enc)).isTrue();
    }

    @Test
    void usesAFreshIvForEveryValue() {
        Set<String> values = new HashSet<>();
        Set<String> ivs = new HashSet<>();
        Set<String> salts = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            String enc = FAST.encrypt(KEY);
            values.add(enc);
            byte[] r = raw(enc);
            salts.add(Base64.getEncoder().encodeToString(Arrays.copyOfRange(r, 0, KeyCipher.SALT_BYTES)));
            ivs.add(Base64.getEncoder().encodeToString(Arrays.copyOfRange(r, KeyCipher.SALT_BYTES,
                    KeyCipher.SALT_BYTES + KeyCipher.IV_BYTES)));
        }
        assertThat(values).hasSize(100);
        assertThat(ivs).hasSize(100);
        assertThat(salts).as("one salt per instance").hasSize(1);
        byte[] mine = raw(FAST.encrypt(KEY));
        byte[] other = raw(fast(MASTER).encrypt(KEY));
        assertThat(Arrays.copyOf(other, KeyCipher.SALT_BYTES)).as("another instance draws another salt")
                .isNotEqualTo(Arrays.copyOf(mine, KeyCipher.SALT_BYTES));
    }

    @Test
    void refusesAnotherMasterKey() {
        String enc = REAL.encrypt(KEY);
        assertThatThrownBy(() -> new KeyCipher("correct horse battery stapler").decrypt(enc))
                .isInstanceOf(KeyCipherException.class)
                .hasMessage("wrong master key or corrupted value")
                .hasCauseInstanceOf(javax.crypto.AEADBadTagException.class);
    }

    @Test
    void detectsEveryFlippedByte() {
        String enc = FAST.encrypt(KEY);
        byte[] r = raw(enc);
        for (int i = 0; i < r.length; i++) {
            byte[] t = r.clone();
            t[i] ^= 0x01;
            String tampered = KeyCipher.PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(t);
            int at = i;
            assertThatThrownBy(() -> FAST.decrypt(tampered)).as("byte %d flipped", at)
                    .isInstanceOf(KeyCipherException.class)
                    .hasMessage("wrong master key or corrupted value");
        }
    }

    @Test
    void detectsTruncationAndExtension() {
        String enc = FAST.encrypt(KEY);
        byte[] r = raw(enc);
        String shorter = KeyCipher.PREFIX + Base64.getUrlEncoder().withoutPadding()
                .encodeToString(Arrays.copyOf(r, r.length - 1));
        String longer = KeyCipher.PREFIX + Base64.getUrlEncoder().withoutPadding()
                .encodeToString(Arrays.copyOf(r, r.length + 1));
        assertThatThrownBy(() -> FAST.decrypt(shorter)).hasMessage("wrong master key or corrupted value");
        assertThatThrownBy(() -> FAST.decrypt(longer)).hasMessage("wrong master key or corrupted value");
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', value = {
            KEY + "               | not an encrypted value (expected: v1: followed by base64url)",
            "''                   | not an encrypted value (expected: v1: followed by base64url)",
            "v1                   | not an encrypted value (expected: v1: followed by base64url)",
            "v2:AAAA              | unsupported format version 'v2' (expected: v1)",
            "v1:not*base64!       | corrupted value: not base64url",
            "v1:                  | corrupted value: 0 bytes (expected: at least 44)",
            "v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA | corrupted value: 42 bytes (expected: at least 44)",
    })
    void explainsWhatIsWrongWithoutShowingTheValue(String stored, String message) {
        assertThatThrownBy(() -> FAST.decrypt(stored))
                .isInstanceOf(KeyCipherException.class)
                .hasMessage(message);
    }

    @ParameterizedTest(name = "[{index}] {0} -> {1}")
    @CsvSource({"v1:abc, true", "v12:abc, true", "v:abc, false", "x1:abc, false", "v1, false", "AIzaSy, false",
            "'', false"})
    void recognisesEncryptedValues(String s, boolean encrypted) {
        assertThat(KeyCipher.isEncrypted(s)).isEqualTo(encrypted);
    }

    @Test
    void refusesABlankMasterKeyAndNeverShowsIt() {
        assertThatThrownBy(() -> new KeyCipher("  "))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("masterKey: blank (expected: a secret, best long and random)");
        assertThatThrownBy(() -> new KeyCipher(null)).isInstanceOf(NullPointerException.class);
        assertThat(REAL.toString()).doesNotContain(MASTER).contains("200000");
    }

    @Test
    void decryptsValuesOfManyWritersAcrossTheCacheBound() throws Exception {
        KeyCipher reader = fast(MASTER);
        for (int i = 0; i < 80; i++) {
            KeyCipher writer = fast(MASTER);
            String enc = writer.encrypt("key " + i);
            assertThat(reader.decrypt(enc)).isEqualTo("key " + i);
        }
        String own = reader.encrypt("own");
        assertThat(reader.decrypt(own)).isEqualTo("own");
    }
}
