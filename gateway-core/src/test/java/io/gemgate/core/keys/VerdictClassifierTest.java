package io.gemgate.core.keys;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;

import static io.gemgate.core.keys.VerdictKind.CLIENT_ERROR;
import static io.gemgate.core.keys.VerdictKind.INVALID_KEY;
import static io.gemgate.core.keys.VerdictKind.QUOTA_DAY;
import static io.gemgate.core.keys.VerdictKind.RATE_LIMIT;
import static io.gemgate.core.keys.VerdictKind.SERVER_ERROR;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.junit.jupiter.params.provider.Arguments.arguments;

class VerdictClassifierTest {

    private static final String MINUTE_ID = "GenerateRequestsPerMinutePerProjectPerModel-FreeTier";
    private static final String DAY_ID = "GenerateRequestsPerDayPerProjectPerModel-FreeTier";

    // Bodies as Google sends them (google.rpc.Status with QuotaFailure, RetryInfo, ErrorInfo details; Gemini API docs:
    // Rate limits, Troubleshooting). "\\n" keeps the JSON escape (a raw newline in a JSON string is invalid).
    private static final String QUOTA_MESSAGE = "You exceeded your current quota, please check your plan and billing"
            + " details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
            + " To monitor your current usage, head to: https://ai.dev/rate-limit. \\n* Quota exceeded for metric:"
            + " generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 5, model: gemini-2.5-flash"
            + "\\nPlease retry in 20.70617005s.";
    private static final String HELP = """
            { "@type": "type.googleapis.com/google.rpc.Help",
              "links": [ { "description": "Learn more about Gemini API quotas",
                           "url": "https://ai.google.dev/gemini-api/docs/rate-limits" } ] }""";

    private static String quotaFailure(String quotaId, String metric) {
        return """
                { "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                  "violations": [ {
                    "quotaMetric": "%s",
                    "quotaId": "%s",
                    "quotaDimensions": { "model": "gemini-2.5-flash", "location": "global" },
                    "quotaValue": "5" } ] }""".formatted(metric, quotaId);
    }

    private static String quotaFailure(String quotaId) {
        return quotaFailure(quotaId, "generativelanguage.googleapis.com/generate_content_free_tier_requests");
    }

    private static String retryInfo(String delay) {
        return "{ \"@type\": \"type.googleapis.com/google.rpc.RetryInfo\", \"retryDelay\": \"" + delay + "\" }";
    }

    private static String error429(String... details) {
        return """
                { "error": {
                  "code": 429,
                  "message": "%s",
                  "status": "RESOURCE_EXHAUSTED",
                  "details": [ %s ] } }""".formatted(QUOTA_MESSAGE, String.join(",\n", details));
    }

    static final String PER_MINUTE = error429(HELP, quotaFailure(MINUTE_ID), retryInfo("20s"));
    static final String PER_DAY = error429(HELP, quotaFailure(DAY_ID), retryInfo("34s"));

    static final String KEY_INVALID = """
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
                  "message": "API key not valid. Please pass a valid API key." } ] } }""";

    static final String KEY_EXPIRED_MESSAGE_ONLY = """
            { "error": { "code": 400, "message": "API key expired. Please renew the API key.",
              "status": "INVALID_ARGUMENT" } }""";

    static final String KEY_EXPIRED_ERROR_INFO = """
            { "error": { "code": 400, "message": "Expired.", "status": "INVALID_ARGUMENT",
              "details": [ { "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_EXPIRED",
                             "domain": "googleapis.com" } ] } }""";

    static final String FORBIDDEN_NO_KEY = """
            { "error": { "code": 403,
              "message": "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
              "status": "PERMISSION_DENIED" } }""";

    static final String FORBIDDEN_LEAKED = """
            { "error": { "code": 403,
              "message": "Your API key was reported as leaked. Please use another API key.",
              "status": "PERMISSION_DENIED" } }""";

    static final String FORBIDDEN_BLOCKED = """
            { "error": { "code": 403, "message": "Requests to this API are blocked.", "status": "PERMISSION_DENIED",
              "details": [ { "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                             "reason": "API_KEY_SERVICE_BLOCKED", "domain": "googleapis.com" } ] } }""";

    static final String SERVICE_DISABLED = """
            { "error": { "code": 403, "message": "Generative Language API has not been used in project 123 before or it is disabled.",
              "status": "PERMISSION_DENIED",
              "details": [ { "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED",
                             "domain": "googleapis.com",
                             "metadata": { "consumer": "projects/123", "service": "generativelanguage.googleapis.com" } } ] } }""";

    static final String CREDENTIALS_MISSING = """
            { "error": { "code": 401, "message": "API keys are not supported by this API. Expected OAuth2 access token or other authentication credentials that assert a principal.",
              "status": "UNAUTHENTICATED",
              "details": [ { "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "CREDENTIALS_MISSING",
                             "domain": "googleapis.com" } ] } }""";

    static final String FILE_OF_ANOTHER_PROJECT = """
            { "error": { "code": 403,
              "message": "You do not have permission to access the File abc123 or it may not exist.",
              "status": "PERMISSION_DENIED" } }""";

    static final String CACHE_OF_ANOTHER_PROJECT = """
            { "error": { "code": 403, "message": "CachedContent not found (or permission denied)",
              "status": "PERMISSION_DENIED" } }""";

    static String reasonBody(int code, String reason) {
        return """
                { "error": { "code": %d, "message": "Refused.", "status": "PERMISSION_DENIED",
                  "details": [ { "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "%s",
                                 "domain": "googleapis.com" } ] } }""".formatted(code, reason);
    }

    static final String BAD_REQUEST = """
            { "error": { "code": 400,
              "message": "Function call is missing a thought_signature in functionCall parts.",
              "status": "INVALID_ARGUMENT" } }""";

    static final String LOCATION = """
            { "error": { "code": 400, "message": "User location is not supported for the API use.",
              "status": "FAILED_PRECONDITION" } }""";

    static final String NOT_FOUND = """
            { "error": { "code": 404,
              "message": "models/gemini-x is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.",
              "status": "NOT_FOUND" } }""";

    static final String INTERNAL = """
            { "error": { "code": 500, "message": "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting", "status": "INTERNAL" } }""";

    static final String OVERLOADED = """
            { "error": { "code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE" } }""";

    static final String HIGH_DEMAND = """
            { "error": { "code": 503, "message": "This model is currently experiencing high demand. Spikes in demand are usually temporary. Please try again later.", "status": "UNAVAILABLE" } }""";

    static final String DEADLINE = """
            {"error":{"code":504,"message":"Deadline expired before operation could complete.","status":"DEADLINE_EXCEEDED"}}""";

    static Stream<Arguments> cases() {
        return Stream.of(
                // 429 per minute
                arguments("per-minute, RetryInfo 20s", 429, PER_MINUTE, RATE_LIMIT, 20_000L, MINUTE_ID),
                arguments("per-minute, fractional RetryInfo rounded up", 429,
                        error429(HELP, quotaFailure(MINUTE_ID), retryInfo("20.70617005s")), RATE_LIMIT, 20_707L,
                        MINUTE_ID),
                arguments("per-minute, RetryInfo 1.5s", 429,
                        error429(quotaFailure("GenerateContentInputTokensPerModelPerMinute-FreeTier",
                                "generativelanguage.googleapis.com/generate_content_free_tier_input_token_count"),
                                retryInfo("1.5s")),
                        RATE_LIMIT, 1_500L, "GenerateContentInputTokensPerModelPerMinute-FreeTier"),
                arguments("per-minute, RetryInfo first, Help last", 429,
                        error429(retryInfo("20s"), quotaFailure(MINUTE_ID), HELP), RATE_LIMIT, 20_000L, MINUTE_ID),
                arguments("per-minute, QuotaFailure first", 429,
                        error429(quotaFailure(MINUTE_ID), HELP, retryInfo("20s")), RATE_LIMIT, 20_000L, MINUTE_ID),
                arguments("per-minute, @type after the fields", 429,
                        error429("{\"retryDelay\": \"7s\", \"@type\": \"type.googleapis.com/google.rpc.RetryInfo\"}",
                                "{\"violations\": [{\"quotaId\": \"" + MINUTE_ID + "\"}],"
                                        + " \"@type\": \"type.googleapis.com/google.rpc.QuotaFailure\"}"),
                        RATE_LIMIT, 7_000L, MINUTE_ID),
                arguments("per-minute, no RetryInfo: message hint", 429, error429(HELP, quotaFailure(MINUTE_ID)),
                        RATE_LIMIT, 20_707L, MINUTE_ID),
                arguments("RetryInfo as seconds/nanos object", 429,
                        error429("{\"@type\": \"type.googleapis.com/google.rpc.RetryInfo\","
                                + " \"retryDelay\": {\"seconds\": \"20\", \"nanos\": 500000000}}"),
                        RATE_LIMIT, 20_500L, "rate limited"),
                arguments("no details", 429, """
                        { "error": { "code": 429, "message": "Resource has been exhausted (e.g. check quota).",
                          "status": "RESOURCE_EXHAUSTED" } }""", RATE_LIMIT, -1L, "rate limited"),
                arguments("error is a string", 429, "{\"error\": \"quota\"}", RATE_LIMIT, -1L, "rate limited"),
                // 429 per day
                arguments("per-day, RetryInfo 34s ignored", 429, PER_DAY, QUOTA_DAY, -1L, DAY_ID),
                arguments("per-day, RetryInfo first", 429, error429(retryInfo("34s"), quotaFailure(DAY_ID), HELP),
                        QUOTA_DAY, -1L, DAY_ID),
                arguments("per-day among several violations", 429, error429("""
                        { "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                          "violations": [ { "quotaId": "%s" }, { "quotaId": "%s", "quotaValue": "20" } ] }"""
                        .formatted(MINUTE_ID, DAY_ID), retryInfo("34s")), QUOTA_DAY, -1L, DAY_ID),
                arguments("per-day by quotaMetric", 429,
                        error429(quotaFailure("GenerateRequestsDailyPerProject",
                                "generativelanguage.googleapis.com/generate_requests_per_day"), retryInfo("34s")),
                        QUOTA_DAY, -1L, "GenerateRequestsDailyPerProject"),
                arguments("per-day, quotaId in lower case", 429,
                        error429(quotaFailure("generaterequestsperdayperproject"), retryInfo("3s")),
                        QUOTA_DAY, -1L, "generaterequestsperdayperproject"),
                arguments("per-day, array-wrapped (stream form)", 429, "[" + PER_DAY + "]", QUOTA_DAY, -1L, DAY_ID),
                arguments("per-minute, array-wrapped (stream form)", 429, "[\r\n" + PER_MINUTE + "\r\n]", RATE_LIMIT,
                        20_000L, MINUTE_ID),
                arguments("per-day, truncated after the quotaId", 429,
                        PER_DAY.substring(0, PER_DAY.indexOf("\"quotaDimensions\"")), QUOTA_DAY, -1L, DAY_ID),
                arguments("per-minute, truncated before RetryInfo: message hint", 429,
                        PER_MINUTE.substring(0, PER_MINUTE.indexOf("\"quotaDimensions\"")), RATE_LIMIT, 20_707L,
                        MINUTE_ID),
                arguments("garbage", 429, "<html>Too Many Requests</html>", RATE_LIMIT, -1L, "rate limited"),
                arguments("empty", 429, "", RATE_LIMIT, -1L, "rate limited"),
                // 400
                arguments("API_KEY_INVALID", 400, KEY_INVALID, INVALID_KEY, -1L, "API_KEY_INVALID"),
                arguments("API_KEY_INVALID, array-wrapped", 400, "[" + KEY_INVALID + "]", INVALID_KEY, -1L,
                        "API_KEY_INVALID"),
                arguments("expired, message only", 400, KEY_EXPIRED_MESSAGE_ONLY, INVALID_KEY, -1L, "API_KEY_EXPIRED"),
                arguments("expired, ErrorInfo", 400, KEY_EXPIRED_ERROR_INFO, INVALID_KEY, -1L, "API_KEY_EXPIRED"),
                arguments("invalid key, truncated after the message", 400,
                        KEY_INVALID.substring(0, KEY_INVALID.indexOf("\"status\"")), INVALID_KEY, -1L,
                        "API_KEY_INVALID"),
                arguments("other 400", 400, BAD_REQUEST, CLIENT_ERROR, -1L, "INVALID_ARGUMENT"),
                arguments("location", 400, LOCATION, CLIENT_ERROR, -1L, "FAILED_PRECONDITION"),
                arguments("400 garbage", 400, "Bad Request", CLIENT_ERROR, -1L, "http 400"),
                // 401 / 403
                arguments("401 without a reason is the request's", 401, "", CLIENT_ERROR, -1L, "http 401"),
                arguments("401 CREDENTIALS_MISSING (method wants OAuth) is the request's", 401, CREDENTIALS_MISSING,
                        CLIENT_ERROR, -1L, "UNAUTHENTICATED"),
                arguments("403 no key is not the key's", 403, FORBIDDEN_NO_KEY, CLIENT_ERROR, -1L,
                        "PERMISSION_DENIED"),
                arguments("403 leaked: by its message", 403, FORBIDDEN_LEAKED, INVALID_KEY, -1L, "API_KEY_LEAKED"),
                arguments("403 blocked", 403, FORBIDDEN_BLOCKED, INVALID_KEY, -1L, "API_KEY_SERVICE_BLOCKED"),
                arguments("403 SERVICE_DISABLED", 403, SERVICE_DISABLED, INVALID_KEY, -1L, "SERVICE_DISABLED"),
                arguments("403 CONSUMER_SUSPENDED", 403, reasonBody(403, "CONSUMER_SUSPENDED"), INVALID_KEY, -1L,
                        "CONSUMER_SUSPENDED"),
                arguments("403 ACCESS_TOKEN_SCOPE_INSUFFICIENT", 403, reasonBody(403,
                        "ACCESS_TOKEN_SCOPE_INSUFFICIENT"), INVALID_KEY, -1L, "ACCESS_TOKEN_SCOPE_INSUFFICIENT"),
                arguments("400 BILLING_DISABLED", 400, reasonBody(400, "BILLING_DISABLED"), INVALID_KEY, -1L,
                        "BILLING_DISABLED"),
                arguments("403 IP restriction", 403, reasonBody(403, "API_KEY_IP_ADDRESS_BLOCKED"), INVALID_KEY,
                        -1L, "API_KEY_IP_ADDRESS_BLOCKED"),
                arguments("403 location policy is the same for every key", 403, reasonBody(403,
                        "LOCATION_POLICY_VIOLATED"), CLIENT_ERROR, -1L, "PERMISSION_DENIED"),
                arguments("403 a File of another project is the request's", 403, FILE_OF_ANOTHER_PROJECT,
                        CLIENT_ERROR, -1L, "PERMISSION_DENIED"),
                arguments("403 a CachedContent of another project is the request's", 403,
                        CACHE_OF_ANOTHER_PROJECT, CLIENT_ERROR, -1L, "PERMISSION_DENIED"),
                arguments("403 truncated", 403, FORBIDDEN_BLOCKED.substring(0, 30), CLIENT_ERROR, -1L,
                        "http 403"),
                // other 4xx
                arguments("404", 404, NOT_FOUND, CLIENT_ERROR, -1L, "NOT_FOUND"),
                arguments("404 empty", 404, "", CLIENT_ERROR, -1L, "http 404"),
                arguments("499", 499, "{\"error\":{\"code\":499,\"status\":\"CANCELLED\"}}", CLIENT_ERROR, -1L,
                        "CANCELLED"),
                arguments("413", 413, "Request Entity Too Large", CLIENT_ERROR, -1L, "http 413"),
                // 408 / 5xx
                arguments("408", 408, "", SERVER_ERROR, -1L, "http 408"),
                arguments("500", 500, INTERNAL, SERVER_ERROR, -1L, "INTERNAL"),
                arguments("503 overloaded", 503, OVERLOADED, SERVER_ERROR, -1L, "UNAVAILABLE"),
                arguments("503 high demand, array-wrapped", 503, "[" + HIGH_DEMAND + "]", SERVER_ERROR, -1L,
                        "UNAVAILABLE"),
                arguments("503 empty", 503, "", SERVER_ERROR, -1L, "http 503"),
                arguments("503 with RetryInfo", 503, """
                        {"error":{"code":503,"status":"UNAVAILABLE","details":[
                          {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2s"}]}}""",
                        SERVER_ERROR, 2_000L, "UNAVAILABLE"),
                arguments("502 html", 502, "<html><body>Bad Gateway</body></html>", SERVER_ERROR, -1L, "http 502"),
                arguments("504", 504, DEADLINE, SERVER_ERROR, -1L, "DEADLINE_EXCEEDED"),
                arguments("504 truncated", 504, DEADLINE.substring(0, 40), SERVER_ERROR, -1L, "http 504"),
                arguments("599", 599, "x", SERVER_ERROR, -1L, "http 599"),
                // odd statuses
                arguments("302", 302, "", CLIENT_ERROR, -1L, "http 302"),
                arguments("600", 600, "", SERVER_ERROR, -1L, "http 600"),
                arguments("0", 0, "", SERVER_ERROR, -1L, "http 0"));
    }

    /** How a body reaches the classifier: every ByteBuf shape, with the readable bytes not at index 0. */
    enum Shape {
        HEAP_SLICE(bytes -> {
            byte[] padded = new byte[bytes.length + 8];
            System.arraycopy(bytes, 0, padded, 5, bytes.length);
            return Unpooled.wrappedBuffer(padded, 5, bytes.length); // arrayOffset 5
        }),
        HEAP_READ_PREFIX(bytes -> {
            ByteBuf b = Unpooled.buffer(bytes.length + 4);
            b.writeBytes("JUNK".getBytes(StandardCharsets.US_ASCII)).writeBytes(bytes);
            b.readerIndex(4);
            return b;
        }),
        DIRECT(bytes -> {
            ByteBuf b = Unpooled.directBuffer(bytes.length + 3);
            b.writeBytes(new byte[] {'[', '[', '['}).writeBytes(bytes);
            b.readerIndex(3);
            return b;
        }),
        COMPOSITE(bytes -> {
            int half = bytes.length / 2;
            CompositeByteBuf c = Unpooled.compositeBuffer();
            c.addComponents(true, Unpooled.copiedBuffer(bytes, 0, half),
                    Unpooled.directBuffer(bytes.length - half + 1).writeBytes(bytes, half, bytes.length - half));
            return c;
        });

        final Function<byte[], ByteBuf> make;

        Shape(Function<byte[], ByteBuf> make) {
            this.make = make;
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void classifiesByteArray(String name, int status, String body, VerdictKind kind, long delay, String reason) {
        Verdict v = VerdictClassifier.classify(status, body.getBytes(StandardCharsets.UTF_8));

        assertThat(v).isEqualTo(new Verdict(kind, delay, reason));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void classifiesEveryBufferShapeWithoutTouchingIt(String name, int status, String body, VerdictKind kind,
                                                     long delay, String reason) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        for (Shape shape : Shape.values()) {
            ByteBuf buf = shape.make.apply(bytes);
            try {
                int readerIndex = buf.readerIndex();
                int writerIndex = buf.writerIndex();

                Verdict v = VerdictClassifier.classify(status, buf);

                assertThat(v).as(shape.name()).isEqualTo(new Verdict(kind, delay, reason));
                assertThat(buf.readerIndex()).as(shape.name()).isEqualTo(readerIndex);
                assertThat(buf.writerIndex()).as(shape.name()).isEqualTo(writerIndex);
                assertThat(buf.refCnt()).as(shape.name()).isEqualTo(1);
            } finally {
                buf.release();
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"200", "201", "204", "299"})
    void successIsNotParsed(int status) {
        ByteBuf released = Unpooled.copiedBuffer("not json", StandardCharsets.US_ASCII);
        released.release();

        assertThat(VerdictClassifier.classify(status, released)).isSameAs(Verdict.SUCCESS);
        assertThat(VerdictClassifier.classify(status, (byte[]) null)).isSameAs(Verdict.SUCCESS);
    }

    @Test
    void nullOrReleasedBodyClassifiesByStatus() {
        ByteBuf released = Unpooled.copiedBuffer(PER_DAY, StandardCharsets.UTF_8);
        released.release();
        ByteBuf releasedDirect = Unpooled.directBuffer().writeBytes(PER_DAY.getBytes(StandardCharsets.UTF_8));
        releasedDirect.release();

        assertThat(VerdictClassifier.classify(503, (ByteBuf) null))
                .isEqualTo(new Verdict(SERVER_ERROR, -1, "http 503"));
        assertThat(VerdictClassifier.classify(429, (byte[]) null))
                .isEqualTo(new Verdict(RATE_LIMIT, -1, "rate limited"));
        assertThat(VerdictClassifier.classify(429, released)).isEqualTo(new Verdict(RATE_LIMIT, -1, "rate limited"));
        assertThat(VerdictClassifier.classify(429, releasedDirect))
                .isEqualTo(new Verdict(RATE_LIMIT, -1, "rate limited"));
    }

    static Stream<Arguments> truncations() {
        return Stream.of(
                arguments(429, PER_MINUTE, EnumSet.of(RATE_LIMIT)),
                arguments(429, PER_DAY, EnumSet.of(RATE_LIMIT, QUOTA_DAY)),
                arguments(429, "[" + PER_DAY + "]", EnumSet.of(RATE_LIMIT, QUOTA_DAY)),
                arguments(400, KEY_INVALID, EnumSet.of(INVALID_KEY, CLIENT_ERROR)),
                arguments(403, FORBIDDEN_BLOCKED, EnumSet.of(INVALID_KEY, CLIENT_ERROR)),
                arguments(503, OVERLOADED, EnumSet.of(SERVER_ERROR)));
    }

    @ParameterizedTest
    @MethodSource("truncations")
    void everyTruncationClassifiesByStatus(int status, String body, Set<VerdictKind> allowed) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        for (int len = 0; len <= bytes.length; len++) {
            ByteBuf buf = Unpooled.directBuffer(len).writeBytes(bytes, 0, len);
            try {
                Verdict fromBuf = VerdictClassifier.classify(status, buf);
                byte[] prefix = java.util.Arrays.copyOf(bytes, len);
                Verdict fromArray = VerdictClassifier.classify(status, prefix);

                assertThat(fromBuf).as("prefix %d", len).isEqualTo(fromArray);
                assertThat(fromBuf.kind()).as("prefix %d", len).isIn(allowed);
                if (fromBuf.kind() == QUOTA_DAY) {
                    assertThat(fromBuf.retryDelayMillis()).isEqualTo(-1);
                }
                assertThat(buf.readerIndex()).isZero();
            } finally {
                buf.release();
            }
        }
    }

    @Test
    void randomGarbageNeverThrows() {
        Random random = new Random(42);
        byte[] alphabet = "{}[]\":,\\ 0123456789.-eEtrufalsn@errorAIza\u00ff".getBytes(StandardCharsets.ISO_8859_1);
        int[] statuses = {400, 401, 403, 404, 408, 429, 500, 503, 504};
        for (int i = 0; i < 2_000; i++) {
            byte[] body = new byte[random.nextInt(200)];
            for (int j = 0; j < body.length; j++) {
                body[j] = random.nextBoolean() ? alphabet[random.nextInt(alphabet.length)] : (byte) random.nextInt();
            }
            int status = statuses[random.nextInt(statuses.length)];
            assertThatCode(() -> {
                Verdict v = VerdictClassifier.classify(status, body);
                assertThat(v.reason()).hasSizeLessThanOrEqualTo(VerdictClassifier.MAX_REASON);
            }).doesNotThrowAnyException();
        }
    }

    @Test
    void deepNestingAndHugeBodiesDoNotThrow() {
        String deep = "[".repeat(100_000);
        String deepObjects = "{\"error\":".repeat(50_000);

        assertThat(VerdictClassifier.classify(429, deep.getBytes(StandardCharsets.US_ASCII)))
                .isEqualTo(new Verdict(RATE_LIMIT, -1, "rate limited"));
        assertThat(VerdictClassifier.classify(503, deepObjects.getBytes(StandardCharsets.US_ASCII)))
                .isEqualTo(new Verdict(SERVER_ERROR, -1, "http 503"));
    }

    @Test
    void reasonIsBoundedAndRedacted() {
        String key = "AIzaSyA1234567890abcdefghijklmnopqrstuv"; // AIza + 35
        assertThat(key).hasSize(39);
        String longReason = "BLOCKED_" + key + "_" + "X".repeat(300);
        String body = """
                { "error": { "code": 403, "status": "%s",
                  "details": [ { "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "%s" } ] } }"""
                .formatted(longReason, longReason);

        Verdict v = VerdictClassifier.classify(403, body.getBytes(StandardCharsets.UTF_8));

        assertThat(v.kind()).isEqualTo(CLIENT_ERROR); // an unknown reason never sets a key aside
        assertThat(v.reason()).startsWith("BLOCKED_[redacted]_XXX").doesNotContain("AIza")
                .hasSize(VerdictClassifier.MAX_REASON);
    }

    @Test
    void quotaIdWithKeyAndControlCharactersIsCleaned() {
        String body = error429(quotaFailure("PerDay\\u0000AIzaSyA1234567890abcdefghijklmnopqrstuv\\nx"));

        Verdict v = VerdictClassifier.classify(429, body.getBytes(StandardCharsets.UTF_8));

        assertThat(v).isEqualTo(new Verdict(QUOTA_DAY, -1, "PerDay [redacted] x"));
    }

    @Test
    void sanitizeKeepsSurrogatePairsWhole() {
        String s = "a".repeat(VerdictClassifier.MAX_REASON - 1) + "\uD83D\uDE00tail";

        assertThat(VerdictClassifier.sanitize(s)).isEqualTo("a".repeat(VerdictClassifier.MAX_REASON - 1));
        assertThat(VerdictClassifier.sanitize(null)).isEmpty();
    }

    @ParameterizedTest
    @CsvSource(nullValues = "NULL", value = {
            "20s, 20000",
            "1.5s, 1500",
            "20.70617005s, 20707",
            "34s, 34000",
            "0s, 0",
            "0.0001s, 1",
            "0.001s, 1",
            "0.0010000000001s, 2",
            "20.000s, 20000",
            "' 3s ', 3000",
            "565.108ms, 566",
            "12ms, 12",
            ".5s, 500",
            "20, -1",
            "s, -1",
            "'', -1",
            "-1s, -1",
            "1.s, -1",
            "20sec, -1",
            "abc, -1",
            "9999999999999999s, -1",
            "NULL, -1",
    })
    void parsesDurations(String text, long millis) {
        assertThat(VerdictClassifier.parseDurationMillis(text)).isEqualTo(millis);
    }

    @ParameterizedTest
    @CsvSource(nullValues = "NULL", value = {
            "'Quota exceeded.\nPlease retry in 20.70617005s.', 20707",
            "'Please retry in 565.108ms.', 566",
            "'please RETRY IN 3s', 3000",
            "'Please retry in a minute.', -1",
            "'Resource has been exhausted (e.g. check quota).', -1",
            "NULL, -1",
    })
    void parsesRetryHintInMessage(String message, long millis) {
        assertThat(VerdictClassifier.retryHintMillis(message)).isEqualTo(millis);
    }
}
