package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.Behavior;
import io.gemgate.testing.CapturingAppender;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RecordedRequest;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A non-streaming OpenAI chat completion is answered whole, so an upstream that breaks off after its head (closes,
 * resets, stalls) has shown the client nothing: the next key is tried, as before the head.
 */
@ExtendWith(LeakDetection.class)
class OpenAiFailoverAfterHeadTest {
    private static final String CHAT = "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\","
            + "\"content\":\"hi\"}]}";
    private GatewayHarness gw;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
    }

    private HttpResponse<String> chat(String body) {
        return gw.send(gw.request("/v1/chat/completions").header("Authorization", "Bearer " + TOKEN)
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    @ParameterizedTest
    @ValueSource(strings = {"close", "reset", "stall"})
    void anAnswerThatBreaksOffAfterItsHeadIsRetriedOnTheNextKey(String how) {
        gw = GatewayHarness.start(2, Map.of("GEMGATE_UPSTREAM_STREAM_IDLE_TIMEOUT", "500ms"));
        gw.fake().script(key(0), Behavior.headThen(how));
        HttpResponse<String> r = chat(CHAT);

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"object\":\"chat.completion\"", "\"content\":\"ok\"");
        assertThat(gw.fake().requests()).extracting(RecordedRequest::key).containsExactly(key(0), key(1));
        assertThat(NativeProxyTest.waitUntil(() -> CapturingAppender.accessLines().stream()
                .anyMatch(l -> l.contains("POST /v1/chat/completions 200 ") && l.contains("attempts=2")))).isTrue();
    }

    @Test
    void whenEveryKeyBreaksOffTheClientGets502AfterTryingThemAll() {
        gw = GatewayHarness.start(2);
        gw.fake().always(key(0), Behavior.headThen("close")).always(key(1), Behavior.headThen("close"));
        HttpResponse<String> r = chat(CHAT);

        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(r.body()).contains("\"error\"");
        assertThat(gw.fake().requests()).extracting(RecordedRequest::key).containsExactlyInAnyOrder(key(0), key(1));
    }

    @Test
    void theOpenAiModelListIsRetriedOnTheNextKeyToo() {
        gw = GatewayHarness.start(2);
        gw.fake().script(key(0), Behavior.headThen("close"));
        HttpResponse<String> r = gw.send(gw.request("/v1/models").header("Authorization", "Bearer " + TOKEN)
                .GET().build());

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"object\":\"list\"");
        assertThat(gw.fake().requests()).extracting(RecordedRequest::key).containsExactly(key(0), key(1));
    }
}
