package io.gemgate.core.openai;

import java.io.IOException;
import java.math.BigDecimal;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Rewrites an OpenAI (JSON Schema) tool or response schema into the OpenAPI 3.0 subset Gemini takes in
 * {@code functionDeclarations[].parameters} and {@code generationConfig.responseSchema}.
 *
 * <p>Gemini parses these schemas as a proto message and answers 400 "Unknown name ..." for any member it does not
 * know, so the output is built from a whitelist, not by deleting known offenders. Rewrites:
 * <ul>
 *   <li>kept: {@code type} (upper-cased: {@code STRING}, {@code NUMBER}, {@code INTEGER}, {@code BOOLEAN},
 *       {@code ARRAY}, {@code OBJECT}), {@code title}, {@code description}, {@code nullable}, {@code enum},
 *       {@code default} and {@code example} (Gemini accepts and ignores them: kept so the model sees them),
 *       {@code anyOf}; for objects {@code properties}, {@code required}, {@code minProperties},
 *       {@code maxProperties}, {@code propertyOrdering}; for arrays {@code items}, {@code minItems},
 *       {@code maxItems}; for strings {@code minLength}, {@code maxLength}, {@code pattern}; for numbers
 *       {@code minimum}, {@code maximum};</li>
 *   <li>dropped: everything else, among them {@code $schema}, {@code $id}, {@code $comment}, {@code $anchor},
 *       {@code additionalProperties}, {@code examples}, {@code strict}, {@code not}, {@code if}/{@code then}/
 *       {@code else}, {@code patternProperties}, {@code unevaluatedProperties}, {@code readOnly},
 *       {@code deprecated}, {@code contentMediaType}, and keywords that do not apply to the schema's type;</li>
 *   <li>{@code format}: kept only where Gemini's Developer API accepts it: {@code enum} and {@code date-time} on
 *       strings, {@code int32}/{@code int64} on integers, {@code float}/{@code double} on numbers;</li>
 *   <li>{@code const: v} → {@code enum: [v]}; enum values become strings (Gemini's enum is a string list) and a
 *       {@code null} among them becomes {@code nullable: true};</li>
 *   <li>{@code $ref} (to {@code #}, {@code #/$defs/..}, {@code #/definitions/..} or any JSON pointer into the
 *       document) is inlined, members next to the {@code $ref} winning; a recursive reference becomes
 *       {@code {"type":"OBJECT"}} (keeping its description); an unresolvable one too; {@code $defs} and
 *       {@code definitions} themselves are dropped;</li>
 *   <li>{@code anyOf}/{@code oneOf} with a {@code {"type":"null"}} branch → the other branch (or an {@code anyOf}
 *       of the others) with {@code nullable: true}; {@code oneOf} otherwise becomes {@code anyOf}; a union left with
 *       one branch is replaced by that branch, members next to the union winning;</li>
 *   <li>{@code type: ["string","null"]} → {@code type: STRING, nullable: true}; several non-null types →
 *       {@code anyOf} of one schema per type;</li>
 *   <li>{@code allOf} is merged into one schema (properties and required united, first value of other members
 *       wins);</li>
 *   <li>numeric {@code exclusiveMinimum}/{@code exclusiveMaximum} become {@code minimum}/{@code maximum} when those
 *       are absent;</li>
 *   <li>a missing {@code type} is inferred: {@code properties} → OBJECT, {@code items} → ARRAY, {@code enum} →
 *       STRING;</li>
 *   <li>an empty {@code properties} object is dropped (Gemini refuses "should be non-empty for OBJECT type"), and a
 *       top-level {@code parameters} schema left as a bare object is omitted ({@link #cleanParameters});</li>
 *   <li>{@code required} names that are not properties are dropped, an empty {@code required} too;</li>
 *   <li>an array without {@code items} gets {@code items: {"type":"STRING"}} (Gemini refuses ARRAY without
 *       items); tuple forms ({@code prefixItems}, {@code items: [..]}) become {@code items} with an {@code anyOf} of
 *       the members;</li>
 *   <li>a boolean schema ({@code true}/{@code false}) becomes {@code {"type":"STRING","nullable":true}}, since
 *       Gemini has no "anything" type; a lone {@code {"type":"null"}} becomes {@code {"nullable":true}}.</li>
 * </ul>
 * A schema larger than {@value #MAX_NODES} nodes after inlining, or deeper than {@value #MAX_DEPTH}, is refused
 * ({@link IllegalArgumentException}), which stops reference bombs.
 *
 * <p>Stateless and thread-safe; works on {@link JsonTree} values.
 */
public final class SchemaCleaner {
    /** Most schema nodes visited while cleaning one schema. */
    static final int MAX_NODES = 20_000;
    /** Deepest nesting of the cleaned schema. */
    static final int MAX_DEPTH = 64;

    private static final Set<String> TYPES =
            Set.of("STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT");

    private final Object root;
    private final Deque<String> refs = new ArrayDeque<>();
    private int budget = MAX_NODES;

    private SchemaCleaner(Object root) {
        this.root = root;
    }

    /**
     * Cleans a schema given as JSON text.
     *
     * @return the cleaned schema as compact JSON text
     * @throws IllegalArgumentException if the text is not JSON or the schema is too large
     */
    public static String clean(String schemaJson) {
        Object tree;
        try {
            tree = JsonTree.parse(schemaJson);
        } catch (IOException e) {
            throw new IllegalArgumentException("schema is not valid JSON: " + e.getMessage(), e);
        }
        return JsonTree.toJson(clean(tree));
    }

    /** Cleans a {@link JsonTree} schema; the input is not modified. */
    static Object clean(Object schema) {
        SchemaCleaner c = new SchemaCleaner(schema);
        c.refs.push("#"); // a reference to the root from inside it is recursive
        return c.node(schema, 0);
    }

    /**
     * Cleans a function's {@code parameters}; returns null when nothing is left to send (no schema, or an object
     * without properties: Gemini then takes a declaration without {@code parameters}).
     */
    static Object cleanParameters(Object schema) {
        if (schema == null || schema == JsonTree.NULL) {
            return null;
        }
        Object cleaned = clean(schema);
        if (cleaned instanceof Map<?, ?> m) {
            if (m.isEmpty() || (m.size() == 1 && "OBJECT".equals(m.get("type")))) {
                return null;
            }
        }
        return cleaned;
    }

    @SuppressWarnings("unchecked")
    private Object node(Object schema, int depth) {
        if (--budget < 0) {
            throw new IllegalArgumentException("schema too large (more than " + MAX_NODES + " nodes once inlined)");
        }
        if (depth > MAX_DEPTH) {
            throw new IllegalArgumentException("schema nested deeper than " + MAX_DEPTH + " levels");
        }
        if (!(schema instanceof Map)) {
            // true / false / anything else: "any value"; Gemini has no such type.
            Map<String, Object> any = new LinkedHashMap<>();
            any.put("type", "STRING");
            any.put("nullable", Boolean.TRUE);
            return any;
        }
        Map<String, Object> in = (Map<String, Object>) schema;

        Object ref = in.get("$ref");
        if (ref instanceof String r) {
            return ref(r, in, depth);
        }
        Object allOf = in.get("allOf");
        if (allOf instanceof List<?> parts && !parts.isEmpty()) {
            Map<String, Object> rest = without(in, "allOf");
            Map<String, Object> merged = asMap(node(rest, depth));
            for (Object part : parts) {
                merged = merge(merged, asMap(node(part, depth + 1)));
            }
            return merged;
        }
        Object union = in.get("anyOf");
        if (!(union instanceof List)) {
            union = in.get("oneOf");
        }
        if (union instanceof List<?> branches && !branches.isEmpty()) {
            return union(branches, without(in, "anyOf", "oneOf"), depth);
        }
        Object type = in.get("type");
        if (type instanceof List<?> types) {
            return typeList(types, in, depth);
        }
        return plain(in, type instanceof String s ? s.toUpperCase(Locale.ROOT) : null, depth);
    }

    private Object ref(String ref, Map<String, Object> in, int depth) {
        Map<String, Object> siblings = without(in, "$ref");
        Object target = refs.contains(ref) ? null : resolve(ref);
        if (target == null) {
            Map<String, Object> placeholder = new LinkedHashMap<>();
            placeholder.put("type", "OBJECT");
            Object description = siblings.get("description");
            if (description == null && refs.contains(ref)) {
                Object t = resolve(ref);
                description = t instanceof Map<?, ?> tm ? tm.get("description") : null;
            }
            if (description instanceof String) {
                placeholder.put("description", description);
            }
            return placeholder;
        }
        Map<String, Object> combined = new LinkedHashMap<>(asMapOrEmpty(target));
        combined.putAll(siblings);
        refs.push(ref);
        try {
            return node(combined, depth + 1);
        } finally {
            refs.pop();
        }
    }

    /** Resolves a local reference ({@code #} plus a JSON pointer), or null. */
    private Object resolve(String ref) {
        if (!ref.startsWith("#")) {
            return null;
        }
        String pointer = ref.substring(1);
        if (pointer.isEmpty()) {
            return root;
        }
        if (!pointer.startsWith("/")) {
            return null;
        }
        Object at = root;
        for (String token : pointer.substring(1).split("/", -1)) {
            String key = percentDecode(token).replace("~1", "/").replace("~0", "~");
            if (at instanceof Map<?, ?> m) {
                at = m.get(key);
            } else if (at instanceof List<?> l) {
                try {
                    at = l.get(Integer.parseInt(key));
                } catch (RuntimeException e) {
                    return null;
                }
            } else {
                return null;
            }
            if (at == null) {
                return null;
            }
        }
        return at;
    }

    private Object union(List<?> branches, Map<String, Object> siblings, int depth) {
        boolean nullable = false;
        List<Object> others = new ArrayList<>();
        for (Object b : branches) {
            if (isNullSchema(b)) {
                nullable = true;
            } else {
                others.add(asMap(node(b, depth + 1)));
            }
        }
        Map<String, Object> base = siblings.isEmpty() ? new LinkedHashMap<>() : asMap(node(siblings, depth));
        Map<String, Object> out;
        if (others.size() == 1) {
            out = new LinkedHashMap<>(asMap(others.get(0)));
            for (Map.Entry<String, Object> e : base.entrySet()) {
                if (!e.getKey().equals("type") || !out.containsKey("type")) {
                    out.put(e.getKey(), e.getValue());
                }
            }
        } else {
            out = base;
            if (!others.isEmpty()) {
                out.remove("type"); // the branches carry the types
                out.put("anyOf", others);
            }
        }
        if (nullable) {
            out.put("nullable", Boolean.TRUE);
        }
        return out;
    }

    private Object typeList(List<?> types, Map<String, Object> in, int depth) {
        boolean nullable = false;
        List<String> nonNull = new ArrayList<>();
        for (Object t : types) {
            if (t instanceof String s) {
                String u = s.toUpperCase(Locale.ROOT);
                if (u.equals("NULL")) {
                    nullable = true;
                } else if (!nonNull.contains(u)) {
                    nonNull.add(u);
                }
            }
        }
        Map<String, Object> out;
        if (nonNull.size() == 1) {
            out = plain(in, nonNull.get(0), depth);
        } else if (nonNull.isEmpty()) {
            out = plain(in, null, depth);
            out.remove("type");
        } else {
            out = new LinkedHashMap<>();
            List<Object> branches = new ArrayList<>();
            for (String t : nonNull) {
                Map<String, Object> one = new LinkedHashMap<>(in);
                one.remove("description");
                one.remove("title");
                branches.add(plain(one, t, depth + 1));
            }
            copyString(in, out, "title");
            copyString(in, out, "description");
            out.put("anyOf", branches);
        }
        if (nullable) {
            out.put("nullable", Boolean.TRUE);
        }
        return out;
    }

    private Map<String, Object> plain(Map<String, Object> in, String type, int depth) {
        if ("NULL".equals(type)) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("nullable", Boolean.TRUE);
            return out;
        }
        if (type != null && !TYPES.contains(type)) {
            type = null;
        }
        List<String> enumValues = null;
        boolean nullable = Boolean.TRUE.equals(in.get("nullable"));
        Object enumIn = in.get("enum");
        if (in.containsKey("const")) {
            enumIn = List.of(in.get("const"));
        }
        if (enumIn instanceof List<?> values) {
            enumValues = new ArrayList<>();
            for (Object v : values) {
                if (v == JsonTree.NULL || v == null) {
                    nullable = true;
                } else if (v instanceof String s) {
                    enumValues.add(s);
                } else if (v instanceof Map || v instanceof List) {
                    enumValues.add(JsonTree.toJson(v));
                } else {
                    enumValues.add(numberText(v));
                }
            }
        }
        if (type == null) {
            if (in.get("properties") instanceof Map) {
                type = "OBJECT";
            } else if (in.containsKey("items") || in.containsKey("prefixItems")) {
                type = "ARRAY";
            } else if (enumValues != null && !enumValues.isEmpty()) {
                type = "STRING";
            }
        }

        Map<String, Object> out = new LinkedHashMap<>();
        if (type != null) {
            out.put("type", type);
        }
        Object format = in.get("format");
        if (format instanceof String f && formatAllowed(type, f, enumValues != null)) {
            out.put("format", f);
        }
        copyString(in, out, "title");
        copyString(in, out, "description");
        if (nullable) {
            out.put("nullable", Boolean.TRUE);
        }
        if (enumValues != null && !enumValues.isEmpty()) {
            out.put("enum", enumValues);
        }
        if (in.containsKey("default")) {
            out.put("default", in.get("default"));
        }
        if (in.containsKey("example")) {
            out.put("example", in.get("example"));
        }

        if (type == null || type.equals("OBJECT")) {
            object(in, out, depth);
        }
        if ("ARRAY".equals(type)) {
            array(in, out, depth);
        }
        if ("STRING".equals(type)) {
            copyNumber(in, out, "minLength");
            copyNumber(in, out, "maxLength");
            copyString(in, out, "pattern");
        }
        if ("NUMBER".equals(type) || "INTEGER".equals(type)) {
            copyNumber(in, out, "minimum");
            copyNumber(in, out, "maximum");
            if (!out.containsKey("minimum") && in.get("exclusiveMinimum") instanceof Number n) {
                out.put("minimum", n);
            }
            if (!out.containsKey("maximum") && in.get("exclusiveMaximum") instanceof Number n) {
                out.put("maximum", n);
            }
        }
        return out;
    }

    private void object(Map<String, Object> in, Map<String, Object> out, int depth) {
        Map<String, Object> props = new LinkedHashMap<>();
        if (in.get("properties") instanceof Map<?, ?> p) {
            for (Map.Entry<?, ?> e : p.entrySet()) {
                props.put((String) e.getKey(), node(e.getValue(), depth + 1));
            }
        }
        if (!props.isEmpty()) {
            out.put("properties", props);
        }
        if (in.get("required") instanceof List<?> req) {
            Set<String> names = new LinkedHashSet<>();
            for (Object r : req) {
                if (r instanceof String s && props.containsKey(s)) {
                    names.add(s);
                }
            }
            if (!names.isEmpty()) {
                out.put("required", new ArrayList<>(names));
            }
        }
        copyNumber(in, out, "minProperties");
        copyNumber(in, out, "maxProperties");
        if (in.get("propertyOrdering") instanceof List<?> order) {
            List<String> kept = new ArrayList<>();
            for (Object o : order) {
                if (o instanceof String s && props.containsKey(s)) {
                    kept.add(s);
                }
            }
            if (!kept.isEmpty()) {
                out.put("propertyOrdering", kept);
            }
        }
    }

    private void array(Map<String, Object> in, Map<String, Object> out, int depth) {
        Object items = in.get("items");
        List<?> tuple = items instanceof List<?> l ? l
                : in.get("prefixItems") instanceof List<?> l2 && !(items instanceof Map) ? l2 : null;
        if (items instanceof Map) {
            out.put("items", node(items, depth + 1));
        } else if (tuple != null && !tuple.isEmpty()) {
            Map<String, Object> anyOf = new LinkedHashMap<>();
            anyOf.put("anyOf", tuple);
            out.put("items", node(anyOf, depth + 1));
        } else {
            Map<String, Object> string = new LinkedHashMap<>();
            string.put("type", "STRING");
            out.put("items", string);
        }
        copyNumber(in, out, "minItems");
        copyNumber(in, out, "maxItems");
    }

    /** allOf: the first schema's members win, properties and required are united. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> merge(Map<String, Object> a, Map<String, Object> b) {
        Map<String, Object> out = new LinkedHashMap<>(a);
        for (Map.Entry<String, Object> e : b.entrySet()) {
            String k = e.getKey();
            Object v = e.getValue();
            if (k.equals("properties") && out.get(k) instanceof Map<?, ?> mine && v instanceof Map<?, ?> theirs) {
                Map<String, Object> props = new LinkedHashMap<>((Map<String, Object>) mine);
                ((Map<String, Object>) theirs).forEach(props::putIfAbsent);
                out.put(k, props);
            } else if (k.equals("required") && out.get(k) instanceof List<?> mine && v instanceof List<?> theirs) {
                Set<Object> req = new LinkedHashSet<>(mine);
                req.addAll(theirs);
                out.put(k, new ArrayList<>(req));
            } else {
                out.putIfAbsent(k, v);
            }
        }
        if (out.containsKey("properties") && !out.containsKey("type")) {
            Map<String, Object> typed = new LinkedHashMap<>();
            typed.put("type", "OBJECT");
            typed.putAll(out);
            out = typed;
        }
        return out;
    }

    private static boolean isNullSchema(Object b) {
        if (!(b instanceof Map<?, ?> m)) {
            return false;
        }
        Object t = m.get("type");
        if ("null".equals(t)) {
            return true;
        }
        return t instanceof List<?> l && l.size() == 1 && "null".equals(l.get(0));
    }

    private static boolean formatAllowed(String type, String format, boolean isEnum) {
        if (type == null) {
            return false;
        }
        return switch (type) {
            case "STRING" -> format.equals("date-time") || (format.equals("enum") && isEnum);
            case "INTEGER" -> format.equals("int32") || format.equals("int64");
            case "NUMBER" -> format.equals("float") || format.equals("double");
            default -> false;
        };
    }

    private static String numberText(Object v) {
        if (v instanceof Double d) {
            if (d == Math.rint(d) && !Double.isInfinite(d)) {
                return new BigDecimal(d).toPlainString();
            }
            return Double.toString(d);
        }
        return String.valueOf(v);
    }

    private static void copyString(Map<String, Object> in, Map<String, Object> out, String key) {
        if (in.get(key) instanceof String s) {
            out.put(key, s);
        }
    }

    private static void copyNumber(Map<String, Object> in, Map<String, Object> out, String key) {
        if (in.get(key) instanceof Number n) {
            out.put(key, n);
        }
    }

    private static Map<String, Object> without(Map<String, Object> in, String... keys) {
        Map<String, Object> m = new LinkedHashMap<>(in);
        for (String k : keys) {
            m.remove(k);
        }
        return m;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o) {
        return o instanceof Map ? (Map<String, Object>) o : new LinkedHashMap<>();
    }

    private static Map<String, Object> asMapOrEmpty(Object o) {
        return asMap(o);
    }

    private static String percentDecode(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        try {
            return java.net.URLDecoder.decode(s.replace("+", "%2B"), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s;
        }
    }
}
