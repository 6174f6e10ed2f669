package io.gemgate.server.admin;

/** A refused admin call: answered with its status and {@code {"error":{"message","field"}}}. */
final class AdminException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String field;

    /** @param field the request field at fault, or null when the request as a whole is */
    AdminException(int status, String message, String field) {
        super(message, null, false, false);
        this.status = status;
        this.field = field;
    }

    AdminResponse response() {
        return AdminResponse.error(status, getMessage(), field);
    }

    static AdminException notFound(String what, String id) {
        // A long "id" may be a secret pasted by mistake: never echo more than its ends.
        String shown = id.length() <= 24 ? id : io.gemgate.core.keys.KeyMask.mask(id);
        return new AdminException(404, "no " + what + " with id " + shown, "id");
    }
}
