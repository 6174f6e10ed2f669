package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonParser;
import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Error answers for the OpenAI routes: upstream Gemini errors translated to OpenAI's error object (OpenAI API
 * reference: Error codes), and the gateway's own.
 *
 * <p>Upstream mapping (Gemini status → OpenAI status, type, code):
 * <ul>
 *   <li>400 with reason {@code API_KEY_INVALID} (or "API key not valid"), and 401 → 401
 *       {@code invalid_request_error}/{@code invalid_api_key};</li>
 *   <li>403 → 403 {@code invalid_request_error}/{@code permission_denied};</li>
 *   <li>other 400 (INVALID_ARGUMENT, FAILED_PRECONDITION) and other 4xx → same status, {@code invalid_request_error},
 *       Gemini's message passed through;</li>
 *   <li>404 → 404 {@code invalid_request_error}/{@code model_not_found};</li>
 *   <li>429 naming a per-day quota ({@code quotaId} with "PerDay") → 429
 *       {@code insufficient_quota}/{@code insufficient_quota}, {@code x-should-retry: false} and no
 *       {@code Retry-After} (the short RetryInfo Google sends with it does not apply; the server may compute the
 *       next Pacific midnight);</li>
 *   <li>other 429 → 429 {@code tokens} (token quotas) or {@code requests}, {@code rate_limit_exceeded},
 *       {@code Retry-After} from {@code RetryInfo.retryDelay} rounded up;</li>
 *   <li>499 and 500 → 500, 503 → 503, other 5xx → same status: {@code server_error}; 504 → 504
 *       {@code server_error}/{@code timeout}.</li>
 * </ul>
 * A body that is not Google's error JSON (or wraps it in an array, as failed stream calls do) is handled: the status
 * decides, with a generic message. Upstream keys never appear in these messages: Google's texts do not carry them.
 */
public final class OpenAiErrors {
    public static final String INVALID_REQUEST = "invalid_request_error";
    public static final String SERVER_ERROR = "server_error";

    private OpenAiErrors() {
    }

    /** The answer to a request refused by the translation: 400 naming the parameter. */
    public static OpenAiError of(OpenAiRequestException e) {
        if (e.status() != 400 || e.code() != null) {
            return new OpenAiError(e.status(), e.getMessage(), INVALID_REQUEST, e.param(), e.code(), -1, false);
        }
        return invalidRequest(e.param(), e.getMessage());
    }

    /** Any error. */
    public static OpenAiError of(int status, String type, String message, String param, String code) {
        return new OpenAiError(status, message, type, param, code, -1, status == 429 || status >= 500);
    }

    /** 400 {@code invalid_request_error}. */
    public static OpenAiError invalidRequest(String param, String message) {
        return new OpenAiError(400, message, INVALID_REQUEST, param, null, -1, false);
    }

    /** 401 {@code invalid_api_key}: missing or wrong client token. */
    public static OpenAiError authentication(String message) {
        return new OpenAiError(401, message, INVALID_REQUEST, null, "invalid_api_key", -1, false);
    }

    /** 403 {@code permission_denied}. */
    public static OpenAiError permissionDenied(String message) {
        return new OpenAiError(403, message, INVALID_REQUEST, null, "permission_denied", -1, false);
    }

    /** 404 {@code model_not_found}, with OpenAI's wording. */
    public static OpenAiError modelNotFound(String model) {
        return new OpenAiError(404, "The model `" + model + "` does not exist or you do not have access to it.",
                INVALID_REQUEST, "model", "model_not_found", -1, false);
    }

    /** 404 for an unknown route. */
    public static OpenAiError notFound(String message) {
        return new OpenAiError(404, message, INVALID_REQUEST, null, null, -1, false);
    }

    /** 413: the body is over the limit. */
    public static OpenAiError payloadTooLarge(String message) {
        return new OpenAiError(413, message, INVALID_REQUEST, null, null, -1, false);
    }

    /** 429 {@code rate_limit_exceeded}: every key cools down. */
    public static OpenAiError rateLimited(String message, long retryAfterSeconds) {
        return new OpenAiError(429, message, "requests", null, "rate_limit_exceeded", retryAfterSeconds, true);
    }

    /**
     * 503: every key is exhausted for the day, invalid or disabled (README, status codes); the SDKs are told not to
     * retry.
     */
    public static OpenAiError unavailable(String message, long retryAfterSeconds) {
        return new OpenAiError(503, message, SERVER_ERROR, null, null, retryAfterSeconds, false);
    }

    /** 5xx {@code server_error} (502 unreachable, 504 too slow, 500 translation failure). */
    public static OpenAiError serverError(int status, String message) {
        return new OpenAiError(status, message, SERVER_ERROR, null, status == 504 ? "timeout" : null, -1, true);
    }

    /** The JSON body of any error. */
    public static byte[] json(String message, String type, String param, String code) {
        return new OpenAiError(400, message, type, param, code, -1, false).toJson();
    }

    /**
     * Translates an upstream Gemini error answer.
     *
     * @param httpStatus the upstream HTTP status
     * @param body       the upstream body (Google's error JSON, possibly wrapped in an array, or anything else)
     */
    public static OpenAiError fromGemini(int httpStatus, byte[] body) {
        return fromGemini(httpStatus, parse(Json.parser(body, 0, body.length)));
    }

    /**
     * Translates an upstream Gemini error answer.
     *
     * @param body not released, indices unchanged
     */
    public static OpenAiError fromGemini(int httpStatus, ByteBuf body) {
        return fromGemini(httpStatus, parse(Json.parser(body)));
    }

    private static Object parse(JsonParser p) {
        try (p) {
            GeminiResponse r = new GeminiResponse();
            r.read(p);
            return r.error;
        } catch (IOException | RuntimeException notJson) {
            return null;
        }
    }

    /**
     * Translates a Google {@code error} object ({@link JsonTree}, may be null), e.g. from an error event in a stream.
     *
     * @param httpStatus the HTTP status, or 0 to take the object's {@code code}
     */
    static OpenAiError fromGemini(int httpStatus, Object error) {
        Map<?, ?> e = error instanceof Map<?, ?> m ? m : Map.of();
        int status = httpStatus;
        if (status <= 0 && e.get("code") instanceof Number n) {
            status = n.intValue();
        }
        if (status <= 0) {
            status = 500;
        }
        String message = e.get("message") instanceof String s && !s.isBlank() ? s.strip()
                : "Upstream error (HTTP " + status + ").";
        String reason = null;
        String quotaId = "";
        long retryAfter = -1;
        if (e.get("details") instanceof List<?> details) {
            for (Object d : details) {
                if (!(d instanceof Map<?, ?> detail)) {
                    continue;
                }
                String type = detail.get("@type") instanceof String t ? t : "";
                if (type.endsWith("google.rpc.ErrorInfo") && detail.get("reason") instanceof String r) {
                    reason = r;
                } else if (type.endsWith("google.rpc.QuotaFailure") && detail.get("violations") instanceof List<?> vs) {
                    StringBuilder ids = new StringBuilder();
                    for (Object v : vs) {
                        if (v instanceof Map<?, ?> violation) {
                            ids.append(violation.get("quotaId")).append(' ').append(violation.get("quotaMetric"))
                                    .append(' ');
                        }
                    }
                    quotaId = ids.toString();
                } else if (type.endsWith("google.rpc.RetryInfo") && detail.get("retryDelay") instanceof String delay) {
                    retryAfter = seconds(delay);
                }
            }
        }
        if (status == 401 || (status == 400 && ("API_KEY_INVALID".equals(reason)
                || message.contains("API key not valid") || message.contains("API key expired")))) {
            return new OpenAiError(401, message, INVALID_REQUEST, null, "invalid_api_key", -1, false);
        }
        if (status == 403) {
            return new OpenAiError(403, message, INVALID_REQUEST, null, "permission_denied", -1, false);
        }
        if (status == 404) {
            return new OpenAiError(404, message, INVALID_REQUEST, null, "model_not_found", -1, false);
        }
        if (status == 429) {
            if (quotaId.contains("PerDay") || (quotaId.isEmpty() && message.contains("PerDay"))) {
                return new OpenAiError(429, message, "insufficient_quota", null, "insufficient_quota", -1, false);
            }
            String lower = (quotaId.isEmpty() ? message : quotaId).toLowerCase(Locale.ROOT);
            String type = lower.contains("token") ? "tokens" : "requests";
            return new OpenAiError(429, message, type, null, "rate_limit_exceeded", retryAfter, true);
        }
        if (status == 504) {
            return new OpenAiError(504, message, SERVER_ERROR, null, "timeout", -1, true);
        }
        if (status == 499 || status == 500) {
            return new OpenAiError(500, message, SERVER_ERROR, null, null, -1, true);
        }
        if (status >= 500) {
            return new OpenAiError(status, message, SERVER_ERROR, null, null, -1, true);
        }
        if (status >= 400) {
            return new OpenAiError(status, message, INVALID_REQUEST, null, null, -1, false);
        }
        return new OpenAiError(500, message, SERVER_ERROR, null, null, -1, true);
    }

    /** {@code "20s"}, {@code "20.706s"} → 20, 21; -1 when unreadable. */
    static long seconds(String duration) {
        String d = duration.strip();
        if (d.endsWith("s")) {
            d = d.substring(0, d.length() - 1);
        }
        try {
            return new BigDecimal(d).setScale(0, RoundingMode.CEILING).longValueExact();
        } catch (ArithmeticException | NumberFormatException e) {
            return -1;
        }
    }
}
