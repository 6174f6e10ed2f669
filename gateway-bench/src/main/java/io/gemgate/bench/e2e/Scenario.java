package io.gemgate.bench.e2e;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The requests of the end-to-end scenarios, as clients send them. A scenario encodes its request once, for one
 * target, as raw HTTP/1.1 bytes ({@link #encode}); the load generator writes duplicates of them.
 */
public enum Scenario {
    /** {@code POST :generateContent}, small JSON both ways: the pass-through the targets are about. */
    NATIVE("native", false, false),
    /** {@code POST :streamGenerateContent?alt=sse}: time to first event and gaps between events. */
    NATIVE_SSE("native-sse", false, true),
    /** {@code POST /v1/chat/completions}, not streamed: translated to generateContent and back. */
    OPENAI("openai", true, false),
    /** {@code POST /v1/chat/completions} with {@code "stream":true}: each Gemini event becomes one chunk. */
    OPENAI_STREAM("openai-stream", true, true),
    /** As {@link #NATIVE}, through a gateway half of whose keys the upstream answers 429 every time. */
    FAILOVER("failover", false, false),
    /**
     * As {@link #NATIVE}, through a gateway whose one exit is an HTTP CONNECT proxy (Debian's tinyproxy), compared
     * with the same gateway going direct: what a proxy in the path costs.
     */
    PROXY("proxy", false, false);

    static final String PROMPT = "Say hello in five words.";

    final String label;
    final boolean openAi;
    final boolean sse;

    Scenario(String label, boolean openAi, boolean sse) {
        this.label = label;
        this.openAi = openAi;
        this.sse = sse;
    }

    public static Scenario of(String label) {
        for (Scenario s : values()) {
            if (s.label.equals(label.toLowerCase(Locale.ROOT))) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown scenario '" + label + "' (known: native, native-sse, openai, "
                + "openai-stream, failover, proxy)");
    }

    /** The native scenario a client would call to get the same answer straight from the upstream. */
    Scenario directEquivalent() {
        return switch (this) {
            case OPENAI, FAILOVER, PROXY -> NATIVE;
            case OPENAI_STREAM -> NATIVE_SSE;
            default -> this;
        };
    }

    String path() {
        return switch (this) {
            case NATIVE, FAILOVER, PROXY -> "/v1beta/models/" + CannedAnswers.MODEL + ":generateContent";
            case NATIVE_SSE -> "/v1beta/models/" + CannedAnswers.MODEL + ":streamGenerateContent?alt=sse";
            case OPENAI, OPENAI_STREAM -> "/v1/chat/completions";
        };
    }

    String body() {
        if (openAi) {
            return "{\"model\":\"" + CannedAnswers.MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\""
                    + PROMPT + "\"}]" + (sse ? ",\"stream\":true" : "") + "}";
        }
        return "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"" + PROMPT + "\"}]}]}";
    }

    /**
     * The complete request, for a server at {@code hostPort}: the token as {@code x-goog-api-key} (native) or
     * {@code Authorization: Bearer} (OpenAI), as each kind of client sends it.
     *
     * @param path the path to call instead of the scenario's, or null
     * @return an unreleasable buffer: write {@link ByteBuf#duplicate()}s of it
     */
    ByteBuf encode(String hostPort, String token, String path) {
        byte[] body = body().getBytes(StandardCharsets.UTF_8);
        String head = "POST " + (path == null ? path() : path) + " HTTP/1.1\r\nHost: " + hostPort + "\r\n"
                + "Content-Type: application/json\r\n"
                + (sse ? "Accept: text/event-stream\r\n" : "")
                + (openAi ? "Authorization: Bearer " + token + "\r\n" : "x-goog-api-key: " + token + "\r\n")
                + "Content-Length: " + body.length + "\r\n\r\n";
        byte[] h = head.getBytes(StandardCharsets.US_ASCII);
        ByteBuf b = Unpooled.directBuffer(h.length + body.length).writeBytes(h).writeBytes(body);
        return Unpooled.unreleasableBuffer(b);
    }

    @Override
    public String toString() {
        return label;
    }
}
