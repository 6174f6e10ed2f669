package io.gemgate.server.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonGenerator;
import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.KeyChange;
import io.gemgate.core.keys.KeyCleanup;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.KeySpec;
import io.gemgate.core.keys.ModelRef;
import io.gemgate.core.secrets.KeyText;
import io.gemgate.core.settings.RuntimeSettings;
import io.gemgate.core.settings.SettingsCodec;
import io.gemgate.core.settings.SettingsException;
import io.gemgate.core.tokens.TokenCodec;
import io.gemgate.core.tokens.TokenRegistry;
import io.gemgate.core.tokens.UserToken;
import io.gemgate.server.GatewayContext;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The admin REST API under {@code /admin/api}. The caller (the client connection's handlers: AuthHandler checked the
 * admin token, BodyHandler read the whole body, ExchangeHandler calls this); this runs on the connection's event
 * loop and never blocks: probes are started and answered 202, their results read later; changes are written to the
 * state file by the persister's own thread.
 *
 * <h2>Routes</h2>
 * <pre>
 * GET    /admin/api/keys                 every key, masked, with status, health and today's counters
 * POST   /admin/api/keys                 {"text": "...", "project"?, "weight"?, "label"?, "tier"?, "groups"?,
 *                                        "proxy"?}: bulk add (proxy: a proxy URL or "direct", the keys' own exit)
 * GET    /admin/api/keys/{id}            one key
 * PATCH  /admin/api/keys/{id}            {"enabled"?, "weight"?, "label"?, "project"?, "tier"?, "groups"?}
 * DELETE /admin/api/keys/{id}            soft remove
 * POST   /admin/api/keys/{id}/restore    undo a removal
 * POST   /admin/api/keys/{id}/check      probe now (202)
 * POST   /admin/api/keys/check           probe every key not removed, or {"ids": [...]} (202)
 * GET    /admin/api/keys/at-risk         keys with bad days in their current streak
 * POST   /admin/api/keys/cleanup         remove keys bad for removeAfterBadDays days in a row now, or
 *                                        {"days": n} for a one-off threshold: {"removed": [ids], ...}
 * POST   /admin/api/keys/remove-unhealthy remove every invalid or at-risk key, never the last good one
 * GET    /admin/api/tokens               user tokens with their limits and usage
 * POST   /admin/api/tokens               {"name", limits...}: 201 {"id","name","token"}, the secret only here
 * GET    /admin/api/tokens/{id}          one token
 * PATCH  /admin/api/tokens/{id}          {"name"?, "enabled"?, limits...}
 * DELETE /admin/api/tokens/{id}          revoke
 * GET    /admin/api/settings             the live settings
 * PATCH  /admin/api/settings             a partial object; all or nothing
 * GET    /admin/api/stats[?model=m]      totals, distribution, per minute, latency, failovers, capacity
 * GET    /admin/api/exits                the exits (egress proxies, credentials masked): state, keys pinned,
 *                                        requests and failures by reason
 * GET    /admin/api/requests             the request log, newest first, filtered, a page at a time (JSON or CSV)
 * GET    /admin/api/requests/{id}        one request with its attempts
 * GET    /admin/api/usage                usage per day or minute by token, key, model or group (JSON or CSV)
 * </pre>
 * Errors: {@code {"error":{"message":..,"field":..}}} with 400 (bad input, naming the field), 404 (unknown route or
 * id), 405 (known route, other method).
 */
public final class AdminApi {
    private static final Logger log = LogManager.getLogger(AdminApi.class);
    private static final String PREFIX = "/admin/api";
    private static final int MAX_LABEL = 200;
    private static final int MAX_PROJECT = 100;
    private static final List<String> ADD_FIELDS = List.of("text", "project", "weight", "label", "tier", "groups",
            "proxy");
    private static final List<String> PATCH_FIELDS = List.of("enabled", "weight", "label", "project", "tier",
            "groups");
    private static final List<String> CHECK_FIELDS = List.of("ids");
    private static final List<String> CLEANUP_FIELDS = List.of("days");

    private final GatewayContext gw;
    private final AdminStats stats;
    private final KeyProber prober;
    /** The request log's routes, answered off the event loop ({@link #later}). */
    private final io.gemgate.server.requestlog.RequestLogApi requestLogApi;
    /** Serialises read-modify-write changes (settings, key edits) made from different event loops; never held long. */
    private final Object changes = new Object();

    /**
     * @param stats  the statistics fed by the hot path; null: {@code /stats} answers from the key pool only
     * @param prober probes keys; null: the check routes answer 503
     */
    public AdminApi(GatewayContext gw, AdminStats stats, KeyProber prober) {
        this.gw = requireNonNull(gw, "gw");
        this.stats = stats;
        this.prober = prober;
        this.requestLogApi = new io.gemgate.server.requestlog.RequestLogApi(gw);
    }

    /**
     * The routes that read the request log's database ({@code /requests}, {@code /requests/{id}}, {@code /usage}):
     * answered later, the read done on the request log's thread; null for every other route ({@link #handle}).
     *
     * @param accept the request's Accept field, or null ({@code text/csv} asks for CSV)
     */
    public java.util.concurrent.CompletableFuture<AdminResponse> later(String method, String path, String query,
                                                                       String accept) {
        String rest = path.length() > PREFIX.length() ? path.substring(PREFIX.length() + 1) : "";
        if (rest.endsWith("/")) {
            rest = rest.substring(0, rest.length() - 1);
        }
        String[] seg = rest.isEmpty() ? new String[0] : rest.split("/", -1);
        if (!io.gemgate.server.requestlog.RequestLogApi.handles(seg)) {
            return null;
        }
        if (!method.equals("GET") && !method.equals("HEAD")) {
            return java.util.concurrent.CompletableFuture.completedFuture(AdminResponse.error(405, "method " + method
                    + " not allowed here (expected: GET)", null));
        }
        try {
            return requestLogApi.handle(seg, query, accept);
        } catch (io.gemgate.server.requestlog.RequestLogApi.BadRequest e) {
            return java.util.concurrent.CompletableFuture.completedFuture(AdminResponse.error(400, e.getMessage(),
                    e.field()));
        }
    }

    /**
     * @param method HTTP method
     * @param path   the path, starting with {@code /admin/api}
     * @param query  the query string without {@code ?}, or ""
     * @param body   the request body (empty when none)
     */
    public AdminResponse handle(String method, String path, String query, byte[] body) {
        try {
            return route(method, path, query, body);
        } catch (AdminException e) {
            return e.response();
        } catch (SettingsException e) {
            return AdminResponse.error(400, e.getMessage(), e.field().isEmpty() ? null : e.field());
        }
    }

    private AdminResponse route(String method, String path, String query, byte[] body) {
        String rest = path.length() > PREFIX.length() ? path.substring(PREFIX.length() + 1) : "";
        if (rest.endsWith("/")) {
            rest = rest.substring(0, rest.length() - 1);
        }
        String[] seg = rest.isEmpty() ? new String[0] : rest.split("/", -1);
        if (seg.length == 0) {
            return expect(method, "GET") ? index() : null;
        }
        return switch (seg[0]) {
            case "keys" -> keys(method, seg, body);
            case "tokens" -> tokens(method, seg, body);
            case "settings" -> seg.length == 1 ? settings(method, body) : notFound(method, path);
            case "stats" -> seg.length == 1 && expect(method, "GET") ? stats(query) : notFound(method, path);
            case "exits" -> seg.length == 1 && expect(method, "GET") ? exits() : notFound(method, path);
            case "affinity" -> seg.length == 1 && expect(method, "GET") ? affinity() : notFound(method, path);
            case "instances" -> seg.length == 1 && expect(method, "GET") ? instances() : notFound(method, path);
            default -> notFound(method, path);
        };
    }

    /** True when {@code method} is one of {@code allowed}; otherwise throws 405. */
    private static boolean expect(String method, String... allowed) {
        for (String a : allowed) {
            if (a.equals(method)) {
                return true;
            }
        }
        throw new AdminException(405, "method " + method + " not allowed here (expected: "
                + String.join(" or ", allowed) + ")", null);
    }

    private static AdminResponse notFound(String method, String path) {
        throw new AdminException(404, "no admin route for " + method + " " + path, null);
    }

    private AdminResponse index() {
        return AdminJson.respond(200, g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("routes");
            for (String r : List.of("GET /admin/api/keys", "POST /admin/api/keys", "GET /admin/api/keys/{id}",
                    "PATCH /admin/api/keys/{id}", "DELETE /admin/api/keys/{id}", "POST /admin/api/keys/{id}/restore",
                    "POST /admin/api/keys/{id}/check", "POST /admin/api/keys/check", "GET /admin/api/keys/at-risk",
                    "POST /admin/api/keys/cleanup", "POST /admin/api/keys/remove-unhealthy", "GET /admin/api/tokens",
                    "POST /admin/api/tokens", "GET /admin/api/tokens/{id}", "PATCH /admin/api/tokens/{id}",
                    "DELETE /admin/api/tokens/{id}", "GET /admin/api/settings", "PATCH /admin/api/settings",
                    "GET /admin/api/stats", "GET /admin/api/exits", "GET /admin/api/affinity",
                    "GET /admin/api/requests", "GET /admin/api/requests/{id}", "GET /admin/api/usage",
                    "GET /admin/api/instances")) {
                g.writeString(r);
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    // ----------------------------------------------------------------------------------------------------- exits

    /** The exits, credentials masked: {@code {"exits": [...], "direct": bool}}. */
    private AdminResponse exits() {
        io.gemgate.core.egress.Exits exits = gw.exits();
        long now = gw.now();
        return AdminJson.respond(200, g -> {
            g.writeStartObject();
            g.writeBooleanField("directOnly", exits.isDirectOnly());
            g.writeStringField("cooling", exits.settings().keysWait() ? "wait" : "move");
            g.writeArrayFieldStart("exits");
            for (io.gemgate.core.egress.Exit e : exits.all()) {
                io.gemgate.core.egress.Exit.Status st = e.status();
                io.gemgate.core.egress.Exit.State state = e.state(now);
                g.writeStartObject();
                g.writeStringField("exit", e.label());
                g.writeStringField("proxy", e.spec().masked());
                g.writeStringField("scheme", e.spec().scheme().text());
                g.writeBooleanField("authenticated", e.spec().hasCredentials());
                g.writeBooleanField("shared", e.inRing());
                g.writeStringField("state", state.label());
                if (state == io.gemgate.core.egress.Exit.State.HEALTHY || st.reason() == null) {
                    g.writeNullField("reason");
                } else {
                    g.writeStringField("reason", st.reason().label());
                }
                AdminJson.until(g, state == io.gemgate.core.egress.Exit.State.HEALTHY ? 0 : st.until());
                AdminJson.instant(g, "since", state == io.gemgate.core.egress.Exit.State.HEALTHY ? 0 : st.since());
                g.writeNumberField("keysPinned", exits.pinnedKeys(e));
                g.writeNumberField("connections", gw.upstream().openConnections(e));
                g.writeNumberField("requests", e.requests());
                g.writeObjectFieldStart("failures");
                for (io.gemgate.core.egress.Exit.Failure f : io.gemgate.core.egress.Exit.Failure.values()) {
                    g.writeNumberField(f.label(), e.failures(f));
                }
                g.writeEndObject();
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    // -------------------------------------------------------------------------------------------------- affinity

    /**
     * {@code {"limit","size","entries":[{"resource","key","keyId","project","owner","created","expires"}],
     * "stats":{"hits","recorded","lookups","lookupCalls","failures":{reason:n}}}}: which key holds which file, cache,
     * batch, store and upload session (README, key affinity); keys masked.
     */
    /**
     * The gateways sharing this one's state through Redis (README, "Several gateways"), as the last heartbeat found
     * them: id, address, version, start, last heartbeat and upstream calls per second; this one is marked {@code self}.
     */
    private AdminResponse instances() {
        io.gemgate.server.shared.RedisSharedState shared = gw.shared();
        return AdminJson.respond(200, g -> {
            g.writeStartObject();
            g.writeBooleanField("shared", shared != null);
            if (shared == null) {
                g.writeNullField("redis");
                g.writeBooleanField("connected", false);
                g.writeNullField("self");
            } else {
                g.writeStringField("redis", shared.where());
                g.writeBooleanField("connected", shared.isConnected());
                g.writeStringField("self", shared.instanceId());
            }
            g.writeArrayFieldStart("instances");
            if (shared != null) {
                for (io.gemgate.server.shared.RedisSharedState.Instance i : shared.instances()) {
                    g.writeStartObject();
                    g.writeStringField("id", i.id());
                    g.writeStringField("address", i.address());
                    g.writeStringField("version", i.version());
                    AdminJson.instant(g, "started", i.startedAt());
                    AdminJson.instant(g, "lastSeen", i.lastSeen());
                    g.writeNumberField("requestsPerSecond", i.requestsPerSecond());
                    g.writeBooleanField("self", i.id().equals(shared.instanceId()));
                    g.writeEndObject();
                }
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    private AdminResponse affinity() {
        io.gemgate.core.affinity.AffinityMap map = gw.affinity();
        io.gemgate.core.affinity.AffinityStats st = gw.affinityStats();
        List<io.gemgate.core.affinity.AffinityMap.Entry> entries = map.entries();
        return AdminJson.respond(200, g -> {
            g.writeStartObject();
            g.writeNumberField("limit", map.maxEntries());
            g.writeNumberField("size", entries.size());
            g.writeArrayFieldStart("entries");
            for (io.gemgate.core.affinity.AffinityMap.Entry e : entries) {
                ApiKey k = gw.pool().find(e.keyId());
                g.writeStartObject();
                g.writeStringField("resource", e.name());
                g.writeStringField("kind", e.kind());
                g.writeStringField("key", k == null ? "(removed)" : k.masked());
                g.writeStringField("keyId", e.keyId());
                g.writeStringField("project", e.project());
                g.writeStringField("owner", e.owner());
                AdminJson.instant(g, "created", e.createdMillis());
                AdminJson.instant(g, "expires", e.expiresMillis());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeObjectFieldStart("stats");
            g.writeNumberField("hits", st.hits());
            g.writeNumberField("recorded", st.recordedCount());
            g.writeNumberField("lookups", st.lookups());
            g.writeNumberField("lookupCalls", st.lookupCalls());
            g.writeObjectFieldStart("failures");
            for (io.gemgate.core.affinity.AffinityStats.Failure f : io.gemgate.core.affinity.AffinityStats.Failure
                    .values()) {
                g.writeNumberField(f.label(), st.failures(f));
            }
            g.writeEndObject();
            g.writeEndObject();
            g.writeEndObject();
        });
    }

    // ------------------------------------------------------------------------------------------------------ keys

    private AdminResponse keys(String method, String[] seg, byte[] body) {
        if (seg.length == 1) {
            return expect(method, "GET", "POST") && method.equals("GET") ? listKeys() : addKeys(body);
        }
        if (seg.length == 2 && seg[1].equals("check")) {
            expect(method, "POST");
            return checkAll(body);
        }
        if (seg.length == 2 && seg[1].equals("at-risk")) {
            expect(method, "GET");
            return atRisk();
        }
        if (seg.length == 2 && seg[1].equals("cleanup")) {
            expect(method, "POST");
            return cleanup(body);
        }
        if (seg.length == 2 && seg[1].equals("remove-unhealthy")) {
            expect(method, "POST");
            return removeUnhealthy(body);
        }
        ApiKey k = gw.pool().find(seg[1]);
        if (seg.length == 2) {
            expect(method, "GET", "PATCH", "DELETE");
            requireKey(k, seg[1]);
            return switch (method) {
                case "GET" -> oneKey(k, 200);
                case "PATCH" -> patchKey(k, body);
                default -> {
                    gw.pool().setRemoved(k.id(), true);
                    log.info("admin: key {} removed", k.masked());
                    yield oneKey(k, 200);
                }
            };
        }
        if (seg.length == 3 && (seg[2].equals("restore") || seg[2].equals("check"))) {
            expect(method, "POST");
            requireKey(k, seg[1]);
            if (seg[2].equals("restore")) {
                if (prober == null) {
                    gw.pool().setRemoved(k.id(), false);
                } else {
                    prober.cleanup().restore(k.id(), gw.now()); // with a fresh bad-day streak
                }
                log.info("admin: key {} restored", k.masked());
                return oneKey(k, 200);
            }
            return check(List.of(k.id()));
        }
        throw new AdminException(404, "no admin route for " + method + " /admin/api/" + String.join("/", seg), null);
    }

    private static void requireKey(ApiKey k, String id) {
        if (k == null) {
            throw AdminException.notFound("key", id);
        }
    }

    private AdminResponse listKeys() {
        KeyPool pool = gw.pool();
        List<ApiKey> keys = pool.keys();
        List<ModelRef> models = pool.models();
        Map<String, Long> invalidSince = invalidSince();
        long now = gw.now();
        int minChecks = gw.settings().minChecksPerDay();
        Map<String, Integer> held = gw.affinity().countByKey();
        return AdminJson.respond(200, g -> {
            Map<String, Integer> counts = new java.util.LinkedHashMap<>();
            for (io.gemgate.core.keys.KeyStatus.State s : io.gemgate.core.keys.KeyStatus.State.values()) {
                counts.put(s.label(), 0);
            }
            g.writeStartObject();
            g.writeNumberField("total", keys.size());
            g.writeArrayFieldStart("keys");
            for (ApiKey k : keys) {
                counts.merge(KeyViews.summary(pool, k, models).state().label(), 1, Integer::sum);
                KeyViews.write(g, pool, k, models, invalidSince.getOrDefault(k.id(), 0L), prober, now, minChecks,
                        held.getOrDefault(k.id(), 0), gw.exits());
            }
            g.writeEndArray();
            g.writeObjectFieldStart("counts");
            for (Map.Entry<String, Integer> e : counts.entrySet()) {
                g.writeNumberField(e.getKey(), e.getValue());
            }
            g.writeEndObject();
            g.writeEndObject();
        });
    }

    private AdminResponse oneKey(ApiKey k, int status) {
        KeyPool pool = gw.pool();
        List<ModelRef> models = pool.models();
        long since = k.isInvalid() ? invalidSince().getOrDefault(k.id(), 0L) : 0;
        long now = gw.now();
        int minChecks = gw.settings().minChecksPerDay();
        int held = gw.affinity().countByKey().getOrDefault(k.id(), 0);
        return AdminJson.respond(status, g -> KeyViews.write(g, pool, k, models, since, prober, now, minChecks,
                held, gw.exits()));
    }

    /** When each invalid key was found invalid (admin calls only, not the hot path). */
    private Map<String, Long> invalidSince() {
        Map<String, Long> out = new HashMap<>();
        for (ApiKey k : gw.pool().keys()) {
            long since = k.invalidSinceMillis();
            if (since != 0) {
                out.put(k.id(), since);
            }
        }
        return out;
    }

    private AdminResponse addKeys(byte[] body) {
        Map<String, Object> f = AdminJson.readObject(body, ADD_FIELDS);
        String text = AdminJson.string(f, "text");
        if (text == null) {
            throw new AdminException(400, "text: missing (expected: the keys as pasted text)", "text");
        }
        String project = AdminJson.text(f, "project", MAX_PROJECT);
        Integer weight = AdminJson.integer(f, "weight", 1, 100);
        String label = AdminJson.text(f, "label", MAX_LABEL);
        Integer tier = AdminJson.integer(f, "tier", 0, KeySpec.MAX_TIER);
        java.util.Set<String> groups = groups(f);
        String proxy = AdminJson.string(f, "proxy");
        if (proxy == null) {
            proxy = "";
        } else if (proxy.trim().equalsIgnoreCase(KeySpec.DIRECT)) {
            proxy = KeySpec.DIRECT;
        } else if (!proxy.isBlank()) {
            try {
                proxy = proxy.trim();
                io.gemgate.core.egress.ProxySpec.parse(proxy);
            } catch (IllegalArgumentException e) {
                throw new AdminException(400, "proxy: " + e.getMessage() + " or direct", "proxy");
            }
        } else {
            proxy = "";
        }
        KeyText found = KeyText.parse(text);
        if (found.keys().isEmpty() && found.rejected().isEmpty()) {
            throw new AdminException(400, "text: no Gemini API key found (expected: keys of 39 characters starting "
                    + "with AIza)", "text");
        }
        List<KeySpec> specs = new ArrayList<>(found.keys().size());
        for (String secret : found.keys()) {
            specs.add(new KeySpec(secret, project == null ? "" : project, weight == null ? 1 : weight,
                    label == null ? "" : label, tier == null ? 0 : tier, groups == null ? java.util.Set.of() : groups,
                    proxy));
        }
        KeyPool.AddResult r = specs.isEmpty() ? new KeyPool.AddResult(List.of(), 0) : gw.pool().addKeys(specs);
        log.info("admin: {} key(s) added, {} duplicate(s), {} rejected fragment(s)", r.added().size(),
                r.duplicates() + found.repeated(), found.rejected().size());
        return AdminJson.respond(r.added().isEmpty() ? 200 : 201, g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("added");
            for (ApiKey k : r.added()) {
                g.writeString(k.id());
            }
            g.writeEndArray();
            g.writeArrayFieldStart("keys");
            for (ApiKey k : r.added()) {
                g.writeStartObject();
                g.writeStringField("id", k.id());
                g.writeStringField("key", k.masked());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeNumberField("duplicates", r.duplicates() + found.repeated());
            g.writeArrayFieldStart("rejected");
            for (String masked : found.rejected()) {
                g.writeString(masked);
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    private AdminResponse patchKey(ApiKey k, byte[] body) {
        Map<String, Object> f = AdminJson.readObject(body, PATCH_FIELDS);
        Boolean enabled = AdminJson.bool(f, "enabled");
        Integer weight = AdminJson.integer(f, "weight", 1, 100);
        String label = AdminJson.text(f, "label", MAX_LABEL);
        String project = AdminJson.text(f, "project", MAX_PROJECT);
        Integer tier = AdminJson.integer(f, "tier", 0, KeySpec.MAX_TIER);
        java.util.Set<String> groups = groups(f);
        // Everything is checked above: from here the change applies whole.
        synchronized (changes) {
            gw.pool().edit(k.id(), new KeyChange(weight, label, project, tier, groups, enabled));
        }
        log.info("admin: key {} changed ({})", k.masked(), String.join(", ", f.keySet()));
        return oneKey(k, 200);
    }

    /** {@code groups}: an array of group names, or null when absent; 400 naming the bad one. */
    private static java.util.Set<String> groups(Map<String, Object> f) {
        List<String> list = AdminJson.strings(f, "groups");
        if (list == null) {
            return null;
        }
        if (list.size() > KeySpec.MAX_GROUPS) {
            throw new AdminException(400, "groups: " + list.size() + " groups (expected: at most "
                    + KeySpec.MAX_GROUPS + ")", "groups");
        }
        java.util.Set<String> out = new java.util.TreeSet<>();
        for (String g : list) {
            try {
                out.add(KeySpec.checkGroup(g));
            } catch (IllegalArgumentException e) {
                throw new AdminException(400, "groups: " + e.getMessage().substring("group: ".length()), "groups");
            }
        }
        return out;
    }

    private AdminResponse checkAll(byte[] body) {
        List<String> ids;
        if (body.length == 0) {
            ids = new ArrayList<>();
            for (ApiKey k : gw.pool().keys()) {
                if (!k.isRemoved()) {
                    ids.add(k.id());
                }
            }
        } else {
            ids = AdminJson.strings(AdminJson.readObject(body, CHECK_FIELDS), "ids");
            if (ids == null) {
                throw new AdminException(400, "ids: missing (expected: an array of key ids, or no body for every "
                        + "key)", "ids");
            }
            for (String id : ids) {
                requireKey(gw.pool().find(id), id);
            }
        }
        return check(ids);
    }

    private AdminResponse check(List<String> ids) {
        if (prober == null) {
            throw new AdminException(503, "key probes are off", null);
        }
        prober.check(ids);
        return AdminJson.respond(202, g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("checking");
            for (String id : ids) {
                g.writeString(id);
            }
            g.writeEndArray();
            g.writeStringField("result", "GET /admin/api/keys/{id}: lastCheck, status");
            g.writeEndObject();
        });
    }

    // ---------------------------------------------------------------------------------------------------- health

    private KeyCleanup requireCleanup() {
        if (prober == null) {
            throw new AdminException(503, "key health is off", null);
        }
        return prober.cleanup();
    }

    private AdminResponse atRisk() {
        List<KeyCleanup.AtRisk> list = requireCleanup().atRisk(gw.settings().minChecksPerDay(), gw.now());
        int removeAfter = gw.settings().removeAfterBadDays();
        return AdminJson.respond(200, g -> {
            g.writeStartObject();
            g.writeNumberField("removeAfterBadDays", removeAfter);
            AdminStats.writeAtRisk(g, list);
            g.writeEndObject();
        });
    }

    private AdminResponse cleanup(byte[] body) {
        KeyCleanup cleanup = requireCleanup();
        Integer days = body.length == 0 ? null
                : AdminJson.integer(AdminJson.readObject(body, CLEANUP_FIELDS), "days", 1,
                RuntimeSettings.MAX_BAD_DAYS);
        int n = days != null ? days : gw.settings().removeAfterBadDays();
        KeyCleanup.Result r = n == 0 ? new KeyCleanup.Result(List.of(), List.of())
                : cleanup.removeBad(n, gw.settings().minChecksPerDay(), gw.now());
        log.info("admin: clean-up (bad {} days in a row) removed {} key(s), kept {}", n, r.removed().size(),
                r.kept().size());
        return removal(r, n);
    }

    private AdminResponse removeUnhealthy(byte[] body) {
        KeyCleanup cleanup = requireCleanup();
        if (body.length > 0) {
            AdminJson.readObject(body, List.of()); // only {} is accepted
        }
        KeyCleanup.Result r = cleanup.removeUnhealthy(gw.settings().minChecksPerDay(), gw.now());
        log.info("admin: removed {} unhealthy key(s), kept {}", r.removed().size(), r.kept().size());
        return removal(r, -1);
    }

    /** {@code {"removed":[ids],"keys":[{id,key,reason}],"kept":[{id,key,reason}]}}, with the threshold if any. */
    private static AdminResponse removal(KeyCleanup.Result r, int badDays) {
        return AdminJson.respond(200, g -> {
            g.writeStartObject();
            if (badDays >= 0) {
                g.writeNumberField("badDays", badDays);
            }
            g.writeArrayFieldStart("removed");
            for (KeyCleanup.Decision d : r.removed()) {
                g.writeString(d.key().id());
            }
            g.writeEndArray();
            decisions(g, "keys", r.removed());
            decisions(g, "kept", r.kept());
            g.writeEndObject();
        });
    }

    private static void decisions(JsonGenerator g, String field, List<KeyCleanup.Decision> list)
            throws java.io.IOException {
        g.writeArrayFieldStart(field);
        for (KeyCleanup.Decision d : list) {
            g.writeStartObject();
            g.writeStringField("id", d.key().id());
            g.writeStringField("key", d.key().masked());
            g.writeStringField("reason", d.reason());
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    // ---------------------------------------------------------------------------------------------------- tokens

    private AdminResponse tokens(String method, String[] seg, byte[] body) {
        TokenRegistry registry = gw.tokens();
        if (seg.length == 1) {
            expect(method, "GET", "POST");
            if (method.equals("GET")) {
                List<UserToken> all = registry.list();
                long now = gw.now();
                return AdminJson.respond(200, g -> {
                    g.writeStartObject();
                    g.writeNumberField("total", all.size());
                    g.writeArrayFieldStart("tokens");
                    for (UserToken t : all) {
                        TokenCodec.writeToken(g, t, gw.limiter().usage(t, now));
                    }
                    g.writeEndArray();
                    g.writeEndObject();
                });
            }
            TokenCodec.CreateRequest req = tokenRequest(() -> TokenCodec.parseCreate(body));
            TokenRegistry.Created c = registry.create(req.name(), req.limits());
            log.info("admin: user token {} ({}) created", c.id(), c.name());
            return new AdminResponse(201, TokenCodec.encodeCreated(c));
        }
        if (seg.length != 2) {
            throw new AdminException(404, "no admin route for " + method + " /admin/api/" + String.join("/", seg),
                    null);
        }
        expect(method, "GET", "PATCH", "DELETE");
        String id = seg[1];
        UserToken t = registry.get(id).orElseThrow(() -> AdminException.notFound("user token", id));
        switch (method) {
            case "GET" -> {
                return oneToken(t);
            }
            case "DELETE" -> {
                registry.revoke(id);
                log.info("admin: user token {} ({}) revoked", id, t.name());
                return AdminJson.respond(200, g -> {
                    g.writeStartObject();
                    g.writeStringField("id", id);
                    g.writeBooleanField("revoked", true);
                    g.writeEndObject();
                });
            }
            default -> {
                synchronized (changes) {
                    UserToken current = registry.get(id).orElseThrow(() -> AdminException.notFound("user token", id));
                    TokenCodec.Update u = tokenRequest(() -> TokenCodec.parseUpdate(current, body));
                    registry.rename(id, u.name());
                    registry.setLimits(id, u.limits());
                    registry.setEnabled(id, u.enabled());
                }
                log.info("admin: user token {} changed", id);
                return oneToken(registry.get(id).orElseThrow(() -> AdminException.notFound("user token", id)));
            }
        }
    }

    private AdminResponse oneToken(UserToken t) {
        long now = gw.now();
        return AdminJson.respond(200, g -> TokenCodec.writeToken(g, t, gw.limiter().usage(t, now)));
    }

    /** Runs a token request parser, turning its refusals ("field: detail") into 400s naming the field. */
    private static <T> T tokenRequest(java.util.function.Supplier<T> parse) {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            String m = String.valueOf(e.getMessage());
            int colon = m.indexOf(": ");
            String field = colon > 0 ? m.substring(0, colon) : null;
            if (field != null && (field.equals("body") || field.contains(" "))) {
                field = null;
            }
            throw new AdminException(400, m, field);
        }
    }

    // -------------------------------------------------------------------------------------------------- settings

    private AdminResponse settings(String method, byte[] body) {
        expect(method, "GET", "PATCH");
        RuntimeSettings s;
        if (method.equals("PATCH")) {
            synchronized (changes) {
                s = SettingsCodec.patch(gw.settings(), body); // throws whole: nothing applied
                gw.settings(s);
            }
            log.info("admin: settings changed: {}", String.join(", ", fieldsOf(body)));
        } else {
            s = gw.settings();
        }
        return new AdminResponse(200, SettingsCodec.encode(s));
    }

    /** The top-level field names of a JSON object already known to be valid (values are never logged). */
    private static List<String> fieldsOf(byte[] body) {
        try {
            return new ArrayList<>(AdminJson.readObject(body, SettingsCodec.FIELDS).keySet());
        } catch (AdminException e) {
            return List.of();
        }
    }

    // ----------------------------------------------------------------------------------------------------- stats

    private AdminResponse stats(String query) {
        String model = null;
        for (String p : query.split("&")) {
            if (p.startsWith("model=") && p.length() > 6) {
                model = java.net.URLDecoder.decode(p.substring(6), StandardCharsets.UTF_8);
            }
        }
        AdminStats s = stats != null ? stats : new AdminStats(gw.pool(), gw::now);
        String m = model;
        List<KeyCleanup.AtRisk> atRisk = prober == null ? List.of()
                : prober.cleanup().atRisk(gw.settings().minChecksPerDay(), gw.now());
        return AdminJson.respond(200, g -> s.write(g, m, atRisk));
    }
}
