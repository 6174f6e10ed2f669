package io.gemgate.server;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Entry point: {@code java -jar gemgate.jar}. Points log4j at {@code config/log4j2.xml} (or {@code GEMGATE_LOG_CONFIG})
 * before any logger exists, then hands over to {@link Launcher}.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        if (System.getProperty("log4j2.configurationFile") == null) {
            String configured = System.getenv("GEMGATE_LOG_CONFIG");
            Path file = configured != null && !configured.isBlank() ? Path.of(configured) : Path.of("config/log4j2.xml");
            if (Files.isReadable(file)) {
                System.setProperty("log4j2.configurationFile", file.toAbsolutePath().toString());
            }
        }
        // We stop log4j ourselves, after the last state write has been logged.
        System.setProperty("log4j2.shutdownHookEnabled", "false");
        // Netty samples one buffer in 128 for leak tracking by default, and each sample records stack traces: a cost
        // on every request path for a check that belongs to the tests (they run it at PARANOID). Off unless asked for.
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            System.setProperty("io.netty.leakDetection.level", "disabled");
        }
        int code = Launcher.run(System.getenv());
        if (code != 0) {
            System.exit(code);
        }
    }
}
