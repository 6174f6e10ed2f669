package io.gemgate.core.anthropic;

import java.util.Objects;

/**
 * A Messages API request the gateway refuses before any upstream call: answered 400 with Anthropic's error body
 * ({@code invalid_request_error}). The message starts with the offending field in Anthropic's dotted notation
 * ({@code messages.0.content.1.source.data: ...}), as Anthropic's own validation errors do.
 */
public final class AnthropicRequestException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * @param field   the offending field ({@code messages.0.role}), or null when the whole body is at fault
     * @param message what is wrong
     */
    public AnthropicRequestException(String field, String message) {
        super(field == null ? Objects.requireNonNull(message, "message") : field + ": " + message, null, false,
                false);
    }

    /** Always 400. */
    public int status() {
        return 400;
    }
}
