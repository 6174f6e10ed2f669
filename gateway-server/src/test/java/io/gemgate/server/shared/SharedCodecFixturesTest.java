package io.gemgate.server.shared;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gemgate.server.shared.SharedCodec.AddedKey;
import io.gemgate.server.shared.SharedCodec.KeyState;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The Redis values of the key hashes as the hand-written codec of main at 46fef19 wrote them (fixtures under
 * {@code src/test/resources/fixtures}). Gateways of different versions share one Redis during a rolling upgrade:
 * the current codec must read what the older one wrote, and write exactly what the older one reads.
 */
class SharedCodecFixturesTest {

    static final AddedKey ADDED = new AddedKey("v1:bm9uY2U=:Y2lwaGVydGV4dA==", "team-b", 3, "added \"live\"",
            1765050000000L, 1, Set.of("pro", "paid"), "v1:cHJveHk=:dXJs");
    static final AddedKey ADDED_PLAIN = new AddedKey("AIzaPlainSecretNotEncrypted0000000000000", "", 1, "",
            1765050001000L, 0, Set.of(), "");
    static final KeyState STATE = new KeyState(false, true, 1765090000000L, "API_KEY_INVALID", "team-a", 7,
            "primary", 2, Set.of("paid", "free"));
    static final KeyState STATE_PLAIN = new KeyState(true, false, 0, "", "", 1, "", 0, Set.of());

    static String fixture(String name) {
        try (InputStream in = SharedCodecFixturesTest.class.getResourceAsStream("/fixtures/" + name)) {
            assertThat(in).as("fixture %s", name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void addedKeysPublishedByTheOldWriterReadToTheSameValues() {
        assertThat(SharedCodec.decodeAddedKey(fixture("redis-added-key.json"))).isEqualTo(ADDED);
        assertThat(SharedCodec.decodeAddedKey(fixture("redis-added-key-plain.json"))).isEqualTo(ADDED_PLAIN);
    }

    @Test
    void addedKeysAreWrittenExactlyAsTheOldWriterDid() {
        assertThat(SharedCodec.encodeAddedKey(ADDED)).isEqualTo(fixture("redis-added-key.json"));
        assertThat(SharedCodec.encodeAddedKey(ADDED_PLAIN)).isEqualTo(fixture("redis-added-key-plain.json"));
    }

    @Test
    void keyStatesPublishedByTheOldWriterReadToTheSameValues() {
        assertThat(SharedCodec.decodeKeyState(fixture("redis-key-state.json"))).isEqualTo(STATE);
        assertThat(SharedCodec.decodeKeyState(fixture("redis-key-state-plain.json"))).isEqualTo(STATE_PLAIN);
    }

    @Test
    void keyStatesAreWrittenExactlyAsTheOldWriterDid() {
        assertThat(SharedCodec.encodeKeyState(STATE)).isEqualTo(fixture("redis-key-state.json"));
        assertThat(SharedCodec.encodeKeyState(STATE_PLAIN)).isEqualTo(fixture("redis-key-state-plain.json"));
    }

    @Test
    void valuesOfOlderAndNewerGatewaysReadWithDefaultsAndSkippedFields() {
        assertThat(SharedCodec.decodeAddedKey("{\"secret\":\"AIzaX\",\"future\":{\"a\":[1,null]}}"))
                .isEqualTo(new AddedKey("AIzaX", "", 1, "", 0, 0, Set.of(), ""));
        assertThat(SharedCodec.decodeKeyState("{\"removed\":true,\"next\":null}"))
                .isEqualTo(new KeyState(true, true, 0, "", "", 1, "", 0, Set.of()));
        assertThat(SharedCodec.decodeKeyState("{\"weight\":9999999999,\"tier\":2}").weight())
                .isEqualTo(Integer.MAX_VALUE);
    }

    @Test
    void brokenValuesAreRefusedNamingTheField() {
        assertThatThrownBy(() -> SharedCodec.decodeAddedKey("{\"project\":\"p\"}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("secret: missing");
        assertThatThrownBy(() -> SharedCodec.decodeAddedKey("{\"secret\":\"s\",\"weight\":-1}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("weight: negative (-1)");
        assertThatThrownBy(() -> SharedCodec.decodeKeyState("{\"enabled\":\"yes\"}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("enabled: not a boolean");
        assertThatThrownBy(() -> SharedCodec.decodeKeyState("{\"groups\":\"paid\"}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("groups: not an array");
        assertThatThrownBy(() -> SharedCodec.decodeKeyState("[]"))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("not a JSON object");
        assertThatThrownBy(() -> SharedCodec.decodeKeyState("{\"label\":"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("malformed JSON");
    }

    @Test
    void theSecretStaysOutOfToString() {
        assertThat(ADDED_PLAIN.toString()).doesNotContain("AIzaPlain");
    }
}
