package io.gemgate.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.ReferenceCountUtil;

/**
 * Which API the request calls ({@link Route#of}): notes the route, and whether errors go out in OpenAI's or
 * Anthropic's shape.
 * TRACE, CONNECT and the asterisk target get 405 or 400; a path no route serves 404, a method its route does not
 * serve 405 (each in OpenAI's shape when the path is clearly meant for the OpenAI API); the connection closes.
 */
final class RoutingHandler extends EdgeHandler {
    RoutingHandler(GatewayContext gw, ClientWriter writer, ClientRequest request) {
        super(gw, writer, request);
    }

    @Override
    protected void read(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest req && !route(req)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        ctx.fireChannelRead(msg);
    }

    /** Notes the request's route; false when it has none (refused here). */
    private boolean route(HttpRequest req) {
        HttpMethod method = req.method();
        String path = request.path;
        boolean asterisk = path.equals("*");
        if (method.equals(HttpMethod.TRACE) || method.equals(HttpMethod.CONNECT) || asterisk) {
            writer.reject(asterisk && !method.equals(HttpMethod.OPTIONS) ? 400 : 405,
                    "no route for " + method + " " + path);
            return false;
        }
        Route route = Route.of(req, path);
        if (route == Route.NATIVE && method.equals(HttpMethod.OPTIONS)) {
            route = Route.WRONG_METHOD;
        }
        request.route = route;
        if (route == Route.NOT_FOUND || route == Route.WRONG_METHOD) {
            request.openAiShape = Route.looksOpenAi(path);
            request.anthropicShape = Route.looksAnthropic(path);
            writer.reject(route == Route.NOT_FOUND ? 404 : 405, "no route for " + method + " " + path);
            return false;
        }
        request.openAiShape = route.openAi;
        request.anthropicShape = route.anthropic();
        return true;
    }
}
