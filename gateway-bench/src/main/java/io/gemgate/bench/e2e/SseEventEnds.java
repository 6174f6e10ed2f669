package io.gemgate.bench.e2e;

import io.netty.util.ByteProcessor;

/**
 * Finds the ends of SSE events in a byte stream, across chunk boundaries: a blank line, that is two line feeds with
 * only carriage returns between them. Feed each chunk with {@code content.forEachByte(scanner)}; {@link #onEvent()}
 * runs once per event end. One per connection, on its event loop; {@link #reset()} between answers.
 */
abstract class SseEventEnds implements ByteProcessor {
    /** Line feeds in a row, carriage returns between them ignored. */
    private int newlines;

    /** An event has just ended. */
    abstract void onEvent();

    /** Forgets a half-seen blank line: the next answer starts afresh. */
    final void reset() {
        newlines = 0;
    }

    @Override
    public final boolean process(byte b) {
        if (b == '\n') {
            if (++newlines == 2) {
                onEvent();
            }
        } else if (b != '\r') {
            newlines = 0;
        }
        return true;
    }
}
