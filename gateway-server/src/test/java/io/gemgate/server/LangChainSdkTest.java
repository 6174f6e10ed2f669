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
 * LangChain JS chat models ({@code @langchain/google-genai}, {@code @langchain/openai}, {@code @langchain/anthropic}),
 * driven by {@code src/test/node/langchain.test.mjs}: invoke, stream, and bindTools with the tool's result sent back,
 * through each.
 */
@ExtendWith(LeakDetection.class)
class LangChainSdkTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void invokeStreamAndToolsThroughEachChatModel() throws Exception {
        try (GatewayHarness gw = NodeScripts.runAgainstGateway("@langchain/core", "langchain.test.mjs", 2)) {
            for (String provider : List.of("google-genai", "openai", "anthropic")) {
                List<RecordedRequest> text = containing(gw, "hi from " + provider);
                assertThat(text).as(provider).singleElement().satisfies(r -> assertThat(r.path())
                        .isEqualTo("/v1beta/models/gemini-2.5-flash:generateContent"));
                assertThat(JSON.readTree(text.get(0).body()).at("/systemInstruction/parts/0/text").asText())
                        .as(provider).isEqualTo("Be brief.");
                assertThat(containing(gw, "count for " + provider)).as(provider).singleElement()
                        .satisfies(r -> assertThat(r.uri()).endsWith(":streamGenerateContent?alt=sse"));

                List<RecordedRequest> weather = containing(gw, "Weather in Paris? (" + provider + ")");
                assertThat(weather).as(provider).hasSize(2);
                JsonNode ask = JSON.readTree(weather.get(0).body());
                assertThat(ask.at("/tools/0/functionDeclarations/0/name").asText()).as(provider)
                        .isEqualTo(NodeScripts.TOOL);
                JsonNode back = JSON.readTree(weather.get(1).body());
                assertThat(back.at("/contents/1/parts/0/functionCall/args/city").asText()).as(provider)
                        .isEqualTo("Paris");
                assertThat(back.at("/contents/2/parts/0/functionResponse/name").asText()).as(provider)
                        .isEqualTo(NodeScripts.TOOL);
                assertThat(back.toString()).as(provider).contains("21");
            }
        }
    }
}
