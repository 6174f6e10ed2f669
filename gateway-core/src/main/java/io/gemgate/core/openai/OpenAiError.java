package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * An error answer in OpenAI's shape: {@code {"error":{"message","type","param","code"}}} (all four members always
 * present, as the spec requires) plus the HTTP status and the retry hints for the response headers.
 *
 * @param status            HTTP status to answer with
 * @param message           human-readable message
 * @param type              {@code invalid_request_error}, {@code requests}, {@code tokens}, {@code insufficient_quota},
 *                          {@code server_error}, ...
 * @param param             the offending parameter, or null
 * @param code              machine-readable code ({@code invalid_api_key}, {@code model_not_found},
 *                          {@code rate_limit_exceeded}, ...), or null
 * @param retryAfterSeconds value for a {@code Retry-After} header, or -1 for none
 * @param shouldRetry       value for an {@code x-should-retry} header: false tells the OpenAI SDKs not to retry
 */
public record OpenAiError(int status, String message, String type, String param, String code, long retryAfterSeconds,
                          boolean shouldRetry) {
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);

    public OpenAiError {
        Objects.requireNonNull(message, "message");
        Objects.requireNonNull(type, "type");
    }

    /** The JSON body. */
    public byte[] toJson() {
        ByteArrayBuilder out = new ByteArrayBuilder(256);
        write(out);
        return out.toByteArray();
    }

    /** Appends the JSON body to {@code out}; the caller keeps ownership of {@code out}. */
    public void writeJson(ByteBuf out) {
        write(new ByteBufOutputStream(out));
    }

    /** The body as one SSE event: {@code data: {...}\n\n}, for errors after a stream has started. */
    public byte[] toSseFrame() {
        ByteArrayBuilder out = new ByteArrayBuilder(256);
        writeSse(out);
        return out.toByteArray();
    }

    /** Appends the SSE error event to {@code out}; the caller keeps ownership of {@code out}. */
    public void writeSseFrame(ByteBuf out) {
        writeSse(new ByteBufOutputStream(out));
    }

    void writeSse(OutputStream out) {
        try {
            out.write(DATA);
            write(out);
            out.write(END);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void write(OutputStream out) {
        try (JsonGenerator g = Json.generator(out)) {
            g.writeStartObject();
            g.writeObjectFieldStart("error");
            g.writeStringField("message", message);
            g.writeStringField("type", type);
            g.writeStringField("param", param);
            g.writeStringField("code", code);
            g.writeEndObject();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
