package io.gemgate.core.openai;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static io.gemgate.core.openai.Jsons.bytes;
import static io.gemgate.core.openai.Jsons.json;
import static io.gemgate.core.openai.Jsons.tree;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Gemini errors in OpenAI's shape (OpenAI API reference: Error codes), from Google's error bodies (Gemini API docs:
 * Troubleshooting).
 */
class OpenAiErrorsTest {
    static final String API_KEY_INVALID = "{'error':{'code':400,'message':'API key not valid. Please pass a valid API key.',"
            + "'status':'INVALID_ARGUMENT','details':[{'@type':'type.googleapis.com/google.rpc.ErrorInfo',"
            + "'reason':'API_KEY_INVALID','domain':'googleapis.com'}]}}";
    static final String PER_MINUTE = "{'error':{'code':429,'message':'You exceeded your current quota.',"
            + "'status':'RESOURCE_EXHAUSTED','details':[{'@type':'type.googleapis.com/google.rpc.Help','links':[]},"
            + "{'@type':'type.googleapis.com/google.rpc.QuotaFailure','violations':[{'quotaMetric':"
            + "'generativelanguage.googleapis.com/generate_content_free_tier_requests','quotaId':"
            + "'GenerateRequestsPerMinutePerProjectPerModel-FreeTier'}]},"
            + "{'@type':'type.googleapis.com/google.rpc.RetryInfo','retryDelay':'20.706s'}]}}";
    static final String PER_DAY = "{'error':{'code':429,'message':'You exceeded your current quota.',"
            + "'status':'RESOURCE_EXHAUSTED','details':[{'@type':'type.googleapis.com/google.rpc.RetryInfo',"
            + "'retryDelay':'34s'},{'@type':'type.googleapis.com/google.rpc.QuotaFailure','violations':[{"
            + "'quotaId':'GenerateRequestsPerDayPerProjectPerModel-FreeTier'}]}]}}";
    static final String TOKENS = "{'error':{'code':429,'message':'quota','status':'RESOURCE_EXHAUSTED','details':[{"
            + "'@type':'type.googleapis.com/google.rpc.QuotaFailure','violations':[{'quotaMetric':"
            + "'generativelanguage.googleapis.com/generate_content_free_tier_input_token_count','quotaId':"
            + "'GenerateContentInputTokensPerModelPerMinute-FreeTier'}]}]}}";

    static OpenAiError map(int status, String relaxed) {
        return OpenAiErrors.fromGemini(status, bytes(relaxed));
    }

    @Test
    void invalidKeyIs401() {
        OpenAiError e = map(400, API_KEY_INVALID);
        assertThat(e.status()).isEqualTo(401);
        assertThat(tree(e.toJson())).isEqualTo(json("{'error':{'message':'API key not valid. Please pass a valid API key.',"
                + "'type':'invalid_request_error','param':null,'code':'invalid_api_key'}}"));
        assertThat(e.shouldRetry()).isFalse();
    }

    @Test
    void permissionDeniedIs403() {
        OpenAiError e = map(403, "{'error':{'code':403,'message':'Method doesn't allow unregistered callers.',"
                + "'status':'PERMISSION_DENIED'}}".replace("doesn't", "does not"));
        assertThat(e.status()).isEqualTo(403);
        assertThat(e.code()).isEqualTo("permission_denied");
        assertThat(e.type()).isEqualTo("invalid_request_error");
    }

    @Test
    void otherBadRequestsPassTheMessage() {
        OpenAiError e = map(400, "{'error':{'code':400,'message':'* GenerateContentRequest.contents: must not be empty',"
                + "'status':'INVALID_ARGUMENT'}}");
        assertThat(e.status()).isEqualTo(400);
        assertThat(e.type()).isEqualTo("invalid_request_error");
        assertThat(e.code()).isNull();
        assertThat(e.message()).isEqualTo("* GenerateContentRequest.contents: must not be empty");
        assertThat(map(400, "{'error':{'code':400,'message':'User location is not supported for the API use.',"
                + "'status':'FAILED_PRECONDITION'}}").status()).isEqualTo(400);
    }

    @Test
    void notFoundIsModelNotFound() {
        OpenAiError e = map(404, "{'error':{'code':404,'message':'models/gemini-x is not found for API version v1beta',"
                + "'status':'NOT_FOUND'}}");
        assertThat(e.status()).isEqualTo(404);
        assertThat(e.code()).isEqualTo("model_not_found");
    }

    @Test
    void perMinuteQuotaIsARateLimitWithRetryAfter() {
        OpenAiError e = map(429, PER_MINUTE);
        assertThat(e.status()).isEqualTo(429);
        assertThat(e.type()).isEqualTo("requests");
        assertThat(e.code()).isEqualTo("rate_limit_exceeded");
        assertThat(e.retryAfterSeconds()).isEqualTo(21);
        assertThat(e.shouldRetry()).isTrue();
    }

    @Test
    void tokenQuotaIsTypeTokens() {
        OpenAiError e = map(429, TOKENS);
        assertThat(e.type()).isEqualTo("tokens");
        assertThat(e.retryAfterSeconds()).isEqualTo(-1);
    }

    @Test
    void perDayQuotaIsInsufficientQuotaWithoutRetry() {
        OpenAiError e = map(429, PER_DAY);
        assertThat(e.status()).isEqualTo(429);
        assertThat(e.type()).isEqualTo("insufficient_quota");
        assertThat(e.code()).isEqualTo("insufficient_quota");
        assertThat(e.retryAfterSeconds()).isEqualTo(-1);
        assertThat(e.shouldRetry()).isFalse();
    }

    @Test
    void bare429IsARateLimit() {
        OpenAiError e = map(429, "{'error':{'code':429,'message':'Resource has been exhausted (e.g. check quota).',"
                + "'status':'RESOURCE_EXHAUSTED'}}");
        assertThat(e.type()).isEqualTo("requests");
        assertThat(e.code()).isEqualTo("rate_limit_exceeded");
    }

    @ParameterizedTest
    @CsvSource({
            "500, INTERNAL, 500, ",
            "503, UNAVAILABLE, 503, ",
            "504, DEADLINE_EXCEEDED, 504, timeout",
            "499, CANCELLED, 500, ",
            "502, UNKNOWN, 502, ",
    })
    void serverErrors(int gemini, String status, int openAi, String code) {
        OpenAiError e = map(gemini, "{'error':{'code':" + gemini + ",'message':'m','status':'" + status + "'}}");
        assertThat(e.status()).isEqualTo(openAi);
        assertThat(e.type()).isEqualTo("server_error");
        assertThat(e.code()).isEqualTo(code);
        assertThat(e.shouldRetry()).isTrue();
    }

    @Test
    void arrayWrappedErrorIsRead() {
        OpenAiError e = map(503, "[{'error':{'code':503,'message':'The model is overloaded. Please try again later.',"
                + "'status':'UNAVAILABLE'}}]");
        assertThat(e.message()).isEqualTo("The model is overloaded. Please try again later.");
        assertThat(e.status()).isEqualTo(503);
    }

    @Test
    void nonJsonBodyUsesTheStatus() {
        OpenAiError e = OpenAiErrors.fromGemini(502, "<html>Bad Gateway</html>".getBytes(StandardCharsets.UTF_8));
        assertThat(e.status()).isEqualTo(502);
        assertThat(e.message()).isEqualTo("Upstream error (HTTP 502).");
        assertThat(OpenAiErrors.fromGemini(418, new byte[0]).type()).isEqualTo("invalid_request_error");
    }

    @Test
    void errorObjectOfAStreamEventUsesItsCode() {
        OpenAiError e = OpenAiErrors.fromGemini(0, Map.of("code", 500, "message", "internal"));
        assertThat(e.status()).isEqualTo(500);
        assertThat(OpenAiErrors.fromGemini(0, (Object) null).status()).isEqualTo(500);
    }

    @Test
    void byteBufBodyIsLeftUntouched() {
        ByteBuf body = Unpooled.directBuffer().writeBytes(bytes(API_KEY_INVALID));
        try {
            assertThat(OpenAiErrors.fromGemini(400, body).status()).isEqualTo(401);
            assertThat(body.readerIndex()).isZero();
        } finally {
            body.release();
        }
    }

    @Test
    void gatewayErrors() {
        assertThat(tree(OpenAiErrors.of(new OpenAiRequestException("messages[0].role", "bad role")).toJson()))
                .isEqualTo(json("{'error':{'message':'bad role','type':'invalid_request_error','param':'messages[0].role',"
                        + "'code':null}}"));
        assertThat(OpenAiErrors.authentication("Incorrect API key provided.").status()).isEqualTo(401);
        assertThat(OpenAiErrors.authentication("x").code()).isEqualTo("invalid_api_key");
        assertThat(OpenAiErrors.permissionDenied("x").status()).isEqualTo(403);
        OpenAiError notFound = OpenAiErrors.modelNotFound("gpt-9");
        assertThat(notFound.status()).isEqualTo(404);
        assertThat(notFound.message()).isEqualTo("The model `gpt-9` does not exist or you do not have access to it.");
        assertThat(OpenAiErrors.notFound("no route").code()).isNull();
        assertThat(OpenAiErrors.payloadTooLarge("big").status()).isEqualTo(413);
        OpenAiError limited = OpenAiErrors.rateLimited("slow down", 7);
        assertThat(limited.status()).isEqualTo(429);
        assertThat(limited.retryAfterSeconds()).isEqualTo(7);
        OpenAiError exhausted = OpenAiErrors.unavailable("all keys exhausted for gemini-2.5-pro", 3600);
        assertThat(exhausted.status()).isEqualTo(503);
        assertThat(exhausted.shouldRetry()).isFalse();
        assertThat(OpenAiErrors.serverError(504, "slow").code()).isEqualTo("timeout");
        assertThat(OpenAiErrors.serverError(502, "down").type()).isEqualTo("server_error");
        assertThat(OpenAiErrors.of(409, "conflict", "c", null, null).shouldRetry()).isFalse();
        assertThat(tree(OpenAiErrors.json("m", "t", null, "c")))
                .isEqualTo(json("{'error':{'message':'m','type':'t','param':null,'code':'c'}}"));
    }

    @Test
    void messagesAreEscaped() {
        OpenAiError e = OpenAiErrors.invalidRequest(null, "quote \" backslash \\ newline \n");
        assertThat(tree(e.toJson()).at("/error/message").asText()).isEqualTo("quote \" backslash \\ newline \n");
    }

    @Test
    void sseFrame() {
        assertThat(new String(OpenAiErrors.serverError(502, "gone").toSseFrame(), StandardCharsets.UTF_8))
                .isEqualTo("data: {\"error\":{\"message\":\"gone\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n");
        ByteBuf out = Unpooled.buffer();
        try {
            OpenAiErrors.serverError(502, "gone").writeSseFrame(out);
            OpenAiErrors.serverError(502, "gone").writeJson(out);
            assertThat(out.toString(StandardCharsets.UTF_8)).startsWith("data: {").endsWith("null}}");
        } finally {
            out.release();
        }
    }

    @Test
    void retryDelaysRoundUp() {
        assertThat(OpenAiErrors.seconds("20s")).isEqualTo(20);
        assertThat(OpenAiErrors.seconds("20.1s")).isEqualTo(21);
        assertThat(OpenAiErrors.seconds("0.5s")).isEqualTo(1);
        assertThat(OpenAiErrors.seconds("soon")).isEqualTo(-1);
    }
}
