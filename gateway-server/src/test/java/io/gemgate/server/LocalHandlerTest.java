package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.LeakDetection;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link LocalHandler}: the gateway's own endpoints, answered without a token; everything else passes on. */
@ExtendWith(LeakDetection.class)
class LocalHandlerTest {
    private static EdgeFixture withKey;
    private static EdgeFixture noKey;

    @BeforeAll
    static void start() {
        withKey = new EdgeFixture(1, Map.of(), () -> "# metrics\ngemgate_up 1\n");
        noKey = new EdgeFixture(0, Map.of());
    }

    @AfterAll
    static void stop() {
        withKey.close();
        noKey.close();
    }

    @ParameterizedTest(name = "{0} {1} -> {2}")
    @CsvSource(delimiter = '|', value = {
        // method | target | status | body contains | Content-Type | stays open
        "GET  | /health          | 200 | {\"status\":\"ok\"}    | application/json; charset=UTF-8          | true",
        "GET  | /healthz         | 200 | {\"status\":\"ok\"}    | application/json; charset=UTF-8          | true",
        "GET  | /ready           | 200 | {\"status\":\"ready\"} | application/json; charset=UTF-8          | true",
        "GET  | /metrics         | 200 | gemgate_up 1           | text/plain; version=0.0.4; charset=utf-8 | true",
        "GET  | /admin           | 301 |                        |                                          | true",
        "GET  | /admin/          | 200 | <!doctype html>        | text/html; charset=utf-8                 | true",
        "POST | /admin/          | 405 | read with GET          | application/json; charset=UTF-8          | false",
        "GET  | /admin/nope.js   | 404 | no admin page file     | application/json; charset=UTF-8          | false",
    })
    void answersItsOwnEndpoints(String method, String target, int status, String body, String type, boolean open) {
        EdgeFixture.Connection c = withKey.open(PipelineNames.FRAMING, PipelineNames.LOCAL);
        c.send(method + " " + target + " HTTP/1.1\r\nHost: h\r\n\r\n");
        FullHttpResponse r = c.answer();
        assertThat(r.status().code()).isEqualTo(status);
        if (body != null) {
            assertThat(r.content().toString(StandardCharsets.UTF_8)).containsIgnoringCase(body);
        }
        if (type != null) {
            assertThat(r.headers().get(HttpHeaderNames.CONTENT_TYPE)).isEqualToIgnoringCase(type);
        }
        assertThat(c.isOpen()).isEqualTo(open);
        assertThat(c.passed).as("answered here: the head does not pass on").noneMatch(m -> m instanceof HttpRequest);
    }

    @Test
    void theAdminPageCarriesItsStrictHeadersAndTheRedirectItsLocation() {
        EdgeFixture.Connection c = withKey.open(PipelineNames.FRAMING, PipelineNames.LOCAL);
        c.send("GET /admin HTTP/1.1\r\nHost: h\r\n\r\nGET /admin/ HTTP/1.1\r\nHost: h\r\n\r\n");
        assertThat(c.answers()).hasSize(2);
        assertThat(c.answers().get(0).headers().get(HttpHeaderNames.LOCATION)).isEqualTo("/admin/");
        FullHttpResponse page = c.answers().get(1);
        assertThat(page.headers().get("x-frame-options")).isEqualTo("DENY");
        assertThat(page.headers().get("content-security-policy")).contains("frame-ancestors 'none'");
    }

    @Test
    void notReadyWithoutAUsableKey() {
        EdgeFixture.Connection c = noKey.open(PipelineNames.FRAMING, PipelineNames.LOCAL);
        c.send("GET /ready HTTP/1.1\r\nHost: h\r\n\r\n");
        assertThat(c.answer().status().code()).isEqualTo(503);
        assertThat(c.answer().content().toString(StandardCharsets.UTF_8)).isEqualTo("{\"status\":\"not ready\"}");
    }

    @Test
    void metricsOffPassesOnLikeAnyOtherPath() {
        EdgeFixture.Connection c = noKey.open(PipelineNames.FRAMING, PipelineNames.LOCAL);
        c.send("GET /metrics HTTP/1.1\r\nHost: h\r\n\r\nGET /v1beta/models HTTP/1.1\r\nHost: h\r\n\r\n");
        assertThat(c.text()).isEmpty();
        assertThat(c.passed).hasSize(4);
    }

    @Test
    void aHealthCheckWithABodyIsAnsweredAndClosedAndHttp10KeepsAliveWhenAsked() {
        EdgeFixture.Connection withBody = withKey.open(PipelineNames.FRAMING, PipelineNames.LOCAL);
        withBody.send("POST /health HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}");
        assertThat(withBody.answer().headers().get(HttpHeaderNames.CONNECTION)).isEqualTo("close");
        assertThat(withBody.isOpen()).isFalse();

        EdgeFixture.Connection http10 = withKey.open(PipelineNames.FRAMING, PipelineNames.LOCAL);
        http10.send("GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n");
        assertThat(http10.answers()).hasSize(2);
        assertThat(http10.answers().get(0).headers().get(HttpHeaderNames.CONNECTION)).isEqualTo("keep-alive");
        assertThat(http10.answers().get(1).headers().get(HttpHeaderNames.CONNECTION)).isEqualTo("close");
        assertThat(http10.isOpen()).isFalse();
        assertThat(http10.passed).noneMatch(m -> m instanceof HttpRequest);
    }
}
