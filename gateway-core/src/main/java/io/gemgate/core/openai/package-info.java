/**
 * The OpenAI-compatible API translated to and from Gemini, without sockets (OpenAI API reference:
 * Chat, Embeddings, Models, Files; Gemini API reference; docs/architecture.md, "The OpenAI translation path").
 *
 * <p>Per gateway, built once from configuration and shared by all event loops (all thread-safe):
 * <pre>{@code
 * ModelResolver models = new ModelResolver(aliases, "gemini-2.5-flash");
 * ThoughtSignatures signatures = ThoughtSignatures.inId();             // or .cache(100_000, Duration.ofHours(6), clock)
 * ChatRequestTranslator requests = new ChatRequestTranslator(models, signatures, null);
 * ChatResponseTranslator answers = new ChatResponseTranslator(signatures, clock);
 * EmbeddingsTranslator embeddings = new EmbeddingsTranslator(models);
 * ModelsTranslator modelList = new ModelsTranslator(1732233600L, false);
 * }</pre>
 *
 * <p>{@code POST /v1/chat/completions}, per request:
 * <pre>{@code
 * TranslatedChatRequest r;
 * try {
 *     r = requests.translate(body, thinking, instruction); // live defaults; ByteBuf not released, indices unchanged
 * } catch (OpenAiRequestException e) {
 *     OpenAiError err = OpenAiErrors.of(e);             // 400, before any upstream call
 *     ...
 * }
 * // upstream: POST r.upstreamPath("v1beta", streamUpstream) with body r.body(), on a key for r.model()
 * // (streamUpstream: r.stream(), unless the stream mode setting says always or never)
 * // upstream non-2xx: OpenAiErrors.fromGemini(status, body) -> status, JSON, Retry-After, x-should-retry
 *
 * // non-stream:
 * ChatResponseTranslator.Completion c = answers.translate(r, upstreamBody);
 * if (c.empty()) { retry on another key } else if (c.error() != null) { answer c.error() } else { 200 c.json() }
 *
 * // stream (one translator per attempt, on the event loop):
 * ChatStreamTranslator s = new ChatStreamTranslator(r, signatures, clock);
 * for each upstream SSE event:  s.onEvent(dataPayload, out); flush if it returned true
 *     upstream error event or failure: if (!s.sawContent()) retry on another key, else s.error(msg, out) and close
 * at the upstream end:          if (!s.sawContent()) retry on another key (empty answer), else s.finish(out)
 * while waiting for the first upstream byte: ChatStreamTranslator.writeKeepAlive(out) (does not count as content)
 *
 * // streamed upstream, whole answer to the client (stream mode always):
 * ChatResponseTranslator.Collector c = new ChatResponseTranslator.Collector();
 * for each upstream SSE event: c.add(dataPayload); at the end: answers.translate(r, c), as a whole answer
 * // whole answer upstream, stream to the client (stream mode never): s.onEvent(wholeBody, out), then as at the end
 * }</pre>
 *
 * <p>{@code POST /v1/embeddings}: {@link io.gemgate.core.openai.EmbeddingsTranslator#translate}, one upstream call per
 * {@link io.gemgate.core.openai.EmbeddingsRequest#batchBody batch}, then
 * {@link io.gemgate.core.openai.EmbeddingsTranslator#translateResponse}. {@code GET /v1/models[/{id}]}:
 * {@link io.gemgate.core.openai.ModelsTranslator}, following
 * {@link io.gemgate.core.openai.ModelsTranslator#nextPageToken} for more pages.
 *
 * <p>{@code POST /v1/responses} (OpenAI's Responses API), per request:
 * <pre>{@code
 * ResponseStore store = new ResponseStore(64L << 20, Duration.ofHours(6), clock);        // per gateway
 * TranslatedResponsesRequest r = new ResponsesRequestTranslator(models, signatures, store)
 *         .translate(body, thinking, instruction, null);   // 400/404 OpenAiRequestException before any upstream call
 * // check r.referencedResponses() against the caller's token (store.holds), then call r.chat() as for chat;
 * // whole: ResponsesResponseTranslator.translate(r, upstreamBody); stream: one ResponsesStreamTranslator per attempt,
 * // used as ChatStreamTranslator is; at the end store.put(r, result, owner) (nothing when store: false)
 * }</pre>
 * The Responses request is read by {@code ResponsesRequestParser} onto the chat request model ({@code ChatRequest}), so
 * {@code GeminiRequestWriter} and its parts write the Gemini body for both APIs. {@code POST /v1/images/generations}:
 * {@link io.gemgate.core.openai.ImagesTranslator}.
 *
 * <p>JSON is read and written with jackson-core's streaming parser and generator only; opaque members that must be
 * rewritten whole (schemas, tool arguments) use a minimal {@code Map}/{@code List} tree. Upstream answers that are not
 * Gemini JSON raise {@link io.gemgate.core.openai.UpstreamFormatException}.
 *
 * <p>The chat request translation, behind {@link io.gemgate.core.openai.ChatRequestTranslator}, is done by parts with
 * one job each: {@code ChatRequestParser} reads the body into a {@code ChatRequest}; {@code ChatMedia} (content parts,
 * data URLs), {@code ChatTools} (tools, tool choice), {@code ThinkingPolicy} (thinking) and
 * {@code GenerationConfigWriter} (sampling, limits, response format) each read and write their members;
 * {@code GeminiRequestWriter} writes the Gemini body; {@code ParamReader} reads typed values with OpenAI-style 400s.
 */
package io.gemgate.core.openai;
