package io.gemgate.core.openai;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

import static io.gemgate.core.openai.Jsons.bytes;
import static io.gemgate.core.openai.Jsons.json;
import static io.gemgate.core.openai.Jsons.tree;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** OpenAI's images API (Create image) to Imagen's predict or a Gemini image model, and back. */
class ImagesTranslatorTest {
    private static final Clock CLOCK = Clock.fixed(Instant.ofEpochSecond(1732233600), ZoneOffset.UTC);
    private final ImagesTranslator t = new ImagesTranslator(new ModelResolver(Map.of("my-images",
            "gemini-2.5-flash-image"), "gemini-2.5-flash"), CLOCK);

    @ParameterizedTest(name = "{0} on Imagen -> {1}")
    @CsvSource({"1024x1024,1:1", "1792x1024,16:9", "1024x1792,9:16", "1536x1024,4:3", "1024x1536,3:4",
            "256x256,1:1", "3000x1000,16:9"})
    void sizesMapToImagenRatios(String size, String ratio) {
        JsonNode b = tree(t.translate(bytes("{'model':'imagen-4.0-generate-001','prompt':'p','size':'" + size
                + "'}")).body());
        assertThat(b.at("/parameters/aspectRatio").asText()).isEqualTo(ratio);
    }

    @ParameterizedTest(name = "{0} on Gemini -> {1}")
    @CsvSource({"1536x1024,3:2", "2100x900,21:9", "1024x1280,4:5"})
    void sizesMapToGeminiRatios(String size, String ratio) {
        JsonNode b = tree(t.translate(bytes("{'model':'my-images','prompt':'p','size':'" + size + "'}")).body());
        assertThat(b.at("/generationConfig/imageConfig/aspectRatio").asText()).isEqualTo(ratio);
    }

    @Test
    void modelsChooseTheCall() {
        ImagesTranslator.Request imagen = t.translate(bytes("{'prompt':'p','n':3,'output_format':'jpeg'}"));
        assertThat(imagen.model()).isEqualTo(ImagesTranslator.DEFAULT_MODEL);
        assertThat(imagen.calls()).isEqualTo(1);
        assertThat(imagen.upstreamPath("v1beta")).endsWith(":predict");
        assertThat(tree(imagen.body())).isEqualTo(json("{'instances':[{'prompt':'p'}],'parameters':{'sampleCount':3,"
                + "'outputOptions':{'mimeType':'image/jpeg'}}}"));
        ImagesTranslator.Request gemini = t.translate(bytes("{'model':'my-images','prompt':'p','n':2}"));
        assertThat(gemini.model()).isEqualTo("gemini-2.5-flash-image");
        assertThat(gemini.calls()).isEqualTo(2);
        assertThat(tree(gemini.body())).isEqualTo(json("{'contents':[{'role':'user','parts':[{'text':'p'}]}],"
                + "'generationConfig':{'responseModalities':['IMAGE']}}"));
        assertThat(t.translate(bytes("{'model':'gpt-image-1','prompt':'p'}")).model())
                .isEqualTo(ImagesTranslator.DEFAULT_MODEL);
    }

    @ParameterizedTest(name = "{0} -> 400 on {1}")
    @CsvSource(delimiter = '|', value = {
            "{'model':'imagen-4.0-generate-001'}|prompt",
            "{'prompt':'p','n':0}|n",
            "{'prompt':'p','n':5}|n",
            "{'prompt':'p','size':'big'}|size",
            "{'prompt':'p','size':'0x10'}|size",
            "{'prompt':'p','response_format':'url'}|response_format",
            "{'prompt':'p','output_format':'gif'}|output_format",
            "{'prompt':'p','stream':true}|stream",
            "{'prompt':5}|prompt",
            "{'prompt':'p','model':'a/b c?'}|model",
    })
    void badRequestsAre400(String body, String param) {
        assertThatThrownBy(() -> t.translate(bytes(body))).isInstanceOf(OpenAiRequestException.class)
                .extracting(e -> ((OpenAiRequestException) e).param()).isEqualTo(param);
    }

    @Test
    void answersCarryTheImagesAndNoneIsAContentPolicyError() {
        ImagesTranslator.Request imagen = t.translate(bytes("{'prompt':'p','n':2}"));
        JsonNode a = tree(t.answer(imagen, List.of(bytes("{'predictions':[{'bytesBase64Encoded':'QUJD',"
                + "'mimeType':'image/png'},{'raiFilteredReason':'x'}]}"))));
        assertThat(a).isEqualTo(json("{'created':1732233600,'data':[{'b64_json':'QUJD'}],'output_format':'png'}"));
        ImagesTranslator.Request gemini = t.translate(bytes("{'model':'my-images','prompt':'p'}"));
        assertThatThrownBy(() -> t.answer(gemini, List.of(bytes("{'candidates':[{'content':{'parts':[{'text':"
                + "'no'}]},'finishReason':'IMAGE_SAFETY'}]}")))).isInstanceOf(OpenAiRequestException.class)
                .satisfies(e -> {
                    assertThat(((OpenAiRequestException) e).code()).isEqualTo("content_policy_violation");
                    assertThat(e.getMessage()).contains("IMAGE_SAFETY");
                });
        assertThatThrownBy(() -> t.answer(imagen, List.of(bytes("<html>")))).isInstanceOf(
                UpstreamFormatException.class);
    }
}
