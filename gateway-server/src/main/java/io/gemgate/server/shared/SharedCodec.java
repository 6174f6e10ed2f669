package io.gemgate.server.shared;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;

/** The JSON values of the key hashes in Redis ({@link RedisLayout#addedKeys()}, {@link RedisLayout#keyStates()}). */
final class SharedCodec {
    private static final JsonFactory FACTORY = new JsonFactory();

    private SharedCodec() {
    }

    /**
     * A key added at run time, as stored in Redis.
     *
     * @param secret        {@code v1:...} (KeyCipher) when a master key is set, else the key itself
     * @param project       its project, {@code ""} for none
     * @param weight        1 to 100
     * @param label         {@code ""} for none
     * @param addedAtMillis when it was first published
     * @param tier          its tier (0 when an older gateway published it)
     * @param groups        its groups (none when an older gateway published it)
     * @param proxy         its own exit ({@code KeySpec.proxy()}), encrypted when it holds credentials and a master key
     *                      is set; {@code ""} when an older gateway published it
     */
    record AddedKey(String secret, String project, int weight, String label, long addedAtMillis, int tier,
                    java.util.Set<String> groups, String proxy) {
        AddedKey {
            requireNonNull(proxy, "proxy");
            requireNonNull(secret, "secret");
            requireNonNull(project, "project");
            requireNonNull(label, "label");
        }

        /** Leaves the secret out. */
        @Override
        public String toString() {
            return "AddedKey[project=" + project + ", weight=" + weight + ", label=" + label + "]"; // no proxy: it may hold a password
        }
    }

    /**
     * A key's marks and definition as last set by any instance.
     *
     * @param invalidSince epoch millis; 0 = valid
     */
    record KeyState(boolean enabled, boolean removed, long invalidSince, String invalidReason, String project,
                    int weight, String label, int tier, java.util.Set<String> groups) {
        KeyState {
            requireNonNull(invalidReason, "invalidReason");
            requireNonNull(project, "project");
            requireNonNull(label, "label");
        }
    }

    static String encodeAddedKey(AddedKey k) {
        return write(g -> {
            g.writeStringField("secret", k.secret());
            g.writeStringField("project", k.project());
            g.writeNumberField("weight", k.weight());
            g.writeStringField("label", k.label());
            g.writeNumberField("addedAt", k.addedAtMillis());
            tierAndGroups(g, k.tier(), k.groups());
            if (!k.proxy().isEmpty()) {
                g.writeStringField("proxy", k.proxy());
            }
        });
    }

    /** @throws IllegalArgumentException when the value is not one {@link #encodeAddedKey} wrote */
    static AddedKey decodeAddedKey(String json) {
        Fields f = read(json);
        if (f.secret == null) {
            throw new IllegalArgumentException("secret: missing");
        }
        return new AddedKey(f.secret, f.project, f.weight, f.label, f.addedAt, f.tier, f.groups, f.proxy);
    }

    static String encodeKeyState(KeyState s) {
        return write(g -> {
            g.writeBooleanField("enabled", s.enabled());
            g.writeBooleanField("removed", s.removed());
            g.writeNumberField("invalidSince", s.invalidSince());
            g.writeStringField("invalidReason", s.invalidReason());
            g.writeStringField("project", s.project());
            g.writeNumberField("weight", s.weight());
            g.writeStringField("label", s.label());
            tierAndGroups(g, s.tier(), s.groups());
        });
    }

    /** @throws IllegalArgumentException when the value is not one {@link #encodeKeyState} wrote */
    static KeyState decodeKeyState(String json) {
        Fields f = read(json);
        return new KeyState(f.enabled, f.removed, f.invalidSince, f.invalidReason, f.project, f.weight, f.label,
                f.tier, f.groups);
    }

    private static void tierAndGroups(JsonGenerator g, int tier, java.util.Set<String> groups) throws IOException {
        g.writeNumberField("tier", tier);
        g.writeArrayFieldStart("groups");
        for (String group : new java.util.TreeSet<>(groups)) {
            g.writeString(group);
        }
        g.writeEndArray();
    }

    // ------------------------------------------------------------------------------------------------------ private

    private interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    private static String write(Body body) {
        StringWriter out = new StringWriter(128);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.writeStartObject();
            body.write(g);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("writing JSON in memory", e); // cannot happen with a StringWriter
        }
        return out.toString();
    }

    /** The union of both records' fields, with their defaults; unknown fields are skipped (newer versions). */
    private static final class Fields {
        String secret;
        String project = "";
        int weight = 1;
        String label = "";
        long addedAt;
        String proxy = "";
        boolean enabled = true;
        boolean removed;
        long invalidSince;
        String invalidReason = "";
        int tier;
        java.util.Set<String> groups = java.util.Set.of();
    }

    private static Fields read(String json) {
        Fields f = new Fields();
        try (JsonParser p = FACTORY.createParser(requireNonNull(json, "json"))) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("not a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken t = p.nextToken();
                switch (name) {
                    case "secret" -> f.secret = text(p, t, name);
                    case "project" -> f.project = text(p, t, name);
                    case "weight" -> f.weight = (int) Math.min(Integer.MAX_VALUE, number(p, t, name));
                    case "label" -> f.label = text(p, t, name);
                    case "addedAt" -> f.addedAt = number(p, t, name);
                    case "proxy" -> f.proxy = text(p, t, name);
                    case "enabled" -> f.enabled = bool(t, name);
                    case "removed" -> f.removed = bool(t, name);
                    case "invalidSince" -> f.invalidSince = number(p, t, name);
                    case "invalidReason" -> f.invalidReason = text(p, t, name);
                    case "tier" -> f.tier = (int) Math.min(Integer.MAX_VALUE, number(p, t, name));
                    case "groups" -> f.groups = groups(p, t, name);
                    default -> p.skipChildren();
                }
            }
            return f;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("malformed JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException("reading JSON from memory", e);
        }
    }

    private static String text(JsonParser p, JsonToken t, String field) throws IOException {
        if (t != JsonToken.VALUE_STRING) {
            throw new IllegalArgumentException(field + ": not a string");
        }
        return p.getText();
    }

    private static java.util.Set<String> groups(JsonParser p, JsonToken t, String field) throws IOException {
        if (t != JsonToken.START_ARRAY) {
            throw new IllegalArgumentException(field + ": not an array");
        }
        java.util.Set<String> out = new java.util.TreeSet<>();
        JsonToken e;
        while ((e = p.nextToken()) != JsonToken.END_ARRAY) {
            out.add(text(p, e, field));
        }
        return out;
    }

    private static long number(JsonParser p, JsonToken t, String field) throws IOException {
        if (t != JsonToken.VALUE_NUMBER_INT) {
            throw new IllegalArgumentException(field + ": not an integer");
        }
        long v = p.getLongValue();
        if (v < 0) {
            throw new IllegalArgumentException(field + ": negative (" + v + ")");
        }
        return v;
    }

    private static boolean bool(JsonToken t, String field) {
        if (t != JsonToken.VALUE_TRUE && t != JsonToken.VALUE_FALSE) {
            throw new IllegalArgumentException(field + ": not a boolean");
        }
        return t == JsonToken.VALUE_TRUE;
    }
}
