package io.gemgate.core.openai;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static io.gemgate.core.openai.Jsons.bytes;
import static io.gemgate.core.openai.Jsons.json;
import static io.gemgate.core.openai.Jsons.tree;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The Responses API mapping (OpenAI's Responses API reference: "Create a model response", "The response object",
 * "Streaming events") to and from Gemini's generateContent, one test (or row) per rule.
 */
class ResponsesTranslationTest {
    static final Clock CLOCK = Clock.fixed(Instant.ofEpochSecond(1732233600), ZoneOffset.UTC);
    static final ThoughtSignatures SIGNATURES = ThoughtSignatures.inId();

    private final ResponseStore store = new ResponseStore(1 << 20, Duration.ofHours(1), CLOCK);
    private final ResponsesRequestTranslator requests = new ResponsesRequestTranslator(ModelResolver.DEFAULT,
            SIGNATURES, store);
    private final ResponsesResponseTranslator answers = new ResponsesResponseTranslator(SIGNATURES, CLOCK);

    private TranslatedResponsesRequest translate(String relaxed) {
        return requests.translate(bytes(relaxed));
    }

    private JsonNode gemini(String relaxed) {
        return tree(translate(relaxed).chat().body());
    }

    private OpenAiRequestException refused(String relaxed) {
        try {
            translate(relaxed);
        } catch (OpenAiRequestException e) {
            return e;
        }
        throw new AssertionError("not refused: " + relaxed);
    }

    // ------------------------------------------------------------------------------------------ requests

    @Test
    void stringInputIsOneUserTurnAndInstructionsTheSystemInstruction() {
        JsonNode g = gemini("{'model':'gemini-2.5-flash','input':'hi','instructions':'be brief'}");
        assertThat(g.path("contents")).isEqualTo(json("[{'role':'user','parts':[{'text':'hi'}]}]"));
        assertThat(g.path("systemInstruction")).isEqualTo(json("{'parts':[{'text':'be brief'}]}"));
    }

    @Test
    void messageItemsWithPartsBecomeTurnsAndDeveloperMessagesTheSystemInstruction() {
        JsonNode g = gemini("{'model':'m','input':[{'role':'developer','content':'rules'},"
                + "{'role':'user','content':[{'type':'input_text','text':'look'},"
                + "{'type':'input_image','image_url':'data:image/png;base64,AAAA'},"
                + "{'type':'input_image','image_url':'https://x.test/a.webp'},"
                + "{'type':'input_file','file_data':'data:application/pdf;base64,JVBE','filename':'a.pdf'},"
                + "{'type':'input_file','file_id':'file-abc'}]},"
                + "{'type':'message','role':'assistant','content':[{'type':'output_text','text':'seen'}]}]}");
        assertThat(g.path("systemInstruction")).isEqualTo(json("{'parts':[{'text':'rules'}]}"));
        assertThat(g.path("contents")).isEqualTo(json("[{'role':'user','parts':[{'text':'look'},"
                + "{'inlineData':{'mimeType':'image/png','data':'AAAA'}},"
                + "{'fileData':{'mimeType':'image/webp','fileUri':'https://x.test/a.webp'}},"
                + "{'inlineData':{'mimeType':'application/pdf','data':'JVBE'}},"
                + "{'fileData':{'fileUri':'https://generativelanguage.googleapis.com/v1beta/files/abc'}}]},"
                + "{'role':'model','parts':[{'text':'seen'}]}]"));
    }

    @Test
    void functionCallAndItsOutputRoundTripWithTheSignatureFromTheCallId() {
        String callId = SIGNATURES.newToolCallId("c2lnbmF0dXJl");
        JsonNode g = gemini("{'model':'gemini-3-pro-preview','input':[{'role':'user','content':'weather?'},"
                + "{'type':'reasoning','id':'rs_1','summary':[]},"
                + "{'type':'function_call','id':'fc_1','call_id':'" + callId + "','name':'weather',"
                + "'arguments':'{\\'city\\':\\'Paris\\'}'},"
                + "{'type':'function_call_output','call_id':'" + callId + "','output':'{\\'temp\\':21}'}]}");
        assertThat(g.path("contents")).isEqualTo(json("[{'role':'user','parts':[{'text':'weather?'}]},"
                + "{'role':'model','parts':[{'functionCall':{'name':'weather','args':{'city':'Paris'}},"
                + "'thoughtSignature':'c2lnbmF0dXJl'}]},"
                + "{'role':'user','parts':[{'functionResponse':{'name':'weather','response':{'temp':21}}}]}]"));
    }

    @Test
    void flatFunctionToolsToolChoiceAndWebSearch() {
        JsonNode g = gemini("{'model':'gemini-2.5-flash','input':'x','tools':[{'type':'function','name':'f',"
                + "'description':'d','parameters':{'type':'object','properties':{'a':{'type':'string'}},"
                + "'additionalProperties':false},'strict':true},{'type':'web_search_preview'}],"
                + "'tool_choice':{'type':'function','name':'f'}}");
        assertThat(g.path("tools")).isEqualTo(json("[{'functionDeclarations':[{'name':'f','description':'d',"
                + "'parameters':{'type':'OBJECT','properties':{'a':{'type':'STRING'}}}}]},{'googleSearch':{}}]"));
        assertThat(g.path("toolConfig")).isEqualTo(json("{'functionCallingConfig':{'mode':'ANY',"
                + "'allowedFunctionNames':['f']}}"));
    }

    @Test
    void textFormatJsonSchemaReasoningAndLimits() {
        JsonNode g = gemini("{'model':'gemini-2.5-flash','input':'x','max_output_tokens':50,'temperature':0.5,"
                + "'top_p':0.9,'text':{'format':{'type':'json_schema','name':'n','strict':true,"
                + "'schema':{'type':'object','properties':{'a':{'type':'integer'}}}}},"
                + "'reasoning':{'effort':'low','summary':'auto'}}");
        assertThat(g.path("generationConfig")).isEqualTo(json("{'temperature':0.5,'topP':0.9,"
                + "'maxOutputTokens':50,'responseMimeType':'application/json','responseSchema':{'type':'OBJECT',"
                + "'properties':{'a':{'type':'INTEGER'}}},'thinkingConfig':{'thinkingBudget':1024,"
                + "'includeThoughts':true}}"));
    }

    @Test
    void effortWithoutSummaryThinksWithoutShowingThoughts() {
        TranslatedResponsesRequest t = translate("{'model':'gemini-2.5-flash','input':'x',"
                + "'reasoning':{'effort':'high'}}");
        assertThat(t.chat().reasoning()).isFalse();
        assertThat(tree(t.chat().body()).path("generationConfig").path("thinkingConfig"))
                .isEqualTo(json("{'thinkingBudget':24576}"));
    }

    @ParameterizedTest(name = "{0} -> 400 on {1}")
    @CsvSource(delimiter = '|', value = {
            "[1]|null",
            "{'model':'m'}|input",
            "{'model':'m','input':5}|input",
            "{'model':'m','input':[{'role':'robot','content':'x'}]}|input[0].role",
            "{'model':'m','input':[{'type':'computer_call','id':'x'}]}|input[0].type",
            "{'model':'m','input':[{'type':'item_reference'}]}|input[0].id",
            "{'model':'m','input':[{'role':'user','content':[{'type':'input_audio'}]}]}|input[0].content[0].type",
            "{'model':'m','input':[{'role':'user','content':[{'type':'input_image','image_url':'ftp://x'}]}]}"
                    + "|input[0].content[0].image_url",
            "{'model':'m','input':[{'type':'function_call_output','call_id':'c','output':'x'}]}|input[0].call_id",
            "{'model':'m','input':[{'type':'function_call','call_id':'c'}]}|input[0].name",
            "{'model':'m','input':'x','tools':[{'type':'file_search'}]}|tools[0].type",
            "{'model':'m','input':'x','tools':[{'type':'function'}]}|tools[0].name",
            "{'model':'m','input':'x','tool_choice':'sometimes'}|tool_choice",
            "{'model':'m','input':'x','text':{'format':{'type':'yaml'}}}|text.format.type",
            "{'model':'m','input':'x','text':{'format':{'type':'json_schema'}}}|text.format.schema",
            "{'model':'m','input':'x','reasoning':{'effort':'huge'}}|reasoning.effort",
            "{'model':'m','input':'x','reasoning':{'summary':'long'}}|reasoning.summary",
            "{'model':'m','input':'x','background':true}|background",
            "{'model':'m','input':'x','temperature':'hot'}|temperature",
            "{'model':'m','input':[{'role':'system','content':'only rules'}]}|input",
    })
    void badInputIsA400NamingTheParam(String body, String param) {
        OpenAiRequestException e = refused(body);
        assertThat(e.status()).isEqualTo(400);
        assertThat(e.param()).isEqualTo(param.equals("null") ? null : param);
        assertThat(OpenAiErrors.of(e).toJson()).isNotEmpty();
    }

    @Test
    void unknownPreviousResponseIsA404InOpenAisShape() {
        OpenAiRequestException e = refused("{'model':'m','input':'x','previous_response_id':'resp_nope'}");
        assertThat(e.status()).isEqualTo(404);
        JsonNode body = tree(OpenAiErrors.of(e).toJson());
        assertThat(body.path("error").path("code").asText()).isEqualTo("previous_response_not_found");
        assertThat(body.path("error").path("param").asText()).isEqualTo("previous_response_id");
        assertThat(body.path("error").path("type").asText()).isEqualTo("invalid_request_error");
    }

    @Test
    void aNotJsonBodyIsA400() {
        assertThat(refused("{'model':").getMessage()).contains("could not parse");
    }

    // ------------------------------------------------------------------------------------------- answers

    @Test
    void wholeAnswerIsAResponseObjectWithItemsAndUsage() {
        TranslatedResponsesRequest t = translate("{'model':'gemini-2.5-flash','input':'x',"
                + "'reasoning':{'effort':'low','summary':'auto'},'metadata':{'k':'v'}}");
        ResponsesResult r = answers.translate(t, bytes("{'candidates':[{'content':{'parts':["
                + "{'text':'plan','thought':true},{'text':'Hello'},{'functionCall':{'name':'f','args':{'a':1}},"
                + "'thoughtSignature':'c2ln'}]},'finishReason':'STOP'}],'usageMetadata':{'promptTokenCount':5,"
                + "'candidatesTokenCount':7,'thoughtsTokenCount':3,'cachedContentTokenCount':2},"
                + "'responseId':'abc'}"));
        JsonNode j = tree(r.json());
        assertThat(j.path("id").asText()).isEqualTo(t.id()).startsWith("resp_");
        assertThat(j.path("object").asText()).isEqualTo("response");
        assertThat(j.path("status").asText()).isEqualTo("completed");
        assertThat(j.path("created_at").asLong()).isEqualTo(1732233600L);
        assertThat(j.path("model").asText()).isEqualTo("gemini-2.5-flash");
        assertThat(j.path("metadata")).isEqualTo(json("{'k':'v'}"));
        assertThat(j.path("output_text").asText()).isEqualTo("Hello");
        JsonNode out = j.path("output");
        assertThat(out).hasSize(3);
        assertThat(out.get(0).path("type").asText()).isEqualTo("reasoning");
        assertThat(out.get(0).path("summary")).isEqualTo(json("[{'type':'summary_text','text':'plan'}]"));
        assertThat(out.get(1).path("content").get(0).path("text").asText()).isEqualTo("Hello");
        assertThat(out.get(1).path("role").asText()).isEqualTo("assistant");
        assertThat(out.get(2).path("type").asText()).isEqualTo("function_call");
        assertThat(out.get(2).path("arguments").asText()).isEqualTo("{\"a\":1}");
        assertThat(SIGNATURES.signatureOf(out.get(2).path("call_id").asText())).isEqualTo("c2ln");
        assertThat(j.path("usage")).isEqualTo(json("{'input_tokens':5,'input_tokens_details':{'cached_tokens':2},"
                + "'output_tokens':10,'output_tokens_details':{'reasoning_tokens':3},'total_tokens':15}"));
        assertThat(r.empty()).isFalse();
    }

    @ParameterizedTest(name = "{0} -> incomplete {1}")
    @CsvSource({"MAX_TOKENS,max_output_tokens", "SAFETY,content_filter", "RECITATION,content_filter"})
    void finishReasonsThatCutTheAnswerMakeItIncomplete(String finish, String reason) {
        TranslatedResponsesRequest t = translate("{'model':'m','input':'x'}");
        JsonNode j = tree(answers.translate(t, bytes("{'candidates':[{'content':{'parts':[{'text':'a'}]},"
                + "'finishReason':'" + finish + "'}]}")).json());
        assertThat(j.path("status").asText()).isEqualTo("incomplete");
        assertThat(j.path("incomplete_details").path("reason").asText()).isEqualTo(reason);
    }

    @Test
    void anEmptyAnswerIsMarkedForAnotherKey() {
        TranslatedResponsesRequest t = translate("{'model':'m','input':'x'}");
        assertThat(answers.translate(t, bytes("{'candidates':[{'content':{'parts':[]},'finishReason':'STOP'}]}"))
                .empty()).isTrue();
    }

    @Test
    void previousResponseIdContinuesTheStoredConversationForItsOwnerOnly() {
        TranslatedResponsesRequest first = translate("{'model':'m','input':'my name is Ann','instructions':'x'}");
        store.put(first, answers.translate(first, bytes("{'candidates':[{'content':{'parts':[{'text':'Hi Ann'}]},"
                + "'finishReason':'STOP'}]}")), "");
        JsonNode g = gemini("{'model':'m','input':'who am I?','previous_response_id':'" + first.id() + "'}");
        assertThat(g.path("contents")).isEqualTo(json("[{'role':'user','parts':[{'text':'my name is Ann'}]},"
                + "{'role':'model','parts':[{'text':'Hi Ann'}]},{'role':'user','parts':[{'text':'who am I?'}]}]"));
        assertThat(g.has("systemInstruction")).as("instructions are not carried over").isFalse();
        assertThat(store.response(first.id(), "")).isNotNull();
        assertThat(store.response(first.id(), "someone-else")).isNull();
        assertThatThrownBy(() -> requests.translate(Unpooled.wrappedBuffer(bytes("{'model':'m','input':'x',"
                + "'previous_response_id':'" + first.id() + "'}")), io.gemgate.core.settings.Thinking.AUTO, "",
                "someone-else")).isInstanceOf(OpenAiRequestException.class)
                .extracting(e -> ((OpenAiRequestException) e).status()).isEqualTo(404);
    }

    @Test
    void storedCallsPairWithOutputsOfTheNextRequest() {
        TranslatedResponsesRequest first = translate("{'model':'m','input':'weather?'}");
        ResponsesResult r = answers.translate(first, bytes("{'candidates':[{'content':{'parts':["
                + "{'functionCall':{'name':'weather','args':{}}}]},'finishReason':'STOP'}]}"));
        store.put(first, r, "");
        String callId = tree(r.json()).path("output").get(0).path("call_id").asText();
        JsonNode g = gemini("{'model':'m','previous_response_id':'" + first.id() + "','input':[{'type':"
                + "'function_call_output','call_id':'" + callId + "','output':'sunny'}]}");
        assertThat(g.path("contents").get(2)).isEqualTo(json("{'role':'user','parts':[{'functionResponse':"
                + "{'name':'weather','response':{'result':'sunny'}}}]}"));
    }

    @Test
    void itemReferencesResolveToStoredOutputItemsAndUnknownOnesAre404() {
        TranslatedResponsesRequest first = translate("{'model':'m','input':'weather?'}");
        ResponsesResult r = answers.translate(first, bytes("{'candidates':[{'content':{'parts':["
                + "{'text':'checking','thought':true},{'functionCall':{'name':'weather','args':{'c':'P'}}}]},"
                + "'finishReason':'STOP'}]}"));
        store.put(first, r, "");
        JsonNode call = tree(r.json()).path("output").get(0);
        TranslatedResponsesRequest next = translate("{'model':'m','input':[{'role':'user','content':'weather?'},"
                + "{'type':'item_reference','id':'" + call.path("id").asText() + "'},{'type':'function_call_output',"
                + "'call_id':'" + call.path("call_id").asText() + "','output':'sunny'}]}");
        assertThat(tree(next.chat().body()).path("contents")).isEqualTo(json("[{'role':'user','parts':[{'text':"
                + "'weather?'}]},{'role':'model','parts':[{'functionCall':{'name':'weather','args':{'c':'P'}}}]},"
                + "{'role':'user','parts':[{'functionResponse':{'name':'weather','response':{'result':'sunny'}}}]}]"));
        assertThat(next.referencedResponses()).containsExactly(first.id());
        OpenAiRequestException e = refused("{'model':'m','input':[{'type':'item_reference','id':'fc_gone'}]}");
        assertThat(e.status()).isEqualTo(404);
        assertThat(e.param()).isEqualTo("input[0].id");
    }

    @Test
    void storeIsBoundedByBytesAndTime() {
        AtomicLong now = new AtomicLong(0);
        Clock moving = new Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return Instant.ofEpochMilli(now.get());
            }
        };
        ResponseStore small = new ResponseStore(8_000, Duration.ofMinutes(5), moving);
        ResponsesRequestTranslator tr = new ResponsesRequestTranslator(ModelResolver.DEFAULT, SIGNATURES, small);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            TranslatedResponsesRequest t = tr.translate(bytes("{'model':'m','input':'" + "x".repeat(500) + "'}"));
            small.put(t, answers.translate(t, bytes("{'candidates':[{'content':{'parts':[{'text':'ok'}]}}]}")), "");
            ids.add(t.id());
            assertThat(small.bytes()).isLessThanOrEqualTo(8_000);
        }
        assertThat(small.holds(ids.get(0), "")).as("least recently used, pushed out").isFalse();
        assertThat(small.holds(ids.get(19), "")).isTrue();
        now.set(Duration.ofMinutes(5).toMillis());
        assertThat(small.holds(ids.get(19), "")).as("expired").isFalse();
    }

    @Test
    void storeFalseKeepsNothing() {
        TranslatedResponsesRequest t = translate("{'model':'m','input':'x','store':false}");
        store.put(t, answers.translate(t, bytes("{'candidates':[{'content':{'parts':[{'text':'ok'}]}}]}")), "");
        assertThat(store.size()).isZero();
    }

    // -------------------------------------------------------------------------------------------- stream

    /** Frames as (event type, data) pairs, checking that the event line matches the data's type and the order. */
    static List<JsonNode> events(byte[] sse) {
        String text = new String(sse, StandardCharsets.UTF_8);
        List<JsonNode> out = new ArrayList<>();
        if (text.isEmpty()) {
            return out;
        }
        assertThat(text).endsWith("\n\n");
        for (String frame : text.substring(0, text.length() - 2).split("\n\n", -1)) {
            String[] lines = frame.split("\n", -1);
            assertThat(lines).hasSize(2);
            assertThat(lines[0]).startsWith("event: ");
            assertThat(lines[1]).startsWith("data: ");
            JsonNode data = tree(lines[1].substring(6));
            assertThat(data.path("type").asText()).isEqualTo(lines[0].substring(7));
            out.add(data);
        }
        return out;
    }

    private static List<String> types(List<JsonNode> events) {
        List<String> t = new ArrayList<>();
        for (int i = 0; i < events.size(); i++) {
            assertThat(events.get(i).path("sequence_number").asInt()).isEqualTo(i);
            t.add(events.get(i).path("type").asText());
        }
        return t;
    }

    @Test
    void streamFollowsTheResponsesEventSequence() {
        TranslatedResponsesRequest t = translate("{'model':'gemini-2.5-flash','input':'x','stream':true,"
                + "'reasoning':{'summary':'auto','effort':'low'}}");
        ResponsesStreamTranslator s = new ResponsesStreamTranslator(t, SIGNATURES, CLOCK);
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        all.writeBytes(s.onEvent(bytes("{'candidates':[{'content':{'parts':[{'text':'think','thought':true}]}}]}")));
        all.writeBytes(s.onEvent(bytes("{'candidates':[{'content':{'parts':[{'text':'Hel'}]}}]}")));
        all.writeBytes(s.onEvent(bytes("{'candidates':[{'content':{'parts':[{'text':'lo'}]}}]}")));
        all.writeBytes(s.onEvent(bytes("{'candidates':[{'content':{'parts':[{'functionCall':{'name':'f',"
                + "'args':{'a':1}}}]},'finishReason':'STOP'}],'usageMetadata':{'promptTokenCount':4,"
                + "'candidatesTokenCount':6,'thoughtsTokenCount':2}}")));
        all.writeBytes(s.finish());
        List<JsonNode> ev = events(all.toByteArray());
        assertThat(types(ev)).containsExactly("response.created", "response.in_progress",
                "response.output_item.added", "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done",
                "response.reasoning_summary_part.done", "response.output_item.done",
                "response.output_item.added", "response.content_part.added", "response.output_text.delta",
                "response.output_text.delta", "response.output_text.done", "response.content_part.done",
                "response.output_item.done", "response.output_item.added",
                "response.function_call_arguments.delta", "response.function_call_arguments.done",
                "response.output_item.done", "response.completed");
        assertThat(ev.get(0).path("response").path("status").asText()).isEqualTo("in_progress");
        assertThat(ev.get(0).path("response").path("id").asText()).isEqualTo(t.id());
        assertThat(ev.get(12).path("text").asText()).isEqualTo("Hello");
        JsonNode done = ev.get(19).path("response");
        assertThat(done.path("status").asText()).isEqualTo("completed");
        assertThat(done.path("output")).hasSize(3);
        assertThat(done.path("usage").path("output_tokens_details").path("reasoning_tokens").asInt()).isEqualTo(2);
        assertThat(done.path("usage").path("output_tokens").asInt()).isEqualTo(8);
        assertThat(s.result()).isNotNull();
    }

    @Test
    void streamWritesNothingForAnEmptyAnswerSoAnotherKeyCanBeTried() {
        TranslatedResponsesRequest t = translate("{'model':'m','input':'x','stream':true}");
        ResponsesStreamTranslator s = new ResponsesStreamTranslator(t, SIGNATURES, CLOCK);
        assertThat(s.onEvent(bytes("{'candidates':[{'content':{'parts':[{'text':'hm','thought':true}]}}]}")))
                .isEmpty();
        assertThat(s.onEvent(bytes("{'candidates':[{'finishReason':'STOP'}],'usageMetadata':{}}"))).isEmpty();
        assertThat(s.sawContent()).isFalse();
    }

    @Test
    void anUpstreamErrorAfterContentEndsTheStreamWithResponseFailed() {
        TranslatedResponsesRequest t = translate("{'model':'m','input':'x','stream':true}");
        ResponsesStreamTranslator s = new ResponsesStreamTranslator(t, SIGNATURES, CLOCK);
        s.onEvent(bytes("{'candidates':[{'content':{'parts':[{'text':'a'}]}}]}"));
        List<JsonNode> ev = events(s.onEvent(bytes("{'error':{'code':503,'message':'overloaded',"
                + "'status':'UNAVAILABLE'}}")));
        assertThat(ev).hasSize(1);
        assertThat(ev.get(0).path("type").asText()).isEqualTo("response.failed");
        assertThat(ev.get(0).path("response").path("status").asText()).isEqualTo("failed");
        assertThat(s.isDone()).isTrue();
        assertThat(s.finish()).isEmpty();
    }

    @Test
    void errorEventHasOpenAisFields() {
        ByteBuf b = Unpooled.buffer();
        try {
            ResponsesStreamTranslator.writeError(OpenAiErrors.rateLimited("slow down", 7), b);
            List<JsonNode> ev = events(io.netty.buffer.ByteBufUtil.getBytes(b));
            assertThat(ev.get(0)).isEqualTo(json("{'type':'error','sequence_number':0,"
                    + "'code':'rate_limit_exceeded','message':'slow down','param':null}"));
        } finally {
            b.release();
        }
    }
}
