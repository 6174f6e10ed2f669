package io.gemgate.server;

import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.metrics.GatewayEvents;
import java.util.function.Supplier;

/** Connects a metrics implementation to a gateway: its event sink (built once the key pool exists) and its text. */
public interface MetricsBinding {
    /** No metrics: events are dropped and {@code /metrics} answers 404. */
    MetricsBinding NONE = new MetricsBinding() {
        @Override
        public GatewayEvents events(KeyPool pool) {
            return GatewayEvents.NOOP;
        }

        @Override
        public Supplier<String> scrape() {
            return null;
        }
    };

    /** The event sink; {@code pool} is there for gauges read at scrape time (key states, usable keys). */
    GatewayEvents events(KeyPool pool);

    /** The Prometheus exposition text, or null. */
    Supplier<String> scrape();
}
