package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.LeakDetection;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link BodyHandler}: the body read whole (one piece or several) and passed on with the request; 413 for a body over
 * the limit (declared or counted), 400 for a chunked body that cannot be parsed, 100-continue, 408 for a slow body.
 */
@ExtendWith(LeakDetection.class)
class BodyHandlerTest {
    private static EdgeFixture fx;

    @BeforeAll
    static void start() {
        fx = new EdgeFixture(1, Map.of("GEMGATE_SERVER_MAX_BODY_BYTES", "64",
                "GEMGATE_SERVER_REQUEST_READ_TIMEOUT", "300ms", "GEMGATE_SERVER_IDLE_TIMEOUT", "20s"));
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    private static EdgeFixture.Connection open() {
        return fx.open(PipelineNames.FRAMING, PipelineNames.BODY);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "Content-Length: 11\\r\\n\\r\\nhello world                                        | hello world",
        "Transfer-Encoding: chunked\\r\\n\\r\\n5\\r\\nhello\\r\\n6\\r\\n world\\r\\n0\\r\\n\\r\\n | hello world",
        "Content-Length: 0\\r\\n\\r\\n                                                   | ''",
        "\\r\\n                                                                              | ''",
    })
    void passesTheRequestWithItsWholeBody(String rest, String body) {
        EdgeFixture.Connection c = open();
        c.send("POST /v1beta/models/m:generateContent HTTP/1.1\r\nHost: h\r\n" + rest.replace("\\r\\n", "\r\n"));
        assertThat(c.text()).isEmpty();
        assertThat(c.passed).hasSize(1).first().isSameAs(c.request);
        assertThat(c.request.body.toString(StandardCharsets.UTF_8)).isEqualTo(body);
        assertThat(c.request.reading).isFalse();
        assertThat(c.isOpen()).isTrue();
    }

    @Test
    void aBodyInSeveralReadsIsGatheredIntoOne() {
        EdgeFixture.Connection c = open();
        c.send("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
        assertThat(c.passed).isEmpty();
        assertThat(c.request.reading).isTrue();
        c.send("3\r\ndef\r\n");
        c.send("0\r\n\r\n");
        assertThat(c.passed).hasSize(1);
        assertThat(c.request.body.toString(StandardCharsets.UTF_8)).isEqualTo("abcdef");
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "Content-Length: 65\\r\\n\\r\\n                                            | 413 | request body of 65 bytes exceeds the limit of 64 bytes",
        "Transfer-Encoding: chunked\\r\\n\\r\\n40\\r\\nBIG\\r\\n1\\r\\nx\\r\\n0\\r\\n\\r\\n | 413 | request body exceeds the limit of 64 bytes",
        "Transfer-Encoding: chunked\\r\\n\\r\\nzz\\r\\nabc\\r\\n0\\r\\n\\r\\n         | 400 | malformed chunked body",
    })
    void refusesAndCloses(String rest, int status, String message) {
        EdgeFixture.Connection c = open();
        c.send("POST /x HTTP/1.1\r\nHost: h\r\n" + rest.replace("\\r\\n", "\r\n").replace("BIG", "b".repeat(64)));
        FullHttpResponse r = c.answer();
        assertThat(r.status().code()).isEqualTo(status);
        assertThat(r.content().toString(StandardCharsets.UTF_8)).contains(message);
        assertThat(r.headers().get(HttpHeaderNames.CONNECTION)).isEqualTo("close");
        assertThat(c.isOpen()).isFalse();
        assertThat(c.passed).isEmpty();
    }

    @Test
    void expectContinueGets100BeforeTheBody() {
        EdgeFixture.Connection c = open();
        c.send("POST /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
        assertThat(c.text()).isEqualTo("HTTP/1.1 100 Continue\r\n\r\n");
        c.send("{}");
        assertThat(c.passed).hasSize(1);
        assertThat(c.request.body.toString(StandardCharsets.UTF_8)).isEqualTo("{}");
    }

    @Test
    void aBodyNotCompleteWithinTheRequestReadTimeoutGets408() {
        EdgeFixture.Connection c = open();
        c.send("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc");
        c.awaitTimers(() -> !c.isOpen(), Duration.ofSeconds(10));
        FullHttpResponse r = c.answer();
        assertThat(r.status().code()).isEqualTo(408);
        assertThat(r.content().toString(StandardCharsets.UTF_8)).contains("request not received within");
        assertThat(c.passed).isEmpty();
    }

    @Test
    void aConnectionClosedMidBodyReleasesWhatWasRead() {
        EdgeFixture.Connection c = open();
        c.send("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n");
        c.ch.close();
        assertThat(c.request.reading).isFalse();
        assertThat(c.passed).isEmpty(); // LeakDetection fails the class if the pieces were not released
    }
}
