package io.gemgate.server;

import static io.gemgate.testing.NodeScripts.containing;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.NodeScripts;
import io.gemgate.testing.RecordedRequest;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * OpenAI's Node SDK ({@code openai}), driven by {@code src/test/node/openai.test.mjs} against a gateway with two keys:
 * chat completions (plain, streamed with usage, the stream helper, tools plain and streamed, JSON output), embeddings,
 * models, the Responses API (plain, streamed, continued), files (uploaded, then used on the key that holds them), images,
 * and the SDK's typed errors. What the SDK returned is
 * checked by the script; what reached the upstream here.
 */
@ExtendWith(LeakDetection.class)
class OpenAiNodeSdkTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyCallOfTheSdkIsTranslatedAndItsErrorsAreTyped() throws Exception {
        try (GatewayHarness gw = NodeScripts.runAgainstGateway("openai", "openai.test.mjs", 2)) {
            RecordedRequest first = gw.fake().requests().get(0);
            assertThat(first.path()).isEqualTo("/v1beta/models/gemini-2.5-flash:generateContent");
            JsonNode chat = JSON.readTree(first.body());
            assertThat(chat.at("/systemInstruction/parts/0/text").asText()).isEqualTo("Be brief.");
            assertThat(chat.at("/contents/0/parts/0/text").asText()).isEqualTo("Say hello.");
            assertThat(containing(gw, "\"Count.\"")).hasSize(3) // chat stream, stream helper, Responses stream
                    .allSatisfy(r -> assertThat(r.uri()).endsWith(":streamGenerateContent?alt=sse"));

            List<RecordedRequest> weather = containing(gw, "Weather in Paris?");
            assertThat(weather).hasSize(3);
            JsonNode ask = JSON.readTree(weather.get(0).body());
            assertThat(ask.at("/tools/0/functionDeclarations/0/name").asText()).isEqualTo(NodeScripts.TOOL);
            assertThat(ask.at("/tools/0/functionDeclarations/0/parameters/type").asText()).isEqualTo("OBJECT");
            assertThat(ask.at("/toolConfig/functionCallingConfig/mode").asText()).isEqualTo("AUTO");
            JsonNode back = JSON.readTree(weather.get(1).body());
            assertThat(back.at("/contents/1/parts/0/functionCall/name").asText()).isEqualTo(NodeScripts.TOOL);
            assertThat(back.at("/contents/2/parts/0/functionResponse/name").asText()).isEqualTo(NodeScripts.TOOL);
            assertThat(back.at("/contents/2/parts/0/functionResponse/response/temp").asInt()).isEqualTo(21);
            assertThat(weather.get(2).uri()).endsWith(":streamGenerateContent?alt=sse");

            JsonNode schema = JSON.readTree(containing(gw, "Weather in Paris as JSON.").get(0).body());
            assertThat(schema.at("/generationConfig/responseMimeType").asText()).isEqualTo("application/json");
            assertThat(schema.at("/generationConfig/responseSchema/properties/temp/type").asText()).isEqualTo("NUMBER");
            assertThat(JSON.readTree(containing(gw, "JSON please.").get(0).body())
                    .at("/generationConfig/responseMimeType").asText()).isEqualTo("application/json");

            RecordedRequest embed = gw.fake().requests().stream()
                    .filter(r -> r.path().endsWith(":batchEmbedContents")).findFirst().orElseThrow();
            assertThat(embed.path()).isEqualTo("/v1beta/models/gemini-embedding-001:batchEmbedContents");
            assertThat(JSON.readTree(embed.body()).path("requests")).hasSize(2);
            RecordedRequest images = gw.fake().requests().stream()
                    .filter(r -> r.path().endsWith(":predict")).findFirst().orElseThrow();
            assertThat(images.path()).isEqualTo("/v1beta/models/imagen-4.0-generate-001:predict");
            assertThat(JSON.readTree(images.body()).at("/parameters/sampleCount").asInt()).isEqualTo(2);

            // POST /v1/files uploads through one key; the chats that use the file go to that key (its project).
            RecordedRequest upload = gw.fake().requests().stream().filter(r -> r.path().startsWith("/upload/"))
                    .findFirst().orElseThrow();
            List<RecordedRequest> withFile = containing(gw, "Summarise the fox file.");
            assertThat(withFile).hasSize(2).allSatisfy(r -> {
                assertThat(r.key()).isEqualTo(upload.key());
                assertThat(r.body()).contains("\"fileUri\":\"https://generativelanguage.googleapis.com/v1beta/files/");
            });
            assertThat(gw.fake().requests().stream().map(RecordedRequest::key).distinct()).hasSize(2);

            // previous_response_id: the stored turns go first, then the new input.
            JsonNode continued = JSON.readTree(containing(gw, "And again.").get(0).body());
            assertThat(continued.at("/contents/0/parts/0/text").asText()).isEqualTo("Say hello.");
            assertThat(continued.at("/contents/1/role").asText()).isEqualTo("model");
            assertThat(continued.at("/contents/1/parts/0/text").asText()).isEqualTo("ok");
            assertThat(continued.at("/contents/2/parts/0/text").asText()).isEqualTo("And again.");

            // The unknown model reached the upstream once (a 404 is the client's, not retried on the other key); the
            // wrong token and the invalid role cost no upstream call.
            assertThat(gw.fake().requests().stream().filter(r -> NodeScripts.UNKNOWN_MODEL.equals(r.model())))
                    .hasSize(1);
            assertThat(containing(gw, "\"hi\"")).hasSize(1);
        }
    }
}
