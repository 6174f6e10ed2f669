package io.gemgate.server;

import io.gemgate.core.openai.ChatRequestTranslator;
import io.gemgate.core.openai.ChatResponseTranslator;
import io.gemgate.core.openai.EmbeddingsTranslator;
import io.gemgate.core.openai.ImagesTranslator;
import io.gemgate.core.openai.ModelResolver;
import io.gemgate.core.openai.ModelsTranslator;
import io.gemgate.core.openai.ResponseStore;
import io.gemgate.core.openai.ResponsesRequestTranslator;
import io.gemgate.core.openai.ResponsesResponseTranslator;
import io.gemgate.core.openai.ThoughtSignatures;
import java.time.Clock;

/**
 * The translators of the OpenAI routes, built once and shared by every connection (they are thread-safe; the stream
 * translator is made per request).
 */
public final class OpenAiSupport {
    /** The {@code created} time every listed model reports: fixed, so that lists compare equal across calls. */
    private static final long MODELS_CREATED = 1_735_689_600L; // 2025-01-01T00:00:00Z

    private final Clock clock;
    private final java.time.Duration keepAliveInterval;
    private final ThoughtSignatures signatures;
    private volatile ChatRequestTranslator requests;
    private final ChatResponseTranslator responses;
    private final ModelsTranslator models;
    private volatile EmbeddingsTranslator embeddings;
    private final ResponseStore responseStore;
    private volatile ResponsesRequestTranslator responseRequests;
    private final ResponsesResponseTranslator responseAnswers;
    private volatile ImagesTranslator images;

    /**
     * With the default response store: 64 MiB for 6 hours.
     *
     * @param keepAliveInterval how often {@code : keep-alive} comments go out while a streamed answer is awaited
     */
    public OpenAiSupport(Clock clock, java.time.Duration keepAliveInterval) {
        this(clock, keepAliveInterval, new ResponseStore(64L << 20, java.time.Duration.ofHours(6), clock));
    }

    /**
     * @param keepAliveInterval how often {@code : keep-alive} comments go out while a streamed answer is awaited
     * @param responseStore     the Responses API's stored responses ({@code previous_response_id})
     */
    public OpenAiSupport(Clock clock, java.time.Duration keepAliveInterval, ResponseStore responseStore) {
        this.clock = clock;
        this.keepAliveInterval = keepAliveInterval;
        this.signatures = ThoughtSignatures.inId();
        ModelResolver resolver = ModelResolver.DEFAULT;
        this.requests = new ChatRequestTranslator(resolver, signatures, null);
        this.responses = new ChatResponseTranslator(signatures, clock);
        this.models = new ModelsTranslator(MODELS_CREATED, true);
        this.embeddings = new EmbeddingsTranslator(resolver);
        this.responseStore = java.util.Objects.requireNonNull(responseStore, "responseStore");
        this.responseRequests = new ResponsesRequestTranslator(resolver, signatures, responseStore);
        this.responseAnswers = new ResponsesResponseTranslator(signatures, clock);
        this.images = new ImagesTranslator(resolver, clock);
    }

    public Clock clock() {
        return clock;
    }

    /**
     * Applies the live model aliases (alias → model) to the request translators; the next request sees them.
     */
    public void aliases(java.util.Map<String, String> aliases) {
        ModelResolver resolver = aliases.isEmpty() ? ModelResolver.DEFAULT
                : new ModelResolver(aliases, ModelResolver.DEFAULT.defaultModel());
        this.requests = new ChatRequestTranslator(resolver, signatures, null);
        this.embeddings = new EmbeddingsTranslator(resolver);
        this.responseRequests = new ResponsesRequestTranslator(resolver, signatures, responseStore);
        this.images = new ImagesTranslator(resolver, clock);
    }

    public java.time.Duration keepAliveInterval() {
        return keepAliveInterval;
    }

    public ThoughtSignatures signatures() {
        return signatures;
    }

    public ChatRequestTranslator requests() {
        return requests;
    }

    public ChatResponseTranslator responses() {
        return responses;
    }

    public ModelsTranslator models() {
        return models;
    }

    public EmbeddingsTranslator embeddings() {
        return embeddings;
    }

    /** The Responses API's stored responses. */
    public ResponseStore responseStore() {
        return responseStore;
    }

    public ResponsesRequestTranslator responseRequests() {
        return responseRequests;
    }

    public ResponsesResponseTranslator responseAnswers() {
        return responseAnswers;
    }

    public ImagesTranslator images() {
        return images;
    }
}
