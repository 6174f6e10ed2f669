package io.gemgate.core.affinity;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;

/**
 * The fields of a Gemini answer that say what it created (README, key affinity): the first resource {@code name}
 * ({@code {"file":{"name":"files/abc",...}}}, {@code {"name":"cachedContents/xyz",...}}, a batch operation's
 * {@code "name":"batches/b"}), its end ({@code expirationTime} of a file, {@code expireTime} of a cache), the first
 * {@code state}, and result files ({@code responsesFile}). Read with Jackson's streaming parser on the (small, rare)
 * answers of the creating calls only; never throws.
 *
 * @param name         the first resource name, or null
 * @param expiresMillis its end in epoch millis, or -1 when the answer gives none
 * @param state        the first {@code state} value, or ""
 * @param resultFiles  {@code responsesFile} values (files/...)
 */
public record AnswerFields(String name, long expiresMillis, String state, List<String> resultFiles) {
    private static final JsonFactory JSON = new JsonFactory();

    public static AnswerFields parse(byte[] b, int len) {
        String name = null;
        long expires = -1;
        String state = "";
        List<String> files = new ArrayList<>();
        try (JsonParser p = JSON.createParser(b, 0, len)) {
            JsonToken t;
            while ((t = p.nextToken()) != null) {
                if (t != JsonToken.FIELD_NAME) {
                    continue;
                }
                String field = p.currentName();
                JsonToken v = p.nextToken();
                if (v != JsonToken.VALUE_STRING) {
                    continue; // objects and arrays are walked into by the loop
                }
                String text = p.getText();
                switch (field) {
                    case "name" -> {
                        if (name == null && isResource(text)) {
                            name = text;
                        }
                    }
                    case "expireTime", "expirationTime" -> {
                        if (expires < 0) {
                            expires = time(text);
                        }
                    }
                    case "state" -> {
                        if (state.isEmpty()) {
                            state = text;
                        }
                    }
                    case "responsesFile" -> {
                        if (text.startsWith("files/")) {
                            files.add(text);
                        }
                    }
                    default -> {
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // a cut or odd answer: keep what was read
        }
        return new AnswerFields(name, expires, state, files);
    }

    private static boolean isResource(String s) {
        return s.startsWith("files/") || s.startsWith("cachedContents/") || s.startsWith("batches/")
                || s.startsWith("fileSearchStores/");
    }

    /** An RFC 3339 time in epoch millis, or -1. */
    static long time(String s) {
        try {
            return OffsetDateTime.parse(s).toInstant().toEpochMilli();
        } catch (DateTimeParseException e) {
            return -1;
        }
    }

    /** True for the batch states after which a batch changes no more (Batch Mode: JOB_STATE_* / BATCH_STATE_*). */
    public boolean isFinished() {
        return state.endsWith("_SUCCEEDED") || state.endsWith("_FAILED") || state.endsWith("_CANCELLED")
                || state.endsWith("_EXPIRED");
    }
}
