package io.gemgate.core.config;

import static java.util.Objects.requireNonNull;

/**
 * A setting is missing, malformed or out of range. The message is one line that names the setting (its YAML path,
 * its environment variable, or the file and line) and says what was expected, for example
 * {@code server.port: 70000 (expected: 0 to 65535)}. It never contains a token, an admin token, a master key or an
 * upstream key. {@code Main} prints {@link #getMessage()} alone and exits non-zero.
 */
public final class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what is wrong, naming the setting; line breaks are turned into spaces so that it stays one line
     */
    public ConfigException(String message) {
        super(requireNonNull(message, "message").replaceAll("[\\r\\n]+", " "));
    }
}
