package io.gemgate.core.openai;

import java.util.Objects;

/**
 * A client request the gateway refuses before any upstream call: answered 400 (or the status given) with OpenAI's error body
 * ({@code type: invalid_request_error}), naming the offending parameter. Build the answer with
 * {@link OpenAiErrors#of(OpenAiRequestException)}.
 */
public final class OpenAiRequestException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String param;
    private final int status;
    private final String code;

    /**
     * @param param   the offending parameter in OpenAI's notation ({@code messages[2].content}), or null when the
     *                whole body is at fault (not JSON)
     * @param message what is wrong, for the client
     */
    public OpenAiRequestException(String param, String message) {
        this(400, param, message, null);
    }

    /**
     * A refusal with another status than 400: 404 for a {@code previous_response_id} or a stored response the
     * gateway does not hold (OpenAI's Responses API reference).
     *
     * @param status a 4xx status
     * @param code   OpenAI's error {@code code}, or null
     */
    public OpenAiRequestException(int status, String param, String message, String code) {
        super(Objects.requireNonNull(message, "message"), null, false, false);
        if (status < 400 || status > 499) {
            throw new IllegalArgumentException("status: " + status + " (expected: 400-499)");
        }
        this.param = param;
        this.status = status;
        this.code = code;
    }

    /** The offending parameter, or null. */
    public String param() {
        return param;
    }

    /** 400, unless built with another status. */
    public int status() {
        return status;
    }

    /** OpenAI's error {@code code}, or null. */
    public String code() {
        return code;
    }
}
