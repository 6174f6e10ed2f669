package io.gemgate.server.upstream;

import io.gemgate.core.config.GatewayConfig;
import io.gemgate.core.egress.Exit;
import io.netty.handler.proxy.ProxyHandler;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayDeque;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The upstream connections of one event loop: idle ones kept LIFO (the warmest first), a bound on open connections,
 * and a bounded queue of waiters beyond it. Touched only on its loop, so it needs no locks.
 */
final class UpstreamPool {
    private final EventLoop loop;
    private final Bootstrap bootstrap;
    private final int maxConnections;
    private final int maxPending;
    private final long lifetimeNanos;
    private final long acquireTimeoutMillis;
    private final long idleTimeoutNanos;
    /** The pending sweep of connections idle too long, or null. */
    private ScheduledFuture<?> sweep;
    private final ArrayDeque<Channel> idle = new ArrayDeque<>();
    private final ArrayDeque<Promise<Channel>> pending = new ArrayDeque<>();
    private int open;
    private boolean draining;
    /** The exit its connections go through, or null: direct. */
    private final Exit exit;

    private final UpstreamClient client;

    UpstreamPool(EventLoop loop, Bootstrap bootstrap, GatewayConfig.Upstream cfg, Exit exit, UpstreamClient client) {
        this.exit = exit;
        this.client = client;
        this.loop = loop;
        this.bootstrap = bootstrap;
        this.maxConnections = cfg.maxConnectionsPerLoop();
        this.maxPending = cfg.maxPendingAcquires();
        // At most about 73 years, so that a retirement time stays comparable with nanoTime differences.
        this.lifetimeNanos = cfg.maxConnectionLifetime().compareTo(java.time.Duration.ofNanos(Long.MAX_VALUE / 4)) > 0
                ? Long.MAX_VALUE / 4 : cfg.maxConnectionLifetime().toNanos();
        this.acquireTimeoutMillis = cfg.connectTimeout().toMillis();
        this.idleTimeoutNanos = cfg.poolIdleTimeout().toNanos();
    }

    int open() {
        return open;
    }

    Exit exit() {
        return exit;
    }

    /** @param nowNanos {@link System#nanoTime()}, read by the caller (who needs it too) */
    Future<Channel> acquire(long nowNanos) {
        if (draining) {
            return loop.newFailedFuture(new PoolExhaustedException("upstream pool is shutting down"));
        }
        Channel ch;
        while ((ch = idle.pollLast()) != null) {
            UpstreamHandler h = UpstreamClient.handler(ch);
            if (ch.isActive() && h != null && !h.isRetired(nowNanos)) {
                return loop.newSucceededFuture(use(ch, h));
            }
            ch.close();
        }
        if (open < maxConnections) {
            return connect(loop.newPromise());
        }
        if (pending.size() >= maxPending) {
            return loop.newFailedFuture(new PoolExhaustedException(
                    "all " + maxConnections + " upstream connections busy and " + maxPending + " requests waiting"));
        }
        Promise<Channel> p = loop.newPromise();
        pending.add(p);
        // A waiter gives up after the connect timeout rather than queueing behind long streams forever.
        var timeout = loop.schedule(() -> {
            if (pending.remove(p)) {
                p.tryFailure(new PoolExhaustedException("no upstream connection free within "
                        + acquireTimeoutMillis + "ms (" + maxConnections + " busy)"));
            }
        }, acquireTimeoutMillis, TimeUnit.MILLISECONDS);
        p.addListener(f -> timeout.cancel(false));
        return p;
    }

    /** @param nowNanos {@link System#nanoTime()}, read by the caller */
    void release(Channel ch, UpstreamHandler h, boolean reusable, long nowNanos) {
        assert loop.inEventLoop();
        if (!reusable || draining || !ch.isActive() || h.isRetired(nowNanos)) {
            ch.close();
            return;
        }
        // Keep a read asked for: the socket's read interest then stays on between requests instead of being switched
        // off after each answer and on for the next (two epoll_ctl calls per request), and a connection the
        // upstream closes, or one that sends stray bytes, is noticed while it idles (UpstreamHandler closes it).
        ch.read();
        Promise<Channel> waiter;
        while ((waiter = pending.poll()) != null) {
            if (waiter.trySuccess(use(ch, h))) {
                return;
            }
        }
        h.idleSinceNanos = nowNanos;
        idle.addLast(ch);
        if (sweep == null && idleTimeoutNanos > 0) {
            sweep = loop.schedule(this::sweep, idleTimeoutNanos, TimeUnit.NANOSECONDS);
        }
    }

    /**
     * Closes the connections idle longer than the pool idle timeout. Idle connections are taken from the back (the
     * warmest), so the front holds the longest idle: the sweep closes from the front until one is young enough, then
     * comes back when that one would be due. One timer per pool, not one per connection or per request.
     */
    private void sweep() {
        sweep = null;
        long now = System.nanoTime();
        Channel ch;
        while ((ch = idle.peekFirst()) != null) {
            UpstreamHandler h = UpstreamClient.handler(ch);
            long age = h == null ? Long.MAX_VALUE : now - h.idleSinceNanos;
            if (age < idleTimeoutNanos) {
                sweep = loop.schedule(this::sweep, idleTimeoutNanos - age, TimeUnit.NANOSECONDS);
                return;
            }
            idle.pollFirst();
            ch.close();
        }
    }

    private static Channel use(Channel ch, UpstreamHandler h) {
        h.uses++;
        return ch;
    }

    private Future<Channel> connect(Promise<Channel> promise) {
        open++;
        if (exit == null) {
            connect(bootstrap.connect(), promise);
            return promise;
        }
        Future<ChannelFuture> resolved = client.connectThrough(loop, bootstrap, exit);
        if (resolved.isDone()) {
            connected(resolved, promise);
        } else {
            resolved.addListener(f -> connected(resolved, promise));
        }
        return promise;
    }

    /** The proxy's address resolved (or not): the connection is being made, or the slot is given back. */
    private void connected(Future<ChannelFuture> resolved, Promise<Channel> promise) {
        if (resolved.isSuccess()) {
            connect(resolved.getNow(), promise);
            return;
        }
        promise.tryFailure(resolved.cause());
        open--;
        Promise<Channel> waiter = pending.poll();
        if (waiter != null) {
            waiter.tryFailure(resolved.cause()); // the same name would not resolve for it either, now
        }
    }

    private void connect(ChannelFuture cf, Promise<Channel> promise) {
        Channel ch = cf.channel();
        ch.closeFuture().addListener(f -> onClosed(ch));
        cf.addListener(f -> {
            if (f.isSuccess() && exit != null) {
                // Through a proxy: the connection is handed out once the tunnel is open, so that a refusal is the
                // exit's (ExitConnectException), seen before any request byte is sent.
                ProxyHandler ph = ch.pipeline().get(ProxyHandler.class);
                ph.connectFuture().addListener(t -> {
                    if (t.isSuccess()) {
                        connected(ch, promise);
                    } else {
                        ch.close();
                        promise.tryFailure(ExitConnectException.of(exit, t.cause()));
                    }
                });
            } else if (f.isSuccess()) {
                connected(ch, promise);
            } else {
                promise.tryFailure(exit == null ? f.cause() : ExitConnectException.of(exit, f.cause()));
            }
        });
    }

    private void connected(Channel ch, Promise<Channel> promise) {
        UpstreamHandler h = UpstreamClient.handler(ch); // the channel's initializer has run
        h.pool = this;
        long now = System.nanoTime();
        long jitter = lifetimeNanos / 10 == 0 ? 0 : ThreadLocalRandom.current().nextLong(lifetimeNanos / 10);
        h.retireAtNanos = now + lifetimeNanos - jitter;
        if (!promise.trySuccess(use(ch, h))) {
            release(ch, h, true, now);
        }
    }

    private void onClosed(Channel ch) {
        open--;
        idle.remove(ch);
        // A slot freed: start a connection for the oldest waiter.
        Promise<Channel> waiter = pending.poll();
        if (waiter != null && !draining) {
            connect(waiter);
        } else if (waiter != null) {
            waiter.tryFailure(new PoolExhaustedException("upstream pool is shutting down"));
        }
    }

    /** Closes idle connections now and every other one when it comes back; fails the waiters. Runs on the loop. */
    void drain() {
        if (!loop.inEventLoop()) {
            loop.execute(this::drain);
            return;
        }
        draining = true;
        Promise<Channel> waiter;
        while ((waiter = pending.poll()) != null) {
            waiter.tryFailure(new PoolExhaustedException("upstream pool is shutting down"));
        }
        Channel ch;
        while ((ch = idle.pollLast()) != null) {
            ch.close();
        }
    }
}
