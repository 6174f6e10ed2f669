package io.gemgate.core.openai;

import com.fasterxml.jackson.databind.JsonNode;
import io.gemgate.core.json.Usage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;

import static io.gemgate.core.openai.Jsons.bytes;
import static io.gemgate.core.openai.Jsons.json;
import static io.gemgate.core.openai.Jsons.tree;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Whole answers: message, finish_reason and usage (OpenAI API reference: The chat completion object;
 * docs/architecture.md, OpenAI translation).
 */
class ChatResponseTranslatorTest {
    static final Clock CLOCK = Clock.fixed(Instant.ofEpochSecond(1732233600), ZoneOffset.UTC);
    static final ThoughtSignatures SIGNATURES = ThoughtSignatures.inId();
    static final ChatResponseTranslator T = new ChatResponseTranslator(SIGNATURES, CLOCK);

    static TranslatedChatRequest request(boolean reasoning) {
        return new TranslatedChatRequest("my-model", "gemini-2.5-flash", false, false, 1, reasoning, new byte[0]);
    }

    static JsonNode answer(String relaxedGemini) {
        return answer(relaxedGemini, false);
    }

    static JsonNode answer(String relaxedGemini, boolean reasoning) {
        ChatResponseTranslator.Completion c = T.translate(request(reasoning), bytes(relaxedGemini));
        assertThat(c.error()).isNull();
        return tree(c.json());
    }

    static String candidate(String parts, String finish) {
        return "{'content':{'role':'model','parts':" + parts + "}" + (finish == null ? "" : ",'finishReason':'" + finish + "'")
                + ",'index':0}";
    }

    @Test
    void wholeAnswerShape() {
        JsonNode a = answer("{'candidates':[" + candidate("[{'text':'It is '},{'text':'21C.'}]", "STOP") + "],"
                + "'usageMetadata':{'promptTokenCount':107,'candidatesTokenCount':31,'thoughtsTokenCount':148,"
                + "'totalTokenCount':286},'modelVersion':'gemini-2.5-flash','responseId':'SKpb'}");
        assertThat(a).isEqualTo(json("{'id':'chatcmpl-SKpb','object':'chat.completion','created':1732233600,"
                + "'model':'my-model','choices':[{'index':0,'message':{'role':'assistant','content':'It is 21C.',"
                + "'refusal':null},'logprobs':null,'finish_reason':'stop'}],"
                + "'usage':{'prompt_tokens':107,'completion_tokens':179,'total_tokens':286,"
                + "'prompt_tokens_details':{'cached_tokens':0},'completion_tokens_details':{'reasoning_tokens':148}}}"));
    }

    @Test
    void idIsGeneratedWithoutResponseId() {
        JsonNode a = answer("{'candidates':[" + candidate("[{'text':'x'}]", "STOP") + "]}");
        assertThat(a.get("id").asText()).startsWith("chatcmpl-").hasSize("chatcmpl-".length() + 24);
    }

    @Test
    void thoughtPartsBecomeReasoningContentOnlyWhenAskedFor() {
        String g = "{'candidates':[" + candidate("[{'text':'Hmm. ','thought':true},{'text':'Units.','thought':true},"
                + "{'text':'21C','thoughtSignature':'c2ln'}]", "STOP") + "]}";
        JsonNode asked = answer(g, true).at("/choices/0/message");
        assertThat(asked.get("reasoning_content").asText()).isEqualTo("Hmm. Units.");
        assertThat(asked.get("content").asText()).isEqualTo("21C");
        JsonNode notAsked = answer(g, false).at("/choices/0/message");
        assertThat(notAsked.has("reasoning_content")).isFalse();
        assertThat(notAsked.get("content").asText()).isEqualTo("21C");
    }

    @Test
    void functionCallsBecomeToolCallsWithNullContent() {
        JsonNode choice = answer("{'candidates':[" + candidate("[{'functionCall':{'name':'get_weather',"
                + "'args':{'city':'Paris','days':[1,2]}}},{'functionCall':{'name':'get_weather','args':{'city':'Rome'}}}]",
                "STOP") + "]}").at("/choices/0");
        assertThat(choice.get("finish_reason").asText()).isEqualTo("tool_calls");
        JsonNode message = choice.get("message");
        assertThat(message.get("content").isNull()).isTrue();
        JsonNode calls = message.get("tool_calls");
        assertThat(calls).hasSize(2);
        assertThat(calls.get(0).get("type").asText()).isEqualTo("function");
        assertThat(calls.get(0).at("/function/name").asText()).isEqualTo("get_weather");
        assertThat(tree(calls.get(0).at("/function/arguments").asText())).isEqualTo(json("{'city':'Paris','days':[1,2]}"));
        assertThat(calls.get(0).get("id").asText()).startsWith("call_");
        assertThat(calls.get(1).get("id").asText()).isNotEqualTo(calls.get(0).get("id").asText());
        assertThat(calls.get(0).has("index")).isFalse();
        assertThat(calls.get(0).has("extra_content")).isFalse();
    }

    @Test
    void textAndCallsTogether() {
        JsonNode message = answer("{'candidates':[" + candidate("[{'text':'Let me check.'},"
                + "{'functionCall':{'name':'f'}}]", "STOP") + "]}").at("/choices/0/message");
        assertThat(message.get("content").asText()).isEqualTo("Let me check.");
        assertThat(message.at("/tool_calls/0/function/arguments").asText()).isEqualTo("{}");
    }

    @Test
    void thoughtSignatureTravelsInTheIdAndInExtraContent() {
        String sig = Base64.getEncoder().encodeToString("signature bytes".getBytes(StandardCharsets.UTF_8));
        JsonNode call = answer("{'candidates':[" + candidate("[{'functionCall':{'name':'f','args':{}},"
                + "'thoughtSignature':'" + sig + "'}]", "STOP") + "]}").at("/choices/0/message/tool_calls/0");
        assertThat(call.at("/extra_content/google/thought_signature").asText()).isEqualTo(sig);
        assertThat(SIGNATURES.signatureOf(call.get("id").asText())).isEqualTo(sig);
    }

    @ParameterizedTest
    @CsvSource({
            "STOP, stop",
            "MAX_TOKENS, length",
            "SAFETY, content_filter",
            "RECITATION, content_filter",
            "BLOCKLIST, content_filter",
            "PROHIBITED_CONTENT, content_filter",
            "SPII, content_filter",
            "IMAGE_SAFETY, content_filter",
            "IMAGE_PROHIBITED_CONTENT, content_filter",
            "IMAGE_RECITATION, content_filter",
            "MALFORMED_FUNCTION_CALL, stop",
            "UNEXPECTED_TOOL_CALL, stop",
            "TOO_MANY_TOOL_CALLS, stop",
            "LANGUAGE, stop",
            "OTHER, stop",
            "NO_IMAGE, stop",
            "IMAGE_OTHER, stop",
            "FINISH_REASON_UNSPECIFIED, stop",
    })
    void finishReasonMapping(String gemini, String openAi) {
        assertThat(answer("{'candidates':[" + candidate("[{'text':'x'}]", gemini) + "]}")
                .at("/choices/0/finish_reason").asText()).isEqualTo(openAi);
    }

    @Test
    void absentFinishReasonIsStopOrToolCalls() {
        assertThat(answer("{'candidates':[" + candidate("[{'text':'x'}]", null) + "]}")
                .at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        assertThat(answer("{'candidates':[" + candidate("[{'functionCall':{'name':'f','args':{}}}]", null) + "]}")
                .at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
    }

    @Test
    void maxTokensWithACallIsLength() {
        assertThat(answer("{'candidates':[" + candidate("[{'functionCall':{'name':'f','args':{}}}]", "MAX_TOKENS")
                + "]}").at("/choices/0/finish_reason").asText()).isEqualTo("length");
    }

    @Test
    void severalCandidatesBecomeChoicesOrderedByIndex() {
        JsonNode choices = answer("{'candidates':["
                + "{'content':{'parts':[{'text':'second'}]},'finishReason':'MAX_TOKENS','index':1},"
                + "{'content':{'parts':[{'text':'first'}]},'finishReason':'STOP','index':0}]}").get("choices");
        assertThat(choices).hasSize(2);
        assertThat(choices.at("/0/index").asInt()).isZero();
        assertThat(choices.at("/0/message/content").asText()).isEqualTo("first");
        assertThat(choices.at("/1/index").asInt()).isEqualTo(1);
        assertThat(choices.at("/1/finish_reason").asText()).isEqualTo("length");
    }

    @Test
    void candidateWithNothingHasEmptyContent() {
        JsonNode choice = answer("{'candidates':[{'finishReason':'SAFETY','index':0}]}").at("/choices/0");
        assertThat(choice.at("/message/content").asText()).isEmpty();
        assertThat(choice.get("finish_reason").asText()).isEqualTo("content_filter");
    }

    @Test
    void blockedPromptIsOneFilteredChoice() {
        ChatResponseTranslator.Completion c = T.translate(request(false), bytes("{'promptFeedback':{'blockReason':"
                + "'SAFETY','safetyRatings':[]},'usageMetadata':{'promptTokenCount':9,'totalTokenCount':9}}"));
        assertThat(c.empty()).isFalse();
        JsonNode a = tree(c.json());
        assertThat(a.get("choices")).isEqualTo(json("[{'index':0,'message':{'role':'assistant','content':'',"
                + "'refusal':null},'logprobs':null,'finish_reason':'content_filter'}]"));
        assertThat(a.at("/usage/prompt_tokens").asInt()).isEqualTo(9);
    }

    @Test
    void inlineImageBecomesMarkdownDataUrl() {
        assertThat(answer("{'candidates':[" + candidate("[{'text':'Here: '},{'inlineData':{'mimeType':'image/png',"
                + "'data':'iVBO'}}]", "STOP") + "]}").at("/choices/0/message/content").asText())
                .isEqualTo("Here: ![image](data:image/png;base64,iVBO)");
    }

    @Test
    void usageMapping() {
        JsonNode usage = answer("{'candidates':[" + candidate("[{'text':'x'}]", "STOP") + "],'usageMetadata':{"
                + "'promptTokenCount':100,'toolUsePromptTokenCount':20,'cachedContentTokenCount':60,"
                + "'candidatesTokenCount':30,'thoughtsTokenCount':40,'totalTokenCount':999,"
                + "'promptTokensDetails':[{'modality':'TEXT','tokenCount':70},{'modality':'AUDIO','tokenCount':10},"
                + "{'modality':'IMAGE','tokenCount':20}]}}").get("usage");
        assertThat(usage).isEqualTo(json("{'prompt_tokens':120,'completion_tokens':70,'total_tokens':190,"
                + "'prompt_tokens_details':{'cached_tokens':60,'audio_tokens':10,'image_tokens':20},"
                + "'completion_tokens_details':{'reasoning_tokens':40}}"));
    }

    @Test
    void usageIsZeroWithoutUsageMetadata() {
        assertThat(answer("{'candidates':[" + candidate("[{'text':'x'}]", "STOP") + "]}").get("usage"))
                .isEqualTo(json("{'prompt_tokens':0,'completion_tokens':0,'total_tokens':0,"
                        + "'prompt_tokens_details':{'cached_tokens':0},'completion_tokens_details':{'reasoning_tokens':0}}"));
    }

    @Test
    void usageIsReportedForAccounting() {
        ChatResponseTranslator.Completion c = T.translate(request(false), bytes("{'candidates':[" + candidate(
                "[{'text':'x'}]", "STOP") + "],'usageMetadata':{'promptTokenCount':5,'candidatesTokenCount':6,"
                + "'thoughtsTokenCount':7,'totalTokenCount':18,'cachedContentTokenCount':2}}"));
        assertThat(c.usage()).isEqualTo(new Usage(5, 6, 7, 18, 2));
    }

    @Test
    void emptyAnswers() {
        assertThat(ChatResponseTranslator.isEmpty(bytes("{'candidates':[],'usageMetadata':{'promptTokenCount':3}}")))
                .isTrue();
        assertThat(ChatResponseTranslator.isEmpty(bytes("{}"))).isTrue();
        assertThat(ChatResponseTranslator.isEmpty(bytes("{'candidates':[" + candidate("[{'text':''}]", "STOP") + "]}")))
                .isTrue();
        assertThat(ChatResponseTranslator.isEmpty(bytes("{'candidates':[" + candidate(
                "[{'text':'only thinking','thought':true}]", "STOP") + "]}"))).isTrue();
        assertThat(ChatResponseTranslator.isEmpty(bytes("{'candidates':[" + candidate("[{'text':'x'}]", "STOP") + "]}")))
                .isFalse();
        assertThat(ChatResponseTranslator.isEmpty(bytes("{'candidates':[" + candidate(
                "[{'functionCall':{'name':'f','args':{}}}]", "STOP") + "]}"))).isFalse();
        assertThat(ChatResponseTranslator.isEmpty(bytes("{'promptFeedback':{'blockReason':'OTHER'}}"))).isFalse();
        assertThat(ChatResponseTranslator.isEmpty(bytes("{'candidates':[{'finishReason':'SAFETY'}]}"))).isFalse();
        assertThat(ChatResponseTranslator.isEmpty(bytes("{'candidates':[{'finishReason':'MAX_TOKENS'}]}"))).isFalse();
        ChatResponseTranslator.Completion c = T.translate(request(false), bytes("{'candidates':[]}"));
        assertThat(c.empty()).isTrue();
        assertThat(tree(c.json()).at("/choices/0/finish_reason").asText()).isEqualTo("stop");
    }

    @Test
    void isEmptyOnAByteBuf() {
        ByteBuf buf = Unpooled.directBuffer().writeBytes(bytes("{'candidates':[]}"));
        try {
            assertThat(ChatResponseTranslator.isEmpty(buf)).isTrue();
            assertThat(buf.readerIndex()).isZero();
            ChatResponseTranslator.Completion c = T.translate(request(false), buf);
            assertThat(c.empty()).isTrue();
        } finally {
            buf.release();
        }
    }

    @Test
    void errorObjectInA200BodyIsReturnedAsError() {
        ChatResponseTranslator.Completion c = T.translate(request(false),
                bytes("{'error':{'code':503,'message':'The model is overloaded.','status':'UNAVAILABLE'}}"));
        assertThat(c.error()).isNotNull();
        assertThat(c.error().status()).isEqualTo(503);
        assertThat(tree(c.json()).at("/error/message").asText()).isEqualTo("The model is overloaded.");
    }

    @Test
    void arrayOfResponsesIsAccumulated() {
        JsonNode a = answer("[{'candidates':[{'content':{'parts':[{'text':'It '}]},'index':0}],'responseId':'r'},"
                + "{'candidates':[{'content':{'parts':[{'text':'is.'}]},'finishReason':'STOP','index':0}],"
                + "'usageMetadata':{'promptTokenCount':2,'candidatesTokenCount':3}}]");
        assertThat(a.at("/choices/0/message/content").asText()).isEqualTo("It is.");
        assertThat(a.get("choices")).hasSize(1);
        assertThat(a.at("/usage/completion_tokens").asInt()).isEqualTo(3);
    }

    @Test
    void snakeCasePartsAreRead() {
        JsonNode message = answer("{'candidates':[{'content':{'parts':[{'function_call':{'name':'f','args':{'a':1}},"
                + "'thought_signature':'c2ln'}]},'finishReason':'STOP'}]}").at("/choices/0/message");
        assertThat(message.at("/tool_calls/0/extra_content/google/thought_signature").asText()).isEqualTo("c2ln");
    }

    @Test
    void unknownMembersAreIgnored() {
        JsonNode a = answer("{'candidates':[{'content':{'parts':[{'text':'x','videoMetadata':{'a':1}},"
                + "{'executableCode':{'code':'print(1)'}}],'role':'model'},'safetyRatings':[{'category':'C'}],"
                + "'citationMetadata':{},'groundingMetadata':{'webSearchQueries':['q']},'avgLogprobs':-0.5,"
                + "'finishReason':'STOP','index':0}],'modelVersion':'v','createTime':'t'}");
        assertThat(a.at("/choices/0/message/content").asText()).isEqualTo("x");
    }

    @Test
    void invalidJsonIsAnUpstreamFormatError() {
        assertThatThrownBy(() -> T.translate(request(false), "not json".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(UpstreamFormatException.class);
        assertThatThrownBy(() -> ChatResponseTranslator.isEmpty("{\"candidates\":[".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(UpstreamFormatException.class);
    }

    // -------------------- A streamed answer collected into one (stream mode "always")
    private static ChatResponseTranslator.Collector collect(String... relaxedEvents) {
        ChatResponseTranslator.Collector c = new ChatResponseTranslator.Collector();
        for (String e : relaxedEvents) {
            c.add(Unpooled.wrappedBuffer(bytes(e)));
        }
        return c;
    }

    @Test
    void streamedEventsCollectIntoOneAnswer() {
        ChatResponseTranslator.Collector c = collect(
                "{'candidates':[" + candidate("[{'text':'It is '}]", null) + "],'responseId':'SKpb',"
                        + "'usageMetadata':{'promptTokenCount':107,'totalTokenCount':107}}",
                "{'candidates':[" + candidate("[{'text':'Hmm','thought':true},{'text':'21C'}]", null) + "]}",
                "{'candidates':[" + candidate("[{'functionCall':{'name':'f','args':{'a':1}}}]", null) + "]}",
                "{'candidates':[" + candidate("[{'text':'.'}]", "STOP") + "],'usageMetadata':{'promptTokenCount':107,"
                        + "'candidatesTokenCount':31,'thoughtsTokenCount':148,'totalTokenCount':286}}");
        assertThat(c.sawError()).isFalse();
        ChatResponseTranslator.Completion done = T.translate(request(true), c);
        assertThat(done.empty()).isFalse();
        assertThat(done.usage()).isEqualTo(new Usage(107, 31, 148, 286, 0));
        JsonNode a = tree(done.json());
        assertThat(a.get("id").asText()).isEqualTo("chatcmpl-SKpb");
        assertThat(a.at("/choices/0/message/content").asText()).isEqualTo("It is 21C.");
        assertThat(a.at("/choices/0/message/reasoning_content").asText()).isEqualTo("Hmm");
        assertThat(a.at("/choices/0/message/tool_calls/0/function/name").asText()).isEqualTo("f");
        assertThat(a.at("/choices/0/message/tool_calls/0/function/arguments").asText()).isEqualTo("{\"a\":1}");
        assertThat(a.at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
        assertThat(a.at("/usage/completion_tokens").asInt()).isEqualTo(179);
    }

    @Test
    void collectedEmptyAnswerAndErrorEventAreReported() {
        ChatResponseTranslator.Collector empty = collect(
                "{'candidates':[" + candidate("[{'text':'thinking only','thought':true}]", "STOP") + "]}");
        assertThat(T.translate(request(false), empty).empty()).isTrue();
        ChatResponseTranslator.Collector error = collect(
                "{'candidates':[" + candidate("[{'text':'par'}]", null) + "]}",
                "{'error':{'code':500,'message':'Internal error','status':'INTERNAL'}}");
        assertThat(error.sawError()).isTrue();
    }

    @Test
    void collectorRefusesAnEventThatIsNotJson() {
        assertThatThrownBy(() -> collect("{'candidates':[")).isInstanceOf(UpstreamFormatException.class);
    }
}
