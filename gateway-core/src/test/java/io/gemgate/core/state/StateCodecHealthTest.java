package io.gemgate.core.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static io.gemgate.core.state.StateCodecTest.corruption;
import static io.gemgate.core.state.StateCodecTest.utf8;

import io.gemgate.core.state.StateSnapshot.HealthDay;
import io.gemgate.core.state.StateSnapshot.KeyHealth;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The keys' health history in the state file: kept, optional, and validated like the rest. */
class StateCodecHealthTest {
    private static final String FP = "0123456789abcdef";

    private static StateSnapshot withHealth() {
        return new StateSnapshot(StateSnapshot.CURRENT_VERSION, 9, List.of(), List.of(), List.of(), List.of(), "",
                List.of(
                new KeyHealth(FP, 1_700_086_400_000L, "bad 3 days in a row", List.of(
                        new HealthDay(1_700_000_000_000L, 0, 4, 2, 2),
                        new HealthDay(1_699_913_600_000L, 12, 1, 0, 0))),
                new KeyHealth("fedcba9876543210", 0, "", List.of())));
    }

    @Test
    void roundTripsTheHistory() throws Exception {
        StateSnapshot s = withHealth();
        String json = new String(StateCodec.encode(s), StandardCharsets.UTF_8);
        assertThat(json).contains("\"health\" : [").contains("\"checksFailed\" : 2");
        assertThat(StateCodec.decode(StateCodec.encode(s))).isEqualTo(s);
    }

    @Test
    void aFileWithoutHistoryLoadsWithNoneAndIsWrittenWithoutIt() throws Exception {
        // What a gateway wrote before it kept a history.
        StateSnapshot old = StateCodec.decode(utf8("""
                {"version": 2, "savedAtMillis": 5,
                 "keys": [{"fingerprint": "0123456789abcdef", "removed": true, "models": []}],
                 "addedKeys": [], "keyEdits": [], "tokens": []}
                """));
        assertThat(old.health()).isEmpty();
        assertThat(old.keys().get(0).removed()).isTrue();
        assertThat(new String(StateCodec.encode(old), StandardCharsets.UTF_8)).doesNotContain("health");
    }

    @Test
    void missingHistoryFieldsDefaultAndUnknownOnesAreSkipped() throws Exception {
        StateSnapshot s = StateCodec.decode(utf8("""
                {"version": 2, "health": [{"fingerprint": "0123456789abcdef", "later": {"x": [1]},
                  "days": [{"dayStartMillis": 7, "ok": 1, "newer": true}]}]}
                """));
        assertThat(s.health()).containsExactly(new KeyHealth(FP, 0, "", List.of(new HealthDay(7, 1, 0, 0, 0))));
    }

    @Test
    void aHistoryOfTheWrongShapeIsCorrupt() {
        assertThat(corruption("{\"version\":2,\"health\":{}}")).isEqualTo("health: expected an array, found an object");
        assertThat(corruption("{\"version\":2,\"health\":[{\"days\":[{\"ok\":-1}]}]}"))
                .isEqualTo("health[0].days[0].ok: negative (-1)");
        assertThat(corruption("{\"version\":2,\"health\":[{\"days\":[{\"checks\":1,\"checksFailed\":2}]}]}"))
                .isEqualTo("health[0].days[0].checksFailed: 2 is more than checks (1)");
        assertThat(corruption("{\"version\":2,\"health\":[{\"removedReason\":3}]}"))
                .isEqualTo("health[0].removedReason: expected a string, found an integer");
        assertThatThrownBy(() -> new HealthDay(0, 0, 0, 1, 2)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aVersion1FileIgnoresAHistoryWhateverItsShape() throws Exception {
        assertThat(StateCodec.decode(utf8("{\"version\":1,\"health\":7}")).health()).isEmpty();
    }
}
