package io.gemgate.server;

import io.gemgate.server.admin.AdminPage;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.ReferenceCountUtil;

/**
 * The gateway's own endpoints, answered here without a token: {@code /health} and {@code /healthz} (200 while the
 * process runs), {@code /ready} (200, or 503 while stopping or when no key can serve), {@code /metrics} (Prometheus
 * text, when metrics are on) and the admin page's files ({@code /admin/...} outside {@code /admin/api}, GET and HEAD).
 * Every other request passes on.
 */
final class LocalHandler extends EdgeHandler {
    /** The admin page's files, shared by every connection. */
    private static final AdminPage PAGE = new AdminPage();

    LocalHandler(GatewayContext gw, ClientWriter writer, ClientRequest request) {
        super(gw, writer, request);
    }

    @Override
    protected void read(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest req && answer(req)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        ctx.fireChannelRead(msg);
    }

    /** Answers the request when it is for one of the local endpoints; false when it is not. */
    private boolean answer(HttpRequest req) {
        String path = request.path;
        if (path.equals("/health") || path.equals("/healthz")) {
            json(req, 200, "{\"status\":\"ok\"}", null);
        } else if (path.equals("/metrics") && gw.metricsText() != null) {
            json(req, 200, gw.metricsText().get(), "text/plain; version=0.0.4; charset=utf-8");
        } else if (path.equals("/ready")) {
            boolean ready = !gw.isShuttingDown() && gw.pool().hasUsableKey();
            json(req, ready ? 200 : 503, ready ? "{\"status\":\"ready\"}" : "{\"status\":\"not ready\"}", null);
        } else if (path.equals("/admin") || (path.startsWith("/admin/") && !path.startsWith("/admin/api"))) {
            page(req);
        } else {
            return false;
        }
        return true;
    }

    private void json(HttpRequest req, int code, String text, String contentType) {
        FullHttpResponse r = Responses.json(writer.alloc(), req.protocolVersion(), code, text);
        if (contentType != null) {
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        }
        writer.answerHead(r);
    }

    /** The admin page's static files (GET only); no token needed: the page asks for one and calls the API with it. */
    private void page(HttpRequest req) {
        if (!req.method().equals(HttpMethod.GET) && !req.method().equals(HttpMethod.HEAD)) {
            writer.reject(405, "the admin page is read with GET");
            return;
        }
        String path = request.path;
        if (path.equals("/admin")) {
            FullHttpResponse r = new DefaultFullHttpResponse(req.protocolVersion(),
                    HttpResponseStatus.MOVED_PERMANENTLY);
            r.headers().set(HttpHeaderNames.LOCATION, "/admin/").setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
            writer.answerHead(r);
            return;
        }
        AdminPage.File f = PAGE.find(path);
        if (f == null) {
            writer.reject(404, "no admin page file " + path);
            return;
        }
        FullHttpResponse r = new DefaultFullHttpResponse(req.protocolVersion(), HttpResponseStatus.OK,
                Unpooled.wrappedBuffer(f.bytes()));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, f.contentType())
                .setInt(HttpHeaderNames.CONTENT_LENGTH, f.bytes().length)
                .set(HttpHeaderNames.CACHE_CONTROL, f.immutable() ? "public, max-age=86400" : "no-cache")
                .set("x-content-type-options", "nosniff")
                .set("x-frame-options", "DENY")
                .set("referrer-policy", "no-referrer")
                .set("content-security-policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                        + "script-src 'self'; connect-src 'self'; frame-ancestors 'none'");
        writer.answerHead(r);
    }
}
