package io.gemgate.server;

import io.gemgate.core.openai.OpenAiError;
import io.gemgate.server.proxy.ClientConnection;
import io.gemgate.server.proxy.Exchange;
import io.gemgate.core.anthropic.AnthropicError;
import io.gemgate.server.proxy.AnthropicResponses;
import io.gemgate.server.proxy.OpenAiResponses;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;

/**
 * The one writer of a client connection: every byte the client receives is written here, whoever made it (the
 * pass-through's raw heads and bodies, the exchanges' encoded answers, the gateway's own answers and errors). It
 * decides keep-alive or close for each answer, tells the encoder when the request was a HEAD, closes with a lingering
 * close after an error whose request was not read, and keeps pipelined requests in order: it is also the first
 * gateway handler of the pipeline, and holds a request that arrives while an answer is under way until that answer
 * is done. It owns the connection's timer ({@link ConnectionTimer}) and the idle and linger deadlines on it.
 *
 * <p>Reads: auto-read is off and the flow control handler before this one delivers one message per read. A read
 * stays asked for while an answer is under way, so the socket's read interest is not switched off and on per request
 * (two epoll_ctl calls); what arrives meanwhile is held (one message; no read is asked for while one is held).
 *
 * <p>Not thread-safe: the connection's event loop only. One per connection.
 */
final class ClientWriter extends ChannelInboundHandlerAdapter implements ClientConnection {
    /** How long a connection closing after an error keeps draining the client's input. */
    private static final long LINGER_MILLIS = 2_000;
    private static final byte[] CORS_ANY = ("access-control-allow-origin: *\r\n"
            + "access-control-expose-headers: *\r\n").getBytes(StandardCharsets.US_ASCII);

    private final GatewayContext gw;
    /** The connection's codec, told whether each request is a HEAD and its CORS fields; null in handler tests. */
    private final ServerCodec codec;
    private final ClientRequest request;
    private final Deadline idle = this::onIdle;
    private final Deadline linger = this::onLinger;
    private ChannelHandlerContext ctx;
    /** Where raw answer bytes are written: the first context, so that they pass no encoder. */
    private ChannelHandlerContext raw;
    private ConnectionTimer timer;
    /** The exchange under way, or null. */
    private Exchange exchange;
    /** An answer is under way (an exchange, or an admin change being stored): the next request waits in held. */
    private boolean busy;
    /** A message that arrived while busy (a pipelined request), or null. */
    private Object held;
    /** After an answer that closes the connection: drop what comes. */
    private boolean closing;
    /** The client's address as text, made once per connection (the request log). */
    private String clientAddress;

    ClientWriter(GatewayContext gw, ServerCodec codec, ClientRequest request) {
        this.gw = gw;
        this.codec = codec;
        this.request = request;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        ChannelHandlerContext first = ctx.pipeline().context(PipelineNames.CONNECTIONS);
        this.raw = first != null ? first : ctx.pipeline().firstContext();
        var s = gw.config().server();
        this.timer = new ConnectionTimer(ctx.executor(),
                Math.min(s.idleTimeout().toNanos(), s.requestReadTimeout().toNanos()));
    }

    // ------------------------------------------------------------------------------------------------- inbound

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        armIdle(System.nanoTime());
        ctx.read();
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (busy) {
            // The next request came before this answer ended (pipelining): held until the answer is done.
            if (held != null) {
                ReferenceCountUtil.release(msg); // cannot happen: no read() while one is held
                return;
            }
            held = msg;
            return;
        }
        if (msg instanceof HttpRequest req) {
            begin(req);
        }
        ctx.fireChannelRead(msg);
    }

    /** A request's head passes: the answers from here on are this request's. */
    private void begin(HttpRequest req) {
        timer.clear();
        request.reset(req);
        if (codec != null) {
            codec.headRequest(req.method().equals(HttpMethod.HEAD));
        }
        if (request.corsOrigin != null) { // the previous request's; CorsHandler sets this one's
            request.corsOrigin = null;
            request.corsFields = null;
            if (codec != null) {
                codec.cors(null, false);
            }
        }
        if (gw.requestLog().isOn()) {
            request.headNanos = System.nanoTime();
            request.logRequest = req;
        }
        request.keepAlive = HttpUtil.isKeepAlive(req) && !gw.isShuttingDown();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (held == null) {
            ctx.read();
        }
        ctx.fireChannelReadComplete();
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
        timer.stop();
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
            request.keepAlive = false;
            if (!busy && !request.reading) {
                ctx.close(); // idle keep-alive connection: close now
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    // ------------------------------------------------------------------------------- the gateway's own answers

    /**
     * Answers the current request at its head, before its body was read (health, the admin page, a preflight): the
     * connection stays open when it can, and closes when a body is still to come.
     */
    void answerHead(FullHttpResponse r) {
        HttpRequest req = request.head;
        boolean hasBody = HttpUtil.getContentLength(req, 0L) > 0 || HttpUtil.isTransferEncodingChunked(req);
        answer(r, hasBody);
    }

    /** Answers the current request, its body read whole; the connection stays open when it can. */
    void answer(FullHttpResponse r) {
        answer(r, false);
    }

    private void answer(FullHttpResponse r, boolean close) {
        logAnswer(r.status().code());
        if (close || !keepAlive()) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            closing = true;
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        if (r.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        ctx.writeAndFlush(r);
        armIdle(System.nanoTime());
    }

    /**
     * Refuses the current request, its body read whole (a disallowed model, a user token's limit), in the route's
     * error shape; the connection stays open when it can.
     */
    void refuse(int code, String message, long retryAfterSeconds) {
        if (request.route != null && request.route.anthropic()) {
            refuse(AnthropicResponses.gatewayError(code, message, retryAfterSeconds));
            return;
        }
        if (request.route != null && request.route.openAi) {
            refuse(OpenAiResponses.gatewayError(code, message, retryAfterSeconds));
            return;
        }
        gw.events().requestRejected(request.routeLabel(), code);
        logRefusal(code, message);
        FullHttpResponse r = Responses.googleError(ctx.alloc(), request.version, code, message);
        if (retryAfterSeconds > 0) {
            r.headers().set(HttpHeaderNames.RETRY_AFTER, retryAfterSeconds);
        }
        answer(r);
    }

    /** An OpenAI-shaped refusal of a request whose body was read whole; the connection stays open when it can. */
    void refuse(OpenAiError error) {
        gw.events().requestRejected(request.routeLabel(), error.status());
        logRefusal(error.status(), error.message());
        answer(OpenAiResponses.error(ctx.alloc(), request.version, error));
    }

    /** An Anthropic-shaped refusal of a request whose body was read whole; the connection stays open when it can. */
    void refuse(AnthropicError error) {
        gw.events().requestRejected(request.routeLabel(), error.status());
        logRefusal(error.status(), error.message());
        answer(AnthropicResponses.error(ctx.alloc(), request.version, error));
    }

    /**
     * Refuses the current request with an error in its route's shape and closes the connection. The rest of the
     * request is read and dropped for a moment (a lingering close, as nginx does): closing a socket with unread input
     * sends a reset, which can destroy the error answer before the client has read it.
     */
    void reject(int code, String message) {
        closing = true;
        timer.clear();
        gw.events().requestRejected(request.routeLabel(), code);
        logRefusal(code, message);
        logAnswer(code);
        FullHttpResponse r = request.openAiShape
                ? OpenAiResponses.error(ctx.alloc(), HttpVersion.HTTP_1_1,
                        OpenAiResponses.gatewayError(code, message, -1))
                : request.anthropicShape ? AnthropicResponses.error(ctx.alloc(), HttpVersion.HTTP_1_1,
                        AnthropicResponses.gatewayError(code, message, -1))
                : Responses.googleError(ctx.alloc(), HttpVersion.HTTP_1_1, code, message);
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(r).addListener(f -> lingeringClose());
    }

    /** Writes an interim answer (100 Continue); the final one follows. */
    void writeInterim(HttpObject interim) {
        ctx.writeAndFlush(interim);
    }

    private void lingeringClose() {
        if (!(ctx.channel() instanceof DuplexChannel ch) || !ch.isActive()) {
            ctx.close();
            return;
        }
        ch.shutdownOutput().addListener(f -> {
            timer.set(linger, LINGER_MILLIS, System.nanoTime());
            ctx.read();
        });
    }

    /**
     * Notes that the gateway refused the current request itself (401, 404, 413, 429 of a token's limit...), with the
     * message the client gets: the record {@link #logAnswer} makes of it is stored in the request log.
     */
    private void logRefusal(int code, String message) {
        request.refusal = message == null ? "" : message;
    }

    private static String refusalReason(int code) {
        return switch (code) {
            case 400 -> "bad_request";
            case 401 -> "unauthorized";
            case 403 -> "forbidden";
            case 404 -> "no_route";
            case 405 -> "method_not_allowed";
            case 408 -> "request_timeout";
            case 413 -> "body_too_large";
            case 414, 431 -> "head_too_large";
            case 429 -> "token_limit";
            default -> "refused";
        };
    }

    @Override
    public String clientAddress() {
        String a = clientAddress;
        if (a == null) {
            java.net.SocketAddress r = ctx.channel().remoteAddress();
            a = r instanceof java.net.InetSocketAddress i && i.getAddress() != null ? i.getAddress().getHostAddress()
                    : "";
            clientAddress = a;
        }
        return a;
    }

    /**
     * The record of a request the gateway answered itself (no key was used), for the access log and, when it was a
     * refusal ({@link #logRefusal}), for the request log: its target without credentials, its token by id and name
     * when one was recognised.
     */
    private void logAnswer(int status) {
        io.gemgate.server.requestlog.RequestLog rl = gw.requestLog();
        if (!rl.isOn()) {
            return;
        }
        HttpRequest req = request.logRequest;
        String token = request.clientToken;
        long ms = req == null ? 0 : (System.nanoTime() - request.headNanos) / 1_000_000;
        String method = req == null ? "-" : AccessLog.visible(req.method().name(), 32);
        String target = req == null ? "-" : AccessLog.withoutToken(AccessLog.target(req.uri()), token);
        request.logRequest = null;
        String refusal = request.refusal;
        request.refusal = null;
        Route route = request.route;
        io.gemgate.core.tokens.UserToken u = route == null || route == Route.ADMIN ? null : request.user;
        String tokenId = u != null ? u.id() : gw.token().matches(token) ? ""
                : io.gemgate.core.requestlog.RequestRecord.UNAUTHENTICATED;
        String protocol = route == null ? "-" : route == Route.ADMIN ? "admin"
                : io.gemgate.server.proxy.Exchange.protocolOf(route.label);
        rl.add(new io.gemgate.core.requestlog.RequestRecord(gw.now() - ms, method, target, request.routeLabel(),
                protocol, request.model == null ? "" : request.model, tokenId, u == null ? "" : u.name(),
                clientAddress(), false, status, 0, ms, -1, 0, 0, 0, java.util.List.of(),
                refusal == null ? null : refusalReason(status),
                refusal == null ? null : io.gemgate.core.requestlog.ErrorText.cap(refusal,
                        io.gemgate.core.requestlog.ErrorText.MAX_MESSAGE),
                null, AccessLog.cachedHint(token), refusal != null, true));
    }

    // ---------------------------------------------------------------------------------- answers under way

    /** An exchange answers the current request: the next request waits until {@link #exchangeDone}. */
    void startExchange(Exchange e) {
        gw.inFlight().increment();
        exchange = e;
        busy = true;
    }

    /** An answer is prepared off the loop (an admin change being stored): the next request waits ({@link #resume}). */
    void hold() {
        busy = true;
    }

    /** The answer prepared off the loop was written ({@link #answer}): on with the next request. */
    void resume() {
        busy = false;
        if (closing || !ctx.channel().isActive()) {
            return; // channelInactive released what was held
        }
        next();
    }

    @Override
    public void exchangeDone(boolean close, long nowNanos) {
        exchange = null;
        busy = false;
        gw.inFlight().decrement();
        if (close || !request.keepAlive || gw.isShuttingDown()) {
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        armIdle(nowNanos);
        next();
    }

    /** Handles the request held meanwhile, or asks for the next one. */
    private void next() {
        Object n = held;
        if (n == null) {
            ctx.read();
            return;
        }
        held = null;
        channelRead(ctx, n);
        if (!busy && held == null) {
            ctx.read(); // the held message was a head: its body is still to come
        }
    }

    // -------------------------------------------------------------------------------------------- timers

    private void armIdle(long nowNanos) {
        timer.set(idle, gw.config().server().idleTimeout().toMillis(), nowNanos);
    }

    /** True while the connection waits for the next request (its idle deadline is set). */
    boolean isIdle() {
        return timer.owner() == idle;
    }

    /** When the current deadline falls ({@link System#nanoTime()}). */
    long deadlineNanos() {
        return timer.deadlineNanos();
    }

    /** True while the client connection is open. */
    boolean isActive() {
        return ctx.channel().isActive();
    }

    /** True while an answer is under way (an exchange, or an admin change being stored). */
    boolean isBusy() {
        return busy;
    }

    private void onIdle() {
        if (!busy && !request.reading) {
            ctx.close();
        }
    }

    private void onLinger() {
        ctx.close();
    }

    @Override
    public void deadline(Deadline owner, long millis, long nowNanos) {
        timer.set(owner, millis, nowNanos);
    }

    @Override
    public void clearDeadline(Deadline owner) {
        timer.clear(owner);
    }

    // ------------------------------------------------------------------------------ what exchanges write

    @Override
    public ByteBufAllocator alloc() {
        return ctx.alloc();
    }

    @Override
    public EventLoop eventLoop() {
        return ctx.channel().eventLoop();
    }

    @Override
    public void write(HttpObject msg) {
        ctx.write(msg);
    }

    @Override
    public void writeAndFlush(HttpObject msg) {
        ctx.writeAndFlush(msg);
    }

    @Override
    public void writeRaw(ByteBuf bytes) {
        raw.write(bytes, raw.voidPromise());
    }

    @Override
    public void writeRawAndFlush(ByteBuf bytes) {
        raw.writeAndFlush(bytes, raw.voidPromise());
    }

    @Override
    public void flush() {
        ctx.flush();
    }

    @Override
    public boolean isWritable() {
        return ctx.channel().isWritable();
    }

    @Override
    public boolean keepAlive() {
        return request.keepAlive && !gw.isShuttingDown();
    }

    @Override
    public byte[] corsFields() {
        String origin = request.corsOrigin;
        if (origin == null) {
            return null;
        }
        if (request.corsFields == null) {
            request.corsFields = origin.equals("*") ? CORS_ANY : ("access-control-allow-origin: " + origin
                    + "\r\naccess-control-expose-headers: *\r\nvary: Origin\r\n").getBytes(StandardCharsets.ISO_8859_1);
        }
        return request.corsFields;
    }

    @Override
    public String forLog(String line) {
        return AccessLog.withoutToken(AccessLog.maskKeys(line), request.clientToken);
    }

    @Override
    public String tokenHint() {
        return AccessLog.cachedHint(request.clientToken);
    }

    /** The CORS fields of the current request's answers: {@code allowOrigin} or null; {@code vary} adds Vary. */
    void cors(String allowOrigin, boolean vary) {
        request.corsOrigin = allowOrigin;
        request.corsFields = null;
        if (codec != null) {
            codec.cors(allowOrigin, vary);
        }
    }
}
