package io.gemgate.core.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.gemgate.core.openai.ModelFamily;
import io.gemgate.core.settings.Thinking;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Puts the gateway's live defaults into a native {@code generateContent} / {@code streamGenerateContent} body:
 * <ul>
 *   <li>the system instruction, as the first part of {@code systemInstruction} (or {@code system_instruction}):
 *       before the request's own parts, or as the whole member when the request has none;</li>
 *   <li>the default thinking, in {@code generationConfig.thinkingConfig} (snake_case names accepted): a level
 *       ({@link Thinking#LOW} to {@link Thinking#HIGH}) only when the request sets neither a budget nor a level;
 *       {@link Thinking#OFF} always, replacing the request's budget or level. A budget on Gemini 2.5, a level on
 *       Gemini 3 ({@link ModelFamily}); models without thinking control are left alone. Other members of
 *       {@code thinkingConfig}, such as {@code includeThoughts}, are kept.</li>
 * </ul>
 *
 * <p>Splicing, not copying: the body is scanned once with Jackson's streaming parser, which skips over string
 * contents (megabytes of inline base64) without decoding them. The result is a composite of retained slices of the
 * original around the few pieces written anew (the {@code systemInstruction} and {@code thinkingConfig} objects,
 * or an inserted member), so no byte of the original is copied whatever its size.
 *
 * <p>Bodies it cannot read are left to Google to judge: invalid JSON, a body that is not one object, a non-UTF-8
 * body, or these members with unexpected types go upstream unchanged.
 *
 * <p>Immutable and thread-safe; made per request when a setting applies ({@link #of}).
 */
public final class NativeBodyRewriter {
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE).build())
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES) // names come from clients
            .disable(StreamReadFeature.AUTO_CLOSE_SOURCE)
            .build();
    /** The last system instruction encoded: the settings keep one string until they change. */
    private static volatile Encoded lastInstruction;

    private record Encoded(String text, SerializableString part) {
    }

    /** Bytes [start, end) of the body replaced by {@code bytes} (an insertion when start == end). */
    private record Splice(int start, int end, byte[] bytes) {
    }

    /** The body cannot be rewritten safely: it goes on unchanged. */
    private static final class Unreadable extends Exception {
        Unreadable() {
            super(null, null, false, false);
        }
    }

    private static final Unreadable UNREADABLE = new Unreadable();

    /** {@code {"text":"..."}}, or null. */
    private final SerializableString instruction;
    /** The thinking directive, or null for none. */
    private final Thinking thinking;
    private final int budget;
    private final String level;

    private NativeBodyRewriter(SerializableString instruction, Thinking thinking, int budget, String level) {
        this.instruction = instruction;
        this.thinking = thinking;
        this.budget = budget;
        this.level = level;
    }

    /**
     * The rewriter for one request, or null when nothing applies (no instruction, and thinking {@link Thinking#AUTO}
     * or a model without thinking control): then the body goes on as it is, unread.
     *
     * @param systemInstruction the gateway's instruction; empty for none
     * @param thinking          the default thinking level
     * @param model             the model the request names, without {@code models/}
     */
    public static NativeBodyRewriter of(String systemInstruction, Thinking thinking, String model) {
        ModelFamily family = ModelFamily.of(model);
        if (!ModelFamily.takesSystemInstruction(model)) {
            systemInstruction = "";
        }
        boolean think = thinking != Thinking.AUTO && family.hasThinkingControl();
        if (systemInstruction.isEmpty() && !think) {
            return null;
        }
        return new NativeBodyRewriter(systemInstruction.isEmpty() ? null : encode(systemInstruction),
                think ? thinking : null, think && family.usesBudget() ? family.budgetFor(thinking) : -1,
                think && family.usesLevel() ? family.levelFor(model, thinking) : null);
    }

    private static SerializableString encode(String text) {
        Encoded e = lastInstruction;
        if (e == null || e.text != text) { // identity on purpose: the same settings object, the same string
            String quoted = new String(JsonStringEncoder.getInstance().quoteAsString(text));
            e = new Encoded(text, new SerializedString("{\"text\":\"" + quoted + "\"}"));
            lastInstruction = e;
        }
        return e.part;
    }

    /**
     * Rewrites a request body.
     *
     * @param body the request body; ownership passes
     * @return the body to send, owned by the caller: {@code body} itself when it goes on unchanged, else a new
     *         buffer holding retained slices of it ({@code body} is released)
     */
    public ByteBuf rewrite(ByteBuf body, ByteBufAllocator alloc) {
        List<Splice> splices;
        try (JsonParser p = parser(body)) {
            splices = scan(p);
        } catch (IOException | Unreadable e) {
            return body;
        }
        int base = body.readerIndex();
        int length = body.readableBytes();
        CompositeByteBuf out = alloc.compositeBuffer(2 * splices.size() + 1);
        int pos = 0;
        for (Splice s : splices) {
            if (s.start > pos) {
                out.addComponent(true, body.retainedSlice(base + pos, s.start - pos));
            }
            out.addComponent(true, Unpooled.wrappedBuffer(s.bytes));
            pos = s.end;
        }
        if (pos < length) {
            out.addComponent(true, body.retainedSlice(base + pos, length - pos));
        }
        body.release();
        return out;
    }

    private static JsonParser parser(ByteBuf body) throws IOException {
        if (body.hasArray()) {
            return FACTORY.createParser(body.array(), body.arrayOffset() + body.readerIndex(), body.readableBytes());
        }
        return FACTORY.createParser((InputStream) new ByteBufInputStream(body.duplicate(), false));
    }

    /** The splices in body order; at least one (a member inserted into the root object, or a replacement). */
    private List<Splice> scan(JsonParser p) throws IOException, Unreadable {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            throw UNREADABLE;
        }
        int root = start(p);
        List<Splice> splices = new ArrayList<>(3);
        boolean sawInstruction = false;
        boolean sawConfig = false;
        int members = 0;
        JsonToken t;
        while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
            members++;
            String name = p.currentName();
            JsonToken v = p.nextToken();
            if (instruction != null && (name.equals("systemInstruction") || name.equals("system_instruction"))) {
                sawInstruction = true;
                int start = start(p);
                byte[] bytes = instructionValue(p, v);
                splices.add(new Splice(start, end(p, start), bytes));
            } else if (thinking != null && (name.equals("generationConfig") || name.equals("generation_config"))) {
                sawConfig = true;
                generationConfig(p, v, splices);
            } else if (v == null) {
                throw UNREADABLE;
            } else {
                p.skipChildren();
            }
        }
        if (t != JsonToken.END_OBJECT || p.nextToken() != null) {
            throw UNREADABLE;
        }
        boolean addInstruction = instruction != null && !sawInstruction;
        boolean addConfig = thinking != null && !sawConfig;
        if (addInstruction || addConfig) {
            ByteArrayBuilder b = new ByteArrayBuilder(128);
            try (JsonGenerator g = FACTORY.createGenerator(b)) {
                g.writeStartObject();
                if (addInstruction) {
                    g.writeFieldName("systemInstruction");
                    writeInstruction(g);
                }
                if (addConfig) {
                    g.writeFieldName("generationConfig");
                    writeConfig(g);
                }
                g.writeEndObject();
            }
            splices.add(0, new Splice(root + 1, root + 1, members(b.toByteArray(), members > 0)));
        }
        return splices;
    }

    /** The new {@code systemInstruction} value: ours alone, or ours first in the request's parts. */
    private byte[] instructionValue(JsonParser p, JsonToken v) throws IOException, Unreadable {
        ByteArrayBuilder b = new ByteArrayBuilder(256);
        try (JsonGenerator g = FACTORY.createGenerator(b)) {
            if (v == JsonToken.VALUE_NULL) {
                writeInstruction(g);
            } else if (v == JsonToken.START_OBJECT) {
                g.writeStartObject();
                boolean sawParts = false;
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    JsonToken m = p.nextToken();
                    g.writeFieldName(name);
                    if (name.equals("parts")) {
                        sawParts = true;
                        g.writeStartArray();
                        g.writeRawValue(instruction);
                        if (m == JsonToken.START_ARRAY) {
                            while (p.nextToken() != JsonToken.END_ARRAY) {
                                g.copyCurrentStructure(p);
                            }
                        } else if (m != JsonToken.VALUE_NULL) {
                            throw UNREADABLE;
                        }
                        g.writeEndArray();
                    } else {
                        g.copyCurrentStructure(p);
                    }
                }
                if (!sawParts) {
                    g.writeArrayFieldStart("parts");
                    g.writeRawValue(instruction);
                    g.writeEndArray();
                }
                g.writeEndObject();
            } else {
                throw UNREADABLE;
            }
        }
        return b.toByteArray();
    }

    /** Splices the thinking directive into a {@code generationConfig} value. */
    private void generationConfig(JsonParser p, JsonToken v, List<Splice> splices) throws IOException, Unreadable {
        if (v == JsonToken.VALUE_NULL) {
            int start = start(p);
            splices.add(new Splice(start, start + 4, config()));
            return;
        }
        if (v != JsonToken.START_OBJECT) {
            throw UNREADABLE;
        }
        int open = start(p);
        int members = 0;
        boolean sawThinking = false;
        int before = splices.size();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            members++;
            String name = p.currentName();
            JsonToken m = p.nextToken();
            if (name.equals("thinkingConfig") || name.equals("thinking_config")) {
                sawThinking = true;
                int start = start(p);
                byte[] bytes = thinkingValue(p, m);
                if (bytes != null) {
                    splices.add(new Splice(start, end(p, start), bytes));
                }
            } else {
                p.skipChildren();
            }
        }
        if (!sawThinking) {
            splices.add(before, new Splice(open + 1, open + 1, members(config(), members > 0)));
        }
    }

    /**
     * The new {@code thinkingConfig} value, or null to leave the request's as it is (a level setting and a request
     * that sets its own budget or level).
     */
    private byte[] thinkingValue(JsonParser p, JsonToken v) throws IOException, Unreadable {
        ByteArrayBuilder b = new ByteArrayBuilder(64);
        boolean own = false;
        try (JsonGenerator g = FACTORY.createGenerator(b)) {
            if (v == JsonToken.START_OBJECT) {
                g.writeStartObject();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    p.nextToken();
                    if (name.equals("thinkingBudget") || name.equals("thinking_budget")
                            || name.equals("thinkingLevel") || name.equals("thinking_level")) {
                        own = true;
                        p.skipChildren();
                    } else {
                        g.writeFieldName(name);
                        g.copyCurrentStructure(p);
                    }
                }
                writeDirective(g);
                g.writeEndObject();
            } else if (v == JsonToken.VALUE_NULL) {
                writeThinking(g);
            } else {
                throw UNREADABLE;
            }
        }
        return own && thinking != Thinking.OFF ? null : b.toByteArray();
    }

    /** The members of a JSON object written by a generator (its braces cut off), with a comma to go before others. */
    private static byte[] members(byte[] object, boolean comma) {
        byte[] inner = new byte[object.length - 2 + (comma ? 1 : 0)];
        System.arraycopy(object, 1, inner, 0, object.length - 2);
        if (comma) {
            inner[inner.length - 1] = ',';
        }
        return inner;
    }

    /** {@code {"thinkingConfig":{...}}}. */
    private byte[] config() throws IOException {
        ByteArrayBuilder b = new ByteArrayBuilder(64);
        try (JsonGenerator g = FACTORY.createGenerator(b)) {
            writeConfig(g);
        }
        return b.toByteArray();
    }

    private void writeConfig(JsonGenerator g) throws IOException {
        g.writeStartObject();
        g.writeFieldName("thinkingConfig");
        writeThinking(g);
        g.writeEndObject();
    }

    private void writeInstruction(JsonGenerator g) throws IOException {
        g.writeStartObject();
        g.writeArrayFieldStart("parts");
        g.writeRawValue(instruction);
        g.writeEndArray();
        g.writeEndObject();
    }

    private void writeThinking(JsonGenerator g) throws IOException {
        g.writeStartObject();
        writeDirective(g);
        g.writeEndObject();
    }

    private void writeDirective(JsonGenerator g) throws IOException {
        if (level != null) {
            g.writeStringField("thinkingLevel", level);
        } else {
            g.writeNumberField("thinkingBudget", budget);
        }
    }

    /** Offset of the current token from the start of the body. */
    private static int start(JsonParser p) throws Unreadable {
        long offset = p.currentTokenLocation().getByteOffset();
        if (offset < 0) { // a parser over characters (UTF-16 or UTF-32 input): no byte offsets
            throw UNREADABLE;
        }
        return (int) offset;
    }

    /** The end offset of the value that started at {@code start} and that the parser has just read to its end. */
    private static int end(JsonParser p, int start) throws Unreadable {
        JsonToken t = p.currentToken();
        return t == JsonToken.VALUE_NULL ? start + 4 : start(p) + 1; // "null", or the closing brace
    }
}
