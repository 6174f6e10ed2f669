package io.gemgate.core.tokens;

import io.gemgate.core.json.JsonTokens;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * JSON for the token routes of the admin API and for storing {@link TokenRecord}s (state file, Redis).
 *
 * <h2>Admin API</h2>
 * <ul>
 *   <li>{@link #parseCreate}: the body of {@code POST /admin/api/tokens},
 *       {@code {"name":"alice","requestsPerMinute":60,"requestsPerDay":1000,"tokensPerDay":2000000,
 *       "maxConcurrency":4,"allowedModels":["gemini-2.5-flash"],"expiresAt":"2026-12-31T00:00:00Z",
 *       "keyGroups":["free"]}}; only
 *       {@code name} is required, a missing or {@code null} limit is unlimited. {@code expiresAt} is an ISO-8601
 *       instant; {@code expiresAtMillis} (epoch millis, 0 = never) may be given instead.</li>
 *   <li>{@link #parseUpdate}: the body of a {@code PATCH /admin/api/tokens/{id}}: the same fields plus
 *       {@code enabled}, each optional, applied to the token's current values.</li>
 *   <li>{@link #encodeCreated}: {@code {"id":"tok_...","name":"alice","token":"sk-..."}}, the only answer that
 *       carries a secret.</li>
 *   <li>{@link #writeToken}: one token with its limits and usage, for listings; never the secret or its hash.</li>
 * </ul>
 * Refusals are {@link IllegalArgumentException}s whose message starts with the field, e.g.
 * {@code "requestsPerMinute: 0 (expected: -1 or >= 1)"}, for a 400 answer.
 *
 * <h2>Storage</h2>
 * {@link #writeRecord}/{@link #readRecord} put one record in a larger document (the state file);
 * {@link #encodeRecord}/{@link #decodeRecord} make it a document of its own (a Redis value). Unknown fields are
 * skipped there, missing counters read as 0.
 *
 * <p>Thread-safe: the class is stateless.
 */
public final class TokenCodec {
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();
    private static final List<String> REQUEST_FIELDS = List.of("name", "requestsPerMinute", "requestsPerDay",
            "tokensPerDay", "maxConcurrency", "allowedModels", "expiresAt", "expiresAtMillis", "keyGroups");

    /**
     * A token to create.
     *
     * @param name   its name
     * @param limits its limits
     */
    public record CreateRequest(String name, TokenLimits limits) {
        public CreateRequest {
            requireNonNull(name, "name");
            requireNonNull(limits, "limits");
        }
    }

    /**
     * A token's new state after a PATCH: every field, changed or not.
     *
     * @param name    the name
     * @param enabled enabled or not
     * @param limits  the limits
     */
    public record Update(String name, boolean enabled, TokenLimits limits) {
        public Update {
            requireNonNull(name, "name");
            requireNonNull(limits, "limits");
        }
    }

    private TokenCodec() {
    }

    // --------------------------------------------------------------------------------------------------- admin API

    /**
     * Reads a creation request.
     *
     * @throws IllegalArgumentException naming the field: unknown, wrong type, invalid value, missing name, malformed
     */
    public static CreateRequest parseCreate(byte[] json) {
        Fields f = readRequest(json, false);
        if (f.name == null) {
            throw new IllegalArgumentException("name: missing");
        }
        UserToken.checkName(f.name);
        return new CreateRequest(f.name, f.apply(TokenLimits.builder()).build());
    }

    /**
     * Reads a change to {@code current}; fields left out keep their value.
     *
     * @throws IllegalArgumentException naming the field
     */
    public static Update parseUpdate(UserToken current, byte[] json) {
        requireNonNull(current, "current");
        Fields f = readRequest(json, true);
        String name = f.name != null ? f.name : current.name();
        UserToken.checkName(name);
        return new Update(name, f.enabled != null ? f.enabled : current.isEnabled(),
                f.apply(current.limits().toBuilder()).build());
    }

    /** {@code {"id":...,"name":...,"token":...}}: the answer to a creation, with the secret. */
    public static byte[] encodeCreated(TokenRegistry.Created created) {
        return document(g -> {
            g.writeStartObject();
            g.writeStringField("id", created.id());
            g.writeStringField("name", created.name());
            g.writeStringField("token", created.secret());
            g.writeEndObject();
        });
    }

    /**
     * Writes one token for a listing:
     * <pre>{@code
     * {"id":"tok_...","name":"alice","enabled":true,"createdAt":"2026-03-10T12:00:00Z","lastUsedAt":null,
     *  "limits":{"requestsPerMinute":60,"requestsPerDay":-1,"tokensPerDay":-1,"maxConcurrency":-1,
     *            "allowedModels":[],"expiresAt":null},
     *  "usage":{"requestsToday":0,"promptTokensToday":0,"outputTokensToday":0,"tokensToday":0,
     *           "requestsLastMinute":0,"inFlight":0,"totalRequests":0,"totalTokens":0}}
     * }</pre>
     * Times are ISO-8601 instants, {@code null} when unset. Never the secret nor its hash.
     */
    public static void writeToken(JsonGenerator g, UserToken t, TokenUsage usage) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", t.id());
        g.writeStringField("name", t.name());
        g.writeBooleanField("enabled", t.isEnabled());
        instant(g, "createdAt", t.createdAtMillis());
        instant(g, "lastUsedAt", usage.lastUsedMillis());
        TokenLimits l = t.limits();
        g.writeObjectFieldStart("limits");
        g.writeNumberField("requestsPerMinute", l.requestsPerMinute());
        g.writeNumberField("requestsPerDay", l.requestsPerDay());
        g.writeNumberField("tokensPerDay", l.tokensPerDay());
        g.writeNumberField("maxConcurrency", l.maxConcurrency());
        models(g, l.allowedModels());
        instant(g, "expiresAt", l.expiresAtMillis());
        groups(g, l.keyGroups());
        g.writeEndObject();
        g.writeObjectFieldStart("usage");
        g.writeNumberField("requestsToday", usage.requestsToday());
        g.writeNumberField("promptTokensToday", usage.promptTokensToday());
        g.writeNumberField("outputTokensToday", usage.outputTokensToday());
        g.writeNumberField("tokensToday", usage.tokensToday());
        g.writeNumberField("requestsLastMinute", usage.requestsLastMinute());
        g.writeNumberField("inFlight", usage.inFlight());
        g.writeNumberField("totalRequests", usage.totalRequests());
        g.writeNumberField("totalTokens", usage.totalTokens());
        g.writeEndObject();
        g.writeEndObject();
    }

    // ----------------------------------------------------------------------------------------------------- storage

    /** Writes {@code r} as one JSON object: every {@link TokenRecord} component, limits nested. */
    public static void writeRecord(JsonGenerator g, TokenRecord r) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", r.id());
        g.writeStringField("name", r.name());
        g.writeNumberField("createdAtMillis", r.createdAtMillis());
        g.writeStringField("secretHash", r.secretHash());
        g.writeBooleanField("enabled", r.enabled());
        TokenLimits l = r.limits();
        g.writeObjectFieldStart("limits");
        g.writeNumberField("requestsPerMinute", l.requestsPerMinute());
        g.writeNumberField("requestsPerDay", l.requestsPerDay());
        g.writeNumberField("tokensPerDay", l.tokensPerDay());
        g.writeNumberField("maxConcurrency", l.maxConcurrency());
        models(g, l.allowedModels());
        g.writeNumberField("expiresAtMillis", l.expiresAtMillis());
        if (!l.keyGroups().isEmpty()) {
            groups(g, l.keyGroups());
        }
        g.writeEndObject();
        g.writeNumberField("lastUsedMillis", r.lastUsedMillis());
        g.writeNumberField("dayStartMillis", r.dayStartMillis());
        g.writeNumberField("requestsToday", r.requestsToday());
        g.writeNumberField("promptTokensToday", r.promptTokensToday());
        g.writeNumberField("outputTokensToday", r.outputTokensToday());
        g.writeNumberField("totalRequests", r.totalRequests());
        g.writeNumberField("totalTokens", r.totalTokens());
        g.writeEndObject();
    }

    /**
     * Reads what {@link #writeRecord} wrote; the parser is on the object's {@code START_OBJECT} and is left on its
     * {@code END_OBJECT}.
     *
     * @throws IllegalArgumentException naming the field when a value is missing, of the wrong type or invalid
     */
    public static TokenRecord readRecord(JsonParser p) throws IOException {
        expect(p, p.currentToken(), "record", "an object");
        String id = null;
        String name = null;
        String hash = null;
        long created = 0;
        boolean enabled = true;
        TokenLimits limits = TokenLimits.unlimited();
        long[] counters = new long[7];
        List<String> counterNames = List.of("lastUsedMillis", "dayStartMillis", "requestsToday",
                "promptTokensToday", "outputTokensToday", "totalRequests", "totalTokens");
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            p.nextToken();
            switch (field) {
                case "id" -> id = string(p, field);
                case "name" -> name = string(p, field);
                case "secretHash" -> hash = string(p, field);
                case "createdAtMillis" -> created = number(p, field);
                case "enabled" -> enabled = bool(p, field);
                case "limits" -> limits = readLimits(p);
                default -> {
                    int i = counterNames.indexOf(field);
                    if (i >= 0) {
                        counters[i] = number(p, field);
                    } else {
                        p.skipChildren();
                    }
                }
            }
        }
        if (id == null || name == null || hash == null) {
            throw new IllegalArgumentException((id == null ? "id" : name == null ? "name" : "secretHash")
                    + ": missing");
        }
        return new TokenRecord(id, name, created, hash, limits, enabled, counters[0], counters[1], counters[2],
                counters[3], counters[4], counters[5], counters[6]);
    }

    /** {@code r} as a JSON document of its own. */
    public static byte[] encodeRecord(TokenRecord r) {
        return document(g -> writeRecord(g, r));
    }

    /**
     * Reads what {@link #encodeRecord} wrote.
     *
     * @throws IllegalArgumentException naming the field, or saying the JSON is malformed
     */
    public static TokenRecord decodeRecord(byte[] json) {
        try (JsonParser p = FACTORY.createParser(requireNonNull(json, "json"))) {
            p.nextToken();
            TokenRecord r = readRecord(p);
            if (p.nextToken() != null) {
                throw new IllegalArgumentException("record: content after the object");
            }
            return r;
        } catch (JsonProcessingException e) {
            throw malformed(e);
        } catch (IOException e) {
            throw new UncheckedIOException("reading a token record from memory", e);
        }
    }

    // ----------------------------------------------------------------------------------------------------- private

    /** The fields of a create or update request; null = not given. */
    private static final class Fields {
        String name;
        Boolean enabled;
        Long requestsPerMinute;
        Long requestsPerDay;
        Long tokensPerDay;
        Long maxConcurrency;
        Set<String> allowedModels;
        Long expiresAtMillis;
        Set<String> keyGroups;

        TokenLimits.Builder apply(TokenLimits.Builder b) {
            if (keyGroups != null) {
                b.keyGroups(keyGroups);
            }
            if (requestsPerMinute != null) {
                b.requestsPerMinute(toInt("requestsPerMinute", requestsPerMinute));
            }
            if (requestsPerDay != null) {
                b.requestsPerDay(requestsPerDay);
            }
            if (tokensPerDay != null) {
                b.tokensPerDay(tokensPerDay);
            }
            if (maxConcurrency != null) {
                b.maxConcurrency(toInt("maxConcurrency", maxConcurrency));
            }
            if (allowedModels != null) {
                b.allowedModels(allowedModels);
            }
            if (expiresAtMillis != null) {
                b.expiresAtMillis(expiresAtMillis);
            }
            return b;
        }

        private static int toInt(String field, long v) {
            if (v > Integer.MAX_VALUE || v < -1) {
                throw new IllegalArgumentException(field + ": " + v + " (expected: -1 or 1 to " + Integer.MAX_VALUE
                        + ")");
            }
            return (int) v;
        }
    }

    private static Fields readRequest(byte[] json, boolean update) {
        if (json == null || json.length == 0) {
            throw new IllegalArgumentException("body: empty (expected: a JSON object)");
        }
        Fields f = new Fields();
        try (JsonParser p = FACTORY.createParser(json)) {
            expect(p, p.nextToken(), "body", "a JSON object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                boolean isNull = t == JsonToken.VALUE_NULL;
                switch (field) {
                    case "name" -> f.name = string(p, field);
                    case "enabled" -> {
                        if (!update) {
                            throw unknown(field, false);
                        }
                        f.enabled = bool(p, field);
                    }
                    case "requestsPerMinute" -> f.requestsPerMinute = isNull ? -1L : integer(p, field);
                    case "requestsPerDay" -> f.requestsPerDay = isNull ? -1L : integer(p, field);
                    case "tokensPerDay" -> f.tokensPerDay = isNull ? -1L : integer(p, field);
                    case "maxConcurrency" -> f.maxConcurrency = isNull ? -1L : integer(p, field);
                    case "allowedModels" -> f.allowedModels = isNull ? Set.of() : stringArray(p, field);
                    case "keyGroups" -> f.keyGroups = isNull ? Set.of() : stringArray(p, field);
                    case "expiresAtMillis" -> f.expiresAtMillis = isNull ? 0L : integer(p, field);
                    case "expiresAt" -> f.expiresAtMillis = isNull ? 0L : instant(p, field);
                    default -> throw unknown(field, update);
                }
            }
            if (p.nextToken() != null) {
                throw new IllegalArgumentException("body: content after the object (expected: one JSON object)");
            }
        } catch (JsonProcessingException e) {
            throw malformed(e);
        } catch (IOException e) {
            throw new UncheckedIOException("reading a request from memory", e);
        }
        return f;
    }

    private static TokenLimits readLimits(JsonParser p) throws IOException {
        expect(p, p.currentToken(), "limits", "an object");
        TokenLimits.Builder b = TokenLimits.builder();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            p.nextToken();
            String path = "limits." + field;
            switch (field) {
                case "requestsPerMinute" -> b.requestsPerMinute(Fields.toInt(path, integer(p, path)));
                case "requestsPerDay" -> b.requestsPerDay(integer(p, path));
                case "tokensPerDay" -> b.tokensPerDay(integer(p, path));
                case "maxConcurrency" -> b.maxConcurrency(Fields.toInt(path, integer(p, path)));
                case "allowedModels" -> b.allowedModels(stringArray(p, path));
                case "keyGroups" -> b.keyGroups(stringArray(p, path));
                case "expiresAtMillis" -> b.expiresAtMillis(integer(p, path));
                default -> p.skipChildren();
            }
        }
        return b.build();
    }

    private static IllegalArgumentException unknown(String field, boolean update) {
        return new IllegalArgumentException(field + ": unknown field (expected one of: "
                + String.join(", ", REQUEST_FIELDS) + (update ? ", enabled" : "") + ")");
    }

    private static void expect(JsonParser p, JsonToken t, String field, String what) throws IOException {
        if (t != JsonToken.START_OBJECT) {
            throw new IllegalArgumentException(field + ": " + JsonTokens.describe(t) + " (expected: " + what + ")");
        }
    }

    private static String string(JsonParser p, String field) throws IOException {
        if (p.currentToken() != JsonToken.VALUE_STRING) {
            throw wrongType(field, p.currentToken(), "a string");
        }
        return p.getText();
    }

    private static boolean bool(JsonParser p, String field) {
        JsonToken t = p.currentToken();
        if (t != JsonToken.VALUE_TRUE && t != JsonToken.VALUE_FALSE) {
            throw wrongType(field, t, "true or false");
        }
        return t == JsonToken.VALUE_TRUE;
    }

    private static long integer(JsonParser p, String field) throws IOException {
        if (p.currentToken() != JsonToken.VALUE_NUMBER_INT) {
            throw wrongType(field, p.currentToken(), "an integer");
        }
        if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            throw new IllegalArgumentException(field + ": " + p.getText() + " (expected: a 64-bit integer)");
        }
        return p.getLongValue();
    }

    private static long number(JsonParser p, String field) throws IOException {
        long v = integer(p, field);
        if (v < 0) {
            throw new IllegalArgumentException(field + ": " + v + " (expected: >= 0)");
        }
        return v;
    }

    private static long instant(JsonParser p, String field) throws IOException {
        String text = string(p, field);
        try {
            long ms = Instant.parse(text).toEpochMilli();
            if (ms <= 0) {
                throw new IllegalArgumentException(field + ": '" + text + "' (expected: an instant after 1970)");
            }
            return ms;
        } catch (DateTimeException | ArithmeticException e) {
            throw new IllegalArgumentException(field + ": '" + abbreviate(text)
                    + "' (expected: an ISO-8601 instant such as 2026-12-31T00:00:00Z)");
        }
    }

    private static Set<String> stringArray(JsonParser p, String field) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw wrongType(field, p.currentToken(), "an array of model names");
        }
        Set<String> out = new LinkedHashSet<>();
        JsonToken t;
        int i = 0;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t != JsonToken.VALUE_STRING) {
                throw wrongType(field + "[" + i + "]", t, "a model name");
            }
            out.add(p.getText());
            i++;
        }
        return out;
    }

    private static void models(JsonGenerator g, Set<String> models) throws IOException {
        g.writeArrayFieldStart("allowedModels");
        for (String m : new TreeSet<>(models)) {
            g.writeString(m);
        }
        g.writeEndArray();
    }

    private static void groups(JsonGenerator g, Set<String> groups) throws IOException {
        g.writeArrayFieldStart("keyGroups");
        for (String group : groups) {
            g.writeString(group);
        }
        g.writeEndArray();
    }

    private static void instant(JsonGenerator g, String field, long millis) throws IOException {
        if (millis == 0) {
            g.writeNullField(field);
        } else {
            g.writeStringField(field, Instant.ofEpochMilli(millis).toString());
        }
    }

    private static IllegalArgumentException wrongType(String field, JsonToken t, String expected) {
        return new IllegalArgumentException(field + ": " + JsonTokens.describe(t) + " (expected: " + expected + ")");
    }

    private static IllegalArgumentException malformed(JsonProcessingException e) {
        return new IllegalArgumentException("body: malformed JSON: " + e.getOriginalMessage() + " at line "
                + e.getLocation().getLineNr() + " column " + e.getLocation().getColumnNr());
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }

    private interface Writer {
        void write(JsonGenerator g) throws IOException;
    }

    private static byte[] document(Writer w) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            w.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException("encoding JSON in memory", e); // cannot happen with a byte array
        }
        return out.toByteArray();
    }
}
