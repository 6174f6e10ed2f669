package io.gemgate.testing;

import io.netty.channel.ChannelFuture;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.function.Predicate;

import static io.gemgate.testing.FakeGemini.quote;
import static java.util.Objects.requireNonNull;

/**
 * How {@link FakeGemini} answers one request. Immutable; one instance may be scripted many times.
 *
 * <p>Error factories produce Google's error bodies (google.rpc.Status, Gemini API docs: Troubleshooting; {@code
 * {"error":{"code","message","status", "details"}}}, {@code Content-Type: application/json; charset=UTF-8}). Stream
 * factories send {@code 200 text/event-stream}, chunked, one {@code data: <json>\r\n\r\n} event per flushed chunk.
 * Timers run on the connection's event loop; nothing blocks it.
 */
public final class Behavior {

    /** The model named in quota errors when the request path names none. */
    static final String DEFAULT_MODEL = "gemini-2.5-flash";

    private static final String HELP = """
            {"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more about Gemini API \
            quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]}""";

    @FunctionalInterface
    interface Action {
        void respond(Exchange exchange);
    }

    private final String name;
    private final Action action;

    private Behavior(String name, Action action) {
        this.name = name;
        this.action = action;
    }

    void respond(Exchange exchange) {
        action.respond(exchange);
    }

    @Override
    public String toString() {
        return name;
    }

    /** The fake's default answer for the request's path (see {@link FakeGemini}), regardless of the key. */
    public static Behavior ok() {
        return new Behavior("ok", ex -> ex.fake.answerPath(ex));
    }

    /**
     * 429 RESOURCE_EXHAUSTED for the per-minute free-tier quota: details Help, QuotaFailure (quotaId
     * {@code GenerateRequestsPerMinutePerProjectPerModel-FreeTier}, quotaValue "5") and RetryInfo with
     * {@code retryDelay} written as Google does ({@code "20s"}, {@code "1.5s"}).
     */
    public static Behavior rateLimitMinute(Duration retryDelay) {
        String delay = protoDuration(requireNonNull(retryDelay, "retryDelay"));
        return new Behavior("rateLimitMinute(" + delay + ")", ex -> {
            String model = modelOf(ex);
            ex.sendJson(429, error(429, "RESOURCE_EXHAUSTED", quotaMessage(5, model, delay),
                    HELP, quotaFailure("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", model, 5),
                    retryInfo(delay)));
        });
    }

    /** 429 RESOURCE_EXHAUSTED "Resource has been exhausted (e.g. check quota)." without details. */
    public static Behavior rateLimitNoRetryInfo() {
        return fixed("rateLimitNoRetryInfo", 429,
                error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."));
    }

    /**
     * 429 RESOURCE_EXHAUSTED for the daily free-tier quota: details QuotaFailure (quotaId
     * {@code GenerateRequestsPerDayPerProjectPerModel-FreeTier}, quotaValue "20"), Help, and a short RetryInfo
     * {@code "34s"} that, as with Google, does not reflect the real reset time.
     */
    public static Behavior quotaDay() {
        return new Behavior("quotaDay", ex -> {
            String model = modelOf(ex);
            ex.sendJson(429, error(429, "RESOURCE_EXHAUSTED", quotaMessage(20, model, "34s"),
                    quotaFailure("GenerateRequestsPerDayPerProjectPerModel-FreeTier", model, 20), HELP,
                    retryInfo("34s")));
        });
    }

    /** 400 INVALID_ARGUMENT "API key not valid. Please pass a valid API key." with reason API_KEY_INVALID. */
    public static Behavior invalidKey() {
        String message = "API key not valid. Please pass a valid API key.";
        return fixed("invalidKey", 400, error(400, "INVALID_ARGUMENT", message, """
                {"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID",\
                "domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}""",
                "{\"@type\":\"type.googleapis.com/google.rpc.LocalizedMessage\",\"locale\":\"en-US\",\"message\":"
                        + quote(message) + "}"));
    }

    /** 403 PERMISSION_DENIED "Your API key was reported as leaked. Please use another API key.". */
    public static Behavior forbidden() {
        return fixed("forbidden", 403, error(403, "PERMISSION_DENIED",
                "Your API key was reported as leaked. Please use another API key."));
    }

    /** 403 PERMISSION_DENIED "Method doesn't allow unregistered callers..." (Google's answer to a request without key). */
    public static Behavior noKey() {
        return fixed("noKey", 403, error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers "
                + "(callers without established identity). Please use API Key or other form of API consumer "
                + "identity to call this API."));
    }

    /**
     * 400 FAILED_PRECONDITION "User location is not supported for the API use." (Gemini API docs: Troubleshooting):
     * Google refuses the country the request came from.
     */
    public static Behavior locationNotSupported() {
        return fixed("locationNotSupported", 400, error(400, "FAILED_PRECONDITION",
                "User location is not supported for the API use."));
    }

    /** 400 INVALID_ARGUMENT with {@code message} and no details. */
    public static Behavior badRequest(String message) {
        return fixed("badRequest", 400, error(400, "INVALID_ARGUMENT", requireNonNull(message, "message")));
    }

    /** 500 INTERNAL "An internal error has occurred...". */
    public static Behavior serverError() {
        return fixed("serverError", 500, error(500, "INTERNAL", "An internal error has occurred. Please retry or "
                + "report in https://developers.generativeai.google/guide/troubleshooting"));
    }

    /** 503 UNAVAILABLE "The model is overloaded. Please try again later.". */
    public static Behavior unavailable() {
        return fixed("unavailable", 503, error(503, "UNAVAILABLE", "The model is overloaded. Please try again later."));
    }

    /** 504 DEADLINE_EXCEEDED "Deadline expired before operation could complete.". */
    public static Behavior deadlineExceeded() {
        return fixed("deadlineExceeded", 504, error(504, "DEADLINE_EXCEEDED",
                "Deadline expired before operation could complete."));
    }

    /** Any status with {@code jsonBody} as {@code application/json}. */
    public static Behavior status(int code, String jsonBody) {
        return fixed("status(" + code + ")", code, requireNonNull(jsonBody, "jsonBody"));
    }

    /**
     * Answers like {@code then} when {@code test} holds for the request, else like {@code otherwise}: an upstream
     * that answers by what a request asks (a tool declaration, a model name) whichever key the rotation picked.
     */
    public static Behavior when(String name, Predicate<RecordedRequest> test, Behavior then,
                                Behavior otherwise) {
        requireNonNull(test, "test");
        requireNonNull(then, "then");
        requireNonNull(otherwise, "otherwise");
        return new Behavior("when(" + name + ", " + then + ", else " + otherwise + ")",
                ex -> (test.test(ex.request) ? then : otherwise).respond(ex));
    }

    /** Waits {@code delayBeforeHead} (an event-loop timer), then answers like {@code then}. */
    public static Behavior slow(Duration delayBeforeHead, Behavior then) {
        requireNonNull(delayBeforeHead, "delayBeforeHead");
        requireNonNull(then, "then");
        return new Behavior("slow(" + delayBeforeHead + ", " + then + ")", ex -> ex.schedule(() -> {
            if (ex.isActive()) {
                then.respond(ex);
            }
        }, delayBeforeHead));
    }

    /**
     * SSE stream of {@code eventJsons}: the first event at once, then one every {@code gap}; ends with the terminating
     * chunk right after the last. Stops if the client goes away (counted by {@link FakeGemini#cancelledStreams()}).
     */
    public static Behavior stream(List<String> eventJsons, Duration gap) {
        List<String> events = List.copyOf(eventJsons);
        requireNonNull(gap, "gap");
        return new Behavior("stream(" + events.size() + " events, gap " + gap + ")", ex -> {
            ex.startStream(Exchange.SSE);
            sendFrom(ex, events, 0, gap);
        });
    }

    /**
     * SSE stream that sends and flushes the first of {@code eventJsons}, then the rest (and the end of the stream) only
     * after {@code releaseRest} reaches zero. The latch is awaited on a fake-owned thread, never on the event loop.
     */
    public static Behavior gatedStream(List<String> eventJsons, CountDownLatch releaseRest) {
        List<String> events = List.copyOf(eventJsons);
        requireNonNull(releaseRest, "releaseRest");
        if (events.isEmpty()) {
            throw new IllegalArgumentException("eventJsons: empty (expected: at least one event)");
        }
        return new Behavior("gatedStream(" + events.size() + " events)", ex -> {
            ex.startStream(Exchange.SSE);
            ex.sse(events.get(0));
            ex.offLoop(() -> {
                try {
                    releaseRest.await();
                } catch (InterruptedException e) {
                    return; // the fake is closing
                }
                ex.execute(() -> sendFrom(ex, events, 1, Duration.ZERO));
            });
        });
    }

    /**
     * Sends the SSE head and {@code eventsBeforeDrop} text events ({@code "part1"}, {@code "part2"}, ...), then closes
     * the connection without the terminating chunk, so the client sees a truncated body. Not counted as cancelled.
     */
    public static Behavior dropMidStream(int eventsBeforeDrop) {
        if (eventsBeforeDrop < 0) {
            throw new IllegalArgumentException("eventsBeforeDrop: " + eventsBeforeDrop + " (expected: >= 0)");
        }
        return new Behavior("dropMidStream(" + eventsBeforeDrop + ")", ex -> {
            ChannelFuture last = ex.startStream(Exchange.SSE);
            for (int i = 1; i <= eventsBeforeDrop; i++) {
                last = ex.sse(FakeGemini.textEvent("part" + i));
            }
            ex.dropAfter(last);
        });
    }

    /**
     * A 200 JSON head declaring 1000 bytes, the first 14 of them, then: {@code "close"} the connection, {@code "reset"}
     * it, or {@code "stall"} (nothing more, connection kept open).
     */
    public static Behavior headThen(String what) {
        return new Behavior("headThen(" + what + ")", ex -> {
            ChannelFuture f = ex.partialJson(1000, "{\"candidates\":");
            switch (what) {
                case "close" -> ex.dropAfter(f);
                case "reset" -> ex.resetAfter(f);
                case "stall" -> { }
                default -> throw new IllegalArgumentException("headThen: " + what);
            }
        });
    }

    /** Closes the connection without any response. */
    public static Behavior closeImmediately() {
        return new Behavior("closeImmediately", Exchange::closeNow);
    }

    /** Never answers and keeps the connection open (until the client or {@link FakeGemini#close()} closes it). */
    public static Behavior hang() {
        return new Behavior("hang", ex -> { });
    }

    private static void sendFrom(Exchange ex, List<String> events, int index, Duration gap) {
        if (!ex.isActive()) {
            return;
        }
        if (index < events.size()) {
            ex.sse(events.get(index));
        }
        if (index + 1 >= events.size()) {
            ex.endStream();
        } else if (gap.isZero()) {
            sendFrom(ex, events, index + 1, gap);
        } else {
            ex.schedule(() -> sendFrom(ex, events, index + 1, gap), gap);
        }
    }

    private static Behavior fixed(String name, int code, String json) {
        return new Behavior(name, ex -> ex.sendJson(code, json));
    }

    private static String modelOf(Exchange ex) {
        String model = ex.request.model();
        return model != null ? model : DEFAULT_MODEL;
    }

    /** Google's error envelope; {@code details} are complete JSON objects. */
    public static String error(int code, String status, String message, String... details) {
        StringBuilder sb = new StringBuilder("{\"error\":{\"code\":").append(code)
                .append(",\"message\":").append(quote(message))
                .append(",\"status\":\"").append(status).append('"');
        if (details.length > 0) {
            sb.append(",\"details\":[").append(String.join(",", details)).append(']');
        }
        return sb.append("}}").toString();
    }

    private static String quotaMessage(int limit, String model, String retryDelay) {
        return "You exceeded your current quota, please check your plan and billing details. For more information on "
                + "this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current "
                + "usage, head to: https://ai.dev/rate-limit. \n* Quota exceeded for metric: "
                + "generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: " + limit
                + ", model: " + model + "\nPlease retry in " + retryDelay + ".";
    }

    private static String quotaFailure(String quotaId, String model, int value) {
        return "{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":[{\"quotaMetric\":"
                + "\"generativelanguage.googleapis.com/generate_content_free_tier_requests\",\"quotaId\":"
                + quote(quotaId) + ",\"quotaDimensions\":{\"model\":" + quote(model)
                + ",\"location\":\"global\"},\"quotaValue\":\"" + value + "\"}]}";
    }

    private static String retryInfo(String delay) {
        return "{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"" + delay + "\"}";
    }

    /** A duration as a proto3 JSON string with trailing zeros trimmed: 20 s → "20s", 1500 ms → "1.5s". */
    static String protoDuration(Duration d) {
        return new BigDecimal(d.getSeconds()).add(BigDecimal.valueOf(d.getNano(), 9)).stripTrailingZeros()
                .toPlainString() + "s";
    }
}
