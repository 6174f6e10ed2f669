package io.gemgate.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.ReferenceCountUtil;

/**
 * Authentication, by route: the admin API takes the admin token ({@code Authorization: Bearer}; 404 when the admin
 * API is off), every other route the shared client token or a user token ({@code x-goog-api-key},
 * {@code x-api-key}, {@code ?key=} or {@code Authorization: Bearer}), compared in constant time. A missing or wrong token gets 401 and the connection
 * closes. A user token is noted in the {@link ClientRequest}: its limits apply once the body is read.
 */
final class AuthHandler extends EdgeHandler {
    AuthHandler(GatewayContext gw, ClientWriter writer, ClientRequest request) {
        super(gw, writer, request);
    }

    @Override
    protected void read(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest req && !authenticate(req)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        ctx.fireChannelRead(msg);
    }

    private boolean authenticate(HttpRequest req) {
        if (request.route == Route.ADMIN) {
            if (gw.admin() == null) {
                writer.reject(404, "the admin API is off: set GEMGATE_ADMIN_TOKEN");
                return false;
            }
            String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION);
            String bearer = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)
                    ? auth.substring(7).trim() : null;
            request.clientToken = bearer;
            if (!gw.adminToken().matches(bearer)) {
                writer.reject(401, bearer == null ? "missing admin token: send Authorization: Bearer"
                        : "invalid admin token");
                return false;
            }
            return true;
        }
        String token = request.clientToken;
        if (!gw.token().matches(token)) {
            request.user = token == null ? null : gw.tokens().authenticate(token);
            if (request.user == null) {
                writer.reject(401, token == null
                        ? "missing client token: send it as x-goog-api-key, x-api-key, ?key= or Authorization: Bearer"
                        : "invalid client token");
                return false;
            }
        }
        return true;
    }
}
