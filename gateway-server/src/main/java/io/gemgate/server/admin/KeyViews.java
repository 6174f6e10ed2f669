package io.gemgate.server.admin;

import static com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.core.JsonGenerator;
import io.gemgate.core.egress.Exit;
import io.gemgate.core.egress.Exits;
import io.gemgate.core.egress.ProxySpec;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

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
 *
 * <p>The answer is the {@link KeyView} record and its parts, written by jackson-databind ({@link AdminJson#MAPPER}).
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

    /** The counters of a model, or of the day over all models, as the answers name them. */
    record Counters(long requests, long successes, long failures, long rateLimited, long promptTokens,
                    long outputTokens, long tokens) {
        /** What {@link AdminStats#add} summed. */
        static Counters of(long[] c) {
            return new Counters(c[0], c[1], c[2], c[3], c[4], c[5], c[4] + c[5]);
        }
    }

    /**
     * One key, field for field in answer order (see the class documentation). Nulls are written as {@code null};
     * the history fields are left out when no prober runs.
     */
    record KeyView(String id, String key, String label, String project, int weight, int resources, int tier,
                   Set<String> groups, boolean enabled, boolean removed, String proxy, String exit, String exitNow,
                   String status, String reason, String model, String until, long untilMillis, boolean invalid,
                   String invalidReason, String invalidSince, long invalidSinceMillis, HealthView health,
                   List<ModelView> models, TodayView today, boolean checking, CheckView lastCheck,
                   @JsonInclude(NON_NULL) Integer serverErrorsInARow, @JsonInclude(NON_NULL) Integer badDays,
                   @JsonInclude(NON_NULL) List<DayView> history) {
    }

    record HealthView(double score, double successRate, double latencyMillis, String lastFailureAt) {
    }

    record ModelView(String model, String status, String reason, String until, long untilMillis,
                     @JsonUnwrapped Counters counters, @JsonInclude(NON_NULL) BudgetView budget) {
    }

    record BudgetView(long rpm, long tpm, long rpd, long minuteRequests, long minuteTokens) {
    }

    /** @param successRate successes over ended calls, null when none ended */
    record TodayView(@JsonUnwrapped Counters counters, Double successRate) {
    }

    record CheckView(String at, String outcome, String reason, long latencyMillis) {
    }

    record DayView(String day, String dayStart, long ok, long failed, long checks, long checksFailed, boolean bad) {
    }

    /**
     * Writes one key.
     *
     * @param invalidSinceMillis when it was found invalid, 0 when valid or unknown
     * @param minChecks          the live {@code minChecksPerDay}: what makes a day bad
     */
    static void write(JsonGenerator g, KeyPool pool, ApiKey k, List<ModelRef> models, long invalidSinceMillis,
                      KeyProber prober, long now, int minChecks, int resources, Exits exits) throws IOException {
        AdminJson.MAPPER.writeValue(g, view(pool, k, models, invalidSinceMillis, prober, now, minChecks, resources,
                exits));
    }

    /** One key as {@link #write} writes it. */
    static KeyView view(KeyPool pool, ApiKey k, List<ModelRef> models, long invalidSinceMillis, KeyProber prober,
                        long now, int minChecks, int resources, Exits exits) {
        KeyHealthHistory history = prober == null ? null : prober.cleanup().history();
        Summary s = summary(pool, k, models);
        String removedReason = history == null || !k.isRemoved() ? "" : history.removedReason(k.id());
        // the key's egress: its proxy as configured (URL masked), the exit it is pinned to, the one it uses now
        // (another while its own fails or cools; null when none may carry it)
        ProxySpec own = k.proxySpec();
        Exit pinned = exits.pinned(k);
        Exit used = exits.route(k, now);
        Health h = k.health();

        long[] today = new long[6];
        List<ModelView> modelViews = new ArrayList<>();
        for (ModelRef m : models) {
            KeyUsage u = pool.usage(k, m);
            KeyStatus st = pool.status(k, m);
            AdminStats.add(today, u);
            boolean resting = st.state() == KeyStatus.State.COOLING || st.state() == KeyStatus.State.EXHAUSTED;
            if (u.equals(KeyUsage.ZERO) && !resting) {
                continue;
            }
            BudgetUse b = pool.budgetUse(k, m);
            modelViews.add(new ModelView(m.name(), st.state().label(), st.reason(), AdminJson.iso(st.untilMillis()),
                    Math.max(0, st.untilMillis()), Counters.of(new long[] {u.requests(), u.successes(), u.failures(),
                    u.rateLimited(), u.promptTokens(), u.outputTokens()}),
                    b == null ? null : new BudgetView(b.budget().rpm(), b.budget().tpm(), b.budget().rpd(),
                            b.minuteRequests(), b.minuteTokens())));
        }
        long ended = today[1] + today[2];
        KeyProber.Result r = prober == null ? null : prober.lastResult(k.id());
        return new KeyView(k.id(), k.masked(), k.label(), k.project(), k.weight(), resources, k.tier(), k.groups(),
                k.isEnabled(), k.isRemoved(), own != null ? own.masked() : k.proxy(),
                pinned == null ? "direct" : pinned.label(),
                used == Exits.NONE ? null : used == null ? "direct" : used.label(),
                s.state().label(), removedReason.isEmpty() ? s.reason() : removedReason, s.model(),
                AdminJson.iso(s.untilMillis()), Math.max(0, s.untilMillis()), k.isInvalid(), k.invalidReason(),
                AdminJson.iso(invalidSinceMillis), invalidSinceMillis,
                new HealthView(AdminJson.round(h.score(now), 4), AdminJson.round(h.successRate(), 4),
                        AdminJson.round(h.latencyMillis(), 1), AdminJson.iso(h.lastFailureMillis())),
                modelViews,
                new TodayView(Counters.of(today), ended == 0 ? null : AdminJson.round(today[1] / (double) ended, 4)),
                prober != null && prober.isChecking(k.id()),
                r == null ? null : new CheckView(AdminJson.iso(r.atMillis()), r.outcome().label(), r.reason(),
                        r.latencyMillis()),
                history == null ? null : history.serverErrors(k.id()),
                history == null ? null : history.badStreak(k.id(), now, minChecks),
                history == null ? null : days(pool, history.days(k.id()), minChecks));
    }

    private static List<DayView> days(KeyPool pool, List<HealthDay> days, int minChecks) {
        List<DayView> out = new ArrayList<>(days.size());
        for (HealthDay d : days) {
            out.add(new DayView(Instant.ofEpochMilli(d.dayStartMillis()).atZone(pool.calendar().zone()).toLocalDate()
                    .toString(), AdminJson.iso(d.dayStartMillis()), d.ok(), d.failed(), d.checks(), d.checksFailed(),
                    KeyHealthHistory.isBad(d, minChecks)));
        }
        return out;
    }
}
