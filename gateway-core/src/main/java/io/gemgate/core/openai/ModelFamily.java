package io.gemgate.core.openai;

import io.gemgate.core.settings.Thinking;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a Gemini model is told how much to think, found from its name. Gemini 3 and later take
 * {@code thinkingConfig.thinkingLevel}; Gemini 2.5 (and the {@code -latest} aliases, which also accept a budget on
 * Gemini 3) take {@code thinkingBudget}; older models, Gemma, embedding, TTS and image models take none, so no
 * {@code thinkingConfig} is derived for them.
 */
public enum ModelFamily {
    /** Gemini 3+ Pro: {@code thinkingLevel}; no {@code MINIMAL} (3.0 Pro: LOW and HIGH only). */
    LEVEL_PRO(0, 0, 0),
    /** Gemini 3+ Flash and Flash-Lite: {@code thinkingLevel} MINIMAL to HIGH. */
    LEVEL_FLASH(0, 0, 0),
    /** Gemini 2.5 Pro: budget 128 to 32768; thinking cannot be turned off. */
    BUDGET_PRO(128, 128, 32768),
    /** Gemini 2.5 Flash: budget 0 to 24576. */
    BUDGET_FLASH(0, 512, 24576),
    /** Gemini 2.5 Flash-Lite: budget 0, or 512 to 24576. */
    BUDGET_FLASH_LITE(0, 512, 24576),
    /** No thinking control (Gemini 1.x/2.0, Gemma, embedding, TTS, image, unknown). */
    NONE(0, 0, 0);

    private static final Pattern VERSION = Pattern.compile("gemini-(\\d+)(?:\\.(\\d+))?");

    private final int offBudget;
    private final int minimalBudget;
    private final int maxBudget;

    ModelFamily(int offBudget, int minimalBudget, int maxBudget) {
        this.offBudget = offBudget;
        this.minimalBudget = minimalBudget;
        this.maxBudget = maxBudget;
    }

    /** True for families driven by {@code thinkingLevel}. */
    public boolean usesLevel() {
        return this == LEVEL_PRO || this == LEVEL_FLASH;
    }

    /** True for families driven by {@code thinkingBudget}. */
    public boolean usesBudget() {
        return this == BUDGET_PRO || this == BUDGET_FLASH || this == BUDGET_FLASH_LITE;
    }

    /** The budget that turns thinking off, or its floor where it cannot be turned off (Pro: 128). */
    public int offBudget() {
        return offBudget;
    }

    /** The smallest budget that still thinks. */
    public int minimalBudget() {
        return minimalBudget;
    }

    /** The largest budget the family accepts. */
    public int maxBudget() {
        return maxBudget;
    }

    /** True for families that take a {@code thinkingConfig} at all (a budget or a level). */
    public boolean hasThinkingControl() {
        return usesBudget() || usesLevel();
    }

    /**
     * The {@code thinkingBudget} the gateway's default thinking setting sends to this family: {@link Thinking#OFF}
     * its {@link #offBudget()} (0, or the floor of models that cannot stop thinking), a level its
     * {@link Thinking#budgetTokens()} kept within the family's range.
     *
     * @param t not {@link Thinking#AUTO}, which sends nothing
     */
    public int budgetFor(Thinking t) {
        if (t == Thinking.OFF) {
            return offBudget;
        }
        return Math.max(minimalBudget, Math.min(maxBudget, t.budgetTokens()));
    }

    /**
     * The {@code thinkingLevel} the gateway's default thinking setting sends to {@code model} of a level family:
     * {@link Thinking#OFF} the lowest level the model takes, the others the level of the same name (moved to the
     * nearest one the model takes).
     *
     * @param t not {@link Thinking#AUTO}, which sends nothing
     */
    public String levelFor(String model, Thinking t) {
        String wanted = switch (t) {
            case OFF -> "MINIMAL";
            case LOW -> "LOW";
            case MEDIUM -> "MEDIUM";
            case HIGH -> "HIGH";
            case AUTO -> throw new IllegalArgumentException("AUTO sends no level");
        };
        return supportedLevel(model, this, wanted);
    }

    /**
     * The family of a model name without the {@code models/} prefix.
     *
     * @param model e.g. {@code gemini-2.5-flash}, {@code gemini-3-pro-preview}, {@code gemini-flash-latest}
     */
    public static ModelFamily of(String model) {
        String m = model.toLowerCase(Locale.ROOT);
        if (!m.startsWith("gemini") || m.contains("embedding") || m.contains("-tts") || m.contains("flash-image")
                || m.contains("native-audio") || m.contains("-live")) {
            return NONE;
        }
        boolean pro = m.contains("-pro");
        boolean lite = m.contains("flash-lite");
        Matcher v = VERSION.matcher(m);
        if (v.lookingAt()) {
            int major = Integer.parseInt(v.group(1));
            int minor = v.group(2) == null ? 0 : Integer.parseInt(v.group(2));
            if (major >= 3) {
                return pro ? LEVEL_PRO : LEVEL_FLASH;
            }
            if (major == 2 && minor >= 5) {
                return pro ? BUDGET_PRO : lite ? BUDGET_FLASH_LITE : BUDGET_FLASH;
            }
            return NONE;
        }
        if (m.endsWith("-latest")) { // gemini-flash-latest, gemini-pro-latest: budgets work on 2.5 and 3
            return pro ? BUDGET_PRO : lite ? BUDGET_FLASH_LITE : BUDGET_FLASH;
        }
        return NONE;
    }

    /**
     * False for the models that refuse a {@code systemInstruction} with 400 ("Developer instruction is not enabled"):
     * the Gemma family. The gateway's own instruction is left out of their requests rather than break every call.
     */
    public static boolean takesSystemInstruction(String model) {
        return !model.regionMatches(true, 0, "gemma", 0, 5);
    }

    /**
     * True when Gemini may enforce thought signatures on replayed function calls for this model: Gemini 3 and later,
     * and the {@code -latest} aliases that may point at them. Gemini 1.x/2.x and non-Gemini models never do.
     */
    public static boolean enforcesSignatures(String model) {
        String m = model.toLowerCase(Locale.ROOT);
        if (!m.startsWith("gemini")) {
            return false;
        }
        Matcher v = VERSION.matcher(m);
        if (v.lookingAt()) {
            return Integer.parseInt(v.group(1)) >= 3;
        }
        return true;
    }

    /**
     * The level this model accepts closest to {@code wanted} ({@code MINIMAL}, {@code LOW}, {@code MEDIUM},
     * {@code HIGH}). Pro models have no MINIMAL (LOW instead); Gemini 3.0 Pro has no MEDIUM (HIGH instead); Flash
     * (not Lite) from 3.7 on and {@code gemini-flash-latest} have no MINIMAL [observed by client libraries, not in
     * Google's docs].
     */
    static String supportedLevel(String model, ModelFamily family, String wanted) {
        String m = model.toLowerCase(Locale.ROOT);
        if (family == LEVEL_PRO) {
            if (wanted.equals("MINIMAL")) {
                return "LOW";
            }
            if (wanted.equals("MEDIUM") && (m.startsWith("gemini-3-pro") || m.startsWith("gemini-3.0-pro"))) {
                return "HIGH";
            }
            return wanted;
        }
        if (wanted.equals("MINIMAL") && !m.contains("flash-lite")) {
            Matcher v = VERSION.matcher(m);
            if (v.lookingAt()) {
                int major = Integer.parseInt(v.group(1));
                int minor = v.group(2) == null ? 0 : Integer.parseInt(v.group(2));
                if (major > 3 || (major == 3 && minor >= 7)) {
                    return "LOW";
                }
            } else if (m.endsWith("-latest")) {
                return "LOW";
            }
        }
        return wanted;
    }
}
