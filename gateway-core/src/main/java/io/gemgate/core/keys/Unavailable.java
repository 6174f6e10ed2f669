package io.gemgate.core.keys;

/**
 * Why no key can serve a model now, as the gateway answers it without calling the upstream.
 *
 * @param status            429 when some key is only cooling down, 503 when every key is exhausted for the day,
 *                          invalid or disabled
 * @param retryAfterSeconds when to come back: the first cooldown's end, or the next daily reset (at least 1)
 * @param message           for the client; names the model, never a key
 */
public record Unavailable(int status, long retryAfterSeconds, String message) {
}
