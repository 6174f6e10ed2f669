package io.gemgate.server;

import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.metrics.GatewayEvents;
import io.netty.channel.EventLoopGroup;
import java.util.Map;
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

    /**
     * The gateway's event loop groups by a short name ({@code accept}, {@code io}), once they exist, for their gauges
     * (queued tasks per loop). A restarted gateway passes its new groups, which replace the old ones.
     */
    default void eventLoops(Map<String, EventLoopGroup> groups) {
    }

    /** The gateway's exits (egress proxies), for their meters; a restarted gateway passes its new ones. */
    default void exits(io.gemgate.core.egress.Exits exits) {
    }

    /** The key affinity counters and map of a gateway, once they exist; a restart passes new ones. */
    default void affinity(io.gemgate.core.affinity.AffinityStats stats, io.gemgate.core.affinity.AffinityMap map) {
    }

    /** The request log of a gateway, for its meters; a restarted gateway passes its new one. */
    default void requestLog(io.gemgate.server.requestlog.RequestLog log) {
    }
}
