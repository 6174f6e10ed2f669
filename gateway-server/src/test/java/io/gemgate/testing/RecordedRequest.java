package io.gemgate.testing;

import io.netty.handler.codec.http.QueryStringDecoder;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One request as {@link FakeGemini} received it. Immutable.
 *
 * @param method       HTTP method, e.g. {@code "POST"}
 * @param uri          request target as sent, with query string, e.g. {@code "/v1beta/models/m:streamGenerateContent?alt=sse"}
 * @param path         decoded path without query string, e.g. {@code "/v1beta/models/m:streamGenerateContent"}
 * @param headers      all headers; the map is case-insensitive ({@code headers().get("X-Goog-Api-Key")} works)
 * @param body         request body decoded as UTF-8 ({@code ""} when empty)
 * @param key          API key: {@code x-goog-api-key} header, else {@code ?key=} query parameter, else {@code ""}
 * @param at           when the fake finished reading the request
 * @param connectionId id of the TCP connection it came on, to assert connection reuse (equal id = same connection)
 * @param remoteHost   the address the connection came from, e.g. {@code "127.0.0.2"}: which proxy (exit) carried it
 */
public record RecordedRequest(String method, String uri, String path, Map<String, List<String>> headers,
                              String body, String key, Instant at, String connectionId, String remoteHost) {

    private static final Pattern MODEL = Pattern.compile("/models/([^/:]+)(?::[A-Za-z]+)?$");

    /** First value of the header {@code name} (case-insensitive), or {@code null} if absent. */
    public String header(String name) {
        List<String> values = headers.get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    /** First value of the query parameter {@code name}, or {@code null} if absent. */
    public String queryParam(String name) {
        List<String> values = new QueryStringDecoder(uri).parameters().get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    /** Model id from a {@code /models/{id}} or {@code /models/{id}:method} path, or {@code null}. */
    public String model() {
        Matcher m = MODEL.matcher(path);
        return m.find() ? m.group(1) : null;
    }
}
