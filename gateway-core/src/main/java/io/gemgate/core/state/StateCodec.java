package io.gemgate.core.state;

import io.gemgate.core.json.JsonTokens;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import io.gemgate.core.state.StateSnapshot.AddedKey;
import io.gemgate.core.state.StateSnapshot.HealthDay;
import io.gemgate.core.state.StateSnapshot.KeyHealth;
import io.gemgate.core.state.StateSnapshot.KeyEdit;
import io.gemgate.core.state.StateSnapshot.KeyRecord;
import io.gemgate.core.state.StateSnapshot.ModelRecord;
import io.gemgate.core.tokens.TokenCodec;
import io.gemgate.core.tokens.TokenRecord;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Encodes a {@link StateSnapshot} as UTF-8 JSON and decodes it back.
 *
 * <h2>Format</h2>
 * <pre>{@code
 * {
 *   "version" : 2,
 *   "savedAtMillis" : 1700000000000,
 *   "keys" : [ {
 *     "fingerprint" : "ba7816bf8f01cfea",
 *     "disabled" : false,
 *     "removed" : false,
 *     "invalidSinceMillis" : 0,
 *     "invalidReason" : "",
 *     "models" : [ { "model" : "gemini-2.5-flash", "cooldownUntilMillis" : 0, "rateLimitStreak" : 0,
 *                    "exhaustedUntilMillis" : 0, "dayStartMillis" : 0, "requests" : 0, "successes" : 0,
 *                    "failures" : 0, "rateLimited" : 0, "promptTokens" : 0, "outputTokens" : 0 } ]
 *   } ],
 *   "addedKeys" : [ { "fingerprint" : "...", "secret" : "v1:...", "project" : "", "weight" : 1, "label" : "",
 *                     "addedAtMillis" : 1700000000000 } ],
 *   "keyEdits" : [ { "fingerprint" : "...", "project" : "team-a", "weight" : 3, "label" : "" } ],
 *   "tokens" : [ { ...TokenCodec.writeRecord... } ],
 *   "settings" : { "strategy" : "least_used" },
 *   "health" : [ { "fingerprint" : "...", "streakFromMillis" : 0, "removedReason" : "",
 *                  "days" : [ { "dayStartMillis" : 1700000000000, "ok" : 0, "failed" : 4, "checks" : 2,
 *                               "checksFailed" : 2 } ] } ],
 *   "affinity" : [ { "name" : "files/abc", "fingerprint" : "...", "project" : "", "createdMillis" : 0,
 *                    "expiresMillis" : 0, "owner" : "" } ]
 * }
 * }</pre>
 * Field names are the record component names; {@code version} is written first; {@code settings} only when the
 * snapshot holds some. The file is this one JSON object (pretty-printed, followed by a newline) and nothing else.
 * Version 1 files have {@code keys} only (and no {@code removed}); they decode with the version 2 parts empty, even
 * if a field of that name is present with another shape. {@code health} is written only when some key has history;
 * a version 2 file without it decodes with none.
 *
 * <h2>Integrity</h2>
 * There is no checksum field: a truncated or partly overwritten file is detected because it no longer parses as one
 * complete JSON object (the closing brace is the last thing written, so every strict prefix of an encoding fails
 * to decode), and a zero-length or whitespace-only file is corrupt. A checksum was rejected because it would make
 * hand-edited files and files with fields added by newer writers of the same version unreadable. Atomic replacement
 * ({@link StateFile}) guarantees readers never see a half-written file in the first place; this check is the second
 * line of defence.
 *
 * <h2>Decoding rules</h2>
 * <ul>
 *   <li>The top level must be an object with an integer {@code version} between 1 and
 *       {@link StateSnapshot#CURRENT_VERSION}; a newer version is rejected rather than half-understood.</li>
 *   <li>Unknown fields, at any level and of any shape, are skipped (forward compatibility).</li>
 *   <li>Other missing fields default to {@code 0}, {@code ""}, {@code false} or an empty list.</li>
 *   <li>Present fields must have the right JSON type ({@code null} is a wrong type): integers for numbers (no
 *       fractions, within {@code int}/{@code long} range), booleans, strings, arrays of objects; {@code settings}
 *       must be an object (its content is checked when it is applied, not here).</li>
 *   <li>Numbers must not be negative. Duplicate field names and anything after the top-level object are rejected.</li>
 *   <li>A token record must be complete and valid as {@link TokenCodec#readRecord} reads it.</li>
 * </ul>
 * Every violation throws {@link StateCorruptException} with a short message naming the field.
 *
 * <p>Thread-safe: the class is stateless.
 */
public final class StateCodec {

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();
    /** Top-level fields that only version 2 and later define. */
    private static final List<String> V2_FIELDS = List.of("addedKeys", "keyEdits", "tokens", "settings", "health",
            "affinity");

    private StateCodec() {
    }

    /**
     * Encodes {@code snapshot} as pretty-printed UTF-8 JSON ending in a newline.
     *
     * @param snapshot the state to encode
     * @return the file content
     * @throws IllegalArgumentException if {@code snapshot.settings()} is neither empty nor one JSON object
     */
    public static byte[] encode(StateSnapshot snapshot) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 + snapshot.keys().size() * 512
                + snapshot.tokens().size() * 512 + snapshot.addedKeys().size() * 256);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.setPrettyPrinter(new DefaultPrettyPrinter());
            g.writeStartObject();
            g.writeNumberField("version", snapshot.version());
            g.writeNumberField("savedAtMillis", snapshot.savedAtMillis());
            g.writeArrayFieldStart("keys");
            for (KeyRecord key : snapshot.keys()) {
                g.writeStartObject();
                g.writeStringField("fingerprint", key.fingerprint());
                g.writeBooleanField("disabled", key.disabled());
                g.writeBooleanField("removed", key.removed());
                g.writeNumberField("invalidSinceMillis", key.invalidSinceMillis());
                g.writeStringField("invalidReason", key.invalidReason());
                g.writeArrayFieldStart("models");
                for (ModelRecord m : key.models()) {
                    g.writeStartObject();
                    g.writeStringField("model", m.model());
                    g.writeNumberField("cooldownUntilMillis", m.cooldownUntilMillis());
                    g.writeNumberField("rateLimitStreak", m.rateLimitStreak());
                    g.writeNumberField("exhaustedUntilMillis", m.exhaustedUntilMillis());
                    g.writeNumberField("dayStartMillis", m.dayStartMillis());
                    g.writeNumberField("requests", m.requests());
                    g.writeNumberField("successes", m.successes());
                    g.writeNumberField("failures", m.failures());
                    g.writeNumberField("rateLimited", m.rateLimited());
                    g.writeNumberField("promptTokens", m.promptTokens());
                    g.writeNumberField("outputTokens", m.outputTokens());
                    g.writeEndObject();
                }
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeArrayFieldStart("addedKeys");
            for (AddedKey k : snapshot.addedKeys()) {
                g.writeStartObject();
                g.writeStringField("fingerprint", k.fingerprint());
                g.writeStringField("secret", k.secret());
                g.writeStringField("project", k.project());
                g.writeNumberField("weight", k.weight());
                g.writeStringField("label", k.label());
                g.writeNumberField("addedAtMillis", k.addedAtMillis());
                writeTierAndGroups(g, k.tier(), k.groups());
                if (!k.proxy().isEmpty()) {
                    g.writeStringField("proxy", k.proxy());
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeArrayFieldStart("keyEdits");
            for (KeyEdit e : snapshot.keyEdits()) {
                g.writeStartObject();
                g.writeStringField("fingerprint", e.fingerprint());
                g.writeStringField("project", e.project());
                g.writeNumberField("weight", e.weight());
                g.writeStringField("label", e.label());
                writeTierAndGroups(g, e.tier(), e.groups());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeArrayFieldStart("tokens");
            for (TokenRecord t : snapshot.tokens()) {
                TokenCodec.writeRecord(g, t);
            }
            g.writeEndArray();
            if (!snapshot.settings().isEmpty()) {
                g.writeFieldName("settings");
                copySettings(g, snapshot.settings());
            }
            if (!snapshot.health().isEmpty()) {
                writeHealth(g, snapshot.health());
            }
            if (!snapshot.affinity().isEmpty()) {
                g.writeArrayFieldStart("affinity");
                for (StateSnapshot.AffinityRecord a : snapshot.affinity()) {
                    g.writeStartObject();
                    g.writeStringField("name", a.name());
                    g.writeStringField("fingerprint", a.fingerprint());
                    g.writeStringField("project", a.project());
                    g.writeNumberField("createdMillis", a.createdMillis());
                    g.writeNumberField("expiresMillis", a.expiresMillis());
                    g.writeStringField("owner", a.owner());
                    if (!a.meta().isEmpty()) {
                        g.writeStringField("meta", a.meta());
                    }
                    g.writeEndObject();
                }
                g.writeEndArray();
            }
            g.writeEndObject();
            g.writeRaw('\n');
        } catch (IOException e) {
            throw new UncheckedIOException("encoding state in memory", e); // cannot happen with a byte array
        }
        return out.toByteArray();
    }

    private static void writeHealth(JsonGenerator g, List<KeyHealth> health) throws IOException {
        g.writeArrayFieldStart("health");
        for (KeyHealth k : health) {
            g.writeStartObject();
            g.writeStringField("fingerprint", k.fingerprint());
            g.writeNumberField("streakFromMillis", k.streakFromMillis());
            g.writeStringField("removedReason", k.removedReason());
            g.writeArrayFieldStart("days");
            for (HealthDay d : k.days()) {
                g.writeStartObject();
                g.writeNumberField("dayStartMillis", d.dayStartMillis());
                g.writeNumberField("ok", d.ok());
                g.writeNumberField("failed", d.failed());
                g.writeNumberField("checks", d.checks());
                g.writeNumberField("checksFailed", d.checksFailed());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    /** Copies the settings object into the document, so that it is pretty-printed with the rest. */
    private static void copySettings(JsonGenerator g, String settings) throws IOException {
        try (JsonParser p = FACTORY.createParser(settings)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("settings: not a JSON object");
            }
            g.copyCurrentStructure(p);
            if (p.nextToken() != null) {
                throw new IllegalArgumentException("settings: content after the object");
            }
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("settings: malformed JSON: " + shorten(e.getOriginalMessage()), e);
        }
    }

    /**
     * Decodes bytes produced by {@link #encode} (or by a compatible writer, see the class documentation).
     *
     * @param data the file content
     * @return the snapshot
     * @throws StateCorruptException if the content is empty, malformed, truncated, of the wrong shape, holds negative
     *                               numbers or has a version newer than {@link StateSnapshot#CURRENT_VERSION}
     */
    public static StateSnapshot decode(byte[] data) throws StateCorruptException {
        if (data == null || data.length == 0) {
            throw new StateCorruptException("empty");
        }
        try (JsonParser p = FACTORY.createParser(data)) {
            JsonToken t = p.nextToken();
            if (t == null) {
                throw new StateCorruptException("empty (whitespace only)");
            }
            if (t != JsonToken.START_OBJECT) {
                throw new StateCorruptException("top level is " + JsonTokens.describe(t) + ", expected an object");
            }
            int version = -1;
            long savedAtMillis = 0;
            List<KeyRecord> keys = List.of();
            // Version 2 parts are kept raw until the version is known: "version" may come after them.
            Map<String, byte[]> later = new HashMap<>();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                switch (name) {
                    case "version" -> {
                        version = readInt(p, "version");
                        if (version < 1) {
                            throw new StateCorruptException("version " + version + " is not valid");
                        }
                        if (version > StateSnapshot.CURRENT_VERSION) {
                            throw new StateCorruptException("version " + version
                                    + " is newer than the supported " + StateSnapshot.CURRENT_VERSION);
                        }
                    }
                    case "savedAtMillis" -> savedAtMillis = readLong(p, "savedAtMillis");
                    case "keys" -> keys = readKeys(p);
                    default -> {
                        if (V2_FIELDS.contains(name)) {
                            later.put(name, capture(p));
                        } else {
                            p.skipChildren();
                        }
                    }
                }
            }
            // the loop ends on END_OBJECT: the parser itself rejects anything else in an object
            if (version == -1) {
                throw new StateCorruptException("version: missing");
            }
            JsonToken trailing = p.nextToken();
            if (trailing != null) {
                throw new StateCorruptException("unexpected " + JsonTokens.describe(trailing) + " after the top-level object");
            }
            if (version < 2) {
                return new StateSnapshot(version, savedAtMillis, keys);
            }
            List<AddedKey> added = later.containsKey("addedKeys")
                    ? readArray(later.get("addedKeys"), "addedKeys", StateCodec::readAddedKey) : List.of();
            List<KeyEdit> edits = later.containsKey("keyEdits")
                    ? readArray(later.get("keyEdits"), "keyEdits", StateCodec::readKeyEdit) : List.of();
            List<TokenRecord> tokens = later.containsKey("tokens")
                    ? readArray(later.get("tokens"), "tokens", StateCodec::readToken) : List.of();
            String settings = later.containsKey("settings") ? readSettings(later.get("settings")) : "";
            List<KeyHealth> health = later.containsKey("health")
                    ? readArray(later.get("health"), "health", StateCodec::readHealth) : List.of();
            List<StateSnapshot.AffinityRecord> affinity = later.containsKey("affinity")
                    ? readArray(later.get("affinity"), "affinity", StateCodec::readAffinity) : List.of();
            return new StateSnapshot(version, savedAtMillis, keys, added, edits, tokens, settings, health, affinity);
        } catch (JsonEOFException e) {
            throw new StateCorruptException("truncated: unexpected end of input at byte "
                    + e.getLocation().getByteOffset(), e);
        } catch (JsonProcessingException e) {
            throw new StateCorruptException("malformed JSON: " + shorten(e.getOriginalMessage()) + " at line "
                    + e.getLocation().getLineNr() + " column " + e.getLocation().getColumnNr(), e);
        } catch (IOException e) {
            throw new StateCorruptException("unreadable: " + e.getMessage(), e); // not expected from a byte array
        } catch (IllegalArgumentException e) {
            throw new StateCorruptException(e.getMessage(), e); // record validation, should be caught above
        }
    }

    /** The current value (object, array or scalar) as compact JSON bytes; the parser is left on its last token. */
    private static byte[] capture(JsonParser p) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.copyCurrentStructure(p);
        }
        return out.toByteArray();
    }

    @FunctionalInterface
    private interface ElementReader<T> {
        T read(JsonParser p, String path) throws IOException, StateCorruptException;
    }

    private static <T> List<T> readArray(byte[] raw, String path, ElementReader<T> reader)
            throws IOException, StateCorruptException {
        try (JsonParser p = FACTORY.createParser(raw)) {
            p.nextToken();
            return readObjects(p, path, reader);
        }
    }

    /** An array of objects at the parser's current token, each read by {@code reader}. */
    private static <T> List<T> readObjects(JsonParser p, String path, ElementReader<T> reader)
            throws IOException, StateCorruptException {
        expectArray(p, path);
        List<T> out = new ArrayList<>();
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            String elementPath = path + "[" + out.size() + "]";
            if (t != JsonToken.START_OBJECT) {
                throw wrongType(elementPath, "an object", t);
            }
            out.add(reader.read(p, elementPath));
        }
        return out;
    }

    private static AddedKey readAddedKey(JsonParser p, String path) throws IOException, StateCorruptException {
        String fingerprint = "";
        String secret = "";
        String project = "";
        int weight = 1;
        String label = "";
        long addedAtMillis = 0;
        int tier = 0;
        java.util.Set<String> groups = java.util.Set.of();
        String proxy = "";
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            String field = path + "." + name;
            switch (name) {
                case "fingerprint" -> fingerprint = readString(p, field);
                case "secret" -> secret = readString(p, field);
                case "project" -> project = readString(p, field);
                case "weight" -> weight = readInt(p, field);
                case "label" -> label = readString(p, field);
                case "addedAtMillis" -> addedAtMillis = readLong(p, field);
                case "tier" -> tier = readInt(p, field);
                case "groups" -> groups = readGroups(p, field);
                case "proxy" -> proxy = readString(p, field);
                default -> p.skipChildren();
            }
        }
        return new AddedKey(fingerprint, secret, project, weight, label, addedAtMillis, tier, groups, proxy);
    }

    private static KeyEdit readKeyEdit(JsonParser p, String path) throws IOException, StateCorruptException {
        String fingerprint = "";
        String project = "";
        int weight = 1;
        String label = "";
        int tier = 0;
        java.util.Set<String> groups = java.util.Set.of();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            String field = path + "." + name;
            switch (name) {
                case "fingerprint" -> fingerprint = readString(p, field);
                case "project" -> project = readString(p, field);
                case "weight" -> weight = readInt(p, field);
                case "label" -> label = readString(p, field);
                case "tier" -> tier = readInt(p, field);
                case "groups" -> groups = readGroups(p, field);
                default -> p.skipChildren();
            }
        }
        return new KeyEdit(fingerprint, project, weight, label, tier, groups);
    }

    /** Written only when set, so that a file without tiers and groups reads as before. */
    private static void writeTierAndGroups(JsonGenerator g, int tier, java.util.Set<String> groups)
            throws IOException {
        if (tier != 0) {
            g.writeNumberField("tier", tier);
        }
        if (!groups.isEmpty()) {
            g.writeArrayFieldStart("groups");
            for (String group : new java.util.TreeSet<>(groups)) {
                g.writeString(group);
            }
            g.writeEndArray();
        }
    }

    private static java.util.Set<String> readGroups(JsonParser p, String path)
            throws IOException, StateCorruptException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw wrongType(path, "an array of group names", p.currentToken());
        }
        java.util.Set<String> out = new java.util.TreeSet<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            out.add(readString(p, path + "[" + out.size() + "]"));
        }
        return out;
    }

    private static KeyHealth readHealth(JsonParser p, String path) throws IOException, StateCorruptException {
        String fingerprint = "";
        long streakFromMillis = 0;
        String removedReason = "";
        List<HealthDay> days = List.of();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            String field = path + "." + name;
            switch (name) {
                case "fingerprint" -> fingerprint = readString(p, field);
                case "streakFromMillis" -> streakFromMillis = readLong(p, field);
                case "removedReason" -> removedReason = readString(p, field);
                case "days" -> days = readObjects(p, field, StateCodec::readDay);
                default -> p.skipChildren();
            }
        }
        return new KeyHealth(fingerprint, streakFromMillis, removedReason, days);
    }

    private static StateSnapshot.AffinityRecord readAffinity(JsonParser p, String path)
            throws IOException, StateCorruptException {
        String name = "";
        String fingerprint = "";
        String project = "";
        long created = 0;
        long expires = 0;
        String owner = "";
        String meta = "";
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String n = p.currentName();
            p.nextToken();
            String field = path + "." + n;
            switch (n) {
                case "name" -> name = readString(p, field);
                case "fingerprint" -> fingerprint = readString(p, field);
                case "project" -> project = readString(p, field);
                case "createdMillis" -> created = readLong(p, field);
                case "expiresMillis" -> expires = readLong(p, field);
                case "owner" -> owner = readString(p, field);
                case "meta" -> meta = readString(p, field);
                default -> p.skipChildren();
            }
        }
        if (name.isEmpty() || fingerprint.isEmpty()) {
            throw new StateCorruptException(path + ": name and fingerprint are required");
        }
        return new StateSnapshot.AffinityRecord(name, fingerprint, project, created, expires, owner, meta);
    }

    private static HealthDay readDay(JsonParser p, String path) throws IOException, StateCorruptException {
        long dayStartMillis = 0;
        long ok = 0;
        long failed = 0;
        long checks = 0;
        long checksFailed = 0;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            String field = path + "." + name;
            switch (name) {
                case "dayStartMillis" -> dayStartMillis = readLong(p, field);
                case "ok" -> ok = readLong(p, field);
                case "failed" -> failed = readLong(p, field);
                case "checks" -> checks = readLong(p, field);
                case "checksFailed" -> checksFailed = readLong(p, field);
                default -> p.skipChildren();
            }
        }
        if (checksFailed > checks) {
            throw new StateCorruptException(path + ".checksFailed: " + checksFailed + " is more than checks ("
                    + checks + ")");
        }
        return new HealthDay(dayStartMillis, ok, failed, checks, checksFailed);
    }

    private static TokenRecord readToken(JsonParser p, String path) throws IOException, StateCorruptException {
        try {
            return TokenCodec.readRecord(p);
        } catch (IllegalArgumentException e) {
            throw new StateCorruptException(path + "." + e.getMessage(), e);
        }
    }

    private static String readSettings(byte[] raw) throws IOException, StateCorruptException {
        try (JsonParser p = FACTORY.createParser(raw)) {
            JsonToken t = p.nextToken();
            if (t != JsonToken.START_OBJECT) {
                throw wrongType("settings", "an object", t);
            }
        }
        return new String(raw, StandardCharsets.UTF_8);
    }

    private static List<KeyRecord> readKeys(JsonParser p) throws IOException, StateCorruptException {
        return readObjects(p, "keys", StateCodec::readKey);
    }

    private static KeyRecord readKey(JsonParser p, String path) throws IOException, StateCorruptException {
        String fingerprint = "";
        boolean disabled = false;
        boolean removed = false;
        long invalidSinceMillis = 0;
        String invalidReason = "";
        List<ModelRecord> models = List.of();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            String field = path + "." + name;
            switch (name) {
                case "fingerprint" -> fingerprint = readString(p, field);
                case "disabled" -> disabled = readBoolean(p, field);
                case "removed" -> removed = readBoolean(p, field);
                case "invalidSinceMillis" -> invalidSinceMillis = readLong(p, field);
                case "invalidReason" -> invalidReason = readString(p, field);
                case "models" -> models = readObjects(p, field, StateCodec::readModel);
                default -> p.skipChildren();
            }
        }
        return new KeyRecord(fingerprint, disabled, removed, invalidSinceMillis, invalidReason, models);
    }

    private static ModelRecord readModel(JsonParser p, String path) throws IOException, StateCorruptException {
        String model = "";
        long cooldownUntilMillis = 0;
        int rateLimitStreak = 0;
        long exhaustedUntilMillis = 0;
        long dayStartMillis = 0;
        long requests = 0;
        long successes = 0;
        long failures = 0;
        long rateLimited = 0;
        long promptTokens = 0;
        long outputTokens = 0;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            String field = path + "." + name;
            switch (name) {
                case "model" -> model = readString(p, field);
                case "cooldownUntilMillis" -> cooldownUntilMillis = readLong(p, field);
                case "rateLimitStreak" -> rateLimitStreak = readInt(p, field);
                case "exhaustedUntilMillis" -> exhaustedUntilMillis = readLong(p, field);
                case "dayStartMillis" -> dayStartMillis = readLong(p, field);
                case "requests" -> requests = readLong(p, field);
                case "successes" -> successes = readLong(p, field);
                case "failures" -> failures = readLong(p, field);
                case "rateLimited" -> rateLimited = readLong(p, field);
                case "promptTokens" -> promptTokens = readLong(p, field);
                case "outputTokens" -> outputTokens = readLong(p, field);
                default -> p.skipChildren();
            }
        }
        return new ModelRecord(model, cooldownUntilMillis, rateLimitStreak, exhaustedUntilMillis, dayStartMillis,
                requests, successes, failures, rateLimited, promptTokens, outputTokens);
    }

    private static void expectArray(JsonParser p, String path) throws StateCorruptException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw wrongType(path, "an array", p.currentToken());
        }
    }

    private static String readString(JsonParser p, String path) throws IOException, StateCorruptException {
        if (p.currentToken() != JsonToken.VALUE_STRING) {
            throw wrongType(path, "a string", p.currentToken());
        }
        return p.getText();
    }

    private static boolean readBoolean(JsonParser p, String path) throws StateCorruptException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_TRUE) {
            return true;
        }
        if (t == JsonToken.VALUE_FALSE) {
            return false;
        }
        throw wrongType(path, "a boolean", t);
    }

    private static int readInt(JsonParser p, String path) throws IOException, StateCorruptException {
        if (p.currentToken() != JsonToken.VALUE_NUMBER_INT) {
            throw wrongType(path, "an integer", p.currentToken());
        }
        if (p.getNumberType() != JsonParser.NumberType.INT) {
            throw new StateCorruptException(path + ": out of range (" + p.getText() + ")");
        }
        return (int) checkNonNegative(path, p.getIntValue());
    }

    private static long readLong(JsonParser p, String path) throws IOException, StateCorruptException {
        if (p.currentToken() != JsonToken.VALUE_NUMBER_INT) {
            throw wrongType(path, "an integer", p.currentToken());
        }
        JsonParser.NumberType type = p.getNumberType();
        if (type != JsonParser.NumberType.INT && type != JsonParser.NumberType.LONG) {
            throw new StateCorruptException(path + ": out of range (" + p.getText() + ")");
        }
        return checkNonNegative(path, p.getLongValue());
    }

    private static long checkNonNegative(String path, long value) throws StateCorruptException {
        if (value < 0) {
            throw new StateCorruptException(path + ": negative (" + value + ")");
        }
        return value;
    }

    private static StateCorruptException wrongType(String path, String expected, JsonToken actual) {
        return new StateCorruptException(path + ": expected " + expected + ", found " + JsonTokens.describe(actual));
    }

    /** Jackson's messages go on with "was expecting ..."; keep the first clause, at most 80 characters. */
    private static String shorten(String message) {
        if (message == null) {
            return "unknown error";
        }
        int colon = message.indexOf(": ");
        String first = colon > 0 ? message.substring(0, colon) : message;
        first = first.replace('\n', ' ');
        return first.length() <= 80 ? first : first.substring(0, 77) + "...";
    }
}
