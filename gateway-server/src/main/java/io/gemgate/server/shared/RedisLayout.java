package io.gemgate.server.shared;

import static java.util.Objects.requireNonNull;

/**
 * Where the shared state lives in Redis: every key name, the channel, the value formats and the scripts, in one place.
 * Every name starts with the configured prefix ({@code state.redisPrefix}, {@code GEMGATE_REDIS_PREFIX}, default
 * {@code gemgate:}), so that several groups of gateways can share one Redis database. Shown with the default prefix:
 *
 * <table>
 *   <caption>Redis keys</caption>
 *   <tr><th>Key</th><th>Type</th><th>Content</th></tr>
 *   <tr><td>{@code gemgate:epoch}</td><td>string</td><td>random id set by the first gateway to find Redis empty; a
 *       new value tells the others that Redis lost its data, and each publishes its whole state again</td></tr>
 *   <tr><td>{@code gemgate:keys}</td><td>hash</td><td>fingerprint → a key added at run time (JSON: secret, project,
 *       weight, label); the secret is {@code v1:...} (the state file's KeyCipher) whenever GEMGATE_MASTER_KEY is set.
 *       Keys of the keys file are never stored: every gateway reads its own file</td></tr>
 *   <tr><td>{@code gemgate:keystate}</td><td>hash</td><td>fingerprint → stamped JSON: enabled, removed, invalid
 *       since and why, project, weight, label</td></tr>
 *   <tr><td>{@code gemgate:rests}</td><td>hash</td><td>{@code fingerprint|model} → {@code cooldownUntil:exhaustedUntil}
 *       (epoch millis), raised field by field, deleted once both have passed</td></tr>
 *   <tr><td>{@code gemgate:counters:DAYSTART}</td><td>hash</td><td>{@code fingerprint|counter|model} → the count of
 *       all gateways for the quota day starting at DAYSTART (epoch millis); expires two days after that</td></tr>
 *   <tr><td>{@code gemgate:tokens}</td><td>hash</td><td>token id → stamped JSON record (the secret's SHA-256, never
 *       the secret)</td></tr>
 *   <tr><td>{@code gemgate:tokens:revoked}</td><td>hash</td><td>token id → when it was revoked: no gateway brings it
 *       back</td></tr>
 *   <tr><td>{@code gemgate:settings}</td><td>hash</td><td>{@code current} → stamped JSON of the live settings</td></tr>
 *   <tr><td>{@code gemgate:instances}</td><td>hash</td><td>instance id → stamped JSON of each gateway sharing the
 *       state (address, version, started, requests per second), refreshed every round; gone after
 *       {@link RedisSharedState#INSTANCE_GONE} without a beat</td></tr>
 *   <tr><td>{@code gemgate:lease:{gemgate:TOKENID}}</td><td>hash</td><td>one user token's limits across gateways:
 *       the quota day, requests and tokens granted that day, and units granted per second of the last minute
 *       ({@link #LEASE_TOKEN}); expires an hour after the day ends</td></tr>
 *   <tr><td>{@code gemgate:lease:{gemgate:TOKENID}:slots}</td><td>hash</td><td>instance id →
 *       {@code slots:untilMillis}: the token's concurrency slots each gateway holds</td></tr>
 *   <tr><td>{@code gemgate:budget:{gemgate:KEYID|MODEL}}</td><td>hash</td><td>one key's budget for one model
 *       across gateways: the quota day, requests granted that day, units granted and tokens reported per second of
 *       the last minute ({@link #LEASE_BUDGET}); expires an hour after the day ends</td></tr>
 *   <tr><td>{@code gemgate:DB:events}</td><td>pub/sub channel</td><td>{@link SharedEvent}s; it names the database
 *       because pub/sub is global to the server while keys are per database</td></tr>
 * </table>
 *
 * <p><b>Redis Cluster.</b> Every name of the shared state carries the prefix as a hash tag ({@code {gemgate:}keys}):
 * one slot, so that the scripts that touch several keys work; a token's two lease hashes share the tag of that token.
 *
 * <p><b>Precedence.</b> A stamped value is {@code changedAtMillis json}: the latest change wins, whatever the order
 * in which gateways write ({@link #PUT_IF_NEWER}); cooldowns and exhaustion take the later end; counters add up.
 * A gateway that starts loads Redis's state over its state file; what only it holds (a change made while Redis was
 * away) is published.
 *
 * <p><b>Staleness.</b> A change is written and published as soon as the shared-state thread wakes, and the others
 * apply it when the message arrives (milliseconds). Counters and rests are merged every sync round (1 s); the
 * whole state is read back every {@link RedisSharedState#FULL_READ_EVERY} rounds and after every reconnection,
 * which heals a lost message.
 */
final class RedisLayout {
    /** Separates the parts of a hash field; the model name comes last, so it may hold the separator itself. */
    static final char SEP = '|';

    /**
     * Adds counter deltas to one day's hash only if the epoch is still the one the caller knows, so that deltas
     * never land in a Redis that lost its data before the caller re-published its own counts. KEYS: epoch, day hash.
     * ARGV: epoch, expire-at millis, then field and delta pairs. Returns 1, or -1 when the epoch differs.
     */
    static final String ADD_COUNTERS = """
            if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
            for i = 3, #ARGV, 2 do redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1]) end
            redis.call('PEXPIREAT', KEYS[2], ARGV[2])
            return 1
            """;

    /**
     * Raises a key's cooldown and exhaustion for a model (the later end wins, field by field). KEYS: rests hash.
     * ARGV: field, cooldown end, exhaustion end (epoch millis). Returns 1.
     */
    static final String RAISE_REST = """
            local c, e = tonumber(ARGV[2]), tonumber(ARGV[3])
            local cur = redis.call('HGET', KEYS[1], ARGV[1])
            if cur then
              local sep = string.find(cur, ':', 1, true)
              if sep then
                local oc, oe = tonumber(string.sub(cur, 1, sep - 1)), tonumber(string.sub(cur, sep + 1))
                if oc and oc > c then c = oc end
                if oe and oe > e then e = oe end
              end
            end
            redis.call('HSET', KEYS[1], ARGV[1], string.format('%d:%d', c, e))
            return 1
            """;

    /**
     * Deletes a hash field only if it still holds the value read (a rest that has ended, not one raised since).
     * KEYS: hash. ARGV: field, value. Returns the number deleted.
     */
    static final String DELETE_IF_SAME = """
            if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
            return 0
            """;

    /**
     * Stores a {@link #stamp stamped} value unless the stored one was changed later (last writer wins by change time,
     * whatever the order in which instances write, such as when all publish again after Redis lost its data), and,
     * when a second key is given, unless the field is listed there (a revoked token never comes back). KEYS: hash
     * [, tombstones hash]. ARGV: field, change time (epoch millis), stamped value. Returns 1 when stored, 0 when the
     * stored value is newer, -1 when the field is a tombstone.
     */
    static final String PUT_IF_NEWER = """
            if KEYS[2] and redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return -1 end
            local cur = redis.call('HGET', KEYS[1], ARGV[1])
            if cur then
              local t = tonumber(string.match(cur, '^(%d+) '))
              if t and t > tonumber(ARGV[2]) then return 0 end
            end
            redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
            return 1
            """;

    /**
     * Leases a share of one user token's limits to one gateway, takes back what it gives back and records what it
     * admitted without a lease ({@code TokenLeases} describes the protocol; README, "Limits across gateways"). KEYS:
     * the token's lease hash ({@link #lease}), its concurrency hash ({@link #leaseSlots}); one hash tag, so one slot in
     * a cluster. ARGV: 1 now (millis), 2 now (second), 3 seconds a grant counts toward the minute, 4 quota day start, 5
     * next reset (millis), 6-9 requestsPerMinute, requestsPerDay, tokensPerDay, maxConcurrency (-1: none), 10 instance,
     * 11 units wanted, 12 tokens wanted, 13 slots wanted (absolute), 14 units admitted without a lease, 15 tokens used
     * beyond the allowance, 16 tokens given back, 17 slot lifetime (millis), then pairs (second, units): unused units
     * given back to the second they were granted at. Returns {units granted, tokens granted, slots held, units blocked
     * until (millis, 0: not), 1 per minute or 2 per day, tokens blocked until, 1 when every slot is held, units in the
     * minute, requests today, tokens today}.
     *
     * <p>The lease hash holds {@code day} (the quota day its counts belong to), {@code dreq} and {@code dtok} (granted
     * for the day, less what came back, plus debts) and {@code mSECOND}: units granted at that second. A grant is
     * counted toward the minute from its second for 60 s plus the grant's life (ARGV 3), so that a unit spent at the
     * very end of its life is still counted for a whole minute after.
     */
    static final String LEASE_TOKEN = """
            local h, hs = KEYS[1], KEYS[2]
            local now, sec, span = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
            local nextDay = tonumber(ARGV[5])
            local rpm, rpd, tpd, conc = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
            local wantReq, wantTok, wantSlots = tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])
            local debtReq, debtTok, backTok = tonumber(ARGV[14]), tonumber(ARGV[15]), tonumber(ARGV[16])
            if redis.call('HGET', h, 'day') ~= ARGV[4] then
              redis.call('HSET', h, 'day', ARGV[4], 'dreq', 0, 'dtok', 0)
            end
            local dreq = tonumber(redis.call('HGET', h, 'dreq')) or 0
            local dtok = tonumber(redis.call('HGET', h, 'dtok')) or 0
            local buckets, dirty, minute = {}, {}, 0
            local all = redis.call('HGETALL', h)
            for i = 1, #all, 2 do
              local f = all[i]
              if string.byte(f, 1) == 109 then
                local s = tonumber(string.sub(f, 2))
                if s == nil or s <= sec - span then
                  redis.call('HDEL', h, f)
                else
                  buckets[s] = tonumber(all[i + 1]) or 0
                end
              end
            end
            for i = 18, #ARGV, 2 do
              local s, n = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
              local have = buckets[s]
              if have then
                local back = math.min(have, n)
                buckets[s] = have - back
                dirty[s] = true
                dreq = dreq - back
              end
            end
            if dreq < 0 then dreq = 0 end
            buckets[sec] = (buckets[sec] or 0) + debtReq
            dirty[sec] = true
            dreq = dreq + debtReq
            for s, n in pairs(buckets) do minute = minute + n end
            local room = math.huge
            if rpm >= 0 then room = rpm - minute end
            if rpd >= 0 and rpd - dreq < room then room = rpd - dreq end
            local grant = math.max(0, math.min(wantReq, room))
            if grant > 0 then
              buckets[sec] = buckets[sec] + grant
              dreq = dreq + grant
              minute = minute + grant
            end
            local blocked, by = 0, 0
            if rpd >= 0 and dreq >= rpd then
              blocked, by = nextDay, 2
            elseif rpm >= 0 and minute >= rpm then
              local secs = {}
              for s, n in pairs(buckets) do if n > 0 then secs[#secs + 1] = s end end
              table.sort(secs)
              local left = minute
              for _, s in ipairs(secs) do
                left = left - buckets[s]
                if left < rpm then blocked = (s + span) * 1000 break end
              end
              by = 1
            end
            for s, _ in pairs(dirty) do
              local n = buckets[s]
              if n > 0 then redis.call('HSET', h, 'm' .. s, n) else redis.call('HDEL', h, 'm' .. s) end
            end
            dtok = math.max(0, dtok - backTok) + debtTok
            local grantTok = 0
            if tpd >= 0 then
              grantTok = math.max(0, math.min(wantTok, tpd - dtok))
              dtok = dtok + grantTok
            end
            local tokBlocked = 0
            if tpd >= 0 and dtok >= tpd then tokBlocked = nextDay end
            redis.call('HSET', h, 'dreq', dreq, 'dtok', dtok)
            redis.call('PEXPIREAT', h, nextDay + 3600000)
            local held, full = 0, 0
            if conc >= 0 then
              local others = 0
              local sl = redis.call('HGETALL', hs)
              for i = 1, #sl, 2 do
                if sl[i] ~= ARGV[10] then
                  local n, untilMs = string.match(sl[i + 1], '^(%d+):(%d+)$')
                  if n == nil or tonumber(untilMs) <= now then
                    redis.call('HDEL', hs, sl[i])
                  else
                    others = others + tonumber(n)
                  end
                end
              end
              held = math.max(0, math.min(wantSlots, conc - others))
              if held > 0 then
                redis.call('HSET', hs, ARGV[10], held .. ':' .. (now + tonumber(ARGV[17])))
                redis.call('PEXPIRE', hs, tonumber(ARGV[17]) * 2)
              else
                redis.call('HDEL', hs, ARGV[10])
              end
              if others + held >= conc then full = 1 end
            end
            return {grant, grantTok, held, blocked, by, tokBlocked, full, minute, dreq, dtok}
            """;

    /**
     * Leases a share of one key's budget for one model ({@code keyBudgets}: rpm, rpd, tpm) to one gateway, takes back
     * what it gives back, records what it admitted without a lease and the tokens its answers reported
     * ({@code BudgetLeases} describes the protocol; README, "Limits across gateways"). KEYS: the budget's hash
     * ({@link #budget}). ARGV: 1 now (millis), 2 now (second), 3 seconds a grant counts toward the minute, 4 quota day
     * start, 5 next reset (millis), 6-8 rpm, rpd, tpm (-1: none), 9 units wanted, 10 units admitted without a lease, 11
     * tokens reported, then pairs (second, units): unused units given back to the second they were granted at. Returns
     * {units granted, requests spent until (millis, 0: not), requests spent for the day until, tokens spent until,
     * units in the minute, requests today, tokens in the minute}.
     *
     * <p>The hash holds {@code day}, {@code dreq} (granted for the day, less what came back, plus debts),
     * {@code mSECOND} (units granted at that second; counted for ARGV 3 seconds, as {@link #LEASE_TOKEN}'s) and
     * {@code tSECOND} (tokens reported at that second; counted for 60 s).
     */
    static final String LEASE_BUDGET = """
            local h = KEYS[1]
            local sec, span = tonumber(ARGV[2]), tonumber(ARGV[3])
            local nextDay = tonumber(ARGV[5])
            local rpm, rpd, tpm = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
            local want, debt, tok = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
            if redis.call('HGET', h, 'day') ~= ARGV[4] then
              redis.call('HSET', h, 'day', ARGV[4], 'dreq', 0)
            end
            local dreq = tonumber(redis.call('HGET', h, 'dreq')) or 0
            local units, toks, dirty, minute, mtok = {}, {}, {}, 0, 0
            local all = redis.call('HGETALL', h)
            for i = 1, #all, 2 do
              local f = all[i]
              local c = string.byte(f, 1)
              if c == 109 or c == 116 then
                local s = tonumber(string.sub(f, 2))
                local life = span
                if c == 116 then life = 60 end
                if s == nil or s <= sec - life then
                  redis.call('HDEL', h, f)
                elseif c == 109 then
                  units[s] = tonumber(all[i + 1]) or 0
                else
                  toks[s] = tonumber(all[i + 1]) or 0
                end
              end
            end
            for i = 12, #ARGV, 2 do
              local s, n = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
              local have = units[s]
              if have then
                local back = math.min(have, n)
                units[s] = have - back
                dirty[s] = true
                dreq = dreq - back
              end
            end
            if dreq < 0 then dreq = 0 end
            if debt > 0 then
              units[sec] = (units[sec] or 0) + debt
              dirty[sec] = true
              dreq = dreq + debt
            end
            for s, n in pairs(units) do minute = minute + n end
            local room = math.huge
            if rpm >= 0 then room = rpm - minute end
            if rpd >= 0 and rpd - dreq < room then room = rpd - dreq end
            local grant = math.max(0, math.min(want, room))
            if grant > 0 then
              units[sec] = (units[sec] or 0) + grant
              dirty[sec] = true
              dreq = dreq + grant
              minute = minute + grant
            end
            for s, _ in pairs(dirty) do
              local n = units[s]
              if n > 0 then redis.call('HSET', h, 'm' .. s, n) else redis.call('HDEL', h, 'm' .. s) end
            end
            if tok > 0 then
              toks[sec] = (toks[sec] or 0) + tok
              redis.call('HSET', h, 't' .. sec, toks[sec])
            end
            for s, n in pairs(toks) do mtok = mtok + n end
            local function freeAt(buckets, total, limit, life)
              local secs = {}
              for s, n in pairs(buckets) do if n > 0 then secs[#secs + 1] = s end end
              table.sort(secs)
              local left = total
              for _, s in ipairs(secs) do
                left = left - buckets[s]
                if left < limit then return (s + life) * 1000 end
              end
              return 0
            end
            local mBlocked, dBlocked, tBlocked = 0, 0, 0
            if rpd >= 0 and dreq >= rpd then dBlocked = nextDay end
            if rpm >= 0 and minute >= rpm then mBlocked = freeAt(units, minute, rpm, span) end
            if tpm >= 0 and mtok >= tpm then tBlocked = freeAt(toks, mtok, tpm, 60) end
            redis.call('HSET', h, 'dreq', dreq)
            redis.call('PEXPIREAT', h, nextDay + 3600000)
            return {grant, mBlocked, dBlocked, tBlocked, minute, dreq, mtok}
            """;

    /**
     * One gateway's heartbeat: stores its {@link #stamp stamped} description, keeps the hash alive while any gateway
     * beats, drops the gateways not seen for a while, and returns the others' descriptions. KEYS: {@link #instances}.
     * ARGV: instance id, stamped description, now (millis), how long unseen counts as gone (millis), hash lifetime
     * (millis). Returns the stamped descriptions of the live instances, this one included.
     */
    static final String HEARTBEAT = """
            redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
            redis.call('PEXPIRE', KEYS[1], ARGV[5])
            local oldest = tonumber(ARGV[3]) - tonumber(ARGV[4])
            local all, out = redis.call('HGETALL', KEYS[1]), {}
            for i = 1, #all, 2 do
              local t = tonumber(string.match(all[i + 1], '^(%d+) '))
              if t == nil or t < oldest then redis.call('HDEL', KEYS[1], all[i]) else out[#out + 1] = all[i + 1] end
            end
            return out
            """;

    /** The one field of {@link #settings()}. */
    static final String SETTINGS_FIELD = "current";

    /** How long a day's counters are kept after the day starts. */
    static final long COUNTERS_TTL_MILLIS = 2 * 86_400_000L;

    /** The default of {@code state.redisPrefix}. */
    static final String DEFAULT_PREFIX = "gemgate:";

    private final String prefix;
    private final String leasePrefix;
    private final String channel;

    /**
     * @param prefix   starts every name
     * @param database the Redis database number, part of the channel name
     */
    RedisLayout(String prefix, int database) {
        this(prefix, database, false);
    }

    /**
     * @param cluster true for a Redis Cluster: the prefix becomes a hash tag ({@code {gemgate:}keys}), so that the
     *                shared state, whose scripts touch several keys, lives in one slot; each token's leases are
     *                tagged by token ({@code gemgate:lease:{gemgate:tok_...}}) and spread over the slots
     */
    RedisLayout(String prefix, int database, boolean cluster) {
        requireNonNull(prefix, "prefix");
        this.prefix = cluster ? "{" + prefix + "}" : prefix;
        this.leasePrefix = prefix;
        this.channel = prefix + database + ":events";
    }

    /** String: a random id, set by the first instance to find Redis without one. A new value: Redis lost its data. */
    String epoch() {
        return prefix + "epoch";
    }

    /** Hash: fingerprint → the key added at run time ({@link SharedCodec#encodeAddedKey}), secret encrypted. */
    String addedKeys() {
        return prefix + "keys";
    }

    /** Hash: fingerprint → the key's marks and definition, {@link #stamp stamped} ({@link SharedCodec#encodeKeyState}). */
    String keyStates() {
        return prefix + "keystate";
    }

    /** Hash: {@code fingerprint|model} → {@code cooldownUntil:exhaustedUntil}, epoch millis, raised by max. */
    String rests() {
        return prefix + "rests";
    }

    /** Hash of one quota day: {@code fingerprint|counter|model} → count, added to with HINCRBY. */
    String counters(long dayStartMillis) {
        return prefix + "counters:" + dayStartMillis;
    }

    /** Hash: token id → the token's record (secret hash only), {@link #stamp stamped}. */
    String tokens() {
        return prefix + "tokens";
    }

    /** Hash: token id → when it was revoked (epoch millis); kept so that no instance brings it back. */
    String revokedTokens() {
        return prefix + "tokens:revoked";
    }

    /** Hash with one field, {@link #SETTINGS_FIELD}: every live setting as stamped JSON ({@code SettingsCodec.encode}). */
    String settings() {
        return prefix + "settings";
    }

    /**
     * Hash: resource name ({@code files/abc}, {@code upload_id/...}) → {@code keyFingerprint|project|createdMillis|
     * expiresMillis|owner|meta}: which key holds it (README, key affinity). Expired fields are deleted by the full
     * read.
     */
    String affinity() {
        return prefix + "affinity";
    }

    static String affinityValue(io.gemgate.core.affinity.AffinityMap.Entry e) {
        return e.keyId() + SEP + clean(e.project()) + SEP + e.createdMillis() + SEP + e.expiresMillis() + SEP
                + clean(e.owner()) + SEP + e.meta(); // meta last: it may hold the separator
    }

    /** The entry a {@link #affinityValue} value describes, or null when it is not one. */
    static io.gemgate.core.affinity.AffinityMap.Entry parseAffinity(String name, String value) {
        String[] p = value.split("\\|", 6);
        if (p.length < 5) {
            return null;
        }
        try {
            return new io.gemgate.core.affinity.AffinityMap.Entry(name, p[0], p[1], Long.parseLong(p[2]),
                    Long.parseLong(p[3]), p[4], p.length == 6 ? p[5] : "");
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static String clean(String s) {
        return s.replace(SEP, '_');
    }

    /**
     * Hash: instance id → {@link #stamp stamped} JSON (id, address, version, started, requests per second) of each
     * gateway sharing the state, written by its heartbeat ({@link #HEARTBEAT}); the hash expires when none beats.
     */
    String instances() {
        return prefix + "instances";
    }

    /** Hash: one user token's leases and its counts across gateways ({@link #LEASE_TOKEN}). */
    String lease(String tokenId) {
        return leasePrefix + "lease:{" + leasePrefix + tokenId + "}";
    }

    /** Hash: instance → {@code slots:untilMillis}, the token's concurrency slots held by each gateway. */
    String leaseSlots(String tokenId) {
        return lease(tokenId) + ":slots";
    }

    /** Hash: one key's budget for one model across gateways ({@link #LEASE_BUDGET}); its own hash tag. */
    String budget(String keyId, String model) {
        return leasePrefix + "budget:{" + leasePrefix + keyId + SEP + model + "}";
    }

    /** Pub/sub channel of {@link SharedEvent}s. */
    String channel() {
        return channel;
    }

    /** {@code changedAt value}: what {@link #PUT_IF_NEWER} stores. */
    static String stamp(long changedAt, String value) {
        return changedAt + " " + value;
    }

    /** The change time of a {@link #stamp stamped} value; 0 when it has none. */
    static long stampTime(String stamped) {
        int space = stamped.indexOf(' ');
        try {
            return space <= 0 ? 0 : Long.parseLong(stamped, 0, space, 10);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** The value of a {@link #stamp stamped} value. */
    static String stampValue(String stamped) {
        int space = stamped.indexOf(' ');
        return space <= 0 ? stamped : stamped.substring(space + 1);
    }

    static String restField(String fingerprint, String model) {
        return fingerprint + SEP + model;
    }

    static String counterField(String fingerprint, String counter, String model) {
        return fingerprint + SEP + counter + SEP + model;
    }

    static String restValue(long cooldownUntil, long exhaustedUntil) {
        return cooldownUntil + ":" + exhaustedUntil;
    }

    /**
     * Parses {@code cooldownUntil:exhaustedUntil}.
     *
     * @return the two ends, or null when malformed
     */
    static long[] parseRest(String value) {
        int colon = value.indexOf(':');
        if (colon <= 0) {
            return null;
        }
        try {
            return new long[] {Long.parseLong(value, 0, colon, 10),
                    Long.parseLong(value, colon + 1, value.length(), 10)};
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
