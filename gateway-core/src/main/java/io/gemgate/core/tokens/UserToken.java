package io.gemgate.core.tokens;

import static java.util.Objects.requireNonNull;

/**
 * A user token as the registry knows it: identity, limits and state, never the secret. Immutable except for
 * {@link #lastUsedMillis()}, which reads the live counters: a change (disable, rename, new limits) replaces the
 * instance in the {@link TokenRegistry}, and the new instance shares the counters of the old one.
 *
 * <p>Obtained from {@link TokenRegistry#authenticate}, {@link TokenRegistry#get} or {@link TokenRegistry#list};
 * passed to {@link TokenLimiter} for every request. Equality is identity.
 */
public final class UserToken {
    /** Longest token name. */
    public static final int MAX_NAME = 100;
    /** Prefix of every token id. */
    public static final String ID_PREFIX = "tok_";
    /** Random characters after {@link #ID_PREFIX}. */
    public static final int ID_RANDOM_CHARS = 12;

    private final String id;
    private final String name;
    private final long createdAtMillis;
    private final String secretHash;
    private final TokenLimits limits;
    private final boolean enabled;
    final DigestKey digest;
    final UsageCounters usage;

    UserToken(String id, String name, long createdAtMillis, String secretHash, DigestKey digest, TokenLimits limits,
              boolean enabled, UsageCounters usage) {
        this.id = id;
        this.name = name;
        this.createdAtMillis = createdAtMillis;
        this.secretHash = secretHash;
        this.digest = digest;
        this.limits = limits;
        this.enabled = enabled;
        this.usage = usage;
    }

    /** {@code tok_} followed by 12 lowercase letters or digits; stable, safe to log and to put in URLs. */
    public String id() {
        return id;
    }

    /** The name given at creation (a person or an application). */
    public String name() {
        return name;
    }

    /** Epoch millis of creation. */
    public long createdAtMillis() {
        return createdAtMillis;
    }

    /** SHA-256 of the secret as 64 lowercase hex characters. Not secret, but there is no need to show it. */
    public String secretHash() {
        return secretHash;
    }

    public TokenLimits limits() {
        return limits;
    }

    /** False: requests are refused with 401 until it is enabled again. */
    public boolean isEnabled() {
        return enabled;
    }

    /** Epoch millis of the last admitted request; 0 = never. Live: the same for every version of this token. */
    public long lastUsedMillis() {
        return usage.lastUsed;
    }

    /**
     * This gateway's share of the token's limits when several gateways enforce them together through a shared store;
     * unused otherwise. The same for every version of this token.
     */
    public TokenLease lease() {
        return usage.lease;
    }

    /** The persisted form, with the counters as they are now. */
    public TokenRecord toRecord() {
        synchronized (usage) {
            return new TokenRecord(id, name, createdAtMillis, secretHash, limits, enabled, usage.lastUsed,
                    usage.dayStart, usage.requestsToday, usage.promptTokensToday, usage.outputTokensToday,
                    usage.totalRequests, usage.totalTokens);
        }
    }

    UserToken withEnabled(boolean value) {
        return new UserToken(id, name, createdAtMillis, secretHash, digest, limits, value, usage);
    }

    UserToken withName(String value) {
        return new UserToken(id, value, createdAtMillis, secretHash, digest, limits, enabled, usage);
    }

    UserToken withLimits(TokenLimits value) {
        return new UserToken(id, name, createdAtMillis, secretHash, digest, value, enabled, usage);
    }

    /** Identity and state only: never the hash. */
    @Override
    public String toString() {
        return "UserToken[id=" + id + ", name=" + name + ", enabled=" + enabled + "]";
    }

    static void checkId(String id) {
        requireNonNull(id, "id");
        boolean ok = id.length() == ID_PREFIX.length() + ID_RANDOM_CHARS && id.startsWith(ID_PREFIX);
        for (int i = ID_PREFIX.length(); ok && i < id.length(); i++) {
            char c = id.charAt(i);
            ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9';
        }
        if (!ok) {
            throw new IllegalArgumentException("id: '" + abbreviate(id) + "' (expected: tok_ and 12 lowercase "
                    + "letters or digits)");
        }
    }

    static void checkName(String name) {
        requireNonNull(name, "name");
        if (name.isBlank()) {
            throw new IllegalArgumentException("name: blank (expected: 1 to " + MAX_NAME + " characters)");
        }
        if (name.length() > MAX_NAME) {
            throw new IllegalArgumentException("name: " + name.length() + " characters (expected: 1 to " + MAX_NAME
                    + ")");
        }
        for (int i = 0; i < name.length(); i++) {
            if (Character.isISOControl(name.charAt(i))) {
                throw new IllegalArgumentException("name: contains a control character at index " + i);
            }
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 24 ? s : s.substring(0, 24) + "...";
    }
}
