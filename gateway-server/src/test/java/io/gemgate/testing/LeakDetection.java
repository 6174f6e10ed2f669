package io.gemgate.testing;

import io.netty.buffer.AbstractByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.lang.reflect.Field;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Fails a test class that leaked a reference-counted netty object. Use {@code @ExtendWith(LeakDetection.class)},
 * listed <b>first</b> among the class's extensions.
 *
 * <p>Loading this class sets the leak level to PARANOID and installs a {@link ResourceLeakDetectorFactory} whose
 * detectors record every leak report in a static queue (besides logging it as usual). Netty creates the
 * {@code ByteBuf} detector once, when {@code AbstractByteBuf} is initialised, so the factory only covers buffers if it
 * is installed before any buffer is allocated in this JVM; when another test class allocated first, the extension
 * falls back to a leak listener on netty's existing {@code ByteBuf} detector (found reflectively).
 *
 * <p>After all tests of the class, {@link #assertNoLeaks()} forces pending reports out (GC, then allocations, which is
 * when netty polls for collected-but-unreleased buffers) and fails the class with the recorded reports. A leak is
 * reported by whichever class flushes after the buffer became garbage, normally the class that leaked it.
 */
public final class LeakDetection implements AfterAllCallback {

    private static final Queue<String> LEAKS = new ConcurrentLinkedQueue<>();
    private static final int FLUSH_ROUNDS = 5;

    static {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
        listenToByteBufDetector();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        assertNoLeaks();
    }

    /**
     * Flushes pending leak reports and fails if any was recorded since the last {@link #clear()}; clears either way.
     *
     * @throws AssertionError listing every leak report
     */
    public static void assertNoLeaks() {
        List<String> leaks = flushLeaks();
        clear();
        if (!leaks.isEmpty()) {
            throw new AssertionError(leaks.size() + " netty resource leak(s):\n\n" + String.join("\n\n", leaks));
        }
    }

    /** Forces pending leak reports out and returns every report recorded since the last {@link #clear()}. */
    public static List<String> flushLeaks() {
        ByteBufAllocator[] allocators = {
                PooledByteBufAllocator.DEFAULT, UnpooledByteBufAllocator.DEFAULT, ByteBufAllocator.DEFAULT};
        for (int round = 0; round < FLUSH_ROUNDS; round++) {
            awaitGc();
            for (ByteBufAllocator alloc : allocators) {
                alloc.heapBuffer(1).release();
                alloc.directBuffer(1).release();
            }
        }
        return List.copyOf(LEAKS);
    }

    /** Forgets the recorded reports. */
    public static void clear() {
        LEAKS.clear();
    }

    /** Runs a GC and waits (bounded) until the reference handler has enqueued what it collected. */
    private static void awaitGc() {
        ReferenceQueue<Object> queue = new ReferenceQueue<>();
        WeakReference<Object> sentinel = new WeakReference<>(new Object(), queue);
        System.gc();
        try {
            queue.remove(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Reference.reachabilityFence(sentinel);
    }

    private static void record(String resourceType, String records) {
        LEAKS.add("LEAK: " + resourceType + ".release() was not called before it's garbage-collected."
                + (records.isEmpty() ? " (no access records)" : records));
    }

    /** The fallback when {@code AbstractByteBuf}'s detector was created before our factory was installed. */
    private static void listenToByteBufDetector() {
        try {
            Field field = AbstractByteBuf.class.getDeclaredField("leakDetector");
            field.setAccessible(true);
            Object detector = field.get(null);
            if (!(detector instanceof RecordingDetector)) {
                ((ResourceLeakDetector<?>) detector).setLeakListener(LeakDetection::record);
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("cannot hook netty's ByteBuf leak detector", e);
        }
    }

    private static final class RecordingFactory extends ResourceLeakDetectorFactory {
        @Override
        public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval) {
            return new RecordingDetector<>(resource, samplingInterval);
        }

        @Override
        @Deprecated // abstract in netty, so it must be implemented; maxActive is ignored by netty too
        public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval,
                                                                  long maxActive) {
            return newResourceLeakDetector(resource, samplingInterval);
        }
    }

    private static final class RecordingDetector<T> extends ResourceLeakDetector<T> {
        RecordingDetector(Class<?> resource, int samplingInterval) {
            super(resource, samplingInterval);
        }

        @Override
        protected boolean needReport() {
            return true; // the default depends on the logger's level; we want every report
        }

        @Override
        protected void reportTracedLeak(String resourceType, String records) {
            record(resourceType, records);
            super.reportTracedLeak(resourceType, records);
        }

        @Override
        protected void reportUntracedLeak(String resourceType) {
            record(resourceType, "");
            super.reportUntracedLeak(resourceType);
        }
    }
}
