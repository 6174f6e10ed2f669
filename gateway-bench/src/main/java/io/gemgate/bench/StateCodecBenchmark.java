package io.gemgate.bench;

import io.gemgate.core.state.StateCodec;
import io.gemgate.core.state.StateCorruptException;
import io.gemgate.core.state.StateSnapshot;
import io.gemgate.core.state.StateSnapshot.KeyRecord;
import io.gemgate.core.state.StateSnapshot.ModelRecord;
import io.gemgate.core.tokens.TokenLimits;
import io.gemgate.core.tokens.TokenRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.runner.RunnerException;

/**
 * The state file's codec ({@link StateCodec}): what the persister thread spends every few seconds writing the state
 * of {@code keys} keys (two models each, with counters, a cooldown and an exhaustion) and 100 user tokens, and what
 * a start spends reading it back. A cold path, off the event loops; measured so that a change of codec shows its
 * cost at the pool sizes the gateway supports.
 */
@State(Scope.Benchmark)
public class StateCodecBenchmark extends AbstractBenchmark {

    @Param({"1000", "10000"})
    public int keys;

    private StateSnapshot snapshot;
    private byte[] file;

    @Setup
    public void setUp() {
        List<KeyRecord> records = new ArrayList<>(keys);
        for (int i = 0; i < keys; i++) {
            records.add(new KeyRecord(StateSnapshot.fingerprint("AIzaBenchKey" + i), i % 50 == 0, false,
                    i % 97 == 0 ? 1_765_000_000_000L : 0, i % 97 == 0 ? "API_KEY_INVALID" : "", List.of(
                    new ModelRecord("gemini-2.5-flash", 1_765_100_060_000L + i, 2, 0, 1_765_094_400_000L, 40 + i,
                            35, 2, 3, 12_000L * i, 8_000L * i),
                    new ModelRecord("gemini-2.5-pro", 0, 0, 1_765_180_800_000L, 1_765_094_400_000L, 100, 97, 0, 3,
                            50_000, 20_000))));
        }
        List<TokenRecord> tokens = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            tokens.add(new TokenRecord(String.format("tok_%012d", i), "user " + i, 1_765_000_000_000L,
                    String.format("%064x", i), TokenLimits.builder().requestsPerMinute(60)
                    .allowedModels(Set.of("gemini-2.5-flash")).build(), true, 1_765_100_000_000L,
                    1_765_094_400_000L, 12, 3400, 5600, 120, 90_000));
        }
        snapshot = new StateSnapshot(StateSnapshot.CURRENT_VERSION, 1_765_100_123_456L, records, List.of(),
                List.of(), tokens, "{\"strategy\":\"least_used\",\"maxAttempts\":5}");
        file = StateCodec.encode(snapshot);
    }

    @Benchmark
    public byte[] encode() {
        return StateCodec.encode(snapshot);
    }

    @Benchmark
    public StateSnapshot decode() throws StateCorruptException {
        return StateCodec.decode(file);
    }

    public static void main(String[] args) throws RunnerException {
        run(StateCodecBenchmark.class);
    }
}
