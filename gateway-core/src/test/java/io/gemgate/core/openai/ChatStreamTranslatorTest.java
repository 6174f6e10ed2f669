package io.gemgate.core.openai;

import com.fasterxml.jackson.databind.JsonNode;
import io.gemgate.core.json.Usage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import static io.gemgate.core.openai.Jsons.bytes;
import static io.gemgate.core.openai.Jsons.json;
import static io.gemgate.core.openai.Jsons.tree;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Gemini SSE events to OpenAI chunks (OpenAI API reference: The chat completion chunk object). */
class ChatStreamTranslatorTest {
    static final Clock CLOCK = Clock.fixed(Instant.ofEpochSecond(1732233600), ZoneOffset.UTC);
    static final ThoughtSignatures SIGNATURES = ThoughtSignatures.inId();

    /** A stream request: model name as the client sent it, reasoning, include_usage, n. */
    static ChatStreamTranslator stream(boolean reasoning, boolean includeUsage, int n) {
        return new ChatStreamTranslator(new TranslatedChatRequest("gemini-2.5-flash", "gemini-2.5-flash", true,
                includeUsage, n, reasoning, new byte[0]), SIGNATURES, CLOCK);
    }

    /** Feeds events and finish(), returning every frame's payload ("[DONE]" stays a string). */
    static List<String> run(ChatStreamTranslator s, String... relaxedEvents) {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (String e : relaxedEvents) {
            all.writeBytes(s.onEvent(bytes(e)));
        }
        all.writeBytes(s.finish());
        return frames(all.toByteArray());
    }

    /** Splits SSE output into payloads, checking the framing. */
    static List<String> frames(byte[] sse) {
        String text = new String(sse, StandardCharsets.UTF_8);
        List<String> out = new ArrayList<>();
        if (text.isEmpty()) {
            return out;
        }
        assertThat(text).endsWith("\n\n");
        for (String frame : text.substring(0, text.length() - 2).split("\n\n", -1)) {
            assertThat(frame).startsWith("data: ").doesNotContain("\n");
            out.add(frame.substring("data: ".length()));
        }
        return out;
    }

    static JsonNode chunk(List<String> frames, int i) {
        return tree(frames.get(i));
    }

    static String event(String parts, String finish) {
        return "{'candidates':[{'content':{'role':'model','parts':" + parts + "}"
                + (finish == null ? "" : ",'finishReason':'" + finish + "'") + ",'index':0}],'responseId':'abc'}";
    }

    @Test
    void textStream() {
        ChatStreamTranslator s = stream(false, false, 1);
        List<String> f = run(s,
                event("[{'text':'It is'}]", null),
                event("[{'text':' 21°C'}]", null),
                event("[{'text':', \\\"clear\\\".'}]", "STOP"));
        assertThat(f).hasSize(4);
        assertThat(chunk(f, 0)).isEqualTo(json("{'id':'chatcmpl-abc','object':'chat.completion.chunk',"
                + "'created':1732233600,'model':'gemini-2.5-flash','choices':[{'index':0,'delta':{'role':'assistant',"
                + "'content':'It is'},'logprobs':null,'finish_reason':null}]}"));
        assertThat(chunk(f, 1).get("choices")).isEqualTo(json("[{'index':0,'delta':{'content':' 21°C'},"
                + "'logprobs':null,'finish_reason':null}]"));
        assertThat(chunk(f, 2).at("/choices/0/delta/content").asText()).isEqualTo(", \"clear\".");
        assertThat(chunk(f, 2).at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        assertThat(f.get(3)).isEqualTo("[DONE]");
        assertThat(s.sawContent()).isTrue();
        assertThat(s.isDone()).isTrue();
        assertThat(s.id()).isEqualTo("chatcmpl-abc");
    }

    @Test
    void everyChunkHasTheSameIdCreatedAndModel() {
        List<String> f = run(stream(false, true, 1),
                "{'candidates':[{'content':{'parts':[{'text':'a'}]}}],'responseId':'first'}",
                "{'candidates':[{'content':{'parts':[{'text':'b'}]},'finishReason':'STOP'}],'responseId':'second'}");
        for (int i = 0; i < f.size() - 1; i++) {
            JsonNode c = chunk(f, i);
            assertThat(c.get("id").asText()).isEqualTo("chatcmpl-first");
            assertThat(c.get("created").asLong()).isEqualTo(1732233600L);
            assertThat(c.get("model").asText()).isEqualTo("gemini-2.5-flash");
            assertThat(c.get("object").asText()).isEqualTo("chat.completion.chunk");
        }
    }

    @Test
    void generatedIdWithoutResponseId() {
        ChatStreamTranslator s = stream(false, false, 1);
        List<String> f = run(s, "{'candidates':[{'content':{'parts':[{'text':'a'}]},'finishReason':'STOP'}]}");
        assertThat(chunk(f, 0).get("id").asText()).startsWith("chatcmpl-").isEqualTo(s.id());
    }

    @Test
    void includeUsageAddsNullUsageToEveryChunkAndAFinalUsageChunk() {
        ChatStreamTranslator s = stream(false, true, 1);
        List<String> f = run(s,
                "{'candidates':[{'content':{'parts':[{'text':'Hi'}]}}],'usageMetadata':{'promptTokenCount':9,"
                        + "'totalTokenCount':9},'responseId':'r'}",
                "{'candidates':[{'content':{'parts':[{'text':'!'}]},'finishReason':'STOP'}],'usageMetadata':{"
                        + "'promptTokenCount':9,'candidatesTokenCount':2,'thoughtsTokenCount':5,'totalTokenCount':16,"
                        + "'cachedContentTokenCount':4},'responseId':'r'}");
        assertThat(f).hasSize(4);
        assertThat(chunk(f, 0).has("usage")).isTrue();
        assertThat(chunk(f, 0).get("usage").isNull()).isTrue();
        assertThat(chunk(f, 1).get("usage").isNull()).isTrue();
        assertThat(chunk(f, 2)).isEqualTo(json("{'id':'chatcmpl-r','object':'chat.completion.chunk',"
                + "'created':1732233600,'model':'gemini-2.5-flash','choices':[],'usage':{'prompt_tokens':9,"
                + "'completion_tokens':7,'total_tokens':16,'prompt_tokens_details':{'cached_tokens':4},"
                + "'completion_tokens_details':{'reasoning_tokens':5}}}"));
        assertThat(f.get(3)).isEqualTo("[DONE]");
        assertThat(s.usage()).isEqualTo(new Usage(9, 2, 5, 16, 4));
    }

    @Test
    void withoutIncludeUsageThereIsNoUsageMember() {
        List<String> f = run(stream(false, false, 1), "{'candidates':[{'content':{'parts':[{'text':'x'}]},"
                + "'finishReason':'STOP'}],'usageMetadata':{'promptTokenCount':1}}");
        assertThat(f).hasSize(2);
        assertThat(chunk(f, 0).has("usage")).isFalse();
    }

    @Test
    void reasoningStreamsAsReasoningContentWhenAskedFor() {
        List<String> f = run(stream(true, false, 1),
                event("[{'text':'Checking units...','thought':true}]", null),
                event("[{'text':'It is 21C.'}]", "STOP"));
        assertThat(chunk(f, 0).at("/choices/0/delta")).isEqualTo(json("{'role':'assistant','content':'',"
                + "'reasoning_content':'Checking units...'}"));
        assertThat(chunk(f, 1).at("/choices/0/delta")).isEqualTo(json("{'content':'It is 21C.'}"));
    }

    @Test
    void reasoningAndTextInOneEventShareOneChunk() {
        List<String> f = run(stream(true, false, 1),
                event("[{'text':'think','thought':true},{'text':'say'}]", "STOP"));
        assertThat(f).hasSize(2);
        assertThat(chunk(f, 0).at("/choices/0/delta")).isEqualTo(json("{'role':'assistant','reasoning_content':'think',"
                + "'content':'say'}"));
    }

    @Test
    void thoughtsAreDroppedWhenNotAskedFor() {
        ChatStreamTranslator s = stream(false, false, 1);
        assertThat(s.onEvent(bytes(event("[{'text':'Checking...','thought':true}]", null)))).isEmpty();
        assertThat(s.sawContent()).isFalse();
        List<String> f = frames(s.onEvent(bytes(event("[{'text':'Answer'}]", "STOP"))));
        assertThat(chunk(f, 0).at("/choices/0/delta")).isEqualTo(json("{'role':'assistant','content':'Answer'}"));
    }

    @Test
    void parallelCallsToTheSameFunctionKeepTheirOwnIndex() {
        List<String> f = run(stream(false, false, 1),
                event("[{'functionCall':{'name':'get_weather','args':{'city':'Paris'}}},"
                        + "{'functionCall':{'name':'get_weather','args':{'city':'Rome'}}}]", "STOP"));
        assertThat(f).hasSize(2);
        JsonNode choice = chunk(f, 0).at("/choices/0");
        assertThat(choice.get("finish_reason").asText()).isEqualTo("tool_calls");
        JsonNode delta = choice.get("delta");
        assertThat(delta.get("role").asText()).isEqualTo("assistant");
        assertThat(delta.get("content").isNull()).isTrue();
        JsonNode calls = delta.get("tool_calls");
        assertThat(calls).hasSize(2);
        for (int i = 0; i < 2; i++) {
            JsonNode call = calls.get(i);
            assertThat(call.get("index").asInt()).isEqualTo(i);
            assertThat(call.get("id").asText()).startsWith("call_");
            assertThat(call.get("type").asText()).isEqualTo("function");
            assertThat(call.at("/function/name").asText()).isEqualTo("get_weather");
        }
        assertThat(calls.get(0).get("id").asText()).isNotEqualTo(calls.get(1).get("id").asText());
        assertThat(tree(calls.get(0).at("/function/arguments").asText())).isEqualTo(json("{'city':'Paris'}"));
        assertThat(tree(calls.get(1).at("/function/arguments").asText())).isEqualTo(json("{'city':'Rome'}"));
    }

    @Test
    void toolCallIndexesContinueAcrossEvents() {
        List<String> f = run(stream(false, false, 1),
                event("[{'text':'Looking.'}]", null),
                event("[{'functionCall':{'name':'a','args':{}}}]", null),
                event("[{'functionCall':{'name':'b','args':{'x':true}}}]", null));
        assertThat(f).hasSize(5);
        assertThat(chunk(f, 1).at("/choices/0/delta/tool_calls/0/index").asInt()).isZero();
        assertThat(chunk(f, 1).at("/choices/0/delta").has("role")).isFalse();
        assertThat(chunk(f, 2).at("/choices/0/delta/tool_calls/0/index").asInt()).isEqualTo(1);
        assertThat(chunk(f, 3).get("choices")).isEqualTo(json("[{'index':0,'delta':{},'logprobs':null,"
                + "'finish_reason':'tool_calls'}]"));
    }

    @Test
    void gemini3TrailingEmptyStopAfterAFunctionCallEndsInToolCalls() {
        ChatStreamTranslator s = stream(false, false, 1);
        List<String> f = run(s,
                event("[{'functionCall':{'name':'f','args':{}},'thoughtSignature':'c2ln'}]", null),
                event("[{'text':''}]", "STOP"));
        assertThat(f).hasSize(3);
        assertThat(chunk(f, 0).at("/choices/0/finish_reason").isNull()).isTrue();
        assertThat(chunk(f, 1).get("choices")).isEqualTo(json("[{'index':0,'delta':{},'logprobs':null,"
                + "'finish_reason':'tool_calls'}]"));
        assertThat(f.get(2)).isEqualTo("[DONE]");
    }

    @Test
    void toolCallCarriesTheThoughtSignature() {
        String sig = Base64.getEncoder().encodeToString(new byte[300]);
        List<String> f = run(stream(false, false, 1),
                event("[{'functionCall':{'name':'f','args':{}},'thoughtSignature':'" + sig + "'}]", "STOP"));
        JsonNode call = chunk(f, 0).at("/choices/0/delta/tool_calls/0");
        assertThat(SIGNATURES.signatureOf(call.get("id").asText())).isEqualTo(sig);
        assertThat(call.at("/extra_content/google/thought_signature").asText()).isEqualTo(sig);
    }

    @Test
    void maxTokensIsLength() {
        List<String> f = run(stream(false, false, 1), event("[{'text':'cut'}]", "MAX_TOKENS"));
        assertThat(chunk(f, 0).at("/choices/0/finish_reason").asText()).isEqualTo("length");
    }

    @Test
    void safetyWithoutContentIsSentAtOnce() {
        ChatStreamTranslator s = stream(false, false, 1);
        List<String> f = frames(s.onEvent(bytes("{'candidates':[{'finishReason':'SAFETY','index':0}]}")));
        assertThat(chunk(f, 0).get("choices")).isEqualTo(json("[{'index':0,'delta':{'role':'assistant','content':''},"
                + "'logprobs':null,'finish_reason':'content_filter'}]"));
        assertThat(s.sawContent()).isTrue();
        assertThat(frames(s.finish())).containsExactly("[DONE]");
    }

    @Test
    void missingFinishReasonIsAddedByFinish() {
        List<String> f = run(stream(false, false, 1), event("[{'text':'cut off'}]", null));
        assertThat(f).hasSize(3);
        assertThat(chunk(f, 1).get("choices")).isEqualTo(json("[{'index':0,'delta':{},'logprobs':null,"
                + "'finish_reason':'stop'}]"));
    }

    @Test
    void missingFinishReasonAfterACallIsToolCalls() {
        List<String> f = run(stream(false, false, 1), event("[{'functionCall':{'name':'f','args':{}}}]", null));
        assertThat(chunk(f, 1).at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
    }

    @Test
    void emptyAnswerWritesNothingUntilFinish() {
        ChatStreamTranslator s = stream(false, true, 1);
        assertThat(s.onEvent(bytes("{'usageMetadata':{'promptTokenCount':4},'responseId':'e'}"))).isEmpty();
        assertThat(s.onEvent(bytes(event("[{'text':''}]", null)))).isEmpty();
        assertThat(s.onEvent(bytes(event("[{'text':''}]", "STOP")))).isEmpty();
        assertThat(s.sawContent()).isFalse();
        // The server would retry on another key here; on the last key it finishes the empty answer:
        List<String> f = frames(s.finish());
        assertThat(f).hasSize(3);
        assertThat(chunk(f, 0).get("choices")).isEqualTo(json("[{'index':0,'delta':{'role':'assistant','content':''},"
                + "'logprobs':null,'finish_reason':'stop'}]"));
        assertThat(chunk(f, 1).at("/usage/prompt_tokens").asInt()).isEqualTo(4);
        assertThat(f.get(2)).isEqualTo("[DONE]");
    }

    @Test
    void finishWithoutAnyEventStillEndsWellFormed() {
        ChatStreamTranslator s = stream(false, false, 1);
        List<String> f = frames(s.finish());
        assertThat(f).hasSize(2);
        assertThat(chunk(f, 0).at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        assertThat(f.get(1)).isEqualTo("[DONE]");
        assertThat(s.finish()).isEmpty();
    }

    @Test
    void blockedPromptIsOneFilteredChoice() {
        List<String> f = run(stream(false, false, 1), "{'promptFeedback':{'blockReason':'PROHIBITED_CONTENT'},"
                + "'usageMetadata':{'promptTokenCount':7},'responseId':'b'}");
        assertThat(f).hasSize(2);
        assertThat(chunk(f, 0).get("choices")).isEqualTo(json("[{'index':0,'delta':{'role':'assistant','content':''},"
                + "'logprobs':null,'finish_reason':'content_filter'}]"));
    }

    @Test
    void severalCandidatesAreSeveralChoices() {
        List<String> f = run(stream(false, false, 2),
                "{'candidates':[{'content':{'parts':[{'text':'A'}]},'index':0},{'content':{'parts':[{'text':'B'}]},"
                        + "'index':1}],'responseId':'n'}",
                "{'candidates':[{'content':{'parts':[{'text':'.'}]},'finishReason':'STOP','index':1}],'responseId':'n'}");
        assertThat(f).hasSize(4);
        assertThat(chunk(f, 0).get("choices")).isEqualTo(json("[{'index':0,'delta':{'role':'assistant','content':'A'},"
                + "'logprobs':null,'finish_reason':null},{'index':1,'delta':{'role':'assistant','content':'B'},"
                + "'logprobs':null,'finish_reason':null}]"));
        assertThat(chunk(f, 1).get("choices")).isEqualTo(json("[{'index':1,'delta':{'content':'.'},'logprobs':null,"
                + "'finish_reason':'stop'}]"));
        assertThat(chunk(f, 2).get("choices")).isEqualTo(json("[{'index':0,'delta':{},'logprobs':null,"
                + "'finish_reason':'stop'}]"));
    }

    @Test
    void errorEventAfterContentWritesAnErrorFrameAndEnds() {
        ChatStreamTranslator s = stream(false, false, 1);
        s.onEvent(bytes(event("[{'text':'partial'}]", null)));
        List<String> f = frames(s.onEvent(bytes("{'error':{'code':503,'message':'The model is overloaded.',"
                + "'status':'UNAVAILABLE'}}")));
        assertThat(chunk(f, 0)).isEqualTo(json("{'error':{'message':'The model is overloaded.','type':'server_error',"
                + "'param':null,'code':null}}"));
        assertThat(s.upstreamError().status()).isEqualTo(503);
        assertThat(s.isDone()).isTrue();
        assertThat(s.finish()).isEmpty();
        assertThat(s.onEvent(bytes(event("[{'text':'more'}]", null)))).isEmpty();
    }

    @Test
    void errorEventBeforeContentWritesNothingSoTheServerCanRetry() {
        ChatStreamTranslator s = stream(false, false, 1);
        assertThat(s.onEvent(bytes("{'error':{'code':429,'message':'quota','status':'RESOURCE_EXHAUSTED'}}"))).isEmpty();
        assertThat(s.sawContent()).isFalse();
        assertThat(s.upstreamError().status()).isEqualTo(429);
    }

    @Test
    void errorFrameForGatewayFailures() {
        ChatStreamTranslator s = stream(false, false, 1);
        s.onEvent(bytes(event("[{'text':'partial'}]", null)));
        List<String> f = frames(s.error("upstream connection reset"));
        assertThat(chunk(f, 0)).isEqualTo(json("{'error':{'message':'upstream connection reset','type':'server_error',"
                + "'param':null,'code':null}}"));
        assertThat(s.finish()).isEmpty();
        assertThat(s.error("again")).isEmpty();
    }

    @Test
    void malformedEventThrowsAndWritesNothing() {
        ChatStreamTranslator s = stream(false, false, 1);
        ByteBuf out = Unpooled.buffer();
        try {
            assertThatThrownBy(() -> s.onEvent("{\"candidates\":[".getBytes(StandardCharsets.UTF_8), 0, 15, out))
                    .isInstanceOf(UpstreamFormatException.class);
            assertThat(out.readableBytes()).isZero();
        } finally {
            out.release();
        }
    }

    @Test
    void byteBufApiAppendsFramesToTheCallersBuffer() {
        ChatStreamTranslator s = stream(false, true, 1);
        ByteBuf in = Unpooled.directBuffer().writeBytes(bytes(event("[{'text':'Hi'}]", "STOP")));
        ByteBuf usageOnly = Unpooled.buffer().writeBytes(bytes("{'usageMetadata':{'promptTokenCount':3}}"));
        ByteBuf out = Unpooled.directBuffer(16);
        try {
            out.writeBytes(": keep-alive\n\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(s.onEvent(in, out)).isTrue();
            assertThat(in.readerIndex()).isZero();
            assertThat(s.onEvent(usageOnly, out)).isFalse();
            s.finish(out);
            String text = out.toString(StandardCharsets.UTF_8);
            assertThat(text).startsWith(": keep-alive\n\ndata: {");
            List<String> f = frames(text.substring(": keep-alive\n\n".length()).getBytes(StandardCharsets.UTF_8));
            assertThat(f).hasSize(3);
            assertThat(chunk(f, 0).at("/choices/0/delta/content").asText()).isEqualTo("Hi");
            assertThat(chunk(f, 1).at("/usage/prompt_tokens").asInt()).isEqualTo(3);
            assertThat(f.get(2)).isEqualTo("[DONE]");
        } finally {
            in.release();
            usageOnly.release();
            out.release();
        }
    }

    @Test
    void keepAliveIsACommentFrameThatIsNotContent() {
        ChatStreamTranslator s = stream(false, false, 1);
        ByteBuf out = Unpooled.buffer();
        try {
            ChatStreamTranslator.writeKeepAlive(out);
            assertThat(out.toString(StandardCharsets.US_ASCII)).isEqualTo(": keep-alive\n\n");
            assertThat(s.sawContent()).isFalse();
        } finally {
            out.release();
        }
    }

    @Test
    void errorIntoAByteBuf() {
        ChatStreamTranslator s = stream(false, false, 1);
        ByteBuf out = Unpooled.buffer();
        try {
            s.error("boom", out);
            assertThat(out.toString(StandardCharsets.UTF_8))
                    .isEqualTo("data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\",\"param\":null,"
                            + "\"code\":null}}\n\n");
        } finally {
            out.release();
        }
    }

    @Test
    void longTextSurvivesTheScratchBuffer() {
        String big = "x".repeat(100_000) + "é\u2028\"\\";
        List<String> f = run(stream(false, false, 1),
                "{'candidates':[{'content':{'parts':[{'text':" + Jsons.MAPPER.valueToTree(big) + "}]},'finishReason':'STOP'}]}");
        assertThat(chunk(f, 0).at("/choices/0/delta/content").asText()).isEqualTo(big);
    }
}
