package io.gemgate.core.keys;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;

import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Turns an upstream status and its (possibly partial) error body into a {@link Verdict} for the key pool.
 *
 * <p>Rules (Google's error model: google.rpc.Status with QuotaFailure, RetryInfo and ErrorInfo details, as the Gemini
 * API docs "Rate limits" and "Troubleshooting" describe them; what the pool does with each verdict:
 * docs/architecture.md):
 * <ul>
 *   <li>2xx: {@link Verdict#SUCCESS}; the body is not looked at.</li>
 *   <li>429: if any {@code google.rpc.QuotaFailure} violation names a per-day quota ({@code quotaId} contains
 *       {@code PerDay}, or {@code quotaMetric} contains {@code per_day}, both case-insensitive):
 *       {@link VerdictKind#QUOTA_DAY} with that quotaId and no delay (the short RetryInfo Google sends with it does
 *       not apply). Otherwise {@link VerdictKind#RATE_LIMIT} with the {@code google.rpc.RetryInfo} delay (or the
 *       message's "Please retry in 20.7s." when RetryInfo is absent), rounded up to whole milliseconds, or
 *       {@code -1}; the reason is the first quotaId, else {@code "rate limited"}.</li>
 *   <li>400, 401 and 403 whose {@code google.rpc.ErrorInfo} reason is one of {@link #KEY_REASONS} (the table
 *       below), or whose message starts with "API key not valid" / "API key expired" or says the key "was reported as
 *       leaked": {@link VerdictKind#INVALID_KEY}, reason that ErrorInfo reason ({@code API_KEY_INVALID},
 *       {@code API_KEY_EXPIRED}, {@code API_KEY_LEAKED} for the message forms). Any other 400, 401 or 403 (a File,
 *       CachedContent, batch, tuned model or store of another project; "Method doesn't allow unregistered callers";
 *       a method that wants OAuth): {@link VerdictKind#CLIENT_ERROR}, the request's, relayed unchanged, no penalty,
 *       no failover. The status alone never sets a key aside.</li>
 *   <li>408 and every 5xx: {@link VerdictKind#SERVER_ERROR}, reason {@code error.status} (e.g. {@code UNAVAILABLE})
 *       or {@code "http 503"}; the retry delay is RetryInfo's if the body has one, else {@code -1}.</li>
 *   <li>Any other 4xx (and the 1xx/3xx that should never get here): {@link VerdictKind#CLIENT_ERROR}, reason
 *       {@code error.status} or {@code "http 404"}. A status outside 100..599: {@link VerdictKind#SERVER_ERROR}.</li>
 * </ul>
 *
 * <p><b>Key-level reasons.</b> Google's {@code google.api.ErrorReason} (the {@code googleapis.com} error domain of
 * Google's "API design guide: errors" and {@code google/api/error_reason.proto}) lists the ErrorInfo reasons Service
 * Infrastructure sends. Those that blame the caller's credential or its Cloud project, which is what one of our keys
 * is, set the key aside; those that blame the request, the resource, or where the gateway runs (the same for every
 * key) do not:
 * <table>
 *   <caption>ErrorInfo reason: verdict</caption>
 *   <tr><th>reason</th><th>verdict</th><th>why</th></tr>
 *   <tr><td>API_KEY_INVALID, API_KEY_EXPIRED</td><td>invalid key</td><td>the key itself is bad</td></tr>
 *   <tr><td>API_KEY_SERVICE_BLOCKED</td><td>invalid key</td><td>the key may not call the Gemini API (restricted,
 *       or blocked as leaked)</td></tr>
 *   <tr><td>API_KEY_HTTP_REFERRER_BLOCKED, API_KEY_IP_ADDRESS_BLOCKED, API_KEY_ANDROID_APP_BLOCKED,
 *       API_KEY_IOS_APP_BLOCKED</td><td>invalid key</td><td>the key's application restrictions refuse the gateway
 *       </td></tr>
 *   <tr><td>SERVICE_DISABLED, SERVICE_NOT_VISIBLE, BILLING_DISABLED</td><td>invalid key</td><td>the key's project
 *       has not enabled (or cannot see, or pays not for) the API</td></tr>
 *   <tr><td>CONSUMER_SUSPENDED, CONSUMER_INVALID, GCP_SUSPENDED, ACCOUNT_STATE_INVALID, USER_PROJECT_DENIED
 *       </td><td>invalid key</td><td>the key's project or account is suspended, deleted or refused</td></tr>
 *   <tr><td>ACCESS_TOKEN_EXPIRED, ACCESS_TOKEN_SCOPE_INSUFFICIENT, ACCESS_TOKEN_TYPE_UNSUPPORTED</td><td>invalid
 *       key</td><td>the credential cannot call the API</td></tr>
 *   <tr><td>CREDENTIALS_MISSING</td><td>request's</td><td>the method wants OAuth, not an API key: every key gets it
 *       </td></tr>
 *   <tr><td>RESOURCE_PROJECT_INVALID, RESOURCE_USAGE_RESTRICTION_VIOLATED</td><td>request's</td><td>about the
 *       resource the request names</td></tr>
 *   <tr><td>LOCATION_TAX_POLICY_VIOLATED, LOCATION_POLICY_VIOLATED, SECURITY_POLICY_VIOLATED,
 *       ORG_RESTRICTION_VIOLATION, ORG_RESTRICTION_HEADER_INVALID, MISSING_ORIGIN</td><td>request's</td><td>where
 *       the call comes from, or the request's headers: the same for every key</td></tr>
 *   <tr><td>RATE_LIMIT_EXCEEDED, RESOURCE_QUOTA_EXCEEDED</td><td>(429 rules)</td><td>come with 429</td></tr>
 *   <tr><td>any other, or none</td><td>request's</td><td>a 403/404 naming a File, CachedContent, batch, tuned model
 *       or store of another project has no key-level reason</td></tr>
 * </table>
 * Even an invalid-key verdict is braked: see {@link SetAsideBrake} (one key per request, a share of the pool per
 * window).
 *
 * <p>The body is the native Google RPC error object, or the same wrapped in a JSON array (the form seen on failed
 * {@code streamGenerateContent} calls). A body that is empty, not JSON, or truncated (the caller caps it) still
 * classifies by status, using whatever was parsed before the damage. Nothing here throws.
 *
 * <p>Reasons are bounded to {@value #MAX_REASON} characters, have control characters replaced and anything that looks
 * like a Google API key redacted; message text is never used as a reason.
 *
 * <p>Stateless and thread-safe. It parses with Jackson's streaming {@link JsonParser} (no tree, no databind); it is
 * meant for the error path, where a few small allocations do not matter.
 */
public final class VerdictClassifier {
    /** Longest reason this class puts in a {@link Verdict}. */
    public static final int MAX_REASON = 120;

    private static final JsonFactory JSON = JsonFactory.builder()
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .build();

    /** "AIza" + 35 key characters: the shape of a Google API key. */
    private static final Pattern API_KEY = Pattern.compile("AIza[0-9A-Za-z_\\-]{35}");
    private static final String REDACTED = "[redacted]";

    private VerdictClassifier() {
    }

    /**
     * Classifies one upstream answer.
     *
     * @param status the HTTP status of the upstream response
     * @param body   the error body read so far (may be partial, empty or {@code null}). Only its readable bytes are
     *               read, through a duplicate: its reader index and reference count are left as they are. The caller
     *               keeps ownership and releases it.
     * @return the verdict, never {@code null}
     */
    public static Verdict classify(int status, ByteBuf body) {
        if (isSuccess(status)) {
            return Verdict.SUCCESS;
        }
        return decide(status, ErrorBody.parse(body));
    }

    /**
     * Classifies one upstream answer whose error body is in an array.
     *
     * @param status the HTTP status of the upstream response
     * @param body   the error body (may be partial, empty or {@code null}); not modified
     * @return the verdict, never {@code null}
     */
    public static Verdict classify(int status, byte[] body) {
        if (isSuccess(status)) {
            return Verdict.SUCCESS;
        }
        ErrorBody e = new ErrorBody();
        if (body != null && body.length > 0) {
            e.parse(body, 0, body.length);
        }
        return decide(status, e);
    }

    private static boolean isSuccess(int status) {
        return status >= 200 && status < 300;
    }

    private static Verdict decide(int status, ErrorBody e) {
        if (status == 429) {
            if (e.dayQuota != null) {
                return new Verdict(VerdictKind.QUOTA_DAY, -1, sanitize(e.dayQuota));
            }
            String reason = e.firstQuotaId != null ? e.firstQuotaId : "rate limited";
            return new Verdict(VerdictKind.RATE_LIMIT, e.retryDelayMillis(), sanitize(reason));
        }
        if (status == 400 || status == 401 || status == 403) {
            String keyReason = e.keyProblem();
            if (keyReason != null) {
                return new Verdict(VerdictKind.INVALID_KEY, -1, keyReason);
            }
            return new Verdict(VerdictKind.CLIENT_ERROR, -1, statusReason(status, e));
        }
        if (status == 408 || (status >= 500 && status < 600) || status < 100 || status >= 600) {
            return new Verdict(VerdictKind.SERVER_ERROR, e.retryInfoMillis, statusReason(status, e));
        }
        return new Verdict(VerdictKind.CLIENT_ERROR, -1, statusReason(status, e));
    }

    private static String statusReason(int status, ErrorBody e) {
        return e.status != null && !e.status.isBlank() ? sanitize(e.status) : "http " + status;
    }

    /**
     * Makes upstream text safe and small enough for a {@link Verdict} reason: API-key-shaped substrings are replaced by
     * {@code [redacted]}, control characters by spaces, and the result is cut to {@value #MAX_REASON} characters.
     */
    static String sanitize(String s) {
        if (s == null) {
            return "";
        }
        // Cut to a generous bound first (cheap on a 64 KiB string), redact, then cut to the real bound: a key that
        // straddles the first cut cannot survive the second.
        String r = s.length() > 1024 ? s.substring(0, 1024) : s;
        if (r.contains("AIza")) {
            r = API_KEY.matcher(r).replaceAll(REDACTED);
        }
        int n = Math.min(r.length(), MAX_REASON);
        if (n < r.length() && Character.isHighSurrogate(r.charAt(n - 1))) {
            n--;
        }
        StringBuilder sb = null;
        for (int i = 0; i < n; i++) {
            char c = r.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                if (sb == null) {
                    sb = new StringBuilder(n).append(r, 0, i);
                }
                sb.append(' ');
            } else if (sb != null) {
                sb.append(c);
            }
        }
        return sb != null ? sb.toString() : r.substring(0, n);
    }

    /**
     * Parses a protobuf Duration in its JSON form ({@code "20s"}, {@code "1.5s"}, {@code "20.70617005s"}) or a
     * millisecond form ({@code "565.1ms"}) into milliseconds, rounding any fraction of a millisecond up.
     *
     * @return the delay in milliseconds, or {@code -1} if {@code text} is not such a duration
     */
    static long parseDurationMillis(CharSequence text) {
        if (text == null) {
            return -1;
        }
        return parseDurationMillis(text, 0, true);
    }

    /**
     * Parses a duration that starts at {@code from}. With {@code whole}, nothing but whitespace may follow the unit.
     */
    private static long parseDurationMillis(CharSequence s, int from, boolean whole) {
        int n = s.length();
        int i = from;
        while (i < n && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        long intPart = 0;
        int intDigits = 0;
        while (i < n && isDigit(s.charAt(i))) {
            if (++intDigits > 15) {
                return -1; // beyond 30 000 years: not a delay anyone means
            }
            intPart = intPart * 10 + (s.charAt(i) - '0');
            i++;
        }
        // Fraction: keep the first 9 digits exactly (nanoseconds when the unit is s), note whether any digit beyond.
        long frac = 0;
        int fracDigits = 0;
        boolean moreFraction = false;
        if (i < n && s.charAt(i) == '.') {
            i++;
            int start = i;
            while (i < n && isDigit(s.charAt(i))) {
                if (fracDigits < 9) {
                    frac = frac * 10 + (s.charAt(i) - '0');
                    fracDigits++;
                } else if (s.charAt(i) != '0') {
                    moreFraction = true;
                }
                i++;
            }
            if (i == start) {
                return -1;
            }
        }
        if (intDigits == 0 && fracDigits == 0) {
            return -1;
        }
        for (int k = fracDigits; k < 9; k++) {
            frac *= 10;
        }
        // frac is now in units of 1e-9 of the unit.
        long millis;
        if (i + 1 < n && s.charAt(i) == 'm' && s.charAt(i + 1) == 's') {
            i += 2;
            millis = intPart + ((frac > 0 || moreFraction) ? 1 : 0);
        } else if (i < n && s.charAt(i) == 's') {
            i++;
            long fracMillis = frac / 1_000_000;
            boolean roundUp = frac % 1_000_000 != 0 || moreFraction;
            millis = intPart * 1000 + fracMillis + (roundUp ? 1 : 0);
        } else {
            return -1;
        }
        if (whole) {
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (i != n) {
                return -1;
            }
        } else if (i < n && Character.isLetterOrDigit(s.charAt(i))) {
            return -1; // "20sec" or "20 msx": not ours
        }
        return millis;
    }

    /** The delay in Google's "... Please retry in 20.70617005s." message text, or -1. */
    static long retryHintMillis(String message) {
        if (message == null) {
            return -1;
        }
        String lower = message.toLowerCase(Locale.ROOT);
        int at = lower.lastIndexOf("retry in ");
        if (at < 0) {
            return -1;
        }
        return parseDurationMillis(message, at + "retry in ".length(), false);
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean endsWithType(String type, String name) {
        return type == null || type.endsWith(name);
    }

    /**
     * ErrorInfo reasons that blame the key (its credential or its Cloud project): see the table in the class javadoc.
     */
    public static final java.util.Set<String> KEY_REASONS = java.util.Set.of(
            "API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED", "API_KEY_HTTP_REFERRER_BLOCKED",
            "API_KEY_IP_ADDRESS_BLOCKED", "API_KEY_ANDROID_APP_BLOCKED", "API_KEY_IOS_APP_BLOCKED",
            "SERVICE_DISABLED", "SERVICE_NOT_VISIBLE", "BILLING_DISABLED", "CONSUMER_SUSPENDED", "CONSUMER_INVALID",
            "GCP_SUSPENDED", "ACCOUNT_STATE_INVALID", "USER_PROJECT_DENIED", "ACCESS_TOKEN_EXPIRED",
            "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "ACCESS_TOKEN_TYPE_UNSUPPORTED");

    /** True when an ErrorInfo reason blames the key ({@link #KEY_REASONS}). */
    public static boolean isKeyReason(String reason) {
        return reason != null && KEY_REASONS.contains(reason);
    }

    /**
     * What was read of one error body. Filled while parsing; a truncated body leaves the fields that were complete.
     * Details whose {@code @type} was not reached (truncation, unusual field order) are taken at their word.
     */
    private static final class ErrorBody {
        String message;
        String status;
        /** quotaId (or quotaMetric) of the first per-day violation. */
        String dayQuota;
        /** quotaId of the first violation. */
        String firstQuotaId;
        /** First ErrorInfo reason. */
        String errorInfoReason;
        /** The first ErrorInfo reason of {@link #KEY_REASONS}, if any. */
        String keyReason;
        long retryInfoMillis = -1;
        boolean sawError;

        // The detail and violation being read, committed at their end or when parsing stops early.
        boolean inDetail;
        String dType;
        String dReason;
        long dRetryMillis;
        boolean inViolation;
        String vQuotaId;
        String vQuotaMetric;

        static ErrorBody parse(ByteBuf body) {
            ErrorBody e = new ErrorBody();
            if (body == null) {
                return e;
            }
            try {
                int n = body.readableBytes();
                if (n == 0) {
                    return e;
                }
                if (body.hasArray()) {
                    e.parse(body.array(), body.arrayOffset() + body.readerIndex(), n);
                } else {
                    // Duplicate: independent indexes, shared content and reference count; no retain, no release.
                    e.parse(new ByteBufInputStream(body.duplicate(), false));
                }
            } catch (RuntimeException ex) {
                // A released or otherwise unreadable buffer: classify by status alone.
            }
            return e;
        }

        void parse(byte[] b, int off, int len) {
            try (JsonParser p = JSON.createParser(b, off, len)) {
                readRoot(p);
            } catch (IOException | RuntimeException ex) {
                // Not JSON, truncated, too deep ...: keep what was read.
            }
            finishPartial();
        }

        void parse(InputStream in) {
            try (JsonParser p = JSON.createParser(in)) {
                readRoot(p);
            } catch (IOException | RuntimeException ex) {
                // Not JSON, truncated, too deep ...: keep what was read.
            }
            finishPartial();
        }

        private void readRoot(JsonParser p) throws IOException {
            JsonToken t = p.nextToken();
            if (t == JsonToken.START_OBJECT) {
                readTop(p);
            } else if (t == JsonToken.START_ARRAY) {
                // Streamed error form: [{"error": {...}}]. The first element with an error object wins.
                while ((t = p.nextToken()) != null && t != JsonToken.END_ARRAY && !sawError) {
                    if (t == JsonToken.START_OBJECT) {
                        readTop(p);
                    } else {
                        p.skipChildren();
                    }
                }
            }
        }

        /** At START_OBJECT of the top-level object; returns at its END_OBJECT. */
        private void readTop(JsonParser p) throws IOException {
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                if ("error".equals(name) && v == JsonToken.START_OBJECT) {
                    sawError = true;
                    readError(p);
                } else {
                    p.skipChildren();
                }
            }
        }

        private void readError(JsonParser p) throws IOException {
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                switch (name) {
                    case "message" -> message = textOrNull(p, v);
                    case "status" -> status = textOrNull(p, v);
                    case "details" -> {
                        if (v == JsonToken.START_ARRAY) {
                            readDetails(p);
                        } else {
                            p.skipChildren();
                        }
                    }
                    default -> p.skipChildren();
                }
            }
        }

        private void readDetails(JsonParser p) throws IOException {
            JsonToken t;
            while ((t = p.nextToken()) != null && t != JsonToken.END_ARRAY) {
                if (t == JsonToken.START_OBJECT) {
                    readDetail(p);
                } else {
                    p.skipChildren();
                }
            }
        }

        private void readDetail(JsonParser p) throws IOException {
            inDetail = true;
            dType = null;
            dReason = null;
            dRetryMillis = -1;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                switch (name) {
                    case "@type" -> dType = textOrNull(p, v);
                    case "reason" -> dReason = textOrNull(p, v);
                    case "retryDelay" -> dRetryMillis = readDuration(p, v);
                    case "violations" -> {
                        if (v == JsonToken.START_ARRAY) {
                            readViolations(p);
                        } else {
                            p.skipChildren();
                        }
                    }
                    default -> p.skipChildren();
                }
            }
            commitDetail();
        }

        private void readViolations(JsonParser p) throws IOException {
            JsonToken t;
            while ((t = p.nextToken()) != null && t != JsonToken.END_ARRAY) {
                if (t != JsonToken.START_OBJECT) {
                    p.skipChildren();
                    continue;
                }
                inViolation = true;
                vQuotaId = null;
                vQuotaMetric = null;
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    JsonToken v = p.nextToken();
                    switch (name) {
                        case "quotaId" -> vQuotaId = textOrNull(p, v);
                        case "quotaMetric" -> vQuotaMetric = textOrNull(p, v);
                        default -> p.skipChildren();
                    }
                }
                commitViolation();
            }
        }

        /** RetryInfo.retryDelay: "20.5s", or the proto3 object form {"seconds": 20, "nanos": 500000000}. */
        private static long readDuration(JsonParser p, JsonToken v) throws IOException {
            if (v == JsonToken.VALUE_STRING) {
                return parseDurationMillis(p.getText());
            }
            if (v != JsonToken.START_OBJECT) {
                p.skipChildren();
                return -1;
            }
            long seconds = -1;
            long nanos = 0;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken t = p.nextToken();
                if (t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_STRING) {
                    long x = p.getValueAsLong(-1);
                    if ("seconds".equals(name)) {
                        seconds = x;
                    } else if ("nanos".equals(name)) {
                        nanos = x;
                    }
                } else {
                    p.skipChildren();
                }
            }
            if (seconds < 0 || seconds > 1_000_000_000_000L || nanos < 0 || nanos > 999_999_999) {
                return -1;
            }
            return seconds * 1000 + (nanos + 999_999) / 1_000_000;
        }

        private static String textOrNull(JsonParser p, JsonToken v) throws IOException {
            if (v == JsonToken.VALUE_STRING) {
                return p.getText();
            }
            p.skipChildren();
            return null;
        }

        private void commitViolation() {
            inViolation = false;
            if (!endsWithType(dType, "google.rpc.QuotaFailure")) {
                return;
            }
            String id = vQuotaId;
            boolean perDay = (id != null && id.toLowerCase(Locale.ROOT).contains("perday"))
                    || (vQuotaMetric != null && vQuotaMetric.toLowerCase(Locale.ROOT).contains("per_day"));
            if (id != null && firstQuotaId == null) {
                firstQuotaId = id;
            }
            if (perDay && dayQuota == null) {
                dayQuota = id != null ? id : vQuotaMetric;
            }
        }

        private void commitDetail() {
            inDetail = false;
            // Violations are committed as they end, possibly before @type is read; only QuotaFailure violations
            // carry quotaId/quotaMetric, so an early commit cannot pick up another type's fields.
            if (dRetryMillis >= 0 && endsWithType(dType, "google.rpc.RetryInfo") && retryInfoMillis < 0) {
                retryInfoMillis = dRetryMillis;
            }
            if (dReason != null && endsWithType(dType, "google.rpc.ErrorInfo")) {
                if (errorInfoReason == null) {
                    errorInfoReason = dReason;
                }
                if (keyReason == null && isKeyReason(dReason)) {
                    keyReason = dReason;
                }
            }
        }

        /** Parsing stopped inside a detail or violation: keep what it had. */
        void finishPartial() {
            if (inViolation) {
                commitViolation();
            }
            if (inDetail) {
                commitDetail();
            }
        }

        long retryDelayMillis() {
            return retryInfoMillis >= 0 ? retryInfoMillis : retryHintMillis(message);
        }

        /** For a 400, 401 or 403: why the key itself is bad, or null if the body does not say so. */
        String keyProblem() {
            if (keyReason != null) {
                return keyReason;
            }
            if (message != null) {
                String m = message.stripLeading();
                if (m.regionMatches(true, 0, "API key not valid", 0, 17)) {
                    return "API_KEY_INVALID";
                }
                if (m.regionMatches(true, 0, "API key expired", 0, 15)) {
                    return "API_KEY_EXPIRED";
                }
                if (m.regionMatches(true, 0, "Your API key was reported as leaked", 0, 35)) {
                    return "API_KEY_LEAKED";
                }
            }
            return null;
        }
    }
}
