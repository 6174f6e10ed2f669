package io.gemgate.server;

import io.gemgate.bench.AbstractBenchmark;
import io.gemgate.core.requestlog.AttemptRecord;
import io.gemgate.core.requestlog.RequestRecord;
import java.util.List;
import org.apache.logging.log4j.LogManager;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * What the access log's writer ({@code gemgate-access-log}) spends encoding one access line from its request's record
 * ({@link AccessLineWriter}, README "Logging"), in the bytes of the shipped layout: over 4,096 records made apart, each
 * with a path of its own (as each request's is), so that the records are not all in the first level cache. In the
 * package of the class it measures, which is package-private.
 *
 * <pre>
 * java -jar gateway-bench/target/benchmarks.jar AccessLine -prof gc
 * </pre>
 */
@State(Scope.Thread)
public class AccessLineBenchmark extends AbstractBenchmark {
    private static final int RECORDS = 4096;
    private AccessLineWriter writer;
    private RequestRecord[] records;
    private final byte[] block = new byte[64 * 1024];
    private int next;
    private int at;

    @Setup
    public void setUp() {
        writer = new AccessLineWriter((org.apache.logging.log4j.core.Logger) LogManager.getLogger("gemgate.access"));
        records = new RequestRecord[RECORDS];
        for (int i = 0; i < RECORDS; i++) {
            String path = new StringBuilder("/v1beta/models/gemini-2.5-flash:generateContent").toString();
            records[i] = new RequestRecord(1_796_000_000_000L + i, "POST", path, "native", "gemini",
                    "gemini-2.5-flash", "", "", "127.0.0.1", false, 200, 512, 3, 3, 8, 41, 0,
                    List.of(new AttemptRecord("k" + (i % 10), "AIza...000" + (i % 10), 0, "", 200, "success", null,
                            null, 3)), null, null, null, "benc...oken", true, false);
        }
    }

    /** One line into a 64 KB block, started again when full (as the writer's block is handed on). */
    @Benchmark
    public int line() {
        RequestRecord r = records[next++ & (RECORDS - 1)];
        if (at > block.length - 1024) {
            at = 0;
        }
        at = writer.line(r, block, at);
        return at;
    }

    public static void main(String[] args) throws Exception {
        run(AccessLineBenchmark.class);
    }
}
