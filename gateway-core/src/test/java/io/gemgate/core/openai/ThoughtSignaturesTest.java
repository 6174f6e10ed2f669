package io.gemgate.core.openai;

import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ThoughtSignaturesTest {
    private static String signature(int bytes, long seed) {
        byte[] b = new byte[bytes];
        new Random(seed).nextBytes(b);
        return Base64.getEncoder().encodeToString(b);
    }

    @Test
    void idWithoutSignatureIsShort() {
        String id = ThoughtSignatures.inId().newToolCallId(null);
        assertThat(id).matches("call_[A-Za-z0-9]{16}");
        assertThat(ThoughtSignatures.inId().signatureOf(id)).isNull();
        assertThat(ThoughtSignatures.inId().newToolCallId("")).hasSize(21);
    }

    @Test
    void signatureRoundTripsThroughTheId() {
        ThoughtSignatures s = ThoughtSignatures.inId();
        for (int size : new int[] {1, 2, 3, 32, 257, 1500}) {
            String sig = signature(size, size);
            String id = s.newToolCallId(sig);
            assertThat(id).matches("call_[A-Za-z0-9]{16}_ts[A-Za-z0-9_-]+");
            assertThat(s.signatureOf(id)).isEqualTo(sig);
            // Stateless: any instance decodes it.
            assertThat(ThoughtSignatures.cache(10, Duration.ofMinutes(1), Clock.systemUTC()).signatureOf(id))
                    .isEqualTo(sig);
        }
    }

    @Test
    void idLengthGrowsWithTheSignature() {
        String sig = signature(300, 1);
        String id = ThoughtSignatures.inId().newToolCallId(sig);
        assertThat(id.length()).isBetween(sig.length(), sig.length() + 32);
    }

    @Test
    void urlSafeSignatureIsAcceptedAndReturnedAsStandardBase64() {
        byte[] bytes = {(byte) 0xfb, (byte) 0xff, (byte) 0xbf};
        String urlSafe = Base64.getUrlEncoder().encodeToString(bytes);
        ThoughtSignatures s = ThoughtSignatures.inId();
        assertThat(s.signatureOf(s.newToolCallId(urlSafe))).isEqualTo(Base64.getEncoder().encodeToString(bytes));
    }

    @Test
    void truncatedOrAlteredIdsAreNotTrusted() {
        ThoughtSignatures s = ThoughtSignatures.inId();
        String id = s.newToolCallId(signature(200, 7));
        assertThat(s.signatureOf(id.substring(0, 64))).isNull();
        assertThat(s.signatureOf(id.substring(0, id.length() - 1))).isNull();
        char last = id.charAt(id.length() - 10);
        String altered = id.substring(0, id.length() - 10) + (last == 'A' ? 'B' : 'A') + id.substring(id.length() - 9);
        assertThat(s.signatureOf(altered)).isNull();
        assertThat(s.signatureOf("call_abc")).isNull();
        assertThat(s.signatureOf("call_0123456789abcdef_ts!!!!!!!!!!")).isNull();
        assertThat(s.signatureOf(null)).isNull();
    }

    @Test
    void nonBase64SignatureIsNotEmbedded() {
        ThoughtSignatures s = ThoughtSignatures.inId();
        String id = s.newToolCallId("not base64 at all!");
        assertThat(id).hasSize(21);
        assertThat(s.signatureOf(id)).isNull();
    }

    @Test
    void cacheKeepsShortIds() {
        ThoughtSignatures s = ThoughtSignatures.cache(10, Duration.ofMinutes(5), Clock.systemUTC());
        String sig = signature(500, 3);
        String id = s.newToolCallId(sig);
        assertThat(id).matches("call_[A-Za-z0-9]{16}");
        assertThat(s.signatureOf(id)).isEqualTo(sig);
        assertThat(s.mode()).isEqualTo(ThoughtSignatures.Mode.CACHE);
        assertThat(ThoughtSignatures.inId().signatureOf(id)).isNull();
    }

    @Test
    void cacheEvictsTheLeastRecentlyUsed() {
        ThoughtSignatures s = ThoughtSignatures.cache(2, Duration.ofMinutes(5), Clock.systemUTC());
        String a = s.newToolCallId("QUFB");
        String b = s.newToolCallId("QkJC");
        assertThat(s.signatureOf(a)).isEqualTo("QUFB"); // a is now the most recent
        String c = s.newToolCallId("Q0ND");
        assertThat(s.signatureOf(b)).isNull();
        assertThat(s.signatureOf(a)).isEqualTo("QUFB");
        assertThat(s.signatureOf(c)).isEqualTo("Q0ND");
    }

    @Test
    void cacheEntriesExpire() {
        MutableClock clock = new MutableClock();
        ThoughtSignatures s = ThoughtSignatures.cache(10, Duration.ofSeconds(60), clock);
        String id = s.newToolCallId("QUFB");
        clock.now = clock.now.plusSeconds(59);
        assertThat(s.signatureOf(id)).isEqualTo("QUFB");
        clock.now = clock.now.plusSeconds(1);
        assertThat(s.signatureOf(id)).isNull();
    }

    @Test
    void cacheSettingsAreValidated() {
        assertThatThrownBy(() -> ThoughtSignatures.cache(0, Duration.ofSeconds(1), Clock.systemUTC()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxEntries");
        assertThatThrownBy(() -> ThoughtSignatures.cache(1, Duration.ZERO, Clock.systemUTC()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ttl");
    }

    private static final class MutableClock extends Clock {
        Instant now = Instant.ofEpochSecond(1_000_000);

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
