package io.gemgate.core.keys;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.egress.ProxySpec;
import java.util.Collections;
import java.util.Set;
import java.util.TreeSet;

/**
 * One upstream key as configured: the secret and what the keys file says about it.
 *
 * @param secret  the Gemini API key itself; never logged or returned whole (see {@link KeyMask})
 * @param project the Google Cloud project it belongs to; keys of one project share its quota. Empty when unknown
 *                (then the key is its own project)
 * @param weight  relative share under weighted round robin, 1 to 100
 * @param label   free text shown in the admin API; may be empty
 * @param tier    0 to {@value #MAX_TIER}, 0 by default: a request uses the lowest tier that has a usable key for its
 *                model (free keys at 0, paid ones behind them at 1, say)
 * @param groups  the model groups the key serves (see the live setting {@code modelGroups}); empty: none. Names of 1
 *                to 64 letters, digits, {@code -}, {@code _} or {@code .}; kept sorted
 * @param proxy   the key's own exit: empty for the default (pinned over {@code upstream.proxies}, or direct when
 *                there are none), {@code direct}, or a proxy URL ({@link ProxySpec#parse}); its credentials are
 *                never shown (see {@link ProxySpec#masked()})
 */
public record KeySpec(String secret, String project, int weight, String label, int tier, Set<String> groups,
                      String proxy) {
    /** {@link #proxy()} of a key that always goes straight to the upstream, whatever the proxies. */
    public static final String DIRECT = "direct";

    /** Highest tier. */
    public static final int MAX_TIER = 9;
    /** Most groups one key may have. */
    public static final int MAX_GROUPS = 16;

    public KeySpec {
        requireNonNull(secret, "secret");
        requireNonNull(project, "project");
        requireNonNull(label, "label");
        requireNonNull(groups, "groups");
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
        if (tier < 0 || tier > MAX_TIER) {
            throw new IllegalArgumentException("tier: " + tier + " (expected: 0 to " + MAX_TIER + ")");
        }
        if (groups.size() > MAX_GROUPS) {
            throw new IllegalArgumentException("group: " + groups.size() + " groups (expected: at most " + MAX_GROUPS
                    + ")");
        }
        TreeSet<String> sorted = new TreeSet<>();
        for (String g : groups) {
            sorted.add(checkGroup(g));
        }
        groups = Collections.unmodifiableSortedSet(sorted);
    }

    /** A key of tier 0 in no group, with the default exit. */
    public KeySpec(String secret, String project, int weight, String label) {
        this(secret, project, weight, label, 0, Set.of(), "");
    }

    /** A key with the default exit. */
    public KeySpec(String secret, String project, int weight, String label, int tier, Set<String> groups) {
        this(secret, project, weight, label, tier, groups, "");
    }

    /** A key of tier 0 in no group, with its own exit ({@link #proxy()}). */
    public KeySpec(String secret, String project, int weight, String label, String proxy) {
        this(secret, project, weight, label, 0, Set.of(), proxy);
    }

    /** The key's own proxy, or null when it has none ({@link #proxy()} empty or {@code direct}). */
    public ProxySpec proxySpec() {
        return proxy.isEmpty() || proxy.equals(DIRECT) ? null : ProxySpec.parse(proxy);
    }

    /** The same key with another exit ({@link #proxy()}). */
    public KeySpec withProxy(String newProxy) {
        return new KeySpec(secret, project, weight, label, tier, groups, newProxy);
    }

    /** Without the secret and the proxy's credentials: a record's generated toString would print both. */
    @Override
    public String toString() {
        ProxySpec p = proxySpec();
        return "KeySpec[" + KeyMask.mask(secret) + ", project=" + project + ", weight=" + weight + ", label=" + label
                + ", tier=" + tier + ", groups=" + groups + ", proxy=" + (p == null ? proxy : p.masked()) + "]";
    }

    public static KeySpec of(String secret) {
        return new KeySpec(secret, "", 1, "");
    }

    /**
     * Checks a group name: 1 to 64 letters, digits, {@code -}, {@code _} or {@code .}.
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    public static String checkGroup(String g) {
        if (g == null || g.isEmpty() || g.length() > 64) {
            throw new IllegalArgumentException("group: '" + g + "' (expected: 1 to 64 letters, digits, '-', '_' or '.')");
        }
        for (int i = 0; i < g.length(); i++) {
            char c = g.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
                    || c == '.')) {
                throw new IllegalArgumentException("group: '" + g
                        + "' (expected: 1 to 64 letters, digits, '-', '_' or '.')");
            }
        }
        return g;
    }
}
