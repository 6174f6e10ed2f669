package io.gemgate.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The direction of the dependencies between core's packages, read from the main sources (imports and qualified
 * names in code; comments and string literals do not count): the state package may use the keys package, never the
 * reverse, directly or through another package. The key pool tells persistence and replication of its changes
 * through interfaces of its own ({@code KeyPool.Listener}, the dirty flag) and offers read and restore methods that
 * the state package's {@code PoolSnapshot} calls.
 */
class PackageDependencyTest {
    private static final Path SOURCES = Path.of("src/main/java/io/gemgate/core");
    private static final Pattern CORE_NAME = Pattern.compile("\\bio\\.gemgate\\.core\\.([a-z]\\w*)");

    @Test
    void theKeysPackageReachesNeitherTheStatePackageNorAnythingThatUsesIt() {
        Map<String, Set<String>> uses = packageGraph();
        assertThat(uses).containsKeys("keys", "state");
        assertThat(uses.get("state")).contains("keys"); // the allowed direction, so the scan does see references

        assertThat(uses.get("keys")).doesNotContain("state");
        assertThat(reachable(uses, "keys")).doesNotContain("state");
    }

    @Test
    void theScanSeesCodeAndSkipsCommentsAndStrings() {
        String source = """
                package io.gemgate.core.keys;
                import io.gemgate.core.settings.KeyBudget; // io.gemgate.core.tokens in a comment
                /** {@link io.gemgate.core.affinity.AffinityMap} in javadoc */
                class X { Object o = io.gemgate.core.egress.ProxySpec.class; String s = "io.gemgate.core.openai"; }
                """;
        assertThat(references(source)).containsExactlyInAnyOrder("settings", "egress");
    }

    /** Package (first segment under {@code io.gemgate.core}) to the packages its main sources name. */
    private static Map<String, Set<String>> packageGraph() {
        assertThat(SOURCES).isDirectory();
        Map<String, Set<String>> uses = new TreeMap<>();
        try (Stream<Path> files = Files.walk(SOURCES)) {
            files.filter(f -> f.toString().endsWith(".java")).forEach(f -> {
                Path rel = SOURCES.relativize(f);
                if (rel.getNameCount() < 2) {
                    return;
                }
                String pkg = rel.getName(0).toString();
                Set<String> out = uses.computeIfAbsent(pkg, p -> new TreeSet<>());
                try {
                    out.addAll(references(Files.readString(f)));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                out.remove(pkg);
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return uses;
    }

    private static Set<String> reachable(Map<String, Set<String>> uses, String from) {
        Set<String> seen = new TreeSet<>();
        Deque<String> todo = new ArrayDeque<>(uses.getOrDefault(from, Set.of()));
        while (!todo.isEmpty()) {
            String p = todo.pop();
            if (seen.add(p)) {
                todo.addAll(uses.getOrDefault(p, Set.of()));
            }
        }
        return seen;
    }

    /** The core packages named in the code of one source file, its own package line aside. */
    static Set<String> references(String source) {
        String code = codeOnly(source).replaceFirst("\\bpackage\\s+[\\w.]+\\s*;", "");
        Set<String> out = new TreeSet<>();
        Matcher m = CORE_NAME.matcher(code);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    /** The source with comments, string and character literals and text blocks blanked out. */
    private static String codeOnly(String s) {
        StringBuilder out = new StringBuilder(s.length());
        int i = 0;
        int n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (c == '/' && i + 1 < n && s.charAt(i + 1) == '/') {
                while (i < n && s.charAt(i) != '\n') {
                    i++;
                }
            } else if (c == '/' && i + 1 < n && s.charAt(i + 1) == '*') {
                int end = s.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
                out.append(' ');
            } else if (s.startsWith("\"\"\"", i)) {
                int end = s.indexOf("\"\"\"", i + 3);
                i = end < 0 ? n : end + 3;
                out.append("\"\"");
            } else if (c == '"' || c == '\'') {
                i++;
                while (i < n && s.charAt(i) != c) {
                    i += s.charAt(i) == '\\' ? 2 : 1;
                }
                i++;
                out.append(c).append(c);
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }
}
