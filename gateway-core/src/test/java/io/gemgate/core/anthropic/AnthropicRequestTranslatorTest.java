package io.gemgate.core.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gemgate.core.openai.ThoughtSignatures;
import io.gemgate.core.settings.Thinking;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Anthropic Messages API bodies to Gemini bodies (Anthropic's API reference "Messages"; Gemini API reference). */
class AnthropicRequestTranslatorTest {
    static final ObjectMapper MAPPER = new ObjectMapper();
    static final ThoughtSignatures SIGNATURES = ThoughtSignatures.inId();
    static final String SIG = Base64.getEncoder().encodeToString("sig-bytes-0123456789".getBytes(StandardCharsets.UTF_8));
    static final AnthropicRequestTranslator T = new AnthropicRequestTranslator(AnthropicModels.DEFAULT, SIGNATURES);

    static JsonNode tree(String relaxed) {
        try {
            return MAPPER.readTree(relaxed.replace('\'', '"'));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] bytes(String relaxed) {
        return relaxed.replace('\'', '"').getBytes(StandardCharsets.UTF_8);
    }

    static JsonNode gemini(String relaxed) {
        try {
            return MAPPER.readTree(T.translate(bytes(relaxed)).body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Stream<Arguments> translations() {
        String call = SIGNATURES.newToolCallId(SIG);
        return Stream.of(
                Arguments.of("a string prompt, the system as a string",
                        "{'model':'gemini-2.5-flash','max_tokens':100,'system':'S','messages':[{'role':'user','content':'hi'}]}",
                        "{'contents':[{'role':'user','parts':[{'text':'hi'}]}],'systemInstruction':{'parts':[{'text':'S'}]},"
                                + "'generationConfig':{'maxOutputTokens':100}}"),
                Arguments.of("system text blocks and system-role messages, consecutive users merged, empty text dropped",
                        "{'model':'gemini-2.5-flash','max_tokens':5,'system':[{'type':'text','text':'A','cache_control':{'type':'ephemeral'}}],"
                                + "'messages':[{'role':'system','content':'B'},{'role':'user','content':[{'type':'text','text':'x'},{'type':'text','text':''}]},"
                                + "{'role':'user','content':'y'}],'metadata':{'user_id':'u'}}",
                        "{'contents':[{'role':'user','parts':[{'text':'x'},{'text':'y'}]}],"
                                + "'systemInstruction':{'parts':[{'text':'A'},{'text':'B'}]},'generationConfig':{'maxOutputTokens':5}}"),
                Arguments.of("images and documents: base64, URL, text",
                        "{'model':'gemini-2.5-flash','max_tokens':5,'messages':[{'role':'user','content':["
                                + "{'type':'image','source':{'type':'base64','media_type':'image/png','data':'iVBORw=='}},"
                                + "{'type':'image','source':{'type':'url','url':'https://example.com/a.webp'}},"
                                + "{'type':'document','source':{'type':'base64','media_type':'application/pdf','data':'JVBERi0='}},"
                                + "{'type':'document','source':{'type':'url','url':'https://example.com/doc.pdf'}},"
                                + "{'type':'document','title':'T','source':{'type':'text','media_type':'text/plain','data':'body'}}]}]}",
                        "{'contents':[{'role':'user','parts':[{'inlineData':{'mimeType':'image/png','data':'iVBORw=='}},"
                                + "{'fileData':{'mimeType':'image/webp','fileUri':'https://example.com/a.webp'}},"
                                + "{'inlineData':{'mimeType':'application/pdf','data':'JVBERi0='}},"
                                + "{'fileData':{'mimeType':'application/pdf','fileUri':'https://example.com/doc.pdf'}},"
                                + "{'text':'T\\n\\nbody'}]}],'generationConfig':{'maxOutputTokens':5}}"),
                Arguments.of("tool use and results: names from the call, JSON object, text, error; tools and choice",
                        "{'model':'gemini-2.5-flash','max_tokens':5,'tools':[{'name':'f','description':'D','input_schema':"
                                + "{'type':'object','properties':{'a':{'type':'string'}},'required':['a']}},{'name':'g','input_schema':{'type':'object'}}],"
                                + "'tool_choice':{'type':'tool','name':'f'},'messages':[{'role':'user','content':'go'},"
                                + "{'role':'assistant','content':[{'type':'text','text':'ok'},{'type':'tool_use','id':'" + call + "','name':'f','input':{'a':'1'}},"
                                + "{'type':'tool_use','id':'toolu_2','name':'g','input':{}}]},"
                                + "{'role':'user','content':[{'type':'tool_result','tool_use_id':'" + call + "','content':'{\\'r\\':1}'},"
                                + "{'type':'tool_result','tool_use_id':'toolu_2','is_error':true,'content':[{'type':'text','text':'boom'}]},"
                                + "{'type':'text','text':'next'}]}]}",
                        "{'contents':[{'role':'user','parts':[{'text':'go'}]},{'role':'model','parts':[{'text':'ok'},"
                                + "{'functionCall':{'name':'f','args':{'a':'1'}},'thoughtSignature':'" + SIG + "'},"
                                + "{'functionCall':{'name':'g','args':{}}}]},"
                                + "{'role':'user','parts':[{'functionResponse':{'name':'f','response':{'r':1}}},"
                                + "{'functionResponse':{'name':'g','response':{'error':'boom'}}},{'text':'next'}]}],"
                                + "'tools':[{'functionDeclarations':[{'name':'f','description':'D','parameters':{'type':'OBJECT',"
                                + "'properties':{'a':{'type':'STRING'}},'required':['a']}},{'name':'g'}]}],"
                                + "'toolConfig':{'functionCallingConfig':{'mode':'ANY','allowedFunctionNames':['f']}},"
                                + "'generationConfig':{'maxOutputTokens':5}}"),
                Arguments.of("a thinking block's signature goes on the next part; web search is googleSearch",
                        "{'model':'gemini-2.5-flash','max_tokens':5000,'thinking':{'type':'enabled','budget_tokens':2000},"
                                + "'tools':[{'type':'web_search_20250305','name':'web_search'}],'messages':[{'role':'user','content':'q'},"
                                + "{'role':'assistant','content':[{'type':'thinking','thinking':'hmm','signature':'" + call + "'},{'type':'text','text':'a'}]},"
                                + "{'role':'user','content':'q2'}]}",
                        "{'contents':[{'role':'user','parts':[{'text':'q'}]},{'role':'model','parts':[{'text':'a','thoughtSignature':'"
                                + SIG + "'}]},{'role':'user','parts':[{'text':'q2'}]}],'tools':[{'googleSearch':{}}],"
                                + "'generationConfig':{'maxOutputTokens':5000,'thinkingConfig':{'thinkingBudget':2000,'includeThoughts':true}}}"),
                Arguments.of("sampling, stop sequences (Gemini takes 5), thinking disabled on a 2.5 Pro",
                        "{'model':'claude-opus-4-1','max_tokens':7,'temperature':0.3,'top_p':0.9,'top_k':20,"
                                + "'stop_sequences':['a','','b','c','d','e','f'],'thinking':{'type':'disabled'},'messages':[{'role':'user','content':'x'}]}",
                        "{'contents':[{'role':'user','parts':[{'text':'x'}]}],'generationConfig':{'maxOutputTokens':7,"
                                + "'temperature':0.3,'topP':0.9,'topK':20,'stopSequences':['a','b','c','d','e'],'thinkingConfig':{'thinkingBudget':128}}}"),
                Arguments.of("structured output (output_config.format, as the Vercel AI SDK sends it): JSON with the schema",
                        "{'model':'gemini-2.5-flash','max_tokens':9,'output_config':{'effort':'high','format':{'type':'json_schema',"
                                + "'schema':{'type':'object','properties':{'city':{'type':'string'}},'required':['city'],'additionalProperties':false}}},"
                                + "'messages':[{'role':'user','content':'x'}]}",
                        "{'contents':[{'role':'user','parts':[{'text':'x'}]}],'generationConfig':{'maxOutputTokens':9,"
                                + "'responseMimeType':'application/json','responseSchema':{'type':'OBJECT','properties':{'city':{'type':'STRING'}},"
                                + "'required':['city']}}}"),
                Arguments.of("structured output in the beta's top-level output_format",
                        "{'model':'gemini-2.5-flash','max_tokens':9,'output_format':{'type':'json_schema','schema':{'type':'array','items':{'type':'integer'}}},"
                                + "'messages':[{'role':'user','content':'x'}]}",
                        "{'contents':[{'role':'user','parts':[{'text':'x'}]}],'generationConfig':{'maxOutputTokens':9,"
                                + "'responseMimeType':'application/json','responseSchema':{'type':'ARRAY','items':{'type':'INTEGER'}}}}"),
                Arguments.of("a Gemini 3 model gets a level; the first replayed call without a signature gets the skip value",
                        "{'model':'gemini-3-pro-preview','max_tokens':30000,'thinking':{'type':'enabled','budget_tokens':20000},"
                                + "'messages':[{'role':'user','content':'x'},{'role':'assistant','content':[{'type':'tool_use','id':'toolu_1','name':'f','input':{}}]},"
                                + "{'role':'user','content':[{'type':'tool_result','tool_use_id':'toolu_1'}]}]}",
                        "{'contents':[{'role':'user','parts':[{'text':'x'}]},{'role':'model','parts':[{'functionCall':{'name':'f','args':{}},"
                                + "'thoughtSignature':'skip_thought_signature_validator'}]},{'role':'user','parts':[{'functionResponse':"
                                + "{'name':'f','response':{'result':''}}}]}],'generationConfig':{'maxOutputTokens':30000,"
                                + "'thinkingConfig':{'thinkingLevel':'HIGH','includeThoughts':true}}}"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("translations")
    void translatesToGemini(String what, String anthropic, String expected) {
        assertThat(gemini(anthropic)).isEqualTo(tree(expected));
    }

    static Stream<Arguments> refusals() {
        return Stream.of(
                Arguments.of("[]", "The request body must be a JSON object"),
                Arguments.of("{'model':'m','max_tokens':1,'messages':[", "not valid JSON"),
                Arguments.of("{'max_tokens':1,'messages':[]}", "model: Field required"),
                Arguments.of("{'model':'m','messages':[{'role':'user','content':'x'}]}", "max_tokens: Field required"),
                Arguments.of("{'model':'m','max_tokens':0,'messages':[{'role':'user','content':'x'}]}", "max_tokens: Input should be greater"),
                Arguments.of("{'model':'m','max_tokens':1}", "messages: Field required"),
                Arguments.of("{'model':'m','max_tokens':1,'messages':[]}", "messages: at least one message"),
                Arguments.of("{'model':'m','max_tokens':1,'messages':'hi'}", "messages: Input should be a valid list"),
                Arguments.of("{'model':'m','max_tokens':1,'messages':[{'role':'bot','content':'x'}]}", "messages.0.role"),
                Arguments.of("{'model':'m','max_tokens':1,'messages':[{'role':'user'}]}", "messages.0.content: Field required"),
                Arguments.of("{'model':'m','max_tokens':1,'messages':[{'role':'user','content':[{'type':'video'}]}]}", "messages.0.content.0.type: Input tag 'video'"),
                Arguments.of("{'model':'m','max_tokens':1,'messages':[{'role':'user','content':[{'type':'image','source':{'type':'base64','media_type':'image/png','data':'not base64!'}}]}]}",
                        "messages.0.content.0.source.data: Invalid base64 data"),
                Arguments.of("{'model':'m','max_tokens':1,'messages':[{'role':'user','content':[{'type':'image','source':{'type':'url','url':'file:///etc/passwd'}}]}]}",
                        "messages.0.content.0.source.url"),
                Arguments.of("{'model':'m','max_tokens':1,'messages':[{'role':'user','content':[{'type':'image','source':{'type':'file','file_id':'f'}}]}]}",
                        "'file' sources"),
                Arguments.of("{'model':'m','max_tokens':1,'messages':[{'role':'user','content':[{'type':'tool_result','tool_use_id':'nope'}]}]}",
                        "messages.0.content.0.tool_use_id: no tool_use block with id 'nope'"),
                Arguments.of("{'model':'m','max_tokens':1,'tools':[{'type':'bash_20250124','name':'bash'}],'messages':[{'role':'user','content':'x'}]}",
                        "tools.0.type: Tool type 'bash_20250124'"),
                Arguments.of("{'model':'m','max_tokens':1,'tool_choice':{'type':'tool'},'messages':[{'role':'user','content':'x'}]}", "tool_choice.name: Field required"),
                Arguments.of("{'model':'m','max_tokens':1,'thinking':{'type':'enabled'},'messages':[{'role':'user','content':'x'}]}", "budget_tokens: Field required"),
                Arguments.of("{'model':'m','max_tokens':100,'thinking':{'type':'enabled','budget_tokens':100},'messages':[{'role':'user','content':'x'}]}", "max_tokens"),
                Arguments.of("{'model':'a b/c?','max_tokens':1,'messages':[{'role':'user','content':'x'}]}", "model: Invalid model name"),
                Arguments.of("{'model':'m','max_tokens':1,'output_config':{'format':{'type':'xml'}},'messages':[{'role':'user','content':'x'}]}",
                        "output_config.format.type: Input tag 'xml'"),
                Arguments.of("{'model':'m','max_tokens':1,'output_format':{'type':'json_schema'},'messages':[{'role':'user','content':'x'}]}",
                        "output_format.schema: Field required"),
                Arguments.of("{'model':'m','max_tokens':'many','messages':[{'role':'user','content':'x'}]}", "max_tokens: Input should be a valid integer"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("refusals")
    void refusesBadRequestsWithTheField(String anthropic, String message) {
        ByteBuf body = PooledByteBufAllocator.DEFAULT.directBuffer();
        body.writeBytes(bytes(anthropic));
        try {
            AnthropicRequestException e = catchThrowableOfType(
                    () -> T.translate(body, Thinking.AUTO, ""), AnthropicRequestException.class);
            assertThat(e).isNotNull();
            assertThat(e.getMessage()).contains(message);
            AnthropicError error = AnthropicError.of(e);
            assertThat(error.status()).isEqualTo(400);
            JsonNode json;
            try {
                json = MAPPER.readTree(error.toJson());
            } catch (IOException io) {
                throw new UncheckedIOException(io);
            }
            assertThat(json.at("/type").asText()).isEqualTo("error");
            assertThat(json.at("/error/type").asText()).isEqualTo("invalid_request_error");
            assertThat(body.refCnt()).isEqualTo(1); // the caller's body: neither released nor moved
            assertThat(body.readerIndex()).isZero();
        } finally {
            body.release();
        }
    }

    @Test
    void theGatewaysDefaultsApply() {
        ByteBuf body = PooledByteBufAllocator.DEFAULT.heapBuffer();
        body.writeBytes(bytes("{'model':'claude-3-5-haiku-latest','max_tokens':9,'system':'mine','stream':true,"
                + "'messages':[{'role':'user','content':'x'}]}"));
        try {
            TranslatedMessagesRequest r = T.translate(body, Thinking.LOW, "ours");
            assertThat(r.model()).isEqualTo("gemini-2.5-flash-lite");
            assertThat(r.requestedModel()).isEqualTo("claude-3-5-haiku-latest");
            assertThat(r.stream()).isTrue();
            assertThat(r.upstreamPath()).isEqualTo("/v1beta/models/gemini-2.5-flash-lite:streamGenerateContent?alt=sse");
            JsonNode g = tree(new String(r.body(), StandardCharsets.UTF_8));
            assertThat(g.at("/systemInstruction")).isEqualTo(tree("{'parts':[{'text':'ours'},{'text':'mine'}]}"));
            assertThat(g.at("/generationConfig/thinkingConfig")).isEqualTo(tree("{'thinkingBudget':1024}"));
        } finally {
            body.release();
        }
    }

    @Test
    void countTokensWrapsTheRequestWithItsModel() throws IOException {
        TranslatedMessagesRequest r = T.translateCount(bytes("{'model':'claude-sonnet-4','system':'s',"
                + "'messages':[{'role':'user','content':'x'}],'tools':[{'name':'f','input_schema':{'type':'object'}}]}"));
        assertThat(r.count()).isTrue();
        assertThat(r.upstreamPath()).isEqualTo("/v1beta/models/gemini-2.5-flash:countTokens");
        assertThat(MAPPER.readTree(r.body())).isEqualTo(tree("{'generateContentRequest':{'model':'models/gemini-2.5-flash',"
                + "'contents':[{'role':'user','parts':[{'text':'x'}]}],'systemInstruction':{'parts':[{'text':'s'}]},"
                + "'tools':[{'functionDeclarations':[{'name':'f'}]}]}}"));
    }

    static Stream<Arguments> models() {
        return Stream.of(
                Arguments.of(Map.of(), "claude-opus-4-1-20250805", "gemini-2.5-pro"),
                Arguments.of(Map.of(), "claude-sonnet-4-5", "gemini-2.5-flash"),
                Arguments.of(Map.of(), "claude-3-5-haiku-20241022", "gemini-2.5-flash-lite"),
                Arguments.of(Map.of(), "claude-instant-1", "gemini-2.5-flash"),
                Arguments.of(Map.of(), "gemini-2.5-pro", "gemini-2.5-pro"),
                Arguments.of(Map.of(), "models/gemini-2.0-flash", "gemini-2.0-flash"),
                Arguments.of(Map.of("claude-*opus*", "gemini-3-pro-preview"), "claude-opus-4-1", "gemini-3-pro-preview"),
                // one claude alias set: the built-in defaults no longer apply, names go as they are
                Arguments.of(Map.of("claude-*opus*", "gemini-3-pro-preview"), "claude-sonnet-4", "claude-sonnet-4"),
                Arguments.of(Map.of("claude-*", "gemini-2.5-flash", "claude-sonnet-4", "gemini-2.5-pro"), "claude-sonnet-4",
                        "gemini-2.5-pro"),
                Arguments.of(Map.of("fast", "gemini-2.5-flash-lite"), "fast", "gemini-2.5-flash-lite"));
    }

    @ParameterizedTest(name = "{0}: {1} -> {2}")
    @MethodSource("models")
    void resolvesModelNames(Map<String, String> aliases, String requested, String model) {
        assertThat(new AnthropicModels(aliases).resolve(requested).name()).isEqualTo(model);
        assertThat(new AnthropicModels(aliases).resolve(requested).requested()).isEqualTo(requested);
    }
}
