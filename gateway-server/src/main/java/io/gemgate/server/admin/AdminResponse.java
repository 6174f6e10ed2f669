package io.gemgate.server.admin;

/**
 * An admin API answer: a status and a JSON body.
 *
 * @param status HTTP status
 * @param json   the body, UTF-8 JSON
 */
public record AdminResponse(int status, byte[] json) {
    public static AdminResponse of(int status, String json) {
        return new AdminResponse(status, json.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** {@code {"error":{"message":..,"field":..}}}; field may be null. */
    public static AdminResponse error(int status, String message, String field) {
        return of(status, "{\"error\":{\"message\":" + io.gemgate.server.internal.Json.quote(message) + ",\"field\":"
                + (field == null ? "null" : io.gemgate.server.internal.Json.quote(field)) + "}}");
    }
}
