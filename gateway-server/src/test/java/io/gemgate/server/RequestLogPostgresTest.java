package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The request log in a real PostgreSQL ({@code GEMGATE_DATABASE_URL}): records and their attempts, two gateways
 * writing one log and one usage history, and a database that goes away and comes back while requests are served.
 */
@ExtendWith(LeakDetection.class)
class RequestLogPostgresTest {
    private static final String MODEL = "gemini-2.5-flash";

    @RegisterExtension
    static final PostgresServer pg = new PostgresServer();

    private FakeGemini fake;
    private GatewayHarness gw1;
    private GatewayHarness gw2;

    @AfterEach
    void stop() {
        for (GatewayHarness g : new GatewayHarness[] {gw1, gw2}) {
            if (g != null) {
                g.close();
            }
        }
        if (fake != null) {
            fake.close();
        }
        pg.start(); // a test that stopped it leaves it running for the next
    }

    private static Map<String, Long> byValue(JsonNode totals, String field) {
        Map<String, Long> out = new java.util.HashMap<>();
        totals.forEach(t -> out.put(t.path("value").asText(), t.path(field).asLong()));
        return out;
    }

    @Test
    void aFailoverIsRecordedWithItsAttemptsInPostgres() throws Exception {
        pg.createDatabase("failover");
        gw1 = GatewayHarness.start(2, AdminClient.env("GEMGATE_DATABASE_URL", pg.url("failover")));
        AdminClient admin = new AdminClient(gw1, 2);
        gw1.fake().always(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(60)));
        for (int i = 0; i < 2; i++) {
            assertThat(gw1.generate(MODEL).statusCode()).isEqualTo(200);
        }
        JsonNode list = admin.get("/admin/api/requests").json();
        assertThat(list.path("log").path("database").asText()).startsWith("postgresql 127.0.0.1:" + pg.port())
                .doesNotContain(PostgresServer.PASSWORD);
        assertThat(list.path("requests")).hasSize(2);
        JsonNode failedOver = admin.get("/admin/api/requests?verdict=rate_minute").json().path("requests");
        assertThat(failedOver).hasSize(1);
        JsonNode one = admin.get("/admin/api/requests/" + failedOver.get(0).path("id").asText()).json();
        assertThat(one.path("attempts")).hasSize(2);
        assertThat(one.path("attempts").get(0).path("upstreamStatus").asInt()).isEqualTo(429);
        assertThat(one.path("attempts").get(0).path("message").asText()).contains("Quota exceeded");
        try (Connection c = pg.connect("failover"); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("select count(*) from gemgate_attempts")) {
            r.next();
            assertThat(r.getLong(1)).isEqualTo(3);
        }
        assertThat(byValue(admin.get("/admin/api/usage?by=model").json().path("totals"), "requests"))
                .containsEntry(MODEL, 2L);
    }

    @Test
    void twoGatewaysWriteOneLogAndOneUsageHistory() throws Exception {
        pg.createDatabase("shared");
        fake = FakeGemini.start();
        Map<String, String> env = AdminClient.env("GEMGATE_DATABASE_URL", pg.url("shared"));
        gw1 = GatewayHarness.start(fake, GatewayHarness.specs(2), env, System::currentTimeMillis);
        gw2 = GatewayHarness.start(fake, GatewayHarness.specs(2), env, System::currentTimeMillis);
        AdminClient a1 = new AdminClient(gw1, 2);
        AdminClient a2 = new AdminClient(gw2, 2);
        for (int i = 0; i < 7; i++) {
            assertThat(gw1.generate(MODEL).statusCode()).isEqualTo(200);
        }
        for (int i = 0; i < 5; i++) {
            assertThat(gw2.generate(MODEL).statusCode()).isEqualTo(200);
        }
        assertThat(gw2.get("/nothing-here").statusCode()).isEqualTo(404);
        a1.get("/admin/api/requests"); // gw1's queue and usage written
        JsonNode seen = a2.get("/admin/api/requests?limit=500").json().path("requests");
        assertThat(seen).hasSize(13);
        Set<String> ids = new HashSet<>();
        seen.forEach(r -> ids.add(r.path("id").asText()));
        assertThat(ids).hasSize(13);
        JsonNode usage = a1.get("/admin/api/usage?by=token").json();
        assertThat(byValue(usage.path("totals"), "requests")).containsEntry("shared", 13L);
        assertThat(byValue(usage.path("totals"), "failures")).containsEntry("shared", 1L);
        JsonNode perMinute = a2.get("/admin/api/usage?by=model&period=minute").json();
        assertThat(byValue(perMinute.path("totals"), "requests")).containsEntry(MODEL, 12L);
    }

    @Test
    void requestsAreServedWhileTheDatabaseIsDownAndRecordedWhenItIsBack() throws Exception {
        pg.createDatabase("outage");
        gw1 = GatewayHarness.start(1, AdminClient.env("GEMGATE_DATABASE_URL", pg.url("outage")));
        AdminClient admin = new AdminClient(gw1, 1);
        assertThat(gw1.generate(MODEL).statusCode()).isEqualTo(200);
        assertThat(admin.get("/admin/api/requests").json().path("requests")).hasSize(1);

        pg.stop();
        for (int i = 0; i < 4; i++) {
            assertThat(gw1.generate(MODEL).statusCode()).isEqualTo(200);
        }
        AdminClient.Answer down = admin.get("/admin/api/requests");
        assertThat(down.status()).isEqualTo(503);
        assertThat(down.errorMessage()).startsWith("the request log database is unavailable")
                .doesNotContain(PostgresServer.PASSWORD);

        pg.start();
        JsonNode back = AdminClient.await(() -> admin.get("/admin/api/requests"), a -> a.status() == 200,
                Duration.ofSeconds(20)).json();
        assertThat(back.path("requests")).hasSize(5);
        assertThat(back.path("log").path("writeErrors").asLong()).isPositive();
        assertThat(byValue(admin.get("/admin/api/usage?by=model").json().path("totals"), "requests"))
                .containsEntry(MODEL, 5L);
    }
}
