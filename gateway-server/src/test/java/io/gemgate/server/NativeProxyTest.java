package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.keys.KeyStatus;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.CapturingAppender;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RecordedRequest;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The native Gemini pass-through against a scripted fake upstream: routing, auth, failover, verdicts, streaming. */
@ExtendWith(LeakDetection.class)
class NativeProxyTest {
    private static final String GENERATE = "/v1beta/models/gemini-2.5-flash:generateContent";
    private static final String BODY = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}";
    private GatewayHarness gw;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
    }

    private FakeGemini fake() {
        return gw.fake();
    }

    @Test
    void spreadsRequestsOverTheKeysRoundRobin() {
        gw = GatewayHarness.start(3);
        for (int i = 0; i < 6; i++) {
            assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
        }
        Map<String, Long> perKey = fake().keysUsed().stream()
                .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
        assertThat(perKey).containsOnly(Map.entry(key(0), 2L), Map.entry(key(1), 2L), Map.entry(key(2), 2L));
    }

    @ParameterizedTest
    @ValueSource(strings = {"header", "query", "bearer"})
    void acceptsTheTokenThreeWaysAndSendsOnlyThePoolKeyUpstream(String how) {
        gw = GatewayHarness.start(1);
        HttpRequest.Builder b = switch (how) {
            case "header" -> gw.request(GENERATE + "?alt=json").header("x-goog-api-key", TOKEN);
            case "query" -> gw.request(GENERATE + "?key=" + TOKEN + "&alt=json");
            default -> gw.request(GENERATE + "?alt=json").header("Authorization", "Bearer " + TOKEN);
        };
        HttpResponse<String> r = gw.send(b.header("x-custom", "kept").POST(HttpRequest.BodyPublishers.ofString(BODY))
                .build());

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("candidates");
        RecordedRequest up = fake().lastRequest();
        assertThat(up.header("x-goog-api-key")).isEqualTo(key(0));
        assertThat(up.uri()).isEqualTo(GENERATE + "?alt=json").doesNotContain("key=");
        assertThat(up.header("authorization")).isNull();
        assertThat(up.header("x-custom")).isEqualTo("kept");
        assertThat(up.body()).isEqualTo(BODY);
        assertThat(up.headers().toString()).doesNotContain(TOKEN);
    }

    @Test
    void refusesAMissingOrWrongTokenWith401InGoogleShapeWithoutCallingUpstream() {
        gw = GatewayHarness.start(1);
        HttpResponse<String> none = gw.send(gw.request(GENERATE).POST(HttpRequest.BodyPublishers.ofString(BODY))
                .build());
        HttpResponse<String> wrong = gw.send(gw.request(GENERATE).header("x-goog-api-key", "nope")
                .POST(HttpRequest.BodyPublishers.ofString(BODY)).build());

        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.body()).contains("\"code\":401", "\"status\":\"UNAUTHENTICATED\"", "missing client token");
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(wrong.body()).contains("invalid client token").doesNotContain("nope");
        assertThat(fake().requestCount()).isZero();
    }

    @Test
    void unknownRoutesAre404AndHealthAndReadyAnswer() {
        gw = GatewayHarness.start(1);
        assertThat(gw.get("/nope").statusCode()).isEqualTo(404);
        assertThat(gw.get("/health").statusCode()).isEqualTo(200);
        assertThat(gw.get("/ready").statusCode()).isEqualTo(200);
        assertThat(fake().requestCount()).isZero();
    }

    @Test
    void passesThroughEveryNativeMethodAndNonModelPaths() {
        gw = GatewayHarness.start(2);
        assertThat(gw.post("/v1beta/models/gemini-2.5-flash:countTokens", BODY).body()).contains("totalTokens");
        assertThat(gw.post("/v1beta/models/gemini-embedding-001:embedContent",
                "{\"content\":{\"parts\":[{\"text\":\"a\"}]}}").body()).contains("embedding");
        assertThat(gw.post("/v1beta/models/gemini-embedding-001:batchEmbedContents",
                "{\"requests\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}},{\"content\":{\"parts\":[{\"text\":\"b\"}]}}]}")
                .body()).contains("embeddings");
        HttpResponse<String> array = gw.post("/v1beta/models/gemini-2.5-flash:streamGenerateContent", BODY);
        assertThat(array.body()).startsWith("[").endsWith("]").contains("Hel", "lo", "STOP");
        assertThat(array.headers().firstValue("content-type").orElse("")).startsWith("application/json");
        assertThat(gw.get("/v1beta/models").body()).contains("gemini-2.5-flash");
        assertThat(gw.get("/v1/models/gemini-2.5-pro").body()).contains("gemini-2.5-pro");
        assertThat(gw.get("/v1beta/models/no-such-model").statusCode()).isEqualTo(404);
        HttpResponse<String> files = gw.get("/v1beta/files?pageSize=5");
        assertThat(files.statusCode()).isEqualTo(200);
        assertThat(files.body()).isEqualTo("{}"); // no file in this key's project yet
        assertThat(gw.post("/v1/models/gemini-2.5-flash:generateContent", BODY).statusCode()).isEqualTo(200);
        assertThat(fake().requests()).extracting(RecordedRequest::path).contains(
                "/v1beta/models/gemini-2.5-flash:countTokens", "/v1beta/models/gemini-embedding-001:embedContent",
                "/v1beta/models/gemini-embedding-001:batchEmbedContents", "/v1beta/models", "/v1beta/files",
                "/v1/models/gemini-2.5-flash:generateContent");
    }

    @Test
    void perMinute429FailsOverToTheNextKeyAndCoolsTheFirst() {
        gw = GatewayHarness.start(2);
        fake().always(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(30)));

        HttpResponse<String> r = gw.generate("gemini-2.5-flash");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(fake().keysUsed()).containsExactly(key(0), key(1));
        var m = gw.server().pool().model("gemini-2.5-flash");
        KeyStatus s = gw.server().pool().status(gw.poolKey(key(0)), m);
        assertThat(s.state()).isEqualTo(KeyStatus.State.COOLING);
        assertThat(s.untilMillis() - System.currentTimeMillis()).isBetween(25_000L, 30_001L);
        // While it cools, the key is not called again.
        gw.generate("gemini-2.5-flash");
        gw.generate("gemini-2.5-flash");
        assertThat(fake().requestCount(key(0))).isEqualTo(1);
    }

    @Test
    void perDay429ExhaustsTheKeyForThatModelUntilTheResetDespiteItsShortRetryInfo() {
        gw = GatewayHarness.start(2);
        fake().always(key(0), Behavior.quotaDay());

        assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);

        var pool = gw.server().pool();
        KeyStatus s = pool.status(gw.poolKey(key(0)), pool.model("gemini-2.5-flash"));
        assertThat(s.state()).isEqualTo(KeyStatus.State.EXHAUSTED);
        assertThat(s.untilMillis()).isEqualTo(pool.calendar().nextReset(System.currentTimeMillis()));
        // Another model is still served by that key.
        fake().always(key(0), Behavior.ok());
        assertThat(pool.status(gw.poolKey(key(0)), pool.model("gemini-2.5-pro")).state())
                .isEqualTo(KeyStatus.State.ACTIVE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"invalid", "forbidden"})
    void invalidOrForbiddenKeysLeaveTheRotation(String kind) {
        gw = GatewayHarness.start(2);
        fake().always(key(0), kind.equals("invalid") ? Behavior.invalidKey() : Behavior.forbidden());

        assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
        for (int i = 0; i < 4; i++) {
            assertThat(gw.generate("gemini-2.5-pro").statusCode()).isEqualTo(200);
        }
        assertThat(fake().requestCount(key(0))).isEqualTo(1);
        assertThat(gw.poolKey(key(0)).isInvalid()).isTrue();
        assertThat(gw.get("/ready").statusCode()).isEqualTo(200); // key(1) still serves
    }

    @Test
    void whenEveryKeyIsRefusedAsInvalidOneRequestSetsAsideOneKeyTheBrakeKeepsTheOtherAndGooglesKeyErrorNeverShows() {
        gw = GatewayHarness.start(2);
        fake().always(key(0), Behavior.invalidKey());
        fake().always(key(1), Behavior.invalidKey());

        HttpResponse<String> first = gw.generate("gemini-2.5-flash");
        assertThat(first.statusCode()).isEqualTo(502);
        assertThat(first.body()).doesNotContain("API key not valid").contains("refused 2 keys");
        assertThat(gw.poolKey(key(0)).isInvalid()).isTrue();
        assertThat(gw.poolKey(key(1)).isInvalid()).as("one key per request").isFalse();
        HttpResponse<String> second = gw.generate("gemini-2.5-flash");
        assertThat(second.statusCode()).isEqualTo(503);
        assertThat(second.body()).doesNotContain("API key not valid");
        assertThat(second.headers().firstValue("retry-after")).isPresent();
        assertThat(gw.poolKey(key(1)).isInvalid()).as("half the pool at most: braked").isFalse();
        assertThat(fake().requestCount()).isEqualTo(3);
        assertThat(gw.get("/ready").statusCode()).isEqualTo(200);
    }

    @Test
    void severalDeadKeysBeforeAGoodOneStillGiveTheGoodKeysAnswerAndOnlyOneIsSetAsidePerRequest() {
        gw = GatewayHarness.start(5);
        fake().always(key(0), Behavior.invalidKey());
        fake().always(key(1), Behavior.invalidKey());
        fake().always(key(2), Behavior.invalidKey());

        // The first request meets the three dead keys in turn: the first is set aside, the two others are only
        // counted, and the fourth key answers.
        HttpResponse<String> first = gw.generate("gemini-2.5-flash");
        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(fake().keysUsed()).containsExactly(key(0), key(1), key(2), key(3));
        assertThat(gw.poolKey(key(0)).isInvalid()).isTrue();
        assertThat(gw.poolKey(key(1)).isInvalid()).as("one key per request").isFalse();
        assertThat(gw.poolKey(key(2)).isInvalid()).as("one key per request").isFalse();

        // Later requests set the other dead keys aside one at a time and always answer 200.
        for (int i = 0; i < 6; i++) {
            assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
        }
        assertThat(gw.poolKey(key(3)).isInvalid()).isFalse();
        assertThat(gw.poolKey(key(4)).isInvalid()).isFalse();
    }

    @Test
    void anUpstreamThatRefusesEveryKeyCostsARequestAtMostMaxAttemptsFurtherCalls() {
        gw = GatewayHarness.start(8);
        for (int i = 0; i < 8; i++) {
            fake().always(key(i), Behavior.invalidKey());
        }

        HttpResponse<String> r = gw.generate("gemini-2.5-flash");

        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(r.body()).doesNotContain("API key not valid").contains("refused 4 keys");
        // The first refusal sets a key aside; then pool.maxAttempts (3) further refusals end the request.
        assertThat(fake().requestCount()).isEqualTo(4);
        long setAside = java.util.stream.IntStream.range(0, 8).filter(i -> gw.poolKey(key(i)).isInvalid()).count();
        assertThat(setAside).isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(ints = {500, 503})
    void serverErrorsFailOverToTheNextKey(int code) {
        gw = GatewayHarness.start(3);
        fake().script(key(0), code == 500 ? Behavior.serverError() : Behavior.unavailable());

        HttpResponse<String> r = gw.generate("gemini-2.5-flash");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(fake().keysUsed()).containsExactly(key(0), key(1));
    }

    @Test
    void clientErrorsArePassedThroughUnchangedAndNeverRetried() {
        gw = GatewayHarness.start(3);
        fake().always(key(0), Behavior.badRequest("Invalid JSON payload received. Unexpected token."));

        HttpResponse<String> r = gw.post(GENERATE, "{not json");

        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("Invalid JSON payload received", "INVALID_ARGUMENT");
        assertThat(fake().requestCount()).isEqualTo(1);
        assertThat(gw.poolKey(key(0)).isInvalid()).isFalse();
    }

    @Test
    void everyKeyCoolingAnswers429WithRetryAfterWithoutCallingUpstreamAgain() {
        gw = GatewayHarness.start(2);
        fake().always(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(40)));
        fake().always(key(1), Behavior.rateLimitMinute(Duration.ofSeconds(20)));

        HttpResponse<String> first = gw.generate("gemini-2.5-flash");
        assertThat(first.statusCode()).isEqualTo(429);
        assertThat(first.body()).contains("cooling down");
        assertThat(Long.parseLong(first.headers().firstValue("retry-after").orElseThrow())).isBetween(15L, 20L);
        assertThat(fake().requestCount()).isEqualTo(2);

        HttpResponse<String> second = gw.generate("gemini-2.5-flash");
        assertThat(second.statusCode()).isEqualTo(429);
        assertThat(second.body()).contains("RESOURCE_EXHAUSTED", "cooling down", "gemini-2.5-flash");
        assertThat(Long.parseLong(second.headers().firstValue("retry-after").orElseThrow())).isBetween(15L, 20L);
        assertThat(fake().requestCount()).isEqualTo(2);
    }

    @Test
    void withFailoverMaxWaitARequestWaitsForTheFirstKeyToCoolDownInsteadOfFailing() {
        gw = GatewayHarness.start(2);
        fake().script(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(1)));
        fake().script(key(1), Behavior.rateLimitMinute(Duration.ofSeconds(1)));
        assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(429); // both keys now cool for 1 s

        var ctx = gw.server().context();
        ctx.settings(ctx.settings().toBuilder().failoverMaxWait(Duration.ofSeconds(3)).build());
        long start = System.nanoTime();
        HttpResponse<String> r = gw.generate("gemini-2.5-flash");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThan(Duration.ofMillis(300));
        assertThat(fake().requestCount()).isEqualTo(3);

        ctx.settings(ctx.settings().toBuilder().failoverMaxWait(Duration.ZERO).build());
        fake().script(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(30)));
        fake().script(key(1), Behavior.rateLimitMinute(Duration.ofSeconds(30)));
        gw.generate("gemini-2.5-pro");
        assertThat(gw.generate("gemini-2.5-pro").statusCode()).isEqualTo(429); // no wait: answered at once
    }

    @Test
    void everyKeyExhaustedForTheDayAnswers503WithRetryAfterToTheReset() {
        gw = GatewayHarness.start(2);
        fake().always(key(0), Behavior.quotaDay());
        fake().always(key(1), Behavior.quotaDay());

        HttpResponse<String> first = gw.generate("gemini-2.5-flash"); // exhausts both keys on the way
        HttpResponse<String> r = gw.generate("gemini-2.5-flash");

        assertThat(first.statusCode()).isEqualTo(503);
        assertThat(first.body()).contains("2 exhausted").doesNotContain("Please retry in");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.body()).contains("UNAVAILABLE", "2 exhausted");
        long expected = (gw.server().pool().calendar().nextReset(System.currentTimeMillis())
                - System.currentTimeMillis()) / 1000;
        assertThat(Long.parseLong(r.headers().firstValue("retry-after").orElseThrow()))
                .isBetween(expected - 5, expected + 5);
        assertThat(fake().requestCount()).isEqualTo(2);
        assertThat(gw.get("/ready").statusCode()).isEqualTo(200); // exhausted for one model is still ready
    }

    @Test
    void whenTheFailoverDeadlinePassesWhileOtherKeysCouldServeGoogles429IsRelayedWithRetryAfter() {
        gw = GatewayHarness.start(3, Map.of("GEMGATE_FAILOVER_DEADLINE", "1s"));
        fake().script(key(0), Behavior.slow(Duration.ofMillis(600),
                Behavior.rateLimitMinute(Duration.ofSeconds(20))));
        fake().script(key(1), Behavior.slow(Duration.ofMillis(600), Behavior.rateLimitMinute(Duration.ofSeconds(7))));

        HttpResponse<String> r = gw.generate("gemini-2.5-flash");

        assertThat(r.statusCode()).isEqualTo(429);
        assertThat(r.body()).contains("RESOURCE_EXHAUSTED", "QuotaFailure");
        assertThat(r.headers().firstValue("retry-after")).contains("7");
        assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200); // key(2) was never tried
        assertThat(fake().keysUsed()).containsExactly(key(0), key(1), key(2));
    }

    @Test
    void attemptsAreBoundedByMaxAttemptsAndTheLastUpstreamErrorIsRelayed() {
        gw = GatewayHarness.start(5, Map.of("GEMGATE_POOL_MAX_ATTEMPTS", "2"));
        for (int i = 0; i < 5; i++) {
            fake().always(key(i), Behavior.serverError());
        }
        HttpResponse<String> r = gw.generate("gemini-2.5-flash");
        assertThat(r.statusCode()).isEqualTo(500);
        assertThat(r.body()).contains("INTERNAL");
        assertThat(fake().requestCount()).isEqualTo(2);
        assertThat(fake().keysUsed()).doesNotHaveDuplicates();
    }

    @Test
    void aFullUpstreamPoolFailsFastWith503InsteadOfQueueingWithoutBound() throws Exception {
        gw = GatewayHarness.start(1, Map.of("GEMGATE_SERVER_IO_THREADS", "1",
                "GEMGATE_UPSTREAM_MAX_CONNECTIONS_PER_LOOP", "1", "GEMGATE_UPSTREAM_MAX_PENDING_ACQUIRES", "1",
                "GEMGATE_UPSTREAM_CONNECT_TIMEOUT", "500ms", "GEMGATE_SERVER_SHUTDOWN_GRACE", "0s"));
        fake().always(key(0), Behavior.hang());
        var held = gw.http().sendAsync(gw.request(GENERATE).header("x-goog-api-key", TOKEN)
                .POST(HttpRequest.BodyPublishers.ofString(BODY)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(fake().awaitRequestCount(1, Duration.ofSeconds(5))).isTrue();
        var waiting = gw.http().sendAsync(gw.request(GENERATE).header("x-goog-api-key", TOKEN)
                .POST(HttpRequest.BodyPublishers.ofString(BODY)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(waitUntil(() -> gw.server().context().inFlight().sum() == 2)).isTrue();

        HttpResponse<String> refused = gw.generate("gemini-2.5-flash");
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.body()).contains("busy");
        HttpResponse<String> timedOut = waiting.get(10, TimeUnit.SECONDS);
        assertThat(timedOut.statusCode()).isEqualTo(503);
        assertThat(timedOut.body()).contains("no upstream connection free");
        assertThat(held).isNotDone();
        assertThat(gw.poolKey(key(0)).health().successRate()).isEqualTo(1.0); // not the key's fault
    }

    @Test
    void anUnreachableUpstreamGives502() throws Exception {
        int closedPort;
        try (var s = new java.net.ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        gw = GatewayHarness.start(2, Map.of("GEMGATE_UPSTREAM", "http://127.0.0.1:" + closedPort));
        HttpResponse<String> r = gw.generate("gemini-2.5-flash");
        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(r.body()).contains("unreachable", "2 attempt");
    }

    @Test
    void anUpstreamSlowerThanTheResponseTimeoutFailsOverThenGives504() {
        gw = GatewayHarness.start(2, Map.of("GEMGATE_UPSTREAM_RESPONSE_TIMEOUT", "300ms"));
        fake().always(key(0), Behavior.hang());
        fake().script(key(1), Behavior.slow(Duration.ofMillis(50), Behavior.ok()));

        assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
        fake().always(key(1), Behavior.hang());
        // Another model: key(0)'s cooldown is for flash only, so both keys are tried and both hang.
        HttpResponse<String> r = gw.generate("gemini-2.5-pro");
        assertThat(r.statusCode()).isEqualTo(504);
    }

    @Test
    void theFirstSseEventReachesTheClientBeforeTheUpstreamFinishes() throws Exception {
        gw = GatewayHarness.start(1);
        CountDownLatch rest = new CountDownLatch(1);
        fake().script(key(0), Behavior.gatedStream(List.of(FakeGemini.textEvent("Hel"),
                FakeGemini.finishEvent("lo", "STOP", 7, 3)), rest));

        HttpResponse<InputStream> r = gw.http().send(gw.request(
                        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
                .header("x-goog-api-key", TOKEN).POST(HttpRequest.BodyPublishers.ofString(BODY)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String first = in.readLine();
            assertThat(first).startsWith("data: ").contains("Hel"); // while the upstream still holds the rest
            rest.countDown();
            String rest2 = in.lines().collect(Collectors.joining("\n"));
            assertThat(rest2).contains("lo", "STOP");
        }
        var pool = gw.server().pool();
        var usage = pool.usage(gw.poolKey(key(0)), pool.model("gemini-2.5-flash"));
        assertThat(usage.promptTokens()).isEqualTo(7);
        assertThat(usage.outputTokens()).isEqualTo(3);
        assertThat(usage.successes()).isEqualTo(1);
    }

    @Test
    void aClientThatHangsUpClosesItsUpstreamCall() throws Exception {
        gw = GatewayHarness.start(1);
        CountDownLatch never = new CountDownLatch(1);
        fake().script(key(0), Behavior.gatedStream(List.of(FakeGemini.textEvent("a"), FakeGemini.textEvent("b")),
                never));
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", gw.port())) {
            String req = "POST /v1beta/models/m:streamGenerateContent?alt=sse HTTP/1.1\r\nHost: x\r\n"
                    + "x-goog-api-key: " + TOKEN + "\r\nContent-Length: " + BODY.length() + "\r\n\r\n" + BODY;
            s.getOutputStream().write(req.getBytes(StandardCharsets.UTF_8));
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null && !line.startsWith("data:")) {
                // head and chunk size lines
            }
            assertThat(line).contains("\"a\"");
        }
        assertThat(fake().awaitCancelledStreams(1, Duration.ofSeconds(5))).isTrue();
        never.countDown();
        assertThat(waitUntil(() -> gw.server().context().inFlight().sum() == 0)).isTrue();
    }

    @Test
    void aSlowReaderPausesTheUpstreamInsteadOfBufferingTheWholeStream() throws Exception {
        gw = GatewayHarness.start(1);
        String chunk = "x".repeat(32 * 1024);
        int events = 1250; // about 40 MB: far more than socket buffers hold
        fake().script(key(0), Behavior.stream(java.util.Collections.nCopies(events, FakeGemini.textEvent(chunk)),
                Duration.ZERO));
        try (java.net.Socket s = new java.net.Socket()) {
            s.setReceiveBufferSize(16 * 1024);
            s.connect(new java.net.InetSocketAddress("127.0.0.1", gw.port()));
            s.setSoTimeout(20_000);
            String req = "POST /v1beta/models/m:streamGenerateContent?alt=sse HTTP/1.1\r\nHost: x\r\n"
                    + "x-goog-api-key: " + TOKEN + "\r\nContent-Length: " + BODY.length() + "\r\n\r\n" + BODY;
            s.getOutputStream().write(req.getBytes(StandardCharsets.US_ASCII));
            var in = s.getInputStream();
            assertThat(in.read()).isEqualTo('H'); // the answer started; now stop reading

            io.netty.channel.Channel client = gw.server().clientChannels().iterator().next();
            assertThat(waitUntil(() -> !client.isWritable())).isTrue(); // the gateway reached its watermark
            long maxPending = 0;
            for (int i = 0; i < 50; i++) { // watch the buffer while the client stays stalled
                var out = client.unsafe().outboundBuffer();
                maxPending = Math.max(maxPending, out == null ? 0 : out.totalPendingWriteBytes());
                java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
            }
            assertThat(maxPending).isLessThan(1024 * 1024);

            byte[] buf = new byte[64 * 1024];
            long total = 0;
            int n;
            while ((n = in.read(buf)) > 0) { // resume: everything arrives
                total += n;
                if (total > (long) events * chunk.length() && new String(buf, 0, n, StandardCharsets.US_ASCII)
                        .endsWith("0\r\n\r\n")) {
                    break;
                }
            }
            assertThat(total).isGreaterThan((long) events * chunk.length());
        }
    }

    @Test
    void anUpstreamDroppingMidStreamEndsTheStreamWithAnErrorEvent() {
        gw = GatewayHarness.start(2);
        fake().script(key(0), Behavior.dropMidStream(1));

        HttpResponse<String> r = gw.post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", BODY);

        assertThat(r.statusCode()).isEqualTo(200); // the head had gone out: no failover after the first byte
        assertThat(r.body()).contains("data: {").contains("\"error\"", "\"code\":502");
        assertThat(fake().requestCount()).isEqualTo(1);
    }

    @Test
    void anUpstreamStallingLongerThanTheStreamIdleTimeoutEndsTheStreamWithAnErrorEvent() {
        gw = GatewayHarness.start(1, Map.of("GEMGATE_UPSTREAM_STREAM_IDLE_TIMEOUT", "1s"));
        fake().script(key(0), Behavior.stream(List.of(FakeGemini.textEvent("Hel"), FakeGemini.textEvent("lo")),
                Duration.ofSeconds(20)));
        long start = System.nanoTime();

        HttpResponse<String> r = gw.post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", BODY);

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("Hel").doesNotContain("lo\"").contains("\"error\"", "\"code\":502",
                "upstream sent nothing for 1s");
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start)).isLessThan(10);
    }

    @Test
    void pooledUpstreamConnectionsIdleLongerThanThePoolIdleTimeoutAreClosed() {
        gw = GatewayHarness.start(1, Map.of("GEMGATE_UPSTREAM_POOL_IDLE_TIMEOUT", "1s"));
        assertThat(gw.post(GENERATE, BODY).statusCode()).isEqualTo(200);
        assertThat(gw.server().context().upstream().openConnections()).isEqualTo(1);
        assertThat(waitUntil(() -> gw.server().context().upstream().openConnections() == 0)).isTrue();
        assertThat(gw.post(GENERATE, BODY).statusCode()).isEqualTo(200); // a fresh connection serves the next
        var requests = fake().requests();
        assertThat(requests.get(1).connectionId()).isNotEqualTo(requests.get(0).connectionId());
    }

    @Test
    void aDeclaredBodyOverTheLimitGets413BeforeItIsRead() throws Exception {
        gw = GatewayHarness.start(1, Map.of("GEMGATE_SERVER_MAX_BODY_BYTES", "1024"));
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", gw.port())) {
            s.setSoTimeout(5000);
            String head = "POST " + GENERATE + " HTTP/1.1\r\nHost: x\r\nx-goog-api-key: " + TOKEN
                    + "\r\nContent-Length: 10485760\r\n\r\n";
            s.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
            String status = new BufferedReader(new InputStreamReader(s.getInputStream())).readLine();
            assertThat(status).isEqualTo("HTTP/1.1 413 Request Entity Too Large");
        }
        HttpResponse<String> chunked = gw.send(gw.request(GENERATE).header("x-goog-api-key", TOKEN)
                .POST(HttpRequest.BodyPublishers.ofInputStream(
                        () -> new java.io.ByteArrayInputStream(new byte[4096]))).build());
        assertThat(chunked.statusCode()).isEqualTo(413);
        assertThat(fake().requestCount()).isZero();
    }

    @Test
    void aClientTooSlowToSendItsBodyGets408AndIsClosed() throws Exception {
        gw = GatewayHarness.start(1, Map.of("GEMGATE_SERVER_REQUEST_READ_TIMEOUT", "300ms"));
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", gw.port())) {
            s.setSoTimeout(5000);
            String head = "POST " + GENERATE + " HTTP/1.1\r\nHost: x\r\nx-goog-api-key: " + TOKEN
                    + "\r\nContent-Length: 100\r\n\r\n{\"contents\"";
            s.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream()));
            assertThat(in.readLine()).isEqualTo("HTTP/1.1 408 Request Timeout");
            String rest = in.lines().collect(Collectors.joining("\n")); // ends: the gateway closed
            assertThat(rest).contains("connection: close", "DEADLINE_EXCEEDED");
        }
        assertThat(fake().requestCount()).isZero();
    }

    @Test
    void idleConnectionsAndHeadersTrickledSlowerThanTheIdleTimeoutAreClosed() throws Exception {
        gw = GatewayHarness.start(1, Map.of("GEMGATE_SERVER_IDLE_TIMEOUT", "300ms"));
        try (java.net.Socket idle = new java.net.Socket("127.0.0.1", gw.port());
             java.net.Socket trickle = new java.net.Socket("127.0.0.1", gw.port())) {
            idle.setSoTimeout(5000);
            trickle.setSoTimeout(5000);
            trickle.getOutputStream().write("GET /health HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(idle.getInputStream().read()).isEqualTo(-1); // closed by the gateway, no response
            assertThat(trickle.getInputStream().read()).isEqualTo(-1);
        }
        assertThat(waitUntil(() -> gw.server().context().connections().get() == 0)).isTrue();
    }

    @Test
    void aKeptAliveConnectionGets408OnAStalledSecondRequestAndIsClosedWhenIdle() throws Exception {
        // The read timeout (300 ms) is shorter than the idle timeout (1 s): the deadline of the second request must
        // fire on time although the first request's idle deadline was the last one the connection armed.
        gw = GatewayHarness.start(1, Map.of("GEMGATE_SERVER_REQUEST_READ_TIMEOUT", "300ms",
                "GEMGATE_SERVER_IDLE_TIMEOUT", "1s"));
        String full = "POST " + GENERATE + " HTTP/1.1\r\nHost: x\r\nx-goog-api-key: " + TOKEN
                + "\r\nContent-Length: " + BODY.length() + "\r\n\r\n" + BODY;
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", gw.port())) {
            s.setSoTimeout(5000);
            var in = new java.io.DataInputStream(s.getInputStream());
            s.getOutputStream().write(full.getBytes(StandardCharsets.US_ASCII));
            assertThat(readResponse(in)).startsWith("HTTP/1.1 200");
            long sent = System.nanoTime();
            s.getOutputStream().write(full.substring(0, full.length() - 5).getBytes(StandardCharsets.US_ASCII));
            assertThat(readResponse(in)).startsWith("HTTP/1.1 408").contains("connection: close");
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent)).isLessThan(1000);
        }
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", gw.port())) {
            s.setSoTimeout(5000);
            var in = new java.io.DataInputStream(s.getInputStream());
            s.getOutputStream().write(full.getBytes(StandardCharsets.US_ASCII));
            assertThat(readResponse(in)).startsWith("HTTP/1.1 200");
            assertThat(in.read()).isEqualTo(-1); // then idle: closed by the gateway
        }
        assertThat(fake().requestCount()).isEqualTo(2);
    }

    @Test
    void aBodyArrivingInPiecesSlowerThanTheIdleTimeoutButWithinTheReadTimeoutIsRelayedWhole() throws Exception {
        gw = GatewayHarness.start(1, Map.of("GEMGATE_SERVER_REQUEST_READ_TIMEOUT", "5s",
                "GEMGATE_SERVER_IDLE_TIMEOUT", "200ms"));
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", gw.port())) {
            s.setSoTimeout(5000);
            s.setTcpNoDelay(true);
            var in = new java.io.DataInputStream(s.getInputStream());
            var out = s.getOutputStream();
            out.write(("POST " + GENERATE + " HTTP/1.1\r\nHost: x\r\nx-goog-api-key: " + TOKEN
                    + "\r\nContent-Length: " + BODY.length() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            int third = BODY.length() / 3;
            for (String piece : new String[] {BODY.substring(0, third), BODY.substring(third, 2 * third),
                    BODY.substring(2 * third)}) {
                Thread.sleep(150); // a slow client: together the pauses outlast the idle timeout
                out.write(piece.getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
            assertThat(readResponse(in)).startsWith("HTTP/1.1 200");
        }
        assertThat(fake().lastRequest().body()).isEqualTo(BODY);
    }

    @Test
    void hopByHopHeadersAndThoseTheConnectionHeaderNamesStayHereWhateverTheirCase() throws Exception {
        gw = GatewayHarness.start(1);
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", gw.port())) {
            s.setSoTimeout(5000);
            String req = "POST " + GENERATE + " HTTP/1.1\r\nHost: x\r\nX-Goog-Api-Key: " + TOKEN
                    + "\r\nConnection: keep-alive, X-Drop-Me\r\nx-drop-me: 1\r\nKeep-Alive: timeout=5"
                    + "\r\nPROXY-CONNECTION: keep-alive\r\nTe: trailers\r\nCookie: session=secret"
                    + "\r\nX-Dropped-Not: kept\r\nX-Keep: yes\r\nContent-Length: " + BODY.length() + "\r\n\r\n" + BODY;
            s.getOutputStream().write(req.getBytes(StandardCharsets.US_ASCII));
            assertThat(readResponse(new java.io.DataInputStream(s.getInputStream()))).startsWith("HTTP/1.1 200");
        }
        var up = fake().lastRequest();
        for (String dropped : new String[] {"x-drop-me", "keep-alive", "proxy-connection", "te", "cookie"}) {
            assertThat(up.header(dropped)).as(dropped).isNull();
        }
        assertThat(up.header("x-keep")).isEqualTo("yes");
        assertThat(up.header("x-dropped-not")).isEqualTo("kept"); // not named by Connection, though it starts alike
        assertThat(up.header("x-goog-api-key")).isEqualTo(key(0));
        assertThat(up.body()).isEqualTo(BODY);
    }

    /**
     * The upstream's answer loses the fields its Connection header names (RFC 9110 7.6.1), whatever their case, and
     * keeps the rest; the usual {@code Connection: keep-alive} of a proxy in between names nothing.
     */
    @Test
    void fieldsTheUpstreamsConnectionHeaderNamesStayUpstream() throws Exception {
        String answer = "{\"candidates\":[]}";
        try (java.net.ServerSocket up = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            String[] connections = {"keep-alive, X-Up-Hop, close", "keep-alive"};
            java.util.concurrent.atomic.AtomicInteger answered = new java.util.concurrent.atomic.AtomicInteger();
            Thread upstream = new Thread(() -> {
                while (answered.get() < connections.length) {
                    try (java.net.Socket c = up.accept()) { // each connection answers until the gateway closes it
                        var in = new java.io.DataInputStream(c.getInputStream());
                        while (answered.get() < connections.length) {
                            int length = 0;
                            for (String line = readLine(in); !line.isEmpty(); line = readLine(in)) {
                                if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                                    length = Integer.parseInt(line.substring(15).trim());
                                }
                            }
                            in.readFully(new byte[length]);
                            String connection = connections[answered.get()];
                            c.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                    + "Connection: " + connection + "\r\nx-up-hop: secret\r\nX-Up-Keep: yes\r\n"
                                    + "Content-Length: " + answer.length() + "\r\n\r\n" + answer)
                                    .getBytes(StandardCharsets.US_ASCII));
                            answered.incrementAndGet();
                            if (connection.contains("close")) {
                                break;
                            }
                        }
                    } catch (Exception e) {
                        return;
                    }
                }
            }, "raw-upstream");
            upstream.setDaemon(true);
            upstream.start();
            gw = GatewayHarness.start(1, Map.of("GEMGATE_UPSTREAM", "http://127.0.0.1:" + up.getLocalPort()));
            for (boolean named : new boolean[] {true, false}) {
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", gw.port())) {
                    s.setSoTimeout(5000);
                    s.getOutputStream().write(("POST " + GENERATE + " HTTP/1.1\r\nHost: x\r\nX-Goog-Api-Key: " + TOKEN
                            + "\r\nContent-Length: " + BODY.length() + "\r\n\r\n" + BODY)
                            .getBytes(StandardCharsets.US_ASCII));
                    // the head, its lines ended by \n (the body, of its Content-Length, read and left)
                    String head = readResponse(new java.io.DataInputStream(s.getInputStream()))
                            .toLowerCase(java.util.Locale.ROOT);
                    assertThat(head).startsWith("http/1.1 200").contains("\nx-up-keep: yes\n")
                            .contains("\ncontent-length: " + answer.length() + "\n");
                    if (named) {
                        assertThat(head).as("named by Connection").doesNotContain("x-up-hop");
                    } else {
                        assertThat(head).contains("\nx-up-hop: secret\n");
                    }
                }
            }
        }
    }

    @Test
    void expect100ContinueIsAnsweredBeforeTheBodyIsSent() throws Exception {
        gw = GatewayHarness.start(1);
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", gw.port())) {
            s.setSoTimeout(5000);
            String head = "POST " + GENERATE + " HTTP/1.1\r\nHost: x\r\nx-goog-api-key: " + TOKEN
                    + "\r\nExpect: 100-continue\r\nContent-Length: " + BODY.length() + "\r\n\r\n";
            s.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
            var in = new java.io.DataInputStream(s.getInputStream());
            assertThat(readLine(in)).isEqualTo("HTTP/1.1 100 Continue");
            assertThat(readLine(in)).isEmpty();
            s.getOutputStream().write(BODY.getBytes(StandardCharsets.US_ASCII));
            assertThat(readResponse(in)).startsWith("HTTP/1.1 200");
        }
        assertThat(fake().lastRequest().header("expect")).isNull();
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrderOneAtATime() throws Exception {
        gw = GatewayHarness.start(2);
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", gw.port())) {
            s.setSoTimeout(5000);
            StringBuilder reqs = new StringBuilder();
            for (String model : List.of("first-model", "second-model", "third-model")) {
                reqs.append("POST /v1beta/models/").append(model).append(":generateContent HTTP/1.1\r\nHost: x\r\n")
                        .append("x-goog-api-key: ").append(TOKEN).append("\r\nContent-Length: ")
                        .append(BODY.length()).append("\r\n\r\n").append(BODY);
            }
            s.getOutputStream().write(reqs.toString().getBytes(StandardCharsets.US_ASCII));
            var in = new java.io.DataInputStream(s.getInputStream());
            for (int i = 0; i < 3; i++) {
                assertThat(readResponse(in)).startsWith("HTTP/1.1 200");
            }
        }
        assertThat(fake().requests()).extracting(RecordedRequest::model)
                .containsExactly("first-model", "second-model", "third-model");
    }

    @Test
    void oversizedHeadersGet431() throws Exception {
        gw = GatewayHarness.start(1);
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", gw.port())) {
            s.setSoTimeout(5000);
            String head = "GET /v1beta/models HTTP/1.1\r\nHost: x\r\nx-big: " + "a".repeat(40_000) + "\r\n\r\n";
            s.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
            String status = new BufferedReader(new InputStreamReader(s.getInputStream())).readLine();
            assertThat(status).startsWith("HTTP/1.1 431");
        }
    }

    @Test
    void keepAliveServesManyRequestsOnOneConnectionAndReusesUpstreamConnections() throws Exception {
        gw = GatewayHarness.start(2);
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", gw.port())) {
            s.setSoTimeout(5000);
            var out = s.getOutputStream();
            var in = new java.io.DataInputStream(s.getInputStream());
            for (int i = 0; i < 5; i++) {
                String req = "POST " + GENERATE + " HTTP/1.1\r\nHost: x\r\nx-goog-api-key: " + TOKEN
                        + "\r\nContent-Length: " + BODY.length() + "\r\n\r\n" + BODY;
                out.write(req.getBytes(StandardCharsets.US_ASCII));
                assertThat(readResponse(in)).startsWith("HTTP/1.1 200");
            }
        }
        assertThat(fake().requestCount()).isEqualTo(5);
        assertThat(gw.server().context().upstream().openConnections()).isLessThanOrEqualTo(2);
    }

    @Test
    void accessLogHasOneLinePerRequestWithMaskedKeyAndNoSecretAnywhere() {
        gw = GatewayHarness.start(2);
        fake().script(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(5)));
        String path = "/v1beta/models/access-log-model:generateContent";
        gw.send(gw.request(path + "?key=" + TOKEN).POST(HttpRequest.BodyPublishers.ofString(BODY)).build());

        String masked = key(1).substring(0, 4) + "..." + key(1).substring(35);
        assertThat(waitUntil(() -> CapturingAppender.accessLines().stream().anyMatch(l -> l.contains(path))))
                .isTrue();
        List<String> lines = CapturingAppender.accessLines().stream().filter(l -> l.contains(path)).toList();
        assertThat(lines).hasSize(1);
        assertThat(lines.get(0)).contains("POST " + path + " 200 ", "model=access-log-model", "key=" + masked,
                "tier=0 attempts=2").containsPattern("\\d+ms token=gg-t\\.\\.\\.5d1c$").doesNotContain("key=" + TOKEN);
        for (String l : CapturingAppender.lines()) {
            assertThat(l).doesNotContain(key(0), key(1), TOKEN);
        }
    }

    @Test
    void tlsUpstreamWorksWithHostnameVerification() throws Exception {
        try (FakeGemini tls = FakeGemini.startTls()) {
            gw = GatewayHarness.start(tls, GatewayHarness.specs(1), Map.of("GEMGATE_UPSTREAM",
                    "https://localhost:" + tls.port()), System::currentTimeMillis);
            assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
            assertThat(tls.lastRequest().header("x-goog-api-key")).isEqualTo(key(0));
            gw.close();
            gw = null;
        }
    }

    private static String readResponse(java.io.DataInputStream in) throws Exception {
        StringBuilder head = new StringBuilder();
        int length = 0;
        String line;
        while (!(line = readLine(in)).isEmpty()) {
            head.append(line).append('\n');
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        in.readFully(new byte[length]);
        return head.toString();
    }

    private static String readLine(java.io.DataInputStream in) throws Exception {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) {
                throw new java.io.EOFException();
            }
            if (c != '\r') {
                b.append((char) c);
            }
        }
        return b.toString();
    }

    static boolean waitUntil(java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
        return condition.getAsBoolean();
    }
}
