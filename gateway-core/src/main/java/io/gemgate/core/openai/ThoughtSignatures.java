package io.gemgate.core.openai;

import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.zip.CRC32;

/**
 * Keeps Gemini's {@code thoughtSignature}s across a stateless OpenAI round trip (Gemini API docs: Thought signatures).
 *
 * <p>Gemini 3 answers a function call with a {@code thoughtSignature} on the call's part and refuses (400) the next
 * request unless the same signature comes back on that {@code functionCall} part. OpenAI clients only replay
 * {@code tool_calls[i].id}, {@code function.name} and {@code function.arguments}. So the signature must travel inside
 * something they replay, or stay on the gateway.
 *
 * <p><b>Choice.</b> Every tool call handed out carries the signature twice:
 * <ol>
 *   <li>in {@code tool_calls[i].extra_content.google.thought_signature}, exactly as Google's own OpenAI layer does, so
 *       clients written for it work unchanged; on input this place wins;</li>
 *   <li>and, in the default {@link Mode#IN_ID} mode, inside the tool call id, which every client replays:
 *       {@code call_<16 random letters/digits>_ts<crc32><signature>}, the CRC32 of the signature bytes and the
 *       signature bytes both base64url without padding. The id uses only {@code [A-Za-z0-9_-]}. Decoding gives the
 *       same bytes Gemini sent (the signature is a proto {@code bytes} field, so re-encoding its base64 is
 *       lossless). The checksum catches clients that truncate ids: a damaged id counts as "no signature".</li>
 * </ol>
 * The {@code IN_ID} mode is stateless: it survives restarts, several gateway instances and failover to another key
 * of the same model. Its cost is id length: a signature of a few hundred bytes makes an id of a few hundred chars.
 * OpenAI clients treat ids as opaque strings, but a client that later replays the same history to OpenAI itself
 * (which caps ids at 40 chars) or that caps ids (64 chars is a common limit of Anthropic-style tooling) breaks on
 * such ids. {@link Mode#CACHE} avoids that: ids stay {@code call_} + 16 characters and the signature is kept in a
 * bounded in-memory LRU map with a time to live; it is lost on restart, on another instance, or on eviction.
 *
 * <p>Whichever the mode, {@link #signatureOf} decodes ids of the {@code IN_ID} form and then asks the cache, so a
 * switch of mode does not break conversations in flight. When no signature is found for the first
 * {@code functionCall} of a model turn on a model that enforces them, the request translator sends
 * {@link #SKIP_VALIDATOR}, the documented escape hatch, instead of letting Gemini answer 400.
 *
 * <p>Signatures on text parts (Gemini's "final answer" signatures) are not enforced and have no OpenAI place: they
 * are dropped.
 *
 * <p>Thread-safe; one instance per gateway.
 */
public final class ThoughtSignatures {
    /** The dummy signature Gemini documents for function calls whose signature is unknown. */
    public static final String SKIP_VALIDATOR = "skip_thought_signature_validator";

    /** Where signatures live between the answer and the next request. */
    public enum Mode {
        /** Inside the tool call id (stateless, long ids). */
        IN_ID,
        /** In a bounded in-memory map keyed by a short tool call id. */
        CACHE
    }

    private static final String PREFIX = "call_";
    private static final int RANDOM = 16;
    private static final String MARK = "_ts";
    private static final int HEAD = PREFIX.length() + RANDOM; // 21
    private static final int CRC_CHARS = 6; // 4 bytes, base64url without padding
    private static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64URL_DEC = Base64.getUrlDecoder();
    private static final Base64.Encoder B64 = Base64.getEncoder();
    private static final Base64.Decoder B64_DEC = Base64.getDecoder();

    private final Mode mode;
    private final Cache cache;

    private ThoughtSignatures(Mode mode, Cache cache) {
        this.mode = mode;
        this.cache = cache;
    }

    /** Stateless: signatures travel inside the tool call ids. */
    public static ThoughtSignatures inId() {
        return new ThoughtSignatures(Mode.IN_ID, null);
    }

    /**
     * Short ids; signatures kept in memory.
     *
     * @param maxEntries most signatures kept; the least recently used goes first
     * @param ttl        how long a signature is kept after it was handed out
     * @param clock      time source
     */
    public static ThoughtSignatures cache(int maxEntries, Duration ttl, Clock clock) {
        if (maxEntries < 1) {
            throw new IllegalArgumentException("maxEntries: " + maxEntries + " (expected: > 0)");
        }
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("ttl: " + ttl + " (expected: > 0)");
        }
        return new ThoughtSignatures(Mode.CACHE, new Cache(maxEntries, ttl.toMillis(), Objects.requireNonNull(clock)));
    }

    /** This instance's mode. */
    public Mode mode() {
        return mode;
    }

    /**
     * A new tool call id for a function call, carrying or remembering its signature.
     *
     * @param signature the {@code thoughtSignature} of the call's part (base64), or null
     */
    public String newToolCallId(String signature) {
        String id = Ids.random(PREFIX, RANDOM);
        if (signature == null || signature.isEmpty()) {
            return id;
        }
        if (mode == Mode.CACHE) {
            cache.put(id, signature);
            return id;
        }
        byte[] bytes;
        try {
            bytes = B64_DEC.decode(signature.replace('-', '+').replace('_', '/'));
        } catch (IllegalArgumentException notBase64) {
            return id; // only extra_content carries it
        }
        CRC32 crc = new CRC32();
        crc.update(bytes);
        long c = crc.getValue();
        byte[] crcBytes = {(byte) (c >>> 24), (byte) (c >>> 16), (byte) (c >>> 8), (byte) c};
        return id + MARK + B64URL.encodeToString(crcBytes) + B64URL.encodeToString(bytes);
    }

    /**
     * The signature a tool call id carries or was remembered for, as standard base64, or null if unknown (not one of
     * ours, damaged, expired, evicted).
     */
    public String signatureOf(String toolCallId) {
        if (toolCallId == null) {
            return null;
        }
        String embedded = decode(toolCallId);
        if (embedded != null) {
            return embedded;
        }
        return cache == null ? null : cache.get(toolCallId);
    }

    private static String decode(String id) {
        if (id.length() <= HEAD + MARK.length() + CRC_CHARS || !id.startsWith(PREFIX) || !id.startsWith(MARK, HEAD)) {
            return null;
        }
        int crcStart = HEAD + MARK.length();
        try {
            byte[] crcBytes = B64URL_DEC.decode(id.substring(crcStart, crcStart + CRC_CHARS));
            byte[] bytes = B64URL_DEC.decode(id.substring(crcStart + CRC_CHARS));
            CRC32 crc = new CRC32();
            crc.update(bytes);
            long c = crc.getValue();
            if (crcBytes.length != 4 || (byte) (c >>> 24) != crcBytes[0] || (byte) (c >>> 16) != crcBytes[1]
                    || (byte) (c >>> 8) != crcBytes[2] || (byte) c != crcBytes[3]) {
                return null;
            }
            return B64.encodeToString(bytes);
        } catch (IllegalArgumentException damaged) {
            return null;
        }
    }

    /** Bounded LRU map with a time to live; a lock, since it is touched once per tool call only. */
    private static final class Cache {
        private final int max;
        private final long ttlMillis;
        private final Clock clock;
        private final LinkedHashMap<String, Entry> map;

        Cache(int max, long ttlMillis, Clock clock) {
            this.max = max;
            this.ttlMillis = ttlMillis;
            this.clock = clock;
            this.map = new LinkedHashMap<>(Math.min(max, 1024), 0.75f, true) {
                private static final long serialVersionUID = 1L;

                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Entry> eldest) {
                    return size() > Cache.this.max;
                }
            };
        }

        synchronized void put(String id, String signature) {
            map.put(id, new Entry(signature, clock.millis() + ttlMillis));
        }

        synchronized String get(String id) {
            Entry e = map.get(id);
            if (e == null) {
                return null;
            }
            if (clock.millis() >= e.expiresAt) {
                map.remove(id);
                return null;
            }
            return e.signature;
        }
    }

    private record Entry(String signature, long expiresAt) {
    }
}
