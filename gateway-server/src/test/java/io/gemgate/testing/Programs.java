package io.gemgate.testing;

import static org.assertj.core.api.Assertions.fail;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * The programs some tests run beside the JVM (promtool, node, Chromium), found as a user's shell would find them.
 * {@code ./test} installs them; a test that needs a missing one fails in CI ({@code CI} set) and is skipped elsewhere
 * with the message naming what to install.
 */
public final class Programs {
    /** Debian's Chromium, which the browser tests drive through playwright-core (no browser download). */
    public static final Path CHROMIUM = Path.of("/usr/bin/chromium");

    private Programs() {
    }

    /** The executable {@code program} in a directory of {@code PATH}, or null. */
    public static Path onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String dir : path.split(File.pathSeparator)) {
            Path p = Path.of(dir, program);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /** gateway-server: the working directory under Surefire, or below it when run from the repository root. */
    public static Path moduleDir() {
        Path here = Path.of("").toAbsolutePath();
        return Files.isDirectory(here.resolve("src/test/browser")) ? here : here.resolve("gateway-server");
    }

    /**
     * What a browser test needs: node, Chromium, and playwright-core installed in {@code browserDir}. Fails in CI
     * when one is missing, else skips the test.
     *
     * @return node's path
     */
    public static String requireBrowser(Path browserDir) {
        Path node = onPath("node");
        List<String> missing = new ArrayList<>();
        if (node == null) {
            missing.add("node (not on the PATH)");
        }
        if (!Files.isExecutable(CHROMIUM)) {
            missing.add(CHROMIUM + " (apt-get install chromium)");
        }
        if (!Files.isDirectory(browserDir.resolve("node_modules/playwright-core"))) {
            missing.add("playwright-core (npm ci in gateway-server/src/test/browser)");
        }
        if (!missing.isEmpty()) {
            String message = "the browser test needs " + String.join(", ", missing) + "; ./test installs them";
            String ci = System.getenv("CI");
            if (ci != null && !ci.isBlank()) {
                fail(message);
            }
            Assumptions.abort(message);
        }
        return node.toString();
    }
}
