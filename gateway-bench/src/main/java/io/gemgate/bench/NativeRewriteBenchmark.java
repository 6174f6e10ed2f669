package io.gemgate.bench;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.gemgate.core.json.NativeBodyRewriter;
import io.gemgate.core.settings.Thinking;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.runner.RunnerException;

/**
 * The native hot path when a live setting applies (gateway-bench/README.md, "Native body rewrite"):
 * {@link NativeBodyRewriter#rewrite} of a {@code generateContent} body with the gateway's system instruction and
 * {@link Thinking#OFF}, once per request. The rewriter is made per operation, as the server makes it per request.
 *
 * <p>Bodies, held as the server receives them (a composite of pooled direct buffers of at most 8 KiB):
 * <ul>
 *   <li>{@code size}: about 2 KB (a short conversation) or 200 KB (the same plus one inline image of base64, which
 *       the parser skips and the output only slices);</li>
 *   <li>{@code shape}: {@code insert} (no {@code systemInstruction} nor {@code thinkingConfig}: both members are
 *       inserted, {@code systemInstruction} after the opening brace and {@code thinkingConfig}
 *       into {@code generationConfig}) or {@code merge} (the request's own {@code systemInstruction} and
 *       {@code thinkingConfig}, which are written anew around ours).</li>
 * </ul>
 * Each operation rewrites a retained duplicate of the body and releases the result, so the input is never consumed.
 */
@State(Scope.Benchmark)
public class NativeRewriteBenchmark extends AbstractBenchmark {
    private static final String INSTRUCTION = "You are the support assistant of a Java gateway. Answer in the "
            + "language of the question, cite configuration keys exactly, and keep answers under 200 words.";

    @Param({"2k", "200k"})
    public String size;

    @Param({"insert", "merge"})
    public String shape;

    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private ByteBuf body;

    @Setup
    public void setUp() {
        byte[] json = body(size.equals("200k"), shape.equals("merge")).getBytes(UTF_8);
        CompositeByteBuf c = alloc.compositeBuffer(64);
        for (int off = 0; off < json.length; off += 8192) {
            int len = Math.min(8192, json.length - off);
            c.addComponent(true, alloc.directBuffer(len).writeBytes(json, off, len));
        }
        body = c;
        ByteBuf out = rewritten();
        String text = out.toString(UTF_8);
        out.release();
        if (!text.contains("\"thinkingBudget\":0") || !text.contains(INSTRUCTION)
                || text.length() < json.length + INSTRUCTION.length()) {
            throw new IllegalStateException("unexpected rewrite: " + text.substring(0, Math.min(600, text.length())));
        }
    }

    @TearDown
    public void tearDown() {
        body.release();
    }

    @Benchmark
    public int rewrite() {
        ByteBuf out = rewritten();
        int n = out.readableBytes();
        out.release();
        return n;
    }

    private ByteBuf rewritten() {
        NativeBodyRewriter r = NativeBodyRewriter.of(INSTRUCTION, Thinking.OFF, "gemini-2.5-flash");
        return r.rewrite(body.retainedDuplicate(), alloc);
    }

    /** A native request: a few turns of text, optionally an image, and the request's own settings when merging. */
    static String body(boolean image, boolean own) {
        String turn = "How do I make the gateway retry on another key when Gemini answers 429? I set maxAttempts to "
                + "3 but the client still sees the error sometimes, mostly in the morning.";
        StringBuilder sb = new StringBuilder(image ? 210_000 : 2_500).append("{\"contents\":[");
        for (int i = 0; i < 9; i++) {
            sb.append("{\"role\":\"").append(i % 2 == 0 ? "user" : "model").append("\",\"parts\":[{\"text\":\"")
                    .append(turn).append("\"}]},");
        }
        sb.append("{\"role\":\"user\",\"parts\":[{\"text\":\"").append(turn).append('"');
        if (image) {
            sb.append("},{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"");
            for (int i = 0; i < 200_000 / 64; i++) {
                sb.append("iVBORw0KGgoAAAANSUhEUgAAAQAAAAEACAYAAABccqhmAAAAGXRFWHRTb2Z0d2FyZQ");
            }
            sb.append('"').append('}');
        }
        sb.append("}]}]");
        if (own) {
            sb.append(",\"systemInstruction\":{\"parts\":[{\"text\":\"Be brief.\"}]},\"generationConfig\":{")
                    .append("\"temperature\":0.4,\"thinkingConfig\":{\"thinkingBudget\":2048,")
                    .append("\"includeThoughts\":true}}");
        } else {
            sb.append(",\"generationConfig\":{\"temperature\":0.4,\"maxOutputTokens\":1024}");
        }
        return sb.append('}').toString();
    }

    public static void main(String[] args) throws RunnerException {
        run(NativeRewriteBenchmark.class);
    }
}
