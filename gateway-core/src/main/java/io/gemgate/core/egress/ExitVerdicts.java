package io.gemgate.core.egress;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;

/**
 * What an upstream answer says about the exit it came through, apart from what it says about the key
 * ({@link io.gemgate.core.keys.VerdictClassifier}): a small check made before the key's verdict.
 */
public final class ExitVerdicts {
    /**
     * The message of Google's 400 FAILED_PRECONDITION for requests from a country the Gemini API does not serve
     * (Gemini API docs, "Available regions"; "Troubleshooting": "User location is not supported for the API use").
     */
    static final byte[] LOCATION = "User location is not supported".getBytes(StandardCharsets.US_ASCII);

    private ExitVerdicts() {
    }

    /**
     * True when a 400's body is Google's refusal of the caller's location. Reads the body without moving its
     * indexes; the caller keeps ownership.
     */
    public static boolean isLocationRefused(ByteBuf body) {
        if (body == null || body.readableBytes() < LOCATION.length) {
            return false;
        }
        return ByteBufUtil.indexOf(io.netty.buffer.Unpooled.wrappedBuffer(LOCATION), body) >= 0;
    }
}
