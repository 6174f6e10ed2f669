package io.gemgate.server;

import io.gemgate.core.route.NativePath;
import io.gemgate.server.proxy.ClientConnection;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import java.util.Iterator;

/**
 * Framing and limits of a request's head, before anything else looks at it: what the decoder could not parse (400,
 * 414 and 431 for the line and header limits), the HTTP version (505), the method (501), {@code Content-Length} with
 * {@code Transfer-Encoding} (400, request smuggling), the {@code Host} fields (400) and the target (400, see
 * {@link RequestTarget}). Each refusal closes the connection (lingering). An accepted head gets its path, query and
 * presented token noted in the {@link ClientRequest}.
 *
 * <p>Also the request head's own deadline: once bytes of a new request arrived but not its whole head, the request
 * read timeout runs (unless the idle deadline comes first), so a head trickled in byte by byte gets 408 like a slow
 * body.
 */
final class FramingHandler extends EdgeHandler implements ClientConnection.Deadline {
    /** The connection's codec, asked whether a request head is begun; null in handler tests without one. */
    private final ServerCodec codec;

    FramingHandler(GatewayContext gw, ClientWriter writer, ClientRequest request, ServerCodec codec) {
        super(gw, writer, request);
        this.codec = codec;
    }

    @Override
    protected void read(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest req) {
            String refusal = check(req);
            if (refusal != null) {
                ReferenceCountUtil.release(msg);
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    /** Refuses a head that fails a check (and returns why), or notes its target and token (and returns null). */
    private String check(HttpRequest req) {
        if (req.decoderResult().isFailure()) {
            Throwable cause = req.decoderResult().cause();
            if (cause instanceof TooLongHttpHeaderException) {
                return refuse(431, "request header fields too large");
            } else if (cause instanceof TooLongHttpLineException) {
                return refuse(414, "request line too long");
            } else if (cause instanceof TooLongFrameException) {
                return refuse(431, "request too large");
            }
            return refuse(400, "malformed request");
        }
        // RFC 9110 §6.2: HTTP/1.0 and 1.1 only; the answer is HTTP/1.1 whatever the request line claimed.
        HttpVersion version = req.protocolVersion();
        if (version.majorVersion() != 1 || version.minorVersion() > 1) {
            return refuse(505, "HTTP version not supported: send HTTP/1.1");
        }
        HttpMethod method = req.method();
        if (!isKnownMethod(method)) { // methods are case-sensitive (RFC 9110 §9.1): "get" is not GET
            return refuse(501, "method " + AccessLog.visible(method.name(), 32) + " is not implemented");
        }
        // Refuse ambiguous framing (request smuggling, RFC 9112 §6.3).
        if (req.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
                && req.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)) {
            return refuse(400, "both Content-Length and Transfer-Encoding");
        }
        String hostError = hostError(req);
        if (hostError != null) {
            return refuse(400, hostError);
        }
        String uri = RequestTarget.originForm(req.uri());
        if (uri == null) {
            return refuse(400, "invalid request target: visible ASCII only, no dot segments, encoded slashes or"
                    + " ';' in the path");
        }
        request.clientToken = presentedToken(req); // also for the access line of a refusal
        int q = uri.indexOf('?');
        request.path = q < 0 ? uri : uri.substring(0, q);
        request.query = q < 0 ? "" : uri.substring(q + 1);
        return null;
    }

    private String refuse(int code, String message) {
        writer.reject(code, message);
        return message;
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // Bytes of a new request arrived but not its whole head: the request read timeout runs from now (unless the
        // idle deadline comes first).
        if (codec != null && writer.isIdle() && !writer.isBusy() && !request.reading && codec.isMidRequest()) {
            long now = System.nanoTime();
            long millis = gw.config().server().requestReadTimeout().toMillis();
            if (now + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(millis) - writer.deadlineNanos() < 0) {
                writer.deadline(this, millis, now);
            }
        }
        ctx.fireChannelReadComplete();
    }

    /** The head did not arrive whole within the request read timeout. */
    @Override
    public void onDeadline() {
        if (!writer.isBusy() && !request.reading) {
            writer.reject(408, "request head not received within "
                    + gw.config().server().requestReadTimeout().toSeconds() + "s");
        }
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
        Iterator<String> it = req.headers().valueStringIterator(HttpHeaderNames.HOST);
        if (!it.hasNext()) {
            return req.protocolVersion().equals(HttpVersion.HTTP_1_1) ? "missing Host header" : null;
        }
        String host = it.next();
        if (it.hasNext()) {
            return "more than one Host header";
        }
        return RequestTarget.isHost(host) ? null : "malformed Host header";
    }

    /**
     * The client token, sent as {@code x-goog-api-key}, {@code ?key=}, {@code x-api-key} (Anthropic's clients) or
     * {@code Authorization: Bearer}, the first found in that order; or null.
     */
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
        t = req.headers().get(Route.X_API_KEY);
        if (t != null && !t.isEmpty()) {
            return t;
        }
        String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION);
        if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
            String b = auth.substring(7).trim();
            return b.isEmpty() ? null : b;
        }
        return null;
    }
}
