package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.Programs;
import io.gemgate.testing.RecordedRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The Vercel AI SDK's default OpenAI provider ({@code ai} + {@code @ai-sdk/openai}, whose {@code openai(model)} calls
 * {@code POST /v1/responses}), driven by Node ({@code src/test/node/vercel-ai.test.mjs}) against the gateway:
 * generateText, streamText, and a tool call whose result goes back in a second step.
 */
@ExtendWith(LeakDetection.class)
class VercelAiSdkTest {
    private static final String SCRIPT = "vercel-ai.test.mjs";
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void generateStreamAndToolRoundTripThroughTheResponsesApi() throws Exception {
        Path module = Programs.moduleDir();
        Path dir = module.resolve("src/test/node");
        String node = requireNode(dir);
        try (GatewayHarness gw = GatewayHarness.start(1)) {
            // the third call: the tool step's first request gets a function call, the second the default "ok"
            gw.fake().script(key(0), Behavior.ok(), Behavior.ok(), Behavior.status(200, FakeGemini.partsEvent(
                    List.of(FakeGemini.functionCallPart("get_weather", "{\"city\":\"Paris\"}", null)), "STOP", 9, 4,
                    0)));
            Path log = module.resolve("target/vercel-ai.log");
            ProcessBuilder pb = new ProcessBuilder(node, SCRIPT).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            pb.environment().put("BASE_URL", gw.baseUrl());
            pb.environment().put("TOKEN", GatewayHarness.TOKEN);
            Process p = pb.start();
            if (!p.waitFor(2, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                fail("the Vercel AI SDK test did not end within 2 minutes:\n" + Files.readString(log));
            }
            String out = Files.readString(log);
            assertThat(p.exitValue()).as("node %s exited %d:%n%s", SCRIPT, p.exitValue(), out).isZero();
            assertThat(out).contains("ok 6 - the tool result goes back and the model answers");

            List<RecordedRequest> calls = gw.fake().requests();
            assertThat(calls).hasSize(4);
            assertThat(calls.get(1).uri()).endsWith(":streamGenerateContent?alt=sse");
            JsonNode toolStep = JSON.readTree(calls.get(2).body());
            assertThat(toolStep.at("/tools/0/functionDeclarations/0/name").asText()).isEqualTo("get_weather");
            JsonNode second = JSON.readTree(calls.get(3).body());
            List<String> kinds = new ArrayList<>();
            second.path("contents").forEach(c -> c.path("parts").forEach(part -> kinds.add(part.fieldNames().next())));
            assertThat(kinds).containsExactly("text", "functionCall", "functionResponse");
            assertThat(second.at("/contents/2/parts/0/functionResponse/response/temp").asInt()).isEqualTo(21);
        }
    }

    /** Node and the SDK's packages ({@code npm ci} in src/test/node, which ./test runs); skipped outside CI. */
    private static String requireNode(Path dir) {
        Path node = Programs.onPath("node");
        String missing = node == null ? "node (not on the PATH)"
                : !Files.isDirectory(dir.resolve("node_modules/@ai-sdk/openai")) ? "the Vercel AI SDK (npm ci in "
                + "gateway-server/src/test/node)" : null;
        if (missing != null) {
            String message = "the Vercel AI SDK test needs " + missing + "; ./test installs it";
            String ci = System.getenv("CI");
            if (ci != null && !ci.isBlank()) {
                fail(message);
            }
            Assumptions.abort(message);
        }
        return node.toString();
    }
}
