package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.LeakDetection;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link RoutingHandler}: which route a request gets, and the 400/404/405 for none, in the right error shape. */
@ExtendWith(LeakDetection.class)
class RoutingHandlerTest {
    private static EdgeFixture fx;

    @BeforeAll
    static void start() {
        fx = new EdgeFixture(1, Map.of());
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @ParameterizedTest(name = "{0} {1} -> {2}")
    @CsvSource(delimiter = '|', value = {
        "POST    | /v1beta/models/gemini-2.5-flash:generateContent | NATIVE",
        "GET     | /v1beta/models                                  | NATIVE",
        "POST    | /v1/chat/completions                            | OPENAI_CHAT",
        "POST    | /openai/v1/embeddings                           | OPENAI_EMBEDDINGS",
        "GET     | /openai/v1/models                               | OPENAI_MODELS",
        "GET     | /admin/api/keys                                 | ADMIN",
    })
    void notesTheRoute(String method, String path, Route route) {
        EdgeFixture.Connection c = fx.open(PipelineNames.FRAMING, PipelineNames.ROUTING);
        c.send(method + " " + path + " HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
        assertThat(c.text()).isEmpty();
        assertThat(c.passed).hasSize(2);
        assertThat(c.request.route).isEqualTo(route);
        assertThat(c.request.openAiShape).isEqualTo(route.openAi);
    }

    @ParameterizedTest(name = "{0} {1} -> {2}")
    @CsvSource(delimiter = '|', value = {
        // method | target | status | error shape: OpenAI's (else Google's)
        "TRACE   | /v1beta/models                       | 405 | false",
        "CONNECT | h:443                                | 400 | false",
        "GET     | *                                    | 400 | false",
        "OPTIONS | *                                    | 405 | false",
        "GET     | /nowhere                             | 404 | false",
        "GET     | /v1/chat/nowhere                     | 404 | true",
        "GET     | /v1/chat/completions                 | 405 | true",
        "OPTIONS | /v1beta/models/m:generateContent     | 405 | false",
    })
    void refusesWhatNoRouteServes(String method, String target, int status, boolean openAi) {
        EdgeFixture.Connection c = fx.open(PipelineNames.FRAMING, PipelineNames.ROUTING);
        c.send(method + " " + target + " HTTP/1.1\r\nHost: h\r\n\r\n");
        FullHttpResponse r = c.answer();
        assertThat(r.status().code()).isEqualTo(status);
        String body = r.content().toString(StandardCharsets.UTF_8);
        assertThat(body).contains(openAi ? "\"type\":" : "\"status\":");
        assertThat(r.headers().get(HttpHeaderNames.CONNECTION)).isEqualTo("close");
        assertThat(c.isOpen()).isFalse();
        assertThat(c.passed).isEmpty();
    }
}
