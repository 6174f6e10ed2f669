package io.gemgate.server.upstream;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.config.GatewayConfig;
import io.gemgate.server.internal.Transport;
import io.gemgate.core.egress.Exit;
import io.gemgate.core.egress.ProxySpec;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.handler.proxy.HttpProxyHandler;
import io.netty.handler.proxy.ProxyHandler;
import io.netty.handler.proxy.Socks5ProxyHandler;
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
import io.netty.resolver.NoopAddressResolverGroup;
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
 * Pooled keep-alive HTTP/1.1 connections to the Gemini API. A connection's pipeline is [proxy,] [TLS,] idle timer and
 * {@link UpstreamHandler}, which reads responses itself ({@link ResponseDecoder}); requests go out as plain buffers
 * ({@link RequestHead} and the body), so there is no HTTP codec object in between. One {@link UpstreamPool} per event
 * loop and exit: a request's upstream connection lives on its client connection's loop, so nothing is shared between
 * threads, and a connection through one exit never carries a key pinned to another.
 *
 * <p>Through an {@link Exit}, the connection is made to the proxy, which opens the tunnel (HTTP {@code CONNECT}, RFC
 * 9110 section 9.3.6, or SOCKS5, RFC 1928) to the upstream's host and port; TLS to the upstream then runs inside the
 * tunnel with the upstream's name for SNI and hostname verification, as direct. A connection is handed out only once
 * its tunnel is open, so a refusing proxy fails the acquire ({@link ExitConnectException}) and not the request's key.
 */
public final class UpstreamClient implements AutoCloseable {
    static final String IDLE = "upstream-idle";
    static final String HANDLER = "upstream-handler";
    /** The connection's {@link UpstreamHandler}: found per request without a walk of the pipeline by name. */
    private static final AttributeKey<UpstreamHandler> HANDLER_OF = AttributeKey.valueOf("gemgate.upstream.handler");
    static final String TLS = "upstream-tls";
    static final String PROXY = "upstream-proxy";
    /** The proxy's resolved address, set on a channel through an exit before its initializer runs. */
    private static final AttributeKey<InetSocketAddress> PROXY_AT = AttributeKey.valueOf("gemgate.upstream.proxyAt");

    private final GatewayConfig.Upstream cfg;
    private final String host;
    private final int port;
    private final String hostHeader;
    private final SslContext ssl;
    private final AddressResolverGroup<InetSocketAddress> resolver;
    /** Resolves proxy host names (the upstream's name is the proxy's to resolve). */
    private final AddressResolverGroup<InetSocketAddress> proxyResolver;
    private final List<UpstreamPool> pools = new CopyOnWriteArrayList<>();
    private final FastThreadLocal<UpstreamPool> poolOfLoop = new FastThreadLocal<>();
    /** Per loop, the pools of the exits, indexed by {@link Exit#index()}; grown when an exit appears. */
    private final FastThreadLocal<UpstreamPool[]> exitPoolsOfLoop = new FastThreadLocal<>();

    /**
     * @param sslOverride the TLS context to use instead of the default (system trust, or the CA certificates of
     *                    {@code upstream.trustCertificates}; hostname verification either way); tests pass one that
     *                    trusts their own certificate. Null: the default.
     */
    public UpstreamClient(GatewayConfig.Upstream cfg, SslContext sslOverride) throws SSLException {
        this.cfg = requireNonNull(cfg, "cfg");
        this.host = cfg.url().getHost();
        this.port = cfg.port();
        boolean defaultPort = cfg.url().getPort() < 0;
        this.hostHeader = defaultPort ? host : host + ":" + port;
        this.ssl = !cfg.isTls() ? null : sslOverride != null ? sslOverride
                : defaultSsl(cfg.egress().trustCertificates());
        this.resolver = NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host)
                ? DefaultAddressResolverGroup.INSTANCE // literal address: nothing to look up, nothing blocks
                : dnsResolver();
        // Proxies (a key's own too) may be named by host: resolved without blocking (an address literal is used as
        // is). The group makes a resolver per loop only when a proxy is first connected to.
        this.proxyResolver = resolver != DefaultAddressResolverGroup.INSTANCE ? resolver : dnsResolver();
    }

    private static AddressResolverGroup<InetSocketAddress> dnsResolver() {
        return new DnsAddressResolverGroup(new DnsNameResolverBuilder()
                .datagramChannelType(Transport.isEpoll()
                        ? io.netty.channel.epoll.EpollDatagramChannel.class
                        : io.netty.channel.socket.nio.NioDatagramChannel.class)
                .socketChannelType(Transport.socketChannel()));
    }

    /**
     * @param trustPem CA certificates (PEM) trusted instead of the system's, or null. Hostname verification stays on:
     *                 Netty 4.2 turns endpoint identification on by default for client contexts.
     */
    private static SslContext defaultSsl(java.nio.file.Path trustPem) throws SSLException {
        SslProvider provider = OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
        SslContextBuilder b = SslContextBuilder.forClient().sslProvider(provider).protocols("TLSv1.3", "TLSv1.2")
                .endpointIdentificationAlgorithm("HTTPS");
        if (trustPem != null) {
            try {
                b.trustManager(trustPem.toFile());
            } catch (IllegalArgumentException e) {
                throw new io.gemgate.core.config.ConfigException("upstream.trustCertificates: "
                        + trustPem.toAbsolutePath() + " holds no PEM certificate");
            }
        }
        try {
            return b.build();
        } catch (SSLException | IllegalArgumentException e) {
            if (trustPem == null) {
                throw e;
            }
            throw new io.gemgate.core.config.ConfigException("upstream.trustCertificates: "
                    + trustPem.toAbsolutePath() + " holds no usable PEM certificate (" + e.getMessage() + ")");
        }
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
     * A connection through {@code exit} (null: direct) for this event loop's pool of that exit. Must be called on
     * {@code loop}. A proxy that refuses or does not open the tunnel in time fails the future with an
     * {@link ExitConnectException}.
     *
     * @param nowNanos {@link System#nanoTime()}, read by the caller
     */
    public Future<Channel> acquire(EventLoop loop, long nowNanos, Exit exit) {
        return exit == null ? pool(loop).acquire(nowNanos) : pool(loop, exit).acquire(nowNanos);
    }

    /**
     * Opens a tunnel through {@code exit} to the upstream and closes it again: the exit's background check. The
     * future succeeds when the proxy opened the tunnel, and fails with the reason otherwise. Any thread.
     */
    public Future<Void> check(EventLoop loop, Exit exit) {
        io.netty.util.concurrent.Promise<Void> result = loop.newPromise();
        loop.execute(() -> connectThrough(loop, bootstrap(loop, exit, true), exit).addListener(c -> {
            if (!c.isSuccess()) {
                result.tryFailure(c.cause());
                return;
            }
            ChannelFuture cf = (ChannelFuture) c.getNow();
            cf.addListener(f -> {
                if (!f.isSuccess()) {
                    result.tryFailure(ExitConnectException.of(exit, f.cause()));
                    return;
                }
                ProxyHandler ph = cf.channel().pipeline().get(ProxyHandler.class);
                ph.connectFuture().addListener(t -> {
                    cf.channel().close();
                    if (t.isSuccess()) {
                        result.trySuccess(null);
                    } else {
                        result.tryFailure(ExitConnectException.of(exit, t.cause()));
                    }
                });
            });
        }));
        return result;
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
            p = new UpstreamPool(loop, bootstrap(loop, null, false), cfg, null, this);
            poolOfLoop.set(p);
            pools.add(p);
        }
        return p;
    }

    private UpstreamPool pool(EventLoop loop, Exit exit) {
        assert loop.inEventLoop();
        UpstreamPool[] ps = exitPoolsOfLoop.get();
        int i = exit.index();
        if (ps == null || i >= ps.length) {
            ps = ps == null ? new UpstreamPool[Math.max(4, i + 1)] : java.util.Arrays.copyOf(ps, Math.max(i + 1,
                    ps.length * 2));
            exitPoolsOfLoop.set(ps);
        }
        UpstreamPool p = ps[i];
        if (p == null) {
            p = new UpstreamPool(loop, bootstrap(loop, exit, false), cfg, exit, this);
            ps[i] = p;
            pools.add(p);
        }
        return p;
    }

    /** Open connections through the exit, over all loops. */
    public int openConnections(Exit exit) {
        int n = 0;
        for (UpstreamPool p : pools) {
            if (p.exit() == exit) {
                n += p.open();
            }
        }
        return n;
    }

    /**
     * @param checkOnly a connection that only opens the tunnel (the exit's background check): the proxy handler and a
     *                  last handler that closes on any error, no TLS, no HTTP
     */
    private Bootstrap bootstrap(EventLoop loop, Exit exit, boolean checkOnly) {
        long streamIdle = cfg.streamIdleTimeout().toMillis();
        InetSocketAddress upstreamAddress = InetSocketAddress.createUnresolved(host, port);
        ProxySpec proxy = exit == null ? null : exit.spec();
        return new Bootstrap()
                .group(loop)
                .channel(Transport.socketChannel())
                // Through a proxy, the proxy handler connects the socket to the proxy's address (resolved before, see
                // connectThrough) and puts the upstream's name in the tunnel request unresolved: the proxy resolves
                // it (SOCKS5's domain-name address type, RFC 1928 section 5). Nothing to resolve here then.
                .resolver(proxy == null ? resolver : NoopAddressResolverGroup.INSTANCE)
                .remoteAddress(upstreamAddress)
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
                        if (proxy != null) {
                            ProxyHandler ph = proxyHandler(proxy, ch.attr(PROXY_AT).get());
                            ph.setConnectTimeoutMillis(cfg.connectTimeout().toMillis());
                            p.addLast(PROXY, ph); // first: the TLS handshake's writes wait for the tunnel
                        }
                        if (checkOnly) {
                            p.addLast(HANDLER, CloseOnError.INSTANCE);
                            return;
                        }
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

    /**
     * Connects a new channel of {@code b} (a bootstrap of {@link #bootstrap(EventLoop, Exit, boolean)}) through the exit: the
     * proxy's host is resolved first without blocking (an address literal is taken as is), then the channel is
     * connected to it. The future fails with an {@link ExitConnectException} when the name does not resolve.
     */
    Future<ChannelFuture> connectThrough(EventLoop loop, Bootstrap b, Exit exit) {
        ProxySpec proxy = exit.spec();
        byte[] literal = NetUtil.createByteArrayFromIpAddressString(proxy.host());
        if (literal != null) {
            try {
                InetSocketAddress at = new InetSocketAddress(java.net.InetAddress.getByAddress(proxy.host(), literal),
                        proxy.port());
                return loop.newSucceededFuture(b.clone().attr(PROXY_AT, at).connect());
            } catch (java.net.UnknownHostException e) {
                return loop.newFailedFuture(ExitConnectException.of(exit, e));
            }
        }
        io.netty.util.concurrent.Promise<ChannelFuture> p = loop.newPromise();
        proxyResolver.getResolver(loop).resolve(InetSocketAddress.createUnresolved(proxy.host(), proxy.port()))
                .addListener(r -> {
                    if (r.isSuccess()) {
                        p.trySuccess(b.clone().attr(PROXY_AT, (InetSocketAddress) r.getNow()).connect());
                    } else {
                        p.tryFailure(ExitConnectException.of(exit, r.cause()));
                    }
                });
        return p;
    }

    /** Last handler of a check connection: an error (the proxy's refusal) closes it; the check's future says why. */
    @io.netty.channel.ChannelHandler.Sharable
    private static final class CloseOnError extends io.netty.channel.ChannelInboundHandlerAdapter {
        static final CloseOnError INSTANCE = new CloseOnError();

        @Override
        public void channelRead(io.netty.channel.ChannelHandlerContext ctx, Object msg) {
            io.netty.util.ReferenceCountUtil.release(msg); // nothing is expected through a check's tunnel
        }

        @Override
        public void exceptionCaught(io.netty.channel.ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private static ProxyHandler proxyHandler(ProxySpec proxy, InetSocketAddress at) {
        return switch (proxy.scheme()) {
            case HTTP -> proxy.hasCredentials()
                    ? new HttpProxyHandler(at, proxy.username(), proxy.password())
                    : new HttpProxyHandler(at);
            case SOCKS5 -> proxy.hasCredentials()
                    ? new Socks5ProxyHandler(at, proxy.username(), proxy.password())
                    : new Socks5ProxyHandler(at);
        };
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
        if (proxyResolver != resolver && proxyResolver != DefaultAddressResolverGroup.INSTANCE) {
            proxyResolver.close();
        }
    }
}
