package io.gemgate.core.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** Test-only JSON helpers: parse with databind and compare trees (member order does not matter). */
final class Jsons {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private Jsons() {
    }

    /** Parses JSON written with single quotes for readability ({@code {'a':'b'}}); no apostrophes in the text. */
    static JsonNode json(String relaxed) {
        return tree(relaxed.replace('\'', '"'));
    }

    /** JSON text from single-quoted text. */
    static String q(String relaxed) {
        return relaxed.replace('\'', '"');
    }

    static byte[] bytes(String relaxed) {
        return q(relaxed).getBytes(StandardCharsets.UTF_8);
    }

    static JsonNode tree(String json) {
        try {
            return MAPPER.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode tree(byte[] json) {
        try {
            return MAPPER.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
