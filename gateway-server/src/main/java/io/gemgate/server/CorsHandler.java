package io.gemgate.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.ReferenceCountUtil;

/**
 * CORS ({@link Cors}, {@code server.corsAllowOrigins}): sets the CORS fields of the current request's answers (none
 * without an Origin, off the API routes, or for an origin not allowed), and answers OPTIONS on an API route itself. A
 * preflight (Origin and Access-Control-Request-Method) from an allowed origin gets 204 with the methods and the
 * headers it asked for (no token needed: browsers send none with a preflight); from another origin 403 (and the
 * connection closes). A plain OPTIONS gets 204 with Allow.
 */
final class CorsHandler extends EdgeHandler {
    CorsHandler(GatewayContext gw, ClientWriter writer, ClientRequest request) {
        super(gw, writer, request);
    }

    @Override
    protected void read(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest req) {
            String origin = req.headers().get(HttpHeaderNames.ORIGIN);
            String allow = origin == null || !Cors.isApiPath(request.path) ? null : gw.cors().allowOrigin(origin);
            if (allow != null) {
                writer.cors(allow, gw.cors().variesByOrigin());
            }
            if (req.method().equals(HttpMethod.OPTIONS) && Cors.isApiPath(request.path)) {
                preflight(req);
                ReferenceCountUtil.release(msg);
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    private void preflight(HttpRequest req) {
        HttpHeaders h = req.headers();
        if (h.contains(HttpHeaderNames.ORIGIN) && h.contains(HttpHeaderNames.ACCESS_CONTROL_REQUEST_METHOD)) {
            if (request.corsOrigin == null) {
                writer.reject(403, "origin " + AccessLog.visible(h.get(HttpHeaderNames.ORIGIN), 200)
                        + " may not call this gateway from a browser (server.corsAllowOrigins)");
                return;
            }
            FullHttpResponse r = new DefaultFullHttpResponse(req.protocolVersion(), HttpResponseStatus.NO_CONTENT);
            r.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_METHODS, Cors.METHODS)
                    .set(HttpHeaderNames.ACCESS_CONTROL_MAX_AGE, Cors.MAX_AGE)
                    .set(HttpHeaderNames.VARY, HttpHeaderNames.ACCESS_CONTROL_REQUEST_HEADERS);
            String asked = Cors.requestedHeaders(h.get(HttpHeaderNames.ACCESS_CONTROL_REQUEST_HEADERS));
            if (asked != null) {
                r.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_HEADERS, asked);
            }
            writer.answerHead(r);
            return;
        }
        FullHttpResponse r = new DefaultFullHttpResponse(req.protocolVersion(), HttpResponseStatus.NO_CONTENT);
        r.headers().set(HttpHeaderNames.ALLOW, Cors.METHODS);
        writer.answerHead(r);
    }
}
