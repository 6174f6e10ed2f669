package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.CapturingAppender;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RecordedRequest;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The client edge as an attacker probes it, on raw sockets: malformed chunked bodies, dot segments and encoded
 * slashes, control characters, Host, versions, methods, credentials in odd places, and the access line every
 * refused request leaves. What reached the fake upstream is checked each time: nothing, for what is refused.
 */
@ExtendWith(LeakDetection.class)
class EdgeHardeningTest {
    private static final String GENERATE = "/v1beta/models/gemini-2.5-flash:generateContent";
    private static final String BODY = "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}]}";
    private static GatewayHarness gw;

    @BeforeAll
    static void start() {
        gw = GatewayHarness.start(2, Map.of("GEMGATE_ADMIN_TOKEN", "admin-token-for-edge-tests",
                "GEMGATE_SERVER_MAX_BODY_BYTES", "4096", "GEMGATE_SERVER_MAX_HEADER_BYTES", "1024",
                "GEMGATE_SERVER_MAX_INITIAL_LINE_BYTES", "512"));
    }

    @AfterAll
    static void stop() {
        gw.close();
    }

    @BeforeEach
    void resetFake() {
        gw.fake().reset();
    }

    // ------------------------------------------------------------------------------------- 1: chunked framing

    @ParameterizedTest
    @ValueSource(strings = {"zz", "-1", "0x28", "28 ", "FFFFFFFFFFFFFFFFFFFF", "28;" + "e", "bare-lf", "long-data",
            "28\t", "+28"})
    void aMalformedChunkIs400AndCloseWithNothingForwardedAndThePipelinedRequestUnanswered(String sizeLine)
            throws Exception {
        String first = BODY.substring(0, 16);
        String rest = BODY.substring(16);
        String head = "POST " + GENERATE + " HTTP/1.1\r\nHost: x\r\nx-goog-api-key: " + TOKEN
                + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        String body = switch (sizeLine) {
            case "bare-lf" -> "10\n" + first + "\n" + Integer.toHexString(rest.length()) + "\n" + rest + "\n0\n\n";
            case "long-data" -> "10\r\n" + first + "\r\n2\r\n" + rest + "\r\n0\r\n\r\n";
            case "28;e" -> "10\r\n" + first + "\r\n" + Integer.toHexString(rest.length()) + ";" + "e".repeat(20_000)
                    + "\r\n" + rest + "\r\n0\r\n\r\n";
            default -> "10\r\n" + first + "\r\n" + sizeLine + "\r\n" + rest + "\r\n0\r\n\r\n";
        };
        String pipelined = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
        String answer = exchange(head + body + pipelined);
        assertThat(answer).startsWith("HTTP/1.1 400 ").containsIgnoringCase("connection: close")
                .contains("malformed");
        assertThat(answer.split("HTTP/1.1 ", -1)).as("one answer only").hasSize(2);
        assertThat(gw.fake().requestCount()).isZero();
        assertAccessLine("POST " + GENERATE + " 400 ");
    }

    @Test
    void aWellFormedChunkedBodyStillGoesUpstreamWhole() throws Exception {
        String first = BODY.substring(0, 16);
        String rest = BODY.substring(16);
        String req = "POST " + GENERATE + " HTTP/1.1\r\nHost: x\r\nx-goog-api-key: " + TOKEN
                + "\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n10;ext=1\r\n" + first + "\r\n"
                + Integer.toHexString(rest.length()) + "\r\n" + rest + "\r\n0\r\n\r\n";
        assertThat(exchange(req)).startsWith("HTTP/1.1 200 ");
        assertThat(gw.fake().lastRequest().body()).isEqualTo(BODY);
    }

    @Test
    void aMalformedChatBodyIs400AndTheConnectionServesTheNextRequest() throws Exception {
        // Found by RequestDecoderFuzzTest: the body, a slice of the read buffer, was released twice (a refCnt()
        // guard that read the parent's count), which broke the connection's decoder and leaked.
        String bad = "{\"model\":\"gemini-2.5-flash\",,\"messages\":[]}";
        String answer = exchange("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN
                + "\r\nContent-Type: application/json\r\nContent-Length: " + bad.length() + "\r\n\r\n" + bad
                + "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 400 ").contains("invalid_request_error");
        assertThat(answer.substring(12)).contains("HTTP/1.1 200 ");
        assertThat(gw.fake().requestCount()).isZero();
    }

    // ------------------------------------------------------------------------------------- 2: dot segments

    @ParameterizedTest
    @ValueSource(strings = {"/v1beta/../X", "/v1beta/%2e%2e/X", "/v1beta/%2E./X", "/v1/models/../../X",
            "/upload/v1beta/../../X", "/v1beta/./models", "/v1beta/models/..", "/v1beta/models%2f..%2fX",
            "/v1beta/models/a%2Fb:generateContent", "/v1beta/models/a%5cb", "/v1beta/models\\..\\X",
            "/v1beta/models/m:generateContent;key=x", "/v1beta/models/a%00b", "/v1beta/models%",
            "/v1beta/%252e%252e/X", "/v1beta/models/a%252fb"})
    void pathsThatCouldLeaveTheAllowListAreRefusedBeforeAnyKeyIsUsed(String path) throws Exception {
        String answer = exchange("GET " + path + " HTTP/1.1\r\nHost: x\r\nx-goog-api-key: " + TOKEN
                + "\r\nConnection: close\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 400 ").containsIgnoringCase("connection: close");
        assertThat(gw.fake().requestCount()).isZero();
    }

    @Test
    void dotsInsideASegmentAreNotDotSegments() throws Exception {
        String answer = exchange("GET /v1beta/models/gemini-2.5-flash HTTP/1.1\r\nHost: x\r\nx-goog-api-key: "
                + TOKEN + "\r\nConnection: close\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 200 ");
        assertThat(gw.fake().lastRequest().path()).isEqualTo("/v1beta/models/gemini-2.5-flash");
    }

    // ----------------------------------------------------------------------------- 6: control characters

    @ParameterizedTest
    @ValueSource(strings = {"/v1beta/models\u0000", "/v1beta/models\u0001x", "/v1beta/mod\u007fels",
            "/v1beta/mod\u00e9ls", "/v1beta/models#frag"})
    void controlAndNonAsciiBytesInTheTargetAre400WithOneShortLogLine(String target) throws Exception {
        int before = CapturingAppender.lines().size();
        String answer = exchange("GET " + target + " HTTP/1.1\r\nHost: x\r\nx-goog-api-key: " + TOKEN
                + "\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 400 ");
        assertThat(gw.fake().requestCount()).isZero();
        List<String> logged = CapturingAppender.lines().subList(before, CapturingAppender.lines().size());
        assertThat(logged).noneMatch(l -> l.contains("Exception") || l.contains("\tat ") || l.contains("\u0000"));
    }

    // ------------------------------------------------------------------------------------- 9: conformance

    @ParameterizedTest
    @ValueSource(strings = {"", "Host: a\r\nHost: b\r\n", "Host: a b\r\n", "Host: x/y\r\n", "Host: u@h\r\n",
            "Host: h:8o\r\n", "Host: [::1\r\n"})
    void http11NeedsExactlyOneWellFormedHost(String hostLines) throws Exception {
        String answer = exchange("GET /v1beta/models HTTP/1.1\r\n" + hostLines + "x-goog-api-key: " + TOKEN
                + "\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 400 ").contains("Host");
        assertThat(gw.fake().requestCount()).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {"Host: 127.0.0.1:8080\r\n", "Host: [::1]:80\r\n", "Host: gemgate.example\r\n",
            "Host:\r\n"})
    void wellFormedHostsAreAccepted(String hostLine) throws Exception {
        assertThat(exchange("GET /health HTTP/1.1\r\n" + hostLine + "Connection: close\r\n\r\n"))
                .startsWith("HTTP/1.1 200 ");
    }

    @Test
    void http10WithoutHostIsAccepted() throws Exception {
        assertThat(exchange("GET /health HTTP/1.0\r\n\r\n")).startsWith("HTTP/1.0 200 ");
    }

    @Test
    void absoluteFormTargetsAreRoutedByTheirPath() throws Exception {
        String answer = exchange("GET http://127.0.0.1:" + gw.port() + "/v1beta/models?pageSize=5 HTTP/1.1\r\n"
                + "Host: 127.0.0.1\r\nx-goog-api-key: " + TOKEN + "\r\nConnection: close\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 200 ");
        RecordedRequest r = gw.fake().lastRequest();
        assertThat(r.uri()).isEqualTo("/v1beta/models?pageSize=5");
    }

    @ParameterizedTest
    @ValueSource(strings = {"HTTP/2.0", "HTTP/3.0", "HTTP/1.2"})
    void otherVersionsGet505InHttp11(String version) throws Exception {
        String answer = exchange("GET /v1beta/models " + version + "\r\nHost: x\r\nx-goog-api-key: " + TOKEN
                + "\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 505 ");
        assertThat(gw.fake().requestCount()).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {"get", "BREW", "Post", "PROPFIND"})
    void unknownAndLowercaseMethodsGet501BeforeAnyKeyIsUsed(String method) throws Exception {
        String answer = exchange(method + " " + GENERATE + " HTTP/1.1\r\nHost: x\r\nx-goog-api-key: " + TOKEN
                + "\r\nContent-Length: " + BODY.length() + "\r\n\r\n" + BODY);
        assertThat(answer).startsWith("HTTP/1.1 501 ");
        assertThat(gw.fake().requestCount()).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {"TRACE", "CONNECT"})
    void traceAndConnectAre405(String method) throws Exception {
        String answer = exchange(method + " /v1beta/models HTTP/1.1\r\nHost: x\r\nx-goog-api-key: " + TOKEN
                + "\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 405 ");
        assertThat(gw.fake().requestCount()).isZero();
    }

    // ------------------------------------------------------------------------------- 10: credentials

    @ParameterizedTest
    @ValueSource(strings = {"?%6bey=", "?alt=sse&%6Bey=", "?api_key=", "?access_token=", "?alt=sse;key=",
            "?oauth_token=", "?KEY=", "?k%65y="})
    void theClientsTokenNeverReachesTheUpstreamNorTheLogFromTheQuery(String param) throws Exception {
        int before = CapturingAppender.lines().size();
        int beforeAccess = CapturingAppender.accessLines().size();
        String answer = exchange("GET /v1beta/models" + param + TOKEN + " HTTP/1.1\r\nHost: x\r\n"
                + "x-goog-api-key: " + TOKEN + "\r\nConnection: close\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 200 ");
        RecordedRequest r = gw.fake().lastRequest();
        assertThat(r.uri()).doesNotContain(TOKEN).doesNotContain("gg-t");
        assertThat(r.headers().toString()).doesNotContain(TOKEN);
        assertThat(r.key()).isIn(GatewayHarness.key(0), GatewayHarness.key(1));
        assertThat(NativeProxyTest.waitUntil(() -> CapturingAppender.accessLines().stream().skip(beforeAccess)
                .anyMatch(l -> l.contains("GET /v1beta/models") && l.contains(" 200 ")))).isTrue();
        assertThat(CapturingAppender.lines().subList(before, CapturingAppender.lines().size()))
                .noneMatch(l -> l.contains(TOKEN));
    }

    @Test
    void anEncodedKeyParameterAuthenticatesAsTheKeyParameterDoes() throws Exception {
        String answer = exchange("GET /v1beta/models?%6bey=" + TOKEN + " HTTP/1.1\r\nHost: x\r\n"
                + "Connection: close\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 200 ");
        assertThat(gw.fake().lastRequest().uri()).isEqualTo("/v1beta/models");
    }

    @ParameterizedTest
    @ValueSource(strings = {"X-Api-Key", "api-key", "Authorization"})
    void credentialHeadersAreNotForwarded(String header) throws Exception {
        String value = header.equals("Authorization") ? "Bearer " + TOKEN : TOKEN;
        String answer = exchange("GET /v1beta/models HTTP/1.1\r\nHost: x\r\nx-goog-api-key: " + TOKEN + "\r\n"
                + header + ": " + value + "\r\nConnection: close\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 200 ");
        assertThat(gw.fake().lastRequest().headers().toString()).doesNotContain(TOKEN);
    }

    // ------------------------------------------------------------------------------- 5: access lines

    @Test
    void everyRefusedRequestLeavesAnAccessLineWithAMaskedTokenHint() throws Exception {
        String hint = "gg-t...5d1c";
        record Probe(String wire, String expected) {
        }
        List<Probe> probes = List.of(
                new Probe("GET /v1beta/models HTTP/1.1\r\nHost: x\r\nx-goog-api-key: wrong-token-1234567\r\n\r\n",
                        "GET /v1beta/models 401 model=- key=- tier=- attempts=0 "),
                new Probe("GET /admin/api/keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope-nope-nope\r\n\r\n",
                        "GET /admin/api/keys 401 "),
                new Probe("GET /nowhere HTTP/1.1\r\nHost: x\r\nx-goog-api-key: " + TOKEN + "\r\n\r\n",
                        "GET /nowhere 404 "),
                new Probe("POST " + GENERATE + " HTTP/1.1\r\nHost: x\r\nx-goog-api-key: " + TOKEN
                        + "\r\nContent-Length: 99999\r\n\r\n", "POST " + GENERATE + " 413 "),
                new Probe("GET /" + "a".repeat(600) + " HTTP/1.1\r\nHost: x\r\n\r\n", " 414 "),
                new Probe("GET /v1beta/models HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(2000) + "\r\n\r\n",
                        " 431 "),
                new Probe("GET /v1beta/models HTTP/1.1\r\nx-goog-api-key: " + TOKEN + "\r\n\r\n",
                        "GET /v1beta/models 400 "));
        for (Probe p : probes) {
            int before = CapturingAppender.accessLines().size();
            exchange(p.wire());
            // Lines are written by the request log's writer thread: an earlier test's may still arrive.
            assertThat(NativeProxyTest.waitUntil(() -> CapturingAppender.accessLines().stream().skip(before)
                    .anyMatch(l -> l.contains(p.expected())))).as(p.wire()).isTrue();
            assertThat(CapturingAppender.accessLines().stream().skip(before)).as(p.wire()).noneMatch(
                    l -> l.contains(TOKEN));
        }
        assertThat(CapturingAppender.accessLines()).anyMatch(l -> l.contains(" 401 ") && l.contains("token=wron...4567"));
        assertThat(CapturingAppender.accessLines()).anyMatch(l -> l.contains(" 404 ") && l.contains("token=" + hint));
        assertThat(gw.fake().requestCount()).isZero();
    }

    // ------------------------------------------------------------------------------- 7: slow heads

    @Test
    void aHeadTrickledInGets408WithinTheRequestReadTimeout() throws Exception {
        try (GatewayHarness slow = GatewayHarness.start(1, Map.of("GEMGATE_SERVER_REQUEST_READ_TIMEOUT", "400ms",
                "GEMGATE_SERVER_IDLE_TIMEOUT", "20s"));
             Socket s = new Socket("127.0.0.1", slow.port())) {
            s.setSoTimeout(10_000);
            long started = System.nanoTime();
            s.getOutputStream().write("GET /v1beta/models HTTP/1.1\r\nHo".getBytes(StandardCharsets.US_ASCII));
            // One more byte every 100 ms: each is before the read timeout, none completes the head.
            InputStream in = s.getInputStream();
            String answer = null;
            for (int i = 0; i < 100 && answer == null; i++) {
                try {
                    s.getOutputStream().write('s');
                } catch (java.io.IOException closed) {
                    break;
                }
                s.setSoTimeout(100);
                try {
                    answer = readAll(in, 10_000);
                } catch (SocketTimeoutException notYet) {
                    // keep trickling
                }
            }
            if (answer == null) {
                s.setSoTimeout(10_000);
                answer = readAll(in, 10_000);
            }
            assertThat(answer).startsWith("HTTP/1.1 408 ").containsIgnoringCase("connection: close");
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started)).isLessThan(5_000);
            assertThat(slow.fake().requestCount()).isZero();
        }
    }

    // ------------------------------------------------------------------------------------------- helpers

    private static void assertAccessLine(String expected) {
        assertThat(NativeProxyTest.waitUntil(() -> CapturingAppender.accessLines().stream()
                .anyMatch(l -> l.contains(expected)))).as(expected).isTrue();
    }

    /** Writes {@code wire} on a new connection and reads until the gateway closes it (or 10 s pass). */
    static String exchange(String wire) throws Exception {
        try (Socket s = new Socket("127.0.0.1", gw.port())) {
            s.setSoTimeout(10_000);
            try {
                s.getOutputStream().write(wire.getBytes(StandardCharsets.ISO_8859_1));
            } catch (java.io.IOException refusedEarly) {
                // the gateway may answer and close before it read all of a large request
            }
            return readAll(s.getInputStream(), 10_000);
        }
    }

    private static String readAll(InputStream in, int max) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] b = new byte[8192];
        int n;
        try {
            while ((n = in.read(b)) >= 0) {
                out.write(b, 0, n);
            }
        } catch (java.net.SocketException reset) {
            // a reset after the answer: what was read stands
        }
        if (out.size() == 0 && max < 0) {
            return "";
        }
        return out.toString(StandardCharsets.ISO_8859_1);
    }
}
