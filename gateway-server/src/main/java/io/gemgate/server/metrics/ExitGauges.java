package io.gemgate.server.metrics;

import io.gemgate.core.egress.Exit;
import io.gemgate.core.egress.Exits;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The exits' meters ({@link GatewayMeters#EXIT_REQUESTS} and the others), tagged with the exit's {@code host:port}.
 * {@link #refresh()} runs at each scrape: it adds the meters of exits that appeared (a key's own proxy added at run
 * time) and reads the number of keys pinned to each. Thread-safe: {@link #refresh()} is synchronized.
 */
final class ExitGauges {
    private static final Exit.State[] STATES = Exit.State.values();
    private static final Exit.Failure[] FAILURES = Exit.Failure.values();

    private final MeterRegistry registry;
    private final Exits exits;
    private final Map<Exit, Row> rows = new HashMap<>();

    ExitGauges(MeterRegistry registry, Exits exits) {
        this.registry = registry;
        this.exits = exits;
    }

    synchronized void refresh() {
        for (Exit e : exits.all()) {
            rows.computeIfAbsent(e, Row::new).keys = exits.pinnedKeys(e);
        }
    }

    synchronized void unregister() {
        rows.values().forEach(Row::remove);
        rows.clear();
    }

    private final class Row {
        final List<Meter> meters = new ArrayList<>();
        volatile int keys;

        Row(Exit e) {
            Tags tags = Tags.of(GatewayMeters.EXIT, e.label());
            meters.add(FunctionCounter.builder(GatewayMeters.EXIT_REQUESTS, e, Exit::requests)
                    .description("Upstream attempts sent through the exit (egress proxy)").tags(tags)
                    .register(registry));
            for (Exit.Failure f : FAILURES) {
                meters.add(FunctionCounter.builder(GatewayMeters.EXIT_FAILURES, e, x -> x.failures(f))
                        .description("Failures of the exit itself, by reason; never counted against a key")
                        .tags(tags.and(GatewayMeters.REASON, f.label())).register(registry));
            }
            for (Exit.State s : STATES) {
                meters.add(Gauge.builder(GatewayMeters.EXIT_STATE, e,
                                x -> x.state(System.currentTimeMillis()) == s ? 1 : 0)
                        .description("1 for the exit's state now (healthy, cooling, failing), 0 for the others")
                        .tags(tags.and(GatewayMeters.STATE, s.label())).strongReference(true).register(registry));
            }
            meters.add(Gauge.builder(GatewayMeters.EXIT_KEYS, this, r -> r.keys)
                    .description("Keys pinned to the exit").tags(tags).strongReference(true).register(registry));
        }

        void remove() {
            meters.forEach(registry::remove);
        }
    }
}
