package io.gemgate.core.config;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gemgate.core.keys.KeySpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class KeysFileTest {
    private static final String A = "AIzaSyA0000000000000000000000000000000a";
    private static final String B = "AIzaSyB0000000000000000000000000000000b";
    private static final String C = "AIzaSyC0000000000000000000000000000000c";

    @TempDir
    Path dir;

    @Test
    void oneKeyALineWithDefaultAttributes() {
        assertThat(KeysFile.parse(List.of(A, B))).containsExactly(KeySpec.of(A), KeySpec.of(B));
    }

    @Test
    void commentsBlankLinesAndWhitespaceAreIgnored() {
        List<String> lines = List.of(
                "# team keys",
                "",
                "   ",
                "  " + A + "  ",
                "\t" + B + "\t# trailing comment",
                "   # indented comment",
                C + "\r");

        assertThat(KeysFile.parse(lines)).containsExactly(KeySpec.of(A), KeySpec.of(B), KeySpec.of(C));
    }

    @Test
    void duplicatesAreDroppedKeepingTheFirst() {
        List<String> lines = List.of(A + " label=first", B, A + " label=second", B);

        assertThat(KeysFile.parse(lines))
                .containsExactly(new KeySpec(A, "", 1, "first"), KeySpec.of(B));
    }

    @Test
    void attributes() {
        List<String> lines = List.of(
                A + " project=team-a weight=3 label=alice",
                B + "   label=\"Bob's key #2\"   weight=100 # the quoted # is not a comment",
                C + " project=p label=\"\"");

        assertThat(KeysFile.parse(lines)).containsExactly(
                new KeySpec(A, "team-a", 3, "alice"),
                new KeySpec(B, "", 100, "Bob's key #2"),
                new KeySpec(C, "p", 1, ""));
    }

    @Test
    void tierAndGroupsSeveralAllowed() {
        List<String> lines = List.of(
                A + " tier=1 group=paid group=pro",
                B + " group=free,batch label=b",
                C);

        assertThat(KeysFile.parse(lines)).containsExactly(
                new KeySpec(A, "", 1, "", 1, java.util.Set.of("paid", "pro")),
                new KeySpec(B, "", 1, "b", 0, java.util.Set.of("batch", "free")),
                new KeySpec(C, "", 1, "", 0, java.util.Set.of()));
        assertThat(KeysFile.parse(lines).get(0).groups()).containsExactly("paid", "pro");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '\'', textBlock = """
            'A,B,C'
            'A, B ,C'
            'A , B,C,'
            ',A,,B , ,C'
            """)
    void commaSeparatedKeysOnOneLine(String line) {
        String keys = line.replace("A", A).replace("B", B).replace("C", C);

        assertThat(KeysFile.parse(List.of(keys))).containsExactly(KeySpec.of(A), KeySpec.of(B), KeySpec.of(C));
    }

    @Test
    void attributesAfterCommaSeparatedKeysApplyToEach() {
        assertThat(KeysFile.parse(List.of(A + "," + B + " project=shared weight=2")))
                .containsExactly(new KeySpec(A, "shared", 2, ""), new KeySpec(B, "shared", 2, ""));
    }

    @Test
    void quotedKeyIsUnquoted() {
        assertThat(KeysFile.parse(List.of("\"" + A + "\""))).containsExactly(KeySpec.of(A));
    }

    @Test
    void byteOrderMarkIsIgnored() {
        assertThat(KeysFile.parse(List.of("\uFEFF" + A))).containsExactly(KeySpec.of(A));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '\'', textBlock = """
            'KEY weight=abc'                | 'keys.file line 3: weight=abc (expected: 1 to 100)'
            'KEY weight=0'                  | 'keys.file line 3: weight=0 (expected: 1 to 100)'
            'KEY weight=101'                | 'keys.file line 3: weight=101 (expected: 1 to 100)'
            'KEY weight='                   | 'keys.file line 3: weight= (expected: 1 to 100)'
            'KEY project='                  | 'keys.file line 3: project= (expected: a project name)'
            'KEY proxy=ftp://u:pw@h:1'      | 'keys.file line 3: proxy: not a proxy URL (expected: http://[user:pass@]host:port or socks5://[user:pass@]host:port) or direct'
            'KEY proxy=http://u:pw@h:1/x'   | 'keys.file line 3: proxy: a proxy URL has no path, query or fragment (expected: http://[user:pass@]host:port or socks5://[user:pass@]host:port) or direct'
            'KEY weight=1 weight=2'         | 'keys.file line 3: weight is given twice'
            'KEY colour=red'                | 'keys.file line 3: unknown attribute ''colour'' (expected: project, weight, label, tier, group or proxy)'
            'KEY OTHER'                     | 'keys.file line 3: unexpected text after the key (expected: project=NAME, weight=N, label=TEXT, tier=N, group=NAME or proxy=URL; several keys on one line are separated by commas)'
            'KEY OTHER=x'                   | 'keys.file line 3: unexpected text after the key (expected: project=NAME, weight=N, label=TEXT, tier=N, group=NAME or proxy=URL; several keys on one line are separated by commas)'
            'KEY tier=10'                   | 'keys.file line 3: tier=10 (expected: 0 to 9)'
            'KEY tier=-1'                   | 'keys.file line 3: tier=-1 (expected: 0 to 9)'
            'KEY tier=1 tier=2'             | 'keys.file line 3: tier is given twice'
            'KEY group=a/b'                 | 'keys.file line 3: group=a/b (expected: 1 to 64 letters, digits, ''-'', ''_'' or ''.'')'
            'KEY group='                    | 'keys.file line 3: group= (expected: 1 to 64 letters, digits, ''-'', ''_'' or ''.'')'
            'KEY label="open'               | 'keys.file line 3: a double quote is not closed'
            'weight=2 KEY'                  | 'keys.file line 3: no key before weight=2'
            """)
    void badLineNamesTheLineButNeverTheKey(String line, String message) {
        List<String> lines = List.of("# header", B, line.replace("KEY", A).replace("OTHER", C));

        assertThatThrownBy(() -> KeysFile.parse(lines))
                .isInstanceOf(ConfigException.class)
                .hasMessage(message)
                .hasMessageNotContaining(A.substring(4))
                .hasMessageNotContaining(C.substring(4));
    }

    @Test
    void readsAFile() throws IOException {
        Path file = dir.resolve("key.txt");
        Files.writeString(file, "\uFEFF# keys\r\n" + A + " weight=5\r\n\r\n" + B + "\r\n", UTF_8);

        assertThat(KeysFile.read(file)).containsExactly(new KeySpec(A, "", 5, ""), KeySpec.of(B));
    }

    @Test
    void missingFile() {
        Path file = dir.resolve("missing.txt");

        assertThatThrownBy(() -> KeysFile.read(file))
                .isInstanceOf(ConfigException.class)
                .hasMessage("keys.file: " + file.toAbsolutePath() + " not found");
    }

    @Test
    void directoryIsNotReadable() {
        assertThatThrownBy(() -> KeysFile.read(dir))
                .isInstanceOf(ConfigException.class)
                .hasMessage("keys.file: " + dir.toAbsolutePath() + " is not readable");
    }

    @ParameterizedTest(name = "[{index}]")
    @CsvSource(delimiter = '|', quoteCharacter = '\'', textBlock = """
            ''
            '\\n\\n   \\n'
            '# only a comment\\n  # another\\n'
            """)
    void fileWithoutKeys(String content) throws IOException {
        Path file = Files.writeString(dir.resolve("key.txt"), content.replace("\\n", "\n"), UTF_8);

        assertThatThrownBy(() -> KeysFile.read(file))
                .isInstanceOf(ConfigException.class)
                .hasMessage("keys.file: " + file.toAbsolutePath() + " has no keys");
    }

    @Test
    void parseOfNoKeysIsEmpty() {
        assertThat(KeysFile.parse(List.of("# nothing", ""))).isEmpty();
    }
}
