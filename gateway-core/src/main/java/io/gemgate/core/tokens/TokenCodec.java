package io.gemgate.core.tokens;

import io.gemgate.core.json.JsonTokens;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gemgate.core.json.Databind;
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
 * {@link StoredToken} is a record's JSON, bound by jackson-databind: an element of the state file's {@code tokens}
 * ({@code StateCodec}), or a document of its own ({@link #encodeRecord}/{@link #decodeRecord}, a Redis value).
 * Unknown fields are skipped there, missing counters read as 0.
 *
 * <p>Thread-safe: the class is stateless.
 */
public final class TokenCodec {
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();
    /** Reads and writes {@link StoredToken}s. */
    private static final ObjectMapper STORAGE = Databind.newMapper();
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

    /**
     * A {@link TokenRecord} as stored (an element of the state file's {@code tokens}, a Redis value): every component
     * in this order, limits nested. Bound by jackson-databind ({@link Databind}): unknown fields are skipped, a
     * missing counter reads as 0, missing limits as unlimited, a missing {@code enabled} as true; {@link #toRecord}
     * checks the rest.
     */
    public record StoredToken(String id, String name, long createdAtMillis, String secretHash, Boolean enabled,
                              StoredLimits limits, long lastUsedMillis, long dayStartMillis, long requestsToday,
                              long promptTokensToday, long outputTokensToday, long totalRequests, long totalTokens) {

        /** {@code r} as stored. */
        public static StoredToken of(TokenRecord r) {
            TokenLimits l = r.limits();
            return new StoredToken(r.id(), r.name(), r.createdAtMillis(), r.secretHash(), r.enabled(),
                    new StoredLimits(l.requestsPerMinute(), l.requestsPerDay(), l.tokensPerDay(), l.maxConcurrency(),
                            new TreeSet<>(l.allowedModels()), l.expiresAtMillis(), new LinkedHashSet<>(l.keyGroups())),
                    r.lastUsedMillis(), r.dayStartMillis(), r.requestsToday(), r.promptTokensToday(),
                    r.outputTokensToday(), r.totalRequests(), r.totalTokens());
        }

        /**
         * The record this stands for.
         *
         * @throws IllegalArgumentException naming the field: invalid limits, a negative number, a missing id, name
         *                                  or secretHash, or a value {@link TokenRecord} refuses
         */
        public TokenRecord toRecord() {
            TokenLimits l = limits == null ? TokenLimits.unlimited() : limits.toLimits();
            long[] counters = {createdAtMillis, lastUsedMillis, dayStartMillis, requestsToday, promptTokensToday,
                    outputTokensToday, totalRequests, totalTokens};
            for (int i = 0; i < counters.length; i++) {
                if (counters[i] < 0) {
                    throw new IllegalArgumentException(COUNTERS.get(i) + ": " + counters[i] + " (expected: >= 0)");
                }
            }
            if (id == null || name == null || secretHash == null) {
                throw new IllegalArgumentException((id == null ? "id" : name == null ? "name" : "secretHash")
                        + ": missing");
            }
            return new TokenRecord(id, name, createdAtMillis, secretHash, l, enabled == null || enabled,
                    lastUsedMillis, dayStartMillis, requestsToday, promptTokensToday, outputTokensToday, totalRequests,
                    totalTokens);
        }
    }

    /** A token's limits as stored; a missing limit is unlimited. {@code keyGroups} is written only when set. */
    public record StoredLimits(Integer requestsPerMinute, Long requestsPerDay, Long tokensPerDay,
                               Integer maxConcurrency, Set<String> allowedModels, Long expiresAtMillis,
                               @JsonInclude(JsonInclude.Include.NON_EMPTY) Set<String> keyGroups) {
        TokenLimits toLimits() {
            TokenLimits.Builder b = TokenLimits.builder();
            if (requestsPerMinute != null) {
                b.requestsPerMinute(requestsPerMinute);
            }
            if (requestsPerDay != null) {
                b.requestsPerDay(requestsPerDay);
            }
            if (tokensPerDay != null) {
                b.tokensPerDay(tokensPerDay);
            }
            if (maxConcurrency != null) {
                b.maxConcurrency(maxConcurrency);
            }
            if (allowedModels != null) {
                b.allowedModels(allowedModels);
            }
            if (expiresAtMillis != null) {
                b.expiresAtMillis(expiresAtMillis);
            }
            if (keyGroups != null) {
                b.keyGroups(keyGroups);
            }
            return b.build();
        }
    }

    private static final List<String> COUNTERS = List.of("createdAtMillis", "lastUsedMillis", "dayStartMillis",
            "requestsToday", "promptTokensToday", "outputTokensToday", "totalRequests", "totalTokens");

    /** {@code r} as a JSON document of its own (a Redis value). */
    public static byte[] encodeRecord(TokenRecord r) {
        try {
            return STORAGE.writeValueAsBytes(StoredToken.of(r));
        } catch (JacksonException e) {
            throw new UncheckedIOException("encoding a token record in memory", e); // cannot happen with records
        }
    }

    /**
     * Reads what {@link #encodeRecord} wrote.
     *
     * @throws IllegalArgumentException naming the field, or saying the JSON is malformed
     */
    public static TokenRecord decodeRecord(byte[] json) {
        requireNonNull(json, "json");
        try {
            Databind.Document d = Databind.read(STORAGE, json);
            if (d.first() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("record: " + JsonTokens.describe(d.first())
                        + " (expected: an object)");
            }
            if (d.trailing() != null) {
                throw new IllegalArgumentException("record: content after the object");
            }
            return STORAGE.treeToValue(d.root(), StoredToken.class).toRecord();
        } catch (JacksonException e) {
            throw refusal(Databind.problem(e), "record");
        } catch (IOException e) {
            throw new UncheckedIOException("reading a token record from memory", e);
        }
    }

    /** A databind problem in this class's words: {@code "field: a string (expected: an integer)"}. */
    private static IllegalArgumentException refusal(Databind.Problem p, String document) {
        String field = p.path().isEmpty() ? document : p.path();
        return new IllegalArgumentException(switch (p.kind()) {
            case TRUNCATED, MALFORMED -> "body: malformed JSON: " + p.detail() + " at line " + p.line() + " column "
                    + p.column();
            case WRONG_TYPE -> field + ": " + p.foundWords() + " (expected: " + switch (p.expected()) {
                case "a boolean" -> "true or false";
                case "an array" -> "an array of model names";
                default -> p.expected();
            } + ")";
            case OUT_OF_RANGE -> field + ": " + p.detail() + " (expected: "
                    + (p.isInt() ? "-1 or 1 to " + Integer.MAX_VALUE : "a 64-bit integer") + ")";
            case INVALID -> p.join(p.detail());
        });
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
