package io.gemgate.bench;

import io.gemgate.core.requestlog.AttemptRecord;
import io.gemgate.core.requestlog.RequestRecord;
import io.gemgate.core.requestlog.UsageCounters;
import java.util.List;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/**
 * What each ended request costs its event loop for the usage history (README, "Request log and usage"):
 * {@link UsageCounters#count} of a served request (token, model, key and group cells), on one thread and on two at
 * once, as two event loops count. The second figure shows whether the loops share cache lines per request.
 *
 * <pre>
 * java -jar gateway-bench/target/benchmarks.jar UsageCounting -prof gc
 * </pre>
 */
@State(Scope.Benchmark)
public class UsageCountingBenchmark extends AbstractBenchmark {
    private UsageCounters counters;
    private RequestRecord served;
    private long now;

    @Setup
    public void setUp() {
        counters = new UsageCounters();
        served = new RequestRecord(1_796_000_000_000L, "POST", "/v1beta/models/gemini-2.5-flash:generateContent",
                "native", "gemini", "gemini-2.5-flash", "", "", "127.0.0.1", false, 200, 512, 40, 38, 8, 41, 0,
                List.of(new AttemptRecord("k3", "AIza...wxyz", 0, "", 200, "success", null, null, 38)), null, null,
                null);
        now = 1_796_000_010_000L; // one minute for the whole run: the cells exist after the first call
    }

    @Benchmark
    @Threads(1)
    public void count1Thread() {
        counters.count(now, served);
    }

    @Benchmark
    @Threads(2)
    public void count2Threads() {
        counters.count(now, served);
    }

    public static void main(String[] args) throws Exception {
        run(UsageCountingBenchmark.class);
    }
}
