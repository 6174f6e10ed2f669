package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A minimal JSON value tree for the few request members that are opaque or must be rewritten as a whole (tool
 * parameter schemas, tool call arguments, pass-through settings): {@link LinkedHashMap} for objects (member order
 * kept), {@link ArrayList} for arrays, {@link String}, {@link Number}, {@link Boolean}, and {@link #NULL}. Everything
 * else in the translation streams through Jackson's parser and generator without a tree.
 */
final class JsonTree {
    /** JSON {@code null} (Java null means "absent"). */
    static final Object NULL = new Object() {
        @Override
        public String toString() {
            return "null";
        }
    };

    private JsonTree() {
    }

    /** Reads the value at the parser's current token, leaving the parser on the value's last token. */
    static Object read(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        switch (t) {
            case START_OBJECT: {
                Map<String, Object> m = new LinkedHashMap<>();
                while (Json.next(p) != JsonToken.END_OBJECT) {
                    String name = p.currentName();
                    Json.next(p);
                    m.put(name, read(p));
                }
                return m;
            }
            case START_ARRAY: {
                List<Object> l = new ArrayList<>();
                while (Json.next(p) != JsonToken.END_ARRAY) {
                    l.add(read(p));
                }
                return l;
            }
            case VALUE_STRING:
                return p.getText();
            case VALUE_NUMBER_INT:
                return p.getNumberValue();
            case VALUE_NUMBER_FLOAT:
                return p.getDoubleValue();
            case VALUE_TRUE:
                return Boolean.TRUE;
            case VALUE_FALSE:
                return Boolean.FALSE;
            case VALUE_NULL:
                return NULL;
            default:
                throw new com.fasterxml.jackson.core.JsonParseException(p, "Unexpected token " + t);
        }
    }

    /** Parses a whole document; throws {@link IOException} on anything but exactly one JSON value. */
    static Object parse(String json) throws IOException {
        try (JsonParser p = Json.parser(json)) {
            if (p.nextToken() == null) {
                throw new com.fasterxml.jackson.core.JsonParseException(p, "Empty JSON");
            }
            Object v = read(p);
            Json.expectEnd(p);
            return v;
        }
    }

    static void write(JsonGenerator g, Object v) throws IOException {
        if (v == null || v == NULL) {
            g.writeNull();
        } else if (v instanceof String s) {
            g.writeString(s);
        } else if (v instanceof Map<?, ?> m) {
            g.writeStartObject();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                g.writeFieldName((String) e.getKey());
                write(g, e.getValue());
            }
            g.writeEndObject();
        } else if (v instanceof List<?> l) {
            g.writeStartArray();
            for (Object o : l) {
                write(g, o);
            }
            g.writeEndArray();
        } else if (v instanceof Boolean b) {
            g.writeBoolean(b);
        } else if (v instanceof Integer i) {
            g.writeNumber(i);
        } else if (v instanceof Long l) {
            g.writeNumber(l);
        } else if (v instanceof BigInteger bi) {
            g.writeNumber(bi);
        } else if (v instanceof BigDecimal bd) {
            g.writeNumber(bd);
        } else if (v instanceof Number n) {
            g.writeNumber(n.doubleValue());
        } else {
            throw new IllegalArgumentException("Not a JSON tree value: " + v.getClass());
        }
    }

    /** Compact JSON text of a tree value. */
    static String toJson(Object v) {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = Json.FACTORY.createGenerator(w)) {
            write(g, v);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.toString();
    }
}
