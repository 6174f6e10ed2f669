package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import io.gemgate.core.openai.ChatRequest.Message;
import io.gemgate.core.openai.ChatRequest.Part;
import io.gemgate.core.openai.ChatRequest.PartKind;
import io.gemgate.core.openai.ChatRequest.ToolCall;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes the objects of OpenAI's Responses API (OpenAI's Responses API reference: "The response object", output
 * items, usage) for {@link ResponsesResponseTranslator} and {@link ResponsesStreamTranslator}.
 *
 * <ul>
 *   <li>Output items, in the order Gemini produced them: a {@code reasoning} item whose {@code summary} holds the
 *       thought parts (only when {@code reasoning.summary} was asked for), a {@code message} item with one
 *       {@code output_text} part, and one {@code function_call} item per {@code functionCall} part, whose
 *       {@code call_id} carries the part's thought signature ({@link ThoughtSignatures}).</li>
 *   <li>{@code status}: {@code completed}; {@code incomplete} with {@code incomplete_details.reason}
 *       {@code max_output_tokens} (Gemini's MAX_TOKENS) or {@code content_filter} (a blocked prompt, SAFETY and the
 *       other filter reasons).</li>
 *   <li>{@code usage}: {@code input_tokens} = promptTokenCount + toolUsePromptTokenCount,
 *       {@code input_tokens_details.cached_tokens} = cachedContentTokenCount, {@code output_tokens} =
 *       candidatesTokenCount + thoughtsTokenCount, {@code output_tokens_details.reasoning_tokens} =
 *       thoughtsTokenCount.</li>
 *   <li>The request's members are echoed: {@code model} as sent, {@code instructions}, {@code max_output_tokens},
 *       {@code temperature}, {@code top_p}, {@code tools}, {@code tool_choice}, {@code text}, {@code reasoning},
 *       {@code parallel_tool_calls}, {@code store}, {@code previous_response_id}, {@code metadata}, with OpenAI's
 *       defaults when absent.</li>
 * </ul>
 *
 * <p>Stateless static methods; thread-safe.
 */
final class ResponsesWriter {
    private ResponsesWriter() {
    }

    enum Kind { REASONING, MESSAGE, CALL }

    /** One output item as it is built. Not thread-safe. */
    static final class Item {
        final Kind kind;
        final String id;
        final StringBuilder text = new StringBuilder();
        String name;
        String args;
        String callId;
        String signature;
        boolean done;

        Item(Kind kind, String id) {
            this.kind = kind;
            this.id = id;
        }
    }

    static Item reasoning(String text) {
        Item i = new Item(Kind.REASONING, Ids.random("rs_", 40));
        i.text.append(text);
        return i;
    }

    static Item message(CharSequence text) {
        Item i = new Item(Kind.MESSAGE, Ids.random("msg_", 40));
        i.text.append(text);
        return i;
    }

    static Item call(GeminiResponse.Call call, ThoughtSignatures signatures) {
        Item i = new Item(Kind.CALL, Ids.random("fc_", 40));
        i.name = call.name();
        i.args = call.args();
        i.signature = call.signature();
        i.callId = signatures.newToolCallId(call.signature());
        return i;
    }

    /** {@code status} and {@code incomplete_details.reason} from Gemini's finish or block reason. */
    static String incompleteReason(String finishReason, String blockReason) {
        if (blockReason != null) {
            return "content_filter";
        }
        if (finishReason == null) {
            return null;
        }
        if (finishReason.equals("MAX_TOKENS")) {
            return "max_output_tokens";
        }
        return GeminiResponse.FILTERED.contains(finishReason) ? "content_filter" : null;
    }

    /**
     * Writes the response object.
     *
     * @param status           {@code in_progress}, {@code completed}, {@code incomplete} or {@code failed}
     * @param output           the output items, or null for none yet
     * @param usage            the token counts, or null for {@code "usage": null}
     * @param incompleteReason the reason of an {@code incomplete} status, or null
     * @param error            the error of a {@code failed} status, or null
     * @param outputText       also write the SDKs' {@code output_text} convenience (the message texts joined)
     */
    static void writeResponse(JsonGenerator g, TranslatedResponsesRequest request, long createdAt, String status,
                              List<Item> output, GeminiResponse usage, String incompleteReason, OpenAiError error,
                              boolean outputText) throws IOException {
        ResponsesRequest e = request.echo;
        ChatRequest c = e.chat;
        g.writeStartObject();
        g.writeStringField("id", request.id());
        g.writeStringField("object", "response");
        g.writeNumberField("created_at", createdAt);
        g.writeStringField("status", status);
        g.writeBooleanField("background", false);
        if (error != null) {
            g.writeObjectFieldStart("error");
            g.writeStringField("code", error.code() != null ? error.code() : "server_error");
            g.writeStringField("message", error.message());
            g.writeEndObject();
        } else {
            g.writeNullField("error");
        }
        if (incompleteReason != null) {
            g.writeObjectFieldStart("incomplete_details");
            g.writeStringField("reason", incompleteReason);
            g.writeEndObject();
        } else {
            g.writeNullField("incomplete_details");
        }
        if (e.instructions != null) {
            g.writeStringField("instructions", e.instructions);
        } else {
            g.writeNullField("instructions");
        }
        if (c.maxCompletionTokens != null) {
            g.writeNumberField("max_output_tokens", c.maxCompletionTokens);
        } else {
            g.writeNullField("max_output_tokens");
        }
        g.writeStringField("model", request.chat().requestedModel());
        g.writeArrayFieldStart("output");
        if (output != null) {
            for (Item item : output) {
                writeItem(g, item, status.equals("in_progress") ? "in_progress" : "completed");
            }
        }
        g.writeEndArray();
        if (outputText && output != null) {
            StringBuilder sb = new StringBuilder();
            for (Item item : output) {
                if (item.kind == Kind.MESSAGE) {
                    sb.append(item.text);
                }
            }
            g.writeStringField("output_text", sb.toString());
        }
        g.writeBooleanField("parallel_tool_calls", e.parallelToolCalls);
        if (e.previousResponseId != null) {
            g.writeStringField("previous_response_id", e.previousResponseId);
        } else {
            g.writeNullField("previous_response_id");
        }
        g.writeObjectFieldStart("reasoning");
        writeNullable(g, "effort", e.effort);
        writeNullable(g, "summary", e.summary);
        g.writeEndObject();
        g.writeBooleanField("store", e.store);
        g.writeNumberField("temperature", c.temperature != null ? c.temperature : 1.0);
        g.writeFieldName("text");
        if (e.text != null) {
            JsonTree.write(g, e.text);
        } else {
            g.writeStartObject();
            g.writeObjectFieldStart("format");
            g.writeStringField("type", "text");
            g.writeEndObject();
            g.writeEndObject();
        }
        g.writeFieldName("tool_choice");
        if (e.toolChoice != null) {
            JsonTree.write(g, e.toolChoice);
        } else {
            g.writeString("auto");
        }
        g.writeFieldName("tools");
        if (e.tools != null) {
            JsonTree.write(g, e.tools);
        } else {
            g.writeStartArray();
            g.writeEndArray();
        }
        g.writeNumberField("top_p", c.topP != null ? c.topP : 1.0);
        g.writeStringField("truncation", "disabled");
        if (usage != null) {
            writeUsage(g, usage);
        } else {
            g.writeNullField("usage");
        }
        g.writeNullField("user");
        g.writeFieldName("metadata");
        if (e.metadata != null) {
            JsonTree.write(g, e.metadata);
        } else {
            g.writeStartObject();
            g.writeEndObject();
        }
        g.writeEndObject();
    }

    private static void writeNullable(JsonGenerator g, String name, String value) throws IOException {
        if (value != null) {
            g.writeStringField(name, value);
        } else {
            g.writeNullField(name);
        }
    }

    /** One output item, whole. */
    static void writeItem(JsonGenerator g, Item item, String status) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", item.id);
        switch (item.kind) {
            case REASONING -> {
                g.writeStringField("type", "reasoning");
                g.writeArrayFieldStart("summary");
                if (item.text.length() > 0) {
                    g.writeStartObject();
                    g.writeStringField("type", "summary_text");
                    g.writeStringField("text", item.text.toString());
                    g.writeEndObject();
                }
                g.writeEndArray();
            }
            case MESSAGE -> {
                g.writeStringField("type", "message");
                g.writeStringField("status", status);
                g.writeStringField("role", "assistant");
                g.writeArrayFieldStart("content");
                if (!status.equals("in_progress") || item.text.length() > 0) {
                    writeTextPart(g, item.text);
                }
                g.writeEndArray();
            }
            case CALL -> {
                g.writeStringField("type", "function_call");
                g.writeStringField("status", status);
                g.writeStringField("arguments", status.equals("in_progress") ? "" : item.args);
                g.writeStringField("call_id", item.callId);
                g.writeStringField("name", item.name);
            }
            default -> throw new IllegalStateException();
        }
        g.writeEndObject();
    }

    /** {@code {"type":"output_text","text":..,"annotations":[],"logprobs":[]}}. */
    static void writeTextPart(JsonGenerator g, CharSequence text) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", "output_text");
        g.writeStringField("text", text.toString());
        g.writeArrayFieldStart("annotations");
        g.writeEndArray();
        g.writeArrayFieldStart("logprobs");
        g.writeEndArray();
        g.writeEndObject();
    }

    static void writeUsage(JsonGenerator g, GeminiResponse r) throws IOException {
        long input = r.openAiPromptTokens();
        long output = r.openAiCompletionTokens();
        g.writeObjectFieldStart("usage");
        g.writeNumberField("input_tokens", input);
        g.writeObjectFieldStart("input_tokens_details");
        g.writeNumberField("cached_tokens", r.cachedTokens);
        g.writeEndObject();
        g.writeNumberField("output_tokens", output);
        g.writeObjectFieldStart("output_tokens_details");
        g.writeNumberField("reasoning_tokens", r.thoughtsTokens);
        g.writeEndObject();
        g.writeNumberField("total_tokens", input + output);
        g.writeEndObject();
    }

    /** The output as conversation messages for {@link ResponseStore}: texts and calls, reasoning left out. */
    static List<Message> toMessages(List<Item> output) {
        List<Message> out = new ArrayList<>(output.size());
        for (Message m : byItemId(output).values()) {
            if (m != null) {
                out.add(m);
            }
        }
        return out;
    }

    /**
     * The output items as conversation messages by item id, in order, for {@code item_reference}s; a reasoning item or
     * an empty message maps to null (nothing for Gemini).
     */
    static java.util.LinkedHashMap<String, Message> byItemId(List<Item> output) {
        java.util.LinkedHashMap<String, Message> out = new java.util.LinkedHashMap<>();
        for (Item item : output) {
            Message m = null;
            switch (item.kind) {
                case MESSAGE -> {
                    if (item.text.length() > 0) {
                        List<Part> parts = new ArrayList<>(1);
                        parts.add(new Part(PartKind.TEXT, item.text.toString(), null, null));
                        m = new Message(-1, "assistant", parts, false, null, null, null);
                    }
                }
                case CALL -> {
                    List<ToolCall> calls = new ArrayList<>(1);
                    calls.add(new ToolCall(item.callId, item.name, ResponsesRequestParser.arguments(item.args),
                            item.signature));
                    m = new Message(-1, "assistant", null, true, calls, null, null);
                }
                default -> {
                }
            }
            out.put(item.id, m);
        }
        return out;
    }
}
