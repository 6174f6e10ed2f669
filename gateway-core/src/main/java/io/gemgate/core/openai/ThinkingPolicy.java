package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.gemgate.core.settings.Thinking;

import java.io.IOException;
import java.util.Locale;

import static io.gemgate.core.openai.ParamReader.bool;
import static io.gemgate.core.openai.ParamReader.integer;
import static io.gemgate.core.openai.ParamReader.string;
import static io.gemgate.core.openai.ParamReader.typeError;

/**
 * The thinking policy of a chat request: reads an explicit {@code thinking_config} and decides Gemini's
 * {@code thinkingConfig} (Google's Gemini API reference, {@code ThinkingConfig}; "Gemini thinking" guide) from four
 * layers, lowest to highest precedence:
 * <ol>
 *   <li>the gateway's default thinking level (a live setting, {@link Thinking}: its budget, or the level of the same
 *       name on Gemini 3), used only when the request asks for nothing itself;</li>
 *   <li>the model suffix ({@code -nothinking}, {@code -maxthinking});</li>
 *   <li>{@code reasoning_effort} (OpenAI's Chat Completions API reference);</li>
 *   <li>an explicit {@code thinking_config} (top level, {@code google} or {@code extra_body.google}).</li>
 * </ol>
 * A default of {@link Thinking#OFF} overrides them all: the family's off budget (Pro: its floor 128) or lowest level,
 * and no thoughts unless {@code include_thoughts} asks for them.
 *
 * <p>{@code reasoning_effort} budgets for 2.5 models ({@link #budget}): none → 0 (Pro 128), minimal → 512 (Pro 128),
 * low → 1024, medium → 8192, high → 24576, xhigh/max → the family's largest (Pro 32768, Flash 24576). Levels for
 * Gemini 3 ({@link #level}): none/minimal → MINIMAL, low → LOW, medium → MEDIUM, high/xhigh/max → HIGH, then moved to
 * the nearest level the model takes ({@link ModelFamily}). Never both a budget and a level. Models without thinking
 * control get no derived {@code thinkingConfig}. {@code includeThoughts: true} is sent, and
 * {@link TranslatedChatRequest#reasoning()} is true, when {@code reasoning_effort} is present and not {@code none},
 * or an explicit {@code include_thoughts} is true. An unknown {@code reasoning_effort} is a 400.
 *
 * <p>Called by {@link ChatRequestParser} (reading) and {@link GenerationConfigWriter} (deciding). Stateless static
 * methods; thread-safe.
 */
final class ThinkingPolicy {
    private ThinkingPolicy() {
    }

    /**
     * What goes in {@code generationConfig.thinkingConfig}.
     *
     * @param budget          {@code thinkingBudget}, or null
     * @param level           {@code thinkingLevel}, or null; never set together with {@code budget}
     * @param includeThoughts whether to send {@code includeThoughts: true}, and whether the answer carries
     *                        reasoning ({@link TranslatedChatRequest#reasoning()})
     */
    record Decision(Integer budget, String level, boolean includeThoughts) {
        /** Whether nothing goes in {@code thinkingConfig}, so it is not written. */
        boolean isEmpty() {
            return budget == null && level == null && !includeThoughts;
        }
    }

    /**
     * Decides the thinking configuration of a request.
     *
     * @param r               the parsed request: {@code reasoningEffort}, {@code thinkingBudget},
     *                        {@code thinkingLevel}, {@code includeThoughts}
     * @param model           the resolved model: its family and its suffix
     * @param defaultThinking the gateway's default (a live setting)
     * @throws OpenAiRequestException when {@code reasoning_effort} is not a known value
     */
    static Decision decide(ChatRequest r, ResolvedModel model, Thinking defaultThinking) {
        ModelFamily family = model.family();
        // Thinking: the gateway's default < suffix < reasoning_effort < explicit thinking_config.
        Integer budget = null;
        String level = null;
        if (family.hasThinkingControl()) {
            String effort = switch (model.thinking()) {
                case OFF -> "none";
                case MAX -> "max";
                default -> null;
            };
            if (r.reasoningEffort != null) {
                effort = r.reasoningEffort;
            }
            if (effort != null) {
                if (family.usesBudget()) {
                    budget = budget(family, effort);
                } else {
                    level = ModelFamily.supportedLevel(model.name(), family, level(effort));
                }
            }
        } else if (r.reasoningEffort != null) {
            checkEffort(r.reasoningEffort);
        }
        if (r.thinkingBudget != null || r.thinkingLevel != null) {
            budget = null;
            level = null;
            if (r.thinkingLevel != null && (r.thinkingBudget == null || family.usesLevel())) {
                level = r.thinkingLevel;
            } else {
                budget = r.thinkingBudget;
            }
        }
        // The gateway's default: the lowest layer when the request set nothing; OFF overrides every layer.
        boolean off = defaultThinking == Thinking.OFF && family.hasThinkingControl();
        if (off || (budget == null && level == null && defaultThinking != Thinking.AUTO
                && family.hasThinkingControl())) {
            budget = family.usesBudget() ? family.budgetFor(defaultThinking) : null;
            level = family.usesLevel() ? family.levelFor(model.name(), defaultThinking) : null;
        }
        boolean reasoning;
        if (r.includeThoughts != null) {
            reasoning = r.includeThoughts;
        } else {
            reasoning = !off && r.reasoningEffort != null && !r.reasoningEffort.equals("none")
                    && family.hasThinkingControl();
        }
        return new Decision(budget, level, reasoning);
    }

    /**
     * Reads a {@code thinking_config} object (snake_case or camelCase members, as in Google's Gemini API reference
     * {@code ThinkingConfig}) at the parser's current token into {@code r}. The budget is clamped to
     * {@code -1..Integer.MAX_VALUE}; the level is upper-cased.
     */
    static void readConfig(JsonParser p, ChatRequest r, String where) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return;
        }
        if (t != JsonToken.START_OBJECT) {
            throw typeError(where, "an object", p);
        }
        while (Json.next(p) != JsonToken.END_OBJECT) {
            String f = p.currentName();
            JsonToken u = Json.next(p);
            switch (f) {
                case "thinking_budget", "thinkingBudget" -> {
                    Long b = integer(p, where + "." + f);
                    if (b != null) {
                        r.thinkingBudget = (int) Math.max(-1, Math.min(b, Integer.MAX_VALUE));
                    }
                }
                case "thinking_level", "thinkingLevel" -> {
                    String level = string(p, where + "." + f);
                    if (level != null) {
                        r.thinkingLevel = level.toUpperCase(Locale.ROOT);
                    }
                }
                case "include_thoughts", "includeThoughts" -> {
                    if (u != JsonToken.VALUE_NULL) {
                        r.includeThoughts = bool(p, where + "." + f, false);
                    }
                }
                default -> {
                    if (u.isStructStart()) {
                        p.skipChildren();
                    }
                }
            }
        }
    }

    static int budget(ModelFamily family, String effort) {
        return switch (checkEffort(effort)) {
            case "none" -> family.offBudget();
            case "minimal" -> family.minimalBudget();
            case "low" -> 1024;
            case "medium" -> 8192;
            case "high" -> 24576;
            default -> family.maxBudget(); // xhigh, max
        };
    }

    static String level(String effort) {
        return switch (checkEffort(effort)) {
            case "none", "minimal" -> "MINIMAL";
            case "low" -> "LOW";
            case "medium" -> "MEDIUM";
            default -> "HIGH";
        };
    }

    static String checkEffort(String effort) {
        return switch (effort) {
            case "none", "minimal", "low", "medium", "high", "xhigh", "max" -> effort;
            default -> throw new OpenAiRequestException("reasoning_effort", "Invalid value: '" + effort
                    + "'. Supported values are: 'none', 'minimal', 'low', 'medium', 'high', 'xhigh' and 'max'.");
        };
    }
}
