package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.tokens.TokenLimits;
import io.gemgate.testing.LeakDetection;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link ExchangeHandler} at the end of the whole pipeline: a complete request goes to its route's exchange, which
 * answers through the writer (here without a key, so without an upstream call), or is refused first (a model not
 * allowed, a user token's limit, a bad OpenAI request); the connection stays open and pipelined requests are answered
 * in order.
 */
@ExtendWith(LeakDetection.class)
class ExchangeHandlerTest {
    private static final String[] ALL = {PipelineNames.FRAMING, PipelineNames.CORS, PipelineNames.LOCAL,
        PipelineNames.ROUTING, PipelineNames.AUTH, PipelineNames.BODY, PipelineNames.EXCHANGE};
    private static final String GENERATE = "POST /v1beta/models/gemini-2.5-flash:generateContent HTTP/1.1\r\n"
            + "Host: h\r\nx-goog-api-key: " + EdgeFixture.TOKEN + "\r\nContent-Length: 2\r\n\r\n{}";
    private static EdgeFixture fx;

    @BeforeAll
    static void start() {
        fx = new EdgeFixture(0, Map.of());
        fx.gw.settings(fx.gw.settings().toBuilder().allowedModels(Set.of("gemini-2.5-flash")).build());
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @ParameterizedTest(name = "{0} {1} -> {2}")
    @CsvSource(delimiter = '|', value = {
        // method | target | body | status | in the body | OpenAI shape
        "POST | /v1beta/models/gemini-2.5-flash:generateContent | {}                                     | 503 | \"status\":\"UNAVAILABLE\" | false",
        "POST | /v1beta/models/gemini-2.5-pro:generateContent   | {}                                     | 403 | model gemini-2.5-pro is not allowed | false",
        "POST | /v1/chat/completions                            | {\"model\":\"gemini-2.5-pro\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]} | 403 | not allowed | true",
        "POST | /v1/chat/completions                            | {\"messages\":                           | 400 | invalid_request_error | true",
    })
    void answersThroughTheWriterAndKeepsTheConnection(String method, String target, String body, int status,
                                                    String says, boolean openAi) {
        EdgeFixture.Connection c = fx.open(ALL);
        c.send(method + " " + target + " HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer " + EdgeFixture.TOKEN
                + "\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
        FullHttpResponse r = c.answer();
        assertThat(r.status().code()).isEqualTo(status);
        assertThat(r.content().toString(StandardCharsets.UTF_8)).contains(says)
                .contains(openAi ? "\"type\":" : "\"status\":");
        assertThat(r.headers().get(HttpHeaderNames.CONNECTION)).isNull();
        assertThat(c.isOpen()).isTrue();
        assertThat(fx.gw.inFlight().sum()).isZero();
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrderAndCloseWhenAsked() {
        EdgeFixture.Connection c = fx.open(ALL);
        c.send(GENERATE + "GET /health HTTP/1.1\r\nHost: h\r\n\r\n"
                + GENERATE.replace("Host: h\r\n", "Host: h\r\nConnection: close\r\n"));
        assertThat(c.answers()).extracting(r -> r.status().code()).containsExactly(503, 200, 503);
        assertThat(c.answers().get(2).headers().get(HttpHeaderNames.CONNECTION)).isEqualTo("close");
        assertThat(c.isOpen()).isFalse();
        assertThat(c.passed).as("nothing passes the exchange handler").isEmpty();
    }

    @Test
    void aUserTokensLimitRefusesAfterTheBodyAndKeepsTheConnection() {
        String secret = fx.gw.tokens().create("bob", TokenLimits.builder().requestsPerMinute(1).build()).secret();
        EdgeFixture.Connection c = fx.open(ALL);
        String asBob = GENERATE.replace(EdgeFixture.TOKEN, secret);
        c.send(asBob + asBob);
        assertThat(c.answers()).extracting(r -> r.status().code()).containsExactly(503, 429);
        assertThat(c.answers().get(1).headers().get(HttpHeaderNames.RETRY_AFTER)).isNotNull();
        assertThat(c.isOpen()).isTrue();
    }

    @Test
    void theHttp10KeepAliveAnswerOfAnExchangeSaysSo() {
        EdgeFixture.Connection c = fx.open(ALL);
        c.send(GENERATE.replace("HTTP/1.1", "HTTP/1.0").replace("Host: h\r\n", "Connection: keep-alive\r\n"));
        assertThat(c.answer().status().code()).isEqualTo(503);
        assertThat(c.answer().headers().get(HttpHeaderNames.CONNECTION)).isEqualTo("keep-alive");
        assertThat(c.isOpen()).isTrue();
    }
}
