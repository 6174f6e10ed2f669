package io.gemgate.core.json;

/**
 * Token counts from a Gemini {@code usageMetadata} object. A counter the response did not carry is {@code 0}.
 *
 * @param promptTokens     {@code promptTokenCount}
 * @param candidatesTokens {@code candidatesTokenCount} (excludes thoughts)
 * @param thoughtsTokens   {@code thoughtsTokenCount}
 * @param totalTokens      {@code totalTokenCount}
 * @param cachedTokens     {@code cachedContentTokenCount} (part of the prompt)
 */
public record Usage(long promptTokens, long candidatesTokens, long thoughtsTokens, long totalTokens,
                    long cachedTokens) {
    /** No usage seen. */
    public static final Usage NONE = new Usage(0, 0, 0, 0, 0);

    /** Output tokens as billed: candidates plus thoughts. */
    public long outputTokens() {
        return candidatesTokens + thoughtsTokens;
    }
}
