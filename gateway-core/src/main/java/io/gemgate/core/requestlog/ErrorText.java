package io.gemgate.core.requestlog;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Google's error answer as the request log keeps it: the message of {@code {"error":{"code","message","status"}}}
 * (Gemini API reference, "API errors"), and the body itself, both capped. Used on the failure path only.
 */
public final class ErrorText {
    /** The longest message kept. */
    public static final int MAX_MESSAGE = 1024;
    private static final JsonFactory JSON = new JsonFactory();

    private ErrorText() {
    }

    /** {@code error.message} of a Google error body, capped, or null when there is none. */
    public static String googleMessage(byte[] body, int off, int len) {
        try (JsonParser p = JSON.createParser(body, off, len)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken t = p.nextToken();
                if ("error".equals(name) && t == JsonToken.START_OBJECT) {
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String field = p.currentName();
                        JsonToken v = p.nextToken();
                        if ("message".equals(field) && v == JsonToken.VALUE_STRING) {
                            return cap(p.getText(), MAX_MESSAGE);
                        }
                        p.skipChildren();
                    }
                    return null;
                }
                p.skipChildren();
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }

    /** The body as text (UTF-8), at most {@code max} bytes of it; null when {@code max} is 0. */
    public static String body(byte[] body, int off, int len, int max) {
        if (max <= 0) {
            return null;
        }
        return new String(body, off, Math.min(len, max), StandardCharsets.UTF_8);
    }

    /** {@code s} cut to {@code max} characters ("..." appended when cut); null stays null. */
    public static String cap(String s, int max) {
        if (s == null || s.length() <= max) {
            return s;
        }
        return s.substring(0, max) + "...";
    }
}
