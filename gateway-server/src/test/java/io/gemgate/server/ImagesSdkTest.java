package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.BadRequestException;
import com.openai.models.images.Image;
import com.openai.models.images.ImageGenerateParams;
import com.openai.models.images.ImagesResponse;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RecordedRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * OpenAI's Java SDK {@code client.images().generate(...)} against {@code /v1/images/generations}: Imagen's
 * {@code :predict} or a Gemini image model's {@code generateContent}, chosen by the model name.
 */
@ExtendWith(LeakDetection.class)
class ImagesSdkTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private GatewayHarness gw;
    private OpenAIClient client;

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        if (gw != null) {
            gw.close();
        }
    }

    private void start(int keys) {
        gw = GatewayHarness.start(keys);
        client = OpenAIOkHttpClient.builder().apiKey(TOKEN).baseUrl(gw.baseUrl() + "/v1").maxRetries(0).build();
    }

    private static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void imagenPredictWithSampleCountAndAspectRatio() {
        start(1);
        ImagesResponse r = client.images().generate(ImageGenerateParams.builder()
                .model("imagen-4.0-generate-001").prompt("a lighthouse at dusk").n(2L)
                .size(ImageGenerateParams.Size._1792X1024)
                .responseFormat(ImageGenerateParams.ResponseFormat.B64_JSON).build());

        RecordedRequest up = gw.fake().lastRequest();
        assertThat(up.path()).isEqualTo("/v1beta/models/imagen-4.0-generate-001:predict");
        assertThat(up.key()).isEqualTo(key(0));
        JsonNode body = json(up.body());
        assertThat(body.at("/instances/0/prompt").asText()).isEqualTo("a lighthouse at dusk");
        assertThat(body.at("/parameters/sampleCount").asInt()).isEqualTo(2);
        assertThat(body.at("/parameters/aspectRatio").asText()).isEqualTo("16:9");
        List<Image> data = r.data().orElseThrow();
        assertThat(data).hasSize(2);
        assertThat(data).allSatisfy(i -> assertThat(i.b64Json()).hasValue(FakeGemini.PNG_BASE64));
    }

    @Test
    void geminiImageModelUsesGenerateContentAndLeavesThoughtImagesOut() {
        start(1);
        ImagesResponse r = client.images().generate(ImageGenerateParams.builder()
                .model("gemini-2.5-flash-image").prompt("a red bicycle").size(ImageGenerateParams.Size._1024X1792)
                .build());

        RecordedRequest up = gw.fake().lastRequest();
        assertThat(up.path()).isEqualTo("/v1beta/models/gemini-2.5-flash-image:generateContent");
        JsonNode body = json(up.body());
        assertThat(body.at("/contents/0/parts/0/text").asText()).isEqualTo("a red bicycle");
        assertThat(body.at("/generationConfig/responseModalities/0").asText()).isEqualTo("IMAGE");
        assertThat(body.at("/generationConfig/imageConfig/aspectRatio").asText()).isEqualTo("9:16");
        assertThat(r.data().orElseThrow()).singleElement()
                .satisfies(i -> assertThat(i.b64Json()).hasValue(FakeGemini.PNG_BASE64));
        assertThat(r.usage()).hasValueSatisfying(u -> assertThat(u.outputTokens()).isEqualTo(1290));
    }

    @Test
    void dallEThreeGoesToTheDefaultImagenModelAndFailsOver() {
        start(2);
        gw.fake().script(key(0), Behavior.unavailable());
        ImagesResponse r = client.images().generate(ImageGenerateParams.builder()
                .model(com.openai.models.images.ImageModel.DALL_E_3).prompt("a cat").build());
        assertThat(gw.fake().lastRequest().path()).isEqualTo("/v1beta/models/imagen-4.0-generate-001:predict");
        assertThat(gw.fake().keysUsed()).containsExactly(key(0), key(1));
        assertThat(r.data().orElseThrow()).hasSize(1);
    }

    @Test
    void urlResponseFormatIsA400ThatExplains() {
        start(1);
        BadRequestException e = catchThrowableOfType(() -> client.images().generate(ImageGenerateParams.builder()
                .model("imagen-4.0-generate-001").prompt("a cat")
                .responseFormat(ImageGenerateParams.ResponseFormat.URL).build()), BadRequestException.class);
        assertThat(e.param()).hasValue("response_format");
        assertThat(e.getMessage()).contains("b64_json");
        assertThat(gw.fake().requestCount()).isZero();
    }

    @Test
    void aFilteredPromptIsA400ContentPolicyViolation() {
        start(1);
        gw.fake().script(key(0), Behavior.status(200, "{\"predictions\":[{\"raiFilteredReason\":\"filtered\"}]}"));
        BadRequestException e = catchThrowableOfType(() -> client.images().generate(ImageGenerateParams.builder()
                .model("imagen-4.0-generate-001").prompt("something refused").build()), BadRequestException.class);
        assertThat(e.code()).hasValue("content_policy_violation");
    }
}
