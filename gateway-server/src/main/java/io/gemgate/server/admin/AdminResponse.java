package io.gemgate.server.admin;

/**
 * An admin API answer: a status and a body, JSON unless said otherwise.
 *
 * @param status      HTTP status
 * @param json        the body, UTF-8 (JSON, or the content type's)
 * @param contentType the body's type; null for JSON
 */
public record AdminResponse(int status, byte[] json, String contentType) {
    /** A JSON answer. */
    public AdminResponse(int status, byte[] json) {
        this(status, json, null);
    }

    public static AdminResponse of(int status, String json) {
        return new AdminResponse(status, json.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** {@code {"error":{"message":..,"field":..}}}; field may be null. */
    public static AdminResponse error(int status, String message, String field) {
        return of(status, "{\"error\":{\"message\":" + io.gemgate.server.internal.Json.quote(message) + ",\"field\":"
                + (field == null ? "null" : io.gemgate.server.internal.Json.quote(field)) + "}}");
    }
}
