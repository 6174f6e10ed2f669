package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * With a shared Redis, an admin write is in Redis when its answer arrives: the token's record and the live setting
 * are there to read the moment the 201 or 200 is received, so another gateway (or this one restarted) has them.
 */
@ExtendWith(LeakDetection.class)
class AdminRedisDurabilityTest {
    @RegisterExtension
    static final RedisServer redis = new RedisServer();
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aTokenAndASettingAreInRedisWhenTheirAnswerArrives() throws Exception {
        redis.start();
        try (RedisClient c = RedisClient.create(redis.url());
             StatefulRedisConnection<String, String> conn = c.connect();
             FakeGemini fake = FakeGemini.start();
             GatewayHarness gw = GatewayHarness.start(fake, GatewayHarness.specs(1),
                     AdminClient.env("GEMGATE_REDIS_URL", redis.url(), "GEMGATE_REDIS_PREFIX", "durable:",
                             "GEMGATE_STATE_FLUSH_INTERVAL", "1h"), System::currentTimeMillis)) {
            assertThat(NativeProxyTest.waitUntil(() -> gw.server().shared().isConnected())).isTrue();
            HttpResponse<String> created = admin(gw, "POST", "/admin/api/tokens", "{\"name\":\"carol\"}");
            assertThat(created.statusCode()).isEqualTo(201);
            String id = JSON.readTree(created.body()).path("id").asText();
            assertThat(conn.sync().hget("durable:tokens", id)).as("token %s in Redis at the answer", id)
                    .isNotNull();

            assertThat(admin(gw, "PATCH", "/admin/api/settings", "{\"maxAttempts\":7}").statusCode()).isEqualTo(200);
            assertThat(conn.sync().hgetall("durable:settings").toString()).contains("\"maxAttempts\":7");
        }
    }

    private static HttpResponse<String> admin(GatewayHarness gw, String method, String path, String body) {
        return gw.send(gw.request(path).header("Authorization", "Bearer " + AdminClient.ADMIN_TOKEN)
                .header("content-type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofString(body)).build());
    }
}
