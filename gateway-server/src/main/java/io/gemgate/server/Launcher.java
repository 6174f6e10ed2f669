package io.gemgate.server;

import io.gemgate.core.config.ConfigException;
import io.gemgate.core.config.ConfigLoader;
import io.gemgate.core.config.GatewayConfig;
import io.gemgate.core.config.KeysFile;
import io.gemgate.core.keys.KeySpec;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.apache.logging.log4j.LogManager;

/** Loads the configuration and keys, starts the gateway and keeps it until SIGTERM or SIGINT. */
final class Launcher {
    private Launcher() {
    }

    /** @return the process exit code: 0 after a clean stop, 2 for a bad configuration, 1 otherwise */
    static int run(Map<String, String> env) {
        GatewayServer server;
        try {
            GatewayConfig cfg = ConfigLoader.load(env);
            List<KeySpec> keys = KeysFile.read(cfg.keys().file());
            server = GatewayServer.builder(cfg, keys).metrics(new io.gemgate.server.metrics.MicrometerMetrics())
                    .start();
        } catch (ConfigException e) {
            System.err.println("gemgate: " + e.getMessage());
            LogManager.shutdown();
            return 2;
        } catch (Exception e) {
            System.err.println("gemgate: cannot start: " + e);
            LogManager.shutdown();
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            LogManager.shutdown();
            stopped.countDown();
        }, "gemgate-shutdown"));
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }
}
