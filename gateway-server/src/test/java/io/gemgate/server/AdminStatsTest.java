package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gemgate.core.keys.KeyMask;
import io.gemgate.core.metrics.GatewayEvents;
import io.gemgate.server.admin.CompositeEvents;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@code GET /admin/api/stats} against the traffic a test sends. */
@ExtendWith(LeakDetection.class)
class AdminStatsTest {
    private GatewayHarness gw;
    private AdminClient admin;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
    }

    @Test
    void statsMatchTheTrafficSent() {
        gw = GatewayHarness.start(3, AdminClient.env());
        admin = new AdminClient(gw, 3);
        admin.patch("/admin/api/keys/" + KeyMask.fingerprint(key(2)), "{\"project\":\"shared\"}");
        admin.patch("/admin/api/keys/" + KeyMask.fingerprint(key(1)), "{\"project\":\"shared\"}");
        gw.fake().script(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(300)));
        for (int i = 0; i < 5; i++) {
            assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
        }
        assertThat(gw.get("/v1beta/models/no-such-model").statusCode()).isEqualTo(404);
        int upstreamCalls = gw.fake().requestCount();
        assertThat(upstreamCalls).isEqualTo(7); // 6 requests + 1 failover

        JsonNode s = admin.get("/admin/api/stats").json();

        JsonNode today = s.path("today");
        assertThat(today.path("requests").asLong()).isEqualTo(upstreamCalls);
        assertThat(today.path("successes").asLong()).isEqualTo(5);
        assertThat(today.path("rateLimited").asLong()).isEqualTo(1);
        assertThat(today.path("promptTokens").asLong()).isEqualTo(35);
        assertThat(today.path("outputTokens").asLong()).isEqualTo(15);
        assertThat(today.path("tokens").asLong()).isEqualTo(50);
        List<Long> perKey = new ArrayList<>();
        for (JsonNode k : s.path("keys")) {
            int i = k.path("id").asText().equals(KeyMask.fingerprint(key(0))) ? 0
                    : k.path("id").asText().equals(KeyMask.fingerprint(key(1))) ? 1 : 2;
            assertThat(k.path("requests").asLong()).as("key %d", i).isEqualTo(gw.fake().requestCount(key(i)));
            perKey.add(k.path("requests").asLong());
        }
        assertThat(perKey.stream().mapToLong(Long::longValue).sum()).isEqualTo(upstreamCalls);

        JsonNode perMinute = s.path("requestsPerMinute");
        assertThat(perMinute.path("requests")).hasSize(60);
        assertThat(perMinute.path("lastHour").asLong()).isEqualTo(6);
        long errors = 0;
        for (JsonNode n : perMinute.path("errors")) {
            errors += n.asLong();
        }
        assertThat(errors).isEqualTo(1);

        JsonNode latency = s.path("latencyMillis");
        assertThat(latency.path("count").asLong()).isEqualTo(6);
        assertThat(latency.path("p50").asDouble()).isPositive();
        assertThat(latency.path("p50").asDouble()).isLessThanOrEqualTo(latency.path("p90").asDouble());
        assertThat(latency.path("p90").asDouble()).isLessThanOrEqualTo(latency.path("p99").asDouble());
        assertThat(latency.path("p99").asDouble()).isLessThanOrEqualTo(latency.path("max").asDouble());
        assertThat(s.path("firstByteMillis").path("count").asLong()).isEqualTo(6);

        JsonNode since = s.path("sinceStart");
        assertThat(since.path("requests").asLong()).isEqualTo(6);
        assertThat(since.path("byStatus").path("2xx").asLong()).isEqualTo(5);
        assertThat(since.path("byStatus").path("4xx").asLong()).isEqualTo(1);
        assertThat(since.path("attempts").path("success").asLong()).isEqualTo(5);
        assertThat(since.path("attempts").path("client_error").asLong()).isEqualTo(1);
        assertThat(s.path("failovers").path("total").asLong()).isEqualTo(1);
        assertThat(s.path("failovers").path("byReason").path("rate_minute").asLong()).isEqualTo(1);
        assertThat(s.path("failovers").path("byReason").path("server_error").asLong()).isZero();

        assertThat(s.path("keysByStatus").path("cooling").asInt()).isEqualTo(1);
        assertThat(s.path("keysByStatus").path("active").asInt()).isEqualTo(2);
        JsonNode capacity = s.path("capacity");
        assertThat(capacity.path("model").asText()).isEqualTo("gemini-2.5-flash");
        assertThat(capacity.path("usableKeys").asInt()).isEqualTo(2);
        assertThat(capacity.path("multiplier").asInt()).isEqualTo(1); // keys 1 and 2 share one project's quota

        JsonNode pro = admin.get("/admin/api/stats?model=gemini-2.5-pro").json().path("capacity");
        assertThat(pro.path("model").asText()).isEqualTo("gemini-2.5-pro");
        assertThat(pro.path("usableKeys").asInt()).isEqualTo(3);
        assertThat(pro.path("multiplier").asInt()).isEqualTo(2);
    }

    @Test
    void metricsAndAdminStatsBothSeeTheTraffic() {
        try (var metrics = new io.gemgate.server.metrics.MicrometerMetrics()) {
            gw = GatewayHarness.start(1, AdminClient.env(), metrics);
            admin = new AdminClient(gw, 1);
            for (int i = 0; i < 3; i++) {
                assertThat(gw.generate("gemini-2.5-flash").statusCode()).isEqualTo(200);
            }
            assertThat(admin.get("/admin/api/stats").json().path("sinceStart").path("requests").asLong())
                    .isEqualTo(3);
            String text = gw.get("/metrics").body();
            assertThat(text).containsPattern("gemgate_requests_total\\{[^}]*status=\"200\"[^}]*} 3\\.0");
        }
    }

    @Test
    void theCompositeForwardsEveryEventMethod() throws Exception {
        // A method added to GatewayEvents later must be forwarded too, or one sink would silently miss it.
        for (Method m : GatewayEvents.class.getDeclaredMethods()) {
            if (Modifier.isStatic(m.getModifiers()) || m.isSynthetic()) {
                continue;
            }
            Method impl = CompositeEvents.class.getMethod(m.getName(), m.getParameterTypes());
            assertThat(impl.getDeclaringClass()).as(m.getName()).isEqualTo(CompositeEvents.class);
        }
        List<String> seen = new ArrayList<>();
        GatewayEvents a = new GatewayEvents() {
            @Override
            public void attempt(String model, String verdict, boolean failover) {
                seen.add("a:" + verdict);
            }
        };
        GatewayEvents b = new GatewayEvents() {
            @Override
            public void attempt(String model, String verdict, boolean failover) {
                seen.add("b:" + verdict);
            }
        };
        CompositeEvents.of(a, b).attempt("m", "success", false);
        assertThat(seen).containsExactly("a:success", "b:success");
        assertThat(CompositeEvents.of(GatewayEvents.NOOP, b)).isSameAs(b);
    }
}
