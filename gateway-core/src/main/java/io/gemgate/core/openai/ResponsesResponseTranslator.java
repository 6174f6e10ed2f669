package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.gemgate.core.openai.ResponsesWriter.Item;
import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Translates a whole Gemini {@code generateContent} answer into an OpenAI Responses API response object (OpenAI's
 * Responses API reference, "The response object"); {@link ResponsesWriter} lists the mapping. Candidate 0 only: the
 * Responses API has no {@code n}.
 *
 * <p>Thread-safe: state lives in each call.
 */
public final class ResponsesResponseTranslator {
    private final ThoughtSignatures signatures;
    private final Clock clock;

    /**
     * @param signatures where the thought signatures of function calls go
     * @param clock      source of {@code created_at}
     */
    public ResponsesResponseTranslator(ThoughtSignatures signatures, Clock clock) {
        this.signatures = Objects.requireNonNull(signatures, "signatures");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Translates a whole answer.
     *
     * @param body not released, indices unchanged
     * @throws UpstreamFormatException when the body is not Gemini JSON
     */
    public ResponsesResult translate(TranslatedResponsesRequest request, ByteBuf body) {
        return translate(request, read(Json.parser(body), new GeminiResponse()), body.readableBytes());
    }

    /**
     * Translates a whole answer.
     *
     * @throws UpstreamFormatException when the body is not Gemini JSON
     */
    public ResponsesResult translate(TranslatedResponsesRequest request, byte[] body) {
        return translate(request, read(Json.parser(body, 0, body.length), new GeminiResponse()), body.length);
    }

    /**
     * Collects the events of a streamed upstream answer for a client that asked for a whole one (stream mode
     * {@code always}). Not thread-safe: one per attempt.
     */
    public static final class Collector {
        private final GeminiResponse answer = new GeminiResponse();
        private int bytes;

        /**
         * Adds one event.
         *
         * @param data one {@code data:} payload; not released, indices unchanged
         * @throws UpstreamFormatException when the payload is not Gemini JSON
         */
        public void add(ByteBuf data) {
            bytes += data.readableBytes();
            read(Json.parser(data), answer);
        }

        /** True once an event was Gemini's error event. */
        public boolean sawError() {
            return answer.error != null;
        }
    }

    /** Translates the collected events as one answer. */
    public ResponsesResult translate(TranslatedResponsesRequest request, Collector collected) {
        return translate(request, collected.answer, collected.bytes);
    }

    private static GeminiResponse read(JsonParser p, GeminiResponse r) {
        try (p) {
            r.read(p);
        } catch (IOException e) {
            throw new UpstreamFormatException("Gemini answer is not valid JSON: " + e.getMessage(), e);
        }
        return r;
    }

    private ResponsesResult translate(TranslatedResponsesRequest request, GeminiResponse r, int sizeHint) {
        if (r.error != null && r.size() == 0) {
            OpenAiError error = OpenAiErrors.fromGemini(0, r.error);
            return new ResponsesResult(error.toJson(), false, r.usage(), error, null);
        }
        GeminiResponse.Candidate c = null;
        for (int i = 0; i < r.size(); i++) {
            if (c == null || r.candidate(i).index < c.index) {
                c = r.candidate(i);
            }
        }
        List<Item> output = new ArrayList<>(2);
        if (c != null) {
            if (request.chat().reasoning() && c.thought.length() > 0) {
                output.add(ResponsesWriter.reasoning(c.thought.toString()));
            }
            if (c.text.length() > 0 || c.calls.isEmpty()) {
                output.add(ResponsesWriter.message(c.text));
            }
            for (GeminiResponse.Call call : c.calls) {
                output.add(ResponsesWriter.call(call, signatures));
            }
        }
        String incomplete = ResponsesWriter.incompleteReason(c == null ? null : c.finishReason, r.blockReason);
        ByteArrayBuilder out = new ByteArrayBuilder(Math.max(512, Math.min(sizeHint + 1024, 1 << 20)));
        try (JsonGenerator g = Json.generator(out)) {
            ResponsesWriter.writeResponse(g, request, clock.millis() / 1000,
                    incomplete == null ? "completed" : "incomplete", output, r, incomplete, null, true);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new ResponsesResult(out.toByteArray(), r.isEmpty(), r.usage(), null,
                ResponsesWriter.byItemId(output));
    }
}
