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
 * Anthropic's TypeScript SDK ({@code @anthropic-ai/sdk}), driven by {@code src/test/node/anthropic.test.mjs} against a
 * gateway with two keys: messages.create (with an API key, and with an auth token under {@code /anthropic}),
 * messages.stream and {@code stream: true}, tool use plain and streamed, countTokens, and the SDK's typed errors.
 */
@ExtendWith(LeakDetection.class)
class AnthropicNodeSdkTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyCallOfTheSdkIsTranslatedAndItsErrorsAreTyped() throws Exception {
        try (GatewayHarness gw = NodeScripts.runAgainstGateway("@anthropic-ai/sdk", "anthropic.test.mjs", 2)) {
            RecordedRequest first = gw.fake().requests().get(0);
            // claude-sonnet-* goes to gemini-2.5-flash by default (README, Anthropic Messages API)
            assertThat(first.path()).isEqualTo("/v1beta/models/gemini-2.5-flash:generateContent");
            JsonNode message = JSON.readTree(first.body());
            assertThat(message.at("/systemInstruction/parts/0/text").asText()).isEqualTo("Be brief.");
            assertThat(message.at("/contents/0/parts/0/text").asText()).isEqualTo("Say hello.");
            assertThat(message.at("/generationConfig/maxOutputTokens").asInt()).isEqualTo(256);
            assertThat(containing(gw, "\"Hi\"")).hasSize(1); // the /anthropic prefix with Authorization: Bearer
            assertThat(containing(gw, "\"Count.\"")).hasSize(2)
                    .allSatisfy(r -> assertThat(r.uri()).endsWith(":streamGenerateContent?alt=sse"));

            List<RecordedRequest> weather = containing(gw, "Weather in Paris?");
            assertThat(weather).hasSize(3);
            JsonNode ask = JSON.readTree(weather.get(0).body());
            assertThat(ask.at("/tools/0/functionDeclarations/0/name").asText()).isEqualTo(NodeScripts.TOOL);
            JsonNode back = JSON.readTree(weather.get(1).body());
            assertThat(back.at("/contents/1/parts/0/functionCall/args/city").asText()).isEqualTo("Paris");
            assertThat(back.at("/contents/2/parts/0/functionResponse/name").asText()).isEqualTo(NodeScripts.TOOL);
            assertThat(back.at("/contents/2/parts/0/functionResponse/response/temp").asInt()).isEqualTo(21);
            assertThat(weather.get(2).uri()).endsWith(":streamGenerateContent?alt=sse");

            RecordedRequest count = gw.fake().requests().stream().filter(r -> r.path().endsWith(":countTokens"))
                    .findFirst().orElseThrow();
            assertThat(JSON.readTree(count.body()).at("/generateContentRequest/contents/0/parts/0/text").asText())
                    .isEqualTo("How many?");

            // The unknown model reached the upstream once; the wrong key and the empty messages cost no call.
            assertThat(gw.fake().requests().stream().filter(r -> NodeScripts.UNKNOWN_MODEL.equals(r.model())))
                    .hasSize(1);
            assertThat(containing(gw, "\"hi\"")).hasSize(1);
        }
    }
}
