package io.gemgate.core.state;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.KeyHealthHistory;
import io.gemgate.core.keys.KeyMask;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.KeySpec;
import io.gemgate.core.secrets.KeyCipher;
import io.gemgate.core.secrets.KeyCipherException;
import io.gemgate.core.settings.RuntimeSettings;
import io.gemgate.core.settings.SettingsCodec;
import io.gemgate.core.settings.SettingsException;
import io.gemgate.core.state.StateSnapshot.AddedKey;
import io.gemgate.core.state.StateSnapshot.KeyEdit;
import io.gemgate.core.state.StateSnapshot.KeyRecord;
import io.gemgate.core.tokens.TokenRecord;
import io.gemgate.core.tokens.TokenRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Keeps the gateway's state on disk: restores it at start, writes it on its own thread at most {@code interval}
 * after a change, and once more at shutdown. A kill between writes loses at most one interval of counters; cooldowns,
 * exhaustion and invalid marks are absolute times and survive as they were last written.
 *
 * <p>Besides the key pool's state it keeps, when given them ({@link #builder}):
 * <ul>
 *   <li>the keys added at run time, told apart from the {@linkplain Builder#configuredKeys configured} ones, with
 *       their secret encrypted by the {@linkplain Builder#cipher cipher} when there is one (no key in clear in the
 *       data directory then), else as given; at restore they are added to the pool before its counters are
 *       restored, so that their counters come back too. A stored key that cannot be decrypted (no or another master
 *       key) is logged and carried over unchanged, never dropped;</li>
 *   <li>project, weight and label of configured keys when they differ from the keys file (changed through the admin
 *       API); they win over the file at restore;</li>
 *   <li>soft-removed marks;</li>
 *   <li>the user tokens (hashes and counters, never secrets);</li>
 *   <li>the settings that differ from their defaults, applied on top of the defaults of the next start;</li>
 *   <li>the keys' daily health history ({@link KeyHealthHistory}).</li>
 * </ul>
 *
 * <p>Thread-safety: {@link #restore()} runs once, before {@link #start()}; snapshots are then taken and written on
 * the single writer thread.
 */
public final class StatePersister implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(StatePersister.class);

    private final KeyPool pool;
    private final StateFile file;
    private final Duration interval;
    private final TokenRegistry tokens;
    private final RuntimeSettings defaultSettings;
    private final Supplier<RuntimeSettings> currentSettings;
    private final Consumer<RuntimeSettings> applySettings;
    /** Fingerprint → spec of the keys the keys file lists; null: every key counts as configured. */
    private final Map<String, KeySpec> configured;
    private final KeyCipher cipher;
    private final KeyHealthHistory health;
    /** Which key holds which resource (README, key affinity); null: not persisted. */
    private final io.gemgate.core.affinity.AffinityMap affinity;
    private final ScheduledExecutorService writer;
    /** Fingerprint → the secret as stored, so that a key is encrypted once, not at every write. */
    private final Map<String, String> storedSecrets = new ConcurrentHashMap<>();
    /** Fingerprint → when a key added at run time was first stored. */
    private final Map<String, Long> addedAt = new ConcurrentHashMap<>();
    /** Stored keys that could not be read back: written again as they were, so that nothing is lost. */
    private volatile List<AddedKey> unreadable = List.of();
    private volatile RuntimeSettings lastSettings;
    private boolean closed;

    /** Persists the key pool's state only. */
    public StatePersister(KeyPool pool, StateFile file, Duration interval) {
        this(builder(pool, file, interval));
    }

    private StatePersister(Builder b) {
        this.pool = b.pool;
        this.file = b.file;
        this.interval = b.interval;
        this.tokens = b.tokens;
        this.defaultSettings = b.defaultSettings;
        this.currentSettings = b.currentSettings;
        this.applySettings = b.applySettings;
        this.configured = b.configured;
        this.cipher = b.cipher;
        this.health = b.health;
        this.affinity = b.affinity;
        this.lastSettings = currentSettings == null ? null : currentSettings.get();
        this.writer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "gemgate-state-writer");
            t.setDaemon(true);
            return t;
        });
    }

    /** A persister of the key pool's state, to which the builder adds the other parts. */
    public static Builder builder(KeyPool pool, StateFile file, Duration interval) {
        return new Builder(pool, file, interval);
    }

    // ------------------------------------------------------------------------------------------------------ restore

    /**
     * Loads the state file (falling back to its backup when corrupt) into the pool, the tokens and the settings: keys
     * added at run time first, then edits of configured keys, counters and marks, removed marks, tokens, settings.
     */
    public StateFile.LoadResult restore() {
        StateFile.LoadResult r = file.load();
        StateSnapshot s = r.snapshot();
        int added = restoreAddedKeys(s.addedKeys());
        int edited = restoreEdits(s.keyEdits());
        int matched = PoolSnapshot.restore(pool, s);
        int removed = 0;
        for (KeyRecord k : s.keys()) {
            if (k.removed() && pool.setRemoved(k.fingerprint(), true)) {
                removed++;
            }
        }
        if (health != null) {
            health.restore(s.health().stream().filter(h -> pool.find(h.fingerprint()) != null)
                    .map(StatePersister::history).toList());
        }
        int restoredTokens = restoreTokens(s.tokens());
        if (affinity != null) {
            for (StateSnapshot.AffinityRecord a : s.affinity()) {
                if (pool.find(a.fingerprint()) != null) {
                    affinity.apply(new io.gemgate.core.affinity.AffinityMap.Entry(a.name(), a.fingerprint(),
                            a.project(), a.createdMillis(), a.expiresMillis(), a.owner(), a.meta()));
                }
            }
        }
        boolean settings = restoreSettings(s.settings());
        log.info("state restored from {} ({}): {} of {} keys known, {} added at run time, {} edited, {} removed, "
                        + "{} user tokens, {}", file.primaryPath(), r.source(), matched, pool.keys().size(), added,
                edited, removed, restoredTokens, settings ? "settings changed at run time" : "default settings");
        return r;
    }

    private int restoreAddedKeys(List<AddedKey> stored) {
        List<KeySpec> specs = new ArrayList<>();
        List<AddedKey> kept = new ArrayList<>();
        for (AddedKey a : stored) {
            if (configured != null && configured.containsKey(a.fingerprint())) {
                continue; // the keys file lists it now: the file's definition wins
            }
            String secret;
            String proxy;
            try {
                secret = readSecret(a.secret());
                proxy = readSecret(a.proxy());
            } catch (KeyCipherException e) {
                log.error("key {} added at run time cannot be read back ({}); it stays stored but out of the pool: "
                        + "{}", a.fingerprint(), e.getMessage(), cipher == null
                        ? "set GEMGATE_MASTER_KEY to the master key it was stored with"
                        : "is GEMGATE_MASTER_KEY the one it was stored with?");
                kept.add(a);
                continue;
            }
            if (!a.fingerprint().isEmpty() && !StateSnapshot.fingerprint(secret).equals(a.fingerprint())) {
                log.error("key {} added at run time does not match its fingerprint; it stays stored but out of the "
                        + "pool", a.fingerprint());
                kept.add(a);
                continue;
            }
            KeySpec spec;
            try {
                spec = new KeySpec(secret, a.project(), a.weight(), a.label(), a.tier(), a.groups(), proxy);
            } catch (IllegalArgumentException e) {
                log.error("key {} added at run time is not valid ({}); it stays stored but out of the pool",
                        KeyMask.mask(secret), e.getMessage());
                kept.add(a);
                continue;
            }
            String fp = StateSnapshot.fingerprint(secret);
            addedAt.put(fp, a.addedAtMillis());
            if (KeyCipher.isEncrypted(a.secret()) == (cipher != null)) {
                storedSecrets.put(fp, a.secret()); // already stored the way it would be now
            }
            specs.add(spec);
        }
        unreadable = List.copyOf(kept);
        return specs.isEmpty() ? 0 : pool.addKeys(specs).added().size();
    }

    private String readSecret(String stored) throws KeyCipherException {
        if (!KeyCipher.isEncrypted(stored)) {
            return stored;
        }
        if (cipher == null) {
            throw new KeyCipherException("stored encrypted and no master key is set");
        }
        return cipher.decrypt(stored);
    }

    private int restoreEdits(List<KeyEdit> edits) {
        int n = 0;
        for (KeyEdit e : edits) {
            try {
                if (pool.update(e.fingerprint(), e.weight(), e.label(), e.project(), e.tier(), e.groups())) {
                    n++;
                }
            } catch (IllegalArgumentException bad) {
                log.error("stored edit of key {} ignored: {}", e.fingerprint(), bad.getMessage());
            }
        }
        return n;
    }

    private int restoreTokens(List<TokenRecord> records) {
        if (tokens == null || records.isEmpty()) {
            return 0;
        }
        Map<String, TokenRecord> byId = new LinkedHashMap<>();
        Set<String> hashes = new HashSet<>();
        for (TokenRecord t : records) {
            if (byId.containsKey(t.id()) || !hashes.add(t.secretHash())) {
                log.error("stored user token {} ignored: its id or secret hash appears twice", t.id());
                continue;
            }
            byId.put(t.id(), t);
        }
        tokens.restore(byId.values());
        return byId.size();
    }

    private boolean restoreSettings(String overrides) {
        if (applySettings == null || overrides.isEmpty()) {
            return false;
        }
        try {
            RuntimeSettings s = SettingsCodec.decodeOverrides(defaultSettings,
                    overrides.getBytes(StandardCharsets.UTF_8));
            applySettings.accept(s);
            lastSettings = s;
            return !s.equals(defaultSettings);
        } catch (SettingsException e) {
            log.error("stored settings ignored, the defaults apply: {}", e.getMessage());
            return false;
        }
    }

    // -------------------------------------------------------------------------------------------------------- write

    /** Starts the periodic writer. */
    public void start() {
        long ms = Math.max(50, interval.toMillis());
        writer.scheduleWithFixedDelay(this::flushIfDirty, ms, ms, TimeUnit.MILLISECONDS);
    }

    private void flushIfDirty() {
        try {
            if (takeDirty()) {
                write();
            }
        } catch (RuntimeException e) {
            markDirty(); // try again next round
            log.error("could not write the state file {}: {}", file.primaryPath(), e.toString());
        }
    }

    private boolean takeDirty() {
        boolean dirty = pool.takeDirty();
        if (tokens != null) {
            dirty |= tokens.takeDirty();
        }
        if (health != null) {
            dirty |= health.takeDirty();
        }
        if (affinity != null) {
            dirty |= affinity.takeDirty();
        }
        if (currentSettings != null && !currentSettings.get().equals(lastSettings)) {
            dirty = true;
        }
        return dirty;
    }

    private void markDirty() {
        pool.markDirty();
        if (tokens != null) {
            tokens.markDirty();
        }
    }

    private void write() {
        RuntimeSettings settings = currentSettings == null ? null : currentSettings.get();
        file.write(snapshot(settings));
        lastSettings = settings;
    }

    /**
     * The whole state as it is now: what the next write stores. Encrypts keys added at run time on first use (the
     * writer thread calls this; it may take a moment with a master key).
     */
    public StateSnapshot snapshot() {
        return snapshot(currentSettings == null ? null : currentSettings.get());
    }

    private StateSnapshot snapshot(RuntimeSettings settings) {
        StateSnapshot base = PoolSnapshot.take(pool);
        Map<String, ApiKey> live = new HashMap<>();
        List<AddedKey> added = new ArrayList<>();
        List<KeyEdit> edits = new ArrayList<>();
        for (ApiKey k : pool.keys()) {
            live.put(k.id(), k);
            KeySpec spec = k.spec();
            KeySpec listed = configured == null ? spec : configured.get(k.id());
            if (listed == null) {
                String stored = storedSecrets.computeIfAbsent(k.id(),
                        id -> cipher == null ? spec.secret() : cipher.encrypt(spec.secret()));
                long at = addedAt.computeIfAbsent(k.id(), id -> base.savedAtMillis());
                // A proxy URL may hold the proxy's password: stored encrypted like the key when it can be.
                String proxy = cipher == null || spec.proxySpec() == null || !spec.proxySpec().hasCredentials()
                        ? spec.proxy() : cipher.encrypt(spec.proxy());
                added.add(new AddedKey(k.id(), stored, spec.project(), spec.weight(), spec.label(), at, spec.tier(),
                        spec.groups(), proxy));
            } else if (!listed.project().equals(spec.project()) || listed.weight() != spec.weight()
                    || !listed.label().equals(spec.label()) || listed.tier() != spec.tier()
                    || !listed.groups().equals(spec.groups())) {
                edits.add(new KeyEdit(k.id(), spec.project(), spec.weight(), spec.label(), spec.tier(),
                        spec.groups()));
            }
        }
        for (AddedKey a : unreadable) {
            if (!live.containsKey(a.fingerprint())) {
                added.add(a);
            }
        }
        List<KeyRecord> keys = new ArrayList<>(base.keys().size());
        for (KeyRecord r : base.keys()) {
            ApiKey k = live.get(r.fingerprint());
            keys.add(k != null && k.isRemoved() ? r.withRemoved(true) : r);
        }
        List<TokenRecord> tokenRecords = tokens == null ? List.of() : tokens.snapshot();
        String overrides = "";
        if (settings != null) {
            String json = new String(SettingsCodec.encodeOverrides(settings, defaultSettings), StandardCharsets.UTF_8);
            overrides = json.equals("{}") ? "" : json;
        }
        List<StateSnapshot.AffinityRecord> resources = new ArrayList<>();
        if (affinity != null) {
            for (io.gemgate.core.affinity.AffinityMap.Entry e : affinity.entries()) {
                resources.add(new StateSnapshot.AffinityRecord(e.name(), e.keyId(), e.project(), e.createdMillis(),
                        e.expiresMillis(), e.owner(), e.meta()));
            }
        }
        return new StateSnapshot(StateSnapshot.CURRENT_VERSION, base.savedAtMillis(), keys, added, edits,
                tokenRecords, overrides, health == null ? List.of()
                : health.snapshot().stream().map(StatePersister::stored).toList(), resources);
    }

    /** A key's health history as the state file keeps it. */
    private static StateSnapshot.KeyHealth stored(KeyHealthHistory.KeyHistory h) {
        List<StateSnapshot.HealthDay> days = new ArrayList<>(h.days().size());
        for (io.gemgate.core.keys.HealthDay d : h.days()) {
            days.add(new StateSnapshot.HealthDay(d.dayStartMillis(), d.ok(), d.failed(), d.checks(), d.checksFailed()));
        }
        return new StateSnapshot.KeyHealth(h.fingerprint(), h.streakFromMillis(), h.removedReason(), days);
    }

    /** A key's health history read from the state file. */
    private static KeyHealthHistory.KeyHistory history(StateSnapshot.KeyHealth h) {
        List<io.gemgate.core.keys.HealthDay> days = new ArrayList<>(h.days().size());
        for (StateSnapshot.HealthDay d : h.days()) {
            days.add(new io.gemgate.core.keys.HealthDay(d.dayStartMillis(), d.ok(), d.failed(), d.checks(),
                    d.checksFailed()));
        }
        return new KeyHealthHistory.KeyHistory(h.fingerprint(), h.streakFromMillis(), h.removedReason(), days);
    }

    /**
     * Writes the state now, on the writer thread (written, synced and renamed: see {@link StateFile}), without
     * waiting: the future completes when it is on disk, exceptionally when the write failed (the change then stays
     * marked for the next round). For answers that must not be given before their change is durable (admin writes).
     * A persister already closed completes at once: its close wrote the state.
     */
    public java.util.concurrent.CompletableFuture<Void> flushAsync() {
        java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
        try {
            writer.execute(() -> {
                try {
                    takeDirty();
                    write();
                    done.complete(null);
                } catch (RuntimeException e) {
                    markDirty();
                    log.error("could not write the state file {}: {}", file.primaryPath(), e.toString());
                    done.completeExceptionally(e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            done.complete(null);
        }
        return done;
    }

    /** Writes the state now, on the writer thread, and waits for it. */
    public void flushNow() {
        try {
            writer.submit(this::write).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.error("could not write the state file {}: {}", file.primaryPath(), e.toString());
        }
    }

    /** Stops the writer after a last write. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        flushNow();
        writer.shutdownNow();
    }

    /** Says what to persist besides the key pool's state. */
    public static final class Builder {
        private final KeyPool pool;
        private final StateFile file;
        private final Duration interval;
        private TokenRegistry tokens;
        private RuntimeSettings defaultSettings;
        private Supplier<RuntimeSettings> currentSettings;
        private Consumer<RuntimeSettings> applySettings;
        private Map<String, KeySpec> configured;
        private KeyCipher cipher;
        private KeyHealthHistory health;
        private io.gemgate.core.affinity.AffinityMap affinity;

        private Builder(KeyPool pool, StateFile file, Duration interval) {
            this.pool = requireNonNull(pool, "pool");
            this.file = requireNonNull(file, "file");
            this.interval = requireNonNull(interval, "interval");
        }

        /** Persist the user tokens (hashes and counters). */
        public Builder tokens(TokenRegistry registry) {
            this.tokens = requireNonNull(registry, "registry");
            return this;
        }

        /**
         * Persist the settings that differ from {@code defaults}.
         *
         * @param current where the settings in force are read at each write
         * @param apply   receives the restored settings at {@link #restore()}
         */
        public Builder settings(RuntimeSettings defaults, Supplier<RuntimeSettings> current,
                                Consumer<RuntimeSettings> apply) {
            this.defaultSettings = requireNonNull(defaults, "defaults");
            this.currentSettings = requireNonNull(current, "current");
            this.applySettings = requireNonNull(apply, "apply");
            return this;
        }

        /**
         * The keys of the keys file: every other key of the pool was added at run time and is stored with its
         * secret; a configured key whose project, weight or label differs from these is stored as an edit.
         */
        public Builder configuredKeys(List<KeySpec> keys) {
            Map<String, KeySpec> m = new HashMap<>();
            for (KeySpec k : keys) {
                m.putIfAbsent(StateSnapshot.fingerprint(k.secret()), k);
            }
            this.configured = m;
            return this;
        }

        /** Encrypts the stored secrets of keys added at run time; null: stored as given. */
        public Builder cipher(KeyCipher keyCipher) {
            this.cipher = keyCipher;
            return this;
        }

        /** Persist which key holds which file, cache, batch, store and upload session. */
        public Builder affinity(io.gemgate.core.affinity.AffinityMap map) {
            this.affinity = requireNonNull(map, "map");
            return this;
        }

        /** Persist the keys' daily health history and clean-up marks. */
        public Builder health(KeyHealthHistory history) {
            this.health = requireNonNull(history, "history");
            return this;
        }

        public StatePersister build() {
            if (currentSettings != null && defaultSettings == null) {
                throw new IllegalStateException("settings: defaults missing");
            }
            return new StatePersister(this);
        }
    }
}
