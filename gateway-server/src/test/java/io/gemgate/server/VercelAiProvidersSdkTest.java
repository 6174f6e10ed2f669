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
 * The Vercel AI SDK ({@code ai}) with {@code @ai-sdk/google} (native Gemini API), {@code @ai-sdk/anthropic} (Messages
 * API) and {@code @ai-sdk/openai} in chat mode (Chat Completions), driven by
 * {@code src/test/node/vercel-ai-providers.test.mjs}: generateText, streamText, a tool round trip and generateObject
 * through each. ({@link VercelAiSdkTest} covers {@code @ai-sdk/openai}'s default, the Responses API.)
 */
@ExtendWith(LeakDetection.class)
class VercelAiProvidersSdkTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void generateStreamToolsAndObjectsThroughEachProvider() throws Exception {
        try (GatewayHarness gw = NodeScripts.runAgainstGateway("@ai-sdk/google", "vercel-ai-providers.test.mjs", 2)) {
            for (String provider : List.of("google", "anthropic", "openai.chat")) {
                List<RecordedRequest> text = containing(gw, "hi from " + provider);
                assertThat(text).as(provider).hasSize(1);
                assertThat(text.get(0).path()).isEqualTo("/v1beta/models/gemini-2.5-flash:generateContent");
                assertThat(JSON.readTree(text.get(0).body()).at("/systemInstruction/parts/0/text").asText())
                        .as(provider).isEqualTo("Be brief.");
                assertThat(containing(gw, "count for " + provider)).as(provider).singleElement()
                        .satisfies(r -> assertThat(r.uri()).endsWith(":streamGenerateContent?alt=sse"));

                List<RecordedRequest> weather = containing(gw, "Weather in Paris? (" + provider + ")");
                assertThat(weather).as(provider).hasSize(2);
                JsonNode back = JSON.readTree(weather.get(1).body());
                assertThat(back.at("/contents/1/parts/0/functionCall/name").asText()).as(provider)
                        .isEqualTo(NodeScripts.TOOL);
                assertThat(back.at("/contents/2/parts/0/functionResponse/name").asText()).as(provider)
                        .isEqualTo(NodeScripts.TOOL);

                JsonNode object = JSON.readTree(containing(gw, "as an object (" + provider + ")").get(0).body());
                assertThat(object.at("/generationConfig/responseMimeType").asText()).as(provider)
                        .isEqualTo("application/json");
                JsonNode schema = object.at("/generationConfig/responseSchema");
                if (schema.isMissingNode()) {
                    schema = object.at("/generationConfig/responseJsonSchema"); // @ai-sdk/google sends JSON Schema
                }
                assertThat(schema.at("/properties/temp/type").asText()).as(provider).isIn("NUMBER", "number");
            }
        }
    }
}
