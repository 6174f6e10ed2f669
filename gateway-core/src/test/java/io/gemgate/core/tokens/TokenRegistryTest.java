package io.gemgate.core.tokens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class TokenRegistryTest {
    private final AtomicLong now = new AtomicLong(1_700_000_000_000L);
    private final TokenRegistry registry = new TokenRegistry(now::get, new SecureRandom());
    private final List<TokenEvent> events = new ArrayList<>();

    {
        registry.addListener(events::add);
    }

    @Test
    void createsIdAndSecretInTheDocumentedFormat() {
        TokenRegistry.Created c = registry.create("alice", TokenLimits.unlimited());
        assertThat(c.id()).matches("tok_[a-z0-9]{12}");
        assertThat(c.name()).isEqualTo("alice");
        assertThat(c.secret()).matches("sk-[A-Za-z0-9]{48}").hasSize(TokenRegistry.SECRET_LENGTH);
        assertThat(c.token().id()).isEqualTo(c.id());
        assertThat(c.token().createdAtMillis()).isEqualTo(now.get());
        assertThat(c.token().isEnabled()).isTrue();
        assertThat(c.token().lastUsedMillis()).isZero();
    }

    @Test
    void storesOnlyTheHashOfTheSecret() {
        TokenRegistry.Created c = registry.create("alice", TokenLimits.unlimited());
        UserToken t = c.token();
        assertThat(t.secretHash()).isEqualTo(TokenRegistry.sha256Hex(c.secret())).matches("[0-9a-f]{64}");
        assertThat(t.toRecord().toString()).doesNotContain(c.secret());
        assertThat(t.toString()).doesNotContain(c.secret()).doesNotContain(t.secretHash()).contains(c.id());
        assertThat(c.toString()).doesNotContain(c.secret()).contains("hidden");
        assertThat(events).singleElement().satisfies(e -> {
            assertThat(e.kind()).isEqualTo(TokenEvent.Kind.CREATED);
            assertThat(e.record().toString()).doesNotContain(c.secret());
        });
    }

    @Test
    void sha256HexMatchesAKnownVector() {
        assertThat(TokenRegistry.sha256Hex("abc"))
                .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    @Test
    void secretsAndIdsAreDistinct() {
        Set<String> secrets = new HashSet<>();
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            TokenRegistry.Created c = registry.create("t" + i, TokenLimits.unlimited());
            secrets.add(c.secret());
            ids.add(c.id());
        }
        assertThat(secrets).hasSize(200);
        assertThat(ids).hasSize(200);
        assertThat(registry.size()).isEqualTo(200);
    }

    @Test
    void authenticatesTheSecretAsAnyCharSequence() {
        TokenRegistry.Created c = registry.create("alice", TokenLimits.unlimited());
        registry.create("bob", TokenLimits.unlimited());
        assertThat(registry.authenticate(c.secret())).isSameAs(c.token());
        assertThat(registry.authenticate(new StringBuilder(c.secret()))).isSameAs(c.token());
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {"", "sk-", "sk-short", "Bearer x", "ab-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "sk-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "sk-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\u00e9"})
    void refusesWhatIsNotARegisteredSecret(String presented) {
        registry.create("alice", TokenLimits.unlimited());
        assertThat(registry.authenticate(presented)).isNull();
    }

    @Test
    void refusesNullAndNearMisses() {
        TokenRegistry.Created c = registry.create("alice", TokenLimits.unlimited());
        String s = c.secret();
        char last = s.charAt(s.length() - 1);
        String oneOff = s.substring(0, s.length() - 1) + (last == 'a' ? 'b' : 'a');
        assertThat(registry.authenticate(null)).isNull();
        assertThat(registry.authenticate(oneOff)).isNull();
        assertThat(registry.authenticate(s + "x")).isNull();
        assertThat(registry.authenticate(s.toUpperCase())).isNull();
    }

    @Test
    void revokingStopsTheSecretAtOnce() {
        TokenRegistry.Created c = registry.create("alice", TokenLimits.unlimited());
        assertThat(registry.revoke(c.id())).isTrue();
        assertThat(registry.authenticate(c.secret())).isNull();
        assertThat(registry.get(c.id())).isEmpty();
        assertThat(registry.revoke(c.id())).isFalse();
        assertThat(events).extracting(TokenEvent::kind)
                .containsExactly(TokenEvent.Kind.CREATED, TokenEvent.Kind.REVOKED);
        assertThat(events.get(1).record()).isNull();
    }

    @Test
    void disablingReplacesTheTokenAndKeepsItsCounters() {
        TokenRegistry.Created c = registry.create("alice", TokenLimits.unlimited());
        c.token().usage.lastUsed = 42; // as an admitted request would
        UserToken off = registry.setEnabled(c.id(), false).orElseThrow();
        assertThat(off.isEnabled()).isFalse();
        assertThat(off).isNotSameAs(c.token());
        assertThat(off.lastUsedMillis()).isEqualTo(42);
        assertThat(registry.authenticate(c.secret())).isSameAs(off);
        assertThat(registry.get(c.id())).containsSame(off);
        assertThat(c.token().isEnabled()).as("instances are immutable").isTrue();
        assertThat(registry.setEnabled(c.id(), false)).as("no change, no event").containsSame(off);
        assertThat(registry.setEnabled("tok_000000000000", true)).isEmpty();
        assertThat(events).extracting(TokenEvent::kind)
                .containsExactly(TokenEvent.Kind.CREATED, TokenEvent.Kind.UPDATED);
        assertThat(events.get(1).record().enabled()).isFalse();
    }

    @Test
    void setsLimitsAndRenames() {
        TokenRegistry.Created c = registry.create("alice", TokenLimits.unlimited());
        TokenLimits l = TokenLimits.builder().requestsPerMinute(5).build();
        assertThat(registry.setLimits(c.id(), l).orElseThrow().limits()).isEqualTo(l);
        assertThat(registry.rename(c.id(), "alice (laptop)").orElseThrow().name()).isEqualTo("alice (laptop)");
        assertThat(registry.authenticate(c.secret()).limits()).isEqualTo(l);
        assertThat(registry.authenticate(c.secret()).name()).isEqualTo("alice (laptop)");
        assertThat(registry.setLimits("tok_000000000000", l)).isEmpty();
        assertThat(registry.rename("tok_000000000000", "x")).isEmpty();
        assertThat(events).hasSize(3);
    }

    @ParameterizedTest(name = "[{index}] {1}")
    @CsvSource(delimiter = '|', value = {
            "' '     | name: blank (expected: 1 to 100 characters)",
            "''      | name: blank (expected: 1 to 100 characters)",
            "a\u0007b | name: contains a control character at index 1",
    })
    void refusesBadNames(String name, String message) {
        assertThatThrownBy(() -> registry.create(name, TokenLimits.unlimited()))
                .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
        assertThat(registry.size()).isZero();
    }

    @Test
    void refusesOverlongNames() {
        assertThatThrownBy(() -> registry.create("n".repeat(101), TokenLimits.unlimited()))
                .hasMessage("name: 101 characters (expected: 1 to 100)");
        assertThat(registry.create("n".repeat(100), TokenLimits.unlimited()).name()).hasSize(100);
    }

    @Test
    void listsOldestFirst() {
        TokenRegistry.Created a = registry.create("a", TokenLimits.unlimited());
        now.addAndGet(1000);
        TokenRegistry.Created b = registry.create("b", TokenLimits.unlimited());
        now.addAndGet(-5000);
        TokenRegistry.Created c = registry.create("c", TokenLimits.unlimited());
        assertThat(registry.list()).extracting(UserToken::id).containsExactly(c.id(), a.id(), b.id());
    }

    @Test
    void snapshotAndRestoreKeepTokensAndCountersWithoutSecrets() {
        TokenLimits l = TokenLimits.builder().requestsPerDay(100).allowedModels(Set.of("gemini-2.5-flash")).build();
        TokenRegistry.Created a = registry.create("a", l);
        now.addAndGet(1);
        TokenRegistry.Created b = registry.create("b", TokenLimits.unlimited());
        registry.setEnabled(b.id(), false);
        UsageCounters u = a.token().usage;
        u.dayStart = 1_699_920_000_000L;
        u.requestsToday = 7;
        u.promptTokensToday = 70;
        u.outputTokensToday = 700;
        u.totalRequests = 9;
        u.totalTokens = 900;
        u.lastUsed = 1_700_000_000_123L;

        List<TokenRecord> snapshot = registry.snapshot();
        assertThat(snapshot).extracting(TokenRecord::id).containsExactly(a.id(), b.id());
        assertThat(snapshot.toString()).doesNotContain(a.secret()).doesNotContain(b.secret());

        TokenRegistry other = new TokenRegistry(now::get, new SecureRandom());
        other.restore(snapshot);
        UserToken ra = other.authenticate(a.secret());
        assertThat(ra).isNotNull();
        assertThat(ra.limits()).isEqualTo(l);
        assertThat(ra.lastUsedMillis()).isEqualTo(1_700_000_000_123L);
        assertThat(ra.toRecord()).isEqualTo(snapshot.get(0));
        assertThat(other.authenticate(b.secret()).isEnabled()).isFalse();
        assertThat(other.snapshot()).isEqualTo(snapshot);
        assertThat(other.takeDirty()).as("restoring is not a change").isFalse();
    }

    @Test
    void restoreReplacesEverythingOrNothing() {
        TokenRegistry.Created a = registry.create("a", TokenLimits.unlimited());
        TokenRecord r = a.token().toRecord();
        TokenRecord sameId = new TokenRecord(r.id(), "other", 0, "b".repeat(64), TokenLimits.unlimited(), true, 0, 0,
                0, 0, 0, 0, 0);
        TokenRecord sameHash = new TokenRecord("tok_zzzzzzzzzzzz", "other", 0, r.secretHash(),
                TokenLimits.unlimited(), true, 0, 0, 0, 0, 0, 0, 0);
        assertThatThrownBy(() -> registry.restore(List.of(r, sameId))).hasMessageContaining("appears twice");
        assertThatThrownBy(() -> registry.restore(List.of(r, sameHash)))
                .hasMessageContaining("secret hash of another");
        assertThat(registry.authenticate(a.secret())).isSameAs(a.token());

        registry.restore(List.of());
        assertThat(registry.authenticate(a.secret())).isNull();
        assertThat(registry.list()).isEmpty();
    }

    @Test
    void applyUpsertsFromTheStoreWithoutEvents() {
        TokenRegistry elsewhere = new TokenRegistry(now::get, new SecureRandom());
        TokenRegistry.Created c = elsewhere.create("shared", TokenLimits.unlimited());
        events.clear();

        registry.apply(c.token().toRecord());
        UserToken here = registry.authenticate(c.secret());
        assertThat(here).isNotNull();
        here.usage.requestsToday = 5;

        UserToken disabled = elsewhere.setEnabled(c.id(), false).orElseThrow();
        registry.apply(disabled.toRecord());
        UserToken after = registry.authenticate(c.secret());
        assertThat(after.isEnabled()).isFalse();
        assertThat(after.usage).as("local counters kept").isSameAs(here.usage);
        assertThat(after.usage.requestsToday).isEqualTo(5);

        assertThat(registry.forget(c.id())).isTrue();
        assertThat(registry.forget(c.id())).isFalse();
        assertThat(registry.authenticate(c.secret())).isNull();
        assertThat(events).isEmpty();
    }

    @Test
    void applyRefusesASecretHashHeldByAnotherId() {
        TokenRegistry.Created a = registry.create("a", TokenLimits.unlimited());
        TokenRecord r = a.token().toRecord();
        TokenRecord clash = new TokenRecord("tok_zzzzzzzzzzzz", "clash", 0, r.secretHash(), TokenLimits.unlimited(),
                true, 0, 0, 0, 0, 0, 0, 0);
        assertThatThrownBy(() -> registry.apply(clash)).hasMessageContaining("secret hash of " + a.id());
        assertThat(registry.authenticate(a.secret())).isSameAs(a.token());
    }

    @Test
    void aFailingListenerDoesNotUndoTheChange() {
        registry.addListener(e -> {
            throw new IllegalStateException("listener broken");
        });
        TokenRegistry.Created c = registry.create("a", TokenLimits.unlimited());
        assertThat(registry.authenticate(c.secret())).isNotNull();
        assertThat(events).hasSize(1);
    }

    @Test
    void removedListenersHearNothing() {
        List<TokenEvent> mine = new ArrayList<>();
        TokenRegistry.Listener l = mine::add;
        registry.addListener(l);
        registry.create("a", TokenLimits.unlimited());
        registry.removeListener(l);
        registry.create("b", TokenLimits.unlimited());
        assertThat(mine).hasSize(1);
    }

    @Test
    void changesMarkTheRegistryDirtyOnce() {
        assertThat(registry.takeDirty()).isFalse();
        TokenRegistry.Created c = registry.create("a", TokenLimits.unlimited());
        assertThat(registry.takeDirty()).isTrue();
        assertThat(registry.takeDirty()).isFalse();
        registry.revoke(c.id());
        assertThat(registry.takeDirty()).isTrue();
        registry.markDirty();
        assertThat(registry.takeDirty()).isTrue();
    }

    @Test
    void retriesAnIdThatIsTaken() {
        // the first id draws 12 zeros ("a"), the secret 48 draws; the second id draws zeros again, then ones
        Deque<Integer> script = new ArrayDeque<>();
        for (int i = 0; i < 12 + 48 + 12; i++) {
            script.add(0);
        }
        for (int i = 0; i < 12; i++) {
            script.add(1);
        }
        SecureRandom scripted = new SecureRandom() {
            private int fallback;

            @Override
            public int nextInt(int bound) {
                Integer next = script.poll();
                return next != null ? next : (fallback++ % bound);
            }
        };
        TokenRegistry r = new TokenRegistry(now::get, scripted);
        assertThat(r.create("first", TokenLimits.unlimited()).id()).isEqualTo("tok_aaaaaaaaaaaa");
        assertThat(r.create("second", TokenLimits.unlimited()).id()).isEqualTo("tok_bbbbbbbbbbbb");
    }

    @Test
    void refusesNullArguments() {
        assertThatThrownBy(() -> registry.create("a", null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> registry.create(null, TokenLimits.unlimited()))
                .isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> registry.get(null)).isInstanceOf(NullPointerException.class);
    }
}
