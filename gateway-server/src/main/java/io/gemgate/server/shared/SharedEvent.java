package io.gemgate.server.shared;

import static java.util.Objects.requireNonNull;

/**
 * One message on the shared channel: what changed, published right after the change was written to Redis. A rest
 * carries its values, so that a cooldown or an exhaustion applies at once; the other kinds only name what changed,
 * and receivers read it back from Redis (so that they always apply the latest value, whatever the order of the
 * messages).
 *
 * <p>Wire form, space-separated: {@code rest ORIGIN FINGERPRINT COOLDOWN EXHAUSTED MODEL}, {@code key ORIGIN
 * FINGERPRINT}, {@code token ORIGIN ID}, {@code affinity ORIGIN NAME}, {@code settings ORIGIN}. The model comes last and may hold spaces.
 *
 * @param kind          what changed
 * @param origin        the publishing instance, which ignores its own messages
 * @param id            key fingerprint or token id; {@code ""} for settings
 * @param model         the model of a rest; {@code ""} otherwise
 * @param cooldownUntil the cooldown end of a rest, epoch millis; 0 otherwise
 * @param exhaustedUntil the exhaustion end of a rest, epoch millis; 0 otherwise
 */
record SharedEvent(Kind kind, String origin, String id, String model, long cooldownUntil, long exhaustedUntil) {

    enum Kind {
        /** A key's cooldown or exhaustion for a model was raised. */
        REST("rest"),
        /** A key was added, or its marks or definition changed. */
        KEY("key"),
        /** A token was created, changed or revoked. */
        TOKEN("token"),
        /** The settings changed. */
        SETTINGS("settings"),
        /** Which key holds a resource was recorded, changed or removed (id: the resource name). */
        AFFINITY("affinity");

        final String wire;

        Kind(String wire) {
            this.wire = wire;
        }
    }

    SharedEvent {
        requireNonNull(kind, "kind");
        requireNonNull(origin, "origin");
        requireNonNull(id, "id");
        requireNonNull(model, "model");
    }

    static SharedEvent rest(String origin, String fingerprint, String model, long cooldownUntil,
                            long exhaustedUntil) {
        return new SharedEvent(Kind.REST, origin, fingerprint, model, cooldownUntil, exhaustedUntil);
    }

    static SharedEvent key(String origin, String fingerprint) {
        return new SharedEvent(Kind.KEY, origin, fingerprint, "", 0, 0);
    }

    static SharedEvent token(String origin, String id) {
        return new SharedEvent(Kind.TOKEN, origin, id, "", 0, 0);
    }

    static SharedEvent affinity(String origin, String name) {
        return new SharedEvent(Kind.AFFINITY, origin, name, "", 0, 0);
    }

    static SharedEvent settings(String origin) {
        return new SharedEvent(Kind.SETTINGS, origin, "", "", 0, 0);
    }

    String encode() {
        return switch (kind) {
            case REST -> kind.wire + ' ' + origin + ' ' + id + ' ' + cooldownUntil + ' ' + exhaustedUntil + ' '
                    + model;
            case KEY, TOKEN, AFFINITY -> kind.wire + ' ' + origin + ' ' + id;
            case SETTINGS -> kind.wire + ' ' + origin;
        };
    }

    /**
     * Reads what {@link #encode} wrote.
     *
     * @return the event, or null when the message is not one (another version, or noise on the channel)
     */
    static SharedEvent decode(String message) {
        String[] p = message.split(" ", 6);
        try {
            switch (p[0]) {
                case "rest":
                    return p.length == 6 ? rest(p[1], p[2], p[5], Long.parseLong(p[3]), Long.parseLong(p[4])) : null;
                case "key":
                    return p.length == 3 ? key(p[1], p[2]) : null;
                case "token":
                    return p.length == 3 ? token(p[1], p[2]) : null;
                case "affinity":
                    return p.length == 3 ? affinity(p[1], p[2]) : null;
                case "settings":
                    return p.length == 2 ? settings(p[1]) : null;
                default:
                    return null;
            }
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
