package io.gemgate.core.state;

import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.DayCounters;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.KeyRest;
import io.gemgate.core.keys.KeyState;
import io.gemgate.core.keys.ModelRef;
import io.gemgate.core.state.StateSnapshot.KeyRecord;
import io.gemgate.core.state.StateSnapshot.ModelRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The key pool's part of the state file: per key (by fingerprint) its marks and, per model, its rest and today's
 * counters ({@link KeyRecord}, {@link ModelRecord}), taken from a live {@link KeyPool} and restored into one.
 *
 * <p>It lives in the state package, which depends on the keys package and not the reverse: the pool offers read
 * methods ({@link ApiKey#state()}, {@link KeyPool#rest}, {@link KeyPool#counters}) and restore methods
 * ({@link KeyPool#restoreKey}, {@link KeyPool#restoreModel}). Each key's marks are read as one {@link KeyState} and
 * each rest as one {@link KeyRest}, so a record never mixes two changes.
 *
 * <p>Callers: {@link StatePersister} (restore at start, snapshots on its writer thread), the admin API (when each
 * invalid key was set aside). Threads: any; {@link #restore} only before the pool serves.
 */
public final class PoolSnapshot {
    private PoolSnapshot() {
    }

    /** The persisted view of the pool now: per key its marks, cooldowns, exhaustion and today's counters. */
    public static StateSnapshot take(KeyPool pool) {
        long now = pool.now();
        long day = pool.calendar().dayStart(now);
        List<ModelRef> known = pool.models();
        List<KeyRecord> records = new ArrayList<>();
        for (ApiKey k : pool.keys()) {
            List<ModelRecord> ms = new ArrayList<>();
            for (ModelRef m : known) {
                DayCounters c = pool.counters(k, m, false);
                if (c == null) {
                    continue; // the key has not met the model
                }
                KeyRest r = pool.rest(k, m);
                boolean today = c.dayStart() == day;
                ms.add(new ModelRecord(m.name(), r.cooldownUntilMillis() > now ? r.cooldownUntilMillis() : 0,
                        r.rateLimitStreak(), r.exhaustedUntilMillis() > now ? r.exhaustedUntilMillis() : 0, day,
                        today ? c.get(DayCounters.REQUESTS) : 0, today ? c.get(DayCounters.SUCCESSES) : 0,
                        today ? c.get(DayCounters.FAILURES) : 0, today ? c.get(DayCounters.RATE_LIMITED) : 0,
                        today ? c.get(DayCounters.PROMPT_TOKENS) : 0, today ? c.get(DayCounters.OUTPUT_TOKENS) : 0));
            }
            KeyState st = k.state();
            records.add(new KeyRecord(k.fingerprint(), !st.isEnabled(), st.isRemoved(), st.invalidSinceMillis(),
                    st.invalidReason(), ms));
        }
        return new StateSnapshot(StateSnapshot.CURRENT_VERSION, now, records);
    }

    /**
     * Restores a snapshot taken by {@link #take}: keys are matched by fingerprint (keys no longer configured are
     * ignored), counters are kept only if they belong to the current quota day, and cooldowns and exhaustion only if
     * they have not ended. Soft-removed marks are the persister's to restore (it tells the pool's listener).
     *
     * @return how many configured keys were found in the snapshot
     */
    public static int restore(KeyPool pool, StateSnapshot snapshot) {
        long day = pool.calendar().dayStart(pool.now());
        Map<String, ApiKey> byFingerprint = new HashMap<>();
        for (ApiKey k : pool.keys()) {
            byFingerprint.put(k.fingerprint(), k);
        }
        int matched = 0;
        for (KeyRecord r : snapshot.keys()) {
            ApiKey k = byFingerprint.get(r.fingerprint());
            if (k == null) {
                continue;
            }
            matched++;
            pool.restoreKey(k.id(), r.disabled(), r.invalidSinceMillis(), r.invalidReason());
            for (ModelRecord mr : r.models()) {
                long[] today = null;
                if (mr.dayStartMillis() == day) {
                    today = new long[DayCounters.COUNT];
                    today[DayCounters.REQUESTS] = mr.requests();
                    today[DayCounters.SUCCESSES] = mr.successes();
                    today[DayCounters.FAILURES] = mr.failures();
                    today[DayCounters.RATE_LIMITED] = mr.rateLimited();
                    today[DayCounters.PROMPT_TOKENS] = mr.promptTokens();
                    today[DayCounters.OUTPUT_TOKENS] = mr.outputTokens();
                }
                pool.restoreModel(k, pool.model(mr.model()), mr.cooldownUntilMillis(), mr.exhaustedUntilMillis(),
                        mr.rateLimitStreak(), today);
            }
        }
        pool.restored();
        return matched;
    }
}
