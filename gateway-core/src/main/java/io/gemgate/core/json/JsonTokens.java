package io.gemgate.core.json;

import com.fasterxml.jackson.core.JsonToken;

/** Words for what a JSON parser met, for error messages that name the field and what was wrong with it. */
public final class JsonTokens {
    private JsonTokens() {
    }

    /** "an object", "a string", "an integer", ... or "end of input" for null. */
    public static String describe(JsonToken t) {
        if (t == null) {
            return "end of input";
        }
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT -> "an integer";
            case VALUE_NUMBER_FLOAT -> "a fractional number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> t.asString() == null ? t.name() : t.asString();
        };
    }
}
