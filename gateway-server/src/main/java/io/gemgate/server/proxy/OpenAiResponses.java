package io.gemgate.server.proxy;

import io.gemgate.core.openai.OpenAiError;
import io.gemgate.core.openai.OpenAiErrors;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

/** Error responses in OpenAI's shape, with the headers the OpenAI SDKs read. */
public final class OpenAiResponses {
    private OpenAiResponses() {
    }

    /** The OpenAI error for a status the gateway decides itself (auth, limits, no key left, upstream down). */
    public static OpenAiError gatewayError(int code, String message, long retryAfterSeconds) {
        return switch (code) {
            case 400, 405, 408, 414, 431 -> OpenAiErrors.of(code, OpenAiErrors.INVALID_REQUEST, message, null, null);
            case 401 -> OpenAiErrors.authentication(message);
            case 403 -> OpenAiErrors.permissionDenied(message);
            case 404 -> OpenAiErrors.notFound(message);
            case 413 -> OpenAiErrors.payloadTooLarge(message);
            case 429 -> OpenAiErrors.rateLimited(message, retryAfterSeconds);
            case 503 -> OpenAiErrors.unavailable(message, retryAfterSeconds);
            default -> OpenAiErrors.serverError(code, message);
        };
    }

    /**
     * A complete error response: the JSON body, {@code Retry-After} when known and {@code x-should-retry: false}
     * when retrying soon is pointless (the OpenAI SDKs retry 429 and 5xx twice otherwise).
     */
    public static FullHttpResponse error(ByteBufAllocator alloc, HttpVersion version, OpenAiError e) {
        ByteBuf body = alloc.buffer(256);
        e.writeJson(body);
        FullHttpResponse r = new DefaultFullHttpResponse(version, HttpResponseStatus.valueOf(e.status()), body);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        if (e.retryAfterSeconds() > 0) {
            r.headers().set(HttpHeaderNames.RETRY_AFTER, e.retryAfterSeconds());
        }
        if (!e.shouldRetry()) {
            r.headers().set("x-should-retry", "false");
        }
        return r;
    }
}
