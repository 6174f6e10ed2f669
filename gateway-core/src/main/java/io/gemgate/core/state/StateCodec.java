package io.gemgate.core.state;

import static com.fasterxml.jackson.annotation.JsonInclude.Include.NON_DEFAULT;
import static com.fasterxml.jackson.annotation.JsonInclude.Include.NON_EMPTY;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gemgate.core.json.Databind;
import io.gemgate.core.json.JsonTokens;
import io.gemgate.core.state.StateSnapshot.AddedKey;
import io.gemgate.core.state.StateSnapshot.AffinityRecord;
import io.gemgate.core.state.StateSnapshot.HealthDay;
import io.gemgate.core.state.StateSnapshot.KeyEdit;
import io.gemgate.core.state.StateSnapshot.KeyHealth;
import io.gemgate.core.state.StateSnapshot.KeyRecord;
import io.gemgate.core.state.StateSnapshot.ModelRecord;
import io.gemgate.core.tokens.TokenCodec.StoredToken;
import io.gemgate.core.tokens.TokenRecord;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

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
 *   "tokens" : [ { ...TokenCodec.StoredToken... } ],
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
 *   <li>Present fields must have the right JSON type ({@code null} is a wrong type, except for an array, where it
 *       reads as empty): integers for numbers (no fractions, within {@code int}/{@code long} range), booleans,
 *       strings, arrays of objects; {@code settings} must be an object (its content is checked when it is applied,
 *       not here).</li>
 *   <li>Numbers must not be negative. Duplicate field names and anything after the top-level object are rejected.</li>
 *   <li>A token record must be complete and valid as {@link StoredToken#toRecord()} checks it.</li>
 * </ul>
 * Every violation throws {@link StateCorruptException} with a short message naming the field.
 *
 * <h2>Implementation</h2>
 * The file's JSON is a set of records below, one per object, bound by jackson-databind ({@link Databind}: unknown
 * fields skipped, no type coercion); their constructors check the values and give the defaults of missing fields.
 * They mirror {@link StateSnapshot}'s records, which stay free of JSON concerns. A file is read in two streaming
 * passes, never as a tree (it holds every key of the pool): the version first, then the records of that version.
 *
 * <p>Thread-safe: the mapper is configured once, then only used.
 */
public final class StateCodec {

    private static final ObjectMapper MAPPER = Databind.newMapper();
    private static final ObjectWriter FILE_WRITER = MAPPER.writer(new DefaultPrettyPrinter());

    private StateCodec() {
    }

    // -------------------------------------------------------------------------------------------- the file's JSON

    /** What decides how the rest is read. */
    private record Head(Integer version) {
    }

    /** A version 1 file: the keys only (version 2 parts are not looked at, whatever their shape). */
    private record Version1(long savedAtMillis, List<KeyJson> keys) {
        Version1 {
            nonNegative("savedAtMillis", savedAtMillis);
            keys = orEmpty(keys);
        }
    }

    /** A version 2 file, in the order its fields are written. */
    private record FileJson(int version, long savedAtMillis, List<KeyJson> keys, List<AddedKeyJson> addedKeys,
                            List<KeyEditJson> keyEdits, List<StoredToken> tokens,
                            @JsonInclude(JsonInclude.Include.NON_NULL) ObjectNode settings,
                            @JsonInclude(NON_EMPTY) List<HealthJson> health,
                            @JsonInclude(NON_EMPTY) List<AffinityJson> affinity) {
        FileJson {
            nonNegative("savedAtMillis", savedAtMillis);
            keys = orEmpty(keys);
            addedKeys = orEmpty(addedKeys);
            keyEdits = orEmpty(keyEdits);
            tokens = orEmpty(tokens);
            health = orEmpty(health);
            affinity = orEmpty(affinity);
        }
    }

    private record KeyJson(String fingerprint, boolean disabled, boolean removed, long invalidSinceMillis,
                           String invalidReason, List<ModelJson> models) {
        KeyJson {
            fingerprint = orEmpty(fingerprint);
            nonNegative("invalidSinceMillis", invalidSinceMillis);
            invalidReason = orEmpty(invalidReason);
            models = orEmpty(models);
        }

        static KeyJson of(KeyRecord k) {
            return new KeyJson(k.fingerprint(), k.disabled(), k.removed(), k.invalidSinceMillis(), k.invalidReason(),
                    map(k.models(), ModelJson::of));
        }

        KeyRecord toRecord() {
            return new KeyRecord(fingerprint, disabled, removed, invalidSinceMillis, invalidReason,
                    map(models, ModelJson::toRecord));
        }
    }

    private record ModelJson(String model, long cooldownUntilMillis, int rateLimitStreak, long exhaustedUntilMillis,
                             long dayStartMillis, long requests, long successes, long failures, long rateLimited,
                             long promptTokens, long outputTokens) {
        ModelJson {
            model = orEmpty(model);
            nonNegative("cooldownUntilMillis", cooldownUntilMillis);
            nonNegative("rateLimitStreak", rateLimitStreak);
            nonNegative("exhaustedUntilMillis", exhaustedUntilMillis);
            nonNegative("dayStartMillis", dayStartMillis);
            nonNegative("requests", requests);
            nonNegative("successes", successes);
            nonNegative("failures", failures);
            nonNegative("rateLimited", rateLimited);
            nonNegative("promptTokens", promptTokens);
            nonNegative("outputTokens", outputTokens);
        }

        static ModelJson of(ModelRecord m) {
            return new ModelJson(m.model(), m.cooldownUntilMillis(), m.rateLimitStreak(), m.exhaustedUntilMillis(),
                    m.dayStartMillis(), m.requests(), m.successes(), m.failures(), m.rateLimited(), m.promptTokens(),
                    m.outputTokens());
        }

        ModelRecord toRecord() {
            return new ModelRecord(model, cooldownUntilMillis, rateLimitStreak, exhaustedUntilMillis, dayStartMillis,
                    requests, successes, failures, rateLimited, promptTokens, outputTokens);
        }
    }

    /** Tier, groups and proxy are written only when set, so that a file without them reads as before. */
    private record AddedKeyJson(String fingerprint, String secret, String project, Integer weight, String label,
                                long addedAtMillis, @JsonInclude(NON_DEFAULT) int tier,
                                @JsonInclude(NON_EMPTY) Set<String> groups,
                                @JsonInclude(NON_EMPTY) String proxy) {
        AddedKeyJson {
            fingerprint = orEmpty(fingerprint);
            secret = orEmpty(secret);
            project = orEmpty(project);
            weight = weight == null ? 1 : nonNegative("weight", weight);
            label = orEmpty(label);
            nonNegative("addedAtMillis", addedAtMillis);
            nonNegative("tier", tier);
            groups = sorted(groups);
            proxy = orEmpty(proxy);
        }

        static AddedKeyJson of(AddedKey k) {
            return new AddedKeyJson(k.fingerprint(), k.secret(), k.project(), k.weight(), k.label(),
                    k.addedAtMillis(), k.tier(), k.groups(), k.proxy());
        }

        AddedKey toRecord() {
            return new AddedKey(fingerprint, secret, project, weight, label, addedAtMillis, tier, groups, proxy);
        }

        /** Leaves the secret out. */
        @Override
        public String toString() {
            return "AddedKeyJson[fingerprint=" + fingerprint + "]";
        }
    }

    private record KeyEditJson(String fingerprint, String project, Integer weight, String label,
                               @JsonInclude(NON_DEFAULT) int tier, @JsonInclude(NON_EMPTY) Set<String> groups) {
        KeyEditJson {
            fingerprint = orEmpty(fingerprint);
            project = orEmpty(project);
            weight = weight == null ? 1 : nonNegative("weight", weight);
            label = orEmpty(label);
            nonNegative("tier", tier);
            groups = sorted(groups);
        }

        static KeyEditJson of(KeyEdit e) {
            return new KeyEditJson(e.fingerprint(), e.project(), e.weight(), e.label(), e.tier(), e.groups());
        }

        KeyEdit toRecord() {
            return new KeyEdit(fingerprint, project, weight, label, tier, groups);
        }
    }

    private record HealthJson(String fingerprint, long streakFromMillis, String removedReason, List<DayJson> days) {
        HealthJson {
            fingerprint = orEmpty(fingerprint);
            nonNegative("streakFromMillis", streakFromMillis);
            removedReason = orEmpty(removedReason);
            days = orEmpty(days);
        }

        static HealthJson of(KeyHealth h) {
            return new HealthJson(h.fingerprint(), h.streakFromMillis(), h.removedReason(), map(h.days(),
                    d -> new DayJson(d.dayStartMillis(), d.ok(), d.failed(), d.checks(), d.checksFailed())));
        }

        KeyHealth toRecord() {
            return new KeyHealth(fingerprint, streakFromMillis, removedReason, map(days,
                    d -> new HealthDay(d.dayStartMillis(), d.ok(), d.failed(), d.checks(), d.checksFailed())));
        }
    }

    private record DayJson(long dayStartMillis, long ok, long failed, long checks, long checksFailed) {
        DayJson {
            nonNegative("dayStartMillis", dayStartMillis);
            nonNegative("ok", ok);
            nonNegative("failed", failed);
            nonNegative("checks", checks);
            nonNegative("checksFailed", checksFailed);
            if (checksFailed > checks) {
                throw new IllegalArgumentException("checksFailed: " + checksFailed + " is more than checks ("
                        + checks + ")");
            }
        }
    }

    private record AffinityJson(String name, String fingerprint, String project, long createdMillis,
                                long expiresMillis, String owner, @JsonInclude(NON_EMPTY) String meta) {
        AffinityJson {
            name = orEmpty(name);
            fingerprint = orEmpty(fingerprint);
            project = orEmpty(project);
            nonNegative("createdMillis", createdMillis);
            nonNegative("expiresMillis", expiresMillis);
            owner = orEmpty(owner);
            meta = orEmpty(meta);
            if (name.isEmpty() || fingerprint.isEmpty()) {
                throw new IllegalArgumentException(": name and fingerprint are required");
            }
        }

        static AffinityJson of(AffinityRecord a) {
            return new AffinityJson(a.name(), a.fingerprint(), a.project(), a.createdMillis(), a.expiresMillis(),
                    a.owner(), a.meta());
        }

        AffinityRecord toRecord() {
            return new AffinityRecord(name, fingerprint, project, createdMillis, expiresMillis, owner, meta);
        }
    }

    // ------------------------------------------------------------------------------------------------------ encode

    /**
     * Encodes {@code snapshot} as pretty-printed UTF-8 JSON ending in a newline.
     *
     * @param snapshot the state to encode
     * @return the file content
     * @throws IllegalArgumentException if {@code snapshot.settings()} is neither empty nor one JSON object
     */
    public static byte[] encode(StateSnapshot snapshot) {
        FileJson file = new FileJson(snapshot.version(), snapshot.savedAtMillis(),
                map(snapshot.keys(), KeyJson::of), map(snapshot.addedKeys(), AddedKeyJson::of),
                map(snapshot.keyEdits(), KeyEditJson::of), map(snapshot.tokens(), StoredToken::of),
                settingsObject(snapshot.settings()), map(snapshot.health(), HealthJson::of),
                map(snapshot.affinity(), AffinityJson::of));
        try {
            byte[] json = FILE_WRITER.writeValueAsBytes(file);
            byte[] out = java.util.Arrays.copyOf(json, json.length + 1);
            out[json.length] = '\n';
            return out;
        } catch (JacksonException e) {
            throw new UncheckedIOException("encoding state in memory", e); // cannot happen with records and a tree
        }
    }

    /** The settings text as an object to write inline (pretty-printed with the rest); null when there is none. */
    private static ObjectNode settingsObject(String settings) {
        if (settings.isEmpty()) {
            return null;
        }
        Databind.Document d;
        try {
            d = Databind.read(MAPPER, settings.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalArgumentException("settings: malformed JSON: "
                    + Databind.firstClause(e instanceof JacksonException j ? j.getOriginalMessage() : e.getMessage()),
                    e);
        }
        if (!(d.root() instanceof ObjectNode object)) {
            throw new IllegalArgumentException("settings: not a JSON object");
        }
        if (d.trailing() != null) {
            throw new IllegalArgumentException("settings: content after the object");
        }
        return object;
    }

    // ------------------------------------------------------------------------------------------------------ decode

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
        int version = readVersion(data);
        try {
            if (version < 2) {
                Version1 v1 = bind(data, Version1.class);
                return new StateSnapshot(version, v1.savedAtMillis(), map(v1.keys(), KeyJson::toRecord));
            }
            FileJson f = bind(data, FileJson.class);
            return new StateSnapshot(version, f.savedAtMillis(), map(f.keys(), KeyJson::toRecord),
                    map(f.addedKeys(), AddedKeyJson::toRecord), map(f.keyEdits(), KeyEditJson::toRecord),
                    tokens(f.tokens()), f.settings() == null ? "" : MAPPER.writeValueAsString(f.settings()),
                    map(f.health(), HealthJson::toRecord), map(f.affinity(), AffinityJson::toRecord));
        } catch (JacksonException e) {
            throw new StateCorruptException("settings: " + e.getOriginalMessage(), e); // writing a tree in memory
        } catch (IllegalArgumentException e) {
            throw new StateCorruptException(e.getMessage(), e); // record validation, should be caught above
        }
    }

    /**
     * The first pass: one object, nothing after it, and its version, which decides how the rest is read. Other
     * fields are skipped token by token (a file of 100,000 keys is never held as a tree).
     */
    private static int readVersion(byte[] data) throws StateCorruptException {
        try (JsonParser p = MAPPER.createParser(data)) {
            try {
                JsonToken first = p.nextToken();
                if (first == null) {
                    throw new StateCorruptException("empty (whitespace only)");
                }
                if (first != JsonToken.START_OBJECT) {
                    throw new StateCorruptException("top level is " + JsonTokens.describe(first)
                            + ", expected an object");
                }
                Head head = MAPPER.readValue(p, Head.class);
                JsonToken trailing = p.nextToken();
                if (trailing != null) {
                    throw new StateCorruptException("unexpected " + JsonTokens.describe(trailing)
                            + " after the top-level object");
                }
                return version(head);
            } catch (JacksonException e) {
                throw corrupt(Databind.problem(e), e); // worded while the parser is open: it knows the token
            }
        } catch (IOException e) {
            throw new StateCorruptException("unreadable: " + e.getMessage(), e); // not expected from a byte array
        }
    }

    /** The second pass: the file bound to {@code type} as it streams by. */
    private static <T> T bind(byte[] data, Class<T> type) throws StateCorruptException {
        try (JsonParser p = MAPPER.createParser(data)) {
            try {
                return MAPPER.readValue(p, type);
            } catch (JacksonException e) {
                throw corrupt(Databind.problem(e), e);
            }
        } catch (IOException e) {
            throw new StateCorruptException("unreadable: " + e.getMessage(), e);
        }
    }

    private static int version(Head head) throws StateCorruptException {
        if (head.version() == null) {
            throw new StateCorruptException("version: missing");
        }
        int version = head.version();
        if (version < 1) {
            throw new StateCorruptException("version " + version + " is not valid");
        }
        if (version > StateSnapshot.CURRENT_VERSION) {
            throw new StateCorruptException("version " + version + " is newer than the supported "
                    + StateSnapshot.CURRENT_VERSION);
        }
        return version;
    }

    /** Token records are checked whole by {@link StoredToken#toRecord()}, with its messages. */
    private static List<TokenRecord> tokens(List<StoredToken> stored) throws StateCorruptException {
        List<TokenRecord> out = new ArrayList<>(stored.size());
        for (StoredToken t : stored) {
            try {
                out.add(t.toRecord());
            } catch (IllegalArgumentException e) {
                throw new StateCorruptException("tokens[" + out.size() + "]." + e.getMessage(), e);
            }
        }
        return out;
    }

    private static StateCorruptException corrupt(Databind.Problem p, JacksonException e) {
        String where = p.path().isEmpty() ? "" : p.path() + ": ";
        return new StateCorruptException(switch (p.kind()) {
            case TRUNCATED -> "truncated: unexpected end of input at byte " + p.offset();
            case MALFORMED -> "malformed JSON: " + p.detail() + " at line " + p.line() + " column " + p.column();
            case WRONG_TYPE -> where + "expected " + p.expected() + ", found " + p.foundWords();
            case OUT_OF_RANGE -> where + "out of range (" + p.detail() + ")";
            case INVALID -> p.join(p.detail());
        }, e);
    }

    // ----------------------------------------------------------------------------------------------------- helpers

    private static long nonNegative(String field, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(field + ": negative (" + value + ")");
        }
        return value;
    }

    private static int nonNegative(String field, int value) {
        return (int) nonNegative(field, (long) value);
    }

    private static String orEmpty(String s) {
        return s == null ? "" : s;
    }

    private static <T> List<T> orEmpty(List<T> list) {
        return list == null ? List.of() : list;
    }

    /** Groups are written sorted, as before. */
    private static Set<String> sorted(Set<String> groups) {
        return groups == null ? Set.of() : java.util.Collections.unmodifiableSet(new TreeSet<>(groups));
    }

    private static <A, B> List<B> map(List<A> in, Function<A, B> f) {
        List<B> out = new ArrayList<>(in.size());
        for (A a : in) {
            out.add(f.apply(a));
        }
        return out;
    }
}
