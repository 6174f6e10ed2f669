package io.gemgate.core.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import io.gemgate.core.openai.ThoughtSignatures;
import io.gemgate.core.openai.UpstreamFormatException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static io.gemgate.core.anthropic.AnthropicRequestTranslatorTest.SIG;
import static io.gemgate.core.anthropic.AnthropicRequestTranslatorTest.SIGNATURES;
import static io.gemgate.core.anthropic.AnthropicRequestTranslatorTest.bytes;
import static io.gemgate.core.anthropic.AnthropicRequestTranslatorTest.tree;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Gemini answers to Anthropic messages and streams (Anthropic's API docs: "Messages", "Streaming Messages"). */
class MessagesResponseTranslatorTest {
    static final MessagesResponseTranslator WHOLE = new MessagesResponseTranslator(SIGNATURES);

    static TranslatedMessagesRequest request(boolean thinking) {
        return new TranslatedMessagesRequest("claude-sonnet-4-5", "gemini-2.5-flash", true, thinking, false,
                new byte[0]);
    }

    static JsonNode whole(boolean thinking, String gemini) {
        MessagesResponseTranslator.Message m = WHOLE.translate(request(thinking), bytes(gemini));
        return tree(new String(m.json(), StandardCharsets.UTF_8));
    }

    static Stream<Arguments> answers() {
        String usage = ",'usageMetadata':{'promptTokenCount':10,'candidatesTokenCount':4,'thoughtsTokenCount':3,"
                + "'cachedContentTokenCount':6}";
        return Stream.of(
                Arguments.of("text parts joined; usage with the cache read apart", false,
                        "{'candidates':[{'content':{'parts':[{'text':'Hel'},{'text':'lo'}]},'finishReason':'STOP'}]"
                                + usage + ",'responseId':'abc'}",
                        "{'id':'msg_abc','type':'message','role':'assistant','model':'claude-sonnet-4-5',"
                                + "'content':[{'type':'text','text':'Hello'}],'stop_reason':'end_turn','stop_sequence':null,"
                                + "'usage':{'input_tokens':4,'cache_creation_input_tokens':0,'cache_read_input_tokens':6,"
                                + "'output_tokens':7,'service_tier':'standard'}}"),
                Arguments.of("thinking, then text with the signature, then a call: in order", true,
                        "{'candidates':[{'content':{'parts':[{'text':'hmm','thought':true},{'text':'A','thoughtSignature':'" + SIG
                                + "'},{'functionCall':{'name':'f','args':{'x':1}}}]},'finishReason':'STOP'}],'responseId':'r'}",
                        "{'id':'msg_r','type':'message','role':'assistant','model':'claude-sonnet-4-5','content':["
                                + "{'type':'thinking','thinking':'hmm','signature':'SIGNATURE'},{'type':'text','text':'A'},"
                                + "{'type':'tool_use','id':'ID','name':'f','input':{'x':1}}],'stop_reason':'tool_use',"
                                + "'stop_sequence':null,'usage':{'input_tokens':0,'cache_creation_input_tokens':0,"
                                + "'cache_read_input_tokens':0,'output_tokens':0,'service_tier':'standard'}}"),
                Arguments.of("thoughts not asked for are not shown; MAX_TOKENS", false,
                        "{'candidates':[{'content':{'parts':[{'text':'hmm','thought':true},{'text':'A'}]},'finishReason':'MAX_TOKENS'}],'responseId':'r'}",
                        "{'id':'msg_r','type':'message','role':'assistant','model':'claude-sonnet-4-5','content':["
                                + "{'type':'text','text':'A'}],'stop_reason':'max_tokens','stop_sequence':null,'usage':{'input_tokens':0,"
                                + "'cache_creation_input_tokens':0,'cache_read_input_tokens':0,'output_tokens':0,'service_tier':'standard'}}"),
                Arguments.of("a blocked prompt is a refusal without content", false,
                        "{'promptFeedback':{'blockReason':'SAFETY'},'responseId':'r'}",
                        "{'id':'msg_r','type':'message','role':'assistant','model':'claude-sonnet-4-5','content':[],"
                                + "'stop_reason':'refusal','stop_sequence':null,'usage':{'input_tokens':0,"
                                + "'cache_creation_input_tokens':0,'cache_read_input_tokens':0,'output_tokens':0,'service_tier':'standard'}}"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("answers")
    void translatesWholeAnswers(String what, boolean thinking, String gemini, String expected) {
        JsonNode got = whole(thinking, gemini);
        // ids and signatures carry the signature in ThoughtSignatures' form: checked by decoding them
        for (JsonNode block : got.at("/content")) {
            if (block.has("signature")) {
                assertThat(SIGNATURES.signatureOf(block.get("signature").asText())).isEqualTo(SIG);
                ((com.fasterxml.jackson.databind.node.ObjectNode) block).put("signature", "SIGNATURE");
            }
            if (block.has("id")) {
                assertThat(block.get("id").asText()).startsWith("call_");
                ((com.fasterxml.jackson.databind.node.ObjectNode) block).put("id", "ID");
            }
        }
        assertThat(got).isEqualTo(tree(expected));
    }

    @Test
    void emptyAnswersAndErrorsAreToldApart() {
        assertThat(WHOLE.translate(request(false), bytes("{'candidates':[{'content':{'parts':[{'text':'x','thought':true}]},"
                + "'finishReason':'STOP'}]}")).empty()).isTrue();
        assertThat(WHOLE.translate(request(false), bytes("{'candidates':[{'finishReason':'SAFETY'}]}")).empty()).isFalse();
        MessagesResponseTranslator.Message error = WHOLE.translate(request(false), bytes(
                "{'error':{'code':503,'message':'overloaded','status':'UNAVAILABLE'}}"));
        assertThat(error.error().status()).isEqualTo(503);
        assertThat(error.error().type()).isEqualTo("overloaded_error");
        assertThatThrownBy(() -> WHOLE.translate(request(false), bytes("not json")))
                .isInstanceOf(UpstreamFormatException.class);
    }

    @Test
    void countTokensAnswers() {
        ByteBuf b = Unpooled.wrappedBuffer(bytes("{'totalTokens':42,'promptTokensDetails':[]}"));
        assertThat(new String(MessagesResponseTranslator.countTokens(b), StandardCharsets.UTF_8))
                .isEqualTo("{\"input_tokens\":42}");
        assertThat(new String(MessagesResponseTranslator.countTokens(Unpooled.wrappedBuffer(bytes("{}"))),
                StandardCharsets.UTF_8)).isEqualTo("{\"input_tokens\":0}");
    }

    /** Splits the SSE output into (event, data) pairs, checking that each event line names its data's type. */
    static List<JsonNode> events(byte[] sse) {
        String text = new String(sse, StandardCharsets.UTF_8);
        List<JsonNode> out = new ArrayList<>();
        if (text.isEmpty()) {
            return out;
        }
        assertThat(text).endsWith("\n\n");
        for (String frame : text.substring(0, text.length() - 2).split("\n\n", -1)) {
            String[] lines = frame.split("\n");
            assertThat(lines).hasSize(2);
            assertThat(lines[0]).startsWith("event: ");
            assertThat(lines[1]).startsWith("data: ");
            JsonNode data = tree(lines[1].substring(6));
            assertThat(data.get("type").asText()).isEqualTo(lines[0].substring(7));
            out.add(data);
        }
        return out;
    }

    static List<String> types(List<JsonNode> events) {
        List<String> out = new ArrayList<>();
        for (JsonNode e : events) {
            String t = e.get("type").asText();
            if (e.has("delta") && e.get("delta").has("type")) {
                t += ":" + e.get("delta").get("type").asText();
            } else if (e.has("content_block")) {
                t += ":" + e.get("content_block").get("type").asText();
            }
            out.add(t);
        }
        return out;
    }

    @Test
    void streamsBlocksInOrderWithTheSignatureBeforeTheThinkingStops() {
        MessagesStreamTranslator s = new MessagesStreamTranslator(request(true), SIGNATURES);
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        all.writeBytes(s.onEvent(bytes("{'candidates':[{'content':{'parts':[{'text':'hm','thought':true}]}}],"
                + "'usageMetadata':{'promptTokenCount':5},'responseId':'r1'}")));
        assertThat(s.sawContent()).isTrue();
        all.writeBytes(s.onEvent(bytes("{'candidates':[{'content':{'parts':[{'text':'m','thought':true}]}}]}")));
        all.writeBytes(s.onEvent(bytes("{'candidates':[{'content':{'parts':[{'text':'Hi','thoughtSignature':'" + SIG + "'}]}}]}")));
        all.writeBytes(s.onEvent(bytes("{'candidates':[{'content':{'parts':[{'functionCall':{'name':'f','args':{'a':[1]}}}]},"
                + "'finishReason':'STOP'}],'usageMetadata':{'promptTokenCount':5,'candidatesTokenCount':8}}")));
        all.writeBytes(s.finish());
        List<JsonNode> ev = events(all.toByteArray());

        assertThat(types(ev)).containsExactly("message_start", "ping", "content_block_start:thinking",
                "content_block_delta:thinking_delta", "content_block_delta:thinking_delta",
                "content_block_delta:signature_delta", "content_block_stop", "content_block_start:text",
                "content_block_delta:text_delta", "content_block_stop", "content_block_start:tool_use",
                "content_block_delta:input_json_delta", "content_block_stop", "message_delta", "message_stop");
        assertThat(ev.get(0).at("/message/id").asText()).isEqualTo("msg_r1");
        assertThat(ev.get(0).at("/message/model").asText()).isEqualTo("claude-sonnet-4-5");
        assertThat(ev.get(0).at("/message/usage/input_tokens").asInt()).isEqualTo(5);
        assertThat(SIGNATURES.signatureOf(ev.get(5).at("/delta/signature").asText())).isEqualTo(SIG);
        assertThat(ev.get(8).at("/delta/text").asText()).isEqualTo("Hi");
        assertThat(ev.get(10).at("/index").asInt()).isEqualTo(2);
        assertThat(ev.get(11).at("/delta/partial_json").asText()).isEqualTo("{\"a\":[1]}");
        assertThat(ev.get(13).at("/delta/stop_reason").asText()).isEqualTo("tool_use");
        assertThat(ev.get(13).at("/usage/output_tokens").asInt()).isEqualTo(8);
    }

    @Test
    void nothingIsWrittenBeforeContentSoTheServerCanRetry() {
        MessagesStreamTranslator s = new MessagesStreamTranslator(request(false), SIGNATURES);
        assertThat(s.onEvent(bytes("{'candidates':[{'content':{'parts':[{'text':'hidden','thought':true}]}}]}"))).isEmpty();
        assertThat(s.onEvent(bytes("{'candidates':[{'content':{'parts':[]},'finishReason':'STOP'}]}"))).isEmpty();
        assertThat(s.sawContent()).isFalse();
        assertThat(s.hasAnswer()).isFalse();

        MessagesStreamTranslator e = new MessagesStreamTranslator(request(false), SIGNATURES);
        assertThat(e.onEvent(bytes("{'error':{'code':500,'message':'internal','status':'INTERNAL'}}"))).isEmpty();
        assertThat(e.upstreamError().type()).isEqualTo("api_error");
        assertThat(e.sawContent()).isFalse();
    }

    @Test
    void anErrorAfterContentIsAnErrorEvent() {
        MessagesStreamTranslator s = new MessagesStreamTranslator(request(false), SIGNATURES);
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        all.writeBytes(s.onEvent(bytes("{'candidates':[{'content':{'parts':[{'text':'a'}]}}]}")));
        all.writeBytes(s.onEvent(bytes("{'error':{'code':429,'message':'slow down','status':'RESOURCE_EXHAUSTED'}}")));
        all.writeBytes(s.finish()); // nothing after the error
        List<JsonNode> ev = events(all.toByteArray());

        assertThat(types(ev)).endsWith("error");
        assertThat(ev.get(ev.size() - 1).at("/error/type").asText()).isEqualTo("rate_limit_error");
        assertThat(ev.get(ev.size() - 1).at("/error/message").asText()).contains("slow down");
    }

    @Test
    void aBlockedPromptStillEndsAsARefusal() {
        MessagesStreamTranslator s = new MessagesStreamTranslator(request(false), SIGNATURES);
        assertThat(s.onEvent(bytes("{'promptFeedback':{'blockReason':'OTHER'}}"))).isEmpty();
        assertThat(s.hasAnswer()).isTrue();
        List<JsonNode> ev = events(s.finish());
        assertThat(types(ev)).containsExactly("message_start", "ping", "message_delta", "message_stop");
        assertThat(ev.get(2).at("/delta/stop_reason").asText()).isEqualTo("refusal");
    }
}
