package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.LeakDetection;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link FramingHandler}: what it refuses (status, message, connection closed) and what it lets through. */
@ExtendWith(LeakDetection.class)
class FramingHandlerTest {
    private static EdgeFixture fx;

    @BeforeAll
    static void start() {
        fx = new EdgeFixture(1, Map.of("GEMGATE_SERVER_MAX_HEADER_BYTES", "1024",
                "GEMGATE_SERVER_MAX_INITIAL_LINE_BYTES", "512", "GEMGATE_SERVER_REQUEST_READ_TIMEOUT", "300ms",
                "GEMGATE_SERVER_IDLE_TIMEOUT", "20s"));
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "GET / HTTP/2.0\\r\\nHost: h\\r\\n\\r\\n                            | 505 | HTTP version not supported",
        "get / HTTP/1.1\\r\\nHost: h\\r\\n\\r\\n                            | 501 | method get is not implemented",
        "BREW / HTTP/1.1\\r\\nHost: h\\r\\n\\r\\n                           | 501 | method BREW is not implemented",
        "POST / HTTP/1.1\\r\\nHost: h\\r\\nContent-Length: 3\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n | 400 | both Content-Length and Transfer-Encoding",
        "GET / HTTP/1.1\\r\\n\\r\\n                                         | 400 | missing Host header",
        "GET / HTTP/1.1\\r\\nHost: a\\r\\nHost: b\\r\\n\\r\\n                | 400 | more than one Host header",
        "GET / HTTP/1.1\\r\\nHost: a b\\r\\n\\r\\n                          | 400 | malformed Host header",
        "GET /a/../b HTTP/1.1\\r\\nHost: h\\r\\n\\r\\n                       | 400 | invalid request target",
        "GET /a%2fb HTTP/1.1\\r\\nHost: h\\r\\n\\r\\n                        | 400 | invalid request target",
        "GET /x HTTP/1.1\\r\\nHost: h\\r\\nX-Big: LONGHEADER\\r\\n\\r\\n      | 431 | request header fields too large",
        "GET /LONGLINE HTTP/1.1\\r\\nHost: h\\r\\n\\r\\n                     | 414 | request line too long",
    })
    void refusesAndCloses(String wire, int status, String message) {
        EdgeFixture.Connection c = fx.open(PipelineNames.FRAMING);
        c.send(wire.replace("\\r\\n", "\r\n").replace("LONGHEADER", "v".repeat(2000))
                .replace("LONGLINE", "p".repeat(600)));
        FullHttpResponse r = c.answer();
        assertThat(r.status().code()).isEqualTo(status);
        assertThat(r.content().toString(StandardCharsets.UTF_8)).contains(message).contains("\"status\":");
        assertThat(r.headers().get(HttpHeaderNames.CONNECTION)).isEqualTo("close");
        assertThat(c.isOpen()).as("closed after the refusal").isFalse();
        assertThat(c.passed).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "GET /v1beta/models?key=tok&pageSize=2 HTTP/1.1\\r\\nHost: h\\r\\n\\r\\n            | /v1beta/models | key=tok&pageSize=2 | tok",
        "GET /v1beta/models HTTP/1.1\\r\\nHost: h\\r\\nx-goog-api-key: abc\\r\\n\\r\\n       | /v1beta/models |                   | abc",
        "POST /v1/chat/completions HTTP/1.1\\r\\nHost: h\\r\\nAuthorization: Bearer sk-1\\r\\nContent-Length: 2\\r\\n\\r\\n{} | /v1/chat/completions | | sk-1",
        "GET /health HTTP/1.0\\r\\n\\r\\n                                                   | /health        |                   |",
    })
    void passesAWellFramedRequestWithItsTargetAndToken(String wire, String path, String query, String token) {
        EdgeFixture.Connection c = fx.open(PipelineNames.FRAMING);
        c.send(wire.replace("\\r\\n", "\r\n"));
        assertThat(c.text()).isEmpty();
        assertThat(c.isOpen()).isTrue();
        assertThat(c.passed).hasSize(2);
        assertThat(c.passed.get(0)).isInstanceOf(HttpRequest.class);
        assertThat(c.passed.get(1)).isInstanceOf(LastHttpContent.class);
        assertThat(c.request.path).isEqualTo(path);
        assertThat(c.request.query).isEqualTo(query == null ? "" : query);
        assertThat(c.request.clientToken).isEqualTo(token);
    }

    @Test
    void aHeadTrickledInPastTheRequestReadTimeoutGets408() {
        EdgeFixture.Connection c = fx.open(PipelineNames.FRAMING);
        c.send("GET /v1beta/models HTTP/1.1\r\nHo");
        c.awaitTimers(() -> !c.isOpen(), Duration.ofSeconds(10));
        FullHttpResponse r = c.answer();
        assertThat(r.status().code()).isEqualTo(408);
        assertThat(r.content().toString(StandardCharsets.UTF_8)).contains("request head not received within");
        assertThat(c.passed).isEmpty();
    }
}
