package io.gemgate.core.state;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.KeySpec;
import io.gemgate.core.keys.PoolSettings;
import io.gemgate.core.keys.QuotaCalendar;
import io.gemgate.core.keys.Strategy;
import io.gemgate.core.keys.Verdict;
import io.gemgate.core.keys.VerdictKind;
import io.gemgate.core.secrets.KeyCipher;
import io.gemgate.core.settings.RuntimeSettings;
import io.gemgate.core.tokens.TokenLimits;
import io.gemgate.core.tokens.TokenRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.ZoneId;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the persister stores besides the pool's counters, and how a restart brings it back. */
class StatePersisterTest {
    private static final String FILE_KEY = "AIzaSyFILE" + "f".repeat(25) + "0001";
    private static final String ADDED_KEY = "AIzaSyADDED" + "a".repeat(24) + "0002";
    private static final long NOW = 1_750_000_000_000L;

    @TempDir
    Path dir;
    private StatePersister persister;

    /** One gateway's worth of parts, as a start would build them. */
    private final class Parts {
        final List<KeySpec> fileKeys;
        final KeyPool pool;
        final TokenRegistry tokens = new TokenRegistry(() -> NOW, new SecureRandom());
        final AtomicReference<RuntimeSettings> settings = new AtomicReference<>(RuntimeSettings.defaults());

        Parts(List<KeySpec> fileKeys) {
            this.fileKeys = fileKeys;
            this.pool = new KeyPool(fileKeys, new PoolSettings(Strategy.ROUND_ROBIN, 3, 60_000, 900_000, 5_000),
                    new QuotaCalendar(ZoneId.of("America/Los_Angeles")), () -> NOW);
        }

        StatePersister persister(KeyCipher cipher) {
            return StatePersister.builder(pool, new StateFile(dir), Duration.ofSeconds(60))
                    .tokens(tokens)
                    .settings(RuntimeSettings.defaults(), settings::get, settings::set)
                    .configuredKeys(fileKeys)
                    .cipher(cipher)
                    .build();
        }
    }

    @AfterEach
    void close() {
        if (persister != null) {
            persister.close();
        }
    }

    private Parts startAndRestore(KeyCipher cipher) {
        return startAndRestore(cipher, List.of(KeySpec.of(FILE_KEY)));
    }

    private Parts startAndRestore(KeyCipher cipher, List<KeySpec> fileKeys) {
        if (persister != null) {
            persister.close();
        }
        Parts p = new Parts(fileKeys);
        persister = p.persister(cipher);
        persister.restore();
        return p;
    }

    private String dataDirText() throws Exception {
        StringBuilder all = new StringBuilder();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                all.append(Files.readString(f, StandardCharsets.UTF_8));
            }
        }
        return all.toString();
    }

    @Test
    void addedKeysTokensSettingsEditsAndMarksComeBackAfterARestart() {
        Parts first = startAndRestore(null);
        first.pool.addKeys(List.of(new KeySpec(ADDED_KEY, "team-a", 4, "added")));
        ApiKey added = first.pool.find(StateSnapshot.fingerprint(ADDED_KEY));
        first.pool.record(added, first.pool.model("gemini-2.5-flash"), Verdict.SUCCESS, 10);
        first.pool.update(StateSnapshot.fingerprint(FILE_KEY), 7, "edited", "team-b");
        first.pool.setRemoved(StateSnapshot.fingerprint(FILE_KEY), true);
        TokenRegistry.Created token = first.tokens.create("alice", TokenLimits.builder().requestsPerDay(10).build());
        first.settings.set(RuntimeSettings.defaults().toBuilder().strategy(Strategy.LEAST_USED).build());
        persister.flushNow();

        Parts second = startAndRestore(null);

        ApiKey back = second.pool.find(StateSnapshot.fingerprint(ADDED_KEY));
        assertThat(back).isNotNull();
        assertThat(back.spec()).isEqualTo(new KeySpec(ADDED_KEY, "team-a", 4, "added"));
        assertThat(second.pool.usage(back, second.pool.model("gemini-2.5-flash")).successes()).isEqualTo(1);
        ApiKey file = second.pool.find(StateSnapshot.fingerprint(FILE_KEY));
        assertThat(file.spec()).isEqualTo(new KeySpec(FILE_KEY, "team-b", 7, "edited"));
        assertThat(file.isRemoved()).isTrue();
        assertThat(second.tokens.authenticate(token.secret())).isNotNull();
        assertThat(second.tokens.list().get(0).limits().requestsPerDay()).isEqualTo(10);
        assertThat(second.settings.get().strategy()).isEqualTo(Strategy.LEAST_USED);
    }

    @Test
    void withAMasterKeyNoKeyIsStoredInClearAndTheKeyComesBack() throws Exception {
        KeyCipher cipher = new KeyCipher("correct horse battery staple");
        Parts first = startAndRestore(cipher);
        first.pool.addKeys(List.of(KeySpec.of(ADDED_KEY)));
        persister.flushNow();
        persister.flushNow(); // a backup too

        String stored = dataDirText();
        assertThat(stored).contains("v1:").doesNotContain(ADDED_KEY).doesNotContain(ADDED_KEY.substring(10, 30));

        Parts second = startAndRestore(new KeyCipher("correct horse battery staple"));
        assertThat(second.pool.find(StateSnapshot.fingerprint(ADDED_KEY))).isNotNull();
    }

    @Test
    void aKeyThatCannotBeDecryptedStaysStoredButOutOfThePool() throws Exception {
        Parts first = startAndRestore(new KeyCipher("one master key"));
        first.pool.addKeys(List.of(KeySpec.of(ADDED_KEY)));
        persister.flushNow();

        Parts wrong = startAndRestore(new KeyCipher("another master key"));
        assertThat(wrong.pool.keys()).hasSize(1);
        persister.flushNow(); // writes the unreadable key back unchanged

        Parts none = startAndRestore(null);
        assertThat(none.pool.keys()).hasSize(1);
        persister.flushNow();

        Parts right = startAndRestore(new KeyCipher("one master key"));
        assertThat(right.pool.find(StateSnapshot.fingerprint(ADDED_KEY))).isNotNull();
    }

    @Test
    void aKeyStoredInClearIsEncryptedOnceAMasterKeyIsSet() throws Exception {
        Parts first = startAndRestore(null);
        first.pool.addKeys(List.of(KeySpec.of(ADDED_KEY)));
        persister.flushNow();
        assertThat(Files.readString(dir.resolve(StateFile.PRIMARY_NAME))).contains(ADDED_KEY);

        startAndRestore(new KeyCipher("now with a master key"));
        persister.flushNow();
        persister.flushNow();
        assertThat(dataDirText()).doesNotContain(ADDED_KEY);
    }

    @Test
    void aKeyFileThatNowListsAnAddedKeyWins() throws Exception {
        Parts first = startAndRestore(null);
        first.pool.addKeys(List.of(new KeySpec(ADDED_KEY, "p", 9, "l")));
        persister.flushNow();

        Parts second = startAndRestore(null, List.of(KeySpec.of(FILE_KEY), KeySpec.of(ADDED_KEY)));
        assertThat(second.pool.keys()).hasSize(2);
        assertThat(second.pool.find(StateSnapshot.fingerprint(ADDED_KEY)).spec()).isEqualTo(KeySpec.of(ADDED_KEY));
        persister.flushNow();
        assertThat(Files.readString(dir.resolve(StateFile.PRIMARY_NAME))).doesNotContain(ADDED_KEY);
    }

    @Test
    void invalidMarksAndDefaultSettingsAreStoredAsBefore() throws Exception {
        Parts first = startAndRestore(null);
        ApiKey k = first.pool.keys().get(0);
        first.pool.record(k, first.pool.model("gemini-2.5-flash"), new Verdict(VerdictKind.INVALID_KEY, -1, "bad"), 1);
        persister.flushNow();
        StateSnapshot s = StateCodec.decode(Files.readAllBytes(dir.resolve(StateFile.PRIMARY_NAME)));
        assertThat(s.version()).isEqualTo(2);
        assertThat(s.settings()).isEmpty();
        assertThat(s.addedKeys()).isEmpty();
        assertThat(s.keyEdits()).isEmpty();

        Parts second = startAndRestore(null);
        assertThat(second.pool.keys().get(0).isInvalid()).isTrue();
        assertThat(second.settings.get()).isEqualTo(RuntimeSettings.defaults());
    }

    @Test
    void aVersion1FileStillLoads() throws Exception {
        Files.writeString(dir.resolve(StateFile.PRIMARY_NAME), """
                {"version": 1, "savedAtMillis": 5, "keys": [{"fingerprint": "%s", "disabled": true,
                 "invalidSinceMillis": 0, "invalidReason": "", "models": []}]}
                """.formatted(StateSnapshot.fingerprint(FILE_KEY)));
        Parts p = startAndRestore(null);
        assertThat(p.pool.keys().get(0).isEnabled()).isFalse();
        persister.flushNow();
        assertThat(StateCodec.decode(Files.readAllBytes(dir.resolve(StateFile.PRIMARY_NAME))).version()).isEqualTo(2);
    }
}
