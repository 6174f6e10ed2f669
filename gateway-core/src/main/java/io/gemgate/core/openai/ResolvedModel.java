package io.gemgate.core.openai;

import java.util.Objects;

/**
 * A client's model name resolved to the Gemini model to call and the options its suffixes asked for.
 *
 * @param requested the name exactly as the client sent it (echoed in answers' {@code model})
 * @param name      the Gemini model without the {@code models/} prefix, e.g. {@code gemini-2.5-flash}
 * @param search    the {@code -search} suffix: add Gemini's own {@code googleSearch} tool
 * @param thinking  what a {@code -nothinking} or {@code -maxthinking} suffix asked for
 */
public record ResolvedModel(String requested, String name, boolean search, SuffixThinking thinking) {
    /** The thinking a model-name suffix asked for. */
    public enum SuffixThinking {
        /** No suffix: the model's default. */
        DEFAULT,
        /** {@code -nothinking}: budget 0 (Pro: its floor 128), or the lowest level on Gemini 3. */
        OFF,
        /** {@code -maxthinking}: the family's largest budget, or HIGH on Gemini 3. */
        MAX
    }

    public ResolvedModel {
        Objects.requireNonNull(requested, "requested");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(thinking, "thinking");
    }

    /** The thinking family of {@link #name()}. */
    public ModelFamily family() {
        return ModelFamily.of(name);
    }
}
