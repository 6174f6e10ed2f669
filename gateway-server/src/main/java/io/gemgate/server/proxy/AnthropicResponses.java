package io.gemgate.server.proxy;

import io.gemgate.core.anthropic.AnthropicError;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

/** Error responses in Anthropic's shape, with the headers Anthropic's SDKs read. */
public final class AnthropicResponses {
    private AnthropicResponses() {
    }

    /**
     * The error for a status the gateway decides itself (auth, limits, no key left, upstream down), with the retry
     * hints of the OpenAI routes ({@link OpenAiResponses#gatewayError}): 503 is not to be retried at once.
     */
    public static AnthropicError gatewayError(int code, String message, long retryAfterSeconds) {
        return AnthropicError.of(OpenAiResponses.gatewayError(code, message, retryAfterSeconds));
    }

    /**
     * A complete error response: the JSON body, {@code Retry-After} when known and {@code x-should-retry: false}
     * when retrying soon is pointless (Anthropic's SDKs retry 408, 429 and 5xx twice otherwise). The caller owns
     * the response.
     */
    public static FullHttpResponse error(ByteBufAllocator alloc, HttpVersion version, AnthropicError e) {
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
