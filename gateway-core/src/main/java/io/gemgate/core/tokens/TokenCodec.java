package io.gemgate.core.tokens;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gemgate.core.json.Databind;
import io.gemgate.core.json.JsonTokens;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
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
 * <p>Both are records bound by jackson-databind ({@link Databind}); request bodies are checked field by field after
 * binding, so that every refusal names its field.
 *
 * <p>Thread-safe: the mapper is configured once, then only used.
 */
public final class TokenCodec {
    /** Reads and writes stored tokens, admin requests and answers. */
    private static final ObjectMapper MAPPER = Databind.newMapper();
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
     * The body of a token creation or change, bound by jackson-databind; null = not given. An explicit JSON
     * {@code null} is no value here: {@link #readRequest} notes it apart (a limit set to null is unlimited).
     */
    private record RequestJson(String name, Boolean enabled, Long requestsPerMinute, Long requestsPerDay,
                               Long tokensPerDay, Long maxConcurrency, Set<String> allowedModels, String expiresAt,
                               Long expiresAtMillis, Set<String> keyGroups) {
    }

    /** A request's values and which fields it set to null. */
    private record Request(RequestJson json, Set<String> nulls) {
        TokenLimits.Builder apply(TokenLimits.Builder b) {
            if (nulls.contains("keyGroups")) {
                b.keyGroups(Set.of());
            } else if (json.keyGroups() != null) {
                b.keyGroups(json.keyGroups());
            }
            if (nulls.contains("requestsPerMinute") || json.requestsPerMinute() != null) {
                b.requestsPerMinute(toInt("requestsPerMinute", limit("requestsPerMinute", json.requestsPerMinute())));
            }
            if (nulls.contains("requestsPerDay") || json.requestsPerDay() != null) {
                b.requestsPerDay(limit("requestsPerDay", json.requestsPerDay()));
            }
            if (nulls.contains("tokensPerDay") || json.tokensPerDay() != null) {
                b.tokensPerDay(limit("tokensPerDay", json.tokensPerDay()));
            }
            if (nulls.contains("maxConcurrency") || json.maxConcurrency() != null) {
                b.maxConcurrency(toInt("maxConcurrency", limit("maxConcurrency", json.maxConcurrency())));
            }
            if (nulls.contains("allowedModels")) {
                b.allowedModels(Set.of());
            } else if (json.allowedModels() != null) {
                b.allowedModels(json.allowedModels());
            }
            if (nulls.contains("expiresAtMillis") || nulls.contains("expiresAt")) {
                b.expiresAtMillis(0);
            } else if (json.expiresAtMillis() != null) {
                b.expiresAtMillis(json.expiresAtMillis());
            } else if (json.expiresAt() != null) {
                b.expiresAtMillis(instant("expiresAt", json.expiresAt()));
            }
            return b;
        }

        private long limit(String field, Long value) {
            return nulls.contains(field) ? TokenLimits.UNLIMITED : value;
        }
    }

    /** The answer to a creation: the only one that carries the secret. */
    private record CreatedJson(String id, String name, String token) {
        @Override
        public String toString() {
            return "CreatedJson[id=" + id + "]";
        }
    }

    /** One token in a listing; times are ISO-8601 instants or null. Never the secret nor its hash. */
    private record TokenView(String id, String name, boolean enabled, String createdAt, String lastUsedAt,
                             LimitsView limits, UsageView usage) {
    }

    private record LimitsView(int requestsPerMinute, long requestsPerDay, long tokensPerDay, int maxConcurrency,
                              Set<String> allowedModels, String expiresAt, Set<String> keyGroups) {
    }

    private record UsageView(long requestsToday, long promptTokensToday, long outputTokensToday, long tokensToday,
                             long requestsLastMinute, long inFlight, long totalRequests, long totalTokens) {
    }

    /**
     * Reads a creation request.
     *
     * @throws IllegalArgumentException naming the field: unknown, wrong type, invalid value, missing name, malformed
     */
    public static CreateRequest parseCreate(byte[] json) {
        Request r = readRequest(json, false);
        String name = r.json().name();
        if (name == null) {
            throw new IllegalArgumentException("name: missing");
        }
        UserToken.checkName(name);
        return new CreateRequest(name, r.apply(TokenLimits.builder()).build());
    }

    /**
     * Reads a change to {@code current}; fields left out keep their value.
     *
     * @throws IllegalArgumentException naming the field
     */
    public static Update parseUpdate(UserToken current, byte[] json) {
        requireNonNull(current, "current");
        Request r = readRequest(json, true);
        String name = r.json().name() != null ? r.json().name() : current.name();
        UserToken.checkName(name);
        Boolean enabled = r.json().enabled();
        return new Update(name, enabled != null ? enabled : current.isEnabled(),
                r.apply(current.limits().toBuilder()).build());
    }

    /** {@code {"id":...,"name":...,"token":...}}: the answer to a creation, with the secret. */
    public static byte[] encodeCreated(TokenRegistry.Created created) {
        try {
            return MAPPER.writeValueAsBytes(new CreatedJson(created.id(), created.name(), created.secret()));
        } catch (JacksonException e) {
            throw new UncheckedIOException("encoding JSON in memory", e); // cannot happen with a record
        }
    }

    /**
     * Writes one token for a listing:
     * <pre>{@code
     * {"id":"tok_...","name":"alice","enabled":true,"createdAt":"2026-03-10T12:00:00Z","lastUsedAt":null,
     *  "limits":{"requestsPerMinute":60,"requestsPerDay":-1,"tokensPerDay":-1,"maxConcurrency":-1,
     *            "allowedModels":[],"expiresAt":null,"keyGroups":[]},
     *  "usage":{"requestsToday":0,"promptTokensToday":0,"outputTokensToday":0,"tokensToday":0,
     *           "requestsLastMinute":0,"inFlight":0,"totalRequests":0,"totalTokens":0}}
     * }</pre>
     * Times are ISO-8601 instants, {@code null} when unset. Never the secret nor its hash.
     */
    public static void writeToken(JsonGenerator g, UserToken t, TokenUsage usage) throws IOException {
        TokenLimits l = t.limits();
        MAPPER.writeValue(g, new TokenView(t.id(), t.name(), t.isEnabled(), iso(t.createdAtMillis()),
                iso(usage.lastUsedMillis()),
                new LimitsView(l.requestsPerMinute(), l.requestsPerDay(), l.tokensPerDay(), l.maxConcurrency(),
                        new TreeSet<>(l.allowedModels()), iso(l.expiresAtMillis()), l.keyGroups()),
                new UsageView(usage.requestsToday(), usage.promptTokensToday(), usage.outputTokensToday(),
                        usage.tokensToday(), usage.requestsLastMinute(), usage.inFlight(), usage.totalRequests(),
                        usage.totalTokens())));
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
            return MAPPER.writeValueAsBytes(StoredToken.of(r));
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
            Databind.Document d = Databind.read(MAPPER, json);
            if (d.first() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("record: " + JsonTokens.describe(d.first())
                        + " (expected: an object)");
            }
            if (d.trailing() != null) {
                throw new IllegalArgumentException("record: content after the object");
            }
            return MAPPER.treeToValue(d.root(), StoredToken.class).toRecord();
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
                case "a string" -> field.endsWith("]") ? "a model name" : "a string";
                default -> p.expected();
            } + ")";
            case OUT_OF_RANGE -> field + ": " + p.detail() + " (expected: "
                    + (p.isInt() ? "-1 or 1 to " + Integer.MAX_VALUE : "a 64-bit integer") + ")";
            case INVALID -> p.join(p.detail());
        });
    }

    // ----------------------------------------------------------------------------------------------------- private

    /**
     * Reads a request body: one object with only {@link #REQUEST_FIELDS} (and {@code enabled} in an update). Nulls
     * are noted before binding, which would read them as "not given".
     */
    private static Request readRequest(byte[] json, boolean update) {
        if (json == null || json.length == 0) {
            throw new IllegalArgumentException("body: empty (expected: a JSON object)");
        }
        try {
            Databind.Document d = Databind.read(MAPPER, json);
            if (d.first() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("body: " + JsonTokens.describe(d.first())
                        + " (expected: a JSON object)");
            }
            Set<String> nulls = new HashSet<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = d.root().fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String field = e.getKey();
                if (!REQUEST_FIELDS.contains(field) && !(update && field.equals("enabled"))) {
                    throw new IllegalArgumentException(field + ": unknown field (expected one of: "
                            + String.join(", ", REQUEST_FIELDS) + (update ? ", enabled" : "") + ")");
                }
                if (e.getValue().isNull()) {
                    if (field.equals("name") || field.equals("enabled")) {
                        throw new IllegalArgumentException(field + ": null (expected: "
                                + (field.equals("name") ? "a string" : "true or false") + ")");
                    }
                    nulls.add(field);
                }
            }
            if (d.trailing() != null) {
                throw new IllegalArgumentException("body: content after the object (expected: one JSON object)");
            }
            ObjectNode values = ((ObjectNode) d.root()).deepCopy();
            values.remove(nulls);
            return new Request(MAPPER.treeToValue(values, RequestJson.class), nulls);
        } catch (JacksonException e) {
            throw refusal(Databind.problem(e), "body");
        } catch (IOException e) {
            throw new UncheckedIOException("reading a request from memory", e);
        }
    }

    private static int toInt(String field, long v) {
        if (v > Integer.MAX_VALUE || v < -1) {
            throw new IllegalArgumentException(field + ": " + v + " (expected: -1 or 1 to " + Integer.MAX_VALUE + ")");
        }
        return (int) v;
    }

    private static long instant(String field, String text) {
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

    private static String iso(long millis) {
        return millis == 0 ? null : Instant.ofEpochMilli(millis).toString();
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }
}
