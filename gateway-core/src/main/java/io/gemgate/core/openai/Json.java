package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteFeature;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/**
 * The one {@link JsonFactory} of the OpenAI translation and small helpers around it. The factory is thread-safe and
 * recycles its buffers, so parsers and generators are cheap to create per request or per event.
 */
final class Json {
    /**
     * Strings may be as long as a request body: an image data URL in a 20 MiB body is one string, above Jackson's
     * default 20M-char limit. The body size limit of the server bounds them instead.
     */
    static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxStringLength(Integer.MAX_VALUE)
                    .maxNestingDepth(256)
                    .build())
            .disable(StreamReadFeature.AUTO_CLOSE_SOURCE)
            .disable(StreamWriteFeature.AUTO_CLOSE_TARGET)
            .build();

    private Json() {
    }

    static JsonParser parser(byte[] b, int off, int len) {
        try {
            return FACTORY.createParser(b, off, len);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A parser over the readable bytes of {@code buf}; neither the buffer's indices nor its refCnt change. */
    static JsonParser parser(ByteBuf buf) {
        try {
            if (buf.hasArray()) {
                return FACTORY.createParser(buf.array(), buf.arrayOffset() + buf.readerIndex(), buf.readableBytes());
            }
            return FACTORY.createParser((java.io.InputStream) new ByteBufInputStream(buf.duplicate(), false));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonParser parser(String s) {
        try {
            return FACTORY.createParser(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonGenerator generator(OutputStream out) {
        try {
            return FACTORY.createGenerator(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads the next token; fails on a truncated document. */
    static JsonToken next(JsonParser p) throws IOException {
        JsonToken t = p.nextToken();
        if (t == null) {
            throw new com.fasterxml.jackson.core.JsonParseException(p, "Unexpected end of JSON");
        }
        return t;
    }

    /** Fails unless the parser is at the end of the input (one value per document). */
    static void expectEnd(JsonParser p) throws IOException {
        if (p.nextToken() != null) {
            throw new com.fasterxml.jackson.core.JsonParseException(p, "Unexpected content after the JSON value");
        }
    }

    /** Appends the current string token's characters to {@code sb} without creating a String. */
    static void appendText(JsonParser p, StringBuilder sb) throws IOException {
        sb.append(p.getTextCharacters(), p.getTextOffset(), p.getTextLength());
    }
}
