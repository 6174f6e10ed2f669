package io.gemgate.core.tokens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class TokenLimitsTest {

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of("rpm 0", (UnaryOperator<TokenLimits.Builder>) b -> b.requestsPerMinute(0),
                        "requestsPerMinute: 0 (expected: -1 or >= 1)"),
                Arguments.of("rpm -2", (UnaryOperator<TokenLimits.Builder>) b -> b.requestsPerMinute(-2),
                        "requestsPerMinute: -2 (expected: -1 or >= 1)"),
                Arguments.of("rpd 0", (UnaryOperator<TokenLimits.Builder>) b -> b.requestsPerDay(0),
                        "requestsPerDay: 0 (expected: -1 or >= 1)"),
                Arguments.of("tpd min", (UnaryOperator<TokenLimits.Builder>) b -> b.tokensPerDay(Long.MIN_VALUE),
                        "tokensPerDay: " + Long.MIN_VALUE + " (expected: -1 or >= 1)"),
                Arguments.of("concurrency 0", (UnaryOperator<TokenLimits.Builder>) b -> b.maxConcurrency(0),
                        "maxConcurrency: 0 (expected: -1 or >= 1)"),
                Arguments.of("expiry negative", (UnaryOperator<TokenLimits.Builder>) b -> b.expiresAtMillis(-1),
                        "expiresAtMillis: -1 (expected: 0 for never, or epoch millis > 0)"),
                Arguments.of("blank model", (UnaryOperator<TokenLimits.Builder>) b -> b.allowedModels(Set.of(" ")),
                        "allowedModels: blank entry (expected: a model name)"),
                Arguments.of("prefix only",
                        (UnaryOperator<TokenLimits.Builder>) b -> b.allowedModels(Set.of("models/")),
                        "allowedModels: blank entry (expected: a model name)"),
                Arguments.of("space in model",
                        (UnaryOperator<TokenLimits.Builder>) b -> b.allowedModels(Set.of("gemini pro")),
                        "allowedModels: 'gemini pro' (expected: a model name without spaces, optionally ending in *)"),
                Arguments.of("inner star",
                        (UnaryOperator<TokenLimits.Builder>) b -> b.allowedModels(Set.of("gem*ini")),
                        "allowedModels: 'gem*ini' (expected: a model name without spaces, optionally ending in *)"),
                Arguments.of("null model",
                        (UnaryOperator<TokenLimits.Builder>) b -> b.allowedModels(new HashSet<>(Arrays.asList(
                                (String) null))),
                        "allowedModels: null entry (expected: a model name)"),
                Arguments.of("long model",
                        (UnaryOperator<TokenLimits.Builder>) b -> b.allowedModels(Set.of("m".repeat(201))),
                        "allowedModels: 'mmmmmmmmmmmmmmmmmmmm...' is 201 characters (expected: at most 200)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalid")
    void refusesInvalidValuesNamingTheField(String name, UnaryOperator<TokenLimits.Builder> change, String message) {
        assertThatThrownBy(() -> change.apply(TokenLimits.builder()).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
    }

    @Test
    void unlimitedLimitsNothing() {
        TokenLimits l = TokenLimits.unlimited();
        assertThat(l.requestsPerMinute()).isEqualTo(TokenLimits.UNLIMITED);
        assertThat(l.requestsPerDay()).isEqualTo(-1);
        assertThat(l.tokensPerDay()).isEqualTo(-1);
        assertThat(l.maxConcurrency()).isEqualTo(-1);
        assertThat(l.allowedModels()).isEmpty();
        assertThat(l.expiresAtMillis()).isZero();
        assertThat(l.hasRateLimits()).isFalse();
        assertThat(l.isExpired(Long.MAX_VALUE)).isFalse();
        assertThat(l.isModelAllowed("anything")).isTrue();
    }

    @Test
    void builderRoundTripsEveryField() {
        TokenLimits l = TokenLimits.builder().requestsPerMinute(60).requestsPerDay(1000).tokensPerDay(1_000_000)
                .maxConcurrency(4).allowedModels(Set.of("gemini-2.5-flash")).expiresAtMillis(1_800_000_000_000L)
                .build();
        assertThat(l).isEqualTo(new TokenLimits(60, 1000, 1_000_000, 4, Set.of("gemini-2.5-flash"),
                1_800_000_000_000L));
        assertThat(l.toBuilder().build()).isEqualTo(l);
        assertThat(l.toBuilder().maxConcurrency(-1).build().maxConcurrency()).isEqualTo(-1);
        assertThat(l.hasRateLimits()).isTrue();
    }

    @Test
    void allowedModelsAreCopiedAndStrippedOfThePrefix() {
        Set<String> given = new HashSet<>(Set.of("models/gemini-2.5-pro", "gemini-2.5-flash"));
        TokenLimits l = TokenLimits.builder().allowedModels(given).build();
        given.clear();
        assertThat(l.allowedModels()).containsExactlyInAnyOrder("gemini-2.5-pro", "gemini-2.5-flash");
        assertThatThrownBy(() -> l.allowedModels().add("x")).isInstanceOf(UnsupportedOperationException.class);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(nullValues = "NULL", value = {
            "gemini-2.5-flash,        true",
            "models/gemini-2.5-flash, true",
            "gemini-2.5-flash-lite,   false",
            "gemini-2.0-flash-exp,    true",
            "gemini-2.0-flash,        true",
            "gemini-2.0-pro,          false",
            "gemini-2.5-pro,          false",
            "'',                      true",
            "*,                       true",
            "NULL,                    true",
    })
    void matchesAllowedModelsExactlyOrByTrailingStar(String model, boolean allowed) {
        TokenLimits l = TokenLimits.builder().allowedModels(Set.of("gemini-2.5-flash", "gemini-2.0-flash*")).build();
        assertThat(l.isModelAllowed(model)).isEqualTo(allowed);
    }

    @Test
    void expiresAtTheInstantGiven() {
        TokenLimits l = TokenLimits.builder().expiresAtMillis(1000).build();
        assertThat(l.isExpired(999)).isFalse();
        assertThat(l.isExpired(1000)).isTrue();
        assertThat(l.isExpired(1001)).isTrue();
    }
}
