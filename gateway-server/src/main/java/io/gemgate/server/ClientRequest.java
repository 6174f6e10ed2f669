package io.gemgate.server;

import io.gemgate.core.tokens.UserToken;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;

/**
 * What the client connection's handlers learn about the request being handled, one object per connection, reset
 * when the next request's head passes the {@link ClientWriter} (no object per request). Each field is written by the
 * handler named on it and read by those after it in the pipeline ({@link PipelineNames}). When the request is
 * complete, {@link BodyHandler} passes this object itself down the pipeline as the message that carries it (with
 * {@link #body}) to {@link ExchangeHandler}.
 *
 * <p>Not thread-safe: the connection's event loop only.
 */
final class ClientRequest {
    /** The request's head; set by {@link ClientWriter#begin}. */
    HttpRequest head;
    HttpVersion version;
    /** The client asked to keep the connection and the gateway is not stopping; {@link ClientWriter}. */
    boolean keepAlive;
    /** When the head arrived ({@link System#nanoTime()}), when the request log or the access log is on. */
    long headNanos;
    /**
     * The request, for the access line of an answer the gateway gives itself (proxied requests get theirs from the
     * exchange); null when both logs are off or the record was made.
     */
    HttpRequest logRequest;
    /** The gateway refused the request (not a local endpoint's answer): its record is stored, with this message. */
    String refusal;
    /** The token the client presented (any of the three ways), or null; {@link FramingHandler}, {@link AuthHandler}. */
    String clientToken;
    /** Path and query of the origin-form target; {@link FramingHandler}. */
    String path;
    String query;
    /** Which API the request calls; null until {@link RoutingHandler} decided. */
    Route route;
    /** Errors on this request go out in OpenAI's shape (else Google's); {@link RoutingHandler}. */
    boolean openAiShape;
    /** Errors on this request go out in Anthropic's shape; {@link RoutingHandler}. */
    boolean anthropicShape;
    /** The user token of the request; null when the shared token was presented; {@link AuthHandler}. */
    UserToken user;
    /** The model the request names, once an exchange was made for it; "" before; {@link ExchangeHandler}. */
    String model = "";
    /** Access-Control-Allow-Origin of the request's answers, or null; {@link CorsHandler}. */
    String corsOrigin;
    /** The same as raw header lines, for the pass-through's own head; made when first asked for. */
    byte[] corsFields;
    /** A head was accepted and its body is being read; {@link BodyHandler}. */
    boolean reading;
    /**
     * The whole body, set by {@link BodyHandler} when this object is passed on; the receiver takes it
     * ({@link #takeBody()}) and then owns it.
     */
    ByteBuf body;

    /** A new request's head: what the previous one left is forgotten (its body was passed on or released). */
    void reset(HttpRequest req) {
        head = req;
        version = req.protocolVersion();
        keepAlive = false;
        logRequest = null;
        refusal = null;
        clientToken = null;
        path = null;
        query = null;
        route = null;
        openAiShape = false;
        anthropicShape = false;
        user = null;
        model = "";
    }

    /** The body; ownership passes to the caller. */
    ByteBuf takeBody() {
        ByteBuf b = body;
        body = null;
        return b;
    }

    /** The route's label for metrics, or {@code other} before one was decided. */
    String routeLabel() {
        return route == null ? io.gemgate.core.metrics.GatewayEvents.OTHER : route.label;
    }
}
