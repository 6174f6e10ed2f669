package io.gemgate.server;

import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.metrics.GatewayEvents;
import io.gemgate.core.anthropic.AnthropicError;
import io.gemgate.core.anthropic.AnthropicRequestException;
import io.gemgate.core.openai.OpenAiErrors;
import io.gemgate.core.openai.OpenAiRequestException;
import io.gemgate.core.route.NativePath;
import io.gemgate.core.tokens.Admission;
import io.gemgate.server.admin.AdminResponse;
import io.gemgate.server.proxy.Exchange;
import io.gemgate.server.proxy.NativeExchange;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.concurrent.CompletionException;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The last handler of a client connection: a complete request (the {@link ClientRequest} with its body, from
 * {@link BodyHandler}) goes to the admin API, or to the exchange of its route ({@link #newExchange}, the one place
 * where a route maps to an exchange) once the model is allowed (403) and the user token's limits admit it (401, 403,
 * 429). The exchange then answers through the connection's {@link ClientWriter}.
 */
final class ExchangeHandler extends EdgeHandler {
    private static final Logger log = LogManager.getLogger(ExchangeHandler.class);

    ExchangeHandler(GatewayContext gw, ClientWriter writer, ClientRequest request) {
        super(gw, writer, request);
    }

    @Override
    protected void read(ChannelHandlerContext ctx, Object msg) {
        if (msg != request) {
            ReferenceCountUtil.release(msg); // nothing else reaches the end of the pipeline
            return;
        }
        ByteBuf body = request.takeBody();
        if (request.route == Route.ADMIN) {
            admin(ctx, body);
            return;
        }
        dispatch(body);
    }

    /**
     * The exchange for the request's route; the body's ownership passes (to the exchange, or released by
     * {@link OpenAiRoutes} once translated).
     *
     * @throws OpenAiRequestException for a bad OpenAI request (400), before any upstream call
     */
    private Exchange newExchange(HttpRequest req, ByteBuf body) {
        Route route = request.route;
        return switch (route) {
            case NATIVE -> new NativeExchange(gw, writer, req, body, request.path,
                    NativePath.withoutKey(request.query), request.keepAlive);
            case OPENAI_CHAT, OPENAI_MODELS, OPENAI_MODEL, OPENAI_EMBEDDINGS, OPENAI_FILES, OPENAI_FILE,
                    OPENAI_RESPONSES, OPENAI_RESPONSE, OPENAI_IMAGES, ANTHROPIC_MODELS, ANTHROPIC_MODEL ->
                    OpenAiRoutes.exchange(route, gw, writer, req, body, request.path, request.keepAlive);
            case ANTHROPIC_MESSAGES, ANTHROPIC_COUNT_TOKENS ->
                    AnthropicRoutes.exchange(route, gw, writer, req, body, request.path, request.keepAlive);
            case ADMIN, WRONG_METHOD, NOT_FOUND -> throw new IllegalStateException("no exchange for " + route);
        };
    }

    /** Starts the exchange of a complete request, unless its model or its user token's limits refuse it. */
    private void dispatch(ByteBuf body) {
        HttpRequest req = request.head;
        Exchange e;
        try {
            e = newExchange(req, body);
        } catch (OpenAiRequestException bad) {
            // OpenAiRoutes released the body (it always does). No refCnt() guard here: a body taken from the read
            // buffer is a retained slice whose refCnt() is its parent's, so the guard passed and released it twice.
            writer.refuse(OpenAiErrors.of(bad));
            return;
        } catch (AnthropicRequestException bad) {
            writer.refuse(AnthropicError.of(bad)); // AnthropicRoutes released the body too
            return;
        }
        String model = e.modelName();
        request.model = model.equals(KeyPool.ANY_MODEL) ? "" : model; // for the request log's record of a refusal
        if (!model.equals(KeyPool.ANY_MODEL) && !gw.settings().isModelAllowed(model)) {
            e.abandon();
            writer.refuse(403, "model " + model + " is not allowed on this gateway", -1);
            return;
        }
        if (request.user != null) {
            Admission a = gw.limiter().admit(request.user, model, gw.now());
            if (!a.isAccepted()) {
                e.abandon();
                writer.refuse(a.status(), a.message(), a.retryAfterSeconds());
                return;
            }
            e.user(request.user);
        }
        gw.events().requestStarted(request.route.label);
        writer.startExchange(e);
        e.start();
    }

    /** Answers an admin API call (its body read whole) on the event loop; the connection stays open. */
    private void admin(ChannelHandlerContext ctx, ByteBuf b) {
        HttpRequest req = request.head;
        byte[] bytes = ByteBufUtil.getBytes(b);
        b.release();
        java.util.concurrent.CompletableFuture<AdminResponse> later = gw.admin().later(req.method().name(),
                request.path, request.query, req.headers().get(HttpHeaderNames.ACCEPT));
        if (later != null) {
            // A read of the request log's database: done on its thread, answered here when it completes; the next
            // request waits meanwhile, as for a write being stored.
            writer.hold();
            later.whenComplete((answer, failed) -> ctx.executor().execute(() -> {
                AdminResponse r = answer != null ? answer : AdminResponse.error(500, "internal error", null);
                gw.events().requestRejected(GatewayEvents.ADMIN, r.status());
                adminStored(r, null);
            }));
            return;
        }
        AdminResponse a;
        try {
            a = gw.admin().handle(req.method().name(), request.path, request.query, bytes);
        } catch (RuntimeException e) {
            log.warn("admin API {} {} failed", req.method(), request.path, e);
            a = AdminResponse.error(500, "internal error: " + e.getClass().getSimpleName(), null);
        }
        gw.events().requestRejected(GatewayEvents.ADMIN, a.status());
        if (a.status() < 400 && isWrite(req.method())) {
            // An admin write (a key, a token and its one-time secret, a setting, a removal) is answered only once it
            // is stored: written and synced to the state file, and sent to Redis when shared. Stored off the loop;
            // the next request waits.
            writer.hold();
            AdminResponse answer = a;
            gw.storeNow().whenComplete((ok, failed) -> ctx.executor().execute(() -> adminStored(answer, failed)));
            return;
        }
        adminAnswer(a);
    }

    private static boolean isWrite(HttpMethod m) {
        return m.equals(HttpMethod.POST) || m.equals(HttpMethod.PUT) || m.equals(HttpMethod.PATCH)
                || m.equals(HttpMethod.DELETE);
    }

    /** The admin write is stored (or could not be): its answer goes out, then any request held meanwhile. */
    private void adminStored(AdminResponse a, Throwable failed) {
        if (!writer.isActive()) {
            return; // the writer released what was held
        }
        if (failed != null) {
            Throwable cause = failed instanceof CompletionException && failed.getCause() != null
                    ? failed.getCause() : failed;
            a = AdminResponse.error(500, "the change is applied but could not be stored: " + cause.getMessage(), null);
        }
        adminAnswer(a);
        writer.resume();
    }

    private void adminAnswer(AdminResponse a) {
        FullHttpResponse r = Responses.json(writer.alloc(), request.version, a.status(), "");
        r.content().clear().writeBytes(a.json());
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, a.json().length)
                .set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        if (a.contentType() != null) {
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, a.contentType());
        }
        writer.answer(r);
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
}
