package io.gemgate.bench.e2e;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;

/**
 * The fake upstream's answers, encoded once as complete HTTP/1.1 bytes (status line, Google's usual headers, body)
 * in unreleasable direct buffers. Each answer goes out as a {@link ByteBuf#duplicate()}: no encoding, no copy, no
 * reference counting per request, so the upstream costs as little as it can and the figures measure the proxies.
 *
 * <p>Bodies follow the Gemini API reference (Generating content) and Google's error model: a {@code generateContent}
 * answer of about 600 bytes with {@code usageMetadata}; {@code streamGenerateContent?alt=sse} events written {@code
 * data: <json>\r\n\r\n} in chunked framing, the last one with {@code finishReason} and the final usage; the per-minute
 * 429 with QuotaFailure and a RetryInfo of 1 s.
 */
final class CannedAnswers {
    static final String MODEL = "gemini-2.5-flash";

    /** What Google sends with every answer (the proxies must carry or drop these; Alt-Svc is hop-by-hop to Gemgate). */
    private static final String GOOGLE_HEADERS = "Vary: Origin\r\nVary: X-Origin\r\nVary: Referer\r\n"
            + "Server: scaffolding on HTTPServer2\r\nX-XSS-Protection: 0\r\nX-Frame-Options: SAMEORIGIN\r\n"
            + "X-Content-Type-Options: nosniff\r\nServer-Timing: gfet4t7; dur=412\r\n"
            + "Alt-Svc: h3=\":443\"; ma=2592000,h3-29=\":443\"; ma=2592000\r\n";

    final ByteBuf generateContent;
    final int generateContentBodyBytes;
    final ByteBuf sseHead;
    /** One chunk-framed SSE event each; the last carries finishReason and the terminating zero-length chunk. */
    final ByteBuf[] sseEvents;
    /** All events as one JSON array ({@code streamGenerateContent} without {@code alt=sse}). */
    final ByteBuf streamArray;
    final ByteBuf rateLimited;
    final ByteBuf noKey;
    final ByteBuf notFound;
    final ByteBuf badRequest;

    CannedAnswers(int sseEventCount) {
        if (sseEventCount < 1) {
            throw new IllegalArgumentException("sseEvents: " + sseEventCount + " (expected: > 0)");
        }
        String body = generateContentJson();
        generateContentBodyBytes = body.getBytes(StandardCharsets.UTF_8).length;
        generateContent = full(200, "OK", "application/json; charset=UTF-8", body);

        sseHead = fixed("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n" + GOOGLE_HEADERS
                + "Transfer-Encoding: chunked\r\n\r\n");
        sseEvents = new ByteBuf[sseEventCount];
        StringBuilder array = new StringBuilder("[");
        for (int i = 0; i < sseEventCount; i++) {
            boolean last = i == sseEventCount - 1;
            String json = streamEventJson(i, last);
            String event = "data: " + json + "\r\n\r\n";
            int len = event.getBytes(StandardCharsets.UTF_8).length;
            sseEvents[i] = fixed(Integer.toHexString(len) + "\r\n" + event + "\r\n" + (last ? "0\r\n\r\n" : ""));
            array.append(i == 0 ? "" : ",\r\n").append(json);
        }
        streamArray = full(200, "OK", "application/json; charset=UTF-8", array.append(']').toString());

        rateLimited = full(429, "Too Many Requests", "application/json; charset=UTF-8", rateLimitJson());
        noKey = full(403, "Forbidden", "application/json; charset=UTF-8", error(403, "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established identity). Please use API "
                        + "Key or other form of API consumer identity to call this API."));
        notFound = full(404, "Not Found", "application/json; charset=UTF-8",
                error(404, "NOT_FOUND", "The fake upstream serves generateContent and streamGenerateContent only."));
        badRequest = fixed("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }

    /** An answer with a body of runtime content (the stats), allocated per call; the caller writes (and frees) it. */
    static ByteBuf json(String body) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        return Unpooled.wrappedBuffer(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII), b);
    }

    private static ByteBuf full(int code, String reason, String type, String body) {
        int len = body.getBytes(StandardCharsets.UTF_8).length;
        return fixed("HTTP/1.1 " + code + " " + reason + "\r\nContent-Type: " + type + "\r\n" + GOOGLE_HEADERS
                + "Content-Length: " + len + "\r\n\r\n" + body);
    }

    private static ByteBuf fixed(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        return Unpooled.unreleasableBuffer(Unpooled.directBuffer(b.length).writeBytes(b));
    }

    private static String generateContentJson() {
        return "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hello! This answer comes from the fake "
                + "upstream of the Gemgate benchmark. It is about as long as a short reply of a chat model, so that "
                + "every proxy relays a realistic body; its words do not matter. A real answer would now go on to say something "
                + "useful.\"}],\"role\":\"model\"},"
                + "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":8,"
                + "\"candidatesTokenCount\":41,\"totalTokenCount\":49,\"promptTokensDetails\":[{\"modality\":"
                + "\"TEXT\",\"tokenCount\":8}]},\"modelVersion\":\"" + MODEL + "\",\"responseId\":"
                + "\"bench-gc-QkVOQ0hNQVJLLVJFU1BPTlNF\"}";
    }

    private static String streamEventJson(int i, boolean last) {
        int candidates = 6 * (i + 1);
        return "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Chunk " + i + " of the streamed answer, a few "
                + "words long. \"}],\"role\":\"model\"}" + (last ? ",\"finishReason\":\"STOP\"" : "")
                + ",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":8,"
                + (last ? "\"candidatesTokenCount\":" + candidates + "," : "")
                + "\"totalTokenCount\":" + (last ? 8 + candidates : 8) + "},\"modelVersion\":\"" + MODEL
                + "\",\"responseId\":\"bench-sse-QkVOQ0hNQVJL\"}";
    }

    /**
     * Google's per-minute 429 (Gemini API docs: Rate limits): Help, QuotaFailure with a per-minute quotaId, RetryInfo
     * "1s".
     */
    private static String rateLimitJson() {
        String message = "You exceeded your current quota, please check your plan and billing details. For more "
                + "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor "
                + "your current usage, head to: https://ai.dev/rate-limit. \\n* Quota exceeded for metric: "
                + "generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 5, model: " + MODEL
                + "\\nPlease retry in 1s.";
        return "{\"error\":{\"code\":429,\"message\":\"" + message + "\",\"status\":\"RESOURCE_EXHAUSTED\","
                + "\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.Help\",\"links\":[{\"description\":"
                + "\"Learn more about Gemini API quotas\",\"url\":\"https://ai.google.dev/gemini-api/docs/rate-limits\""
                + "}]},{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":[{\"quotaMetric\":"
                + "\"generativelanguage.googleapis.com/generate_content_free_tier_requests\",\"quotaId\":"
                + "\"GenerateRequestsPerMinutePerProjectPerModel-FreeTier\",\"quotaDimensions\":{\"model\":\"" + MODEL
                + "\",\"location\":\"global\"},\"quotaValue\":\"5\"}]},{\"@type\":"
                + "\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"1s\"}]}}";
    }

    private static String error(int code, String status, String message) {
        return "{\"error\":{\"code\":" + code + ",\"message\":\"" + message + "\",\"status\":\"" + status + "\"}}";
    }
}
