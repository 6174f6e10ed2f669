package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.LeakDetection;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link CorsHandler}: preflights and plain OPTIONS on API routes, and the CORS fields of the answers. */
@ExtendWith(LeakDetection.class)
class CorsHandlerTest {
    private static EdgeFixture fx;

    @BeforeAll
    static void start() {
        fx = new EdgeFixture(1, Map.of("GEMGATE_SERVER_CORS_ALLOW_ORIGINS", "https://app.example"));
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        // request fields | status | Access-Control-Allow-Origin | Allow | stays open
        "Origin: https://app.example\\r\\nAccess-Control-Request-Method: POST\\r\\nAccess-Control-Request-Headers: x-goog-api-key, content-type | 204 | https://app.example | | true",
        "Origin: https://evil.example\\r\\nAccess-Control-Request-Method: POST                   | 403 | | | false",
        "X-Nothing: 1                                                                             | 204 | | GET, POST, PUT, PATCH, DELETE, OPTIONS | true",
    })
    void answersOptionsOnAnApiRoute(String fields, int status, String allowOrigin, String allow, boolean open) {
        EdgeFixture.Connection c = fx.open(PipelineNames.FRAMING, PipelineNames.CORS);
        c.send("OPTIONS /v1beta/models/gemini-2.5-flash:generateContent HTTP/1.1\r\nHost: h\r\n"
                + fields.replace("\\r\\n", "\r\n") + "\r\n\r\n");
        FullHttpResponse r = c.answer();
        assertThat(r.status().code()).isEqualTo(status);
        assertThat(r.headers().get(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN)).isEqualTo(allowOrigin);
        assertThat(r.headers().get(HttpHeaderNames.ALLOW)).isEqualTo(allow);
        assertThat(c.isOpen()).isEqualTo(open);
        assertThat(c.passed).as("answered here: the head does not pass on").noneMatch(m -> m instanceof HttpRequest);
        if (status == 204 && allowOrigin != null) {
            assertThat(r.headers().get(HttpHeaderNames.ACCESS_CONTROL_ALLOW_HEADERS))
                    .isEqualTo("x-goog-api-key, content-type");
            assertThat(String.join(", ", r.headers().getAll(HttpHeaderNames.VARY))).containsIgnoringCase("origin");
        }
    }

    @Test
    void setsTheFieldsOfTheAnswersForAnAllowedOriginAndForgetsThemOnTheNextRequest() {
        EdgeFixture.Connection c = fx.open(PipelineNames.FRAMING, PipelineNames.CORS);
        c.send("GET /v1beta/models HTTP/1.1\r\nHost: h\r\nOrigin: https://app.example\r\n\r\n");
        assertThat(c.passed).hasSize(2);
        assertThat(c.writer.corsFields()).isNotNull();
        c.writer.answer(Responses.json(c.ch.alloc(), io.netty.handler.codec.http.HttpVersion.HTTP_1_1, 200, "{}"));
        c.send("GET /v1beta/models HTTP/1.1\r\nHost: h\r\n\r\n");
        assertThat(c.writer.corsFields()).isNull();
        c.writer.answer(Responses.json(c.ch.alloc(), io.netty.handler.codec.http.HttpVersion.HTTP_1_1, 200, "{}"));
        assertThat(c.answers()).hasSize(2);
        assertThat(c.answers().get(0).headers().get(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN))
                .isEqualTo("https://app.example");
        assertThat(c.answers().get(0).headers().get(HttpHeaderNames.VARY)).isEqualToIgnoringCase("Origin");
        assertThat(c.answers().get(1).headers().contains(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN)).isFalse();
    }

    @Test
    void optionsOffTheApiRoutesPassesOn() {
        EdgeFixture.Connection c = fx.open(PipelineNames.FRAMING, PipelineNames.CORS);
        c.send("OPTIONS /admin/api/keys HTTP/1.1\r\nHost: h\r\nOrigin: https://app.example\r\n"
                + "Access-Control-Request-Method: GET\r\n\r\n");
        assertThat(c.text()).isEmpty();
        assertThat(c.passed).hasSize(2);
        assertThat(c.writer.corsFields()).as("the admin API never answers cross-origin").isNull();
    }
}
