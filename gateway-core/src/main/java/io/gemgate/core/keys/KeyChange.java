package io.gemgate.core.keys;

import java.util.Set;

/**
 * One edit of a key, applied whole ({@link KeyPool#edit}): each field is the new value, or null to leave it as it is.
 *
 * @param weight  1 to 100
 * @param label   free text
 * @param project the Google Cloud project
 * @param tier    0 to {@value KeySpec#MAX_TIER}
 * @param groups  group names (see {@link KeySpec#checkGroup})
 * @param enabled in rotation or not
 */
public record KeyChange(Integer weight, String label, String project, Integer tier, Set<String> groups,
                        Boolean enabled) {
    /** A change of the definition only. */
    public KeyChange(Integer weight, String label, String project, Integer tier, Set<String> groups) {
        this(weight, label, project, tier, groups, null);
    }

    /**
     * The spec with this change's definition fields applied.
     *
     * @throws IllegalArgumentException for a weight outside 1 to 100, a tier outside 0 to {@value KeySpec#MAX_TIER}
     *                                  or a malformed group name
     */
    KeySpec applyTo(KeySpec now) {
        return new KeySpec(now.secret(), project == null ? now.project() : project,
                weight == null ? now.weight() : weight, label == null ? now.label() : label,
                tier == null ? now.tier() : tier, groups == null ? now.groups() : groups, now.proxy());
    }
}
