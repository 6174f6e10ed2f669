package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.LeakDetection;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
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
 * {@link ClientWriter}: keep-alive or close per answer, HEAD, refusals with a close, raw bytes past the encoder,
 * pipelined requests held in order until the answer under way is done, the idle timeout and the shutdown event.
 * Requests reach the writer through the real codec; the answers are what the socket would carry.
 */
@ExtendWith(LeakDetection.class)
class ClientWriterTest {
    private static EdgeFixture fx;

    @BeforeAll
    static void start() {
        fx = new EdgeFixture(1, Map.of("GEMGATE_SERVER_IDLE_TIMEOUT", "300ms",
                "GEMGATE_SERVER_REQUEST_READ_TIMEOUT", "20s"));
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    /** A request as the framing handler would pass it, with the path and token noted. */
    private static EdgeFixture.Connection open() {
        EdgeFixture.Connection c = fx.open(PipelineNames.FRAMING);
        return c;
    }

    @ParameterizedTest(name = "{0} {1} body={2}: Connection {3}, open={4}")
    @CsvSource({
        // version, Connection asked, the request has a body, Connection answered, stays open
        "HTTP/1.1, ,           false, ,           true",
        "HTTP/1.1, close,      false, close,      false",
        "HTTP/1.1, keep-alive, false, ,           true",
        "HTTP/1.0, ,           false, close,      false",
        "HTTP/1.0, keep-alive, false, keep-alive, true",
        "HTTP/1.1, ,           true,  close,      false",
    })
    void anAnswerAtTheHeadKeepsOrClosesTheConnection(String version, String connection, boolean body,
                                                    String answered, boolean open) {
        EdgeFixture.Connection c = open();
        c.send("GET /x " + version + "\r\nHost: h\r\n" + (connection == null ? "" : "Connection: " + connection
                + "\r\n") + (body ? "Content-Length: 2\r\n\r\n{}" : "\r\n"));
        c.writer.answerHead(Responses.json(c.ch.alloc(), ((HttpRequest) c.passed.get(0)).protocolVersion(), 200,
                "{}"));
        FullHttpResponse r = c.answer();
        assertThat(r.status().code()).isEqualTo(200);
        assertThat(r.headers().get(HttpHeaderNames.CONNECTION)).isEqualTo(answered);
        assertThat(c.isOpen()).isEqualTo(open);
    }

    @Test
    void anAnswerToHeadHasNoBodyButItsLength() {
        EdgeFixture.Connection c = open();
        c.send("HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n");
        c.writer.answerHead(Responses.json(c.ch.alloc(), io.netty.handler.codec.http.HttpVersion.HTTP_1_1, 200,
                "{\"status\":\"ok\"}"));
        assertThat(c.text()).startsWith("HTTP/1.1 200 OK\r\n").contains("content-length: 15\r\n").endsWith("\r\n\r\n");
        assertThat(c.isOpen()).isTrue();
        // The next request is a GET: its answer has its body again.
        c.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
        c.writer.answerHead(Responses.json(c.ch.alloc(), io.netty.handler.codec.http.HttpVersion.HTTP_1_1, 200,
                "{\"status\":\"ok\"}"));
        assertThat(c.text()).endsWith("\r\n\r\n{\"status\":\"ok\"}");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"/nowhere, \"status\":\"NOT_FOUND\"", "/v1/chat/nowhere, \"type\":\"invalid_request_error\""})
    void aRejectionClosesInTheRouteShapeAndDropsTheRestOfTheRequest(String path, String shape) {
        EdgeFixture.Connection c = fx.open(PipelineNames.FRAMING, PipelineNames.ROUTING);
        c.send("POST " + path + " HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello");
        FullHttpResponse r = c.answer();
        assertThat(r.status().code()).isEqualTo(404);
        assertThat(r.headers().get(HttpHeaderNames.CONNECTION)).isEqualTo("close");
        assertThat(r.content().toString(StandardCharsets.UTF_8)).contains("no route for POST " + path).contains(shape);
        assertThat(c.isOpen()).isFalse();
        assertThat(c.passed).as("neither the head nor the body passed").isEmpty();
    }

    @Test
    void rawBytesPassTheEncoderUntouched() {
        EdgeFixture.Connection c = open();
        c.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
        String answer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
        c.writer.writeRaw(Unpooled.copiedBuffer(answer.substring(0, 20), StandardCharsets.US_ASCII));
        c.writer.writeRawAndFlush(Unpooled.copiedBuffer(answer.substring(20), StandardCharsets.US_ASCII));
        assertThat(c.text()).isEqualTo(answer);
    }

    @Test
    void aPipelinedRequestWaitsUntilTheAnswerUnderWayIsDone() {
        EdgeFixture.Connection c = open();
        c.send("GET /first HTTP/1.1\r\nHost: h\r\n\r\n");
        assertThat(c.passed).hasSize(2);
        c.writer.hold(); // an answer is under way
        c.send("GET /second HTTP/1.1\r\nHost: h\r\n\r\n");
        assertThat(c.passed).as("held while the first is answered").hasSize(2);
        c.writer.answer(Responses.json(c.ch.alloc(), io.netty.handler.codec.http.HttpVersion.HTTP_1_1, 200, "{}"));
        c.writer.resume();
        c.ch.runPendingTasks();
        assertThat(c.passed).hasSize(4);
        assertThat(((HttpRequest) c.passed.get(2)).uri()).isEqualTo("/second");
        assertThat(c.request.path).isEqualTo("/second");
        assertThat(c.answers()).hasSize(1);
        assertThat(c.isOpen()).isTrue();
    }

    @Test
    void anIdleConnectionClosesAfterTheIdleTimeout() {
        EdgeFixture.Connection c = open();
        c.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
        c.writer.answerHead(Responses.json(c.ch.alloc(), io.netty.handler.codec.http.HttpVersion.HTTP_1_1, 200,
                "{}"));
        assertThat(c.isOpen()).isTrue();
        c.awaitTimers(() -> !c.isOpen(), Duration.ofSeconds(10));
        assertThat(c.answers()).hasSize(1);
    }

    @Test
    void theShutdownEventClosesAnIdleConnectionAndMakesTheNextAnswerClose() {
        EdgeFixture.Connection idle = open();
        idle.ch.pipeline().fireUserEventTriggered(ShutdownEvent.INSTANCE);
        assertThat(idle.isOpen()).isFalse();

        EdgeFixture.Connection busy = open();
        busy.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
        busy.writer.hold();
        busy.ch.pipeline().fireUserEventTriggered(ShutdownEvent.INSTANCE);
        assertThat(busy.isOpen()).as("an answer is under way").isTrue();
        busy.writer.answer(Responses.json(busy.ch.alloc(), io.netty.handler.codec.http.HttpVersion.HTTP_1_1, 200,
                "{}"));
        assertThat(busy.answer().headers().get(HttpHeaderNames.CONNECTION)).isEqualTo("close");
        assertThat(busy.isOpen()).isFalse();
    }
}
