package io.gemgate.core.json;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Cuts an SSE byte stream into events as chunks arrive, whatever the chunk boundaries: an event ends at a blank line
 * ({@code \n\n}, {@code \r\n\r\n} or {@code \r\r}); its {@code data:} lines (one optional space after the colon
 * removed) are joined with {@code \n} and handed to the listener. Comment lines ({@code :}) and other fields are
 * skipped. Not thread-safe: one per response.
 *
 * <p>Buffers: chunks are copied into one growing buffer owned by the splitter, released by {@link #close()}. The
 * payload handed to the listener is a slice of it, valid only during the call.
 */
public final class SseEventSplitter implements AutoCloseable {
    /** Receives each event's data. */
    @FunctionalInterface
    public interface Listener {
        /** @param data the joined {@code data:} payload; a slice valid only during this call (do not release) */
        void onEvent(ByteBuf data);
    }

    private final ByteBufAllocator alloc;
    private final int maxEventBytes;
    private ByteBuf pending;
    private ByteBuf joined;

    /**
     * @param maxEventBytes an event larger than this is an error (protects against a stream without separators)
     */
    public SseEventSplitter(ByteBufAllocator alloc, int maxEventBytes) {
        this.alloc = alloc;
        this.maxEventBytes = maxEventBytes;
    }

    /**
     * Feeds a chunk (not released, reader index unchanged) and calls the listener for every event it completes.
     *
     * @throws IllegalStateException when an event grows past the limit
     */
    public void feed(ByteBuf chunk, Listener listener) {
        if (pending == null) {
            pending = alloc.buffer(Math.max(256, chunk.readableBytes()));
        }
        pending.writeBytes(chunk, chunk.readerIndex(), chunk.readableBytes());
        int start = pending.readerIndex();
        int end = pending.writerIndex();
        int lineStart = start;
        int eventStart = start;
        for (int i = start; i < end; i++) {
            byte b = pending.getByte(i);
            if (b != '\n' && b != '\r') {
                continue;
            }
            int lineEnd = i;
            if (b == '\r' && i + 1 < end && pending.getByte(i + 1) == '\n') {
                i++;
            } else if (b == '\r' && i + 1 == end) {
                break; // a CR at the end of the chunk: wait to see whether LF follows
            }
            if (lineEnd == lineStart) { // blank line: the event is complete
                emit(eventStart, lineStart, listener);
                eventStart = i + 1;
            }
            lineStart = i + 1;
        }
        pending.readerIndex(eventStart);
        if (pending.readableBytes() > maxEventBytes) {
            throw new IllegalStateException("SSE event larger than " + maxEventBytes + " bytes");
        }
        pending.discardSomeReadBytes();
    }

    /** Joins the data lines of the event in [from, to) and hands them on. */
    private void emit(int from, int to, Listener listener) {
        ByteBuf j = joined == null ? (joined = alloc.buffer(256)) : joined;
        j.clear();
        int dataLines = 0;
        int lineStart = from;
        for (int i = from; i <= to; i++) {
            boolean eol = i == to || pending.getByte(i) == '\n' || pending.getByte(i) == '\r';
            if (!eol) {
                continue;
            }
            int len = i - lineStart;
            if (len >= 5 && pending.getByte(lineStart) == 'd' && pending.getByte(lineStart + 1) == 'a'
                    && pending.getByte(lineStart + 2) == 't' && pending.getByte(lineStart + 3) == 'a'
                    && pending.getByte(lineStart + 4) == ':') {
                int valueStart = lineStart + 5;
                if (valueStart < i && pending.getByte(valueStart) == ' ') {
                    valueStart++;
                }
                if (dataLines++ > 0) {
                    j.writeByte('\n');
                }
                j.writeBytes(pending, valueStart, i - valueStart);
            }
            if (i < to && pending.getByte(i) == '\r' && i + 1 < to && pending.getByte(i + 1) == '\n') {
                i++;
            }
            lineStart = i + 1;
        }
        if (dataLines > 0) {
            listener.onEvent(j);
        }
    }

    /** Bytes received after the last complete event (an unterminated event at the end of a stream). */
    public int pendingBytes() {
        return pending == null ? 0 : pending.readableBytes();
    }

    /**
     * Treats what is pending as a last event, for streams that end without the final blank line. Returns true when
     * an event was emitted.
     */
    public boolean flushPending(Listener listener) {
        if (pending == null || !pending.isReadable()) {
            return false;
        }
        int from = pending.readerIndex();
        int to = pending.writerIndex();
        while (to > from && (pending.getByte(to - 1) == '\n' || pending.getByte(to - 1) == '\r')) {
            to--;
        }
        boolean[] emitted = {false};
        emit(from, to, d -> {
            emitted[0] = true;
            listener.onEvent(d);
        });
        pending.readerIndex(pending.writerIndex());
        return emitted[0];
    }

    @Override
    public void close() {
        if (pending != null) {
            pending.release();
            pending = null;
        }
        if (joined != null) {
            joined.release();
            joined = null;
        }
    }
}
