package io.gemgate.bench;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.gemgate.core.keys.Verdict;
import io.gemgate.core.keys.VerdictClassifier;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.runner.RunnerException;

/**
 * {@link VerdictClassifier#classify(int, ByteBuf)} on Google's real error bodies (Gemini API docs: Troubleshooting):
 * what each failed upstream attempt costs before the gateway moves to the next key. The body is a heap buffer made
 * once; classify reads it through a duplicate, so the same buffer serves every call.
 */
@State(Scope.Benchmark)
public class VerdictBenchmark extends AbstractBenchmark {

    /** 429, free-tier per-minute quota: QuotaFailure + RetryInfo "20s" (a cooldown of 20 s). */
    static final String RATE_LIMIT_MINUTE = """
            { "error": {
              "code": 429,
              "message": "You exceeded your current quota, please check your plan and billing details. For more \
            information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your \
            current usage, head to: https://ai.dev/rate-limit. \\n* Quota exceeded for metric: \
            generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 5, model: \
            gemini-2.5-flash\\nPlease retry in 20.70617005s.",
              "status": "RESOURCE_EXHAUSTED",
              "details": [
                { "@type": "type.googleapis.com/google.rpc.Help",
                  "links": [ { "description": "Learn more about Gemini API quotas",
                               "url": "https://ai.google.dev/gemini-api/docs/rate-limits" } ] },
                { "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                  "violations": [ {
                    "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    "quotaDimensions": { "model": "gemini-2.5-flash", "location": "global" },
                    "quotaValue": "5" } ] },
                { "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "20s" } ] } }
            """;

    /** 429, free-tier per-day quota: the same shape, a PerDay quotaId, and a short RetryInfo that must be ignored. */
    static final String QUOTA_DAY = """
            { "error": {
              "code": 429,
              "message": "You exceeded your current quota, please check your plan and billing details. For more \
            information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your \
            current usage, head to: https://ai.dev/rate-limit. \\n* Quota exceeded for metric: \
            generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 20, model: \
            gemini-2.5-flash\\nPlease retry in 34.123456789s.",
              "status": "RESOURCE_EXHAUSTED",
              "details": [
                { "@type": "type.googleapis.com/google.rpc.Help",
                  "links": [ { "description": "Learn more about Gemini API quotas",
                               "url": "https://ai.google.dev/gemini-api/docs/rate-limits" } ] },
                { "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                  "violations": [ {
                    "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                    "quotaDimensions": { "model": "gemini-2.5-flash", "location": "global" },
                    "quotaValue": "20" } ] },
                { "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34s" } ] } }
            """;

    /** 400, bad key: ErrorInfo reason API_KEY_INVALID (the key leaves the rotation). */
    static final String API_KEY_INVALID = """
            { "error": {
              "code": 400,
              "message": "API key not valid. Please pass a valid API key.",
              "status": "INVALID_ARGUMENT",
              "details": [
                { "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                  "reason": "API_KEY_INVALID",
                  "domain": "googleapis.com",
                  "metadata": { "service": "generativelanguage.googleapis.com" } },
                { "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                  "locale": "en-US",
                  "message": "API key not valid. Please pass a valid API key." } ] } }
            """;

    @Param({"RATE_LIMIT_MINUTE", "QUOTA_DAY", "API_KEY_INVALID"})
    public String body;

    private int status;
    private ByteBuf buf;

    @Setup
    public void setUp() {
        String json = switch (body) {
            case "RATE_LIMIT_MINUTE" -> RATE_LIMIT_MINUTE;
            case "QUOTA_DAY" -> QUOTA_DAY;
            case "API_KEY_INVALID" -> API_KEY_INVALID;
            default -> throw new IllegalArgumentException("body: " + body);
        };
        status = body.equals("API_KEY_INVALID") ? 400 : 429;
        buf = Unpooled.wrappedBuffer(json.getBytes(UTF_8));
        // Fail fast if a body does not classify as it should: a benchmark of the wrong branch measures nothing.
        Verdict v = VerdictClassifier.classify(status, buf);
        String expected = switch (body) {
            case "RATE_LIMIT_MINUTE" -> "RATE_LIMIT/20000";
            case "QUOTA_DAY" -> "QUOTA_DAY/-1";
            default -> "INVALID_KEY/-1";
        };
        String actual = v.kind() + "/" + v.retryDelayMillis();
        if (!actual.equals(expected)) {
            throw new IllegalStateException(body + " classified as " + actual + " (expected: " + expected + ")");
        }
    }

    @Benchmark
    public Verdict classify() {
        return VerdictClassifier.classify(status, buf);
    }

    public static void main(String[] args) throws RunnerException {
        run(VerdictBenchmark.class);
    }
}
