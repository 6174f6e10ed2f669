package io.gemgate.server.upstream;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.egress.Exit;
import io.gemgate.core.egress.Exits;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The background check of failing exits: every {@code upstream.exitCheckInterval}, each failing exit is asked to open
 * a tunnel to the upstream; one that does serves again ({@link Exits#recovered}) and its keys go back to it. Runs on
 * one event loop, never blocks it.
 */
public final class ExitChecker implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(ExitChecker.class);

    private final Exits exits;
    private final UpstreamClient upstream;
    private final EventLoop loop;
    private ScheduledFuture<?> timer;

    public ExitChecker(Exits exits, UpstreamClient upstream, EventLoop loop) {
        this.exits = requireNonNull(exits, "exits");
        this.upstream = requireNonNull(upstream, "upstream");
        this.loop = requireNonNull(loop, "loop");
    }

    /** Starts the periodic check. */
    public void start() {
        long every = exits.settings().checkInterval().toMillis();
        timer = loop.scheduleWithFixedDelay(this::checkNow, every, every, TimeUnit.MILLISECONDS);
    }

    /** Checks every failing exit once, now. */
    public void checkNow() {
        for (Exit e : exits.failing()) {
            upstream.check(loop, e).addListener(f -> {
                if (f.isSuccess()) {
                    log.info("exit {} opens tunnels again: back in service", e.label());
                    exits.recovered(e);
                } else {
                    log.debug("exit {} still failing: {}", e.label(), f.cause().getMessage());
                }
            });
        }
    }

    @Override
    public void close() {
        if (timer != null) {
            timer.cancel(false);
        }
    }
}
