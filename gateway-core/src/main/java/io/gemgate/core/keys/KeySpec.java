package io.gemgate.core.keys;

import static java.util.Objects.requireNonNull;

/**
 * One upstream key as configured: the secret and what the keys file says about it.
 *
 * @param secret  the Gemini API key itself; never logged or returned whole (see {@link KeyMask})
 * @param project the Google Cloud project it belongs to; keys of one project share its quota. Empty when unknown
 *                (then the key is its own project)
 * @param weight  relative share under weighted round robin, 1 to 100
 * @param label   free text shown in the admin API; may be empty
 */
public record KeySpec(String secret, String project, int weight, String label) {
    public KeySpec {
        requireNonNull(secret, "secret");
        requireNonNull(project, "project");
        requireNonNull(label, "label");
        if (secret.isEmpty()) {
            throw new IllegalArgumentException("secret: empty");
        }
        if (weight < 1 || weight > 100) {
            throw new IllegalArgumentException("weight: " + weight + " (expected: 1 to 100)");
        }
    }

    public static KeySpec of(String secret) {
        return new KeySpec(secret, "", 1, "");
    }
}
