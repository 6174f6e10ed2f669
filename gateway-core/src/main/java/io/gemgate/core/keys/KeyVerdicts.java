package io.gemgate.core.keys;

import static java.util.Objects.requireNonNull;

/**
 * Applies what the upstream said of a key ({@link #record}) and what another gateway recorded ({@link #applyRest}):
 * counters, cooldowns, daily exhaustion, invalid marks and health. A per-day or per-minute verdict on one key applies
 * to every key of the same project, which shares its quota. A burst of invalid marks is braked
 * ({@link SetAsideBrake}). Each change replaces the key's {@link KeyRest} or {@link KeyState} whole by
 * compare-and-set, then refiles the key in the lanes and tells the shared store's {@link KeyPool.Listener}.
 *
 * <p>Callers: {@link KeyPool} (the proxy's exchanges at each answer's head, the prober, the shared store). Threads:
 * any, usually an event loop: nothing here blocks or waits for a lock another event loop holds for long.
 */
final class KeyVerdicts {
    private final KeyRing ring;
    private volatile KeyPool.VerdictListener verdictListener;
    private volatile SetAsideBrake brake = new SetAsideBrake();

    KeyVerdicts(KeyRing ring) {
        this.ring = ring;
    }

    /** See {@link KeyPool#record}. */
    void record(ApiKey k, ModelRef model, Verdict verdict, long latencyMillis) {
        long now = ring.clock.getAsLong();
        long day = ring.calendar.dayStart(now);
        KeyModelState s = k.state(model.index(), day);
        DayCounters c = s.today(day);
        PoolSettings cfg = ring.settings;
        switch (verdict.kind()) {
            case SUCCESS -> {
                c.add(DayCounters.SUCCESSES, 1);
                s.endStreak();
                k.healthSuccess(latencyMillis);
            }
            case CLIENT_ERROR -> {
                // The client's fault: no penalty for the key.
            }
            case QUOTA_DAY -> {
                c.add(DayCounters.FAILURES, 1);
                c.add(DayCounters.RATE_LIMITED, 1);
                long until = ring.calendar.nextReset(now);
                for (ApiKey member : k.projectGroup) {
                    member.state(model.index(), day).raise(0, until);
                    ring.refile(member, model, now);
                    ring.restChanged(member, model);
                }
            }
            case RATE_LIMIT -> {
                c.add(DayCounters.FAILURES, 1);
                c.add(DayCounters.RATE_LIMITED, 1);
                long until = verdict.retryDelayMillis() >= 0
                        ? now + Math.max(1_000, verdict.retryDelayMillis())
                        : s.rateLimited(now, cfg.rateLimitCooldownMillis(), cfg.rateLimitCooldownMaxMillis());
                for (ApiKey member : k.projectGroup) {
                    member.state(model.index(), day).raise(until, 0);
                    ring.refile(member, model, now);
                    ring.restChanged(member, model);
                }
                k.healthFailure(now);
            }
            case INVALID_KEY -> {
                c.add(DayCounters.FAILURES, 1);
                // The brake (SetAsideBrake): past a share of the pool within a window, keys stay in rotation.
                if (k.isInvalid() || brake.admit(verdict.reason(), now, ring.poolSize())) {
                    String reason = verdict.reason();
                    k.update(st -> st.withInvalid(now, reason));
                    k.healthFailure(now);
                    ring.refile(k);
                    ring.keyChanged(k);
                }
            }
            case SERVER_ERROR, CONNECT_FAILURE, TIMEOUT, EMPTY_ANSWER -> {
                c.add(DayCounters.FAILURES, 1);
                long until = now + cfg.serverErrorCooldownMillis();
                s.raise(until, 0);
                k.healthFailure(now);
                if (s.rest().cooldownUntilMillis() > now) {
                    ring.refile(k, model, now);
                }
                ring.restChanged(k, model);
            }
        }
        ring.markDirty();
        KeyPool.VerdictListener l = verdictListener;
        if (l != null) {
            l.verdict(k, verdict, now);
        }
    }

    /** See {@link KeyPool#liftCooldown}. */
    void liftCooldown(ApiKey k, ModelRef model) {
        long now = ring.clock.getAsLong();
        for (ApiKey member : k.projectGroup) {
            KeyModelState s = member.peek(model.index());
            if (s != null && s.lift(now)) {
                ring.refile(member, model, now); // the lanes take it back at once
            }
        }
        ring.markDirty();
    }

    /** See {@link KeyPool#recordUsage}. */
    void recordUsage(ApiKey k, ModelRef model, long promptTokens, long outputTokens) {
        long now = ring.clock.getAsLong();
        long day = ring.calendar.dayStart(now);
        KeyModelState s = k.state(model.index(), day);
        DayCounters c = s.today(day);
        c.add(DayCounters.PROMPT_TOKENS, promptTokens);
        c.add(DayCounters.OUTPUT_TOKENS, outputTokens);
        ring.budgets.addTokens(s, ring.budgets.of(model), promptTokens + outputTokens, now);
        ring.markDirty();
    }

    /** See {@link KeyPool#applyRest}. */
    boolean applyRest(String id, String modelName, long cooldownUntil, long exhaustedUntil) {
        ApiKey k = ring.find(id);
        if (k == null) {
            return false;
        }
        long now = ring.clock.getAsLong();
        if (cooldownUntil <= now && exhaustedUntil <= now) {
            return true;
        }
        ModelRef model = ring.model(modelName);
        if (k.state(model.index(), ring.calendar.dayStart(now)).raise(cooldownUntil, exhaustedUntil)) {
            ring.markDirty();
        }
        ring.refile(k, model, now);
        return true;
    }

    SetAsideBrake brake() {
        return brake;
    }

    void brake(SetAsideBrake b) {
        this.brake = requireNonNull(b, "b");
    }

    void verdictListener(KeyPool.VerdictListener l) {
        this.verdictListener = l;
    }
}
