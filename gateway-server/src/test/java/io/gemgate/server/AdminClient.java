package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gemgate.testing.GatewayHarness;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Calls the admin API of a {@link GatewayHarness} with the admin token, and checks on every answer that no upstream
 * key the test knows of appears whole in it.
 */
final class AdminClient {
    static final String ADMIN_TOKEN = "gg-test-admin-token-9c2b-5e71";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final GatewayHarness gw;
    private final List<String> secrets = new ArrayList<>();

    /** @param keys how many {@code GatewayHarness.key(i)} the gateway holds (all are checked against answers) */
    AdminClient(GatewayHarness gw, int keys) {
        this.gw = gw;
        for (int i = 0; i < keys; i++) {
            secrets.add(GatewayHarness.key(i));
        }
    }

    /** The harness environment with the admin API on, plus {@code extra} pairs. */
    static Map<String, String> env(String... extra) {
        Map<String, String> env = new HashMap<>();
        env.put("GEMGATE_ADMIN_TOKEN", ADMIN_TOKEN);
        for (int i = 0; i < extra.length; i += 2) {
            env.put(extra[i], extra[i + 1]);
        }
        return env;
    }

    /** Also checks answers for this secret (a key added during the test). */
    AdminClient secret(String s) {
        secrets.add(s);
        return this;
    }

    /** An answer: status and parsed JSON body. */
    record Answer(int status, JsonNode json, HttpResponse<String> raw) {
        String errorField() {
            JsonNode f = json.path("error").path("field");
            return f.isNull() || f.isMissingNode() ? null : f.asText();
        }

        String errorMessage() {
            return json.path("error").path("message").asText();
        }
    }

    Answer get(String path) {
        return call("GET", path, null);
    }

    Answer post(String path, String body) {
        return call("POST", path, body);
    }

    Answer patch(String path, String body) {
        return call("PATCH", path, body);
    }

    Answer delete(String path) {
        return call("DELETE", path, null);
    }

    Answer call(String method, String path, String body) {
        return send(gw.request(path).header("Authorization", "Bearer " + ADMIN_TOKEN), method, body);
    }

    /** A call without checking that the answer is an admin answer (auth tests). */
    Answer send(HttpRequest.Builder b, String method, String body) {
        HttpRequest.BodyPublisher p = body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(body);
        HttpResponse<String> r = gw.send(b.header("content-type", "application/json").method(method, p).build());
        for (String s : secrets) {
            assertThat(r.body()).as("answer to %s %s holds a whole key", method, b.build().uri()).doesNotContain(s);
        }
        return new Answer(r.statusCode(), tree(r.body()), r);
    }

    static JsonNode tree(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + json, e);
        }
    }

    /** The key with this id in {@code GET /admin/api/keys}. */
    JsonNode key(String id) {
        for (JsonNode k : get("/admin/api/keys").json().path("keys")) {
            if (k.path("id").asText().equals(id)) {
                return k;
            }
        }
        throw new AssertionError("no key " + id + " in the listing");
    }

    /** Polls {@code poll} until {@code done} holds, for at most {@code timeout}; returns the last value. */
    static <T> T await(Supplier<T> poll, Predicate<T> done, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        T v = poll.get();
        while (!done.test(v)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within " + timeout + "; last: " + v);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            v = poll.get();
        }
        return v;
    }
}
