package io.gemgate.core.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.config.ConfigLoader.Setting;
import io.gemgate.core.settings.SettingsCodec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The settings a user reads about are the settings the code reads: the README's configuration table and
 * {@code config/gateway.yaml} name every setting of {@link Setting} with its variable and default, nothing else, and
 * say the same thing about each (the YAML comment starts with the README's meaning, and may say more); the README's
 * table of live settings names exactly the fields of {@code GET /admin/api/settings}.
 */
class ConfigDocsTest {
    private static final Path README = Path.of("../README.md");
    private static final Path YAML = Path.of("../config/gateway.yaml");
    private static final Pattern ROW =
            Pattern.compile("^\\| `([a-z]+\\.[a-zA-Z]+)` \\| `(GEMGATE_[A-Z0-9_]+)` \\| (.*?) \\| (.*) \\|$");

    private record Row(String env, String defaultValue, String meaning) {
    }

    private static Map<String, Row> readmeRows() throws IOException {
        Map<String, Row> rows = new LinkedHashMap<>();
        for (String line : Files.readAllLines(README)) {
            Matcher m = ROW.matcher(line);
            if (m.matches()) {
                assertThat(rows.put(m.group(1), new Row(m.group(2), m.group(3), m.group(4))))
                        .as("README row %s given twice", m.group(1)).isNull();
            }
        }
        return rows;
    }

    @Test
    void theReadmeTableListsExactlyTheSettingsTheCodeReads() throws IOException {
        assertThat(readmeRows().keySet())
                .containsExactlyInAnyOrder(Stream.of(Setting.values()).map(s -> s.path).toArray(String[]::new));
    }

    @ParameterizedTest
    @EnumSource(Setting.class)
    void theReadmeGivesEachSettingItsVariableAndDefault(Setting setting) throws IOException {
        Row row = readmeRows().get(setting.path);
        assertThat(row).as("README row for %s", setting.path).isNotNull();
        assertThat(row.env()).isEqualTo(setting.env);
        if (setting.defaultValue == null) {
            assertThat(row.defaultValue()).isIn("none", "unset");
        } else {
            assertThat(row.defaultValue()).isEqualTo("`" + setting.defaultValue + "`");
        }
        assertThat(row.meaning()).isNotBlank();
    }

    @ParameterizedTest
    @EnumSource(Setting.class)
    void theYamlCommentSaysWhatTheReadmeSays(Setting setting) throws IOException {
        String comment = yamlComment(setting);
        Row row = readmeRows().get(setting.path);
        assertThat(row).as("README row for %s", setting.path).isNotNull();
        assertThat(comment).as("gateway.yaml comment of %s", setting.path)
                .endsWith(" " + setting.env)
                .startsWith(plain(row.meaning()));
    }

    @Test
    void everyYamlSettingIsOneTheCodeReads() throws IOException {
        Set<String> inYaml = new LinkedHashSet<>();
        String section = null;
        for (String line : Files.readAllLines(YAML)) {
            Matcher s = Pattern.compile("^([a-z]+):\\s*$").matcher(line);
            Matcher k = Pattern.compile("^  (?:# )?([a-zA-Z]+): \\S.*$").matcher(line);
            if (s.matches()) {
                section = s.group(1);
            } else if (k.matches() && section != null && !line.matches("^  # .*[.;,)]( GEMGATE_\\w+)?$")) {
                inYaml.add(section + "." + k.group(1));
            }
        }
        assertThat(inYaml)
                .containsExactlyInAnyOrder(Stream.of(Setting.values()).map(s -> s.path).toArray(String[]::new));
    }

    @Test
    void theReadmeTableOfLiveSettingsNamesEveryFieldOfTheSettingsApi() throws IOException {
        String readme = Files.readString(README);
        int start = readme.indexOf("| Setting | Values | Applied by |");
        assertThat(start).as("the live settings table in the README").isNotNegative();
        List<String> named = new ArrayList<>();
        for (String line : readme.substring(start).split("\n")) {
            if (!line.startsWith("|")) {
                break;
            }
            String first = line.split("\\|")[1];
            Matcher m = Pattern.compile("`([a-zA-Z]+)`").matcher(first);
            while (m.find()) {
                named.add(m.group(1));
            }
        }
        assertThat(named).containsExactlyInAnyOrderElementsOf(SettingsCodec.FIELDS);
    }

    /** The comment lines right above the setting's line in gateway.yaml, joined. */
    private static String yamlComment(Setting setting) throws IOException {
        List<String> lines = Files.readAllLines(YAML);
        String name = setting.path.substring(setting.path.indexOf('.') + 1);
        boolean inSection = false;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.matches("^[a-z]+:\\s*$")) {
                inSection = line.startsWith(setting.section() + ":");
            } else if (inSection && line.matches("^  (# )?" + name + ": .*$")) {
                List<String> block = new ArrayList<>();
                for (int j = i - 1; j >= 0 && lines.get(j).startsWith("  # ")
                        && !lines.get(j).matches("^  # [a-zA-Z]+: \\S+$"); j--) {
                    block.add(0, lines.get(j).substring(4).trim());
                }
                return String.join(" ", block);
            }
        }
        throw new AssertionError(setting.path + " is not in gateway.yaml");
    }

    /** README markdown as plain text: no code spans, links as their text, no "(see ...)" pointers. */
    private static String plain(String markdown) {
        return markdown.replaceAll("\\[([^\\]]+)]\\([^)]+\\)", "$1")
                .replaceAll("\\s*\\(see [^()]*\\)", "")
                .replace("`", "");
    }
}
