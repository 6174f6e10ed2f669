package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.LeakDetection;
import io.netty.handler.codec.http.FullHttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link AuthHandler}: the client token presented three ways, user tokens, wrong and missing tokens, the admin API. */
@ExtendWith(LeakDetection.class)
class AuthHandlerTest {
    private static EdgeFixture fx;
    private static String userToken;

    @BeforeAll
    static void start() {
        fx = new EdgeFixture(1, Map.of("GEMGATE_ADMIN_TOKEN", EdgeFixture.ADMIN_TOKEN));
        userToken = fx.gw.tokens().create("alice", io.gemgate.core.tokens.TokenLimits.unlimited()).secret();
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "GET /v1beta/models HTTP/1.1\\r\\nHost: h\\r\\nx-goog-api-key: TOKEN\\r\\n\\r\\n                      | false",
        "GET /v1beta/models?key=TOKEN HTTP/1.1\\r\\nHost: h\\r\\n\\r\\n                                    | false",
        "POST /v1/chat/completions HTTP/1.1\\r\\nHost: h\\r\\nAuthorization: Bearer TOKEN\\r\\nContent-Length: 0\\r\\n\\r\\n | false",
        "GET /v1beta/models HTTP/1.1\\r\\nHost: h\\r\\nx-goog-api-key: USER\\r\\n\\r\\n                       | true",
        "POST /v1/chat/completions HTTP/1.1\\r\\nHost: h\\r\\nAuthorization: Bearer USER\\r\\nContent-Length: 0\\r\\n\\r\\n | true",
    })
    void acceptsTheClientTokenAndUserTokens(String wire, boolean isUser) {
        EdgeFixture.Connection c = fx.open(PipelineNames.FRAMING, PipelineNames.ROUTING, PipelineNames.AUTH);
        c.send(wire.replace("\\r\\n", "\r\n").replace("TOKEN", EdgeFixture.TOKEN).replace("USER", userToken));
        assertThat(c.text()).isEmpty();
        assertThat(c.passed).hasSize(2);
        assertThat(c.request.user != null).isEqualTo(isUser);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "GET /v1beta/models HTTP/1.1\\r\\nHost: h\\r\\n\\r\\n                              | 401 | missing client token",
        "GET /v1beta/models HTTP/1.1\\r\\nHost: h\\r\\nx-goog-api-key: wrong\\r\\n\\r\\n     | 401 | invalid client token",
        "GET /v1beta/models HTTP/1.1\\r\\nHost: h\\r\\nx-goog-api-key: ADMIN\\r\\n\\r\\n     | 401 | invalid client token",
        "GET /admin/api/keys HTTP/1.1\\r\\nHost: h\\r\\nx-goog-api-key: TOKEN\\r\\n\\r\\n    | 404 | the admin API is off",
    })
    void refusesAndCloses(String wire, int status, String message) {
        EdgeFixture.Connection c = fx.open(PipelineNames.FRAMING, PipelineNames.ROUTING, PipelineNames.AUTH);
        c.send(wire.replace("\\r\\n", "\r\n").replace("TOKEN", EdgeFixture.TOKEN)
                .replace("ADMIN", EdgeFixture.ADMIN_TOKEN));
        FullHttpResponse r = c.answer();
        assertThat(r.status().code()).isEqualTo(status);
        String body = r.content().toString(StandardCharsets.UTF_8);
        assertThat(body).contains(message).doesNotContain(EdgeFixture.TOKEN).doesNotContain("wrong");
        assertThat(c.isOpen()).isFalse();
        assertThat(c.passed).isEmpty();
    }

    @Test
    void anOpenAiCallerIsRefusedInOpenAiShape() {
        EdgeFixture.Connection c = fx.open(PipelineNames.FRAMING, PipelineNames.ROUTING, PipelineNames.AUTH);
        c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer nope\r\n"
                + "Content-Length: 0\r\n\r\n");
        assertThat(c.answer().status().code()).isEqualTo(401);
        assertThat(c.answer().content().toString(StandardCharsets.UTF_8)).contains("\"type\":");
    }
}
