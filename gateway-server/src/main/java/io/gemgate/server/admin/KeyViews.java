package io.gemgate.server.admin;

import com.fasterxml.jackson.core.JsonGenerator;
import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.BudgetUse;
import io.gemgate.core.keys.Health;
import io.gemgate.core.keys.HealthDay;
import io.gemgate.core.keys.KeyHealthHistory;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.KeyStatus;
import io.gemgate.core.keys.KeyUsage;
import io.gemgate.core.keys.ModelRef;
import java.io.IOException;
import java.time.Instant;
import java.util.List;

/**
 * How the admin API shows a key: never its secret, at most its first and last 4 characters ({@link ApiKey#masked()}).
 *
 * <pre>{@code
 * {"id":"3f2a...","key":"AIza...0001","label":"","project":"team-a","weight":1,"tier":0,"groups":["paid"],
 *  "enabled":true,"removed":false,
 *  "status":"cooling","reason":"cooling down","model":"gemini-2.5-pro","until":"2026-...Z","untilMillis":...,
 *  "invalidSince":null,"invalidSinceMillis":0,
 *  "resources":2,
 *  "health":{"score":0.93,"successRate":0.97,"latencyMillis":412.5,"lastFailureAt":"..."},
 *  "today":{"requests":12,"successes":11,"failures":1,"rateLimited":1,"promptTokens":..,"outputTokens":..,
 *           "tokens":..,"successRate":0.9167},
 *  "models":[{"model":"gemini-2.5-pro","status":"cooling","reason":"cooling down","until":..,"untilMillis":..,
 *             "requests":..,...,"budget":{"rpm":5,"tpm":-1,"rpd":100,"minuteRequests":5,"minuteTokens":8120}}],
 *  "checking":false,"lastCheck":{"at":"..","outcome":"good","reason":"","latencyMillis":80},
 *  "serverErrorsInARow":0,"badDays":1,
 *  "history":[{"day":"2026-03-02","dayStart":"..","ok":0,"failed":4,"checks":2,"checksFailed":2,"bad":true}]}
 * }</pre>
 * {@code history} lists the quota days with activity, newest first (see {@link KeyHealthHistory}); {@code badDays}
 * is the current streak of bad days; a key the clean-up removed gives its reason ("bad 3 days in a row").
 * The summary {@code status} is the key's own state when it has one (removed, disabled, invalid), else the worst
 * state over its models (exhausted, then cooling, then active), naming that model; {@code models} lists each model
 * the key served today or rests for, with its {@code budget} when the live setting {@code keyBudgets} gives the
 * model one: the limits per key ({@code -1}: none) and what the key used of them in the current minute (its requests
 * today are {@code requests}).
 */
final class KeyViews {
    private KeyViews() {
    }

    /**
     * The key's summary state.
     *
     * @param model the model it applies to, or null when it is the key's own state (or active everywhere)
     */
    record Summary(KeyStatus.State state, String reason, long untilMillis, String model) {
    }

    static Summary summary(KeyPool pool, ApiKey k, List<ModelRef> models) {
        if (k.isRemoved()) {
            return new Summary(KeyStatus.State.REMOVED, "removed", 0, null);
        }
        if (!k.isEnabled()) {
            return new Summary(KeyStatus.State.DISABLED, "disabled", 0, null);
        }
        if (k.isInvalid()) {
            return new Summary(KeyStatus.State.INVALID, k.invalidReason(), 0, null);
        }
        Summary worst = new Summary(KeyStatus.State.ACTIVE, "", 0, null);
        for (ModelRef m : models) {
            KeyStatus s = pool.status(k, m);
            if (rank(s.state()) > rank(worst.state())
                    || (s.state() == worst.state() && s.untilMillis() > worst.untilMillis())) {
                worst = new Summary(s.state(), s.reason(), s.untilMillis(), m.name());
            }
        }
        return worst;
    }

    private static int rank(KeyStatus.State s) {
        return switch (s) {
            case ACTIVE -> 0;
            case COOLING -> 1;
            case EXHAUSTED -> 2;
            default -> 3;
        };
    }

    /**
     * The key's egress: {@code proxy} as configured (empty, {@code direct}, or its URL masked), {@code exit} the exit
     * it is pinned to ({@code host:port}, or {@code direct}), {@code exitNow} the one it uses now (another while its
     * own fails or cools; null when none may carry it).
     */
    private static void writeExit(JsonGenerator g, ApiKey k, io.gemgate.core.egress.Exits exits, long now)
            throws IOException {
        io.gemgate.core.egress.ProxySpec own = k.proxySpec();
        g.writeStringField("proxy", own != null ? own.masked() : k.proxy());
        io.gemgate.core.egress.Exit pinned = exits.pinned(k);
        g.writeStringField("exit", pinned == null ? "direct" : pinned.label());
        io.gemgate.core.egress.Exit used = exits.route(k, now);
        if (used == io.gemgate.core.egress.Exits.NONE) {
            g.writeNullField("exitNow");
        } else {
            g.writeStringField("exitNow", used == null ? "direct" : used.label());
        }
    }

    /**
     * Writes one key.
     *
     * @param invalidSinceMillis when it was found invalid, 0 when valid or unknown
     * @param minChecks          the live {@code minChecksPerDay}: what makes a day bad
     */
    static void write(JsonGenerator g, KeyPool pool, ApiKey k, List<ModelRef> models, long invalidSinceMillis,
                      KeyProber prober, long now, int minChecks, int resources, io.gemgate.core.egress.Exits exits)
            throws IOException {
        KeyHealthHistory history = prober == null ? null : prober.cleanup().history();
        g.writeStartObject();
        g.writeStringField("id", k.id());
        g.writeStringField("key", k.masked());
        g.writeStringField("label", k.label());
        g.writeStringField("project", k.project());
        g.writeNumberField("weight", k.weight());
        g.writeNumberField("resources", resources); // files, caches, batches, stores it holds (issue 13)
        g.writeNumberField("tier", k.tier());
        g.writeArrayFieldStart("groups");
        for (String group : k.groups()) {
            g.writeString(group);
        }
        g.writeEndArray();
        g.writeBooleanField("enabled", k.isEnabled());
        g.writeBooleanField("removed", k.isRemoved());
        writeExit(g, k, exits, now);
        Summary s = summary(pool, k, models);
        String removedReason = history == null || !k.isRemoved() ? "" : history.removedReason(k.id());
        g.writeStringField("status", s.state().label());
        g.writeStringField("reason", removedReason.isEmpty() ? s.reason() : removedReason);
        if (s.model() == null) {
            g.writeNullField("model");
        } else {
            g.writeStringField("model", s.model());
        }
        AdminJson.until(g, s.untilMillis());
        g.writeBooleanField("invalid", k.isInvalid());
        g.writeStringField("invalidReason", k.invalidReason());
        AdminJson.instant(g, "invalidSince", invalidSinceMillis);
        g.writeNumberField("invalidSinceMillis", invalidSinceMillis);

        Health h = k.health();
        g.writeObjectFieldStart("health");
        g.writeNumberField("score", AdminJson.round(h.score(now), 4));
        g.writeNumberField("successRate", AdminJson.round(h.successRate(), 4));
        g.writeNumberField("latencyMillis", AdminJson.round(h.latencyMillis(), 1));
        AdminJson.instant(g, "lastFailureAt", h.lastFailureMillis());
        g.writeEndObject();

        long[] today = new long[6];
        g.writeArrayFieldStart("models");
        for (ModelRef m : models) {
            KeyUsage u = pool.usage(k, m);
            KeyStatus st = pool.status(k, m);
            AdminStats.add(today, u);
            boolean resting = st.state() == KeyStatus.State.COOLING || st.state() == KeyStatus.State.EXHAUSTED;
            if (u.equals(KeyUsage.ZERO) && !resting) {
                continue;
            }
            g.writeStartObject();
            g.writeStringField("model", m.name());
            g.writeStringField("status", st.state().label());
            g.writeStringField("reason", st.reason());
            AdminJson.until(g, st.untilMillis());
            AdminStats.counters(g, new long[] {u.requests(), u.successes(), u.failures(), u.rateLimited(),
                    u.promptTokens(), u.outputTokens()});
            BudgetUse b = pool.budgetUse(k, m);
            if (b != null) {
                g.writeObjectFieldStart("budget");
                g.writeNumberField("rpm", b.budget().rpm());
                g.writeNumberField("tpm", b.budget().tpm());
                g.writeNumberField("rpd", b.budget().rpd());
                g.writeNumberField("minuteRequests", b.minuteRequests());
                g.writeNumberField("minuteTokens", b.minuteTokens());
                g.writeEndObject();
            }
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeObjectFieldStart("today");
        AdminStats.counters(g, today);
        long ended = today[1] + today[2];
        if (ended == 0) {
            g.writeNullField("successRate");
        } else {
            g.writeNumberField("successRate", AdminJson.round(today[1] / (double) ended, 4));
        }
        g.writeEndObject();

        g.writeBooleanField("checking", prober != null && prober.isChecking(k.id()));
        KeyProber.Result r = prober == null ? null : prober.lastResult(k.id());
        if (r == null) {
            g.writeNullField("lastCheck");
        } else {
            g.writeObjectFieldStart("lastCheck");
            AdminJson.instant(g, "at", r.atMillis());
            g.writeStringField("outcome", r.outcome().label());
            g.writeStringField("reason", r.reason());
            g.writeNumberField("latencyMillis", r.latencyMillis());
            g.writeEndObject();
        }
        if (history != null) {
            writeHistory(g, pool, k, history, now, minChecks);
        }
        g.writeEndObject();
    }

    private static void writeHistory(JsonGenerator g, KeyPool pool, ApiKey k, KeyHealthHistory history, long now,
                                     int minChecks) throws IOException {
        g.writeNumberField("serverErrorsInARow", history.serverErrors(k.id()));
        g.writeNumberField("badDays", history.badStreak(k.id(), now, minChecks));
        g.writeArrayFieldStart("history");
        for (HealthDay d : history.days(k.id())) {
            g.writeStartObject();
            g.writeStringField("day", Instant.ofEpochMilli(d.dayStartMillis()).atZone(pool.calendar().zone())
                    .toLocalDate().toString());
            AdminJson.instant(g, "dayStart", d.dayStartMillis());
            g.writeNumberField("ok", d.ok());
            g.writeNumberField("failed", d.failed());
            g.writeNumberField("checks", d.checks());
            g.writeNumberField("checksFailed", d.checksFailed());
            g.writeBooleanField("bad", KeyHealthHistory.isBad(d, minChecks));
            g.writeEndObject();
        }
        g.writeEndArray();
    }
}
