package io.gemgate.core.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SetAsideBrakeTest {
    private static final long T0 = 1_800_000_000_000L;

    @Test
    void admitsHalfThePoolPerReasonWithinTheWindowThenHolds() {
        SetAsideBrake b = new SetAsideBrake(0.5, 60_000);
        for (int i = 0; i < 3; i++) {
            assertThat(b.admit("API_KEY_INVALID", T0 + i, 6)).isTrue();
        }
        assertThat(b.admit("API_KEY_INVALID", T0 + 10, 6)).isFalse();
        assertThat(b.admit("API_KEY_INVALID", T0 + 20, 6)).isFalse();
        assertThat(b.braked()).isEqualTo(2);
        assertThat(b.alerts(T0 + 30)).singleElement().satisfies(a -> {
            assertThat(a.reason()).isEqualTo("API_KEY_INVALID");
            assertThat(a.sinceMillis()).isEqualTo(T0 + 10);
            assertThat(a.refused()).isEqualTo(2);
            assertThat(a.limit()).isEqualTo(3);
        });
        // Another reason has its own count.
        assertThat(b.admit("SERVICE_DISABLED", T0 + 40, 6)).isTrue();
    }

    @Test
    void staysEngagedWhileRefusalsContinueAndReleasesAfterAQuietWindow() {
        SetAsideBrake b = new SetAsideBrake(0.5, 60_000);
        assertThat(b.admit("R", T0, 2)).isTrue();
        assertThat(b.admit("R", T0 + 1, 2)).isFalse();
        assertThat(b.admit("R", T0 + 59_000, 2)).isFalse(); // still refusing: the earlier set-aside left the window,
        assertThat(b.admit("R", T0 + 100_000, 2)).isFalse(); // but the brake holds while refusals keep coming
        assertThat(b.isEngaged(T0 + 100_001)).isTrue();
        assertThat(b.isEngaged(T0 + 160_000)).isFalse();
        assertThat(b.admit("R", T0 + 160_001, 2)).isTrue();
    }

    @Test
    void aSingleKeyPoolMaySetAsideItsKeyAndReleaseForgetsEverything() {
        SetAsideBrake b = new SetAsideBrake();
        assertThat(b.limit(1)).isEqualTo(1);
        assertThat(b.admit("R", T0, 1)).isTrue();
        assertThat(b.admit("R", T0 + 1, 1)).isFalse();
        b.release();
        assertThat(b.alerts(T0 + 2)).isEmpty();
        assertThat(b.admit("R", T0 + 2, 1)).isTrue();
    }

    @Test
    void settingsAreValidated() {
        assertThatThrownBy(() -> new SetAsideBrake(0, 1000)).hasMessageContaining("share: 0.0");
        assertThatThrownBy(() -> new SetAsideBrake(0.5, 0)).hasMessageContaining("windowMillis: 0");
    }

    @Test
    void theKeyPoolAsksTheBrakeAndKeepsBrakedKeysInRotation() {
        java.util.List<KeySpec> specs = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) {
            specs.add(KeySpec.of("AIzaSyBRAKE" + "y".repeat(24) + String.format("%04d", i)));
        }
        KeyPool pool = new KeyPool(specs, new PoolSettings(Strategy.ROUND_ROBIN, 3, 60_000, 900_000, 5_000),
                new QuotaCalendar(java.time.ZoneId.of("America/Los_Angeles")), () -> T0);
        ModelRef m = pool.model("gemini-2.5-flash");
        Verdict invalid = new Verdict(VerdictKind.INVALID_KEY, -1, "API_KEY_INVALID");
        for (ApiKey k : pool.keys()) {
            pool.record(k, m, invalid, 10);
        }
        assertThat(pool.keys().stream().filter(ApiKey::isInvalid).count()).isEqualTo(2);
        assertThat(pool.hasAvailableKey(m)).isTrue();
        assertThat(pool.brake().alerts(T0)).hasSize(1);
    }
}
