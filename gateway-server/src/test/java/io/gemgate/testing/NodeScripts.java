package io.gemgate.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The Node scripts of {@code src/test/node}: each drives one family of SDKs (Google's, OpenAI's, Anthropic's, the
 * Vercel AI SDK, LangChain) against a gateway, as a user's program would, and prints one TAP-shaped line per check
 * ({@code ok N - what}, {@code not ok N - what: detail}; see {@code checks.mjs}). The SDKs are pinned by that
 * directory's {@code package-lock.json} and installed by {@code npm ci}, which {@code ./test} runs. Without node or the
 * packages a test fails in CI ({@code CI} set) and is skipped elsewhere, naming what to install.
 */
public final class NodeScripts {
    private NodeScripts() {
    }

    /** The function the SDK scripts declare and {@link #upstream()} calls. */
    public static final String TOOL = "get_weather";
    /** The JSON text {@link #upstream()} answers a structured-output request with. */
    public static final String JSON_ANSWER = "{\"city\":\"Paris\",\"temp\":21}";
    /** The model name that {@link #upstream()} does not know. */
    public static final String UNKNOWN_MODEL = "no-such-model";

    /**
     * How the fake answers the SDK scripts, whichever key the rotation picks (set it with {@code always} on every key):
     * a request that declares functions and carries no function result yet gets a call of {@link #TOOL} with
     * {@code {"city":"Paris"}} (as an SSE stream on {@code streamGenerateContent}); a request for JSON output
     * ({@code responseMimeType: application/json}) gets {@link #JSON_ANSWER}; {@link #UNKNOWN_MODEL} gets Google's 404;
     * anything else the fake's default answer.
     */
    public static Behavior upstream() {
        String call = FakeGemini.partsEvent(List.of(FakeGemini.functionCallPart(TOOL, "{\"city\":\"Paris\"}", null)),
                "STOP", 9, 4, 0);
        String json = FakeGemini.partsEvent(List.of(FakeGemini.textPart(JSON_ANSWER)), "STOP", 8, 6, 0);
        Behavior unknown = Behavior.status(404, Behavior.error(404, "NOT_FOUND", "models/" + UNKNOWN_MODEL
                + " is not found for API version v1beta, or is not supported for generateContent. Call ListModels to "
                + "see the list of available models and their supported methods."));
        Behavior answer = Behavior.when("json output", r -> generation(r)
                        && r.body().contains("\"responseMimeType\":\"application/json\""),
                answer(json), Behavior.ok());
        answer = Behavior.when("tool call", r -> generation(r) && r.body().contains("\"functionDeclarations\"")
                && !r.body().contains("\"functionResponse\""), answer(call), answer);
        return Behavior.when("unknown model", r -> UNKNOWN_MODEL.equals(r.model()), unknown, answer);
    }

    private static boolean generation(RecordedRequest r) {
        return r.path().endsWith(":generateContent") || r.path().endsWith(":streamGenerateContent");
    }

    /** {@code event} as a whole answer, or as a one-event SSE stream for {@code streamGenerateContent}. */
    private static Behavior answer(String event) {
        return Behavior.when("stream", r -> r.path().endsWith(":streamGenerateContent"),
                Behavior.stream(List.of(event), Duration.ZERO), Behavior.status(200, event));
    }

    /**
     * Starts a gateway with {@code keys} keys answered by {@link #upstream()}, runs {@code script} against it
     * ({@code BASE_URL}, {@code TOKEN}) within two minutes, and asserts what every script's calls share: each reached
     * the upstream with a pool key, and the client's token went nowhere upstream. The caller closes the gateway.
     */
    public static GatewayHarness runAgainstGateway(String npmPackage, String script, int keys) {
        requireNode(npmPackage);
        GatewayHarness gw = GatewayHarness.start(keys);
        try {
            for (int i = 0; i < keys; i++) {
                gw.fake().always(GatewayHarness.key(i), upstream());
            }
            run(npmPackage, script, Map.of("BASE_URL", gw.baseUrl(), "TOKEN", GatewayHarness.TOKEN),
                    Duration.ofMinutes(2));
            for (RecordedRequest r : gw.fake().requests()) {
                assertThat(r.key()).as("%s %s", r.method(), r.uri()).startsWith("AIzaSyTEST");
                assertThat(r.uri() + r.headers() + r.body()).doesNotContain(GatewayHarness.TOKEN);
            }
            return gw;
        } catch (RuntimeException | AssertionError e) {
            gw.close();
            throw e;
        }
    }

    /** The recorded requests whose body contains {@code text}, in arrival order. */
    public static List<RecordedRequest> containing(GatewayHarness gw, String text) {
        return gw.fake().requests().stream().filter(r -> r.body().contains(text)).toList();
    }

    /** {@code gateway-server/src/test/node}. */
    public static Path dir() {
        return Programs.moduleDir().resolve("src/test/node");
    }

    /**
     * Node's path, once node and {@code npmPackage} (as {@code "@google/genai"}) are installed; else fails in CI and
     * skips the test elsewhere.
     */
    public static String requireNode(String npmPackage) {
        Path node = Programs.onPath("node");
        String missing = node == null ? "node (not on the PATH)"
                : !Files.isDirectory(dir().resolve("node_modules").resolve(npmPackage)) ? npmPackage + " (npm ci in "
                + "gateway-server/src/test/node)" : null;
        if (missing != null) {
            String message = "this SDK test needs " + missing + "; ./test installs it";
            String ci = System.getenv("CI");
            if (ci != null && !ci.isBlank()) {
                fail(message);
            }
            Assumptions.abort(message);
        }
        return node.toString();
    }

    /**
     * Runs {@code node script} in {@link #dir()} with {@code env} added to this JVM's environment, its output in
     * {@code target/<script>.log}, and asserts that it ended within {@code timeout} with exit code 0 and no
     * {@code not ok} line.
     *
     * @return everything the script printed
     */
    public static String run(String npmPackage, String script, Map<String, String> env, Duration timeout) {
        String node = requireNode(npmPackage);
        Path log = Programs.moduleDir().resolve("target").resolve(script + ".log");
        try {
            Files.createDirectories(log.getParent());
            ProcessBuilder pb = new ProcessBuilder(node, script).directory(dir().toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                fail("node " + script + " did not end within " + timeout + ":\n" + Files.readString(log));
            }
            String out = Files.readString(log);
            assertThat(out).as("node %s (exit %d):%n%s", script, p.exitValue(), out).doesNotContain("not ok ");
            assertThat(p.exitValue()).as("node %s exited %d:%n%s", script, p.exitValue(), out).isZero();
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
