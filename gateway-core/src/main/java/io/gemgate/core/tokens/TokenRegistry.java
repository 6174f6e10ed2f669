package io.gemgate.core.tokens;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongSupplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The user tokens ({@code sk-} + 48 letters and digits): created, listed, disabled and revoked by the admin API,
 * authenticated on every request.
 *
 * <h2>Secrets</h2>
 * A token's secret is generated here from {@link SecureRandom} and returned once, by {@link #create}. The registry
 * keeps only its SHA-256. A plain (unsalted, unstretched) hash is enough because the secret is random with 285 bits of
 * entropy: there is no dictionary to attack, and the hash must be cheap because it runs on every request.
 *
 * <h2>Hot path</h2>
 * {@link #authenticate} rejects anything that is not 51 ASCII characters starting with {@code sk-} without hashing
 * (the format is public, so that reveals nothing), hashes the rest once with a thread-local {@link MessageDigest}
 * into a thread-local probe key, and looks it up in a {@link ConcurrentHashMap} keyed by digest whose
 * {@code equals} is {@link MessageDigest#isEqual} (constant time). It takes no lock and allocates nothing.
 *
 * <h2>Threading and changes</h2>
 * Thread-safe. Reads are lock-free; changes are serialised by one lock and replace {@link UserToken} instances whole
 * (copy on write). A request that authenticated before a change finishes with the instance it got: revoking or
 * disabling affects requests authenticated after the call returns. Every change raises a {@link TokenEvent} to the
 * {@link Listener}s, in order, and sets the {@link #takeDirty() dirty} flag, as does every admitted request (usage).
 * {@link #restore}, {@link #apply} and {@link #forget} load changes that come from the store and raise no event.
 */
public final class TokenRegistry {
    /** Prefix of every secret. */
    public static final String SECRET_PREFIX = "sk-";
    /** Random characters after {@link #SECRET_PREFIX}. */
    public static final int SECRET_RANDOM_CHARS = 48;
    /** Length of a whole secret. */
    public static final int SECRET_LENGTH = SECRET_PREFIX.length() + SECRET_RANDOM_CHARS;

    private static final Logger log = LogManager.getLogger(TokenRegistry.class);
    private static final char[] ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".toCharArray();
    private static final char[] LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789".toCharArray();
    private static final ThreadLocal<Hasher> HASHER = ThreadLocal.withInitial(Hasher::new);
    private static final Comparator<UserToken> BY_CREATION =
            Comparator.comparingLong(UserToken::createdAtMillis).thenComparing(UserToken::id);

    private final LongSupplier clock;
    private final SecureRandom random;
    private final DirtyFlag dirty = new DirtyFlag();
    private final Object lock = new Object();
    private final ConcurrentHashMap<String, UserToken> byId = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<DigestKey, UserToken> byDigest = new ConcurrentHashMap<>();
    private final CopyOnWriteArrayList<Listener> listeners = new CopyOnWriteArrayList<>();

    /** Receives every change to the token definitions. */
    @FunctionalInterface
    public interface Listener {
        /**
         * Called on the changing thread while the registry's write lock is held, so events arrive in the order of
         * the changes. Keep it short and non-blocking (mark something dirty, hand off to an executor). An exception
         * is logged and does not undo the change.
         */
        void tokenChanged(TokenEvent event);
    }

    /**
     * What {@link #create} returns: the only time the secret exists outside the client.
     *
     * @param id     the new token's id
     * @param name   its name
     * @param secret {@code sk-} followed by 48 letters and digits; show it to the user once, never log it
     * @param token  the registered token
     */
    public record Created(String id, String name, String secret, UserToken token) {
        /** Leaves the secret out. */
        @Override
        public String toString() {
            return "Created[id=" + id + ", name=" + name + ", secret=(hidden)]";
        }
    }

    /** A registry on the system clock and a fresh {@link SecureRandom}. */
    public TokenRegistry() {
        this(System::currentTimeMillis, new SecureRandom());
    }

    /**
     * @param clock  epoch millis, for {@link UserToken#createdAtMillis()}
     * @param random source of ids and secrets
     */
    public TokenRegistry(LongSupplier clock, SecureRandom random) {
        this.clock = requireNonNull(clock, "clock");
        this.random = requireNonNull(random, "random");
    }

    // ---------------------------------------------------------------------------------------------------- hot path

    /**
     * Finds the token whose secret is {@code presented}, in constant time in the secret's content, without locking
     * or allocating. Disabled and expired tokens are returned too: {@link TokenLimiter#admit} refuses them with 401
     * and a reason.
     *
     * @param presented what the client sent; may be null
     * @return the token, or {@code null} when none matches
     */
    public UserToken authenticate(CharSequence presented) {
        if (presented == null || presented.length() != SECRET_LENGTH || presented.charAt(0) != 's'
                || presented.charAt(1) != 'k' || presented.charAt(2) != '-') {
            return null;
        }
        Hasher h = HASHER.get();
        if (!h.digest(presented)) {
            return null;
        }
        return byDigest.get(h.probe);
    }

    // ------------------------------------------------------------------------------------------------------- admin

    /**
     * Creates a token with a new random id and secret.
     *
     * @param name   1 to {@value UserToken#MAX_NAME} characters, no control characters; need not be unique
     * @param limits its limits
     * @return the id, the name and the secret, which is not kept and cannot be shown again
     * @throws IllegalArgumentException if the name is invalid
     */
    public Created create(String name, TokenLimits limits) {
        UserToken.checkName(name);
        requireNonNull(limits, "limits");
        synchronized (lock) {
            String id;
            do {
                id = UserToken.ID_PREFIX + randomChars(LOWER_ALNUM, UserToken.ID_RANDOM_CHARS);
            } while (byId.containsKey(id));
            String secret;
            byte[] digest;
            do {
                secret = SECRET_PREFIX + randomChars(ALNUM, SECRET_RANDOM_CHARS);
                digest = sha256(secret);
            } while (byDigest.containsKey(DigestKey.of(digest.clone())));
            UserToken t = new UserToken(id, name, clock.getAsLong(), HexFormat.of().formatHex(digest),
                    DigestKey.of(digest), limits, true, new UsageCounters(dirty));
            put(t);
            changed(TokenEvent.Kind.CREATED, t);
            return new Created(id, name, secret, t);
        }
    }

    /**
     * Deletes a token for good; its secret stops working at once.
     *
     * @return false when no token has this id
     */
    public boolean revoke(String id) {
        requireNonNull(id, "id");
        synchronized (lock) {
            UserToken t = remove(id);
            if (t == null) {
                return false;
            }
            dirty.mark();
            fire(new TokenEvent(TokenEvent.Kind.REVOKED, id, null));
            return true;
        }
    }

    /**
     * Enables or disables a token. Disabled tokens are refused with 401 and keep their counters.
     *
     * @return the token as it is now, or empty when no token has this id
     */
    public Optional<UserToken> setEnabled(String id, boolean enabled) {
        requireNonNull(id, "id");
        synchronized (lock) {
            UserToken t = byId.get(id);
            if (t == null) {
                return Optional.empty();
            }
            return Optional.of(t.isEnabled() == enabled ? t : replace(t.withEnabled(enabled)));
        }
    }

    /**
     * Gives a token new limits, effective for its next request. Counters are kept.
     *
     * @return the token as it is now, or empty when no token has this id
     */
    public Optional<UserToken> setLimits(String id, TokenLimits limits) {
        requireNonNull(id, "id");
        requireNonNull(limits, "limits");
        synchronized (lock) {
            UserToken t = byId.get(id);
            if (t == null) {
                return Optional.empty();
            }
            return Optional.of(t.limits().equals(limits) ? t : replace(t.withLimits(limits)));
        }
    }

    /**
     * Renames a token.
     *
     * @return the token as it is now, or empty when no token has this id
     * @throws IllegalArgumentException if the name is invalid
     */
    public Optional<UserToken> rename(String id, String name) {
        requireNonNull(id, "id");
        UserToken.checkName(name);
        synchronized (lock) {
            UserToken t = byId.get(id);
            if (t == null) {
                return Optional.empty();
            }
            return Optional.of(t.name().equals(name) ? t : replace(t.withName(name)));
        }
    }

    /** The token with this id, if any. */
    public Optional<UserToken> get(String id) {
        return Optional.ofNullable(byId.get(requireNonNull(id, "id")));
    }

    /** Every token, oldest first (ties by id). */
    public List<UserToken> list() {
        List<UserToken> out = new ArrayList<>(byId.values());
        out.sort(BY_CREATION);
        return out;
    }

    /** How many tokens exist. */
    public int size() {
        return byId.size();
    }

    public void addListener(Listener listener) {
        listeners.add(requireNonNull(listener, "listener"));
    }

    public void removeListener(Listener listener) {
        listeners.remove(listener);
    }

    // ------------------------------------------------------------------------------------------------- persistence

    /** True (once) when a token or its usage changed since the last call: the persister writes only then. */
    public boolean takeDirty() {
        return dirty.take();
    }

    /** Marks the state changed, so that the next flush writes it (after a failed write, say). */
    public void markDirty() {
        dirty.mark();
    }

    /** Every token with its counters, oldest first: what a state file stores. */
    public List<TokenRecord> snapshot() {
        List<UserToken> tokens = list();
        List<TokenRecord> out = new ArrayList<>(tokens.size());
        for (UserToken t : tokens) {
            out.add(t.toRecord());
        }
        return out;
    }

    /**
     * Replaces every token with {@code records} (at start-up, from the state file or the shared store). Counters are
     * restored as recorded; those of an earlier quota day are cleared by the first request. Raises no event.
     *
     * @throws IllegalArgumentException if two records share an id or a secret hash; nothing is changed then
     */
    public void restore(Collection<TokenRecord> records) {
        requireNonNull(records, "records");
        Map<String, UserToken> ids = new HashMap<>();
        Map<DigestKey, UserToken> digests = new HashMap<>();
        for (TokenRecord r : records) {
            UsageCounters usage = new UsageCounters(dirty);
            usage.restore(r);
            UserToken t = fromRecord(r, usage);
            if (ids.putIfAbsent(t.id(), t) != null) {
                throw new IllegalArgumentException("records: id " + t.id() + " appears twice");
            }
            if (digests.putIfAbsent(t.digest, t) != null) {
                throw new IllegalArgumentException("records: token " + t.id() + " has the secret hash of another");
            }
        }
        synchronized (lock) {
            byId.clear();
            byDigest.clear();
            byId.putAll(ids);
            byDigest.putAll(digests);
        }
    }

    /**
     * Inserts or updates one token from the store (another gateway created or changed it). An existing token takes
     * the record's name, limits and enabled flag and keeps its local counters; a new one starts from the record's
     * counters. Raises no event.
     *
     * @throws IllegalArgumentException if another token already has this secret hash
     */
    public void apply(TokenRecord record) {
        requireNonNull(record, "record");
        synchronized (lock) {
            UserToken old = byId.get(record.id());
            UsageCounters usage = old != null ? old.usage : new UsageCounters(dirty);
            UserToken t = fromRecord(record, usage);
            UserToken holder = byDigest.get(t.digest);
            if (holder != null && !holder.id().equals(t.id())) {
                throw new IllegalArgumentException("record: token " + t.id() + " has the secret hash of "
                        + holder.id());
            }
            if (old == null) {
                usage.restore(record);
            } else if (!old.digest.equals(t.digest)) {
                byDigest.remove(old.digest);
            }
            put(t); // same digest: replaced in place, never absent for a concurrent authenticate
        }
    }

    /**
     * Removes one token because the store says it was revoked elsewhere. Raises no event.
     *
     * @return false when no token has this id
     */
    public boolean forget(String id) {
        requireNonNull(id, "id");
        synchronized (lock) {
            return remove(id) != null;
        }
    }

    /**
     * The SHA-256 of {@code secret}'s UTF-8 bytes as 64 lowercase hex characters: {@link UserToken#secretHash()} of
     * the token with that secret.
     */
    public static String sha256Hex(CharSequence secret) {
        return HexFormat.of().formatHex(sha256(secret));
    }

    // ------------------------------------------------------------------------------------------------------ private

    private UserToken fromRecord(TokenRecord r, UsageCounters usage) {
        byte[] digest = HexFormat.of().parseHex(r.secretHash());
        return new UserToken(r.id(), r.name(), r.createdAtMillis(), r.secretHash(), DigestKey.of(digest), r.limits(),
                r.enabled(), usage);
    }

    private UserToken replace(UserToken t) {
        put(t);
        changed(TokenEvent.Kind.UPDATED, t);
        return t;
    }

    /** Caller holds the lock. The digest map is written first: a token is findable by id only once it works. */
    private void put(UserToken t) {
        byDigest.put(t.digest, t);
        byId.put(t.id(), t);
    }

    /** Caller holds the lock. */
    private UserToken remove(String id) {
        UserToken t = byId.remove(id);
        if (t != null) {
            byDigest.remove(t.digest);
        }
        return t;
    }

    private void changed(TokenEvent.Kind kind, UserToken t) {
        dirty.mark();
        fire(new TokenEvent(kind, t.id(), t.toRecord()));
    }

    private void fire(TokenEvent event) {
        for (Listener l : listeners) {
            try {
                l.tokenChanged(event);
            } catch (RuntimeException e) {
                log.error("token listener {} failed on {} of {}", l, event.kind(), event.id(), e);
            }
        }
    }

    private String randomChars(char[] alphabet, int n) {
        char[] out = new char[n];
        for (int i = 0; i < n; i++) {
            out[i] = alphabet[random.nextInt(alphabet.length)]; // nextInt(bound) is unbiased
        }
        return new String(out);
    }

    private static byte[] sha256(CharSequence s) {
        return newSha256().digest(s.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from this JVM", e);
        }
    }

    /** Per-thread digest, input buffer and probe key: authentication allocates nothing. */
    private static final class Hasher {
        final MessageDigest sha256 = newSha256();
        final byte[] input = new byte[SECRET_LENGTH];
        final DigestKey probe = DigestKey.probe();

        /** Hashes an ASCII secret of {@link #SECRET_LENGTH} characters into the probe; false if not ASCII. */
        boolean digest(CharSequence s) {
            for (int i = 0; i < SECRET_LENGTH; i++) {
                char c = s.charAt(i);
                if (c > 0x7f) {
                    return false; // cannot be one of ours; UTF-8 of ASCII is the chars themselves
                }
                input[i] = (byte) c;
            }
            sha256.update(input, 0, SECRET_LENGTH);
            try {
                sha256.digest(probe.bytes, 0, DigestKey.LENGTH);
            } catch (DigestException e) {
                sha256.reset();
                throw new IllegalStateException("SHA-256 digest into a 32-byte buffer failed", e);
            }
            probe.rehash();
            return true;
        }
    }
}
