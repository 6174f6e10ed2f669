package io.gemgate.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Defaults shared by every Gemgate microbenchmark: throughput in operations per second, 2 forks, 3 warmup
 * and 5 measurement iterations of 1 second, Netty's leak detector off (it samples buffers and would distort both time
 * and allocation figures).
 *
 * <p>The usual way to run is the shaded jar, where command-line options override these annotations:
 * <pre>
 * java -jar gateway-bench/target/benchmarks.jar KeySelection -prof gc
 * </pre>
 * From an IDE, a subclass's {@code main} calls {@link #run(Class, String...)}, which also writes the results as JSON to
 * {@code target/jmh-<SimpleName>.json}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 2, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled", "-XX:+UseG1GC"})
@Warmup(iterations = 3, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
public abstract class AbstractBenchmark {

    /**
     * Runs every benchmark method of {@code benchmark} with the defaults above and the GC profiler (allocation per
     * operation), and writes JSON results next to the build output.
     *
     * @param extraJvmArgs appended to the forked JVMs' arguments
     */
    protected static void run(Class<? extends AbstractBenchmark> benchmark, String... extraJvmArgs)
            throws RunnerException {
        ChainedOptionsBuilder options = new OptionsBuilder()
                .include(benchmark.getName() + "\\.")
                .addProfiler("gc")
                .resultFormat(ResultFormatType.JSON)
                .result("target/jmh-" + benchmark.getSimpleName() + ".json");
        if (extraJvmArgs.length > 0) {
            options.jvmArgsAppend(extraJvmArgs);
        }
        new Runner(options.build()).run();
    }
}
