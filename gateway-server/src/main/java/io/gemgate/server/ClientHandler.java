package io.gemgate.server;

import io.gemgate.core.metrics.GatewayEvents;
import io.gemgate.core.route.NativePath;
import io.gemgate.core.tokens.Admission;
import io.gemgate.core.tokens.UserToken;
import io.gemgate.server.admin.AdminPage;
import io.gemgate.server.proxy.Exchange;
import io.gemgate.server.proxy.NativeExchange;
import io.gemgate.server.proxy.OpenAiResponses;
import io.gemgate.core.openai.OpenAiError;
import io.gemgate.core.openai.OpenAiErrors;
import io.gemgate.core.openai.OpenAiRequestException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The last handler of a client connection: checks each request's framing, limits and token, collects its body (kept
 * whole so that it can be replayed on the next key) and hands it to a {@link Exchange}. One request at a time: auto-read
 * is off and the {@code FlowControlHandler} before this one delivers one message per read; a request that arrives while
 * an answer is under way (pipelining) is held, and handled when that answer is complete ({@link #exchangeDone}).
 *
 * <p>Timers: waiting for a request head longer than the idle timeout closes the connection; a request whose body is
 * not complete within the request read timeout gets 408 and the connection closes. Both are deadlines kept in fields
 * and checked by one wake-up task per connection that is never scheduled later than the shorter of the two timeouts
 * from when it was scheduled: any idle or read deadline set afterwards falls after it, so setting or clearing a
 * deadline per request touches no timer queue (schedule and cancel per request cost more than the check).
 */
public final class ClientHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LogManager.getLogger(ClientHandler.class);
    /** How long a connection closing after an error keeps draining the client's input. */
    private static final long LINGER_MILLIS = 2_000;
    private static final int NO_DEADLINE = 0;
    /** Waiting for the next request head. */
    private static final int IDLE = 1;
    /** Reading a request's head and body. */
    private static final int READ = 2;
    /** Draining input before a lingering close. */
    private static final int LINGER = 3;
    /** The current exchange waiting for its upstream answer's head. */
    private static final int EXCHANGE = 4;
    /** A request head begun but not complete (bytes arrived while idle). */
    private static final int HEAD = 5;

    private final GatewayContext gw;
    /** The connection's codec, told whether each request is a HEAD; null in handler tests without one. */
    private final ServerCodec codec;
    /** Where raw response bytes are written: the first context, so that they pass no encoder. */
    private ChannelHandlerContext raw;
    /** The admin page's files, shared by every connection. */
    private static final AdminPage page = new AdminPage();
    private ChannelHandlerContext ctx;
    private HttpRequest request;
    /** The request body so far: null before its first piece, the piece itself, then a composite of the pieces. */
    private ByteBuf body;
    private String path;
    private String query;
    /**
     * The current request, for the access line of an answer the gateway gives itself (made only then: proxied
     * requests get theirs from the exchange); null when the access log is off or the line was written.
     */
    private HttpRequest logRequest;
    /** When the current request's head arrived ({@link System#nanoTime()}), for the access log. */
    private long headNanos;
    /** Access-Control-Allow-Origin of the current request's answers, or null (no Origin, not allowed, not API). */
    private String corsOrigin;
    /** The same as raw header lines, for the pass-through's own head; made when first asked for. */
    private byte[] corsFields;
    private static final byte[] CORS_ANY = ("access-control-allow-origin: *\r\n"
            + "access-control-expose-headers: *\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private String clientToken;
    /** The user token of the current request; null when the shared token was presented. */
    private UserToken user;
    private boolean keepAlive;
    private Route route;
    /** Errors on this request go out in OpenAI's shape (else Google's). */
    private boolean openAiShape;
    private Exchange exchange;
    /** A message that arrived while {@link #exchange} was under way (a pipelined request), or null. */
    private Object held;
    /** What {@link #deadlineNanos} is for: one of {@link #NO_DEADLINE}, {@link #IDLE}, {@link #READ}, {@link #LINGER}. */
    private int deadlineKind;
    private long deadlineNanos;
    /** The pending wake-up, or null, and when it runs ({@link System#nanoTime()}). */
    private ScheduledFuture<?> wake;
    private long wakeNanos;
    /** After an error answer whose request body was not read: drop what comes, close once written. */
    private boolean closing;
    /** An admin write is applied and waits to be stored before it is answered; the next request is held. */
    private boolean adminPending;

    public ClientHandler(GatewayContext gw) {
        this(gw, null);
    }

    ClientHandler(GatewayContext gw, ServerCodec codec) {
        this.gw = gw;
        this.codec = codec;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        ChannelHandlerContext first = ctx.pipeline().context(PipelineNames.CONNECTIONS);
        this.raw = first != null ? first : ctx.pipeline().firstContext();
    }

    /**
     * The context that raw response bytes are written to: before the codec, so that they reach the socket as they
     * are. Only an exchange that writes a whole answer this way (head and body, its own framing) may use it; HTTP
     * objects go through the exchange's own context.
     */
    public ChannelHandlerContext raw() {
        return raw;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        armIdleTimer();
        ctx.read();
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (exchange != null || adminPending) {
            // The next request came before this answer ended (pipelining): held until exchangeDone. The flow control
            // handler delivers one message per read(), and none is asked for while one is held.
            if (held != null) {
                ReferenceCountUtil.release(msg); // cannot happen: no read() while one is held
                return;
            }
            held = msg;
            return;
        }
        try {
            if (msg instanceof HttpRequest req) {
                onHead(req);
            }
            if (msg instanceof HttpContent content && request != null && !closing) {
                onContent(content);
                return; // ownership of content passed on
            }
        } catch (RuntimeException e) {
            log.warn("request handling failed on {}: {}", ctx.channel().id(), e.toString(), e);
            respondAndClose(500, "internal error");
        }
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // Still collecting the head or the body, draining before a lingering close, or waiting for the upstream: a
        // read stays asked for while an answer is under way, so the socket's read interest is not switched off and
        // on again (two epoll_ctl calls per request); what arrives meanwhile is held (channelRead).
        if (held == null) {
            ctx.read();
        }
        // Bytes of a new request arrived but not its whole head: the request read timeout runs from now (unless the
        // idle deadline comes first), so a head trickled in byte by byte gets 408 like a slow body.
        if (deadlineKind == IDLE && request == null && exchange == null && codec != null && codec.isMidRequest()) {
            long now = System.nanoTime();
            long millis = gw.config().server().requestReadTimeout().toMillis();
            if (now + TimeUnit.MILLISECONDS.toNanos(millis) - deadlineNanos < 0) {
                deadline(HEAD, millis, now);
            }
        }
    }

    private void onHead(HttpRequest req) {
        clearDeadline();
        if (codec != null) {
            codec.headRequest(req.method().equals(HttpMethod.HEAD));
        }
        HttpVersion version = req.protocolVersion();
        route = null;
        openAiShape = false;
        clientToken = null;
        logRequest = null;
        if (AccessLog.isEnabled()) {
            headNanos = System.nanoTime();
            logRequest = req;
        }
        if (req.decoderResult().isFailure()) {
            Throwable cause = req.decoderResult().cause();
            if (cause instanceof TooLongHttpHeaderException) {
                respondAndClose(431, "request header fields too large");
            } else if (cause instanceof TooLongHttpLineException) {
                respondAndClose(414, "request line too long");
            } else if (cause instanceof TooLongFrameException) {
                respondAndClose(431, "request too large");
            } else {
                respondAndClose(400, "malformed request");
            }
            return;
        }
        // RFC 9110 §6.2: HTTP/1.0 and 1.1 only; the answer is HTTP/1.1 whatever the request line claimed.
        if (version.majorVersion() != 1 || version.minorVersion() > 1) {
            respondAndClose(505, "HTTP version not supported: send HTTP/1.1");
            return;
        }
        HttpMethod method = req.method();
        if (!isKnownMethod(method)) { // methods are case-sensitive (RFC 9110 §9.1): "get" is not GET
            respondAndClose(501, "method " + AccessLog.visible(method.name(), 32) + " is not implemented");
            return;
        }
        // Refuse ambiguous framing (request smuggling, RFC 9112 §6.3).
        if (req.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
                && req.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)) {
            respondAndClose(400, "both Content-Length and Transfer-Encoding");
            return;
        }
        String hostError = hostError(req);
        if (hostError != null) {
            respondAndClose(400, hostError);
            return;
        }
        String uri = RequestTarget.originForm(req.uri());
        if (uri == null) {
            respondAndClose(400, "invalid request target: visible ASCII only, no dot segments, encoded slashes or"
                    + " ';' in the path");
            return;
        }
        keepAlive = HttpUtil.isKeepAlive(req) && !gw.isShuttingDown();
        clientToken = presentedToken(req); // also for the access line of a refusal
        int q = uri.indexOf('?');
        path = q < 0 ? uri : uri.substring(0, q);
        query = q < 0 ? "" : uri.substring(q + 1);
        corsFor(req);
        if (method.equals(HttpMethod.OPTIONS) && Cors.isApiPath(path)) {
            respondPreflight(req);
            return;
        }

        if (path.equals("/health") || path.equals("/healthz")) {
            respondSimple(req, 200, "{\"status\":\"ok\"}");
            return;
        }
        if (path.equals("/metrics") && gw.metricsText() != null) {
            respondSimple(req, 200, gw.metricsText().get(), "text/plain; version=0.0.4; charset=utf-8");
            return;
        }
        if (path.equals("/ready")) {
            boolean ready = !gw.isShuttingDown() && gw.pool().hasUsableKey();
            respondSimple(req, ready ? 200 : 503, ready ? "{\"status\":\"ready\"}" : "{\"status\":\"not ready\"}");
            return;
        }
        if (path.equals("/admin") || (path.startsWith("/admin/") && !path.startsWith("/admin/api"))) {
            servePage(req);
            return;
        }
        if (method.equals(HttpMethod.TRACE) || method.equals(HttpMethod.CONNECT) || uri.equals("*")) {
            respondAndClose(uri.equals("*") && !method.equals(HttpMethod.OPTIONS) ? 400 : 405,
                    "no route for " + method + " " + path);
            return;
        }
        route = Route.of(req, path);
        if (route == Route.NATIVE && method.equals(HttpMethod.OPTIONS)) {
            route = Route.WRONG_METHOD;
        }
        if (route == Route.NOT_FOUND || route == Route.WRONG_METHOD) {
            openAiShape = Route.looksOpenAi(path);
            respondAndClose(route == Route.NOT_FOUND ? 404 : 405, "no route for " + req.method() + " " + path);
            return;
        }
        openAiShape = route.openAi;
        if (route == Route.ADMIN) {
            if (gw.admin() == null) {
                respondAndClose(404, "the admin API is off: set GEMGATE_ADMIN_TOKEN");
                return;
            }
            String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION);
            String bearer = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) ? auth.substring(7).trim() : null;
            clientToken = bearer;
            if (!gw.adminToken().matches(bearer)) {
                respondAndClose(401, bearer == null ? "missing admin token: send Authorization: Bearer"
                        : "invalid admin token");
                return;
            }
        } else {
            user = null;
            if (!gw.token().matches(clientToken)) {
                user = clientToken == null ? null : gw.tokens().authenticate(clientToken);
                if (user == null) {
                    respondAndClose(401, clientToken == null
                            ? "missing client token: send it as x-goog-api-key, ?key= or Authorization: Bearer"
                            : "invalid client token");
                    return;
                }
            }
        }
        long declared = HttpUtil.getContentLength(req, -1L);
        long max = gw.config().server().maxBodyBytes();
        if (declared > max) {
            respondAndClose(413, "request body of " + declared + " bytes exceeds the limit of " + max + " bytes");
            return;
        }
        if (HttpUtil.is100ContinueExpected(req)) {
            ctx.writeAndFlush(new DefaultFullHttpResponse(version, HttpResponseStatus.CONTINUE));
        }
        request = req;
        deadline(READ, gw.config().server().requestReadTimeout().toMillis());
    }

    /** Sets the CORS fields of this request's answers (none without an Origin, off the API routes, or not allowed). */
    private void corsFor(HttpRequest req) {
        String origin = req.headers().get(HttpHeaderNames.ORIGIN);
        String allow = origin == null || !Cors.isApiPath(path) ? null : gw.cors().allowOrigin(origin);
        if (allow == null && corsOrigin == null) {
            return;
        }
        corsOrigin = allow;
        corsFields = null;
        if (codec != null) {
            codec.cors(allow, gw.cors().variesByOrigin());
        }
    }

    /**
     * The current request's CORS fields as header lines ({@code Access-Control-Allow-Origin},
     * {@code Access-Control-Expose-Headers}, {@code Vary}), for an exchange that writes its head as bytes; null when
     * there are none. The caller must not change the array.
     */
    public byte[] corsFields() {
        if (corsOrigin == null) {
            return null;
        }
        if (corsFields == null) {
            corsFields = corsOrigin.equals("*") ? CORS_ANY : ("access-control-allow-origin: " + corsOrigin
                    + "\r\naccess-control-expose-headers: *\r\nvary: Origin\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        }
        return corsFields;
    }

    /**
     * OPTIONS on an API route. A CORS preflight (Origin and Access-Control-Request-Method) from an allowed origin gets
     * 204 with the methods and the headers it asked for (no token needed: browsers send none with a preflight); from
     * another origin 403. A plain OPTIONS gets 204 with Allow.
     */
    private void respondPreflight(HttpRequest req) {
        HttpHeaders h = req.headers();
        FullHttpResponse r = new DefaultFullHttpResponse(req.protocolVersion(), HttpResponseStatus.NO_CONTENT);
        if (h.contains(HttpHeaderNames.ORIGIN) && h.contains(HttpHeaderNames.ACCESS_CONTROL_REQUEST_METHOD)) {
            if (corsOrigin == null) {
                r.release();
                respondAndClose(403, "origin " + AccessLog.visible(h.get(HttpHeaderNames.ORIGIN), 200)
                        + " may not call this gateway from a browser (server.corsAllowOrigins)");
                return;
            }
            r.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_METHODS, Cors.METHODS)
                    .set(HttpHeaderNames.ACCESS_CONTROL_MAX_AGE, Cors.MAX_AGE)
                    .set(HttpHeaderNames.VARY, HttpHeaderNames.ACCESS_CONTROL_REQUEST_HEADERS);
            String asked = Cors.requestedHeaders(h.get(HttpHeaderNames.ACCESS_CONTROL_REQUEST_HEADERS));
            if (asked != null) {
                r.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_HEADERS, asked);
            }
        } else {
            r.headers().set(HttpHeaderNames.ALLOW, Cors.METHODS);
        }
        writeKeepingConnection(req, r);
    }

    /** The methods of HTTP (RFC 9110 §9, RFC 5789); any other name is answered 501 before it is routed. */
    private static boolean isKnownMethod(HttpMethod m) {
        return m.equals(HttpMethod.GET) || m.equals(HttpMethod.POST) || m.equals(HttpMethod.HEAD)
                || m.equals(HttpMethod.PUT) || m.equals(HttpMethod.DELETE) || m.equals(HttpMethod.PATCH)
                || m.equals(HttpMethod.OPTIONS) || m.equals(HttpMethod.TRACE) || m.equals(HttpMethod.CONNECT);
    }

    /**
     * Why the request's Host fields are unacceptable, or null (RFC 9112 §3.2: an HTTP/1.1 request has exactly one;
     * an HTTP/1.0 request at most one; its value is {@code host[:port]}).
     */
    private static String hostError(HttpRequest req) {
        java.util.Iterator<String> it = req.headers().valueStringIterator(HttpHeaderNames.HOST);
        if (!it.hasNext()) {
            return req.protocolVersion().equals(HttpVersion.HTTP_1_1) ? "missing Host header" : null;
        }
        String host = it.next();
        if (it.hasNext()) {
            return "more than one Host header";
        }
        return RequestTarget.isHost(host) ? null : "malformed Host header";
    }

    private static String presentedToken(HttpRequest req) {
        String t = req.headers().get(Route.X_GOOG_API_KEY);
        if (t != null && !t.isEmpty()) {
            return t;
        }
        String uri = req.uri();
        int q = uri.indexOf('?');
        if (q >= 0) {
            String k = NativePath.keyParam(uri.substring(q + 1));
            if (k != null && !k.isEmpty()) {
                return k;
            }
        }
        String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION);
        if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
            String b = auth.substring(7).trim();
            return b.isEmpty() ? null : b;
        }
        return null;
    }

    private void onContent(HttpContent content) {
        if (content.decoderResult().isFailure()) {
            // A chunk-size line, chunk end or trailer the decoder could not parse: the body's end is unknown. Nothing
            // of it is forwarded; the decoder drops whatever follows until the close.
            content.release();
            releaseBody();
            request = null;
            respondAndClose(400, "malformed chunked body");
            return;
        }
        gw.events().bytes(content.content().readableBytes(), 0);
        ByteBuf piece = content.content();
        if (body == null) {
            body = piece; // most bodies come in one piece: no composite
        } else if (body instanceof CompositeByteBuf c) {
            c.addComponent(true, piece);
        } else {
            body = ctx.alloc().compositeBuffer(1024).addComponents(true, body, piece);
        }
        if (body.readableBytes() > gw.config().server().maxBodyBytes()) {
            releaseBody();
            request = null;
            respondAndClose(413, "request body exceeds the limit of " + gw.config().server().maxBodyBytes()
                    + " bytes");
            return;
        }
        if (content instanceof LastHttpContent) {
            clearDeadline();
            HttpRequest req = request;
            ByteBuf b = body;
            request = null;
            body = null;
            dispatch(req, b);
        }
    }

    /** Hands a complete request to the exchange of its route; the body's ownership passes. */
    private void dispatch(HttpRequest req, ByteBuf b) {
        if (route == Route.ADMIN) {
            admin(req, b);
            return;
        }
        Exchange e;
        try {
            e = switch (route) {
                case NATIVE -> new NativeExchange(gw, this, ctx, req, b, path, NativePath.withoutKey(query), keepAlive);
                default -> OpenAiRoutes.exchange(route, gw, this, ctx, req, b, path, keepAlive);
            };
        } catch (OpenAiRequestException bad) {
            // OpenAiRoutes released the body (it always does). No refCnt() guard here: a body taken from the read
            // buffer is a retained slice whose refCnt() is its parent's, so the guard passed and released it twice.
            respondOpenAi(req.protocolVersion(), OpenAiErrors.of(bad));
            return;
        }
        String model = e.modelName();
        if (!model.equals(io.gemgate.core.keys.KeyPool.ANY_MODEL) && !gw.settings().isModelAllowed(model)) {
            e.abandon();
            respondRejected(req.protocolVersion(), 403, "model " + model + " is not allowed on this gateway", -1);
            return;
        }
        if (user != null) {
            Admission a = gw.limiter().admit(user, model, gw.now());
            if (!a.isAccepted()) {
                e.abandon();
                respondRejected(req.protocolVersion(), a.status(), a.message(), a.retryAfterSeconds());
                return;
            }
            e.user(user);
        }
        gw.inFlight().increment();
        gw.events().requestStarted(route.label);
        exchange = e;
        e.start();
    }

    /** The admin page's static files (GET only); no token needed: the page asks for one and calls the API with it. */
    private void servePage(HttpRequest req) {
        if (!req.method().equals(io.netty.handler.codec.http.HttpMethod.GET)
                && !req.method().equals(io.netty.handler.codec.http.HttpMethod.HEAD)) {
            respondAndClose(405, "the admin page is read with GET");
            return;
        }
        if (path.equals("/admin")) {
            FullHttpResponse r = new io.netty.handler.codec.http.DefaultFullHttpResponse(req.protocolVersion(),
                    HttpResponseStatus.MOVED_PERMANENTLY);
            r.headers().set(HttpHeaderNames.LOCATION, "/admin/").setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
            writeKeepingConnection(req, r);
            return;
        }
        AdminPage.File f = page.find(path);
        if (f == null) {
            respondAndClose(404, "no admin page file " + path);
            return;
        }
        FullHttpResponse r = new io.netty.handler.codec.http.DefaultFullHttpResponse(req.protocolVersion(),
                HttpResponseStatus.OK, io.netty.buffer.Unpooled.wrappedBuffer(f.bytes()));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, f.contentType())
                .setInt(HttpHeaderNames.CONTENT_LENGTH, f.bytes().length)
                .set(HttpHeaderNames.CACHE_CONTROL, f.immutable() ? "public, max-age=86400" : "no-cache")
                .set("x-content-type-options", "nosniff")
                .set("x-frame-options", "DENY")
                .set("referrer-policy", "no-referrer")
                .set("content-security-policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                        + "script-src 'self'; connect-src 'self'; frame-ancestors 'none'");
        writeKeepingConnection(req, r);
    }

    private void writeKeepingConnection(HttpRequest req, FullHttpResponse r) {
        logAnswer(r.status().code());
        boolean hasBody = HttpUtil.getContentLength(req, 0L) > 0 || HttpUtil.isTransferEncodingChunked(req);
        if (hasBody || !keepAlive) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            closing = true;
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        if (req.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        ctx.writeAndFlush(r);
        armIdleTimer();
    }

    /** Answers an admin API call (its body read whole) on the event loop; the connection stays open. */
    private void admin(HttpRequest req, ByteBuf b) {
        byte[] bytes = io.netty.buffer.ByteBufUtil.getBytes(b);
        b.release();
        io.gemgate.server.admin.AdminResponse a;
        try {
            a = gw.admin().handle(req.method().name(), path, query, bytes);
        } catch (RuntimeException e) {
            log.warn("admin API {} {} failed", req.method(), path, e);
            a = io.gemgate.server.admin.AdminResponse.error(500, "internal error: " + e.getClass().getSimpleName(), null);
        }
        gw.events().requestRejected(GatewayEvents.ADMIN, a.status());
        if (a.status() < 400 && isWrite(req.method())) {
            // An admin write (a key, a token and its one-time secret, a setting, a removal) is answered only once it
            // is stored: written and synced to the state file, and sent to Redis when shared. Stored off the loop.
            adminPending = true;
            HttpVersion version = req.protocolVersion();
            io.gemgate.server.admin.AdminResponse answer = a;
            gw.storeNow().whenComplete((ok, failed) -> ctx.executor().execute(() -> adminStored(version, answer,
                    failed)));
            return;
        }
        adminAnswer(req.protocolVersion(), a);
    }

    private static boolean isWrite(HttpMethod m) {
        return m.equals(HttpMethod.POST) || m.equals(HttpMethod.PUT) || m.equals(HttpMethod.PATCH)
                || m.equals(HttpMethod.DELETE);
    }

    /** The admin write is stored (or could not be): its answer goes out, then any request held meanwhile. */
    private void adminStored(HttpVersion version, io.gemgate.server.admin.AdminResponse a, Throwable failed) {
        adminPending = false;
        if (!ctx.channel().isActive()) {
            return; // channelInactive released what was held
        }
        if (failed != null) {
            Throwable cause = failed instanceof java.util.concurrent.CompletionException && failed.getCause() != null
                    ? failed.getCause() : failed;
            a = io.gemgate.server.admin.AdminResponse.error(500, "the change is applied but could not be stored: "
                    + cause.getMessage(), null);
        }
        adminAnswer(version, a);
        if (closing) {
            return;
        }
        Object next = held;
        if (next == null) {
            ctx.read();
            return;
        }
        held = null;
        channelRead(ctx, next);
        if (exchange == null && held == null && !adminPending) {
            ctx.read(); // the held message was a head: its body is still to come
        }
    }

    private void adminAnswer(HttpVersion version, io.gemgate.server.admin.AdminResponse a) {
        logAnswer(a.status());
        FullHttpResponse r = Responses.json(ctx.alloc(), version, a.status(), "");
        r.content().clear().writeBytes(a.json());
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, a.json().length)
                .set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        if (!keepAlive) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            closing = true;
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        ctx.writeAndFlush(r);
        armIdleTimer();
    }

    /** Refuses a request whose body was read whole (a user token's limit), in the route's shape; keeps the connection. */
    private void respondRejected(HttpVersion version, int code, String message, long retryAfterSeconds) {
        if (route.openAi) {
            respondOpenAi(version, OpenAiResponses.gatewayError(code, message, retryAfterSeconds));
            return;
        }
        gw.events().requestRejected(route.label, code);
        logAnswer(code);
        FullHttpResponse r = Responses.googleError(ctx.alloc(), version, code, message);
        if (retryAfterSeconds > 0) {
            r.headers().set(HttpHeaderNames.RETRY_AFTER, retryAfterSeconds);
        }
        if (!keepAlive) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            closing = true;
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        ctx.writeAndFlush(r);
        armIdleTimer();
    }

    /** An OpenAI-shaped answer to a request whose body was read whole: the connection stays open. */
    private void respondOpenAi(HttpVersion version, OpenAiError error) {
        gw.events().requestRejected(route.label, error.status());
        logAnswer(error.status());
        FullHttpResponse r = OpenAiResponses.error(ctx.alloc(), version, error);
        if (!keepAlive) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            closing = true;
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        if (version.equals(HttpVersion.HTTP_1_0)) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        ctx.writeAndFlush(r);
        armIdleTimer();
    }

    /**
     * Called by the exchange when its answer is written (or abandoned).
     *
     * @param close true when the connection must close after the answer
     */
    public void exchangeDone(boolean close) {
        exchangeDone(close, System.nanoTime());
    }

    /**
     * Called by the exchange when its answer is written (or abandoned).
     *
     * @param close    true when the connection must close after the answer
     * @param nowNanos {@link System#nanoTime()}, read by the exchange
     */
    public void exchangeDone(boolean close, long nowNanos) {
        exchange = null;
        gw.inFlight().decrement();
        if (close || !keepAlive || gw.isShuttingDown()) {
            ctx.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        deadline(IDLE, gw.config().server().idleTimeout().toMillis(), nowNanos);
        Object next = held;
        if (next == null) {
            ctx.read();
            return;
        }
        held = null;
        channelRead(ctx, next);
        if (exchange == null && held == null) {
            ctx.read(); // the held message was a head: its body is still to come
        }
    }

    /**
     * True when the connection may be kept open after the current answer: the client asked for keep-alive and the
     * gateway is not stopping.
     */
    public boolean keepAlive() {
        return keepAlive && !gw.isShuttingDown();
    }

    /** The client's token, for the access log's user column in later features; never logged whole. */
    String clientToken() {
        return clientToken;
    }

    /** {@code line} as the access log may show it: keys and the client's token in it cut to their hints. */
    public String forLog(String line) {
        return AccessLog.withoutToken(AccessLog.maskKeys(line), clientToken);
    }

    /** The current request's token as the access log shows it ({@link AccessLog#tokenHint}). */
    public String tokenHint() {
        return AccessLog.cachedHint(clientToken);
    }

    /** The access log line of a request the gateway answered itself (no key was used). */
    private void logAnswer(int status) {
        if (!AccessLog.isEnabled()) {
            return;
        }
        HttpRequest req = logRequest;
        long ms = req == null ? 0 : (System.nanoTime() - headNanos) / 1_000_000;
        String method = req == null ? "-" : AccessLog.visible(req.method().name(), 32);
        String target = req == null ? "-" : AccessLog.withoutToken(AccessLog.target(req.uri()), clientToken);
        AccessLog.write(method + " " + target, status, "-", null, 0, 0, ms, AccessLog.cachedHint(clientToken));
        logRequest = null;
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable() && exchange != null) {
            exchange.onClientWritable();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        clearDeadline();
        if (wake != null) {
            wake.cancel(false);
            wake = null;
        }
        releaseBody();
        if (held != null) {
            ReferenceCountUtil.release(held);
            held = null;
        }
        Exchange e = exchange;
        if (e != null) {
            e.onClientGone();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ShutdownEvent.INSTANCE) {
            keepAlive = false;
            if (exchange == null && request == null && !adminPending) {
                ctx.close(); // idle keep-alive connection: close now
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            log.debug("client connection {} failed: {}", ctx.channel().id(), cause.toString());
        } else {
            log.warn("client connection {} failed", ctx.channel().id(), cause);
        }
        ctx.close();
    }

    private void onRequestReadTimeout() {
        if (request != null) {
            releaseBody();
            request = null;
            respondAndClose(408, "request not received within "
                    + gw.config().server().requestReadTimeout().toSeconds() + "s");
        }
    }

    private void armIdleTimer() {
        deadline(IDLE, gw.config().server().idleTimeout().toMillis());
    }

    /** Sets the connection's one deadline; reschedules the wake-up only when it would come too late (LINGER). */
    private void deadline(int kind, long millis) {
        deadline(kind, millis, System.nanoTime());
    }

    private void deadline(int kind, long millis, long now) {
        deadlineKind = kind;
        deadlineNanos = now + TimeUnit.MILLISECONDS.toNanos(millis);
        if (wake == null || wakeNanos - deadlineNanos > 0) {
            scheduleWake(now);
        }
    }

    /**
     * Calls the current exchange's {@link Exchange#onDeadline()} after {@code millis}, unless cleared or replaced
     * first: the upstream response timeout, kept in the connection's one deadline rather than a timer per attempt.
     *
     * @param nowNanos {@link System#nanoTime()}, read by the caller (one clock read serves several uses)
     */
    public void exchangeDeadline(long millis, long nowNanos) {
        deadline(EXCHANGE, millis, nowNanos);
    }

    /** Clears a deadline set by {@link #exchangeDeadline}; any other stays. */
    public void clearExchangeDeadline() {
        if (deadlineKind == EXCHANGE) {
            clearDeadline();
        }
    }

    private void clearDeadline() {
        deadlineKind = NO_DEADLINE; // a pending wake-up finds nothing to do and stops
    }

    /** Wakes at the deadline or after the shorter timeout, whichever is first (see the class comment). */
    private void scheduleWake(long now) {
        if (wake != null) {
            wake.cancel(false);
        }
        long step = Math.min(gw.config().server().idleTimeout().toNanos(),
                gw.config().server().requestReadTimeout().toNanos());
        long at = deadlineNanos - now < step ? deadlineNanos : now + step;
        wakeNanos = at;
        wake = ctx.executor().schedule(this::onWake, Math.max(0, at - now), TimeUnit.NANOSECONDS);
    }

    private void onWake() {
        wake = null;
        int kind = deadlineKind;
        if (kind == NO_DEADLINE) {
            return;
        }
        long now = System.nanoTime();
        if (deadlineNanos - now > 0) {
            scheduleWake(now);
            return;
        }
        deadlineKind = NO_DEADLINE;
        switch (kind) {
            case IDLE -> {
                if (exchange == null && request == null) {
                    ctx.close();
                }
            }
            case READ -> onRequestReadTimeout();
            case HEAD -> {
                if (exchange == null && request == null) {
                    respondAndClose(408, "request head not received within "
                            + gw.config().server().requestReadTimeout().toSeconds() + "s");
                }
            }
            case EXCHANGE -> {
                Exchange e = exchange;
                if (e != null) {
                    e.onDeadline();
                }
            }
            default -> ctx.close(); // LINGER
        }
    }

    private void releaseBody() {
        if (body != null) {
            body.release();
            body = null;
        }
    }

    /** Answers a request without a body to read (health, ready); keeps the connection when it can. */
    private void respondSimple(HttpRequest req, int code, String json) {
        respondSimple(req, code, json, null);
    }

    private void respondSimple(HttpRequest req, int code, String text, String contentType) {
        logAnswer(code);
        FullHttpResponse r = Responses.json(ctx.alloc(), req.protocolVersion(), code, text);
        if (contentType != null) {
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        }
        boolean hasBody = HttpUtil.getContentLength(req, 0L) > 0 || HttpUtil.isTransferEncodingChunked(req);
        if (hasBody || !keepAlive) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            closing = true;
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        if (req.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        // The empty last content of this request is still coming; drop it and wait for the next request.
        ctx.writeAndFlush(r);
        armIdleTimer();
    }

    /**
     * Writes a Google-shaped error and closes. The rest of the request is read and dropped for a moment (a lingering
     * close, as nginx does): closing a socket with unread input sends a reset, which can destroy the error response
     * before the client has read it.
     */
    private void respondAndClose(int code, String message) {
        closing = true;
        clearDeadline();
        gw.events().requestRejected(route == null ? GatewayEvents.OTHER : route.label, code);
        logAnswer(code);
        FullHttpResponse r = openAiShape
                ? OpenAiResponses.error(ctx.alloc(), HttpVersion.HTTP_1_1, OpenAiResponses.gatewayError(code, message, -1))
                : Responses.googleError(ctx.alloc(), HttpVersion.HTTP_1_1, code, message);
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(r).addListener(f -> lingeringClose());
    }

    private void lingeringClose() {
        if (!(ctx.channel() instanceof DuplexChannel ch) || !ch.isActive()) {
            ctx.close();
            return;
        }
        ch.shutdownOutput().addListener(f -> {
            deadline(LINGER, LINGER_MILLIS);
            ctx.read();
        });
    }
}
