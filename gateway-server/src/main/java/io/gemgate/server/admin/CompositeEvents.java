package io.gemgate.server.admin;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.metrics.GatewayEvents;

/**
 * Hands each hot-path event to two sinks, in order (metrics, then the admin statistics). Adds one virtual call per
 * event and allocates nothing.
 */
public final class CompositeEvents implements GatewayEvents {
    private final GatewayEvents first;
    private final GatewayEvents second;

    private CompositeEvents(GatewayEvents first, GatewayEvents second) {
        this.first = first;
        this.second = second;
    }

    /** Both sinks; one of them alone when the other is {@link GatewayEvents#NOOP}. */
    public static GatewayEvents of(GatewayEvents first, GatewayEvents second) {
        requireNonNull(first, "first");
        requireNonNull(second, "second");
        if (first == NOOP) {
            return second;
        }
        if (second == NOOP) {
            return first;
        }
        return new CompositeEvents(first, second);
    }

    @Override
    public void connection(boolean opened) {
        first.connection(opened);
        second.connection(opened);
    }

    @Override
    public void requestStarted(String route) {
        first.requestStarted(route);
        second.requestStarted(route);
    }

    @Override
    public void requestFinished(String route, String model, int status, long durationNanos, long firstByteNanos) {
        first.requestFinished(route, model, status, durationNanos, firstByteNanos);
        second.requestFinished(route, model, status, durationNanos, firstByteNanos);
    }

    @Override
    public void servedByTier(int tier) {
        first.servedByTier(tier);
        second.servedByTier(tier);
    }

    @Override
    public void requestRejected(String route, int status) {
        first.requestRejected(route, status);
        second.requestRejected(route, status);
    }

    @Override
    public void attempt(String model, String verdict, boolean failover) {
        first.attempt(model, verdict, failover);
        second.attempt(model, verdict, failover);
    }

    @Override
    public void sseEvents(int count) {
        first.sseEvents(count);
        second.sseEvents(count);
    }

    @Override
    public void bytes(long in, long out) {
        first.bytes(in, out);
        second.bytes(in, out);
    }

    @Override
    public void tokens(String model, String user, long promptTokens, long outputTokens) {
        first.tokens(model, user, promptTokens, outputTokens);
        second.tokens(model, user, promptTokens, outputTokens);
    }
}
