package io.gemgate.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@ExtendWith(LeakDetection.class)
class LeakDetectionTest {

    private static final String HINT = "deliberate-leak-for-LeakDetectionTest";

    @AfterEach
    void forgetDeliberateLeaks() {
        LeakDetection.clear();
    }

    @Test
    void recordsALeakedBufferAndFailsTheCheck() {
        leakOneBuffer();

        List<String> leaks = List.of();
        for (int attempt = 0; attempt < 10 && leaks.stream().noneMatch(l -> l.contains(HINT)); attempt++) {
            leaks = LeakDetection.flushLeaks();
        }

        assertThat(leaks).anySatisfy(leak -> assertThat(leak).startsWith("LEAK: ByteBuf")
                .contains(HINT).contains("leakOneBuffer"));
        assertThatThrownBy(LeakDetection::assertNoLeaks).isInstanceOf(AssertionError.class).hasMessageContaining(HINT);
        assertThat(LeakDetection.flushLeaks()).isEmpty(); // assertNoLeaks cleared them
    }

    @Test
    void releasedBuffersAreNotReported() {
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(16).writeLong(42);
        buf.release();

        assertThat(LeakDetection.flushLeaks()).isEmpty();
    }

    private static void leakOneBuffer() {
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(16);
        buf.writeLong(42).touch(HINT);
        // not released: the buffer becomes garbage when this method returns
    }
}
