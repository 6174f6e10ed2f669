package io.gemgate.core.openai;

/**
 * The upstream answer could not be read as Gemini JSON. Before the first byte reached the client this is a failed
 * attempt (502, or the next key); after it, the stream ends with an error event.
 */
public final class UpstreamFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UpstreamFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
