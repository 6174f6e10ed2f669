package io.gemgate.core.requestlog;

/**
 * One upstream call of a request, as the request log keeps it: which key (its id and its masked form, never the
 * key), the key's tier and group, what the upstream answered and what the gateway made of it.
 *
 * @param keyId          the key's id in the pool ({@code ApiKey.id()}), "" when no key was used
 * @param keyMasked      the key's first and last 4 characters
 * @param tier           the key's tier (0 when tiers are not used)
 * @param group          the key's groups, comma-separated, "" for none
 * @param upstreamStatus the upstream's HTTP status; 0 when there was no answer (connection failure, timeout)
 * @param verdict        the verdict's label ({@code success}, {@code rate_limit}, {@code daily_quota}...)
 * @param reason         Google's error reason ({@code RESOURCE_EXHAUSTED}, {@code API_KEY_INVALID}...) or the
 *                       gateway's own ({@code timeout}, {@code answer cut}); null on success
 * @param message        Google's error message ({@code error.message} of the answer), capped; null when none
 * @param latencyMillis  from sending the call to its response head (or to its failure)
 */
public record AttemptRecord(String keyId, String keyMasked, int tier, String group, int upstreamStatus,
                            String verdict, String reason, String message, long latencyMillis) {

    /** True when this attempt was answered with success. */
    public boolean isSuccess() {
        return "success".equals(verdict);
    }
}
