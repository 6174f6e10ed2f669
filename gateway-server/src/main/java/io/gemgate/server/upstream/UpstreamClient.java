package io.gemgate.server.upstream;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.config.GatewayConfig;
import io.gemgate.server.internal.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.DefaultAddressResolverGroup;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.util.AttributeKey;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.Future;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * Pooled keep-alive HTTP/1.1 connections to the Gemini API. A connection's pipeline is [TLS,] idle timer and
 * {@link UpstreamHandler}, which reads responses itself ({@link ResponseDecoder}); requests go out as plain buffers
 * ({@link RequestHead} and the body), so there is no HTTP codec object in between. One {@link UpstreamPool} per event loop: a request's
 * upstream connection lives on its client connection's loop, so nothing is shared between threads.
 */
public final class UpstreamClient implements AutoCloseable {
    static final String IDLE = "upstream-idle";
    static final String HANDLER = "upstream-handler";
    /** The connection's {@link UpstreamHandler}: found per request without a walk of the pipeline by name. */
    private static final AttributeKey<UpstreamHandler> HANDLER_OF = AttributeKey.valueOf("gemgate.upstream.handler");
    static final String TLS = "upstream-tls";

    private final GatewayConfig.Upstream cfg;
    private final String host;
    private final int port;
    private final String hostHeader;
    private final SslContext ssl;
    private final AddressResolverGroup<InetSocketAddress> resolver;
    private final List<UpstreamPool> pools = new CopyOnWriteArrayList<>();
    private final FastThreadLocal<UpstreamPool> poolOfLoop = new FastThreadLocal<>();

    /**
     * @param sslOverride the TLS context to use instead of the default (system trust, hostname verification); tests
     *                    pass one that trusts their own certificate. Null: the default.
     */
    public UpstreamClient(GatewayConfig.Upstream cfg, SslContext sslOverride) throws SSLException {
        this.cfg = requireNonNull(cfg, "cfg");
        this.host = cfg.url().getHost();
        this.port = cfg.port();
        boolean defaultPort = cfg.url().getPort() < 0;
        this.hostHeader = defaultPort ? host : host + ":" + port;
        this.ssl = !cfg.isTls() ? null : sslOverride != null ? sslOverride : defaultSsl();
        this.resolver = NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host)
                ? DefaultAddressResolverGroup.INSTANCE // literal address: nothing to look up, nothing blocks
                : new DnsAddressResolverGroup(new DnsNameResolverBuilder()
                        .datagramChannelType(Transport.isEpoll()
                                ? io.netty.channel.epoll.EpollDatagramChannel.class
                                : io.netty.channel.socket.nio.NioDatagramChannel.class)
                        .socketChannelType(Transport.socketChannel()));
    }

    private static SslContext defaultSsl() throws SSLException {
        SslProvider provider = OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
        return SslContextBuilder.forClient().sslProvider(provider).protocols("TLSv1.3", "TLSv1.2").build();
    }

    /** The value of the {@code Host} header for upstream requests. */
    public String hostHeader() {
        return hostHeader;
    }

    /** A connection for this event loop's pool. Must be called on {@code loop}. */
    public Future<Channel> acquire(EventLoop loop) {
        return acquire(loop, System.nanoTime());
    }

    /**
     * A connection for this event loop's pool. Must be called on {@code loop}.
     *
     * @param nowNanos {@link System#nanoTime()} (the caller read it already: one clock read less per request)
     */
    public Future<Channel> acquire(EventLoop loop, long nowNanos) {
        return pool(loop).acquire(nowNanos);
    }

    /**
     * Gives a connection back once its response was read to the end; closes it otherwise.
     *
     * @param reusable true when the whole response was read and the upstream did not ask to close
     */
    public void release(Channel ch, boolean reusable) {
        release(ch, reusable, System.nanoTime());
    }

    /**
     * Gives a connection back once its response was read to the end; closes it otherwise.
     *
     * @param reusable true when the whole response was read and the upstream did not ask to close
     * @param nowNanos {@link System#nanoTime()}, read by the caller
     */
    public void release(Channel ch, boolean reusable, long nowNanos) {
        UpstreamHandler h = handler(ch);
        UpstreamPool p = h == null ? null : h.pool;
        if (p == null) {
            ch.close();
            return;
        }
        p.release(ch, h, reusable, nowNanos);
    }

    /** Attaches the listener that receives this connection's next response. */
    public static void attach(Channel ch, UpstreamListener l) {
        attach(ch, l, false);
    }

    /**
     * Attaches the listener that receives this connection's next response.
     *
     * @param headRequest the request is a HEAD (its answer has no body)
     */
    public static void attach(Channel ch, UpstreamListener l, boolean headRequest) {
        ch.attr(HANDLER_OF).get().attach(l, headRequest);
    }

    /** Detaches the listener; true when the response was read to its end. */
    public static boolean detach(Channel ch) {
        UpstreamHandler h = ch.attr(HANDLER_OF).get();
        return h != null && h.detach();
    }

    /** True when the connection served a request before (so a failure before the head may be a stale keep-alive). */
    public static boolean wasReused(Channel ch) {
        UpstreamHandler h = handler(ch);
        return h != null && h.uses > 1;
    }

    static UpstreamHandler handler(Channel ch) {
        return ch.attr(HANDLER_OF).get();
    }

    /** Open connections over all loops. */
    public int openConnections() {
        int n = 0;
        for (UpstreamPool p : pools) {
            n += p.open();
        }
        return n;
    }

    private UpstreamPool pool(EventLoop loop) {
        assert loop.inEventLoop();
        UpstreamPool p = poolOfLoop.get();
        if (p == null) {
            p = new UpstreamPool(loop, bootstrap(loop), cfg);
            poolOfLoop.set(p);
            pools.add(p);
        }
        return p;
    }

    private Bootstrap bootstrap(EventLoop loop) {
        long streamIdle = cfg.streamIdleTimeout().toMillis();
        return new Bootstrap()
                .group(loop)
                .channel(Transport.socketChannel())
                .resolver(resolver)
                .remoteAddress(InetSocketAddress.createUnresolved(host, port))
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE,
                        cfg.connectTimeout().toMillis()))
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(64 * 1024, 256 * 1024))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ChannelPipeline p = ch.pipeline();
                        if (ssl != null) {
                            SslHandler tls = ssl.newHandler(ch.alloc(), host, port); // SNI + hostname check
                            tls.setHandshakeTimeoutMillis(cfg.connectTimeout().toMillis());
                            p.addLast(TLS, tls);
                        }
                        // Reader idleness only: a writer or all-idle timer would add a listener to every write. How
                        // long a connection idles in the pool is the pool's to watch (UpstreamPool#sweep).
                        p.addLast(IDLE, new IdleStateHandler(streamIdle, 0, 0, TimeUnit.MILLISECONDS));
                        UpstreamHandler handler = new UpstreamHandler();
                        p.addLast(HANDLER, handler);
                        ch.attr(HANDLER_OF).set(handler);
                    }
                });
    }

    /** Closes every pooled connection, each on its own loop. */
    @Override
    public void close() {
        for (UpstreamPool p : pools) {
            p.drain();
        }
        if (resolver != DefaultAddressResolverGroup.INSTANCE) {
            resolver.close();
        }
    }
}
