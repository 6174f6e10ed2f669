package io.gemgate.server.admin;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gemgate.core.json.Databind;
import io.gemgate.core.json.JsonTokens;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON in and out for the admin API, on one jackson-databind mapper ({@link #MAPPER}): answers are documents written
 * through a generator ({@link #respond(int, Body)}), whose parts may be records ({@code MAPPER.writeValue(g, record)},
 * as {@link KeyViews} does); request bodies are read as a tree into a flat map of plain values and checked field by
 * field, so that every refusal names its field.
 */
final class AdminJson {
    /** The admin API's mapper (the reading rules of {@link Databind#newMapper()}; duplicate fields refused). */
    static final ObjectMapper MAPPER = Databind.newMapper();
    /** Generators from it can write records ({@link JsonGenerator#writeObject}). */
    static final JsonFactory FACTORY = MAPPER.getFactory();

    /** The value of a JSON {@code null} in a {@link #readObject} map. */
    static final Object NULL = new Object() {
        @Override
        public String toString() {
            return "null";
        }
    };
    /** The value of a nested JSON object in a {@link #readObject} map (its content is not kept). */
    static final Object OBJECT = new Object() {
        @Override
        public String toString() {
            return "an object";
        }
    };

    private AdminJson() {
    }

    /** Writes a JSON document. */
    @FunctionalInterface
    interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    /** An answer with the document {@code body} writes. */
    static AdminResponse respond(int status, Body body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(512);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException("encoding JSON in memory", e); // cannot happen with a byte array
        }
        return new AdminResponse(status, out.toByteArray());
    }

    /** {@code field: "2026-01-01T00:00:00Z"}, or {@code null} for 0. */
    static void instant(JsonGenerator g, String field, long millis) throws IOException {
        g.writeFieldName(field);
        g.writeString(iso(millis));
    }

    /** {@code "2026-01-01T00:00:00Z"}, or null for 0 (and below). */
    static String iso(long millis) {
        return millis <= 0 ? null : Instant.ofEpochMilli(millis).toString();
    }

    /** {@code "until": ISO or null, "untilMillis": n (0 when none)}. */
    static void until(JsonGenerator g, long millis) throws IOException {
        instant(g, "until", millis);
        g.writeNumberField("untilMillis", Math.max(0, millis));
    }

    /** A double rounded to {@code digits} decimals, so that answers stay readable. */
    static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }

    // ---------------------------------------------------------------------------------------------------- reading

    /**
     * Reads a request body that must be one JSON object whose fields are all in {@code allowed}. Values are
     * {@link String}, {@link Boolean}, {@link Long}, {@link Double}, {@link List} (of such values), {@link #NULL} or
     * {@link #OBJECT}.
     *
     * @throws AdminException 400 naming the field: malformed JSON, not an object, unknown or duplicate field
     */
    static Map<String, Object> readObject(byte[] body, List<String> allowed) {
        if (body == null || body.length == 0) {
            throw new AdminException(400, "empty body (expected: a JSON object)", null);
        }
        Databind.Document d;
        try {
            d = Databind.read(MAPPER, body);
        } catch (JacksonException e) {
            Databind.Problem p = Databind.problem(e);
            String dup = p.detail().startsWith("Duplicate field") ? duplicateField(p.detail()) : null;
            throw new AdminException(400, dup != null ? dup + ": given twice"
                    : "malformed JSON: " + e.getOriginalMessage() + " at line " + p.line() + " column " + p.column(),
                    dup);
        } catch (IOException e) {
            throw new UncheckedIOException("reading a request from memory", e);
        }
        if (d.first() != JsonToken.START_OBJECT) {
            throw new AdminException(400, JsonTokens.describe(d.first()) + " (expected: a JSON object)", null);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        d.root().fields().forEachRemaining(e -> {
            if (!allowed.contains(e.getKey())) {
                throw new AdminException(400, e.getKey() + ": unknown field (expected one of: "
                        + String.join(", ", allowed) + ")", e.getKey());
            }
            out.put(e.getKey(), value(e.getValue()));
        });
        if (d.trailing() != null) {
            throw new AdminException(400, "content after the object (expected: one JSON object)", null);
        }
        return out;
    }

    private static String duplicateField(String message) {
        int a = message.indexOf('\'');
        int b = message.indexOf('\'', a + 1);
        return a >= 0 && b > a ? message.substring(a + 1, b) : null;
    }

    /** A tree value as a plain one: a big integer reads as a double (out of every range asked for). */
    private static Object value(JsonNode v) {
        return switch (v.getNodeType()) {
            case STRING -> v.textValue();
            case BOOLEAN -> v.booleanValue();
            case NUMBER -> v.canConvertToLong() && v.isIntegralNumber() ? (Object) v.longValue()
                    : (Object) v.doubleValue();
            case NULL -> NULL;
            case ARRAY -> {
                List<Object> list = new ArrayList<>(v.size());
                v.forEach(element -> list.add(value(element)));
                yield list;
            }
            default -> OBJECT;
        };
    }

    /** What a value is, for error messages. */
    static String describe(Object v) {
        if (v instanceof String) {
            return "a string";
        }
        if (v instanceof Boolean) {
            return "a boolean";
        }
        if (v instanceof Long) {
            return "an integer";
        }
        if (v instanceof Double) {
            return "a number";
        }
        if (v instanceof List) {
            return "an array";
        }
        return String.valueOf(v);
    }

    /** The string value of {@code field}, or null when absent. */
    static String string(Map<String, Object> m, String field) {
        Object v = m.get(field);
        if (v == null) {
            return null;
        }
        if (!(v instanceof String s)) {
            throw new AdminException(400, field + ": " + describe(v) + " (expected: a string)", field);
        }
        return s;
    }

    /** The boolean value of {@code field}, or null when absent. */
    static Boolean bool(Map<String, Object> m, String field) {
        Object v = m.get(field);
        if (v == null) {
            return null;
        }
        if (!(v instanceof Boolean b)) {
            throw new AdminException(400, field + ": " + describe(v) + " (expected: true or false)", field);
        }
        return b;
    }

    /** The integer value of {@code field} within {@code min..max}, or null when absent. */
    static Integer integer(Map<String, Object> m, String field, int min, int max) {
        Object v = m.get(field);
        if (v == null) {
            return null;
        }
        if (!(v instanceof Long n) || n < min || n > max) {
            String shown = v instanceof Long || v instanceof Double ? String.valueOf(v) : describe(v);
            throw new AdminException(400, field + ": " + shown + " (expected: an integer from " + min + " to " + max
                    + ")", field);
        }
        return n.intValue();
    }

    /** The string array of {@code field}, or null when absent. */
    static List<String> strings(Map<String, Object> m, String field) {
        Object v = m.get(field);
        if (v == null) {
            return null;
        }
        if (!(v instanceof List<?> list)) {
            throw new AdminException(400, field + ": " + describe(v) + " (expected: an array of strings)", field);
        }
        List<String> out = new ArrayList<>(list.size());
        for (Object o : list) {
            if (!(o instanceof String s)) {
                throw new AdminException(400, field + ": holds " + describe(o) + " (expected: an array of strings)",
                        field);
            }
            out.add(s);
        }
        return out;
    }

    /** Free text for a label or project: at most {@code max} characters, no control characters. */
    static String text(Map<String, Object> m, String field, int max) {
        String s = string(m, field);
        if (s == null) {
            return null;
        }
        if (s.length() > max) {
            throw new AdminException(400, field + ": " + s.length() + " characters (expected: at most " + max + ")",
                    field);
        }
        for (int i = 0; i < s.length(); i++) {
            if (Character.isISOControl(s.charAt(i))) {
                throw new AdminException(400, field + ": contains a control character at index " + i, field);
            }
        }
        return s.strip();
    }
}
