package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.genai.Client;
import com.google.genai.types.Content;
import com.google.genai.types.File;
import com.google.genai.types.HttpOptions;
import com.google.genai.types.HttpRetryOptions;
import com.google.genai.types.Part;
import com.google.genai.types.UploadFileConfig;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RecordedRequest;
import io.gemgate.testing.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A file uploaded through one gateway is usable at once through another sharing its Redis (README, key affinity). */
@ExtendWith(LeakDetection.class)
class AffinitySharedTest {
    @RegisterExtension
    static final RedisServer redis = new RedisServer();

    private static final String FLASH = "gemini-2.5-flash";
    private FakeGemini fake;
    private final List<GatewayHarness> gateways = new ArrayList<>();
    private final List<Client> clients = new ArrayList<>();

    @BeforeEach
    void emptyRedisAndStartTheFake() {
        redis.start();
        try (RedisClient c = RedisClient.create(redis.url());
             StatefulRedisConnection<String, String> conn = c.connect()) {
            conn.sync().flushall();
        }
        fake = FakeGemini.start();
    }

    @AfterEach
    void stop() {
        clients.forEach(Client::close);
        gateways.forEach(GatewayHarness::close);
        fake.close();
    }

    private GatewayHarness gateway() {
        GatewayHarness g = GatewayHarness.start(fake, GatewayHarness.specs(4),
                AdminClient.env("GEMGATE_REDIS_URL", redis.url()), System::currentTimeMillis);
        gateways.add(g);
        return g;
    }

    private Client sdk(GatewayHarness g) {
        Client c = Client.builder().apiKey(TOKEN).httpOptions(HttpOptions.builder().baseUrl(g.baseUrl())
                .apiVersion("v1beta").retryOptions(HttpRetryOptions.builder().attempts(1).initialDelay(0.0).build())
                .build()).build();
        clients.add(c);
        return c;
    }

    @Test
    void aFileUploadedThroughOneGatewayServesGenerateCallsThroughTheOther() throws Exception {
        GatewayHarness a = gateway();
        GatewayHarness b = gateway();
        File f = sdk(a).files.upload("shared".getBytes(StandardCharsets.UTF_8),
                UploadFileConfig.builder().mimeType("text/plain").build());
        String holder = fake.requests().stream().filter(r -> r.path().startsWith("/upload/")).findFirst()
                .orElseThrow().key();
        Client cb = sdk(b);
        for (int i = 0; i < 10; i++) {
            assertThat(cb.models.generateContent(FLASH, Content.fromParts(Part.fromText("?"),
                    Part.fromUri(f.uri().orElseThrow(), "text/plain")), null).text()).isEqualTo("ok");
        }
        assertThat(fake.requests().stream().filter(r -> r.path().endsWith(":generateContent"))
                .map(RecordedRequest::key)).hasSize(10).containsOnly(holder);
        // B knows it from Redis (pub/sub, or the next full read), not only from a lookup of its own.
        AdminClient admin = new AdminClient(b, 4);
        AdminClient.await(() -> admin.get("/admin/api/affinity").json().path("entries").toString(),
                s -> s.contains(f.name().orElseThrow()), Duration.ofSeconds(15));
        for (int i = 0; i < 4; i++) {
            assertThat(b.poolKey(GatewayHarness.key(i)).isInvalid()).isFalse();
        }
        // Deleted through B: A forgets it too.
        cb.files.delete(f.name().orElseThrow(), null);
        AdminClient.await(() -> a.server().context().affinity().get(f.name().orElseThrow()) == null, x -> x,
                Duration.ofSeconds(15));
    }

    @Test
    void aHolderDeletedThroughAnotherGatewayWhoseMessageWasMissedIsForgottenNotWrittenBack() throws Exception {
        GatewayHarness a = gateway();
        File f = sdk(a).files.upload("missed".getBytes(StandardCharsets.UTF_8),
                UploadFileConfig.builder().mimeType("text/plain").build());
        String name = f.name().orElseThrow();
        try (RedisClient c = RedisClient.create(redis.url());
             StatefulRedisConnection<String, String> conn = c.connect()) {
            AdminClient.await(() -> conn.sync().hexists("gemgate:affinity", name), x -> x, Duration.ofSeconds(15));
            // Another gateway's delete as Redis sees it, its message lost (A's subscription was down, say).
            assertThat(conn.sync().hdel("gemgate:affinity", name)).isEqualTo(1L);
            // A's next full read (every 10 s) finds the name gone from Redis after having written it there: the
            // resource was deleted elsewhere. Before, A marked it as its own news and wrote it back for good.
            AdminClient.await(() -> a.server().context().affinity().get(name) == null, x -> x,
                    Duration.ofSeconds(25));
            assertThat(conn.sync().hexists("gemgate:affinity", name)).isFalse();
        }
    }
}
