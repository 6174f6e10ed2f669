package io.gemgate.core.state;

import io.gemgate.core.state.StateFile.LoadResult;
import io.gemgate.core.state.StateFile.Source;
import io.gemgate.core.state.StateSnapshot.KeyRecord;
import io.gemgate.core.state.StateSnapshot.ModelRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StateFileTest {

    private static final String SECRET = "AIzaSyD-very-secret-key-0123456789abcdef";

    @TempDir
    Path dir;

    private static StateSnapshot snapshot(long savedAt, long requests) {
        return new StateSnapshot(StateSnapshot.CURRENT_VERSION, savedAt, List.of(
                new KeyRecord(StateSnapshot.fingerprint(SECRET), false, 0, "", List.of(
                        new ModelRecord("gemini-2.5-flash", savedAt + 60_000, 2, 0, 1_700_000_000_000L,
                                requests, requests - 1, 1, 0, requests * 100, requests * 10)))));
    }

    private Path primary() {
        return dir.resolve("state.json");
    }

    private Path backup() {
        return dir.resolve("state.json.bak");
    }

    private List<Path> filesStartingWith(String prefix) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith(prefix)).toList();
        }
    }

    private static StateSnapshot decodeFile(Path p) throws Exception {
        return StateCodec.decode(Files.readAllBytes(p));
    }

    @Test
    void roundTripOfSeveralKeysAndModels() {
        StateSnapshot s = StateCodecTest.sample();
        new StateFile(dir).write(s);
        LoadResult r = new StateFile(dir).load();
        assertThat(r.source()).isEqualTo(Source.PRIMARY);
        assertThat(r.problem()).isEmpty();
        assertThat(r.snapshot()).isEqualTo(s);
        assertThat(Files.exists(dir.resolve("state.json.tmp"))).isFalse();
    }

    @Test
    void freshDirectoryIsNone() {
        LoadResult r = new StateFile(dir).load();
        assertThat(r.source()).isEqualTo(Source.NONE);
        assertThat(r.problem()).isEmpty();
        assertThat(r.snapshot()).isEqualTo(StateSnapshot.empty());
    }

    @Test
    void missingDataDirIsNoneAndIsCreatedByWrite() {
        Path nested = dir.resolve("a/b/data");
        StateFile f = new StateFile(nested);
        assertThat(f.load().source()).isEqualTo(Source.NONE);
        f.write(snapshot(1, 5));
        assertThat(Files.isRegularFile(nested.resolve("state.json"))).isTrue();
        assertThat(new StateFile(nested).load().snapshot()).isEqualTo(snapshot(1, 5));
    }

    @Test
    void firstWriteLeavesNoBackup() {
        new StateFile(dir).write(snapshot(1, 5));
        assertThat(Files.exists(primary())).isTrue();
        assertThat(Files.exists(backup())).isFalse();
    }

    @Test
    void writeTwiceKeepsTheFirstAsBackup() throws Exception {
        StateFile f = new StateFile(dir);
        f.write(snapshot(1, 5));
        f.write(snapshot(2, 9));
        assertThat(decodeFile(backup())).isEqualTo(snapshot(1, 5));
        assertThat(decodeFile(primary())).isEqualTo(snapshot(2, 9));
        f.write(snapshot(3, 12));
        assertThat(decodeFile(backup())).isEqualTo(snapshot(2, 9));
        assertThat(new StateFile(dir).load().snapshot()).isEqualTo(snapshot(3, 12));
    }

    private void assertRestoredFromBackupAfterCorruption(byte[] corrupt) throws Exception {
        StateFile writer = new StateFile(dir);
        writer.write(snapshot(1, 5));
        writer.write(snapshot(2, 9));
        Files.write(primary(), corrupt);

        LoadResult r = new StateFile(dir).load();
        assertThat(r.source()).isEqualTo(Source.BACKUP);
        assertThat(r.snapshot()).isEqualTo(snapshot(1, 5));
        assertThat(r.problem()).startsWith("state.json: ").endsWith("; restored from state.json.bak");

        List<Path> aside = filesStartingWith("state.json.corrupt-");
        assertThat(aside).hasSize(1);
        assertThat(aside.get(0).getFileName().toString()).matches("state\\.json\\.corrupt-\\d+");
        assertThat(Files.readAllBytes(aside.get(0))).isEqualTo(corrupt);
        assertThat(Files.exists(primary())).isFalse();
        assertThat(decodeFile(backup())).isEqualTo(snapshot(1, 5));
    }

    @Test
    void truncatedPrimaryRestoresFromBackup() throws Exception {
        byte[] good = StateCodec.encode(snapshot(2, 9));
        assertRestoredFromBackupAfterCorruption(Arrays.copyOf(good, good.length / 2));
    }

    @Test
    void garbagePrimaryRestoresFromBackup() throws Exception {
        assertRestoredFromBackupAfterCorruption("\u0000\u0000garbage{{{".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void emptyPrimaryRestoresFromBackup() throws Exception {
        assertRestoredFromBackupAfterCorruption(new byte[0]);
    }

    @Test
    void newerVersionPrimaryIsTreatedAsCorrupt() throws Exception {
        assertRestoredFromBackupAfterCorruption(
                ("{\"version\":" + (StateSnapshot.CURRENT_VERSION + 1) + ",\"keys\":[]}")
                        .getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void writeAfterRestoreKeepsTheGoodBackupAndTheCorruptFile() throws Exception {
        assertRestoredFromBackupAfterCorruption("garbage".getBytes(StandardCharsets.UTF_8));
        StateFile f = new StateFile(dir);
        f.load(); // state.json is now missing: BACKUP again
        f.write(snapshot(3, 12));
        assertThat(decodeFile(primary())).isEqualTo(snapshot(3, 12));
        assertThat(decodeFile(backup())).isEqualTo(snapshot(1, 5));
        assertThat(filesStartingWith("state.json.corrupt-")).hasSize(1);
        f.write(snapshot(4, 15));
        assertThat(decodeFile(backup())).isEqualTo(snapshot(3, 12));
        assertThat(filesStartingWith("state.json.corrupt-")).hasSize(1);
    }

    @Test
    void bothCorruptStartsEmpty() throws Exception {
        Files.write(primary(), "{\"version\":1,\"keys\":[".getBytes(StandardCharsets.UTF_8));
        Files.write(backup(), new byte[0]);
        LoadResult r = new StateFile(dir).load();
        assertThat(r.source()).isEqualTo(Source.EMPTY_AFTER_CORRUPTION);
        assertThat(r.snapshot()).isEqualTo(StateSnapshot.empty());
        assertThat(r.problem()).startsWith("state.json: truncated").contains("; state.json.bak: empty")
                .endsWith("starting with empty state");
        assertThat(filesStartingWith("state.json.corrupt-")).hasSize(1);
        assertThat(filesStartingWith("state.json.bak.corrupt-")).hasSize(1);
        assertThat(Files.exists(primary())).isFalse();
        assertThat(Files.exists(backup())).isFalse();

        StateFile f = new StateFile(dir);
        f.write(snapshot(5, 5));
        assertThat(new StateFile(dir).load()).isEqualTo(new LoadResult(snapshot(5, 5), Source.PRIMARY, ""));
    }

    @Test
    void corruptPrimaryWithoutBackupStartsEmpty() throws Exception {
        Files.write(primary(), "nonsense".getBytes(StandardCharsets.UTF_8));
        LoadResult r = new StateFile(dir).load();
        assertThat(r.source()).isEqualTo(Source.EMPTY_AFTER_CORRUPTION);
        assertThat(r.problem()).startsWith("state.json: malformed JSON").contains("state.json.bak: missing");
        assertThat(filesStartingWith("state.json.corrupt-")).hasSize(1);
    }

    @Test
    void missingPrimaryWithCorruptBackupStartsEmpty() throws Exception {
        Files.write(backup(), "{".getBytes(StandardCharsets.UTF_8));
        LoadResult r = new StateFile(dir).load();
        assertThat(r.source()).isEqualTo(Source.EMPTY_AFTER_CORRUPTION);
        assertThat(r.problem()).startsWith("state.json: missing; state.json.bak: truncated");
    }

    @Test
    void killBetweenTheRenamesRestoresFromBackup() throws Exception {
        StateFile f = new StateFile(dir);
        f.write(snapshot(1, 5));
        f.write(snapshot(2, 9));
        // simulate a kill after "state.json -> state.json.bak" and before "state.json.tmp -> state.json"
        Files.write(dir.resolve("state.json.tmp"), StateCodec.encode(snapshot(3, 12)));
        Files.move(primary(), backup(), StandardCopyOption.REPLACE_EXISTING);

        LoadResult r = new StateFile(dir).load();
        assertThat(r.source()).isEqualTo(Source.BACKUP);
        assertThat(r.snapshot()).isEqualTo(snapshot(2, 9));
        assertThat(r.problem()).isEqualTo("state.json: missing; restored from state.json.bak");
        assertThat(filesStartingWith("state.json.corrupt-")).isEmpty();
    }

    @Test
    void strayTempFileIsIgnoredAndTheNextWriteSucceeds() throws Exception {
        StateFile f = new StateFile(dir);
        f.write(snapshot(1, 5));
        // simulate a kill while writing the temp file: half a snapshot
        byte[] half = StateCodec.encode(snapshot(2, 9));
        Files.write(dir.resolve("state.json.tmp"), Arrays.copyOf(half, half.length / 2));

        StateFile restarted = new StateFile(dir);
        LoadResult r = restarted.load();
        assertThat(r).isEqualTo(new LoadResult(snapshot(1, 5), Source.PRIMARY, ""));

        restarted.write(snapshot(3, 12));
        assertThat(Files.exists(dir.resolve("state.json.tmp"))).isFalse();
        assertThat(decodeFile(primary())).isEqualTo(snapshot(3, 12));
        assertThat(decodeFile(backup())).isEqualTo(snapshot(1, 5));
    }

    @Test
    void writeWithoutLoadDoesNotRotateACorruptPrimaryIntoTheBackup() throws Exception {
        StateFile first = new StateFile(dir);
        first.write(snapshot(1, 5));
        first.write(snapshot(2, 9));
        Files.write(primary(), "garbage".getBytes(StandardCharsets.UTF_8));

        new StateFile(dir).write(snapshot(3, 12));
        assertThat(decodeFile(primary())).isEqualTo(snapshot(3, 12));
        assertThat(decodeFile(backup())).isEqualTo(snapshot(1, 5));
        List<Path> aside = filesStartingWith("state.json.corrupt-");
        assertThat(aside).hasSize(1);
        assertThat(Files.readString(aside.get(0))).isEqualTo("garbage");
    }

    @Test
    void secretNeverAppearsInTheFile() throws Exception {
        StateFile f = new StateFile(dir);
        f.write(snapshot(1, 5));
        f.write(snapshot(2, 9));
        for (Path p : List.of(primary(), backup())) {
            String text = Files.readString(p);
            assertThat(text).doesNotContain(SECRET).doesNotContain(SECRET.substring(8, 24))
                    .contains(StateSnapshot.fingerprint(SECRET));
        }
    }

    @Test
    void unknownFieldsInTheFileAreIgnored() throws Exception {
        Files.writeString(primary(), """
                {"version": 1, "savedAtMillis": 7, "addedLater": {"a": [1]},
                 "keys": [{"fingerprint": "00112233aabbccdd", "notes": "x", "models": []}]}
                """);
        LoadResult r = new StateFile(dir).load();
        assertThat(r.source()).isEqualTo(Source.PRIMARY);
        assertThat(r.snapshot()).isEqualTo(new StateSnapshot(1, 7,
                List.of(new KeyRecord("00112233aabbccdd", false, 0, "", List.of()))));
    }

    @Test
    void corruptFilesAreMovedAsideUnderDistinctNames() throws Exception {
        StateFile f = new StateFile(dir);
        for (int i = 0; i < 3; i++) {
            Files.write(primary(), ("garbage" + i).getBytes(StandardCharsets.UTF_8));
            assertThat(f.load().source()).isEqualTo(Source.EMPTY_AFTER_CORRUPTION);
        }
        assertThat(filesStartingWith("state.json.corrupt-")).hasSize(3);
    }

    @Test
    void unreadablePrimaryThrowsWithThePath() throws Exception {
        Files.createDirectory(primary()); // reading a directory fails with an IOException other than "missing"
        assertThatThrownBy(() -> new StateFile(dir).load())
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining(primary().toString());
    }

    @Test
    void unwritableDataDirThrowsWithThePath() throws Exception {
        Path notADir = dir.resolve("file");
        Files.writeString(notADir, "x");
        assertThatThrownBy(() -> new StateFile(notADir).write(snapshot(1, 1)))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining(notADir.toString());
    }
}
