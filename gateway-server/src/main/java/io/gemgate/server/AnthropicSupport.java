package io.gemgate.server;

import io.gemgate.core.anthropic.AnthropicModels;
import io.gemgate.core.anthropic.AnthropicRequestTranslator;
import io.gemgate.core.anthropic.MessagesResponseTranslator;
import io.gemgate.core.openai.ThoughtSignatures;

import java.util.Map;
import java.util.Objects;

/**
 * The translators of the Anthropic Messages routes, built once and shared by every connection (thread-safe; the
 * stream translator is made per attempt). They share the OpenAI routes' {@link ThoughtSignatures}, so a signature
 * handed out on one API is found again on the other.
 */
public final class AnthropicSupport {
    private final ThoughtSignatures signatures;
    private final MessagesResponseTranslator responses;
    private volatile AnthropicRequestTranslator requests;

    public AnthropicSupport(ThoughtSignatures signatures) {
        this.signatures = Objects.requireNonNull(signatures, "signatures");
        this.responses = new MessagesResponseTranslator(signatures);
        this.requests = new AnthropicRequestTranslator(AnthropicModels.DEFAULT, signatures);
    }

    /** Applies the live model aliases (names and patterns); the next request sees them. */
    public void aliases(Map<String, String> aliases) {
        this.requests = new AnthropicRequestTranslator(aliases.isEmpty() ? AnthropicModels.DEFAULT
                : new AnthropicModels(aliases), signatures);
    }

    public ThoughtSignatures signatures() {
        return signatures;
    }

    public AnthropicRequestTranslator requests() {
        return requests;
    }

    public MessagesResponseTranslator responses() {
        return responses;
    }
}
