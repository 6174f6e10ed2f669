package io.gemgate.server.shared;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gemgate.core.json.Databind;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Set;
import java.util.TreeSet;

/**
 * The JSON values of the key hashes in Redis ({@link RedisLayout#addedKeys()}, {@link RedisLayout#keyStates()}):
 * the records below, bound by jackson-databind ({@link Databind#newMapper()}).
 *
 * <p>Gateways of different versions share one Redis during a rolling upgrade, so the shape stays fixed both ways:
 * fields in component order, {@code tier} and {@code groups} (sorted) always written, {@code proxy} only when set;
 * fields a newer version adds are skipped, fields an older version left out take their defaults (weight 1, enabled,
 * everything else empty or 0). Refusals are {@link IllegalArgumentException}s naming the field.
 */
final class SharedCodec {
    private static final ObjectMapper MAPPER = Databind.newMapper();

    private SharedCodec() {
    }

    /**
     * A key added at run time, as stored in Redis.
     *
     * @param secret        {@code v1:...} (KeyCipher) when a master key is set, else the key itself
     * @param project       its project, {@code ""} for none
     * @param weight        1 to 100
     * @param label         {@code ""} for none
     * @param addedAtMillis when it was first published (JSON {@code addedAt})
     * @param tier          its tier (0 when an older gateway published it)
     * @param groups        its groups (none when an older gateway published it), kept sorted
     * @param proxy         its own exit ({@code KeySpec.proxy()}), encrypted when it holds credentials and a master key
     *                      is set; {@code ""} when an older gateway published it
     */
    record AddedKey(String secret, String project, int weight, String label,
                    @JsonProperty("addedAt") long addedAtMillis, int tier, Set<String> groups,
                    @JsonInclude(JsonInclude.Include.NON_EMPTY) String proxy) {
        AddedKey {
            requireNonNull(proxy, "proxy");
            requireNonNull(secret, "secret");
            requireNonNull(project, "project");
            requireNonNull(label, "label");
            groups = sorted(groups);
        }

        /** Reads a stored value: absent fields take their defaults, a missing secret is refused. */
        @JsonCreator
        static AddedKey read(@JsonProperty("secret") String secret, @JsonProperty("project") String project,
                             @JsonProperty("weight") Long weight, @JsonProperty("label") String label,
                             @JsonProperty("addedAt") long addedAt, @JsonProperty("tier") long tier,
                             @JsonProperty("groups") Set<String> groups, @JsonProperty("proxy") String proxy) {
            if (secret == null) {
                throw new IllegalArgumentException("secret: missing");
            }
            return new AddedKey(secret, orEmpty(project), weight == null ? 1 : clamp("weight", weight),
                    orEmpty(label), nonNegative("addedAt", addedAt), clamp("tier", tier), groups, orEmpty(proxy));
        }

        /** Leaves the secret out. */
        @Override
        public String toString() {
            // no proxy either: it may hold a password
            return "AddedKey[project=" + project + ", weight=" + weight + ", label=" + label + "]";
        }
    }

    /**
     * A key's marks and definition as last set by any instance.
     *
     * @param invalidSince epoch millis; 0 = valid
     */
    record KeyState(boolean enabled, boolean removed, long invalidSince, String invalidReason, String project,
                    int weight, String label, int tier, Set<String> groups) {
        KeyState {
            requireNonNull(invalidReason, "invalidReason");
            requireNonNull(project, "project");
            requireNonNull(label, "label");
            groups = sorted(groups);
        }

        /** Reads a stored value: absent fields take their defaults. */
        @JsonCreator
        static KeyState read(@JsonProperty("enabled") Boolean enabled, @JsonProperty("removed") boolean removed,
                             @JsonProperty("invalidSince") long invalidSince,
                             @JsonProperty("invalidReason") String invalidReason,
                             @JsonProperty("project") String project, @JsonProperty("weight") Long weight,
                             @JsonProperty("label") String label, @JsonProperty("tier") long tier,
                             @JsonProperty("groups") Set<String> groups) {
            return new KeyState(enabled == null || enabled, removed, nonNegative("invalidSince", invalidSince),
                    orEmpty(invalidReason), orEmpty(project), weight == null ? 1 : clamp("weight", weight),
                    orEmpty(label), clamp("tier", tier), groups);
        }
    }

    static String encodeAddedKey(AddedKey k) {
        return write(k);
    }

    /** @throws IllegalArgumentException when the value is not one {@link #encodeAddedKey} wrote */
    static AddedKey decodeAddedKey(String json) {
        return read(json, AddedKey.class);
    }

    static String encodeKeyState(KeyState s) {
        return write(s);
    }

    /** @throws IllegalArgumentException when the value is not one {@link #encodeKeyState} wrote */
    static KeyState decodeKeyState(String json) {
        return read(json, KeyState.class);
    }

    // ------------------------------------------------------------------------------------------------------ private

    private static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JacksonException e) {
            throw new UncheckedIOException("writing JSON in memory", e); // cannot happen with these records
        }
    }

    private static <T> T read(String json, Class<T> type) {
        try {
            Databind.Document d = Databind.read(MAPPER, requireNonNull(json, "json").getBytes(StandardCharsets.UTF_8));
            if (d.first() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("not a JSON object");
            }
            return MAPPER.treeToValue(d.root(), type);
        } catch (JacksonException e) {
            Databind.Problem p = Databind.problem(e);
            throw new IllegalArgumentException(switch (p.kind()) {
                case WRONG_TYPE -> p.path() + ": not " + p.expected();
                case OUT_OF_RANGE -> p.path() + ": out of range (" + p.detail() + ")";
                case INVALID -> p.join(p.detail());
                default -> "malformed JSON: " + p.detail();
            });
        } catch (IOException e) {
            throw new UncheckedIOException("reading JSON from memory", e);
        }
    }

    private static Set<String> sorted(Set<String> groups) {
        return groups == null ? Set.of() : Collections.unmodifiableSet(new TreeSet<>(groups));
    }

    private static String orEmpty(String s) {
        return s == null ? "" : s;
    }

    private static long nonNegative(String field, long v) {
        if (v < 0) {
            throw new IllegalArgumentException(field + ": negative (" + v + ")");
        }
        return v;
    }

    /** Within int, as the older reader did (it capped larger values rather than refuse them). */
    private static int clamp(String field, long v) {
        return (int) Math.min(Integer.MAX_VALUE, nonNegative(field, v));
    }
}
