package io.gemgate.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The fake's resources, bound to Cloud projects as Google binds them (Gemini API docs: Files API, Context caching;
 * README, key affinity): each key belongs to a project ({@link FakeGemini#project}; by default a project of its own),
 * and files, cached contents, batches, file search stores and resumable upload sessions belong to the project of the
 * key that created them. A key of another project gets Google's answers: {@code 403 PERMISSION_DENIED} "You do not have
 * permission to access the File {id} or it may not exist." for files (also when it does not exist), "CachedContent not
 * found (or permission denied)" for caches, {@code 404 NOT_FOUND} "Requested entity was not found." for batches, stores
 * and upload sessions. A generation, token count or embedding whose body references a file ({@code fileUri}), a cache
 * ({@code cachedContent}) or a store ({@code fileSearchStoreNames}) the key's project cannot see gets the same answer.
 *
 * <p>Files expire 48 hours after creation; caches at their {@code expireTime} (from {@code ttl}, default 1 hour).
 *
 * <p>Thread-safe: every method locks the instance (a test fake: simple before fast).
 */
final class FakeResources {
    static final String FILE_URI_BASE = "https://generativelanguage.googleapis.com/v1beta/";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern UPLOAD = Pattern.compile("^/upload/(v1|v1beta|v1alpha)/(files|fileSearchStores/"
            + "([^/:]+):uploadToFileSearchStore)$");
    private static final Pattern ONE = Pattern.compile("^/(files|cachedContents|batches|fileSearchStores)/([^/:]+)"
            + "(?::([A-Za-z]+))?$");
    private static final Pattern LIST = Pattern.compile("^/(files|cachedContents|batches|fileSearchStores)$");
    private static final Pattern CALL = Pattern.compile("^/models/([^/:]+):([A-Za-z]+)$");
    private static final Duration FILE_LIFE = Duration.ofHours(48);

    private final FakeGemini fake;
    private final Map<String, String> projects = new HashMap<>();
    /** By kind ("files", "cachedContents", "batches", "fileSearchStores"), then id. */
    private final Map<String, Map<String, Resource>> stores = new HashMap<>();
    private final Map<String, Session> sessions = new HashMap<>();

    private static final class Resource {
        final String project;
        final ObjectNode json;
        Instant expires;

        Resource(String project, ObjectNode json, Instant expires) {
            this.project = project;
            this.json = json;
            this.expires = expires;
        }
    }

    private record Session(String project, ObjectNode file, String target) {
    }

    FakeResources(FakeGemini fake) {
        this.fake = fake;
    }

    synchronized void project(String key, String project) {
        projects.put(key, project);
    }

    synchronized String projectOf(String key) {
        String p = projects.get(key);
        return p != null ? p : key.isEmpty() ? "" : "project-of-" + key;
    }

    /** Names of the live resources of {@code kind} that {@code project} holds. */
    synchronized List<String> names(String kind, String project) {
        List<String> out = new ArrayList<>();
        Instant now = Instant.now();
        for (Map.Entry<String, Resource> e : kind(kind).entrySet()) {
            if (e.getValue().project.equals(project) && alive(e.getValue(), now)) {
                out.add(kind + "/" + e.getKey());
            }
        }
        return out;
    }

    /** Creates a file of {@code project} directly (as if uploaded outside the gateway); returns its name. */
    synchronized String createFile(String project, String mimeType) {
        return "files/" + newFile(project, JSON.createObjectNode().put("mimeType", mimeType), 10);
    }

    private Map<String, Resource> kind(String kind) {
        return stores.computeIfAbsent(kind, k -> new LinkedHashMap<>());
    }

    private static boolean alive(Resource r, Instant now) {
        return r.expires == null || r.expires.isAfter(now);
    }

    /**
     * Answers {@code ex} when its request is about a resource, or references one the key's project cannot see.
     *
     * @param path the request path, versioned ({@code /v1beta/files/x}) or an upload path
     * @return false when the request is none of this class's business
     */
    boolean answer(Exchange ex, String path) {
        RecordedRequest r = ex.request;
        String project = projectOf(r.key());
        Matcher upload = UPLOAD.matcher(path);
        if (upload.matches() && r.method().equals("POST")) {
            upload(ex, project, upload.group(3));
            return true;
        }
        Matcher versioned = Pattern.compile("^/(v1|v1beta|v1alpha)(/.*)$").matcher(path);
        if (!versioned.matches()) {
            return false;
        }
        String rest = versioned.group(2);
        Matcher one = ONE.matcher(rest);
        if (one.matches()) {
            one(ex, project, one.group(1), one.group(2), one.group(3));
            return true;
        }
        Matcher list = LIST.matcher(rest);
        if (list.matches()) {
            String kind = list.group(1);
            if (r.method().equals("GET")) {
                list(ex, project, kind);
                return true;
            }
            if (r.method().equals("POST") && kind.equals("cachedContents")) {
                createCache(ex, project);
                return true;
            }
            if (r.method().equals("POST") && kind.equals("fileSearchStores")) {
                ObjectNode body = parse(r.body());
                ObjectNode s = JSON.createObjectNode();
                if (body.hasNonNull("displayName")) {
                    s.put("displayName", body.get("displayName").asText());
                }
                ex.sendJson(200, create("fileSearchStores", project, s, null).toString());
                return true;
            }
            return false;
        }
        Matcher call = CALL.matcher(rest);
        if (call.matches() && r.method().equals("POST")) {
            String denied = deniedReference(project, parse(r.body()));
            if (denied != null) {
                ex.sendJson(denied.startsWith("{\"error\":{\"code\":404") ? 404 : 403, denied);
                return true;
            }
            if (call.group(2).equals("batchGenerateContent")) {
                ObjectNode b = JSON.createObjectNode();
                b.put("model", "models/" + call.group(1));
                b.put("state", "BATCH_STATE_PENDING");
                ObjectNode created = create("batches", project, b, null);
                ObjectNode op = JSON.createObjectNode();
                op.put("name", created.get("name").asText());
                op.set("metadata", created.deepCopy().put("@type",
                        "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"));
                ex.sendJson(200, op.toString());
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------------------------------------- uploads

    private void upload(Exchange ex, String project, String store) {
        RecordedRequest r = ex.request;
        String uploadId = r.queryParam("upload_id");
        String command = lower(r.header("x-goog-upload-command"));
        String protocol = lower(r.header("x-goog-upload-protocol"));
        if (uploadId != null) {
            Session s;
            synchronized (this) {
                s = sessions.get(uploadId);
            }
            if (s == null) {
                ex.sendJson(404, notFound());
                return;
            }
            if (!r.key().isEmpty() && !s.project.equals(project)) {
                // The session belongs to the project that started it; another project's key is refused.
                ex.sendJson(403, Behavior.error(403, "PERMISSION_DENIED",
                        "The caller does not have permission"));
                return;
            }
            if (!command.contains("finalize")) {
                ex.sendJson(200, "", Map.of("x-goog-upload-status", "active"));
                return;
            }
            synchronized (this) {
                sessions.remove(uploadId);
            }
            finishUpload(ex, s.project, s.file, s.target, r.body().length());
            return;
        }
        if (protocol.equals("resumable") && command.equals("start")) {
            ObjectNode body = parse(r.body());
            JsonNode file = body.path("file");
            ObjectNode meta = file.isObject() ? ((ObjectNode) file).deepCopy() : JSON.createObjectNode();
            String mime = r.header("x-goog-upload-header-content-type");
            if (mime != null && !meta.hasNonNull("mimeType")) {
                meta.put("mimeType", mime);
            }
            if (store != null) {
                meta = body.deepCopy();
            }
            String id = newId();
            synchronized (this) {
                sessions.put(id, new Session(project, meta, store));
            }
            String url = fake.baseUrl() + "/upload/v1beta/" + (store == null ? "files"
                    : "fileSearchStores/" + store + ":uploadToFileSearchStore") + "?upload_id=" + id
                    + "&upload_protocol=resumable";
            ex.sendJson(200, "", Map.of("x-goog-upload-url", url, "x-goog-upload-status", "active",
                    "x-goog-upload-chunk-granularity", "8388608"));
            return;
        }
        // Multipart (or a plain media upload): metadata and bytes in one request.
        ObjectNode meta = JSON.createObjectNode();
        String ct = lower(r.header("content-type"));
        String body = r.body();
        if (ct.startsWith("multipart/")) {
            int brace = body.indexOf('{');
            int end = brace < 0 ? -1 : body.indexOf("\r\n--", brace);
            if (brace >= 0) {
                JsonNode m = parse(end < 0 ? body.substring(brace) : body.substring(brace, end)).path("file");
                if (m.isObject()) {
                    meta = ((ObjectNode) m).deepCopy();
                }
            }
        } else if (!ct.isEmpty() && !meta.hasNonNull("mimeType")) {
            meta.put("mimeType", ct);
        }
        finishUpload(ex, project, meta, store, body.length());
    }

    private void finishUpload(Exchange ex, String project, ObjectNode meta, String store, long size) {
        if (store != null) {
            Resource s;
            synchronized (this) {
                s = kind("fileSearchStores").get(store);
            }
            if (s == null || !s.project.equals(project)) {
                ex.sendJson(404, notFound(), Map.of("x-goog-upload-status", "final"));
                return;
            }
            ObjectNode op = JSON.createObjectNode();
            op.put("name", "fileSearchStores/" + store + "/upload/operations/" + newId());
            op.put("done", true);
            ex.sendJson(200, op.toString(), Map.of("x-goog-upload-status", "final"));
            return;
        }
        String id;
        ObjectNode file;
        synchronized (this) {
            id = newFile(project, meta, size);
            file = kind("files").get(id).json;
        }
        ObjectNode out = JSON.createObjectNode();
        out.set("file", file);
        ex.sendJson(200, out.toString(), Map.of("x-goog-upload-status", "final"));
    }

    private String newFile(String project, ObjectNode meta, long size) {
        String id = newId();
        Instant now = Instant.now();
        ObjectNode f = JSON.createObjectNode();
        f.put("name", "files/" + id);
        if (meta.hasNonNull("displayName")) {
            f.put("displayName", meta.get("displayName").asText());
        }
        f.put("mimeType", meta.path("mimeType").asText("application/octet-stream"));
        f.put("sizeBytes", Long.toString(size));
        f.put("createTime", now.toString());
        f.put("updateTime", now.toString());
        f.put("expirationTime", now.plus(FILE_LIFE).toString());
        f.put("sha256Hash", "ZmFrZQ==");
        f.put("uri", FILE_URI_BASE + "files/" + id);
        f.put("state", "ACTIVE");
        f.put("source", "UPLOADED");
        kind("files").put(id, new Resource(project, f, now.plus(FILE_LIFE)));
        return id;
    }

    // ------------------------------------------------------------------------------------------ one resource

    private void one(Exchange ex, String project, String kind, String id, String verb) {
        RecordedRequest r = ex.request;
        Resource res;
        synchronized (this) {
            res = kind(kind).get(id);
        }
        if (res == null || !res.project.equals(project) || !alive(res, Instant.now())) {
            ex.sendJson(deniedStatus(kind), denied(kind, id));
            return;
        }
        switch (r.method()) {
            case "GET" -> ex.sendJson(200, res.json.toString());
            case "DELETE" -> {
                synchronized (this) {
                    kind(kind).remove(id);
                }
                ex.sendJson(200, "{}");
            }
            case "PATCH" -> {
                if (kind.equals("cachedContents")) {
                    Instant exp = expiry(parse(r.body()));
                    synchronized (this) {
                        res.expires = exp;
                        res.json.put("expireTime", exp.toString());
                        res.json.put("updateTime", Instant.now().toString());
                    }
                }
                ex.sendJson(200, res.json.toString());
            }
            case "POST" -> {
                if ("cancel".equals(verb) && kind.equals("batches")) {
                    synchronized (this) {
                        res.json.put("state", "BATCH_STATE_CANCELLED");
                    }
                }
                ex.sendJson(200, "{}");
            }
            default -> ex.sendJson(405, Behavior.error(405, "UNIMPLEMENTED", "Method not allowed."));
        }
    }

    private void list(Exchange ex, String project, String kind) {
        ArrayNode items = JSON.createArrayNode();
        synchronized (this) {
            Instant now = Instant.now();
            for (Resource res : kind(kind).values()) {
                if (res.project.equals(project) && alive(res, now)) {
                    items.add(res.json);
                }
            }
        }
        ObjectNode out = JSON.createObjectNode();
        if (!items.isEmpty()) {
            out.set(kind, items);
        }
        ex.sendJson(200, out.toString());
    }

    private void createCache(Exchange ex, String project) {
        ObjectNode body = parse(ex.request.body());
        String denied = deniedReference(project, body);
        if (denied != null) {
            ex.sendJson(403, denied);
            return;
        }
        ObjectNode c = JSON.createObjectNode();
        c.put("model", body.path("model").asText(""));
        if (body.hasNonNull("displayName")) {
            c.put("displayName", body.get("displayName").asText());
        }
        Instant exp = expiry(body);
        c.put("expireTime", exp.toString());
        c.putObject("usageMetadata").put("totalTokenCount", 4096);
        ex.sendJson(200, create("cachedContents", project, c, exp).toString());
    }

    private synchronized ObjectNode create(String kind, String project, ObjectNode json, Instant expires) {
        String id = newId();
        Instant now = Instant.now();
        ObjectNode out = JSON.createObjectNode();
        out.put("name", kind + "/" + id);
        out.setAll(json);
        out.put("createTime", now.toString());
        out.put("updateTime", now.toString());
        kind(kind).put(id, new Resource(project, out, expires));
        return out;
    }

    // --------------------------------------------------------------------------------------------- references

    /** Google's error for the first resource {@code body} references that {@code project} cannot see, or null. */
    private synchronized String deniedReference(String project, JsonNode body) {
        List<String[]> refs = new ArrayList<>();
        collect(body, refs);
        Instant now = Instant.now();
        for (String[] ref : refs) {
            Resource res = kind(ref[0]).get(ref[1]);
            if (res == null || !res.project.equals(project) || !alive(res, now)) {
                return denied(ref[0], ref[1]);
            }
        }
        return null;
    }

    private static void collect(JsonNode n, List<String[]> out) {
        if (n.isObject()) {
            n.fields().forEachRemaining(e -> {
                JsonNode v = e.getValue();
                switch (e.getKey()) {
                    case "fileUri", "fileName" -> addRef(v.asText(""), "files/", "files", out);
                    case "cachedContent" -> addRef(v.asText(""), "cachedContents/", "cachedContents", out);
                    case "fileSearchStoreNames" -> v.forEach(x -> addRef(x.asText(""), "fileSearchStores/",
                            "fileSearchStores", out));
                    default -> collect(v, out);
                }
            });
        } else if (n.isArray()) {
            n.forEach(x -> collect(x, out));
        }
    }

    private static void addRef(String value, String prefix, String kind, List<String[]> out) {
        int at = value.lastIndexOf(prefix);
        if (at < 0) {
            return; // not one of ours (a YouTube URL, say)
        }
        String id = value.substring(at + prefix.length());
        int end = id.indexOf('/');
        out.add(new String[] {kind, end < 0 ? id : id.substring(0, end)});
    }

    private static int deniedStatus(String kind) {
        return kind.equals("files") || kind.equals("cachedContents") ? 403 : 404;
    }

    private static String denied(String kind, String id) {
        return switch (kind) {
            case "files" -> Behavior.error(403, "PERMISSION_DENIED",
                    "You do not have permission to access the File " + id + " or it may not exist.");
            case "cachedContents" -> Behavior.error(403, "PERMISSION_DENIED",
                    "CachedContent not found (or permission denied)");
            default -> notFound();
        };
    }

    private static String notFound() {
        return Behavior.error(404, "NOT_FOUND", "Requested entity was not found.");
    }

    private static Instant expiry(JsonNode body) {
        if (body.hasNonNull("expireTime")) {
            try {
                return Instant.parse(body.get("expireTime").asText());
            } catch (RuntimeException e) {
                // fall through to ttl
            }
        }
        String ttl = body.path("ttl").asText("3600s");
        double seconds;
        try {
            seconds = Double.parseDouble(ttl.endsWith("s") ? ttl.substring(0, ttl.length() - 1) : ttl);
        } catch (NumberFormatException e) {
            seconds = 3600;
        }
        return Instant.now().plusMillis((long) (seconds * 1000));
    }

    private static ObjectNode parse(String body) {
        try {
            JsonNode n = JSON.readTree(body == null || body.isEmpty() ? "{}" : body);
            return n != null && n.isObject() ? (ObjectNode) n : JSON.createObjectNode();
        } catch (java.io.IOException e) {
            return JSON.createObjectNode();
        }
    }

    private static String lower(String s) {
        return s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
    }

    private static String newId() {
        String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder sb = new StringBuilder(12);
        ThreadLocalRandom r = ThreadLocalRandom.current();
        sb.append(alphabet.charAt(r.nextInt(26)));
        for (int i = 1; i < 12; i++) {
            sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return sb.toString();
    }
}
