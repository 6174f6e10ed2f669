package io.gemgate.core.anthropic;

import io.gemgate.core.openai.ModelResolver;
import io.gemgate.core.openai.OpenAiRequestException;
import io.gemgate.core.openai.ResolvedModel;

import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The Gemini model a Messages API request goes to. Gemini model names are taken as they are (with the
 * {@code -search}, {@code -nothinking} and {@code -maxthinking} suffixes of the chat route); the live
 * {@code modelAliases} apply first, exact names then patterns ({@code claude-*opus*}, see {@link ModelResolver}).
 * A {@code claude-*} name that no alias maps goes to the built-in defaults, so that tools with fixed Claude model
 * lists work: a name containing {@code opus} → {@value #OPUS}, {@code sonnet} → {@value #SONNET}, {@code haiku} →
 * {@value #HAIKU}, any other {@code claude-*} → {@value #SONNET}. The defaults apply only while no alias name starts
 * with {@code claude}: an operator who maps one Claude name maps them all.
 *
 * <p>Immutable and thread-safe.
 */
public final class AnthropicModels {
    /** Where {@code claude-*opus*} goes by default. */
    public static final String OPUS = "gemini-2.5-pro";
    /** Where {@code claude-*sonnet*} (and other {@code claude-*} names) go by default. */
    public static final String SONNET = "gemini-2.5-flash";
    /** Where {@code claude-*haiku*} goes by default. */
    public static final String HAIKU = "gemini-2.5-flash-lite";

    /** No aliases: Gemini names as they are, Claude names by the defaults. */
    public static final AnthropicModels DEFAULT = new AnthropicModels(Map.of());

    private final ModelResolver resolver;
    private final boolean defaults;

    /** @param aliases the live {@code modelAliases} (alias or pattern → model) */
    public AnthropicModels(Map<String, String> aliases) {
        this.resolver = new ModelResolver(Objects.requireNonNull(aliases, "aliases"), null);
        this.defaults = !resolver.hasAliasStartingWith("claude");
    }

    /**
     * Resolves a request's {@code model}.
     *
     * @return the Gemini model; {@link ResolvedModel#requested()} is the name as the client sent it
     * @throws AnthropicRequestException when the name is blank or cannot be a model name
     */
    public ResolvedModel resolve(String requested) {
        String name = requested == null ? "" : requested.trim();
        if (name.isEmpty()) {
            throw new AnthropicRequestException("model", "Field required");
        }
        try {
            ResolvedModel m = resolver.resolve(name);
            if (defaults && m.name().regionMatches(true, 0, "claude", 0, 6)) {
                String lower = m.name().toLowerCase(Locale.ROOT);
                String target = lower.contains("opus") ? OPUS : lower.contains("haiku") ? HAIKU : SONNET;
                m = new ResolvedModel(m.requested(), target, m.search(), m.thinking());
            }
            return new ResolvedModel(requested, m.name(), m.search(), m.thinking());
        } catch (OpenAiRequestException e) {
            throw new AnthropicRequestException("model", e.getMessage());
        }
    }
}
