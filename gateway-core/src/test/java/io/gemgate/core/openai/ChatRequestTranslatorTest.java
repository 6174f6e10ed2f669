package io.gemgate.core.openai;

import com.fasterxml.jackson.databind.JsonNode;
import io.gemgate.core.settings.Thinking;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Map;
import java.util.stream.Stream;

import static io.gemgate.core.openai.Jsons.bytes;
import static io.gemgate.core.openai.Jsons.json;
import static io.gemgate.core.openai.Jsons.tree;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * The request mapping (OpenAI API reference: Create chat completion, to Gemini API reference: generateContent), one
 * test (or parameter row) per rule.
 */
class ChatRequestTranslatorTest {
    private static final ChatRequestTranslator T = ChatRequestTranslator.defaults();
    private static final String HI = "'messages':[{'role':'user','content':'hi'}]";

    private static TranslatedChatRequest translate(String relaxed) {
        return T.translate(bytes(relaxed));
    }

    /** The Gemini body for a request (single quotes allowed). */
    private static JsonNode gemini(String relaxed) {
        return tree(translate(relaxed).body());
    }

    private static JsonNode config(String relaxed) {
        return gemini(relaxed).path("generationConfig");
    }

    private static OpenAiRequestException refused(String relaxed) {
        try {
            translate(relaxed);
        } catch (OpenAiRequestException e) {
            return e;
        }
        throw new AssertionError("not refused: " + relaxed);
    }

    // -------------------- ModelAndStream
    @Test
    void modelsPrefixIsStrippedAndRequestedNameKept() {
        TranslatedChatRequest r = translate("{'model':'models/gemini-2.5-flash'," + HI + "}");
        assertThat(r.model()).isEqualTo("gemini-2.5-flash");
        assertThat(r.requestedModel()).isEqualTo("models/gemini-2.5-flash");
        assertThat(r.upstreamPath("v1beta")).isEqualTo("/v1beta/models/gemini-2.5-flash:generateContent");
        assertThat(r.stream()).isFalse();
        assertThat(r.n()).isEqualTo(1);
    }

    @Test
    void streamUsesStreamGenerateContentWithSse() {
        TranslatedChatRequest r = translate("{'model':'gemini-2.5-flash','stream':true," + HI + "}");
        assertThat(r.stream()).isTrue();
        assertThat(r.method()).isEqualTo("streamGenerateContent");
        assertThat(r.upstreamPath("v1beta"))
                .isEqualTo("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
        assertThat(r.includeUsage()).isFalse();
    }

    @Test
    void includeUsageOnlyWithStream() {
        assertThat(translate("{'model':'m','stream':true,'stream_options':{'include_usage':true}," + HI + "}")
                .includeUsage()).isTrue();
        assertThat(translate("{'model':'m','stream':false,'stream_options':{'include_usage':true}," + HI + "}")
                .includeUsage()).isFalse();
    }

    @Test
    void missingModelTakesTheDefault() {
        TranslatedChatRequest r = translate("{" + HI + "}");
        assertThat(r.model()).isEqualTo("gemini-2.5-flash");
        assertThat(r.requestedModel()).isEqualTo("gemini-2.5-flash");
    }

    @Test
    void searchSuffixAddsGoogleSearchTool() {
        TranslatedChatRequest r = translate("{'model':'gemini-2.5-flash-search'," + HI + "}");
        assertThat(r.model()).isEqualTo("gemini-2.5-flash");
        assertThat(r.requestedModel()).isEqualTo("gemini-2.5-flash-search");
        assertThat(tree(r.body()).get("tools")).isEqualTo(json("[{'googleSearch':{}}]"));
    }

    @Test
    void minimalBodyIsContentsOnly() {
        assertThat(gemini("{'model':'gemini-2.5-flash'," + HI + "}"))
                .isEqualTo(json("{'contents':[{'role':'user','parts':[{'text':'hi'}]}]}"));
    }

    // -------------------- Messages
    @Test
    void systemAndDeveloperGoToSystemInstructionInOrder() {
        JsonNode g = gemini("{'model':'m','messages':["
                + "{'role':'system','content':'one'},"
                + "{'role':'user','content':'hi'},"
                + "{'role':'developer','content':[{'type':'text','text':'two'},{'type':'text','text':'three'}]}]}");
        assertThat(g.get("systemInstruction"))
                .isEqualTo(json("{'parts':[{'text':'one'},{'text':'two'},{'text':'three'}]}"));
        assertThat(g.get("contents")).isEqualTo(json("[{'role':'user','parts':[{'text':'hi'}]}]"));
    }

    @Test
    void userStringBecomesOneTextPart() {
        assertThat(gemini("{'model':'m'," + HI + "}").get("contents"))
                .isEqualTo(json("[{'role':'user','parts':[{'text':'hi'}]}]"));
    }

    @Test
    void textPartsStaySeparate() {
        assertThat(gemini("{'model':'m','messages':[{'role':'user','content':["
                + "{'type':'text','text':'a'},{'type':'text','text':'b'}]}]}").get("contents"))
                .isEqualTo(json("[{'role':'user','parts':[{'text':'a'},{'text':'b'}]}]"));
    }

    @Test
    void assistantBecomesModelAndEmptyContentIsSkipped() {
        assertThat(gemini("{'model':'m','messages':[{'role':'user','content':'hi'},"
                + "{'role':'assistant','content':'hello'},{'role':'assistant','content':''},"
                + "{'role':'user','content':'again'},{'role':'user','content':''}]}").get("contents"))
                .isEqualTo(json("[{'role':'user','parts':[{'text':'hi'}]},"
                        + "{'role':'model','parts':[{'text':'hello'}]},"
                        + "{'role':'user','parts':[{'text':'again'}]}]"));
    }

    @Test
    void consecutiveSameRoleMessagesAreMerged() {
        assertThat(gemini("{'model':'m','messages':[{'role':'user','content':'a'},{'role':'user','content':'b'},"
                + "{'role':'assistant','content':'c'},{'role':'assistant','content':'d'}]}").get("contents"))
                .isEqualTo(json("[{'role':'user','parts':[{'text':'a'},{'text':'b'}]},"
                        + "{'role':'model','parts':[{'text':'c'},{'text':'d'}]}]"));
    }

    @Test
    void assistantToolCallsBecomeFunctionCallsWithParsedArgs() {
        JsonNode contents = gemini("{'model':'gemini-2.5-flash','messages':[{'role':'user','content':'hi'},"
                + "{'role':'assistant','content':'Checking.','tool_calls':[{'id':'call_1','type':'function',"
                + "'function':{'name':'get_weather','arguments':'{\\\"city\\\":\\\"Paris\\\",\\\"n\\\":[1,2]}'}}]}]}")
                .get("contents");
        assertThat(contents.get(1)).isEqualTo(json("{'role':'model','parts':[{'text':'Checking.'},"
                + "{'functionCall':{'name':'get_weather','args':{'city':'Paris','n':[1,2]}}}]}"));
    }

    @Test
    void assistantNullContentWithToolCallsIsAccepted() {
        JsonNode contents = gemini("{'model':'gemini-2.5-flash','messages':[{'role':'user','content':'hi'},"
                + "{'role':'assistant','content':null,'tool_calls':[{'id':'c','type':'function',"
                + "'function':{'name':'f','arguments':''}}]}]}").get("contents");
        assertThat(contents.get(1)).isEqualTo(json("{'role':'model','parts':[{'functionCall':{'name':'f','args':{}}}]}"));
    }

    @Test
    void argumentsThatAreNotAJsonObjectAreWrapped() {
        JsonNode contents = gemini("{'model':'gemini-2.5-flash','messages':[{'role':'user','content':'hi'},"
                + "{'role':'assistant','tool_calls':[{'id':'c','type':'function',"
                + "'function':{'name':'f','arguments':'{\\\"cut'}}]}]}").get("contents");
        assertThat(contents.get(1).at("/parts/0/functionCall/args"))
                .isEqualTo(tree("{\"arguments\":\"{\\\"cut\"}"));
    }

    @Test
    void toolResultsBecomeOneUserTurnOfFunctionResponsesNamedFromTheCallId() {
        JsonNode contents = gemini("{'model':'gemini-2.5-flash','messages':[{'role':'user','content':'weather?'},"
                + "{'role':'assistant','tool_calls':["
                + "{'id':'call_a','type':'function','function':{'name':'get_weather','arguments':'{}'}},"
                + "{'id':'call_b','type':'function','function':{'name':'get_time','arguments':'{}'}}]},"
                + "{'role':'tool','tool_call_id':'call_a','content':'{\\\"tempC\\\":21}'},"
                + "{'role':'tool','tool_call_id':'call_b','content':'noon'},"
                + "{'role':'user','content':'thanks'}]}").get("contents");
        assertThat(contents).hasSize(3);
        assertThat(contents.get(2)).isEqualTo(json("{'role':'user','parts':["
                + "{'functionResponse':{'name':'get_weather','response':{'tempC':21}}},"
                + "{'functionResponse':{'name':'get_time','response':{'result':'noon'}}},"
                + "{'text':'thanks'}]}"));
    }

    @Test
    void toolResultArrayIsWrappedParsedAndTextPartsAreJoined() {
        JsonNode contents = gemini("{'model':'gemini-2.5-flash','messages':[{'role':'user','content':'q'},"
                + "{'role':'assistant','tool_calls':[{'id':'x','type':'function','function':{'name':'f','arguments':'{}'}}]},"
                + "{'role':'tool','tool_call_id':'x','content':[{'type':'text','text':'[1,'},{'type':'text','text':'2]'}]}]}")
                .get("contents");
        assertThat(contents.get(2).at("/parts/0/functionResponse/response")).isEqualTo(json("{'result':[1,2]}"));
    }

    @Test
    void toolResultNameFallsBackToTheMessageName() {
        JsonNode contents = gemini("{'model':'m','messages':[{'role':'user','content':'q'},"
                + "{'role':'tool','tool_call_id':'unknown','name':'f','content':'ok'}]}").get("contents");
        assertThat(contents.get(0).at("/parts/1/functionResponse/name").asText()).isEqualTo("f");
    }

    @Test
    void legacyFunctionMessageBecomesFunctionResponse() {
        JsonNode contents = gemini("{'model':'m','messages':[{'role':'user','content':'q'},"
                + "{'role':'assistant','function_call':{'name':'f','arguments':'{\\\"a\\\":1}'}},"
                + "{'role':'function','name':'f','content':'{\\\"ok\\\":true}'}]}").get("contents");
        assertThat(contents.get(1)).isEqualTo(json("{'role':'model','parts':[{'functionCall':{'name':'f','args':{'a':1}}}]}"));
        assertThat(contents.get(2)).isEqualTo(json("{'role':'user','parts':[{'functionResponse':{'name':'f','response':{'ok':true}}}]}"));
    }

    @Test
    void assistantReasoningContentAndRefusalAreDropped() {
        JsonNode contents = gemini("{'model':'m','messages':[{'role':'user','content':'q'},"
                + "{'role':'assistant','content':[{'type':'text','text':'a'},{'type':'refusal','refusal':'no'}],"
                + "'reasoning_content':'thinking'}]}").get("contents");
        assertThat(contents.get(1)).isEqualTo(json("{'role':'model','parts':[{'text':'a'}]}"));
    }

    // -------------------- Media
    @Test
    void dataUrlImageBecomesInlineData() {
        JsonNode parts = gemini("{'model':'m','messages':[{'role':'user','content':[{'type':'text','text':'what?'},"
                + "{'type':'image_url','image_url':{'url':'data:image/png;base64,iVBORw0KGgo=','detail':'high'}}]}]}")
                .at("/contents/0/parts");
        assertThat(parts).isEqualTo(json("[{'text':'what?'},{'inlineData':{'mimeType':'image/png','data':'iVBORw0KGgo='}}]"));
    }

    @Test
    void dataUrlWithParametersAndWhitespaceInBase64() {
        JsonNode part = gemini("{'model':'m','messages':[{'role':'user','content':[{'type':'image_url',"
                + "'image_url':{'url':'data:Image/JPEG;name=a.jpg;base64,AAAA\\nBBBB'}}]}]}")
                .at("/contents/0/parts/0");
        assertThat(part).isEqualTo(json("{'inlineData':{'mimeType':'image/jpeg','data':'AAAABBBB'}}"));
    }

    @Test
    void largeDataUrlIsCopiedIntact() {
        byte[] raw = new byte[3 * 1024 * 1024];
        new java.util.Random(1).nextBytes(raw);
        String b64 = Base64.getEncoder().encodeToString(raw);
        JsonNode part = gemini("{'model':'m','messages':[{'role':'user','content':[{'type':'image_url',"
                + "'image_url':{'url':'data:image/webp;base64," + b64 + "'}}]}]}").at("/contents/0/parts/0");
        assertThat(part.at("/inlineData/mimeType").asText()).isEqualTo("image/webp");
        assertThat(Base64.getDecoder().decode(part.at("/inlineData/data").asText())).isEqualTo(raw);
    }

    @ParameterizedTest
    @CsvSource({
            "https://example.com/cat.png, image/png",
            "https://example.com/a/cat.JPG?x=1#y, image/jpeg",
            "http://example.com/cat.webp, image/webp",
            "https://example.com/doc.pdf, application/pdf",
            "https://example.com/image, image/jpeg",
            "https://example.com/v.1/image, image/jpeg",
            "https://www.youtube.com/watch?v=abc, video/mp4",
    })
    void httpImageUrlBecomesFileDataWithGuessedType(String url, String mime) {
        JsonNode part = gemini("{'model':'m','messages':[{'role':'user','content':[{'type':'image_url',"
                + "'image_url':{'url':'" + url + "'}}]}]}").at("/contents/0/parts/0");
        assertThat(part).isEqualTo(json("{'fileData':{'mimeType':'" + mime + "','fileUri':'" + url + "'}}"));
    }

    @Test
    void imageUrlAsPlainStringIsAccepted() {
        JsonNode part = gemini("{'model':'m','messages':[{'role':'user','content':[{'type':'image_url',"
                + "'image_url':'https://x.org/a.gif'}]}]}").at("/contents/0/parts/0");
        assertThat(part.at("/fileData/mimeType").asText()).isEqualTo("image/gif");
    }

    @ParameterizedTest
    @CsvSource({"wav, audio/wav", "mp3, audio/mp3", "flac, audio/flac"})
    void inputAudioBecomesInlineData(String format, String mime) {
        JsonNode part = gemini("{'model':'m','messages':[{'role':'user','content':[{'type':'input_audio',"
                + "'input_audio':{'data':'UklGRg==','format':'" + format + "'}}]}]}").at("/contents/0/parts/0");
        assertThat(part).isEqualTo(json("{'inlineData':{'mimeType':'" + mime + "','data':'UklGRg=='}}"));
    }

    @Test
    void fileDataUrlBecomesInlineData() {
        JsonNode part = gemini("{'model':'m','messages':[{'role':'user','content':[{'type':'file',"
                + "'file':{'filename':'a.pdf','file_data':'data:application/pdf;base64,JVBERi0='}}]}]}")
                .at("/contents/0/parts/0");
        assertThat(part).isEqualTo(json("{'inlineData':{'mimeType':'application/pdf','data':'JVBERi0='}}"));
    }

    @Test
    void fileBareBase64TakesTypeFromFilename() {
        JsonNode part = gemini("{'model':'m','messages':[{'role':'user','content':[{'type':'file',"
                + "'file':{'filename':'notes.txt','file_data':'aGVsbG8='}}]}]}").at("/contents/0/parts/0");
        assertThat(part).isEqualTo(json("{'inlineData':{'mimeType':'text/plain','data':'aGVsbG8='}}"));
    }

    @Test
    void fileIdBecomesFileDataNamingTheGeminiFile() {
        JsonNode part = gemini("{'model':'m','messages':[{'role':'user','content':[{'type':'file',"
                + "'file':{'file_id':'file-abc123'}}]}]}").at("/contents/0/parts/0");
        assertThat(part).isEqualTo(json("{'fileData':{'fileUri':"
                + "'https://generativelanguage.googleapis.com/v1beta/files/abc123'}}"));
    }

    // -------------------- Parameters
    @Test
    void samplingParametersMapAndClamp() {
        assertThat(config("{'model':'gemini-2.0-flash'," + HI + ",'temperature':0.7,'top_p':0.9,"
                + "'max_tokens':100,'stop':'END','seed':42,'presence_penalty':0.5,'frequency_penalty':-0.5}"))
                .isEqualTo(json("{'temperature':0.7,'topP':0.9,'maxOutputTokens':100,'stopSequences':['END'],"
                        + "'seed':42,'presencePenalty':0.5,'frequencyPenalty':-0.5}"));
        assertThat(config("{'model':'m'," + HI + ",'temperature':2.5,'top_p':1.5,'presence_penalty':9,"
                + "'frequency_penalty':-9,'max_tokens':0}"))
                .isEqualTo(json("{'temperature':2.0,'topP':1.0,'maxOutputTokens':1,'presencePenalty':2.0,"
                        + "'frequencyPenalty':-2.0}"));
        assertThat(config("{'model':'m'," + HI + ",'temperature':-1,'top_p':-1}"))
                .isEqualTo(json("{'temperature':0.0,'topP':0.0}"));
    }

    @Test
    void maxCompletionTokensWinsOverMaxTokens() {
        assertThat(config("{'model':'m'," + HI + ",'max_tokens':100,'max_completion_tokens':200}")
                .get("maxOutputTokens").asInt()).isEqualTo(200);
        assertThat(config("{'model':'m'," + HI + ",'max_completion_tokens':300}")
                .get("maxOutputTokens").asInt()).isEqualTo(300);
    }

    @Test
    void stopListKeepsFiveNonEmptyStrings() {
        assertThat(config("{'model':'m'," + HI + ",'stop':['a','','b','c','d','e','f']}").get("stopSequences"))
                .isEqualTo(json("['a','b','c','d','e']"));
        assertThat(config("{'model':'m'," + HI + ",'stop':null}").has("stopSequences")).isFalse();
    }

    @ParameterizedTest
    @CsvSource({"1, 1, false", "2, 2, true", "4, 4, true", "9, 4, true", "0, 1, false"})
    void nBecomesCandidateCount(int n, int expected, boolean sent) {
        TranslatedChatRequest r = translate("{'model':'m'," + HI + ",'n':" + n + "}");
        assertThat(r.n()).isEqualTo(expected);
        JsonNode c = tree(r.body()).path("generationConfig").path("candidateCount");
        assertThat(c.isMissingNode()).isEqualTo(!sent);
        if (sent) {
            assertThat(c.asInt()).isEqualTo(expected);
        }
    }

    @Test
    void seedKeepsLow32Bits() {
        assertThat(config("{'model':'m'," + HI + ",'seed':4294967297}").get("seed").asInt()).isEqualTo(1);
    }

    @Test
    void responseFormatJsonObject() {
        assertThat(config("{'model':'m'," + HI + ",'response_format':{'type':'json_object'}}"))
                .isEqualTo(json("{'responseMimeType':'application/json'}"));
    }

    @Test
    void responseFormatTextAddsNothing() {
        assertThat(gemini("{'model':'m'," + HI + ",'response_format':{'type':'text'}}").has("generationConfig"))
                .isFalse();
    }

    @Test
    void responseFormatJsonSchemaIsCleanedIntoResponseSchema() {
        assertThat(config("{'model':'m'," + HI + ",'response_format':{'type':'json_schema','json_schema':{"
                + "'name':'x','strict':true,'schema':{'type':'object','additionalProperties':false,"
                + "'properties':{'a':{'type':['string','null']}},'required':['a','zz']}}}}"))
                .isEqualTo(json("{'responseMimeType':'application/json','responseSchema':{'type':'OBJECT',"
                        + "'properties':{'a':{'type':'STRING','nullable':true}},'required':['a']}}"));
    }

    @Test
    void ignoredFieldsAreDropped() {
        JsonNode g = gemini("{'model':'m'," + HI + ",'user':'u','metadata':{'a':'b'},'store':true,"
                + "'logit_bias':{'1':2},'service_tier':'auto','parallel_tool_calls':false,'logprobs':true,"
                + "'top_logprobs':2,'prediction':{'type':'content'},'modalities':['text'],'safety_identifier':'s',"
                + "'prompt_cache_key':'k','verbosity':'low','unknown_thing':[1,{'x':[]}]}");
        assertThat(g).isEqualTo(json("{'contents':[{'role':'user','parts':[{'text':'hi'}]}]}"));
    }

    @Test
    void defaultSafetyThresholdAppliesWhenTheRequestHasNone() {
        ChatRequestTranslator t = new ChatRequestTranslator(ModelResolver.DEFAULT, ThoughtSignatures.inId(),
                "BLOCK_NONE");
        JsonNode safety = tree(t.translate(bytes("{'model':'m'," + HI + "}")).body()).get("safetySettings");
        assertThat(safety).hasSize(4);
        assertThat(safety.get(0)).isEqualTo(json("{'category':'HARM_CATEGORY_HARASSMENT','threshold':'BLOCK_NONE'}"));
        JsonNode own = tree(t.translate(bytes("{'model':'m'," + HI + ",'extra_body':{'google':{'safety_settings':"
                + "[{'category':'HARM_CATEGORY_HATE_SPEECH','threshold':'OFF'}]}}}")).body()).get("safetySettings");
        assertThat(own).isEqualTo(json("[{'category':'HARM_CATEGORY_HATE_SPEECH','threshold':'OFF'}]"));
        assertThatThrownBy(() -> new ChatRequestTranslator(ModelResolver.DEFAULT, ThoughtSignatures.inId(), "NONE"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void googleExtensionsPassThrough() {
        JsonNode g = gemini("{'model':'gemini-2.5-flash'," + HI + ",'extra_body':{'google':{"
                + "'cached_content':'cachedContents/abc',"
                + "'safety_settings':[{'category':'HARM_CATEGORY_HARASSMENT','threshold':'BLOCK_ONLY_HIGH'}],"
                + "'thinking_config':{'thinking_budget':2048,'include_thoughts':true}}}}");
        assertThat(g.get("cachedContent").asText()).isEqualTo("cachedContents/abc");
        assertThat(g.get("safetySettings"))
                .isEqualTo(json("[{'category':'HARM_CATEGORY_HARASSMENT','threshold':'BLOCK_ONLY_HIGH'}]"));
        assertThat(g.at("/generationConfig/thinkingConfig"))
                .isEqualTo(json("{'thinkingBudget':2048,'includeThoughts':true}"));
    }

    @Test
    void topLevelGoogleAndNestedExtraBodyAreAccepted() {
        assertThat(gemini("{'model':'m'," + HI + ",'google':{'cachedContent':'cachedContents/x'}}")
                .get("cachedContent").asText()).isEqualTo("cachedContents/x");
        assertThat(gemini("{'model':'m'," + HI + ",'extra_body':{'extra_body':{'google':{'cached_content':'c/y'}}}}")
                .get("cachedContent").asText()).isEqualTo("c/y");
    }

    // -------------------- Tools
    private static final String TOOLS = "'tools':[{'type':'function','function':{'name':'get_weather',"
            + "'description':'Weather','strict':true,'parameters':{'$schema':'http://json-schema.org/draft-07/schema#',"
            + "'type':'object','properties':{'city':{'type':'string'}},'required':['city'],"
            + "'additionalProperties':false}}},"
            + "{'type':'function','function':{'name':'now','parameters':{'type':'object','properties':{}}}},"
            + "{'type':'function','function':{'name':'ping'}}]";

    @Test
    void toolsBecomeOneFunctionDeclarationsListWithCleanedSchemas() {
        assertThat(gemini("{'model':'m'," + HI + "," + TOOLS + "}").get("tools")).isEqualTo(json("[{"
                + "'functionDeclarations':["
                + "{'name':'get_weather','description':'Weather','parameters':{'type':'OBJECT',"
                + "'properties':{'city':{'type':'STRING'}},'required':['city']}},"
                + "{'name':'now'},{'name':'ping'}]}]"));
    }

    @Test
    void searchSuffixAddsGoogleSearchNextToFunctions() {
        JsonNode tools = gemini("{'model':'gemini-2.5-flash-search'," + HI + "," + TOOLS + "}").get("tools");
        assertThat(tools).hasSize(2);
        assertThat(tools.get(1)).isEqualTo(json("{'googleSearch':{}}"));
    }

    static Stream<Arguments> toolChoices() {
        return Stream.of(
                arguments("'auto'", "{'functionCallingConfig':{'mode':'AUTO'}}"),
                arguments("'none'", "{'functionCallingConfig':{'mode':'NONE'}}"),
                arguments("'required'", "{'functionCallingConfig':{'mode':'ANY'}}"),
                arguments("{'type':'function','function':{'name':'now'}}",
                        "{'functionCallingConfig':{'mode':'ANY','allowedFunctionNames':['now']}}"),
                arguments("{'type':'allowed_tools','allowed_tools':{'mode':'required','tools':["
                                + "{'type':'function','function':{'name':'now'}},{'type':'function','function':{'name':'ping'}}]}}",
                        "{'functionCallingConfig':{'mode':'ANY','allowedFunctionNames':['now','ping']}}"));
    }

    @ParameterizedTest
    @MethodSource("toolChoices")
    void toolChoiceBecomesToolConfig(String choice, String expected) {
        assertThat(gemini("{'model':'m'," + HI + "," + TOOLS + ",'tool_choice':" + choice + "}").get("toolConfig"))
                .isEqualTo(json(expected));
    }

    @Test
    void allowedToolsAutoKeepsOnlyTheAllowedDeclarations() {
        JsonNode g = gemini("{'model':'m'," + HI + "," + TOOLS + ",'tool_choice':{'type':'allowed_tools',"
                + "'allowed_tools':{'mode':'auto','tools':[{'type':'function','function':{'name':'ping'}}]}}}");
        assertThat(g.at("/tools/0/functionDeclarations")).isEqualTo(json("[{'name':'ping'}]"));
        assertThat(g.get("toolConfig")).isEqualTo(json("{'functionCallingConfig':{'mode':'AUTO'}}"));
    }

    @Test
    void noToolChoiceMeansGeminiDefaultAndNoToolsMeansNoToolConfig() {
        assertThat(gemini("{'model':'m'," + HI + "," + TOOLS + "}").has("toolConfig")).isFalse();
        assertThat(gemini("{'model':'m'," + HI + ",'tool_choice':'required'}").has("toolConfig")).isFalse();
    }

    @Test
    void legacyFunctionsAndFunctionCall() {
        JsonNode g = gemini("{'model':'m'," + HI + ",'functions':[{'name':'f','parameters':{'type':'object',"
                + "'properties':{'a':{'type':'integer','format':'int32'}}}}],'function_call':{'name':'f'}}");
        assertThat(g.get("tools")).isEqualTo(json("[{'functionDeclarations':[{'name':'f','parameters':{"
                + "'type':'OBJECT','properties':{'a':{'type':'INTEGER','format':'int32'}}}}]}]"));
        assertThat(g.get("toolConfig"))
                .isEqualTo(json("{'functionCallingConfig':{'mode':'ANY','allowedFunctionNames':['f']}}"));
        assertThat(gemini("{'model':'m'," + HI + ",'functions':[{'name':'f'}],'function_call':'none'}")
                .get("toolConfig")).isEqualTo(json("{'functionCallingConfig':{'mode':'NONE'}}"));
    }

    // -------------------- Thinking
    static Stream<Arguments> budgets() {
        return Stream.of(
                arguments("gemini-2.5-flash", "none", 0, false),
                arguments("gemini-2.5-flash", "minimal", 512, true),
                arguments("gemini-2.5-flash", "low", 1024, true),
                arguments("gemini-2.5-flash", "medium", 8192, true),
                arguments("gemini-2.5-flash", "high", 24576, true),
                arguments("gemini-2.5-flash", "xhigh", 24576, true),
                arguments("gemini-2.5-flash", "max", 24576, true),
                arguments("gemini-2.5-flash-lite", "none", 0, false),
                arguments("gemini-2.5-flash-lite", "max", 24576, true),
                arguments("gemini-2.5-pro", "none", 128, false),
                arguments("gemini-2.5-pro", "minimal", 128, true),
                arguments("gemini-2.5-pro", "high", 24576, true),
                arguments("gemini-2.5-pro", "max", 32768, true),
                arguments("gemini-flash-latest", "low", 1024, true));
    }

    @ParameterizedTest
    @MethodSource("budgets")
    void reasoningEffortBecomesABudgetOn25(String model, String effort, int budget, boolean thoughts) {
        TranslatedChatRequest r = translate("{'model':'" + model + "'," + HI + ",'reasoning_effort':'" + effort + "'}");
        JsonNode expected = thoughts ? json("{'thinkingBudget':" + budget + ",'includeThoughts':true}")
                : json("{'thinkingBudget':" + budget + "}");
        assertThat(tree(r.body()).at("/generationConfig/thinkingConfig")).isEqualTo(expected);
        assertThat(r.reasoning()).isEqualTo(thoughts);
    }

    static Stream<Arguments> levels() {
        return Stream.of(
                arguments("gemini-3-flash-preview", "none", "MINIMAL"),
                arguments("gemini-3-flash-preview", "minimal", "MINIMAL"),
                arguments("gemini-3-flash-preview", "low", "LOW"),
                arguments("gemini-3-flash-preview", "medium", "MEDIUM"),
                arguments("gemini-3-flash-preview", "high", "HIGH"),
                arguments("gemini-3-flash-preview", "xhigh", "HIGH"),
                arguments("gemini-3-flash-preview", "max", "HIGH"),
                arguments("gemini-3-pro-preview", "minimal", "LOW"),
                arguments("gemini-3-pro-preview", "medium", "HIGH"),
                arguments("gemini-3.1-pro-preview", "medium", "MEDIUM"),
                arguments("gemini-3.1-pro-preview", "none", "LOW"),
                arguments("gemini-3.7-flash", "minimal", "LOW"),
                arguments("gemini-3.7-flash-lite", "minimal", "MINIMAL"));
    }

    @ParameterizedTest
    @MethodSource("levels")
    void reasoningEffortBecomesALevelOnGemini3(String model, String effort, String level) {
        JsonNode tc = config("{'model':'" + model + "'," + HI + ",'reasoning_effort':'" + effort + "'}")
                .get("thinkingConfig");
        assertThat(tc.get("thinkingLevel").asText()).isEqualTo(level);
        assertThat(tc.has("thinkingBudget")).isFalse();
        assertThat(tc.path("includeThoughts").asBoolean()).isEqualTo(!effort.equals("none"));
    }

    @Test
    void modelsWithoutThinkingControlGetNoThinkingConfig() {
        TranslatedChatRequest r = translate("{'model':'gemini-2.0-flash'," + HI + ",'reasoning_effort':'high'}");
        assertThat(tree(r.body()).has("generationConfig")).isFalse();
        assertThat(r.reasoning()).isFalse();
    }

    @Test
    void suffixesSetThinking() {
        assertThat(config("{'model':'gemini-2.5-flash-nothinking'," + HI + "}"))
                .isEqualTo(json("{'thinkingConfig':{'thinkingBudget':0}}"));
        assertThat(config("{'model':'gemini-2.5-pro-nothinking'," + HI + "}"))
                .isEqualTo(json("{'thinkingConfig':{'thinkingBudget':128}}"));
        assertThat(config("{'model':'gemini-2.5-pro-maxthinking'," + HI + "}"))
                .isEqualTo(json("{'thinkingConfig':{'thinkingBudget':32768}}"));
        assertThat(config("{'model':'gemini-2.5-flash-maxthinking'," + HI + "}"))
                .isEqualTo(json("{'thinkingConfig':{'thinkingBudget':24576}}"));
        assertThat(config("{'model':'gemini-3-flash-preview-nothinking'," + HI + "}"))
                .isEqualTo(json("{'thinkingConfig':{'thinkingLevel':'MINIMAL'}}"));
        assertThat(config("{'model':'gemini-3-pro-preview-maxthinking'," + HI + "}"))
                .isEqualTo(json("{'thinkingConfig':{'thinkingLevel':'HIGH'}}"));
        assertThat(translate("{'model':'gemini-2.5-pro-maxthinking'," + HI + "}").reasoning()).isFalse();
    }

    @Test
    void reasoningEffortWinsOverSuffixAndExplicitConfigWinsOverBoth() {
        assertThat(config("{'model':'gemini-2.5-flash-nothinking'," + HI + ",'reasoning_effort':'low'}"))
                .isEqualTo(json("{'thinkingConfig':{'thinkingBudget':1024,'includeThoughts':true}}"));
        assertThat(config("{'model':'gemini-2.5-flash-nothinking'," + HI + ",'reasoning_effort':'low',"
                + "'extra_body':{'google':{'thinking_config':{'thinking_budget':77}}}}"))
                .isEqualTo(json("{'thinkingConfig':{'thinkingBudget':77,'includeThoughts':true}}"));
    }

    @Test
    void neverBothBudgetAndLevel() {
        assertThat(config("{'model':'gemini-3-flash-preview'," + HI + ",'reasoning_effort':'high',"
                + "'thinking_config':{'thinking_budget':100,'thinking_level':'low'}}"))
                .isEqualTo(json("{'thinkingConfig':{'thinkingLevel':'LOW','includeThoughts':true}}"));
        assertThat(config("{'model':'gemini-2.5-flash'," + HI + ",'reasoning_effort':'high',"
                + "'thinking_config':{'thinking_budget':100,'thinking_level':'low'}}"))
                .isEqualTo(json("{'thinkingConfig':{'thinkingBudget':100,'includeThoughts':true}}"));
    }

    @Test
    void includeThoughtsAloneAsksForReasoning() {
        TranslatedChatRequest r = translate("{'model':'gemini-2.5-flash'," + HI
                + ",'thinking_config':{'include_thoughts':true}}");
        assertThat(r.reasoning()).isTrue();
        assertThat(tree(r.body()).at("/generationConfig/thinkingConfig")).isEqualTo(json("{'includeThoughts':true}"));
        TranslatedChatRequest off = translate("{'model':'gemini-2.5-flash'," + HI
                + ",'reasoning_effort':'high','extra_body':{'google':{'thinking_config':{'include_thoughts':false}}}}");
        assertThat(off.reasoning()).isFalse();
        assertThat(tree(off.body()).at("/generationConfig/thinkingConfig")).isEqualTo(json("{'thinkingBudget':24576}"));
    }

    @Test
    void noReasoningByDefault() {
        TranslatedChatRequest r = translate("{'model':'gemini-2.5-flash'," + HI + "}");
        assertThat(r.reasoning()).isFalse();
        assertThat(tree(r.body()).has("generationConfig")).isFalse();
    }

    // -------------------- The gateway's defaults (live settings)
    private static JsonNode withDefaults(Thinking thinking, String instruction, String relaxed) {
        ByteBuf body = Unpooled.wrappedBuffer(bytes(relaxed));
        return tree(T.translate(body, thinking, instruction).body());
    }

    static Stream<Arguments> defaultThinking() {
        String own = ",'reasoning_effort':'low'";
        String config = ",'thinking_config':{'thinking_budget':77,'include_thoughts':true}";
        return Stream.of(
                // setting, model, the request's own thinking, expected thinkingConfig ("" = none)
                arguments(Thinking.AUTO, "gemini-2.5-flash", "", ""),
                arguments(Thinking.LOW, "gemini-2.5-flash", "", "{'thinkingBudget':1024}"),
                arguments(Thinking.MEDIUM, "gemini-2.5-pro", "", "{'thinkingBudget':8192}"),
                arguments(Thinking.HIGH, "gemini-2.5-flash", "", "{'thinkingBudget':24576}"),
                arguments(Thinking.HIGH, "gemini-3-pro-preview", "", "{'thinkingLevel':'HIGH'}"),
                arguments(Thinking.LOW, "gemini-3-flash-preview", "", "{'thinkingLevel':'LOW'}"),
                arguments(Thinking.HIGH, "gemini-2.0-flash", "", ""),
                // a level only fills in what the request left open
                arguments(Thinking.HIGH, "gemini-2.5-flash", own, "{'thinkingBudget':1024,'includeThoughts':true}"),
                arguments(Thinking.HIGH, "gemini-2.5-flash", config, "{'thinkingBudget':77,'includeThoughts':true}"),
                arguments(Thinking.HIGH, "gemini-2.5-flash-nothinking", "", "{'thinkingBudget':0}"),
                arguments(Thinking.LOW, "gemini-2.5-flash", ",'thinking_config':{'include_thoughts':true}",
                        "{'thinkingBudget':1024,'includeThoughts':true}"),
                // OFF overrides every layer; thoughts only when asked for explicitly
                arguments(Thinking.OFF, "gemini-2.5-flash", "", "{'thinkingBudget':0}"),
                arguments(Thinking.OFF, "gemini-2.5-flash", own, "{'thinkingBudget':0}"),
                arguments(Thinking.OFF, "gemini-2.5-flash", config, "{'thinkingBudget':0,'includeThoughts':true}"),
                arguments(Thinking.OFF, "gemini-2.5-pro-maxthinking", "", "{'thinkingBudget':128}"),
                arguments(Thinking.OFF, "gemini-3-flash-preview", own, "{'thinkingLevel':'MINIMAL'}"),
                arguments(Thinking.OFF, "gemini-3-pro-preview", "", "{'thinkingLevel':'LOW'}"),
                arguments(Thinking.OFF, "gemini-2.0-flash", "", ""));
    }

    @ParameterizedTest
    @MethodSource("defaultThinking")
    void defaultThinkingIsTheLowestLayerAndOffOverridesAll(Thinking setting, String model, String own,
                                                            String expected) {
        JsonNode tc = withDefaults(setting, "", "{'model':'" + model + "'," + HI + own + "}")
                .at("/generationConfig/thinkingConfig");
        if (expected.isEmpty()) {
            assertThat(tc.isMissingNode()).as("%s", tc).isTrue();
        } else {
            assertThat(tc).isEqualTo(json(expected));
        }
    }

    @Test
    void offTurnsOffTheReasoningThatReasoningEffortAsksFor() {
        ByteBuf body = Unpooled.wrappedBuffer(bytes("{'model':'gemini-2.5-flash'," + HI
                + ",'reasoning_effort':'high'}"));
        assertThat(T.translate(body, Thinking.OFF, "").reasoning()).isFalse();
        assertThat(T.translate(body, Thinking.LOW, "").reasoning()).isTrue();
    }

    @Test
    void offStillRefusesAnUnknownReasoningEffort() {
        ByteBuf body = Unpooled.wrappedBuffer(bytes("{'model':'gemini-2.5-flash'," + HI
                + ",'reasoning_effort':'extreme'}"));
        assertThatThrownBy(() -> T.translate(body, Thinking.OFF, ""))
                .isInstanceOf(OpenAiRequestException.class).hasMessageContaining("extreme");
    }

    @Test
    void gatewayInstructionComesFirstBeforeTheClientsSystemText() {
        String messages = "'messages':[{'role':'system','content':'be terse'},{'role':'user','content':'hi'},"
                + "{'role':'developer','content':'no emojis'}]";
        assertThat(withDefaults(Thinking.AUTO, "Answer in \"French\".", "{'model':'m'," + messages + "}")
                .get("systemInstruction")).isEqualTo(tree("{\"parts\":[{\"text\":\"Answer in \\\"French\\\".\"},"
                + "{\"text\":\"be terse\"},{\"text\":\"no emojis\"}]}"));
        assertThat(withDefaults(Thinking.AUTO, "ours", "{'model':'m'," + HI + "}").get("systemInstruction"))
                .isEqualTo(json("{'parts':[{'text':'ours'}]}"));
        assertThat(withDefaults(Thinking.AUTO, "", "{'model':'m'," + HI + "}").has("systemInstruction")).isFalse();
    }

    @Test
    void upstreamPathFollowsTheCallNotTheClient() {
        TranslatedChatRequest r = translate("{'model':'gemini-2.5-flash','stream':true," + HI + "}");
        assertThat(r.upstreamPath("v1beta", false)).isEqualTo("/v1beta/models/gemini-2.5-flash:generateContent");
        assertThat(translate("{'model':'gemini-2.5-flash'," + HI + "}").upstreamPath("v1beta", true))
                .isEqualTo("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
    }

    // -------------------- Signatures
    private static final String SIG = Base64.getEncoder().encodeToString(
            "a thought signature of some length".getBytes(StandardCharsets.UTF_8));

    private String history(String model, String callsJson) {
        return "{'model':'" + model + "','messages':[{'role':'user','content':'q'},"
                + "{'role':'assistant','tool_calls':" + callsJson + "},"
                + "{'role':'tool','tool_call_id':'x','name':'f','content':'1'}]}";
    }

    @Test
    void signatureCarriedInTheIdIsRestored() {
        String id = ThoughtSignatures.inId().newToolCallId(SIG);
        JsonNode model = gemini(history("gemini-3-pro-preview",
                "[{'id':'" + id + "','type':'function','function':{'name':'f','arguments':'{}'}},"
                        + "{'id':'call_plain','type':'function','function':{'name':'f','arguments':'{}'}}]"))
                .at("/contents/1/parts");
        assertThat(model.get(0).get("thoughtSignature").asText()).isEqualTo(SIG);
        assertThat(model.get(1).has("thoughtSignature")).isFalse();
    }

    @Test
    void extraContentSignatureWinsOverTheId() {
        String id = ThoughtSignatures.inId().newToolCallId(SIG);
        JsonNode part = gemini(history("gemini-3-pro-preview",
                "[{'id':'" + id + "','type':'function','function':{'name':'f','arguments':'{}'},"
                        + "'extra_content':{'google':{'thought_signature':'OTHER'}}}]"))
                .at("/contents/1/parts/0");
        assertThat(part.get("thoughtSignature").asText()).isEqualTo("OTHER");
    }

    @Test
    void unknownSignatureOnGemini3FirstCallOfEachTurnIsTheSkipValue() {
        JsonNode contents = gemini("{'model':'gemini-3-flash-preview','messages':[{'role':'user','content':'q'},"
                + "{'role':'assistant','tool_calls':[{'id':'a','type':'function','function':{'name':'f','arguments':'{}'}},"
                + "{'id':'b','type':'function','function':{'name':'f','arguments':'{}'}}]},"
                + "{'role':'tool','tool_call_id':'a','content':'1'},{'role':'tool','tool_call_id':'b','content':'2'},"
                + "{'role':'assistant','tool_calls':[{'id':'c','type':'function','function':{'name':'g','arguments':'{}'}}]},"
                + "{'role':'tool','tool_call_id':'c','content':'3'}]}").get("contents");
        assertThat(contents.at("/1/parts/0/thoughtSignature").asText()).isEqualTo(ThoughtSignatures.SKIP_VALIDATOR);
        assertThat(contents.at("/1/parts/1").has("thoughtSignature")).isFalse();
        assertThat(contents.at("/3/parts/0/thoughtSignature").asText()).isEqualTo(ThoughtSignatures.SKIP_VALIDATOR);
        assertThat(contents.at("/2/parts/1/functionResponse/name").asText()).isEqualTo("f");
        assertThat(contents.at("/4/parts/0/functionResponse/name").asText()).isEqualTo("g");
    }

    @Test
    void noSkipValueOnGemini25() {
        JsonNode part = gemini(history("gemini-2.5-flash",
                "[{'id':'a','type':'function','function':{'name':'f','arguments':'{}'}}]")).at("/contents/1/parts/0");
        assertThat(part.has("thoughtSignature")).isFalse();
    }

    @Test
    void cachedSignaturesAreRestoredFromShortIds() {
        Clock clock = Clock.fixed(Instant.EPOCH, ZoneOffset.UTC);
        ThoughtSignatures cache = ThoughtSignatures.cache(100, Duration.ofHours(1), clock);
        String id = cache.newToolCallId(SIG);
        assertThat(id).hasSize(21);
        ChatRequestTranslator t = new ChatRequestTranslator(ModelResolver.DEFAULT, cache, null);
        JsonNode part = tree(t.translate(bytes(history("gemini-3-pro-preview",
                "[{'id':'" + id + "','type':'function','function':{'name':'f','arguments':'{}'}}]"))).body())
                .at("/contents/1/parts/0");
        assertThat(part.get("thoughtSignature").asText()).isEqualTo(SIG);
    }

    // -------------------- Validation
    static Stream<Arguments> refusals() {
        return Stream.of(
                arguments("{'model':'m'}", "messages"),
                arguments("{'model':'m','messages':[]}", "messages"),
                arguments("{'model':'m','messages':'hi'}", "messages"),
                arguments("{'model':'m','messages':[{'content':'hi'}]}", "messages[0].role"),
                arguments("{'model':'m','messages':[{'role':'bot','content':'hi'}]}", "messages[0].role"),
                arguments("{'model':'m','messages':[{'role':'user','content':'hi'},{'role':'user'}]}",
                        "messages[1].content"),
                arguments("{'model':'m','messages':[{'role':'user','content':42}]}", "messages[0].content"),
                arguments("{'model':'m','messages':[{'role':'tool','content':'x'}]}", "messages[0].tool_call_id"),
                arguments("{'model':'m','messages':[{'role':'function','content':'x'}]}", "messages[0].name"),
                arguments("{'model':'m'," + HI + ",'temperature':'0.5'}", "temperature"),
                arguments("{'model':'m'," + HI + ",'max_tokens':1.5}", "max_tokens"),
                arguments("{'model':'m'," + HI + ",'stream':'yes'}", "stream"),
                arguments("{'model':'m'," + HI + ",'n':'2'}", "n"),
                arguments("{'model':'m'," + HI + ",'stop':[1]}", "stop[0]"),
                arguments("{'model':'m'," + HI + ",'model':42}", "model"),
                arguments("{'model':'m'," + HI + ",'tools':{}}", "tools"),
                arguments("{'model':'m'," + HI + ",'tools':[{'type':'custom','custom':{'name':'x'}}]}", "tools[0].type"),
                arguments("{'model':'m'," + HI + ",'tools':[{'type':'function','function':{}}]}",
                        "tools[0].function.name"),
                arguments("{'model':'m'," + HI + ",'tool_choice':'sometimes'}", "tool_choice"),
                arguments("{'model':'m'," + HI + ",'tool_choice':{'type':'function'}}", "tool_choice.function.name"),
                arguments("{'model':'m'," + HI + ",'reasoning_effort':'extreme'}", "reasoning_effort"),
                arguments("{'model':'gemini-2.0-flash'," + HI + ",'reasoning_effort':'extreme'}", "reasoning_effort"),
                arguments("{'model':'m'," + HI + ",'response_format':{'type':'xml'}}", "response_format.type"),
                arguments("{'model':'m','messages':[{'role':'user','content':[{'type':'video','video':{}}]}]}",
                        "messages[0].content[0].type"),
                arguments("{'model':'m','messages':[{'role':'user','content':[{'type':'image_url',"
                        + "'image_url':{'url':'ftp://x/y.png'}}]}]}", "messages[0].content[0].image_url.url"),
                arguments("{'model':'m','messages':[{'role':'user','content':[{'type':'image_url',"
                        + "'image_url':{'url':'data:image/png,abc'}}]}]}", "messages[0].content[0].image_url.url"),
                arguments("{'model':'m','messages':[{'role':'user','content':[{'type':'image_url',"
                        + "'image_url':{'url':'data:;base64,abc'}}]}]}", "messages[0].content[0].image_url.url"),
                arguments("{'model':'m','messages':[{'role':'user','content':[{'type':'image_url',"
                        + "'image_url':{'url':'data:image/png;base64,ab\\\"c'}}]}]}",
                        "messages[0].content[0].image_url.url"),
                arguments("{'model':'m','messages':[{'role':'user','content':[{'type':'input_audio',"
                        + "'input_audio':{'data':'AA==','format':'midi'}}]}]}",
                        "messages[0].content[0].input_audio.format"),
                arguments("{'model':'m','messages':[{'role':'user','content':[{'type':'file',"
                        + "'file':{'file_id':'not a file id'}}]}]}", "messages[0].content[0].file.file_id"),
                arguments("{'model':'m','messages':[{'role':'system','content':[{'type':'image_url',"
                        + "'image_url':{'url':'https://x/y.png'}}]},{'role':'user','content':'hi'}]}",
                        "messages[0].content[0].type"),
                arguments("{'model':'m','messages':[{'role':'system','content':'only system'}]}", "messages"),
                arguments("{'model':'m','messages':[{'role':'user','content':'q'},"
                        + "{'role':'tool','tool_call_id':'nope','content':'x'}]}", "messages[1].tool_call_id"),
                arguments("{'model':'m','messages':[{'role':'assistant','tool_calls':[{'id':'a','type':'function',"
                        + "'function':{'arguments':'{}'}}]}]}", "messages[0].tool_calls[0].function.name"));
    }

    @ParameterizedTest
    @MethodSource("refusals")
    void invalidRequestsAreRefusedNamingTheParam(String body, String param) {
        OpenAiRequestException e = refused(body);
        assertThat(e.param()).isEqualTo(param);
        assertThat(e.status()).isEqualTo(400);
        assertThat(e.getMessage()).isNotBlank();
    }

    static Stream<String> badBodies() {
        return Stream.of("not json", "[1,2]", "{'messages':[", "{} {}", "", "{'messages':[{'role':'user','content':'a'}]");
    }

    @ParameterizedTest
    @MethodSource("badBodies")
    void badJsonIsRefusedWithoutParam(String body) {
        OpenAiRequestException e = refused(body);
        assertThat(e.param()).isNull();
    }

    @Test
    void typeErrorMessageSaysWhatWasExpected() {
        assertThat(refused("{'model':'m'," + HI + ",'temperature':'hot'}").getMessage())
                .isEqualTo("Invalid type for 'temperature': expected a number, but got a string instead.");
    }

    @Test
    void nullsCountAsAbsent() {
        assertThat(gemini("{'model':'m'," + HI + ",'temperature':null,'top_p':null,'n':null,'stop':null,"
                + "'tools':null,'tool_choice':null,'response_format':null,'stream_options':null,'seed':null}"))
                .isEqualTo(json("{'contents':[{'role':'user','parts':[{'text':'hi'}]}]}"));
    }

    // -------------------- Buffers
    @Test
    void byteBufInputGivesTheSameBodyAndIsLeftUntouched() {
        byte[] body = bytes("{'model':'m','messages':[{'role':'user','content':'héllo ✓'}],'temperature':1}");
        byte[] expected = T.translate(body).body();
        ByteBuf composite = Unpooled.wrappedBuffer(Unpooled.wrappedBuffer(new byte[3]), Unpooled.wrappedBuffer(body));
        ByteBuf heap = composite.slice(3, body.length);
        ByteBuf direct = Unpooled.directBuffer(body.length).writeBytes(body);
        ByteBuf array = Unpooled.wrappedBuffer(body);
        try {
            assertThat(T.translate(array).body()).isEqualTo(expected);
            assertThat(T.translate(heap).body()).isEqualTo(expected);
            assertThat(T.translate(direct).body()).isEqualTo(expected);
            assertThat(direct.readerIndex()).isZero();
            assertThat(direct.readableBytes()).isEqualTo(body.length);
            assertThat(direct.refCnt()).isEqualTo(1);
            assertThat(tree(expected).at("/contents/0/parts/0/text").asText()).isEqualTo("héllo ✓");
        } finally {
            direct.release();
            composite.release();
            array.release();
        }
    }

    @Test
    void offsetAndLengthSelectTheBody() {
        byte[] body = bytes("xx{'model':'m'," + HI + "}yy");
        assertThat(tree(T.translate(body, 2, body.length - 4).body()))
                .isEqualTo(json("{'contents':[{'role':'user','parts':[{'text':'hi'}]}]}"));
    }

    @Test
    void modelAliasesApply() {
        ChatRequestTranslator t = new ChatRequestTranslator(
                new ModelResolver(Map.of("gpt-4o", "gemini-2.5-pro"), null), ThoughtSignatures.inId(), null);
        assertThat(t.translate(bytes("{'model':'openai/GPT-4o'," + HI + "}")).model()).isEqualTo("gemini-2.5-pro");
        assertThatThrownBy(() -> t.translate(bytes("{" + HI + "}")))
                .isInstanceOfSatisfying(OpenAiRequestException.class, e -> assertThat(e.param()).isEqualTo("model"));
    }
}
