package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import io.gemgate.core.openai.ChatRequest.Message;
import io.gemgate.core.openai.ChatRequest.Part;
import io.gemgate.core.openai.ChatRequest.PartKind;
import io.gemgate.core.settings.Thinking;
import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Translates an OpenAI {@code POST /v1/responses} body (OpenAI's Responses API reference, "Create a model response")
 * into a Gemini {@code generateContent} body (Google's Gemini API reference, {@code models.generateContent}), once per
 * request, before any upstream call:
 * <ol>
 *   <li>{@link ResponsesRequestParser} reads the body with Jackson's streaming parser onto the chat request model
 *       (its class comment lists the mapping);</li>
 *   <li>with {@code previous_response_id}, the stored conversation ({@link ResponseStore}) goes first; an unknown or
 *       expired id is a 404 ({@code previous_response_not_found}), before any upstream call;</li>
 *   <li>{@code instructions} become the first system message (the gateway's own system instruction, a live setting,
 *       still comes before them);</li>
 *   <li>{@link ModelResolver} resolves the model (aliases, suffixes); a {@code web_search} tool turns Gemini's
 *       {@code googleSearch} on as the {@code -search} suffix does;</li>
 *   <li>{@link GeminiRequestWriter}, the chat translation's writer, writes the Gemini body.</li>
 * </ol>
 *
 * <p>Called on an event loop, once per request. Thread-safe; state lives in the shared {@link ThoughtSignatures}
 * and {@link ResponseStore}.
 */
public final class ResponsesRequestTranslator {
    private final ModelResolver models;
    private final GeminiRequestWriter writer;
    private final ResponseStore store;

    /**
     * @param models     model names, aliases and suffixes
     * @param signatures where thought signatures are found again (in the {@code call_id} of function calls)
     * @param store      the stored responses, for {@code previous_response_id}
     */
    public ResponsesRequestTranslator(ModelResolver models, ThoughtSignatures signatures, ResponseStore store) {
        this.models = Objects.requireNonNull(models, "models");
        this.writer = new GeminiRequestWriter(signatures, null);
        this.store = Objects.requireNonNull(store, "store");
    }

    /**
     * Translates a request body with the gateway's live defaults.
     *
     * @param body              the request body; not released, indices unchanged
     * @param defaultThinking   the default thinking level ({@link ThinkingPolicy})
     * @param systemInstruction the gateway's system instruction; empty for none
     * @param owner             the caller's token id ("" for the shared token): a stored response of another token
     *                          is unknown to it
     * @throws OpenAiRequestException when the request is invalid (400) or names an unknown previous response (404)
     */
    public TranslatedResponsesRequest translate(ByteBuf body, Thinking defaultThinking, String systemInstruction,
                                                String owner) {
        try (JsonParser p = Json.parser(body)) {
            return translate(p, body.readableBytes(), defaultThinking, systemInstruction, owner);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Translates a request body without the gateway's defaults, as the shared token's.
     *
     * @throws OpenAiRequestException when the request is invalid
     */
    public TranslatedResponsesRequest translate(byte[] body) {
        try (JsonParser p = Json.parser(body, 0, body.length)) {
            return translate(p, body.length, Thinking.AUTO, "", "");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private TranslatedResponsesRequest translate(JsonParser p, int sizeHint, Thinking defaultThinking,
                                                 String systemInstruction, String owner) throws IOException {
        ResponsesRequest r;
        try {
            r = ResponsesRequestParser.read(p);
        } catch (JsonParseException e) {
            throw new OpenAiRequestException(null, "We could not parse the JSON body of your request: "
                    + e.getOriginalMessage());
        }
        List<Message> earlier = null;
        if (r.previousResponseId != null) {
            ResponseStore.Entry e = store.get(r.previousResponseId, owner);
            if (e == null) {
                throw ResponseStore.notFound(r.previousResponseId, "previous_response_id");
            }
            earlier = e.conversation();
        }
        java.util.Set<String> referenced = new java.util.LinkedHashSet<>(2);
        if (r.previousResponseId != null) {
            referenced.add(r.previousResponseId);
        }
        List<Message> input = ResponsesRequestParser.nameResults(earlier, resolveReferences(r.input, referenced));
        List<Message> conversation = new ArrayList<>((earlier == null ? 0 : earlier.size()) + input.size());
        if (earlier != null) {
            conversation.addAll(earlier);
        }
        conversation.addAll(input);

        List<Message> messages = conversation;
        if (r.instructions != null && !r.instructions.isEmpty()) {
            messages = new ArrayList<>(conversation.size() + 1);
            List<Part> text = new ArrayList<>(1);
            text.add(new Part(PartKind.TEXT, r.instructions, null, null));
            messages.add(new Message(-1, "system", text, false, null, null, null));
            messages.addAll(conversation);
        }
        r.chat.messages = messages;
        ResolvedModel model = models.resolve(r.chat.model);
        if (r.webSearch && !model.search()) {
            model = new ResolvedModel(model.requested(), model.name(), true, model.thinking());
        }
        String ours = ModelFamily.takesSystemInstruction(model.name()) ? systemInstruction : "";
        TranslatedChatRequest chat;
        try {
            chat = writer.write(r.chat, model, sizeHint + ours.length(), defaultThinking, ours);
        } catch (OpenAiRequestException e) {
            if ("messages".equals(e.param())) { // the writer's name for the whole conversation
                throw new OpenAiRequestException("input", "input must contain at least one message or"
                        + " function_call_output with content.");
            }
            throw e;
        }
        return new TranslatedResponsesRequest(chat, Ids.random("resp_", 40), r, List.copyOf(conversation),
                List.copyOf(referenced));
    }

    /**
     * Replaces {@code item_reference} placeholders with the stored output items they name (a reasoning item or an
     * empty message: dropped), noting the responses that hold them in {@code referenced}.
     *
     * @throws OpenAiRequestException 404 for an unknown or expired item
     */
    private List<Message> resolveReferences(List<Message> input, java.util.Set<String> referenced) {
        List<Message> out = null;
        for (int k = 0; k < input.size(); k++) {
            Message m = input.get(k);
            if (!m.role().equals(ResponsesRequestParser.ITEM_REFERENCE)) {
                if (out != null) {
                    out.add(m);
                }
                continue;
            }
            if (out == null) {
                out = new ArrayList<>(input.subList(0, k));
            }
            ResponseStore.Item item = store.item(m.toolCallId());
            if (item == null) {
                throw new OpenAiRequestException(404, "input[" + m.index() + "].id", "Item with id '"
                        + ResponsesRequestParser.shorten(m.toolCallId()) + "' not found.", null);
            }
            referenced.add(item.responseId());
            Message stored = item.message();
            if (stored != null) {
                out.add(new Message(m.index(), stored.role(), stored.parts(), stored.contentNull(),
                        stored.toolCalls(), stored.toolCallId(), stored.name()));
            }
        }
        return out == null ? input : out;
    }
}
