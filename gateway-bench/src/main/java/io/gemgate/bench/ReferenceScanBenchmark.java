package io.gemgate.bench;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.gemgate.core.affinity.ReferenceScanner;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.List;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.runner.RunnerException;

/**
 * What key affinity (README, "Files, cached contents, batches and stores") adds to the native path of a generation
 * call: {@link ReferenceScanner#scan} of the request body, once per request, to find the files, caches and stores it
 * references. Bodies as the server holds them (a composite of pooled direct buffers of at most 8 KiB), the same
 * conversation as {@link NativeRewriteBenchmark}: about 2 KB of text, or 200 KB with an inline image (base64, no quotes
 * to look at). {@code refs}: {@code none} (the common case: must cost next to nothing and allocate nothing) or
 * {@code file} (one {@code fileData.fileUri} and a {@code cachedContent}).
 */
@State(Scope.Benchmark)
public class ReferenceScanBenchmark extends AbstractBenchmark {
    @Param({"2k", "200k"})
    public String size;

    @Param({"none", "file"})
    public String refs;

    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private ByteBuf body;

    @Setup
    public void setUp() {
        String json = NativeRewriteBenchmark.body(size.equals("200k"), false);
        if (refs.equals("file")) {
            json = json.substring(0, json.length() - 1) + ",\"cachedContent\":\"cachedContents/abc123\"}";
            json = json.replace("{\"contents\":[", "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"fileData\":"
                    + "{\"mimeType\":\"application/pdf\",\"fileUri\":"
                    + "\"https://generativelanguage.googleapis.com/v1beta/files/q1w2e3r4t5\"}}]},");
        }
        byte[] b = json.getBytes(UTF_8);
        CompositeByteBuf c = alloc.compositeBuffer(64);
        for (int off = 0; off < b.length; off += 8192) {
            int len = Math.min(8192, b.length - off);
            c.addComponent(true, alloc.directBuffer(len).writeBytes(b, off, len));
        }
        body = c;
        List<String> found = ReferenceScanner.scan(body);
        int expected = refs.equals("file") ? 2 : 0;
        if ((found == null ? 0 : found.size()) != expected) {
            throw new IllegalStateException("unexpected references: " + found);
        }
    }

    @TearDown
    public void tearDown() {
        body.release();
    }

    @Benchmark
    public int scan() {
        List<String> found = ReferenceScanner.scan(body);
        return found == null ? 0 : found.size();
    }

    public static void main(String[] args) throws RunnerException {
        run(ReferenceScanBenchmark.class);
    }
}
