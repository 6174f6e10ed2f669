package io.gemgate.server.shared;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.config.ConfigException;
import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.KeyMask;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.KeyRest;
import io.gemgate.core.keys.KeySpec;
import io.gemgate.core.keys.ModelRef;
import io.gemgate.core.secrets.KeyCipher;
import io.gemgate.core.secrets.KeyCipherException;
import io.gemgate.core.settings.RuntimeSettings;
import io.gemgate.core.settings.SettingsCodec;
import io.gemgate.core.settings.SettingsException;
import io.gemgate.core.tokens.TokenCodec;
import io.gemgate.core.tokens.TokenEvent;
import io.gemgate.core.tokens.TokenRecord;
import io.gemgate.core.tokens.TokenRegistry;
import io.gemgate.core.tokens.UserToken;
import io.gemgate.server.GatewayContext;
import io.gemgate.server.shared.SharedCodec.AddedKey;
import io.gemgate.server.shared.SharedCodec.KeyState;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.lettuce.core.resource.DefaultClientResources;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Shares one gateway's keys, tokens, settings, counters, cooldowns and exhaustion with the other gateways on the same
 * Redis ({@code GEMGATE_REDIS_URL}). The layout in Redis, the precedence rules and the staleness bounds are described
 * in {@link RedisLayout}.
 *
 * <h2>Threads</h2>
 * The hot path never waits on Redis and never reads it: the key pool, the token registry and the settings stay in
 * local memory. Their listeners only note what changed (a set add, no I/O) and wake the one shared-state thread,
 * which writes the change with Lettuce's asynchronous API and publishes it. That thread also runs a round every
 * {@linkplain #SYNC_INTERVAL sync interval}: reconnect if needed, check the epoch, write pending changes, merge
 * counters, merge cooldowns and exhaustion, and now and then read the whole shared state back. It waits for Lettuce's
 * futures with a timeout; it is not an event loop, and nothing else waits for it. Messages from other gateways
 * arrive on Lettuce's I/O thread and are handed to the shared-state thread, which applies them.
 *
 * <h2>Redis away</h2>
 * Requests are served from local state as always. Changes stay marked (a set of key fingerprints, token ids, key and
 * model pairs, a settings flag: bounded by what exists, never a growing queue) and counters keep counting; both go
 * out when Redis answers again, followed by a full read. When Redis lost its data meanwhile (its epoch changed), the
 * instance publishes its whole state and its own counter contributions again.
 */
public final class RedisSharedState implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(RedisSharedState.class);
    /** Rounds: counters and rests merged, a lost connection retried. */
    static final Duration SYNC_INTERVAL = Duration.ofSeconds(1);
    /** How long the start waits for the first round with Redis; then it goes on without. */
    static final Duration START_WAIT = Duration.ofSeconds(5);
    /** Every this many rounds the whole shared state is read back (heals a message lost on the channel). */
    static final int FULL_READ_EVERY = 10;
    /** Most fields in one counters script call. */
    private static final int COUNTER_BATCH = 500;
    /** An instance whose heartbeat (every round) has not been seen for this long is gone. */
    static final Duration INSTANCE_GONE = Duration.ofSeconds(10);
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(3);
    /** Made on the first heartbeat, not at start: building it costs a start on a busy machine a noticeable time. */
    private static final class Json {
        static final com.fasterxml.jackson.databind.ObjectMapper MAPPER =
                new com.fasterxml.jackson.databind.ObjectMapper();
    }
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);

    private final GatewayContext gw;
    private final KeyPool pool;
    private final TokenRegistry tokens;
    private final RuntimeSettings defaults;
    /** Fingerprints of the keys file's keys: every other key of the pool was added at run time. */
    private final Set<String> configured;
    private final KeyCipher cipher;
    private final RedisLayout layout;
    private final String where;
    /** This process, in messages: its own are ignored. */
    private final String origin;
    private final ClientResources resources;
    private final RedisLink client;
    private final ScheduledExecutorService thread;
    private volatile Thread sharedThread;
    private final CounterSync counters;
    private final LeaseEngine leases;
    private final long startedAt;
    private volatile String address = "";
    /** The gateways sharing this state as the last heartbeat found them, this one included. */
    private volatile List<Instance> instances = List.of();
    /** The lease thread's own connection (its calls must not queue behind a full read). */
    private volatile StatefulConnection<String, String> leaseConn;
    private long leaseConnTried;

    // Changes not yet written: filled by any thread, drained by the shared-state thread.
    private final Set<String> dirtyKeys = ConcurrentHashMap.newKeySet();
    private final Set<String> dirtyTokens = ConcurrentHashMap.newKeySet();
    /** Resource names whose holder was recorded or removed here and not written yet (README, key affinity). */
    private final Set<String> dirtyAffinity = ConcurrentHashMap.newKeySet();
    /**
     * Resource names this instance has seen in Redis (written or read there): one of them missing from a full read
     * was removed by another gateway (its message missed, or not applied yet) and is forgotten here, not written back;
     * a name never seen there is this instance's own news and is published.
     */
    private final Set<String> sharedAffinity = ConcurrentHashMap.newKeySet();
    private final Set<Rest> dirtyRests = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean settingsDirty = new AtomicBoolean();
    // When each key state, token and the settings last changed, here or (as read from Redis) elsewhere: the newest
    // change wins in Redis whatever the order of the writes. 0: not known (loses to any known change).
    private final Map<String, Long> keyChangedAt = new ConcurrentHashMap<>();
    private final Map<String, Long> tokenChangedAt = new ConcurrentHashMap<>();
    private volatile long settingsChangedAt;
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private final KeyPool.Listener poolListener = new PoolListener();
    private final TokenRegistry.Listener tokenListener = this::tokenChanged;
    private final CountDownLatch firstRound = new CountDownLatch(1);
    private volatile boolean fullReadDue = true;
    private volatile boolean closed;
    private volatile boolean up;

    // Shared-state thread only.
    private StatefulConnection<String, String> conn;
    private StatefulRedisPubSubConnection<String, String> sub;
    private String epoch;
    private boolean contributionsDue;
    private boolean everUp;
    private boolean downLogged;
    private long rounds;
    private long requestsPushed;
    private long lastBeatRequests;
    private long lastBeatAt;
    /** Fingerprint → the secret as stored in Redis, so that a key is encrypted once. */
    private final Map<String, String> storedSecrets = new HashMap<>();
    /** Stored keys already reported as unreadable (logged once each). */
    private final Set<String> unreadable = new HashSet<>();

    /** A key and model whose cooldown or exhaustion is to be written. */
    private record Rest(ApiKey key, ModelRef model) {
    }

    private RedisSharedState(Builder b) {
        this.gw = b.gw;
        this.pool = gw.pool();
        this.tokens = gw.tokens();
        this.defaults = requireNonNull(b.defaults, "defaults");
        this.cipher = b.cipher;
        Set<String> fps = new HashSet<>();
        for (KeySpec k : b.configured) {
            fps.add(KeyMask.fingerprint(k.secret()));
        }
        this.configured = Set.copyOf(fps);
        this.client = b.link;
        this.where = client.where();
        this.layout = new RedisLayout(b.prefix, client.database(), client.isCluster());
        byte[] id = new byte[6];
        new SecureRandom().nextBytes(id);
        this.origin = HexFormat.of().formatHex(id);
        this.counters = new CounterSync(pool);
        this.resources = DefaultClientResources.builder()
                .ioThreadPoolSize(1)
                .computationThreadPoolSize(1)
                .reconnectDelay(Delay.exponential(Duration.ofMillis(100), Duration.ofSeconds(5), 2,
                        TimeUnit.MILLISECONDS))
                .build();
        client.open(resources, COMMAND_TIMEOUT, CONNECT_TIMEOUT, new RedisConnectionStateListener() {
            @Override
            public void onRedisConnected(RedisChannelHandler<?, ?> connection, SocketAddress address) {
                fullReadDue = true; // messages may have been missed while the connection was down
            }
        });
        this.startedAt = gw.now();
        this.leases = new LeaseEngine(this::leaseCommands, () -> Math.max(1, instances.size()), gw::now);
        leases.add(new TokenLeases(gw, layout, origin, leases));
        leases.add(new BudgetLeases(gw, layout, leases));
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "gemgate-shared-state");
            t.setDaemon(true);
            sharedThread = t;
            return t;
        });
    }

    /**
     * Shares a gateway's state through the Redis at {@code redisUrl}; checks the URL at once, so that a bad one stops
     * the start before anything else is built.
     *
     * @param redisUrl one of the forms of {@link RedisLink} (one server, Sentinel, Cluster, with or without TLS);
     *                 never logged whole
     * @throws ConfigException when the URL is not a Redis URL; the message names GEMGATE_REDIS_URL
     */
    public static Builder builder(String redisUrl) {
        return new Builder(RedisLink.parse(redisUrl));
    }

    private void start() {
        counters.baseline();
        pool.listener(poolListener);
        gw.affinity().listener(new io.gemgate.core.affinity.AffinityMap.Listener() {
            @Override
            public void recorded(io.gemgate.core.affinity.AffinityMap.Entry e) {
                dirtyAffinity.add(e.name());
                wake();
            }

            @Override
            public void removed(String name) {
                dirtyAffinity.add(name);
                wake();
            }
        });
        tokens.addListener(tokenListener);
        gw.addSettingsListener(settingsChanged());
        thread.scheduleWithFixedDelay(this::round, 0, SYNC_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        try {
            if (!firstRound.await(START_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                log.warn("Redis at {} has not answered within {} ms: serving from the local state, sharing once it "
                        + "answers", where, START_WAIT.toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        leases.start();
    }

    /** True while the last round reached Redis. */
    public boolean isConnected() {
        return up;
    }

    // ---------------------------------------------------------------------------------------------- change hooks

    /** Notes the pool's changes; called on event loops among others, so it only marks and wakes. */
    private final class PoolListener implements KeyPool.Listener {
        @Override
        public void restChanged(ApiKey key, ModelRef model) {
            dirtyRests.add(new Rest(key, model));
            wake();
        }

        @Override
        public void keyChanged(ApiKey key) {
            keyChangedAt.put(key.id(), gw.now());
            dirtyKeys.add(key.id());
            wake();
        }

        @Override
        public void keysAdded(List<ApiKey> added) {
            long now = gw.now();
            for (ApiKey k : added) {
                keyChangedAt.put(k.id(), now);
                dirtyKeys.add(k.id());
            }
            wake();
        }
    }

    private void tokenChanged(TokenEvent e) {
        tokenChangedAt.put(e.id(), gw.now());
        dirtyTokens.add(e.id());
        wake();
    }

    private Consumer<RuntimeSettings> settingsChanged() {
        return s -> {
            // Settings applied from Redis are applied on the shared-state thread: not to be sent back.
            if (!closed && Thread.currentThread() != sharedThread) {
                settingsChangedAt = gw.now();
                settingsDirty.set(true);
                wake();
            }
        };
    }

    /** Has the shared-state thread write the pending changes now rather than at the next round. */
    private void wake() {
        if (closed || !wakePending.compareAndSet(false, true)) {
            return;
        }
        try {
            thread.execute(this::writeNow);
        } catch (RejectedExecutionException e) {
            wakePending.set(false); // closing
        }
    }

    /**
     * Writes the pending changes to Redis now, on the shared-state thread, without waiting: the future says whether
     * they reached Redis (false while Redis is away: they stay marked and go with the next round that reaches it).
     */
    public java.util.concurrent.CompletableFuture<Boolean> writeChangesNow() {
        java.util.concurrent.CompletableFuture<Boolean> done = new java.util.concurrent.CompletableFuture<>();
        if (closed) {
            done.complete(false);
            return done;
        }
        try {
            thread.execute(() -> {
                if (!up || conn == null) {
                    done.complete(false);
                    return;
                }
                try {
                    writeChanges();
                    done.complete(true);
                } catch (Exception e) {
                    down(e);
                    done.complete(false);
                }
            });
        } catch (RejectedExecutionException e) {
            done.complete(false);
        }
        return done;
    }

    private void writeNow() {
        wakePending.set(false);
        if (!up || conn == null) {
            return; // kept marked; the next round that reaches Redis writes them
        }
        try {
            writeChanges();
        } catch (Exception e) {
            down(e);
        }
    }

    // ---------------------------------------------------------------------------------------------------- rounds

    private void round() {
        if (closed) {
            return;
        }
        try {
            if (connect()) {
                checkEpoch();
                if (everUp) {
                    heartbeat(); // from the second round: the first one is what the start waits for
                }
                writeChanges();
                syncCounters();
                syncRests();
                if (fullReadDue || ++rounds % FULL_READ_EVERY == 0) {
                    fullReadDue = false;
                    readAll();
                }
                up();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            down(e);
        } finally {
            firstRound.countDown();
        }
    }

    private boolean connect() throws Exception {
        if (conn == null) {
            try {
                conn = client.connect();
            } catch (RuntimeException e) {
                down(e);
                return false;
            }
        }
        if (sub == null) {
            StatefulRedisPubSubConnection<String, String> s;
            try {
                s = client.connectPubSub();
            } catch (RuntimeException e) {
                down(e);
                return false;
            }
            s.addListener(new RedisPubSubAdapter<>() {
                @Override
                public void message(String channel, String message) {
                    received(message);
                }
            });
            sub = s;
            // Lettuce subscribes again by itself after a reconnection.
            await(sub.async().subscribe(layout.channel()));
        }
        return true;
    }

    private void up() {
        if (!up) {
            up = true;
            downLogged = false;
            if (everUp) {
                log.info("Redis at {} answers again: changes made meanwhile published, shared state read back", where);
            } else {
                log.info("sharing keys, tokens, settings, counters and cooldowns through Redis at {} (instance {})",
                        where, origin);
            }
            everUp = true;
        }
    }

    private void down(Exception e) {
        fullReadDue = true;
        boolean was = up;
        up = false;
        if (was || !downLogged) {
            downLogged = true;
            log.warn("Redis at {} unreachable ({}): serving from local state; changes are kept and published when it "
                    + "answers", where, describe(e));
        } else {
            log.debug("Redis at {} still unreachable: {}", where, describe(e));
        }
    }

    private static String describe(Throwable e) {
        Throwable c = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        return c.getClass().getSimpleName() + (c.getMessage() == null ? "" : ": " + c.getMessage());
    }

    /**
     * Reads the epoch, creating it on an empty Redis. A new one means Redis has no state from us: publish all of
     * ours again (and our counter contributions), unless we only just joined an existing shared state.
     */
    private void checkEpoch() throws Exception {
        RedisClusterAsyncCommands<String, String> r = RedisLink.async(conn);
        String e = await(r.get(layout.epoch()));
        boolean created = false;
        if (e == null) {
            String fresh = newId();
            created = Boolean.TRUE.equals(await(r.setnx(layout.epoch(), fresh)));
            e = created ? fresh : await(r.get(layout.epoch()));
            if (e == null) {
                throw new IllegalStateException("the epoch vanished while being read");
            }
        }
        if (e.equals(epoch)) {
            return;
        }
        boolean first = epoch == null;
        epoch = e;
        fullReadDue = true;
        if (first && !created) {
            return; // joining: Redis's state wins, the full read publishes what only we hold
        }
        if (!first) {
            leases.reset(); // the counts of the limits went with the data
        }
        if (first) {
            counters.seedFromBaseline(); // the first instance brings the counts of its state file along
            log.info("Redis at {} holds no shared state yet: publishing this instance's", where);
        } else {
            log.warn("Redis at {} lost the shared state (restarted without persistence?): publishing this "
                    + "instance's state and counts again", where);
        }
        markEverything();
        contributionsDue = true;
    }

    private void markEverything() {
        long now = gw.now();
        for (ApiKey k : pool.keys()) {
            dirtyKeys.add(k.id());
            for (ModelRef m : pool.models()) {
                if (pool.cooldownUntil(k, m) > now || pool.exhaustedUntil(k, m) > now) {
                    dirtyRests.add(new Rest(k, m));
                }
            }
        }
        for (UserToken t : tokens.list()) {
            dirtyTokens.add(t.id());
        }
        sharedAffinity.clear();
        for (io.gemgate.core.affinity.AffinityMap.Entry e : gw.affinity().entries()) {
            dirtyAffinity.add(e.name());
        }
        settingsDirty.set(true);
    }

    // --------------------------------------------------------------------------------------------------- writing

    /** Writes and publishes every marked change; on failure they stay marked. */
    private void writeChanges() throws Exception {
        List<String> keys = drain(dirtyKeys);
        List<Rest> rests = drain(dirtyRests);
        List<String> toks = drain(dirtyTokens);
        List<String> held = drain(dirtyAffinity);
        boolean settings = settingsDirty.getAndSet(false);
        if (keys.isEmpty() && rests.isEmpty() && toks.isEmpty() && held.isEmpty() && !settings) {
            return;
        }
        try {
            RedisClusterAsyncCommands<String, String> r = RedisLink.async(conn);
            List<RedisFuture<?>> pending = new ArrayList<>();
            Map<String, RedisFuture<Long>> keyPuts = new HashMap<>();
            for (String fp : keys) {
                writeKey(r, fp, pending, keyPuts);
            }
            long now = gw.now();
            for (Rest x : rests) {
                writeRest(r, x, now, pending);
            }
            Map<String, RedisFuture<Long>> tokenPuts = new HashMap<>();
            for (String id : toks) {
                writeToken(r, id, now, pending, tokenPuts);
            }
            for (String name : held) {
                io.gemgate.core.affinity.AffinityMap.Entry e = gw.affinity().get(name);
                pending.add(e == null ? r.hdel(layout.affinity(), name)
                        : r.hset(layout.affinity(), name, RedisLayout.affinityValue(e)));
                pending.add(r.publish(layout.channel(), SharedEvent.affinity(origin, name).encode()));
            }
            RedisFuture<Long> settingsPut = null;
            if (settings) {
                settingsPut = putIfNewer(r, layout.settings(), null, RedisLayout.SETTINGS_FIELD, settingsChangedAt,
                        new String(SettingsCodec.encode(gw.settings()), StandardCharsets.UTF_8));
                pending.add(settingsPut);
                pending.add(r.publish(layout.channel(), SharedEvent.settings(origin).encode()));
            }
            awaitAll(pending);
            for (String name : held) {
                if (gw.affinity().get(name) == null) {
                    sharedAffinity.remove(name);
                } else {
                    sharedAffinity.add(name);
                }
            }
            // Refused writes: Redis holds a newer change (or a revocation), which applies here too.
            for (Map.Entry<String, RedisFuture<Long>> p : keyPuts.entrySet()) {
                if (p.getValue().get() == 0L) {
                    readKey(r, p.getKey());
                }
            }
            for (Map.Entry<String, RedisFuture<Long>> p : tokenPuts.entrySet()) {
                if (p.getValue().get() != 1L) {
                    readToken(r, p.getKey());
                }
            }
            if (settingsPut != null && settingsPut.get() == 0L) {
                readSettings(r);
            }
        } catch (Exception e) {
            dirtyKeys.addAll(keys);
            dirtyRests.addAll(rests);
            dirtyTokens.addAll(toks);
            dirtyAffinity.addAll(held);
            if (settings) {
                settingsDirty.set(true);
            }
            throw e;
        }
    }

    private RedisFuture<Long> putIfNewer(RedisClusterAsyncCommands<String, String> r, String hash, String tombstones,
                                         String field, long changedAt, String value) {
        String[] keys = tombstones == null ? new String[] {hash} : new String[] {hash, tombstones};
        return r.eval(RedisLayout.PUT_IF_NEWER, ScriptOutputType.INTEGER, keys, field, Long.toString(changedAt),
                RedisLayout.stamp(changedAt, value));
    }

    private void writeKey(RedisClusterAsyncCommands<String, String> r, String fp, List<RedisFuture<?>> pending,
                          Map<String, RedisFuture<Long>> puts) {
        ApiKey k = pool.find(fp);
        if (k == null) {
            return;
        }
        // One read of the key's state: the definition and marks written below come from the same change.
        io.gemgate.core.keys.KeyState now = k.state();
        KeySpec spec = now.spec();
        if (!configured.contains(fp)) {
            String stored = storedSecrets.computeIfAbsent(fp,
                    id -> cipher == null ? spec.secret() : cipher.encrypt(spec.secret()));
            // A proxy URL may hold the proxy's password: stored encrypted like the key when it can be.
            String proxy = cipher == null || spec.proxySpec() == null || !spec.proxySpec().hasCredentials()
                    ? spec.proxy() : cipher.encrypt(spec.proxy());
            pending.add(r.hset(layout.addedKeys(), fp, SharedCodec.encodeAddedKey(
                    new AddedKey(stored, spec.project(), spec.weight(), spec.label(), gw.now(), spec.tier(),
                            spec.groups(), proxy))));
        }
        RedisFuture<Long> put = putIfNewer(r, layout.keyStates(), null, fp, keyChangedAt.getOrDefault(fp, 0L),
                SharedCodec.encodeKeyState(new KeyState(now.isEnabled(), now.isRemoved(), now.invalidSinceMillis(),
                        now.invalidReason(), spec.project(), spec.weight(), spec.label(), spec.tier(), spec.groups())));
        puts.put(fp, put);
        pending.add(put);
        pending.add(r.publish(layout.channel(), SharedEvent.key(origin, fp).encode()));
    }

    private void writeRest(RedisClusterAsyncCommands<String, String> r, Rest x, long now, List<RedisFuture<?>> pending) {
        KeyRest rest = pool.rest(x.key(), x.model()); // cooldown and exhaustion from the same change
        long c = rest.cooldownUntilMillis();
        long e = rest.exhaustedUntilMillis();
        if (c <= now && e <= now) {
            return;
        }
        c = c > now ? c : 0;
        e = e > now ? e : 0;
        pending.add(r.eval(RedisLayout.RAISE_REST, ScriptOutputType.INTEGER, new String[] {layout.rests()},
                RedisLayout.restField(x.key().id(), x.model().name()), Long.toString(c), Long.toString(e)));
        pending.add(r.publish(layout.channel(),
                SharedEvent.rest(origin, x.key().id(), x.model().name(), c, e).encode()));
    }

    private void writeToken(RedisClusterAsyncCommands<String, String> r, String id, long now, List<RedisFuture<?>> pending,
                            Map<String, RedisFuture<Long>> puts) {
        Optional<UserToken> t = tokens.get(id);
        if (t.isPresent()) {
            String json = new String(TokenCodec.encodeRecord(t.get().toRecord()), StandardCharsets.UTF_8);
            RedisFuture<Long> put = putIfNewer(r, layout.tokens(), layout.revokedTokens(), id,
                    tokenChangedAt.getOrDefault(id, 0L), json);
            puts.put(id, put);
            pending.add(put);
        } else {
            pending.add(r.hset(layout.revokedTokens(), id, Long.toString(now)));
            pending.add(r.hdel(layout.tokens(), id));
        }
        pending.add(r.publish(layout.channel(), SharedEvent.token(origin, id).encode()));
    }

    // -------------------------------------------------------------------------------------------------- counters

    private void syncCounters() throws Exception {
        RedisClusterAsyncCommands<String, String> r = RedisLink.async(conn);
        if (contributionsDue) {
            for (CounterSync.Batch b : counters.contributions(COUNTER_BATCH)) {
                addCounters(r, b);
            }
            contributionsDue = false;
        }
        pushCounters(r);
        long today = pool.calendar().dayStart(gw.now());
        counters.apply(today, await(r.hgetall(layout.counters(today))));
    }

    private void pushCounters(RedisClusterAsyncCommands<String, String> r) throws Exception {
        for (CounterSync.Batch b : counters.deltas(COUNTER_BATCH)) {
            addCounters(r, b);
            b.confirm();
            requestsPushed += b.requests();
        }
    }

    private void addCounters(RedisClusterAsyncCommands<String, String> r, CounterSync.Batch b) throws Exception {
        String[] args = new String[2 + 2 * b.deltas().size()];
        args[0] = epoch;
        args[1] = Long.toString(b.day() + RedisLayout.COUNTERS_TTL_MILLIS);
        int i = 2;
        for (Map.Entry<String, Long> d : b.deltas().entrySet()) {
            args[i++] = d.getKey();
            args[i++] = Long.toString(d.getValue());
        }
        Long done = await(r.eval(RedisLayout.ADD_COUNTERS, ScriptOutputType.INTEGER,
                new String[] {layout.epoch(), layout.counters(b.day())}, args));
        if (done == null || done < 0) {
            throw new IllegalStateException("the Redis epoch changed: Redis lost its data");
        }
    }

    // ------------------------------------------------------------------------------------------------- instances

    /**
     * One gateway as its heartbeat describes it.
     *
     * @param id                the instance id (random per process, as in the log's "instance" line)
     * @param address           where it listens, {@code host:port}, as it knows itself
     * @param version           its version
     * @param startedAt         epoch millis of its start
     * @param lastSeen          epoch millis of its last heartbeat (its clock)
     * @param requestsPerSecond upstream calls per second between its last two heartbeats
     */
    public record Instance(String id, String address, String version, long startedAt, long lastSeen,
                           double requestsPerSecond) {
    }

    /** The gateways sharing this state, as the last heartbeat found them (this one included), by id. */
    public List<Instance> instances() {
        return instances;
    }

    /** Where Redis is, for people: host and port (or Sentinel master, cluster nodes), never the password. */
    public String where() {
        return where;
    }

    /** This process's instance id. */
    public String instanceId() {
        return origin;
    }

    /** Where this gateway listens, for the heartbeat ({@code host:port}). */
    public void address(String hostAndPort) {
        this.address = requireNonNull(hostAndPort, "hostAndPort");
    }

    /** Lease calls made so far, for the user tokens' limits and the keys' budgets (the sizing figures; tests). */
    public long leaseCalls() {
        return leases.calls();
    }

    private void heartbeat() throws Exception {
        long now = gw.now();
        double rps = lastBeatAt == 0 || now <= lastBeatAt ? 0
                : (requestsPushed - lastBeatRequests) * 1000.0 / (now - lastBeatAt);
        lastBeatAt = now;
        lastBeatRequests = requestsPushed;
        Instance me = new Instance(origin, address, version(), startedAt, now, Math.round(rps * 10) / 10.0);
        List<Object> all = await(RedisLink.async(conn).eval(RedisLayout.HEARTBEAT, ScriptOutputType.MULTI,
                new String[] {layout.instances()}, origin, RedisLayout.stamp(now, Json.MAPPER.writeValueAsString(me)),
                Long.toString(now), Long.toString(INSTANCE_GONE.toMillis()),
                Long.toString(INSTANCE_GONE.toMillis() * 3)));
        List<Instance> seen = new ArrayList<>();
        for (Object o : all) {
            try {
                seen.add(Json.MAPPER.readValue(RedisLayout.stampValue(String.valueOf(o)), Instance.class));
            } catch (com.fasterxml.jackson.core.JacksonException bad) {
                log.debug("instance description in Redis ignored: {}", bad.getOriginalMessage());
            }
        }
        seen.sort(java.util.Comparator.comparing(Instance::id));
        instances = List.copyOf(seen);
    }

    private static String version() {
        String v = RedisSharedState.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /** The lease thread's commands, on its own connection, made on first use (at most one try a second). */
    private RedisClusterAsyncCommands<String, String> leaseCommands() {
        StatefulConnection<String, String> c = leaseConn;
        if (c == null) {
            long now = System.nanoTime();
            if (leaseConnTried != 0 && now - leaseConnTried < 1_000_000_000L || closed) {
                return null;
            }
            leaseConnTried = now;
            try {
                c = client.connect();
            } catch (RuntimeException e) {
                return null;
            }
            leaseConn = c;
        }
        return RedisLink.async(c);
    }

    // ----------------------------------------------------------------------------------------------------- rests

    /** Applies the cooldowns and exhaustion in Redis, publishes the local ones Redis lacks, cleans ended ones. */
    private void syncRests() throws Exception {
        RedisClusterAsyncCommands<String, String> r = RedisLink.async(conn);
        Map<String, String> all = await(r.hgetall(layout.rests()));
        long now = gw.now();
        List<RedisFuture<?>> cleanups = new ArrayList<>();
        for (Map.Entry<String, String> e : all.entrySet()) {
            long[] v = RedisLayout.parseRest(e.getValue());
            int sep = e.getKey().indexOf(RedisLayout.SEP);
            if (v == null || sep < 0 || v[0] <= now && v[1] <= now) {
                cleanups.add(r.eval(RedisLayout.DELETE_IF_SAME, ScriptOutputType.INTEGER,
                        new String[] {layout.rests()}, e.getKey(), e.getValue()));
                continue;
            }
            pool.applyRest(e.getKey().substring(0, sep), e.getKey().substring(sep + 1), v[0], v[1]);
        }
        for (ApiKey k : pool.keys()) {
            for (ModelRef m : pool.models()) {
                long c = pool.cooldownUntil(k, m);
                long x = pool.exhaustedUntil(k, m);
                if (c <= now && x <= now) {
                    continue;
                }
                String stored = all.get(RedisLayout.restField(k.id(), m.name()));
                long[] v = stored == null ? null : RedisLayout.parseRest(stored);
                if (v == null || c > now && c > v[0] || x > now && x > v[1]) {
                    dirtyRests.add(new Rest(k, m));
                }
            }
        }
        awaitAll(cleanups);
        writeChanges();
    }

    // --------------------------------------------------------------------------------------------------- reading

    /**
     * Reads the whole shared state and applies it: Redis wins for what it holds, except changes made here and not
     * written yet; what only this instance holds is published (marked, then written).
     */
    private void readAll() throws Exception {
        RedisClusterAsyncCommands<String, String> r = RedisLink.async(conn);
        RedisFuture<Map<String, String>> addedF = r.hgetall(layout.addedKeys());
        RedisFuture<Map<String, String>> statesF = r.hgetall(layout.keyStates());
        RedisFuture<Map<String, String>> tokensF = r.hgetall(layout.tokens());
        RedisFuture<Map<String, String>> revokedF = r.hgetall(layout.revokedTokens());
        RedisFuture<String> settingsF = r.hget(layout.settings(), RedisLayout.SETTINGS_FIELD);
        RedisFuture<Map<String, String>> affinityF = r.hgetall(layout.affinity());
        Map<String, String> added = await(addedF);
        Map<String, String> states = await(statesF);
        Map<String, String> toks = await(tokensF);
        Map<String, String> revoked = await(revokedF);
        String settings = await(settingsF);

        Map<String, String> unknown = new HashMap<>();
        for (Map.Entry<String, String> e : added.entrySet()) {
            if (pool.find(e.getKey()) == null) {
                unknown.put(e.getKey(), e.getValue());
            }
        }
        addKeys(unknown);
        for (ApiKey k : pool.keys()) {
            String fp = k.id();
            if (!configured.contains(fp) && !added.containsKey(fp)) {
                dirtyKeys.add(fp); // added here and not known to Redis
            }
            String state = states.get(fp);
            if (state == null) {
                dirtyKeys.add(fp);
            } else if (!dirtyKeys.contains(fp)) {
                applyKeyState(fp, state);
            }
        }

        for (Map.Entry<String, String> e : toks.entrySet()) {
            if (!dirtyTokens.contains(e.getKey()) && !revoked.containsKey(e.getKey())) {
                applyToken(e.getKey(), e.getValue());
            }
        }
        for (UserToken t : tokens.list()) {
            if (revoked.containsKey(t.id())) {
                forgetToken(t.id());
            } else if (!toks.containsKey(t.id())) {
                dirtyTokens.add(t.id());
            }
        }

        if (settings == null) {
            settingsDirty.set(true);
        } else if (!settingsDirty.get()) {
            applySettings(settings);
        }
        readAffinity(r, await(affinityF));
        writeChanges();
    }

    /**
     * Applies the shared affinity map and deletes its expired fields. Of what this instance holds and Redis does not:
     * a name seen in Redis before was removed by another gateway and is forgotten here (writing it back would undo
     * that gateway's delete, and its message would then find the name marked and be ignored); a name never seen there
     * is published.
     */
    private void readAffinity(RedisClusterAsyncCommands<String, String> r, Map<String, String> shared) {
        long now = gw.now();
        List<String> expired = new ArrayList<>();
        Set<String> live = new HashSet<>();
        for (Map.Entry<String, String> e : shared.entrySet()) {
            io.gemgate.core.affinity.AffinityMap.Entry a = RedisLayout.parseAffinity(e.getKey(), e.getValue());
            if (a == null || a.expiresMillis() <= now) {
                expired.add(e.getKey());
            } else {
                live.add(a.name());
                if (!dirtyAffinity.contains(a.name())) {
                    gw.affinity().apply(a);
                }
            }
        }
        if (!expired.isEmpty()) {
            r.hdel(layout.affinity(), expired.toArray(new String[0]));
        }
        for (io.gemgate.core.affinity.AffinityMap.Entry e : gw.affinity().entries()) {
            String name = e.name();
            if (live.contains(name) || dirtyAffinity.contains(name)) {
                continue; // applied above, or written by the next write
            }
            if (sharedAffinity.contains(name)) {
                gw.affinity().applyRemove(name);
            } else {
                dirtyAffinity.add(name);
            }
        }
        sharedAffinity.clear(); // now what Redis holds (this thread alone changes the set)
        sharedAffinity.addAll(live);
    }

    /** Reads one resource's holder back (another gateway recorded or removed it) and applies it. */
    private void readAffinityOf(RedisClusterAsyncCommands<String, String> r, String name) throws Exception {
        if (dirtyAffinity.contains(name)) {
            return;
        }
        String v = await(r.hget(layout.affinity(), name));
        io.gemgate.core.affinity.AffinityMap.Entry e = v == null ? null : RedisLayout.parseAffinity(name, v);
        if (e == null) {
            gw.affinity().applyRemove(name);
            sharedAffinity.remove(name);
        } else {
            gw.affinity().apply(e);
            sharedAffinity.add(name);
        }
    }

    /** A message from another gateway, on Lettuce's I/O thread: handed to the shared-state thread. */
    private void received(String message) {
        SharedEvent ev = SharedEvent.decode(message);
        if (ev == null || ev.origin().equals(origin) || closed) {
            return;
        }
        try {
            thread.execute(() -> apply(ev));
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    private void apply(SharedEvent ev) {
        if (conn == null) {
            return;
        }
        try {
            RedisClusterAsyncCommands<String, String> r = RedisLink.async(conn);
            switch (ev.kind()) {
                case REST -> pool.applyRest(ev.id(), ev.model(), ev.cooldownUntil(), ev.exhaustedUntil());
                case KEY -> readKey(r, ev.id());
                case TOKEN -> readToken(r, ev.id());
                case SETTINGS -> readSettings(r);
                case AFFINITY -> readAffinityOf(r, ev.id());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            fullReadDue = true; // the next round reads everything back
            log.debug("could not apply {} from another gateway: {}", ev.kind(), describe(e));
        }
    }

    /** Reads one key's definition and state back and applies them, unless the key changed here since. */
    private void readKey(RedisClusterAsyncCommands<String, String> r, String fp) throws Exception {
        if (dirtyKeys.contains(fp)) {
            return; // ours is written next; the newer change wins there
        }
        RedisFuture<String> addedF = r.hget(layout.addedKeys(), fp);
        RedisFuture<String> stateF = r.hget(layout.keyStates(), fp);
        String added = await(addedF);
        String state = await(stateF);
        if (added != null && pool.find(fp) == null) {
            addKeys(Map.of(fp, added));
        }
        if (state != null) {
            applyKeyState(fp, state);
        }
    }

    /** Reads one token back and applies it (or its revocation), unless it changed here since. */
    private void readToken(RedisClusterAsyncCommands<String, String> r, String id) throws Exception {
        if (dirtyTokens.contains(id)) {
            return;
        }
        RedisFuture<String> jsonF = r.hget(layout.tokens(), id);
        RedisFuture<Boolean> revokedF = r.hexists(layout.revokedTokens(), id);
        String json = await(jsonF);
        if (Boolean.TRUE.equals(await(revokedF))) {
            forgetToken(id);
        } else if (json != null) {
            applyToken(id, json);
        }
    }

    private void readSettings(RedisClusterAsyncCommands<String, String> r) throws Exception {
        if (settingsDirty.get()) {
            return;
        }
        String stamped = await(r.hget(layout.settings(), RedisLayout.SETTINGS_FIELD));
        if (stamped != null) {
            applySettings(stamped);
        }
    }

    private void addKeys(Map<String, String> stored) {
        if (stored.isEmpty()) {
            return;
        }
        List<KeySpec> specs = new ArrayList<>();
        for (Map.Entry<String, String> e : stored.entrySet()) {
            String fp = e.getKey();
            try {
                AddedKey a = SharedCodec.decodeAddedKey(e.getValue());
                String secret;
                if (KeyCipher.isEncrypted(a.secret())) {
                    if (cipher == null) {
                        throw new KeyCipherException("stored encrypted and GEMGATE_MASTER_KEY is not set here");
                    }
                    secret = cipher.decrypt(a.secret());
                } else {
                    secret = a.secret();
                }
                if (!KeyMask.fingerprint(secret).equals(fp)) {
                    throw new IllegalArgumentException("the secret does not match its fingerprint");
                }
                String proxy = a.proxy();
                if (KeyCipher.isEncrypted(proxy)) {
                    if (cipher == null) {
                        throw new KeyCipherException("its proxy is stored encrypted and GEMGATE_MASTER_KEY is not set"
                                + " here");
                    }
                    proxy = cipher.decrypt(proxy);
                }
                specs.add(new KeySpec(secret, a.project(), a.weight(), a.label(), a.tier(), a.groups(), proxy));
                if (KeyCipher.isEncrypted(a.secret()) == (cipher != null)) {
                    storedSecrets.put(fp, a.secret());
                }
            } catch (KeyCipherException | IllegalArgumentException bad) {
                if (unreadable.add(fp)) {
                    log.error("key {} added by another gateway cannot be read ({}); it stays out of this pool", fp,
                            bad.getMessage());
                }
            }
        }
        if (!specs.isEmpty()) {
            int n = pool.applyAddedKeys(specs).added().size();
            if (n > 0) {
                log.info("{} key(s) added by another gateway", n);
            }
        }
    }

    private void applyKeyState(String fp, String stamped) {
        try {
            KeyState s = SharedCodec.decodeKeyState(RedisLayout.stampValue(stamped));
            pool.applyKeyState(fp, s.enabled(), s.removed(), s.invalidSince(), s.invalidReason(), s.weight(),
                    s.label(), s.project(), s.tier(), s.groups());
            keyChangedAt.put(fp, RedisLayout.stampTime(stamped));
        } catch (IllegalArgumentException | NullPointerException bad) {
            log.error("state of key {} in Redis ignored: {}", fp, bad.getMessage());
        }
    }

    private void applyToken(String id, String stamped) {
        try {
            TokenRecord record = TokenCodec.decodeRecord(
                    RedisLayout.stampValue(stamped).getBytes(StandardCharsets.UTF_8));
            if (!record.id().equals(id)) {
                throw new IllegalArgumentException("id: " + record.id() + " stored under " + id);
            }
            tokens.apply(record);
            tokens.markDirty(); // into the state file too: it must hold what this gateway serves
            tokenChangedAt.put(id, RedisLayout.stampTime(stamped));
        } catch (IllegalArgumentException bad) {
            log.error("user token {} in Redis ignored: {}", id, bad.getMessage());
        }
    }

    private void forgetToken(String id) {
        tokenChangedAt.remove(id);
        if (tokens.forget(id)) {
            tokens.markDirty();
            log.info("user token {} was revoked by another gateway: revoked here too", id);
        }
    }

    private void applySettings(String stamped) {
        try {
            RuntimeSettings s = SettingsCodec.decodeOverrides(defaults,
                    RedisLayout.stampValue(stamped).getBytes(StandardCharsets.UTF_8));
            settingsChangedAt = RedisLayout.stampTime(stamped);
            if (!s.equals(gw.settings())) {
                gw.settings(s); // on this thread: the settings listener does not send it back
                log.info("settings changed by another gateway");
            }
        } catch (SettingsException bad) {
            log.error("settings in Redis ignored: {}", bad.getMessage());
        }
    }

    // --------------------------------------------------------------------------------------------------- helpers

    private static <T> List<T> drain(Set<T> set) {
        List<T> out = new ArrayList<>();
        for (Iterator<T> it = set.iterator(); it.hasNext();) {
            out.add(it.next());
            it.remove();
        }
        return out;
    }

    private static <T> T await(RedisFuture<T> f) throws Exception {
        try {
            return f.get(COMMAND_TIMEOUT.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception c ? c : e;
        } catch (TimeoutException e) {
            f.cancel(true);
            throw e;
        }
    }

    private static void awaitAll(List<RedisFuture<?>> fs) throws Exception {
        Exception first = null;
        for (RedisFuture<?> f : fs) {
            try {
                await(f);
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private static String newId() {
        byte[] b = new byte[8];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /**
     * Stops sharing: one last write of the pending changes and counters (a few seconds at most), then the
     * connections. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        leases.close(); // gives back the shares it holds while Redis is still connected
        closed = true;
        pool.listener(null);
        tokens.removeListener(tokenListener);
        Future<?> last = thread.submit(() -> {
            if (up && conn != null) {
                try {
                    writeChanges();
                    pushCounters(RedisLink.async(conn));
                } catch (Exception e) {
                    log.warn("last write to Redis at {} failed: {}", where, describe(e));
                }
            }
        });
        try {
            last.get(COMMAND_TIMEOUT.toMillis() * 2, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("last write to Redis at {} did not finish: {}", where, describe(e));
        }
        thread.shutdownNow();
        try {
            thread.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (sub != null) {
            sub.close();
        }
        if (leaseConn != null) {
            leaseConn.close();
        }
        if (conn != null) {
            conn.close();
        }
        client.shutdown();
        resources.shutdown(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
    }

    /** Options of {@link RedisSharedState}. */
    public static final class Builder {
        private final RedisLink link;
        private GatewayContext gw;
        private String prefix = RedisLayout.DEFAULT_PREFIX;
        private List<KeySpec> configured = List.of();
        private KeyCipher cipher;
        private RuntimeSettings defaults;

        private Builder(RedisLink link) {
            this.link = link;
        }

        /** Starts the name of every Redis key and of the channel ({@code gemgate:}). */
        public Builder prefix(String p) {
            this.prefix = requireNonNull(p, "prefix");
            return this;
        }

        /**
         * A PEM file of CA certificates trusted for Redis's TLS instead of the JVM's ({@code
         * state.redisTrustCertificates}); null: the JVM's. Hostname verification stays on.
         */
        public Builder trustCertificates(java.nio.file.Path pemFile) {
            link.trustCertificates(pemFile);
            return this;
        }

        /** The keys of the keys file; every other key of the pool was added at run time and is shared whole. */
        public Builder configuredKeys(List<KeySpec> keys) {
            this.configured = List.copyOf(keys);
            return this;
        }

        /** Encrypts the secrets of keys added at run time in Redis (and reads them); null: stored as given. */
        public Builder cipher(KeyCipher c) {
            this.cipher = c;
            return this;
        }

        /** The settings of the configuration, under the ones read from Redis. */
        public Builder defaults(RuntimeSettings s) {
            this.defaults = requireNonNull(s, "defaults");
            return this;
        }

        /**
         * Connects, loads the shared state over the local one of {@code context} and starts sharing. Waits for the first round at most
         * {@link #START_WAIT}: a Redis that does not answer delays the start by that much, and no more.
         */
        public RedisSharedState start(GatewayContext context) {
            this.gw = requireNonNull(context, "context");
            RedisSharedState s = new RedisSharedState(this);
            s.start();
            return s;
        }
    }
}
