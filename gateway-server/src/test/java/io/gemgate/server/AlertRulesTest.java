package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.gemgate.testing.Programs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The Prometheus rules that ship in {@code ops/prometheus}: {@code promtool check rules} accepts them and their unit
 * tests ({@code gemgate-rules.test.yml}: series in, alerts out) pass under {@code promtool test rules}. promtool comes
 * with Debian's {@code prometheus} package, which {@code ./test} installs.
 */
class AlertRulesTest {
    private static final Path DIR = Path.of("../ops/prometheus").toAbsolutePath().normalize();

    @Test
    void theRulesFileIsValid() throws Exception {
        String out = promtool(List.of("check", "rules", "gemgate-rules.yml"));
        assertThat(out).contains("SUCCESS");
    }

    @Test
    void everyAlertFiresAndStaysQuietAsItsUnitTestsSay() throws Exception {
        String out = promtool(List.of("test", "rules", "gemgate-rules.test.yml"));
        assertThat(out).contains("SUCCESS").doesNotContain("FAILED");
    }

    @Test
    void everyAlertHasAUnitTestAndARunbookEntry() throws IOException {
        String rules = Files.readString(DIR.resolve("gemgate-rules.yml"));
        String tests = Files.readString(DIR.resolve("gemgate-rules.test.yml"));
        String runbook = Files.readString(Path.of("../docs/runbook.md"));
        List<String> alerts = rules.lines().map(String::trim).filter(l -> l.startsWith("- alert: "))
                .map(l -> l.substring("- alert: ".length())).toList();
        assertThat(alerts).hasSizeGreaterThanOrEqualTo(8);
        for (String alert : alerts) {
            assertThat(tests).as("a unit test of %s", alert).contains("alertname: " + alert);
            assertThat(runbook).as("a runbook section for %s", alert).contains("### " + alert);
        }
    }

    private static String promtool(List<String> args) throws IOException, InterruptedException {
        Path promtool = Programs.onPath("promtool");
        if (promtool == null) {
            fail("promtool is not on the PATH: install Debian's prometheus package (./test does)");
        }
        List<String> command = new java.util.ArrayList<>();
        command.add(promtool.toString());
        command.addAll(args);
        Process p = new ProcessBuilder(command).directory(DIR.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("promtool %s said:\n%s", args, out).isZero();
        return out;
    }

}
