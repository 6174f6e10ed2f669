package io.gemgate.core.settings;

import java.util.Locale;

/**
 * How the OpenAI routes call Gemini. The client always gets the shape it asked for ({@code stream: true} or not);
 * the mode decides the upstream call.
 */
public enum StreamMode {
    /** Stream upstream exactly when the client asked for a stream. */
    AUTO("auto"),
    /**
     * Always call {@code streamGenerateContent}: a non-streaming client gets the chunks assembled into one answer.
     * Bytes flow from the first token, so long answers do not hit idle timeouts on the way.
     */
    ALWAYS("always"),
    /** Always call {@code generateContent}: a streaming client gets the whole answer as one chunk, then [DONE]. */
    NEVER("never");

    private final String wireName;

    StreamMode(String wireName) {
        this.wireName = wireName;
    }

    /** The name in the admin API: {@code auto}, {@code always} or {@code never}. */
    public String wireName() {
        return wireName;
    }

    /**
     * Parses a wire name, case-insensitively; also the original proxy's {@code stream} and {@code non_stream}.
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static StreamMode parse(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        return switch (v) {
            case "auto" -> AUTO;
            case "always", "stream" -> ALWAYS;
            case "never", "non_stream" -> NEVER;
            default -> throw new IllegalArgumentException("'" + value + "' (expected: auto, always or never)");
        };
    }
}
