package io.gemgate.core.json;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.std.NumberDeserializers;
import com.fasterxml.jackson.databind.deser.std.StringDeserializer;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import java.io.IOException;
import java.util.Collection;
import java.util.Map;

/**
 * The jackson-databind setup of the cold-path codecs (state file, tokens, settings, Redis values, admin answers),
 * and the words of their errors.
 *
 * <h2>Reading rules</h2>
 * {@link #newMapper()} reads records strictly enough that a hand-edited or damaged document is refused with a
 * message naming the field, and loosely enough that a newer writer's document still loads:
 * <ul>
 *   <li>unknown fields are skipped (a newer version wrote them);</li>
 *   <li>a missing field takes its default (0 or false for primitives, else what the record's constructor puts for
 *       null);</li>
 *   <li>a present field must have the JSON type of its component: no coercion of {@code "5"} to 5, of 1 to
 *       {@code true}, of 1.5 to 1 or of 5 to {@code "5"}; an explicit {@code null} is refused for strings and
 *       primitives;</li>
 *   <li>numbers outside the component's range are refused; duplicate fields and content after the value are
 *       refused.</li>
 * </ul>
 * Values are checked after reading, in the records' constructors or by the codec, with messages of the codec's own.
 * {@link #problem} turns what Jackson throws into the parts those messages are made of.
 *
 * <p>Thread-safe: mappers are configured once and then only used.
 */
public final class Databind {

    private Databind() {
    }

    /**
     * A mapper with the reading rules above; writing is Jackson's default (compact, fields in record component
     * order, nulls written). Each codec keeps one, created once.
     */
    public static ObjectMapper newMapper() {
        JsonFactory factory = JsonFactory.builder()
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .build();
        SimpleModule strict = new SimpleModule("gemgate-strict")
                .addDeserializer(String.class, new StrictStringDeserializer());
        refuseNull(strict, boolean.class, false);
        refuseNull(strict, int.class, 0);
        refuseNull(strict, long.class, 0L);
        refuseNull(strict, Boolean.class, null);
        refuseNull(strict, Integer.class, null);
        refuseNull(strict, Long.class, null);
        return JsonMapper.builder(factory)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
                .addModule(strict)
                .build();
    }

    @SuppressWarnings("unchecked")
    private static <T> void refuseNull(SimpleModule module, Class<T> type, T absent) {
        JsonDeserializer<T> standard = (JsonDeserializer<T>) NumberDeserializers.find(type, type.getName());
        module.addDeserializer(type, new NullRefused<>(standard, type, absent));
    }

    /**
     * Jackson's own deserializer of {@code type}, except that an explicit {@code null} is refused while a missing
     * field still takes {@code absent} (Jackson's {@code Nulls.FAIL} would refuse both).
     */
    private static final class NullRefused<T> extends JsonDeserializer<T> {
        private final JsonDeserializer<T> standard;
        private final Class<T> type;
        private final T absent;

        NullRefused(JsonDeserializer<T> standard, Class<T> type, T absent) {
            this.standard = standard;
            this.type = type;
            this.absent = absent;
        }

        @Override
        public T deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            return standard.deserialize(p, ctxt);
        }

        @Override
        public T getNullValue(DeserializationContext ctxt) throws JsonMappingException {
            throw MismatchedInputException.from(ctxt.getParser(), type, "null for " + words(type));
        }

        @Override
        public Object getAbsentValue(DeserializationContext ctxt) {
            return absent;
        }
    }

    /**
     * Strings: a missing one reads as null (the record puts its default); an explicit {@code null} and other scalars
     * are refused.
     */
    private static final class StrictStringDeserializer extends StringDeserializer {
        @Override
        public String deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            if (p.currentToken() != JsonToken.VALUE_STRING) {
                return (String) ctxt.handleUnexpectedToken(String.class, p);
            }
            return p.getText();
        }

        @Override
        public String getNullValue(DeserializationContext ctxt) throws JsonMappingException {
            throw MismatchedInputException.from(ctxt.getParser(), String.class, "null for a string");
        }

        @Override
        public Object getAbsentValue(DeserializationContext ctxt) {
            return null;
        }
    }

    /**
     * One JSON document read as a tree, with what its codec needs to word a refusal.
     *
     * @param first    its first token; null when the input is empty or only whitespace
     * @param root     its value; null when {@code first} is null
     * @param trailing the first token after the value, null when there is none
     */
    public record Document(JsonToken first, JsonNode root, JsonToken trailing) {
    }

    /**
     * Reads {@code data} as one JSON value with {@code mapper}'s parser settings (duplicate fields refused).
     *
     * @throws JacksonException when it is not JSON or ends early ({@link #problem} words it)
     */
    public static Document read(ObjectMapper mapper, byte[] data) throws IOException {
        try (JsonParser p = mapper.createParser(data)) {
            JsonToken first = p.nextToken();
            if (first == null) {
                return new Document(null, null, null);
            }
            JsonNode root = mapper.readTree(p);
            return new Document(first, root, p.nextToken());
        }
    }

    /** What kind of trouble a document has. */
    public enum Kind {
        /** It ends before its value does. */
        TRUNCATED,
        /** It is not JSON, or repeats a field. */
        MALFORMED,
        /** A value has the wrong JSON type for its field. */
        WRONG_TYPE,
        /** A number is too large for its field. */
        OUT_OF_RANGE,
        /** A value was refused by a record's check after reading ({@link #detail()} is its message). */
        INVALID
    }

    /**
     * One thing wrong with a document.
     *
     * @param kind     what
     * @param path     where: {@code keys[1].models[0].requests}; {@code ""} for the document itself
     * @param target   the Java type the field takes (null when unknown); {@link #expected()} says it in words
     * @param found    the JSON token met there (null at the end of input)
     * @param detail   the number's text for {@link Kind#OUT_OF_RANGE}, the check's message for {@link Kind#INVALID},
     *                 the parser's first clause for {@link Kind#MALFORMED} and {@link Kind#TRUNCATED}
     * @param line     line of the problem (1-based), 0 when unknown
     * @param column   column of the problem (1-based), 0 when unknown
     * @param offset   byte offset of the problem, -1 when unknown
     */
    public record Problem(Kind kind, String path, Class<?> target, JsonToken found, String detail, int line,
                          int column, long offset) {

        /**
         * The path joined to a check's message: {@code keys[0].models[1]} and {@code "requests: negative (-3)"}
         * give {@code keys[0].models[1].requests: negative (-3)}; a message that starts with ':' names the path
         * itself.
         */
        public String join(String message) {
            if (path.isEmpty()) {
                return message.startsWith(": ") ? message.substring(2) : message;
            }
            return message.startsWith(":") ? path + message : path + "." + message;
        }

        /** What the field takes, in words: "an integer", "a boolean", "a string", "an array", "an object". */
        public String expected() {
            return words(target);
        }

        /** Whether the field is a Java {@code int} (or {@code Integer}). */
        public boolean isInt() {
            return target == int.class || target == Integer.class;
        }

        /** The found token in words ({@link JsonTokens#describe}). */
        public String foundWords() {
            return JsonTokens.describe(found);
        }
    }

    /**
     * Describes what Jackson threw while reading a document with a {@link #newMapper()} mapper.
     *
     * @param e what was thrown by {@code readValue}, {@code treeToValue} or the parser
     * @return the problem; a {@link Kind#MALFORMED} one naming Jackson's message when nothing better is known
     */
    public static Problem problem(JacksonException e) {
        String path = e instanceof JsonMappingException m ? path(m) : "";
        Throwable cause = e;
        while (cause.getCause() instanceof JacksonException inner && cause.getCause() != cause) {
            cause = inner;
        }
        JsonLocation at = e.getLocation();
        int line = at == null ? 0 : at.getLineNr();
        int column = at == null ? 0 : at.getColumnNr();
        long offset = at == null ? -1 : at.getByteOffset();
        if (cause instanceof JsonEOFException eof) {
            JsonLocation l = eof.getLocation();
            return new Problem(Kind.TRUNCATED, path, null, null, firstClause(eof.getOriginalMessage()), line, column,
                    l == null ? -1 : l.getByteOffset());
        }
        if (cause instanceof InputCoercionException range) {
            return new Problem(Kind.OUT_OF_RANGE, path, range.getTargetType(), range.getInputType(),
                    text(range.getProcessor()), line, column, offset);
        }
        if (e instanceof ValueInstantiationException v && v.getCause() != null) {
            Throwable check = v.getCause();
            return new Problem(Kind.INVALID, path, null, null, String.valueOf(check.getMessage()), line, column,
                    offset);
        }
        if (e instanceof MismatchedInputException mismatch && mismatch.getTargetType() != null) {
            return new Problem(Kind.WRONG_TYPE, path, mismatch.getTargetType(), token(e.getProcessor()),
                    "", line, column, offset);
        }
        if (e instanceof JsonMappingException && cause != e && cause instanceof JacksonException inner) {
            Problem p = problem(inner);
            return new Problem(p.kind(), path.isEmpty() ? p.path() : path, p.target(), p.found(), p.detail(),
                    line, column, offset);
        }
        return new Problem(Kind.MALFORMED, path, null, null, firstClause(e.getOriginalMessage()), line, column, offset);
    }

    /** {@code keys[1].models[0].requests} from Jackson's reference chain. */
    private static String path(JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                if (!sb.isEmpty()) {
                    sb.append('.');
                }
                sb.append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                sb.append('[').append(r.getIndex()).append(']');
            }
        }
        return sb.toString();
    }

    /** What a Java type is in JSON, in words. */
    public static String words(Class<?> type) {
        if (type == null) {
            return "a value";
        }
        if (type == int.class || type == long.class || type == Integer.class || type == Long.class
                || type == short.class || type == Short.class) {
            return "an integer";
        }
        if (type == boolean.class || type == Boolean.class) {
            return "a boolean";
        }
        if (type == String.class || type.isEnum()) {
            return "a string";
        }
        if (type.isArray() || Collection.class.isAssignableFrom(type)) {
            return "an array";
        }
        if (type == double.class || type == Double.class || type == float.class || type == Float.class) {
            return "a number";
        }
        if (Map.class.isAssignableFrom(type) || type.isRecord()
                || com.fasterxml.jackson.databind.node.ObjectNode.class.isAssignableFrom(type)) {
            return "an object";
        }
        return "a value";
    }

    private static JsonToken token(Object processor) {
        return processor instanceof JsonParser p ? p.currentToken() : null;
    }

    private static String text(Object processor) {
        try {
            return processor instanceof JsonParser p ? p.getText() : "";
        } catch (IOException e) {
            return "";
        }
    }

    /**
     * Jackson's messages go on with "was expecting ..."; keep the first clause, at most 80 characters. A token Jackson
     * quotes ("Unrecognized token 'AIza...'") is cut to its first and last 4 characters: the documents these codecs
     * read may hold keys, and their errors are logged.
     */
    public static String firstClause(String message) {
        if (message == null) {
            return "unknown error";
        }
        int colon = message.indexOf(": ");
        String first = colon > 0 ? message.substring(0, colon) : message;
        first = first.replace('\n', ' ');
        String quoted = "Unrecognized token '";
        int start = first.indexOf(quoted);
        int end = start < 0 ? -1 : first.indexOf('\'', start + quoted.length());
        if (end > start + quoted.length() + 8) {
            int from = start + quoted.length();
            first = first.substring(0, from + 4) + "..." + first.substring(end - 4);
        }
        return first.length() <= 80 ? first : first.substring(0, 77) + "...";
    }
}
