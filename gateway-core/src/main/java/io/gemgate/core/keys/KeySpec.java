package io.gemgate.core.keys;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.egress.ProxySpec;

/**
 * One upstream key as configured: the secret and what the keys file says about it.
 *
 * @param secret  the Gemini API key itself; never logged or returned whole (see {@link KeyMask})
 * @param project the Google Cloud project it belongs to; keys of one project share its quota. Empty when unknown
 *                (then the key is its own project)
 * @param weight  relative share under weighted round robin, 1 to 100
 * @param label   free text shown in the admin API; may be empty
 * @param proxy   the key's own exit: empty for the default (pinned over {@code upstream.proxies}, or direct when
 *                there are none), {@code direct}, or a proxy URL ({@link ProxySpec#parse}); its credentials are
 *                never shown (see {@link ProxySpec#masked()})
 */
public record KeySpec(String secret, String project, int weight, String label, String proxy) {
    /** {@link #proxy()} of a key that always goes straight to the upstream, whatever the proxies. */
    public static final String DIRECT = "direct";

    public KeySpec {
        requireNonNull(secret, "secret");
        requireNonNull(project, "project");
        requireNonNull(label, "label");
        requireNonNull(proxy, "proxy");
        if (!proxy.isEmpty() && !proxy.equals(DIRECT)) {
            ProxySpec.parse(proxy); // IllegalArgumentException without the URL's credentials
        }
        if (secret.isEmpty()) {
            throw new IllegalArgumentException("secret: empty");
        }
        if (weight < 1 || weight > 100) {
            throw new IllegalArgumentException("weight: " + weight + " (expected: 1 to 100)");
        }
    }

    /** A key with the default exit. */
    public KeySpec(String secret, String project, int weight, String label) {
        this(secret, project, weight, label, "");
    }

    public static KeySpec of(String secret) {
        return new KeySpec(secret, "", 1, "");
    }

    /** The key's own proxy, or null when it has none ({@link #proxy()} empty or {@code direct}). */
    public ProxySpec proxySpec() {
        return proxy.isEmpty() || proxy.equals(DIRECT) ? null : ProxySpec.parse(proxy);
    }

    /** Without the secret and the proxy's credentials: a record's generated toString would print both. */
    @Override
    public String toString() {
        ProxySpec p = proxySpec();
        return "KeySpec[" + KeyMask.mask(secret) + ", project=" + project + ", weight=" + weight + ", label=" + label
                + ", proxy=" + (p == null ? proxy : p.masked()) + "]";
    }
}
