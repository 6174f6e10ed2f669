package io.gemgate.core.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class SseEventSplitterTest {
    private final List<String> events = new ArrayList<>();

    private void feedAll(SseEventSplitter s, String stream, int splitAt) {
        byte[] b = stream.getBytes(StandardCharsets.UTF_8);
        for (int[] part : new int[][] {{0, Math.min(splitAt, b.length)}, {Math.min(splitAt, b.length), b.length}}) {
            ByteBuf chunk = Unpooled.wrappedBuffer(b, part[0], part[1] - part[0]);
            s.feed(chunk, d -> events.add(d.toString(StandardCharsets.UTF_8)));
            assertThat(chunk.refCnt()).isEqualTo(1);
            chunk.release();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"\r\n", "\n", "\r"})
    void splitsEventsAtEveryPossibleChunkBoundary(String eol) {
        String stream = "data: {\"a\":1}" + eol + eol + ": keep-alive" + eol + eol + "event: x" + eol
                + "data: {\"b\":2}" + eol + eol + "data:{\"c\":\"é\"}" + eol + eol;
        for (int split = 0; split <= stream.length(); split++) {
            events.clear();
            try (SseEventSplitter s = new SseEventSplitter(ByteBufAllocator.DEFAULT, 1 << 20)) {
                feedAll(s, stream, split);
                // A lone CR at the very end might still be followed by LF: the end of the stream settles it.
                s.flushPending(d -> events.add(d.toString(StandardCharsets.UTF_8)));
            }
            assertThat(events).as("split at %d", split).containsExactly("{\"a\":1}", "{\"b\":2}", "{\"c\":\"é\"}");
        }
    }

    @Test
    void joinsMultiLineDataAndKeepsAnUnfinishedEventPending() {
        try (SseEventSplitter s = new SseEventSplitter(ByteBufAllocator.DEFAULT, 1 << 20)) {
            feedAll(s, "data: one\ndata: two\n\ndata: tail", 3);
            assertThat(events).containsExactly("one\ntwo");
            assertThat(s.pendingBytes()).isEqualTo("data: tail".length());
            assertThat(s.flushPending(d -> events.add(d.toString(StandardCharsets.UTF_8)))).isTrue();
            assertThat(events).containsExactly("one\ntwo", "tail");
        }
    }

    @Test
    void refusesAnEventWithoutEnd() {
        try (SseEventSplitter s = new SseEventSplitter(ByteBufAllocator.DEFAULT, 64)) {
            ByteBuf big = Unpooled.copiedBuffer("data: " + "x".repeat(100), StandardCharsets.US_ASCII);
            assertThatThrownBy(() -> s.feed(big, d -> { })).hasMessageContaining("larger than 64");
            big.release();
        }
    }
}
