package io.gemgate.core.openai;

import java.util.Objects;

/**
 * A client request the gateway refuses before any upstream call: answered 400 with OpenAI's error body
 * ({@code type: invalid_request_error}), naming the offending parameter. Build the answer with
 * {@link OpenAiErrors#of(OpenAiRequestException)}.
 */
public final class OpenAiRequestException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String param;

    /**
     * @param param   the offending parameter in OpenAI's notation ({@code messages[2].content}), or null when the
     *                whole body is at fault (not JSON)
     * @param message what is wrong, for the client
     */
    public OpenAiRequestException(String param, String message) {
        super(Objects.requireNonNull(message, "message"), null, false, false);
        this.param = param;
    }

    /** The offending parameter, or null. */
    public String param() {
        return param;
    }

    /** Always 400. */
    public int status() {
        return 400;
    }
}
