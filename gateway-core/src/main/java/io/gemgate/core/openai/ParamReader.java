package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;

/**
 * Typed reads of the current value of a {@link JsonParser} for the OpenAI request translation, with the 400 that
 * names the parameter ({@link OpenAiRequestException}) when the JSON type is wrong, worded like OpenAI's own errors.
 * Parameter paths inside arrays are given as templates ({@code messages[#].content[#].text}) and built by
 * {@link #param} only when an error is thrown, so reading a valid request concatenates no strings.
 *
 * <p>Called by every reading part of the translation ({@link ChatRequestParser}, {@link ChatMedia},
 * {@link ChatTools}, {@link ThinkingPolicy}, {@link GenerationConfigWriter}). Stateless static methods; thread-safe.
 */
final class ParamReader {
    private ParamReader() {
    }

    static OpenAiRequestException typeError(String param, String expected, JsonParser p) {
        return new OpenAiRequestException(param, "Invalid type for '" + param + "': expected " + expected
                + ", but got " + tokenType(p.currentToken()) + " instead.");
    }

    private static String tokenType(JsonToken t) {
        if (t == null) {
            return "nothing";
        }
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT -> "an integer";
            case VALUE_NUMBER_FLOAT -> "a decimal";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> t.toString();
        };
    }

    /**
     * A parameter path from a template whose {@code #}s are replaced by {@code i} then {@code j}; built only for
     * error messages, so reading a message costs no string concatenation.
     */
    static String param(String template, int i, int j) {
        StringBuilder sb = new StringBuilder(template.length() + 8);
        boolean first = true;
        for (int c = 0; c < template.length(); c++) {
            char ch = template.charAt(c);
            if (ch == '#') {
                sb.append(first ? i : j);
                first = false;
            } else {
                sb.append(ch);
            }
        }
        return sb.toString();
    }

    /** As {@link #string(JsonParser, String)} with the parameter given as a {@link #param} template. */
    static String string(JsonParser p, String template, int i, int j) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_STRING) {
            return p.getText();
        }
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        throw typeError(param(template, i, j), "a string", p);
    }

    /** A string, or null for JSON null; other types are a 400 on {@code param}. */
    static String string(JsonParser p, String param) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_STRING) {
            return p.getText();
        }
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        throw typeError(param, "a string", p);
    }

    static Double number(JsonParser p, String param) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_NUMBER_FLOAT) {
            return p.getDoubleValue();
        }
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        throw typeError(param, "a number", p);
    }

    static Long integer(JsonParser p, String param) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NUMBER_INT) {
            try {
                return p.getLongValue();
            } catch (IOException tooBig) {
                return p.getBigIntegerValue().signum() < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
            }
        }
        if (t == JsonToken.VALUE_NUMBER_FLOAT) {
            double d = p.getDoubleValue();
            if (d == Math.rint(d) && !Double.isInfinite(d)) {
                return (long) d;
            }
        }
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        throw typeError(param, "an integer", p);
    }

    static boolean bool(JsonParser p, String param, boolean ifNull) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_TRUE) {
            return true;
        }
        if (t == JsonToken.VALUE_FALSE) {
            return false;
        }
        if (t == JsonToken.VALUE_NULL) {
            return ifNull;
        }
        throw typeError(param, "a boolean", p);
    }

    /**
     * A JSON object read whole as a {@link JsonTree} (a schema), or null for JSON null; other types are a 400 on
     * {@code param(template, k, 0)}.
     */
    static Object schema(JsonParser p, String template, int k) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        if (t != JsonToken.START_OBJECT) {
            throw typeError(param(template, k, 0), "an object", p);
        }
        return JsonTree.read(p);
    }
}
