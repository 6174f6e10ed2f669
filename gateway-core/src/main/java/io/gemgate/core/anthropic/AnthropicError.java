package io.gemgate.core.anthropic;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.gemgate.core.openai.OpenAiError;
import io.gemgate.core.openai.TranslationParts;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * An error answer in Anthropic's shape (Anthropic's API docs, "Errors"):
 * {@code {"type":"error","error":{"type","message"}}}, with the HTTP status and the retry hints of the response
 * headers. Types by status: 400 (and 405, 408, 414, 431) {@code invalid_request_error}, 401
 * {@code authentication_error}, 403 {@code permission_error}, 404 {@code not_found_error}, 413
 * {@code request_too_large}, 429 {@code rate_limit_error}, 503 and 529 {@code overloaded_error}, any other
 * {@code api_error}.
 *
 * @param status            HTTP status to answer with
 * @param type              the error type
 * @param message           human-readable message
 * @param retryAfterSeconds value for a {@code Retry-After} header, or -1 for none
 * @param shouldRetry       value for an {@code x-should-retry} header, which Anthropic's SDKs read: false tells them
 *                          not to retry
 */
public record AnthropicError(int status, String type, String message, long retryAfterSeconds, boolean shouldRetry) {
    private static final byte[] EVENT = "event: error\ndata: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);

    public AnthropicError {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(message, "message");
    }

    /** The error type Anthropic uses for an HTTP status. */
    public static String typeOf(int status) {
        return switch (status) {
            case 400, 405, 408, 414, 422, 431 -> "invalid_request_error";
            case 401 -> "authentication_error";
            case 403 -> "permission_error";
            case 404 -> "not_found_error";
            case 413 -> "request_too_large";
            case 429 -> "rate_limit_error";
            case 503, 529 -> "overloaded_error";
            default -> "api_error";
        };
    }

    /**
     * An error the gateway decides itself (auth, limits, no key left, upstream down).
     *
     * @param retryAfterSeconds -1 for none
     */
    public static AnthropicError of(int status, String message, long retryAfterSeconds) {
        boolean retry = status == 408 || status == 429 || status >= 500;
        return new AnthropicError(status, typeOf(status), message, retryAfterSeconds, retry);
    }

    /** A 400 for a refused request. */
    public static AnthropicError of(AnthropicRequestException e) {
        return new AnthropicError(400, "invalid_request_error", e.getMessage(), -1, false);
    }

    /** The same error as the chat translation decided it (status, message, retry hints), in Anthropic's shape. */
    public static AnthropicError of(OpenAiError e) {
        return new AnthropicError(e.status(), typeOf(e.status()), e.message(), e.retryAfterSeconds(), e.shouldRetry());
    }

    /**
     * A Gemini error answer: status, message and retry hints as the chat route reads them.
     *
     * @param body not released, indices unchanged
     */
    public static AnthropicError fromGemini(int status, ByteBuf body) {
        return of(TranslationParts.geminiError(status, body));
    }

    /** The JSON body. */
    public byte[] toJson() {
        ByteArrayBuilder out = new ByteArrayBuilder(256);
        write(out);
        return out.toByteArray();
    }

    /** Appends the JSON body; the caller keeps ownership of {@code out}. */
    public void writeJson(ByteBuf out) {
        write(new ByteBufOutputStream(out));
    }

    /** Appends the error as an SSE {@code error} event (a stream that already started); the caller keeps {@code out}. */
    public void writeEvent(ByteBuf out) {
        writeEvent(new ByteBufOutputStream(out));
    }

    void writeEvent(OutputStream out) {
        try {
            out.write(EVENT);
            write(out);
            out.write(END);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void write(OutputStream out) {
        try (JsonGenerator g = TranslationParts.generator(out)) {
            g.writeStartObject();
            g.writeStringField("type", "error");
            g.writeObjectFieldStart("error");
            g.writeStringField("type", type);
            g.writeStringField("message", message);
            g.writeEndObject();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
