package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.ReasoningEffort;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RecordedRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The live request defaults, as the upstream receives them: the default thinking level and the system instruction,
 * on the OpenAI chat route and on native {@code generateContent} / {@code streamGenerateContent}; a native body no
 * setting applies to goes upstream byte for byte.
 */
@ExtendWith(LeakDetection.class)
class RequestDefaultsTest {
    private static final String FLASH = "gemini-2.5-flash";
    private static final String NATIVE = "/v1beta/models/gemini-2.5-flash:generateContent";
    /** A native body in a client's own spacing, with non-ASCII text before the members the gateway looks for. */
    private static final String NATIVE_BODY = "{ \"contents\": [ {\"role\": \"user\", \"parts\": [{\"text\": "
            + "\"h\u00e9 \u65e5\u672c\"}]} ] ,\n  \"generationConfig\" : {\"temperature\": 0.2} }";

    private GatewayHarness gw;
    private AdminClient admin;
    private OpenAIClient sdk;

    @AfterEach
    void stop() {
        if (sdk != null) {
            sdk.close();
        }
        if (gw != null) {
            gw.close();
        }
    }

    private void start() {
        gw = GatewayHarness.start(1, AdminClient.env());
        admin = new AdminClient(gw, 1);
        sdk = OpenAIOkHttpClient.builder().apiKey(TOKEN).baseUrl(gw.baseUrl() + "/v1").maxRetries(0).build();
    }

    private void settings(String json) {
        assertThat(admin.patch("/admin/api/settings", json).status()).isEqualTo(200);
    }

    private JsonNode upstream() {
        return AdminClient.tree(gw.fake().lastRequest().body());
    }

    private JsonNode chat(ChatCompletionCreateParams.Builder b) {
        sdk.chat().completions().create(b.model(FLASH).addUserMessage("hi").build());
        return upstream();
    }

    private JsonNode nativeCall(String path, String body) {
        HttpResponse<String> r = gw.post(path, body);
        assertThat(r.statusCode()).isEqualTo(200);
        RecordedRequest up = gw.fake().lastRequest();
        assertThat(up.header("content-length")).isEqualTo(String.valueOf(up.body().getBytes(UTF_8).length));
        return AdminClient.tree(up.body());
    }

    // --------------------------------------------------------------------------------------------- thinking

    @ParameterizedTest(name = "{0}, reasoning_effort {1}")
    @CsvSource({
            "auto,   ,       -1",
            "off,    ,       0",
            "off,    high,   0",
            "low,    ,       1024",
            "high,   ,       24576",
            "low,    medium, 8192",
    })
    void chatThinkingBudgetFollowsTheDefaultUnlessTheRequestAsks(String setting, String effort,
                                                                 int budget) {
        start();
        settings("{\"defaultThinking\":\"" + setting + "\"}");
        ChatCompletionCreateParams.Builder b = ChatCompletionCreateParams.builder();
        if (effort != null) {
            b.reasoningEffort(ReasoningEffort.of(effort));
        }
        JsonNode tc = chat(b).at("/generationConfig/thinkingConfig/thinkingBudget");
        if (budget < 0) {
            assertThat(tc.isMissingNode()).isTrue();
        } else {
            assertThat(tc.asInt()).isEqualTo(budget);
        }
    }

    @ParameterizedTest(name = "{0}, own {1}")
    @CsvSource(delimiter = '|', value = {
            "off  |                                        | 0",
            "off  | ,\"thinkingConfig\":{\"thinkingBudget\":1000} | 0",
            "low  |                                        | 1024",
            "low  | ,\"thinkingConfig\":{\"thinkingBudget\":1000} | 1000",
    })
    void nativeThinkingBudgetFollowsTheDefault(String setting, String own, int budget) {
        start();
        settings("{\"defaultThinking\":\"" + setting + "\"}");
        String body = "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"generationConfig\":{\"temperature\":1"
                + (own == null ? "" : own) + "}}";
        JsonNode up = nativeCall(NATIVE, body);
        assertThat(up.at("/generationConfig/thinkingConfig/thinkingBudget").asInt()).isEqualTo(budget);
        assertThat(up.at("/generationConfig/temperature").asInt()).isEqualTo(1);
        if (setting.equals("low") && own != null) {
            assertThat(gw.fake().lastRequest().body()).isEqualTo(body); // the request's own choice: untouched
        }
    }

    // ----------------------------------------------------------------------------------- system instruction

    @Test
    void chatInstructionComesFirstAndIsAbsentWhenEmpty() {
        start();
        settings("{\"systemInstruction\":\"Answer in French.\"}");
        assertThat(chat(ChatCompletionCreateParams.builder().addSystemMessage("Be brief.")).at("/systemInstruction"))
                .isEqualTo(AdminClient.tree("{\"parts\":[{\"text\":\"Answer in French.\"},{\"text\":\"Be brief.\"}]}"));
        assertThat(chat(ChatCompletionCreateParams.builder()).at("/systemInstruction"))
                .isEqualTo(AdminClient.tree("{\"parts\":[{\"text\":\"Answer in French.\"}]}"));

        settings("{\"systemInstruction\":\"\"}"); // applies to the next request, no restart
        assertThat(chat(ChatCompletionCreateParams.builder()).has("systemInstruction")).isFalse();
        assertThat(chat(ChatCompletionCreateParams.builder().addSystemMessage("Be brief.")).at("/systemInstruction"))
                .isEqualTo(AdminClient.tree("{\"parts\":[{\"text\":\"Be brief.\"}]}"));
    }

    @Test
    void nativeInstructionComesFirstOnBothGenerationMethods() {
        start();
        settings("{\"systemInstruction\":\"Answer in French.\"}");

        JsonNode added = nativeCall(NATIVE, NATIVE_BODY);
        assertThat(added.at("/systemInstruction")).isEqualTo(
                AdminClient.tree("{\"parts\":[{\"text\":\"Answer in French.\"}]}"));
        assertThat(added.at("/contents/0/parts/0/text").asText()).isEqualTo("h\u00e9 \u65e5\u672c");
        assertThat(added.at("/generationConfig/temperature").asDouble()).isEqualTo(0.2);

        JsonNode merged = nativeCall("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                "{\"system_instruction\":{\"parts\":[{\"text\":\"Be brief.\"}]},\"contents\":[{\"parts\":[{\"text\":"
                        + "\"hi\"}]}]}");
        assertThat(merged.at("/system_instruction")).isEqualTo(AdminClient.tree(
                "{\"parts\":[{\"text\":\"Answer in French.\"},{\"text\":\"Be brief.\"}]}"));
        assertThat(merged.has("systemInstruction")).isFalse();
    }

    @Test
    void gemmaModelsNeverGetTheGatewaysInstructionWhichTheyWouldRefuse() {
        start();
        settings("{\"systemInstruction\":\"Answer in French.\"}");
        String body = "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}]}";
        nativeCall("/v1beta/models/gemma-3-27b-it:generateContent", body);
        assertThat(gw.fake().lastRequest().body()).isEqualTo(body);
        sdk.chat().completions().create(ChatCompletionCreateParams.builder().model("gemma-3-27b-it")
                .addUserMessage("hi").build());
        assertThat(upstream().has("systemInstruction")).isFalse();
        assertThat(chat(ChatCompletionCreateParams.builder()).at("/systemInstruction/parts/0/text").asText())
                .isEqualTo("Answer in French."); // Gemini models still get it
    }

    @Test
    void nativeBodiesGoByteForByteWhenNoSettingApplies() {
        start();
        nativeCall(NATIVE, NATIVE_BODY);
        assertThat(gw.fake().lastRequest().body()).isEqualTo(NATIVE_BODY);

        settings("{\"systemInstruction\":\"Answer in French.\",\"defaultThinking\":\"off\"}");
        gw.post("/v1beta/models/gemini-2.5-flash:countTokens", NATIVE_BODY); // not a generation call
        assertThat(gw.fake().lastRequest().body()).isEqualTo(NATIVE_BODY);
        String broken = "{\"contents\": [";
        gw.post(NATIVE, broken); // Google judges bad JSON, not the gateway
        assertThat(gw.fake().lastRequest().body()).isEqualTo(broken);

        settings("{\"systemInstruction\":\"\",\"defaultThinking\":\"auto\"}");
        nativeCall(NATIVE, NATIVE_BODY);
        assertThat(gw.fake().lastRequest().body()).isEqualTo(NATIVE_BODY);
    }
}
