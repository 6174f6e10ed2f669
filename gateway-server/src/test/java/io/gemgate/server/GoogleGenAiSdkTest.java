package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.genai.Client;
import com.google.genai.ResponseStream;
import com.google.genai.errors.ApiException;
import com.google.genai.errors.ClientException;
import com.google.genai.errors.ServerException;
import com.google.genai.types.ContentEmbedding;
import com.google.genai.types.CountTokensResponse;
import com.google.genai.types.EmbedContentResponse;
import com.google.genai.types.GenerateContentResponse;
import com.google.genai.types.HttpOptions;
import com.google.genai.types.HttpRetryOptions;
import com.google.genai.types.ListModelsConfig;
import com.google.genai.types.Model;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.FakeGemini;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RecordedRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Google's official Java SDK ({@code com.google.genai:google-genai}) pointed at the gateway, in front of the fake
 * upstream: every call the SDK makes must work unchanged, with the client token replaced by a pool key, and the
 * gateway's own errors must surface as the SDK's exceptions with the right code.
 *
 * <p>Every client is built with SDK retries off ({@code attempts(1)}), so what a test sees is the gateway's doing:
 * a failover the SDK does not notice, an error code the SDK did not retry into something else.
 */
@ExtendWith(LeakDetection.class)
class GoogleGenAiSdkTest {
    private static final String FLASH = "gemini-2.5-flash";
    private static final String EMBEDDING = "gemini-embedding-001";
    private static final List<Float> FAKE_VECTOR = List.of(0.1f, 0.2f, 0.3f);

    private GatewayHarness gw;
    private Client client;

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        if (gw != null) {
            gw.close();
        }
    }

    private FakeGemini fake() {
        return gw.fake();
    }

    /**
     * An SDK client for the gateway with {@code apiKey}, API version v1beta and retries disabled. {@code
     * initialDelay(0)}: SDK 1.70.0 still sleeps one backoff (0 to 2 s by default) after a retryable status
     * (408/429/5xx) on its last attempt before returning it, even with {@code attempts(1)}.
     */
    private Client sdk(String apiKey) {
        return Client.builder()
                .apiKey(apiKey)
                .httpOptions(HttpOptions.builder()
                        .baseUrl(gw.baseUrl())
                        .apiVersion("v1beta")
                        .retryOptions(HttpRetryOptions.builder().attempts(1).initialDelay(0.0).build())
                        .build())
                .build();
    }

    @Test
    void generateContentReturnsTheTextAndOnlyThePoolKeyAndTheSdkHeaderReachTheUpstream() {
        gw = GatewayHarness.start(2);
        client = sdk(TOKEN);

        GenerateContentResponse r = client.models.generateContent(FLASH, "hi", null);

        assertThat(r.text()).isEqualTo("ok");
        assertThat(r.usageMetadata().flatMap(u -> u.totalTokenCount())).contains(10);
        assertThat(fake().requestCount()).isEqualTo(1);
        RecordedRequest up = fake().lastRequest();
        assertThat(up.method()).isEqualTo("POST");
        assertThat(up.path()).isEqualTo("/v1beta/models/" + FLASH + ":generateContent");
        assertThat(up.key()).isIn(key(0), key(1));
        assertThat(up.header("x-goog-api-key")).isEqualTo(up.key());
        assertThat(up.uri()).doesNotContain("key=");
        assertThat(up.headers().toString()).doesNotContain(TOKEN);
        assertThat(up.header("x-goog-api-client")).startsWith("google-genai-sdk/").contains("gl-java/");
        assertThat(up.body()).contains("\"hi\"");
    }

    @Test
    void generateContentStreamYieldsEveryDeltaAndGoesUpstreamAsSse() {
        gw = GatewayHarness.start(1);
        client = sdk(TOKEN);

        List<String> deltas = new ArrayList<>();
        List<String> finishReasons = new ArrayList<>();
        try (ResponseStream<GenerateContentResponse> stream = client.models.generateContentStream(FLASH, "hi",
                null)) {
            for (GenerateContentResponse chunk : stream) {
                deltas.add(chunk.text());
                finishReasons.add(chunk.finishReason().knownEnum().toString());
            }
        }

        assertThat(deltas).containsExactly("Hel", "lo", "!");
        assertThat(String.join("", deltas)).isEqualTo("Hello!");
        assertThat(finishReasons.get(2)).isEqualTo("STOP"); // the fake puts it on the last chunk
        RecordedRequest up = fake().lastRequest();
        assertThat(up.path()).isEqualTo("/v1beta/models/" + FLASH + ":streamGenerateContent");
        assertThat(up.queryParam("alt")).isEqualTo("sse");
        assertThat(up.key()).isEqualTo(key(0));
        assertThat(fake().requestCount()).isEqualTo(1);
    }

    @Test
    void countTokensReturnsTheUpstreamTotal() {
        gw = GatewayHarness.start(1);
        client = sdk(TOKEN);

        CountTokensResponse r = client.models.countTokens(FLASH, "hello", null);

        assertThat(r.totalTokens()).contains(7);
        RecordedRequest up = fake().lastRequest();
        assertThat(up.path()).isEqualTo("/v1beta/models/" + FLASH + ":countTokens");
        assertThat(up.key()).isEqualTo(key(0));
    }

    @Test
    void modelsListIteratesThePagerAndModelsGetReturnsOneModel() {
        gw = GatewayHarness.start(1);
        client = sdk(TOKEN);

        List<String> names = new ArrayList<>();
        for (Model m : client.models.list(ListModelsConfig.builder().pageSize(10).build())) {
            names.add(m.name().orElseThrow());
        }
        Model flash = client.models.get(FLASH, null);

        assertThat(names).containsExactly("models/gemini-2.5-flash", "models/gemini-2.5-pro",
                "models/gemini-embedding-001");
        assertThat(flash.name()).contains("models/" + FLASH);
        assertThat(flash.displayName()).contains("Gemini 2.5 Flash");
        assertThat(flash.inputTokenLimit()).contains(1048576);
        assertThat(fake().requests()).extracting(RecordedRequest::method).containsOnly("GET");
        assertThat(fake().requests()).extracting(RecordedRequest::path)
                .containsExactly("/v1beta/models", "/v1beta/models/" + FLASH);
        assertThat(fake().requests().get(0).queryParam("pageSize")).isEqualTo("10");
        assertThat(fake().keysUsed()).containsOnly(key(0));
    }

    @Test
    void embedContentReturnsTheVectorsForOneAndForSeveralTexts() {
        gw = GatewayHarness.start(1);
        client = sdk(TOKEN);

        EmbedContentResponse one = client.models.embedContent(EMBEDDING, "hello", null);
        EmbedContentResponse two = client.models.embedContent(EMBEDDING, List.of("a", "b"), null);

        assertThat(one.embeddings().orElseThrow()).extracting(e -> e.values().orElseThrow())
                .containsExactly(FAKE_VECTOR);
        assertThat(two.embeddings().orElseThrow()).hasSize(2).extracting(ContentEmbedding::values)
                .allSatisfy(v -> assertThat(v).contains(FAKE_VECTOR));
        // The Java SDK may use either endpoint; both must have gone to the fake under the embedding model.
        assertThat(fake().requests()).hasSize(2).allSatisfy(r -> {
            assertThat(r.path()).isIn("/v1beta/models/" + EMBEDDING + ":embedContent",
                    "/v1beta/models/" + EMBEDDING + ":batchEmbedContents");
            assertThat(r.key()).isEqualTo(key(0));
        });
    }

    @Test
    void aPerMinute429FailoverIsInvisibleToTheSdk() {
        gw = GatewayHarness.start(2);
        fake().script(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(30)));
        client = sdk(TOKEN);

        GenerateContentResponse r = client.models.generateContent(FLASH, "hi", null);

        assertThat(r.text()).isEqualTo("ok");
        assertThat(fake().keysUsed()).containsExactly(key(0), key(1));
    }

    @Test
    void aWrongClientTokenIsAClientException401AndNeverReachesTheUpstream() {
        gw = GatewayHarness.start(1);
        client = sdk("not-the-token");

        ClientException e = catchThrowableOfType(ClientException.class,
                () -> client.models.generateContent(FLASH, "hi", null));

        assertThat(e).isNotNull();
        assertThat(e.code()).isEqualTo(401);
        assertThat(e.status()).isEqualTo("UNAUTHENTICATED");
        assertThat(e.getMessage()).doesNotContain("not-the-token");
        assertThat(fake().requestCount()).isZero();
    }

    @Test
    void everyKeyExhaustedForTheDayIsAServerException503() {
        gw = GatewayHarness.start(2);
        fake().always(key(0), Behavior.quotaDay());
        fake().always(key(1), Behavior.quotaDay());
        // Exhaust both keys for the day (what this first answer says is not the subject here).
        gw.generate(FLASH);
        assertThat(fake().keysUsed()).containsExactlyInAnyOrder(key(0), key(1));
        client = sdk(TOKEN);

        ServerException e = catchThrowableOfType(ServerException.class,
                () -> client.models.generateContent(FLASH, "hi", null));

        assertThat(e).isNotNull().isInstanceOf(ApiException.class);
        assertThat(e.code()).isEqualTo(503);
        assertThat(e.status()).isEqualTo("UNAVAILABLE");
        assertThat(e.getMessage()).contains("2 exhausted", FLASH);
        // Answered by the gateway from the pool's state: the upstream was not called again, nor did the SDK retry.
        assertThat(fake().requestCount()).isEqualTo(2);
    }
}
