package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * CORS on the wire: preflights answered 204 without a token, {@code Access-Control-Allow-Origin} on the API's
 * answers (the pass-through's own head, the OpenAI routes, the gateway's errors), a list of origins honoured, and
 * none of it on the admin API. {@link CorsBrowserTest} shows the same from a page in Chromium.
 */
@ExtendWith(LeakDetection.class)
class CorsTest {
    private static final String ORIGIN = "http://chat.example.test:3000";
    private static final String BODY = "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}]}";
    private GatewayHarness gw;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"/v1beta/models/gemini-2.5-flash:generateContent", "/v1/chat/completions",
            "/openai/v1/chat/completions", "/v1/models", "/v1beta/models", "/upload/v1beta/files", "/v1/files",
            "/v1/files/file-abc", "/v1/responses", "/v1/responses/resp_abc", "/v1/images/generations",
            "/v1/messages", "/v1/messages/count_tokens", "/anthropic/v1/messages"})
    void aPreflightToAnApiRouteIs204WithTheMethodsAndHeadersAskedForAndNoToken(String path) throws Exception {
        gw = GatewayHarness.start(1, Map.of("GEMGATE_ADMIN_TOKEN", "admin-token-cors-0123"));
        String answer = send("OPTIONS " + path + " HTTP/1.1\r\nHost: x\r\nOrigin: " + ORIGIN
                + "\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization,"
                + "content-type,x-goog-api-key,x-stainless-os\r\nConnection: close\r\n\r\n");
        String head = answer.toLowerCase(Locale.ROOT);
        assertThat(answer).startsWith("HTTP/1.1 204 ");
        assertThat(head).contains("access-control-allow-origin: *\r\n",
                "access-control-allow-methods: get, post, put, patch, delete, options\r\n",
                "access-control-allow-headers: authorization,content-type,x-goog-api-key,x-stainless-os\r\n",
                "access-control-max-age: 86400\r\n").doesNotContain("content-length");
        assertThat(gw.fake().requestCount()).isZero();
    }

    @Test
    void theNativePassThroughAnswerCarriesTheOriginAndNotTheUpstreamsOwn() throws Exception {
        gw = GatewayHarness.start(1);
        String answer = send("POST /v1beta/models/gemini-2.5-flash:generateContent HTTP/1.1\r\nHost: x\r\n"
                + "Origin: " + ORIGIN + "\r\nx-goog-api-key: " + TOKEN + "\r\nContent-Length: " + BODY.length()
                + "\r\nConnection: close\r\n\r\n" + BODY).toLowerCase(Locale.ROOT);
        assertThat(answer).startsWith("http/1.1 200 ").contains("access-control-allow-origin: *\r\n",
                "access-control-expose-headers: *\r\n");
        assertThat(answer.split("access-control-allow-origin", -1)).hasSize(2);
    }

    @Test
    void openAiAnswersAndGatewayErrorsCarryItToo() throws Exception {
        gw = GatewayHarness.start(1);
        String chat = "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        String ok = send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nOrigin: " + ORIGIN
                + "\r\nAuthorization: Bearer " + TOKEN + "\r\nContent-Type: application/json\r\nContent-Length: "
                + chat.length() + "\r\nConnection: close\r\n\r\n" + chat).toLowerCase(Locale.ROOT);
        assertThat(ok).startsWith("http/1.1 200 ").contains("access-control-allow-origin: *\r\n");
        String denied = send("GET /v1beta/models HTTP/1.1\r\nHost: x\r\nOrigin: " + ORIGIN
                + "\r\nx-goog-api-key: wrong\r\n\r\n").toLowerCase(Locale.ROOT);
        assertThat(denied).startsWith("http/1.1 401 ").contains("access-control-allow-origin: *\r\n");
    }

    @Test
    void withoutAnOriginNoCorsFieldIsSent() throws Exception {
        gw = GatewayHarness.start(1);
        String answer = send("GET /v1beta/models HTTP/1.1\r\nHost: x\r\nx-goog-api-key: " + TOKEN
                + "\r\nConnection: close\r\n\r\n").toLowerCase(Locale.ROOT);
        assertThat(answer).startsWith("http/1.1 200 ").doesNotContain("access-control");
    }

    @Test
    void theAdminApiNeverAnswersCrossOrigin() throws Exception {
        gw = GatewayHarness.start(1, Map.of("GEMGATE_ADMIN_TOKEN", "admin-token-cors-0123"));
        String preflight = send("OPTIONS /admin/api/keys HTTP/1.1\r\nHost: x\r\nOrigin: " + ORIGIN
                + "\r\nAccess-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: authorization\r\n\r\n");
        assertThat(preflight).doesNotStartWith("HTTP/1.1 2");
        assertThat(preflight.toLowerCase(Locale.ROOT)).doesNotContain("access-control-allow");
        String call = send("GET /admin/api/keys HTTP/1.1\r\nHost: x\r\nOrigin: " + ORIGIN
                + "\r\nAuthorization: Bearer admin-token-cors-0123\r\nConnection: close\r\n\r\n");
        assertThat(call).startsWith("HTTP/1.1 200 ");
        assertThat(call.toLowerCase(Locale.ROOT)).doesNotContain("access-control-allow");
    }

    @Test
    void aListOfOriginsAllowsThoseOnlyAndVariesByOrigin() throws Exception {
        gw = GatewayHarness.start(1, Map.of("GEMGATE_SERVER_CORS_ALLOW_ORIGINS",
                "https://app.example.test, " + ORIGIN));
        String allowed = send("OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: x\r\nOrigin: " + ORIGIN
                + "\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n").toLowerCase(Locale.ROOT);
        assertThat(allowed).startsWith("http/1.1 204 ").contains("access-control-allow-origin: " + ORIGIN + "\r\n",
                "vary: origin");
        String other = send("OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example.test"
                + "\r\nAccess-Control-Request-Method: POST\r\n\r\n").toLowerCase(Locale.ROOT);
        assertThat(other).startsWith("http/1.1 403 ").doesNotContain("access-control-allow-origin");
        String pass = send("GET /v1beta/models HTTP/1.1\r\nHost: x\r\nOrigin: " + ORIGIN + "\r\nx-goog-api-key: "
                + TOKEN + "\r\nConnection: close\r\n\r\n").toLowerCase(Locale.ROOT);
        assertThat(pass).contains("access-control-allow-origin: " + ORIGIN + "\r\n", "vary: origin\r\n");
    }

    @Test
    void corsCanBeTurnedOff() throws Exception {
        gw = GatewayHarness.start(1, Map.of("GEMGATE_SERVER_CORS_ALLOW_ORIGINS", "none"));
        String preflight = send("OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: x\r\nOrigin: " + ORIGIN
                + "\r\nAccess-Control-Request-Method: POST\r\n\r\n").toLowerCase(Locale.ROOT);
        assertThat(preflight).startsWith("http/1.1 403 ").doesNotContain("access-control-allow-origin");
    }

    private String send(String wire) throws Exception {
        try (Socket s = new Socket("127.0.0.1", gw.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(wire.getBytes(StandardCharsets.ISO_8859_1));
            InputStream in = s.getInputStream();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] b = new byte[8192];
            try {
                for (int n; (n = in.read(b)) >= 0; ) {
                    out.write(b, 0, n);
                }
            } catch (java.net.SocketException reset) {
                // after the answer
            }
            return out.toString(StandardCharsets.ISO_8859_1);
        }
    }
}
