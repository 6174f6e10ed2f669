package io.gemgate.core.keys;

import static java.util.Objects.requireNonNull;

/**
 * The classification of one upstream attempt.
 *
 * @param kind         what happened
 * @param retryDelayMillis the delay the upstream asked for (RetryInfo.retryDelay), or {@code -1} when it gave none.
 *                     For {@link VerdictKind#QUOTA_DAY} it is ignored: the key waits for the daily reset.
 * @param reason       short, bounded human text for logs and the admin API (no secrets), e.g. the quotaId
 */
public record Verdict(VerdictKind kind, long retryDelayMillis, String reason) {
    public static final Verdict SUCCESS = new Verdict(VerdictKind.SUCCESS, -1, "");
    public static final Verdict CLIENT_ERROR = new Verdict(VerdictKind.CLIENT_ERROR, -1, "");
    public static final Verdict CONNECT_FAILURE = new Verdict(VerdictKind.CONNECT_FAILURE, -1, "connect failure");
    public static final Verdict TIMEOUT = new Verdict(VerdictKind.TIMEOUT, -1, "no response head in time");

    public Verdict {
        requireNonNull(kind, "kind");
        requireNonNull(reason, "reason");
    }
}
