package io.gemgate.core.settings;

import java.util.Locale;

/**
 * The default thinking level: a named budget, as the OpenAI {@code reasoning_effort} levels, rather than a free
 * number, so that the admin page offers a choice and a typo cannot ask for a budget a model refuses.
 *
 * <p>Precedence (applied by the request translator): {@link #OFF} forces a budget of 0 on every request, as the
 * original proxy's global switch does (models that cannot stop thinking, such as 2.5 Pro, then get their minimum);
 * the other levels apply only to requests that set neither {@code reasoning_effort} nor a thinking budget of their
 * own; {@link #AUTO} adds nothing.
 */
public enum Thinking {
    /** Leave it to the model (Gemini's dynamic thinking): nothing is added to the request. */
    AUTO("auto", -1),
    /** No thinking: {@code thinkingBudget: 0} on every request. */
    OFF("off", 0),
    /** {@code thinkingBudget: 1024}, as {@code reasoning_effort: low} in Google's OpenAI compatibility mapping. */
    LOW("low", 1024),
    /** {@code thinkingBudget: 8192}, as {@code reasoning_effort: medium}. */
    MEDIUM("medium", 8192),
    /** {@code thinkingBudget: 24576}, as {@code reasoning_effort: high}. */
    HIGH("high", 24576);

    private final String wireName;
    private final int budgetTokens;

    Thinking(String wireName, int budgetTokens) {
        this.wireName = wireName;
        this.budgetTokens = budgetTokens;
    }

    /** The name in the admin API. */
    public String wireName() {
        return wireName;
    }

    /** The {@code thinkingBudget} to send; {@code -1} (Gemini's "dynamic") for {@link #AUTO}, where none is sent. */
    public int budgetTokens() {
        return budgetTokens;
    }

    /**
     * Parses a wire name, case-insensitively.
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static Thinking parse(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        for (Thinking t : values()) {
            if (t.wireName.equals(v)) {
                return t;
            }
        }
        throw new IllegalArgumentException("'" + value + "' (expected: auto, off, low, medium or high)");
    }
}
