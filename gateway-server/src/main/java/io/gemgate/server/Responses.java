package io.gemgate.server;

import io.gemgate.server.internal.Json;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/** Responses the gateway writes itself, in Google's error shape for the native routes. */
public final class Responses {
    private Responses() {
    }

    /** Google's canonical status name for an HTTP code. */
    public static String googleStatus(int code) {
        return switch (code) {
            case 400, 413, 414, 431 -> "INVALID_ARGUMENT";
            case 401 -> "UNAUTHENTICATED";
            case 403 -> "PERMISSION_DENIED";
            case 404 -> "NOT_FOUND";
            case 405, 501 -> "UNIMPLEMENTED";
            case 505 -> "FAILED_PRECONDITION";
            case 408, 504 -> "DEADLINE_EXCEEDED";
            case 429 -> "RESOURCE_EXHAUSTED";
            case 499 -> "CANCELLED";
            case 502, 503 -> "UNAVAILABLE";
            default -> "INTERNAL";
        };
    }

    /** {@code {"error":{"code":..,"message":..,"status":..}}} */
    public static String googleErrorJson(int code, String message) {
        return "{\"error\":{\"code\":" + code + ",\"message\":" + Json.quote(message) + ",\"status\":\""
                + googleStatus(code) + "\"}}";
    }

    /** A complete JSON response; the caller writes it (and thereby releases it). */
    public static FullHttpResponse json(ByteBufAllocator alloc, HttpVersion version, int code, String json) {
        ByteBuf body = alloc.buffer(json.length());
        body.writeCharSequence(json, StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(version, HttpResponseStatus.valueOf(code), body);
        r.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON + "; charset=UTF-8")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        return r;
    }

    /** A Google-shaped error response. */
    public static FullHttpResponse googleError(ByteBufAllocator alloc, HttpVersion version, int code, String message) {
        return json(alloc, version, code, googleErrorJson(code, message));
    }
}
