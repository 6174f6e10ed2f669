package io.gemgate.testing;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@ExtendWith(LeakDetection.class)
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class FakeGeminiTest {

    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final String GENERATE = "/v1beta/models/gemini-2.5-flash:generateContent";
    private static final String SSE = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
    private static final String BODY = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}";

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(WAIT).build();
    private FakeGemini fake;

    @BeforeEach
    void startFake() {
        fake = FakeGemini.start();
    }

    @AfterEach
    void closeFake() {
        fake.close();
    }

    // ---- default answers ----

    @Test
    void generateContentAnswersOkWithUsage() throws Exception {
        HttpResponse<String> res = post(GENERATE, "k1", BODY);

        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.headers().firstValue("content-type")).hasValue("application/json; charset=UTF-8");
        assertThat(res.body()).startsWith("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"ok\"}],\"role\":\"model\"},"
                        + "\"finishReason\":\"STOP\",\"index\":0}]")
                .contains("\"usageMetadata\":{\"promptTokenCount\":7,\"candidatesTokenCount\":3,\"totalTokenCount\":10}")
                .contains("\"modelVersion\":\"gemini-2.5-flash\"")
                .containsPattern("\"responseId\":\"fake-\\d+\"");
    }

    @Test
    void imagenPredictAnswersSampleCountImagesAndImageModelsAnswerInlineData() throws Exception {
        HttpResponse<String> predict = post("/v1beta/models/imagen-4.0-generate-001:predict", "k1",
                "{\"instances\":[{\"prompt\":\"p\"}],\"parameters\":{\"sampleCount\": 3}}");
        assertThat(predict.statusCode()).isEqualTo(200);
        assertThat(predict.body().split("bytesBase64Encoded", -1)).hasSize(4);
        assertThat(predict.body()).contains(FakeGemini.PNG_BASE64);

        HttpResponse<String> image = post("/v1beta/models/gemini-2.5-flash-image:generateContent", "k1", BODY);
        assertThat(image.statusCode()).isEqualTo(200);
        assertThat(image.body()).contains("\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\""
                + FakeGemini.PNG_BASE64).contains("\"thought\":true");
    }

    @ParameterizedTest
    @ValueSource(strings = {"v1", "v1beta", "v1alpha"})
    void everyVersionPrefixIsServed(String version) throws Exception {
        HttpResponse<String> res = post("/" + version + "/models/gemini-2.5-pro:countTokens", "k1", BODY);

        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.body()).isEqualTo("{\"totalTokens\":7}");
    }

    @Test
    void sseStreamSendsThreeEventsWithCumulativeUsage() throws Exception {
        HttpResponse<String> res = post(SSE, "k1", BODY);

        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.headers().firstValue("content-type")).hasValue("text/event-stream");
        assertThat(res.headers().firstValue("transfer-encoding")).hasValue("chunked");
        String[] events = res.body().split("\r\n\r\n");
        assertThat(res.body()).endsWith("\r\n\r\n");
        assertThat(events).hasSize(3).allSatisfy(e -> assertThat(e).startsWith("data: {").doesNotContain("\n"));
        assertThat(events[0]).contains("\"text\":\"Hel\"").doesNotContain("finishReason")
                .contains("\"candidatesTokenCount\":1,\"totalTokenCount\":8");
        assertThat(events[1]).contains("\"text\":\"lo\"").contains("\"totalTokenCount\":9");
        assertThat(events[2]).contains("\"text\":\"!\"").contains("\"finishReason\":\"STOP\"")
                .contains("\"promptTokenCount\":7,\"candidatesTokenCount\":3,\"totalTokenCount\":10");
    }

    @Test
    void streamWithoutAltSseIsAChunkedJsonArray() throws Exception {
        HttpResponse<String> res = post("/v1beta/models/m1:streamGenerateContent", "k1", BODY);

        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.headers().firstValue("content-type")).hasValue("application/json; charset=UTF-8");
        assertThat(res.body()).startsWith("[{").endsWith("}]");
        assertThat(res.body().split(",\r\n")).hasSize(3);
        assertThat(res.body()).contains("\"modelVersion\":\"m1\"").contains("\"finishReason\":\"STOP\"");
    }

    @Test
    void embeddings() throws Exception {
        assertThat(post("/v1beta/models/gemini-embedding-001:embedContent", "k1", "{}").body())
                .isEqualTo("{\"embedding\":{\"values\":[0.1,0.2,0.3]}}");
        assertThat(post("/v1beta/models/gemini-embedding-001:batchEmbedContents", "k1",
                "{\"requests\":[{\"model\":\"models/gemini-embedding-001\",\"content\":{\"parts\":[{\"text\":\"a\"}]}},"
                        + "{\"content\":{\"parts\":[{\"text\":\"b\"}]}}]}").body())
                .isEqualTo("{\"embeddings\":[{\"values\":[0.1,0.2,0.3]},{\"values\":[0.1,0.2,0.3]}]}");

        HttpResponse<String> bad = post("/v1beta/models/gemini-embedding-001:batchEmbedContents", "k1", "nope");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.body()).contains("\"status\":\"INVALID_ARGUMENT\"");
    }

    @Test
    void modelsListAndGet() throws Exception {
        HttpResponse<String> list = get("/v1beta/models?pageSize=50", "k1");
        assertThat(list.statusCode()).isEqualTo(200);
        assertThat(list.body()).startsWith("{\"models\":[")
                .contains("\"name\":\"models/gemini-2.5-flash\"", "\"name\":\"models/gemini-2.5-pro\"",
                        "\"name\":\"models/gemini-embedding-001\"", "\"supportedGenerationMethods\":[\"embedContent\"");

        HttpResponse<String> one = get("/v1/models/gemini-2.5-pro", "k1");
        assertThat(one.statusCode()).isEqualTo(200);
        assertThat(one.body()).startsWith("{\"name\":\"models/gemini-2.5-pro\"").contains("\"generateContent\"");

        HttpResponse<String> missing = get("/v1beta/models/gemini-x", "k1");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(missing.body()).startsWith("{\"error\":{\"code\":404,\"message\":\"models/gemini-x is not found for "
                + "API version v1beta").endsWith("\"status\":\"NOT_FOUND\"}}");
    }

    @ParameterizedTest
    @ValueSource(strings = {"GET /v1beta/tunedModels", "POST /v1beta/corpora", "DELETE /v1/operations/abc",
            "POST /v1beta/models/m:unknownMethod", "GET /healthz"})
    void everythingElseIsEchoed(String methodAndPath) throws Exception {
        String[] parts = methodAndPath.split(" ");
        HttpRequest req = request(parts[1], "k1")
                .method(parts[0], parts[0].equals("GET") ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString("{}")).build();

        HttpResponse<String> res = client.send(req, HttpResponse.BodyHandlers.ofString());

        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.body()).isEqualTo("{\"echo\":{\"method\":\"" + parts[0] + "\",\"path\":\"" + parts[1] + "\"}}");
    }

    // ---- keys ----

    @Test
    void keyComesFromHeaderElseQueryElseNone() throws Exception {
        post(GENERATE, "from-header", BODY);
        post(GENERATE + "?key=from-query", null, BODY);
        post(GENERATE + "?key=ignored", "header-wins", BODY);
        HttpResponse<String> none = post(GENERATE, null, BODY);

        assertThat(fake.keysUsed()).containsExactly("from-header", "from-query", "header-wins", "");
        assertThat(none.statusCode()).isEqualTo(403);
        assertThat(none.body()).isEqualTo("{\"error\":{\"code\":403,\"message\":\"Method doesn't allow unregistered "
                + "callers (callers without established identity). Please use API Key or other form of API consumer "
                + "identity to call this API.\",\"status\":\"PERMISSION_DENIED\"}}");
    }

    // ---- behaviors ----

    static Stream<Arguments> errorBehaviors() {
        return Stream.of(
                Arguments.of(Behavior.rateLimitNoRetryInfo(), 429, "{\"error\":{\"code\":429,\"message\":\"Resource has "
                        + "been exhausted (e.g. check quota).\",\"status\":\"RESOURCE_EXHAUSTED\"}}"),
                Arguments.of(Behavior.invalidKey(), 400, "{\"error\":{\"code\":400,\"message\":\"API key not valid. "
                        + "Please pass a valid API key.\",\"status\":\"INVALID_ARGUMENT\",\"details\":[{\"@type\":"
                        + "\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"API_KEY_INVALID\",\"domain\":"
                        + "\"googleapis.com\",\"metadata\":{\"service\":\"generativelanguage.googleapis.com\"}},"
                        + "{\"@type\":\"type.googleapis.com/google.rpc.LocalizedMessage\",\"locale\":\"en-US\","
                        + "\"message\":\"API key not valid. Please pass a valid API key.\"}]}}"),
                Arguments.of(Behavior.forbidden(), 403, "{\"error\":{\"code\":403,\"message\":\"Your API key was "
                        + "reported as leaked. Please use another API key.\",\"status\":\"PERMISSION_DENIED\"}}"),
                Arguments.of(Behavior.badRequest("Bad \"thing\""), 400, "{\"error\":{\"code\":400,\"message\":"
                        + "\"Bad \\\"thing\\\"\",\"status\":\"INVALID_ARGUMENT\"}}"),
                Arguments.of(Behavior.serverError(), 500, "{\"error\":{\"code\":500,\"message\":\"An internal error "
                        + "has occurred. Please retry or report in "
                        + "https://developers.generativeai.google/guide/troubleshooting\",\"status\":\"INTERNAL\"}}"),
                Arguments.of(Behavior.unavailable(), 503, "{\"error\":{\"code\":503,\"message\":\"The model is "
                        + "overloaded. Please try again later.\",\"status\":\"UNAVAILABLE\"}}"),
                Arguments.of(Behavior.deadlineExceeded(), 504, "{\"error\":{\"code\":504,\"message\":\"Deadline "
                        + "expired before operation could complete.\",\"status\":\"DEADLINE_EXCEEDED\"}}"),
                Arguments.of(Behavior.status(418, "{\"teapot\":true}"), 418, "{\"teapot\":true}"));
    }

    @ParameterizedTest
    @MethodSource("errorBehaviors")
    void errorBehaviorsAnswerGoogleBodies(Behavior behavior, int status, String body) throws Exception {
        fake.script("k1", behavior);

        HttpResponse<String> res = post(GENERATE, "k1", BODY);

        assertThat(res.statusCode()).isEqualTo(status);
        assertThat(res.headers().firstValue("content-type")).hasValue("application/json; charset=UTF-8");
        assertThat(res.body()).isEqualTo(body);
    }

    @Test
    void rateLimitMinuteCarriesQuotaFailureAndRetryInfo() throws Exception {
        fake.script("k1", Behavior.rateLimitMinute(Duration.ofSeconds(20)), Behavior.rateLimitMinute(Duration.ofMillis(1500)));

        String whole = post("/v1beta/models/gemini-2.5-pro:generateContent", "k1", BODY).body();
        HttpResponse<String> fractional = post(GENERATE, "k1", BODY);

        assertThat(whole).startsWith("{\"error\":{\"code\":429,\"message\":\"You exceeded your current quota")
                .contains("limit: 5, model: gemini-2.5-pro\\nPlease retry in 20s.\"")
                .contains("\"status\":\"RESOURCE_EXHAUSTED\"")
                .contains("{\"@type\":\"type.googleapis.com/google.rpc.Help\",\"links\":[{\"description\":\"Learn more "
                        + "about Gemini API quotas\",\"url\":\"https://ai.google.dev/gemini-api/docs/rate-limits\"}]}")
                .contains("\"quotaId\":\"GenerateRequestsPerMinutePerProjectPerModel-FreeTier\"")
                .contains("\"quotaDimensions\":{\"model\":\"gemini-2.5-pro\",\"location\":\"global\"},\"quotaValue\":\"5\"")
                .endsWith("{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"20s\"}]}}");
        assertThat(fractional.statusCode()).isEqualTo(429);
        assertThat(fractional.body()).contains("\"retryDelay\":\"1.5s\"").contains("Please retry in 1.5s.");
    }

    @Test
    void quotaDayHasDailyQuotaIdAndShortRetryInfo() throws Exception {
        fake.script("k1", Behavior.quotaDay());

        HttpResponse<String> res = post(GENERATE, "k1", BODY);

        assertThat(res.statusCode()).isEqualTo(429);
        String body = res.body();
        assertThat(body).contains("\"quotaId\":\"GenerateRequestsPerDayPerProjectPerModel-FreeTier\"")
                .contains("\"quotaValue\":\"20\"").contains("\"retryDelay\":\"34s\"");
        assertThat(body.indexOf("google.rpc.QuotaFailure")).isLessThan(body.indexOf("google.rpc.Help"));
        assertThat(body.indexOf("google.rpc.Help")).isLessThan(body.indexOf("google.rpc.RetryInfo"));
    }

    @Test
    void scriptsAreConsumedInOrderThenFallBackPerKey() throws Exception {
        fake.script("k1", Behavior.serverError(), Behavior.unavailable()).script("k1", Behavior.forbidden());

        assertThat(post(GENERATE, "k2", BODY).statusCode()).isEqualTo(200);
        assertThat(post(GENERATE, "k1", BODY).statusCode()).isEqualTo(500);
        assertThat(post(GENERATE, "k1", BODY).statusCode()).isEqualTo(503);
        assertThat(post(GENERATE, "k1", BODY).statusCode()).isEqualTo(403);
        assertThat(post(GENERATE, "k1", BODY).statusCode()).isEqualTo(200);
    }

    @Test
    void alwaysAnswersWhenTheQueueIsEmptyAndResetClearsIt() throws Exception {
        fake.always("k1", Behavior.invalidKey()).script("k1", Behavior.ok());

        assertThat(post(GENERATE, "k1", BODY).statusCode()).isEqualTo(200);
        assertThat(post(GENERATE, "k1", BODY).statusCode()).isEqualTo(400);
        assertThat(post(GENERATE, "k1", BODY).statusCode()).isEqualTo(400);

        fake.reset();
        assertThat(fake.requestCount()).isZero();
        assertThat(post(GENERATE, "k1", BODY).statusCode()).isEqualTo(200);
    }

    @Test
    void scriptingTheEmptyKeyOverridesTheNoKeyAnswer() throws Exception {
        fake.script("", Behavior.ok());

        assertThat(post(GENERATE, null, BODY).statusCode()).isEqualTo(200);
        assertThat(post(GENERATE, null, BODY).statusCode()).isEqualTo(403);
    }

    @Test
    void slowDelaysTheHead() throws Exception {
        fake.script("k1", Behavior.slow(Duration.ofMillis(300), Behavior.unavailable()));

        long start = System.nanoTime();
        HttpResponse<String> res = post(GENERATE, "k1", BODY);

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
        assertThat(res.statusCode()).isEqualTo(503);
    }

    @Test
    void streamSendsScriptedEventsWithGaps() throws Exception {
        List<String> events = List.of(FakeGemini.textEvent("a"), FakeGemini.textEvent("b"),
                FakeGemini.finishEvent("c", "MAX_TOKENS", 5, 3));
        fake.script("k1", Behavior.stream(events, Duration.ofMillis(100)));

        long start = System.nanoTime();
        HttpResponse<String> res = post(SSE, "k1", BODY);

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(200));
        assertThat(res.body()).isEqualTo("data: " + String.join("\r\n\r\ndata: ", events) + "\r\n\r\n");
        assertThat(events.get(2)).contains("\"finishReason\":\"MAX_TOKENS\"")
                .contains("\"promptTokenCount\":5,\"candidatesTokenCount\":3,\"totalTokenCount\":8");
    }

    @Test
    void gatedStreamDeliversTheFirstEventBeforeTheRest() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        fake.script("k1", Behavior.gatedStream(List.of(FakeGemini.textEvent("first"), FakeGemini.textEvent("second"),
                FakeGemini.finishEvent("", "STOP", 1, 2)), release));

        HttpResponse<InputStream> res = client.send(postRequest(SSE, "k1", BODY), HttpResponse.BodyHandlers.ofInputStream());
        try (BufferedReader reader = reader(res)) {
            assertThat(reader.readLine()).startsWith("data: ").contains("\"text\":\"first\"");
            assertThat(reader.readLine()).isEmpty();
            assertThat(release.getCount()).isEqualTo(1); // the first event arrived while the rest was held back

            release.countDown();
            List<String> rest = new ArrayList<>();
            readDataLines(reader, rest);
            assertThat(rest).hasSize(2);
            assertThat(rest.get(0)).contains("\"text\":\"second\"");
            assertThat(rest.get(1)).contains("\"finishReason\":\"STOP\"");
        }
        assertThat(fake.cancelledStreams()).isZero();
    }

    @Test
    void clientAbortMidStreamIsCountedAndClosesTheConnection() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        fake.script("k1", Behavior.gatedStream(List.of(FakeGemini.textEvent("first"), FakeGemini.textEvent("never")),
                release));

        HttpResponse<InputStream> res = client.send(postRequest(SSE, "k1", BODY), HttpResponse.BodyHandlers.ofInputStream());
        BufferedReader reader = reader(res);
        assertThat(reader.readLine()).contains("\"text\":\"first\"");
        reader.close(); // abandons the response: the JDK client closes the connection

        assertThat(fake.awaitCancelledStreams(1, WAIT)).isTrue();
        assertThat(fake.awaitConnectionsClosed(WAIT)).isTrue();
        release.countDown(); // nothing left to send to
    }

    @Test
    void dropMidStreamClosesWithoutTheTerminatingChunk() throws Exception {
        fake.script("k1", Behavior.dropMidStream(2), Behavior.dropMidStream(2));

        String raw;
        try (Socket socket = new Socket("127.0.0.1", fake.port())) {
            socket.getOutputStream().write(("POST " + SSE + " HTTP/1.1\r\nHost: 127.0.0.1\r\nx-goog-api-key: k1\r\n"
                    + "Content-Length: 2\r\n\r\n{}").getBytes(StandardCharsets.US_ASCII));
            raw = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8); // until the fake closes
        }
        assertThat(raw).startsWith("HTTP/1.1 200 OK\r\n").contains("transfer-encoding: chunked\r\n")
                .contains("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"part1\"}]")
                .contains("\"text\":\"part2\"").endsWith("\r\n\r\n\r\n").doesNotContain("\r\n0\r\n");
        // the JDK client reports the truncated chunked body as an error
        assertThatThrownBy(() -> post(SSE, "k1", BODY)).isInstanceOf(IOException.class);
        assertThat(fake.awaitConnectionsClosed(WAIT)).isTrue();
        assertThat(fake.cancelledStreams()).isZero();
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrderAndConnectionCloseIsHonoured() throws Exception {
        fake.script("slow", Behavior.slow(Duration.ofMillis(200), Behavior.unavailable()));

        String raw;
        try (Socket socket = new Socket("127.0.0.1", fake.port())) {
            socket.getOutputStream().write(("POST " + GENERATE + " HTTP/1.1\r\nHost: x\r\nx-goog-api-key: slow\r\n"
                    + "Content-Length: 2\r\n\r\n{}"
                    + "GET /v1beta/tunedModels HTTP/1.1\r\nHost: x\r\nx-goog-api-key: k2\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            raw = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8); // until the fake closes
        }

        assertThat(raw).startsWith("HTTP/1.1 503 Service Unavailable\r\n").contains("\"status\":\"UNAVAILABLE\"");
        assertThat(raw.indexOf("UNAVAILABLE")).isLessThan(raw.indexOf("HTTP/1.1 200 OK"));
        assertThat(raw).contains("connection: close\r\n").endsWith("{\"echo\":{\"method\":\"GET\",\"path\":\"/v1beta/tunedModels\"}}");
        assertThat(fake.keysUsed()).containsExactly("slow", "k2");
    }

    @Test
    void closeImmediatelySendsNothing() {
        fake.script("k1", Behavior.closeImmediately());

        assertThatThrownBy(() -> post(GENERATE, "k1", BODY)).isInstanceOf(IOException.class);
        assertThat(fake.requestCount("k1")).isEqualTo(1);
    }

    @Test
    void hangNeverAnswersUntilTheClientGivesUp() throws Exception {
        fake.script("k1", Behavior.hang());

        HttpRequest req = request(GENERATE, "k1").timeout(Duration.ofMillis(300))
                .POST(HttpRequest.BodyPublishers.ofString(BODY)).build();

        assertThatThrownBy(() -> client.send(req, HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(HttpTimeoutException.class);
        assertThat(fake.awaitConnectionsClosed(WAIT)).isTrue();
    }

    // ---- recording ----

    @Test
    void recordsMethodUriHeadersBodyAndKey() throws Exception {
        HttpRequest req = request(SSE, "secret-key").header("X-Custom", "v1").header("x-custom", "v2")
                .POST(HttpRequest.BodyPublishers.ofString(BODY)).build();
        client.send(req, HttpResponse.BodyHandlers.ofString());

        RecordedRequest r = fake.awaitRequests(1, WAIT).get(0);
        assertThat(r.method()).isEqualTo("POST");
        assertThat(r.uri()).isEqualTo(SSE);
        assertThat(r.path()).isEqualTo("/v1beta/models/gemini-2.5-flash:streamGenerateContent");
        assertThat(r.model()).isEqualTo("gemini-2.5-flash");
        assertThat(r.queryParam("alt")).isEqualTo("sse");
        assertThat(r.header("X-GOOG-API-KEY")).isEqualTo("secret-key");
        assertThat(r.headers().get("x-custom")).containsExactly("v1", "v2");
        assertThat(r.header("absent")).isNull();
        assertThat(r.body()).isEqualTo(BODY);
        assertThat(r.key()).isEqualTo("secret-key");
        assertThat(r.at()).isNotNull();
        assertThat(fake.lastRequest()).isEqualTo(r);
        assertThat(fake.requestCount("secret-key")).isEqualTo(1);
        assertThat(fake.requestCount("other")).isZero();
    }

    @Test
    void keepAliveReusesTheConnection() throws Exception {
        post(GENERATE, "k1", BODY);
        post(SSE, "k1", BODY);
        get("/v1beta/models", "k1");

        List<RecordedRequest> requests = fake.requests();
        assertThat(requests).extracting(RecordedRequest::connectionId).containsOnly(requests.get(0).connectionId());
        assertThat(fake.openConnections()).isEqualTo(1);
    }

    @Test
    void awaitRequestCountTimesOut() {
        assertThat(fake.awaitRequestCount(1, Duration.ofMillis(50))).isFalse();
        assertThatThrownBy(() -> fake.awaitRequests(1, Duration.ofMillis(50))).isInstanceOf(AssertionError.class);
    }

    @Test
    void tlsFakeIsReachableWithItsCertificateTrusted() throws Exception {
        try (FakeGemini tls = FakeGemini.startTls()) {
            HttpClient tlsClient = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .sslContext(tls.clientSslContext()).connectTimeout(WAIT).build();
            HttpRequest req = HttpRequest.newBuilder(URI.create(tls.baseUrl() + SSE)).header("x-goog-api-key", "k1")
                    .POST(HttpRequest.BodyPublishers.ofString(BODY)).build();

            HttpResponse<String> res = tlsClient.send(req, HttpResponse.BodyHandlers.ofString());

            assertThat(tls.baseUrl()).isEqualTo("https://localhost:" + tls.port());
            assertThat(res.statusCode()).isEqualTo(200);
            assertThat(res.body().split("\r\n\r\n")).hasSize(3);
            assertThat(tls.keysUsed()).containsExactly("k1");
            assertThat(tls.clientTrust().isClient()).isTrue();
        }
    }

    @Test
    void plainFakeHasNoCertificate() {
        assertThat(fake.baseUrl()).isEqualTo("http://127.0.0.1:" + fake.port());
        assertThatThrownBy(fake::certificate).isInstanceOf(IllegalStateException.class);
    }

    // ---- helpers ----

    // ---- projects (README, key affinity) ----

    private String upload(String key, String displayName) throws Exception {
        HttpResponse<String> start = client.send(request("/upload/v1beta/files", key)
                .header("X-Goog-Upload-Protocol", "resumable").header("X-Goog-Upload-Command", "start")
                .header("X-Goog-Upload-Header-Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString("{\"file\":{\"displayName\":\"" + displayName + "\"}}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(start.statusCode()).isEqualTo(200);
        String url = start.headers().firstValue("x-goog-upload-url").orElseThrow();
        assertThat(url).startsWith(fake.baseUrl() + "/upload/v1beta/files?upload_id=");
        HttpResponse<String> done = client.send(request(url.substring(fake.baseUrl().length()), key)
                .header("X-Goog-Upload-Command", "upload, finalize").header("X-Goog-Upload-Offset", "0")
                .POST(HttpRequest.BodyPublishers.ofString("hello")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(done.statusCode()).isEqualTo(200);
        assertThat(done.headers().firstValue("x-goog-upload-status")).contains("final");
        assertThat(done.body()).contains("\"displayName\":\"" + displayName + "\"", "\"state\":\"ACTIVE\"",
                "\"sizeBytes\":\"5\"", "\"uri\":\"https://generativelanguage.googleapis.com/v1beta/files/");
        int at = done.body().indexOf("\"name\":\"files/") + 8;
        return done.body().substring(at, done.body().indexOf('"', at));
    }

    @Test
    void aFileUploadedWithOneProjectsKeyIsDeniedToAnotherProjectAsGoogleDoes() throws Exception {
        fake.project("a1", "alpha").project("a2", "alpha").project("b1", "beta");
        String name = upload("a1", "notes");
        String use = "{\"contents\":[{\"parts\":[{\"fileData\":{\"mimeType\":\"text/plain\",\"fileUri\":"
                + "\"https://generativelanguage.googleapis.com/v1beta/" + name + "\"}}]}]}";

        assertThat(get("/v1beta/" + name, "a2").statusCode()).isEqualTo(200); // same project
        assertThat(post(GENERATE, "a2", use).statusCode()).isEqualTo(200);
        HttpResponse<String> other = get("/v1beta/" + name, "b1");
        assertThat(other.statusCode()).isEqualTo(403);
        assertThat(other.body()).contains("\"status\":\"PERMISSION_DENIED\"", "You do not have permission to access "
                + "the File " + name.substring(6) + " or it may not exist.").doesNotContain("ErrorInfo");
        assertThat(post(GENERATE, "b1", use).statusCode()).isEqualTo(403);
        assertThat(get("/v1beta/files", "b1").body()).isEqualTo("{}");
        assertThat(get("/v1beta/files", "a2").body()).contains(name);
        assertThat(fake.resources("files", "a1")).containsExactly(name);

        assertThat(client.send(request("/v1beta/" + name, "b1").DELETE().build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(403);
        assertThat(client.send(request("/v1beta/" + name, "a1").DELETE().build(),
                HttpResponse.BodyHandlers.ofString()).body()).isEqualTo("{}");
        assertThat(get("/v1beta/" + name, "a1").statusCode()).isEqualTo(403); // gone: "or it may not exist"
    }

    @Test
    void anUploadSessionBelongsToTheProjectThatStartedIt() throws Exception {
        HttpResponse<String> start = client.send(request("/upload/v1beta/files", "k1")
                .header("X-Goog-Upload-Protocol", "resumable").header("X-Goog-Upload-Command", "start")
                .POST(HttpRequest.BodyPublishers.ofString("{\"file\":{}}")).build(),
                HttpResponse.BodyHandlers.ofString());
        String path = start.headers().firstValue("x-goog-upload-url").orElseThrow().substring(fake.baseUrl().length());
        HttpResponse<String> wrong = client.send(request(path, "k2").header("X-Goog-Upload-Command",
                "upload, finalize").POST(HttpRequest.BodyPublishers.ofString("x")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(wrong.statusCode()).isEqualTo(403);
        HttpResponse<String> right = client.send(request(path, "k1").header("X-Goog-Upload-Command",
                "upload, finalize").POST(HttpRequest.BodyPublishers.ofString("x")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(right.statusCode()).isEqualTo(200);
        assertThat(right.body()).startsWith("{\"file\":{\"name\":\"files/");
        assertThat(client.send(request(path, "k1").header("X-Goog-Upload-Command", "upload, finalize")
                .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString())
                .statusCode()).as("a finished session is gone").isEqualTo(404);
    }

    @Test
    void multipartUploadsCreateAFileToo() throws Exception {
        String body = "--b\r\nContent-Type: application/json\r\n\r\n{\"file\":{\"displayName\":\"mp\"}}\r\n--b\r\n"
                + "Content-Type: text/plain\r\n\r\nhello\r\n--b--\r\n";
        HttpResponse<String> r = client.send(request("/upload/v1beta/files", "k1")
                .header("X-Goog-Upload-Protocol", "multipart").header("Content-Type", "multipart/related; boundary=b")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"displayName\":\"mp\"");
        assertThat(fake.resources("files", "k1")).hasSize(1);
    }

    @Test
    void cachedContentsAreBoundToTheirProjectAndExpire() throws Exception {
        HttpResponse<String> created = post("/v1beta/cachedContents", "k1",
                "{\"model\":\"models/gemini-2.5-flash\",\"contents\":[],\"ttl\":\"600s\"}");
        assertThat(created.statusCode()).isEqualTo(200);
        int at = created.body().indexOf("cachedContents/");
        String name = created.body().substring(at, created.body().indexOf('"', at));
        assertThat(created.body()).contains("\"expireTime\"", "\"model\":\"models/gemini-2.5-flash\"");

        String use = "{\"cachedContent\":\"" + name + "\",\"contents\":[{\"parts\":[{\"text\":\"q\"}]}]}";
        assertThat(post(GENERATE, "k1", use).statusCode()).isEqualTo(200);
        HttpResponse<String> other = post(GENERATE, "k2", use);
        assertThat(other.statusCode()).isEqualTo(403);
        assertThat(other.body()).contains("CachedContent not found (or permission denied)");
        assertThat(get("/v1beta/" + name, "k2").statusCode()).isEqualTo(403);

        HttpResponse<String> patched = client.send(request("/v1beta/" + name + "?updateMask=ttl", "k1")
                .method("PATCH", HttpRequest.BodyPublishers.ofString("{\"ttl\":\"0s\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(patched.statusCode()).isEqualTo(200);
        assertThat(get("/v1beta/" + name, "k1").statusCode()).as("expired by the PATCH").isEqualTo(403);
    }

    @Test
    void aCacheOverAnotherProjectsFileIsRefusedAndBatchesAndStoresAreBoundToo() throws Exception {
        String file = fake.createFile("k1", "text/plain");
        HttpResponse<String> cache = post("/v1beta/cachedContents", "k2", "{\"model\":\"models/gemini-2.5-flash\","
                + "\"contents\":[{\"parts\":[{\"fileData\":{\"fileUri\":\"" + FakeResources.FILE_URI_BASE + file
                + "\"}}]}]}");
        assertThat(cache.statusCode()).isEqualTo(403);

        HttpResponse<String> batch = post("/v1beta/models/gemini-2.5-flash:batchGenerateContent", "k1",
                "{\"batch\":{\"inputConfig\":{\"fileName\":\"" + file + "\"}}}");
        assertThat(batch.statusCode()).isEqualTo(200);
        int at = batch.body().indexOf("batches/");
        String name = batch.body().substring(at, batch.body().indexOf('"', at));
        assertThat(get("/v1beta/" + name, "k1").statusCode()).isEqualTo(200);
        assertThat(get("/v1beta/" + name, "k2").statusCode()).isEqualTo(404);
        assertThat(post("/v1beta/models/gemini-2.5-flash:batchGenerateContent", "k2",
                "{\"batch\":{\"inputConfig\":{\"fileName\":\"" + file + "\"}}}").statusCode()).isEqualTo(403);

        HttpResponse<String> store = post("/v1beta/fileSearchStores", "k1", "{\"displayName\":\"s\"}");
        at = store.body().indexOf("fileSearchStores/");
        String storeName = store.body().substring(at, store.body().indexOf('"', at));
        String search = "{\"contents\":[{\"parts\":[{\"text\":\"q\"}]}],\"tools\":[{\"fileSearch\":"
                + "{\"fileSearchStoreNames\":[\"" + storeName + "\"]}}]}";
        assertThat(post(GENERATE, "k1", search).statusCode()).isEqualTo(200);
        assertThat(post(GENERATE, "k2", search).statusCode()).isEqualTo(404);
    }

    private HttpResponse<String> post(String pathAndQuery, String key, String body) throws Exception {
        return client.send(postRequest(pathAndQuery, key, body), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String pathAndQuery, String key) throws Exception {
        return client.send(request(pathAndQuery, key).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpRequest postRequest(String pathAndQuery, String key, String body) {
        return request(pathAndQuery, key).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private HttpRequest.Builder request(String pathAndQuery, String key) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(fake.baseUrl() + pathAndQuery)).timeout(WAIT);
        return key == null ? b : b.header("x-goog-api-key", key);
    }

    private static BufferedReader reader(HttpResponse<InputStream> res) {
        return new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8));
    }

    /** Adds SSE {@code data:} lines to {@code into} until the end of the body. */
    private static void readDataLines(BufferedReader reader, List<String> into) throws IOException {
        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
            if (line.startsWith("data: ")) {
                into.add(line);
            }
        }
    }
}
