package io.gemgate.core.settings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gemgate.core.config.ConfigLoader;
import io.gemgate.core.config.GatewayConfig;
import io.gemgate.core.keys.PoolSettings;
import io.gemgate.core.keys.Strategy;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.IntStream;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class RuntimeSettingsTest {

    @Test
    void defaultsAreDocumented() {
        RuntimeSettings d = RuntimeSettings.defaults();
        assertThat(d.strategy()).isEqualTo(Strategy.ROUND_ROBIN);
        assertThat(d.maxAttempts()).isEqualTo(3);
        assertThat(d.rateLimitCooldown()).isEqualTo(Duration.ofSeconds(60));
        assertThat(d.rateLimitCooldownMax()).isEqualTo(Duration.ofMinutes(15));
        assertThat(d.serverErrorCooldown()).isEqualTo(Duration.ofSeconds(5));
        assertThat(d.probeInterval()).isEqualTo(Duration.ofMinutes(5));
        assertThat(d.failoverMaxWait()).isZero();
        assertThat(d.streamMode()).isEqualTo(StreamMode.AUTO);
        assertThat(d.defaultThinking()).isEqualTo(Thinking.AUTO);
        assertThat(d.systemInstruction()).isEmpty();
        assertThat(d.allowedModels()).isEmpty();
        assertThat(d.modelAliases()).isEmpty();
        assertThat(d.keyBudgets()).isEmpty();
        assertThat(d.probeAfterServerErrors()).isEqualTo(3);
        assertThat(d.removeAfterBadDays()).isEqualTo(3);
        assertThat(d.minChecksPerDay()).isEqualTo(3);
        assertThat(RuntimeSettings.builder().build()).isEqualTo(d);
    }

    @Test
    void defaultsOfTheShippedConfigAreTheBuiltInOnes() {
        assertThat(RuntimeSettings.from(ConfigLoader.load(null, Map.of()))).isEqualTo(RuntimeSettings.defaults());
    }

    @Test
    void takesThePoolSettingsFromTheConfig() {
        GatewayConfig config = ConfigLoader.load(null, Map.of(
                "GEMGATE_POOL_STRATEGY", "least_used",
                "GEMGATE_POOL_MAX_ATTEMPTS", "7",
                "GEMGATE_POOL_RATE_LIMIT_COOLDOWN", "500ms",
                "GEMGATE_POOL_RATE_LIMIT_COOLDOWN_MAX", "2h",
                "GEMGATE_POOL_SERVER_ERROR_COOLDOWN", "1s"));
        RuntimeSettings s = RuntimeSettings.from(config);
        assertThat(s.strategy()).isEqualTo(Strategy.LEAST_USED);
        assertThat(s.maxAttempts()).isEqualTo(7);
        assertThat(s.rateLimitCooldown()).isEqualTo(Duration.ofMillis(500));
        assertThat(s.rateLimitCooldownMax()).isEqualTo(Duration.ofHours(2));
        assertThat(s.serverErrorCooldown()).isEqualTo(Duration.ofSeconds(1));
        assertThat(s.toPoolSettings()).isEqualTo(PoolSettings.from(config.pool()));
    }

    @ParameterizedTest
    @EnumSource(Strategy.class)
    void producesPoolSettings(Strategy strategy) {
        RuntimeSettings s = RuntimeSettings.builder().strategy(strategy).maxAttempts(20)
                .rateLimitCooldown(Duration.ofMillis(1)).rateLimitCooldownMax(Duration.ofDays(365))
                .serverErrorCooldown(Duration.ZERO).build();
        assertThat(s.toPoolSettings()).isEqualTo(new PoolSettings(strategy, 20, 1, 365L * 86_400_000, 0));
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                row("maxAttempts", b -> b.maxAttempts(0), "maxAttempts: 0 (expected: 1 to 20)"),
                row("maxAttempts", b -> b.maxAttempts(21), "maxAttempts: 21 (expected: 1 to 20)"),
                row("probeAfterServerErrors", b -> b.probeAfterServerErrors(1001),
                        "probeAfterServerErrors: 1001 (expected: 0 to 1000)"),
                row("removeAfterBadDays", b -> b.removeAfterBadDays(-1), "removeAfterBadDays: -1 (expected: 0 to 30)"),
                row("minChecksPerDay", b -> b.minChecksPerDay(0), "minChecksPerDay: 0 (expected: 1 to 100000)"),
                row("strategy", b -> b.strategy(null), "strategy: missing"),
                row("rateLimitCooldown", b -> b.rateLimitCooldown(Duration.ZERO),
                        "rateLimitCooldown: 0s (expected: 1ms to 365d)"),
                row("rateLimitCooldown", b -> b.rateLimitCooldown(null), "rateLimitCooldown: missing"),
                row("rateLimitCooldownMax", b -> b.rateLimitCooldownMax(Duration.ofSeconds(30)),
                        "rateLimitCooldownMax: 30s (expected: >= rateLimitCooldown, 1m)"),
                row("rateLimitCooldownMax", b -> b.rateLimitCooldownMax(Duration.ofDays(366)),
                        "rateLimitCooldownMax: 366d (expected: 1ms to 365d)"),
                row("serverErrorCooldown", b -> b.serverErrorCooldown(Duration.ofMillis(-1)),
                        "serverErrorCooldown: -1ms (expected: 0s to 365d)"),
                row("probeInterval", b -> b.probeInterval(Duration.ofSeconds(9)),
                        "probeInterval: 9s (expected: 10s to 7d)"),
                row("probeInterval", b -> b.probeInterval(Duration.ofDays(8)),
                        "probeInterval: 8d (expected: 10s to 7d)"),
                row("failoverMaxWait", b -> b.failoverMaxWait(Duration.ofMillis(60_001)),
                        "failoverMaxWait: 60001ms (expected: 0s to 1m)"),
                row("streamMode", b -> b.streamMode(null), "streamMode: missing"),
                row("defaultThinking", b -> b.defaultThinking(null), "defaultThinking: missing"),
                row("systemInstruction", b -> b.systemInstruction("x".repeat(100_001)),
                        "systemInstruction: 100001 characters (expected: at most 100000)"),
                row("systemInstruction", b -> b.systemInstruction(null), "systemInstruction: missing"),
                row("allowedModels", b -> b.allowedModels(Set.of("gemini pro")),
                        "allowedModels: 'gemini pro' (expected: a model name without spaces, optionally ending in *)"),
                row("allowedModels", b -> b.allowedModels(Set.of("")),
                        "allowedModels: blank entry (expected: a model name)"),
                row("allowedModels", b -> b.allowedModels(
                                IntStream.range(0, 1001).mapToObj(i -> "m" + i).collect(Collectors.toSet())),
                        "allowedModels: 1001 entries (expected: at most 1000)"),
                row("modelAliases", b -> b.modelAliases(Map.of("my fast", "gemini-2.5-flash")),
                        "modelAliases: 'my fast' (expected: a model name without spaces)"),
                row("modelAliases.fast", b -> b.modelAliases(Map.of("fast", "gemini*")),
                        "modelAliases.fast: 'gemini*' (expected: a model name without spaces)"),
                row("modelAliases.fast", b -> b.modelAliases(Map.of("fast", "fast")),
                        "modelAliases.fast: points at itself"),
                row("modelAliases.fast", b -> b.modelAliases(Map.of("fast", "quick", "quick", "gemini-2.5-flash")),
                        "modelAliases.fast: target 'quick' is itself an alias (expected: a model)"),
                row("modelAliases.pro", b -> b.allowedModels(Set.of("gemini-2.5-flash"))
                                .modelAliases(Map.of("pro", "gemini-2.5-pro")),
                        "modelAliases.pro: target 'gemini-2.5-pro' is not in allowedModels"),
                row("keyBudgets", b -> b.keyBudgets(Map.of("a b", KeyBudget.NONE)),
                        "keyBudgets: 'a b' (expected: a model name without spaces)"),
                row("keyBudgets.m", b -> b.keyBudgets(nullValue("m")), "keyBudgets.m: missing"));
    }

    private static Arguments row(String field, UnaryOperator<RuntimeSettings.Builder> change, String message) {
        return Arguments.of(field, change, message);
    }

    private static Map<String, KeyBudget> nullValue(String key) {
        Map<String, KeyBudget> m = new HashMap<>();
        m.put(key, null);
        return m;
    }

    @ParameterizedTest(name = "{2}")
    @MethodSource("invalid")
    void refusesInvalidValuesNamingTheField(String field, UnaryOperator<RuntimeSettings.Builder> change,
                                            String message) {
        assertThatThrownBy(() -> change.apply(RuntimeSettings.builder()).build())
                .isInstanceOfSatisfying(SettingsException.class, e -> {
                    assertThat(e.field()).isEqualTo(field);
                    assertThat(e.getMessage()).isEqualTo(message);
                    assertThat(e.detail()).isEqualTo(message.substring(field.length() + 2));
                });
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "rpm | -2 | 1  | 1  | rpm: -2 (expected: -1 or >= 1)",
            "tpm | 1  | 0  | 1  | tpm: 0 (expected: -1 or >= 1)",
            "rpd | 1  | 1  | -9 | rpd: -9 (expected: -1 or >= 1)",
    })
    void refusesInvalidBudgets(String field, long rpm, long tpm, long rpd, String message) {
        assertThatThrownBy(() -> new KeyBudget(rpm, tpm, rpd))
                .isInstanceOfSatisfying(SettingsException.class, e -> {
                    assertThat(e.field()).isEqualTo(field);
                    assertThat(e.getMessage()).isEqualTo(message);
                    assertThat(e.within("keyBudgets.m").getMessage()).isEqualTo("keyBudgets.m." + message);
                });
    }

    @Test
    void copiesCollectionsSortedAndUnmodifiable() {
        Set<String> models = new HashSet<>(Set.of("models/gemini-2.5-pro", "gemini-2.5-flash"));
        Map<String, String> aliases = new LinkedHashMap<>(Map.of("z", "gemini-2.5-pro", "a", "gemini-2.5-flash"));
        Map<String, KeyBudget> budgets = new HashMap<>(Map.of("models/gemini-2.5-pro", new KeyBudget(5, -1, 100)));
        RuntimeSettings s = RuntimeSettings.builder().allowedModels(models).modelAliases(aliases)
                .keyBudgets(budgets).build();
        models.clear();
        aliases.clear();
        budgets.clear();
        assertThat(s.allowedModels()).containsExactly("gemini-2.5-flash", "gemini-2.5-pro");
        assertThat(s.modelAliases()).containsExactly(Map.entry("a", "gemini-2.5-flash"),
                Map.entry("z", "gemini-2.5-pro"));
        assertThat(s.keyBudgets()).containsOnlyKeys("gemini-2.5-pro");
        assertThatThrownBy(() -> s.allowedModels().add("x")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> s.modelAliases().put("x", "y")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> s.keyBudgets().clear()).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void keepsDurationsToTheMillisecond() {
        RuntimeSettings s = RuntimeSettings.builder().serverErrorCooldown(Duration.ofNanos(1_500_000)).build();
        assertThat(s.serverErrorCooldown()).isEqualTo(Duration.ofMillis(1));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "fast,                gemini-2.5-flash",
            "models/fast,         gemini-2.5-flash",
            "gemini-2.5-pro,      gemini-2.5-pro",
            "models/gemini-x,     models/gemini-x",
    })
    void resolvesAliasesOnce(String requested, String resolved) {
        RuntimeSettings s = RuntimeSettings.builder().modelAliases(Map.of("fast", "gemini-2.5-flash")).build();
        assertThat(s.resolveModel(requested)).isEqualTo(resolved);
        assertThat(RuntimeSettings.defaults().resolveModel(requested)).isEqualTo(requested);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(nullValues = "NULL", value = {
            "gemini-2.5-flash,         true",
            "models/gemini-2.5-flash,  true",
            "gemini-2.0-flash-lite,    true",
            "gemini-2.5-pro,           false",
            "NULL,                     true",
            "*,                        true",
    })
    void appliesTheAllowList(String model, boolean allowed) {
        RuntimeSettings s = RuntimeSettings.builder()
                .allowedModels(Set.of("gemini-2.5-flash", "gemini-2.0-*"))
                .modelAliases(Map.of("lite", "gemini-2.0-flash-lite"))
                .build();
        assertThat(s.isModelAllowed(model)).isEqualTo(allowed);
        assertThat(RuntimeSettings.defaults().isModelAllowed(model)).isTrue();
    }

    @Test
    void findsTheBudgetOfAModelOrTheDefaultOne() {
        KeyBudget pro = new KeyBudget(5, 250_000, 100);
        KeyBudget any = new KeyBudget(10, -1, -1);
        RuntimeSettings s = RuntimeSettings.builder().keyBudgets(Map.of("gemini-2.5-pro", pro, "*", any)).build();
        assertThat(s.budgetFor("gemini-2.5-pro")).isEqualTo(pro);
        assertThat(s.budgetFor("gemini-2.5-flash")).isEqualTo(any);
        assertThat(s.budgetFor(null)).isEqualTo(any);
        RuntimeSettings onlyPro = RuntimeSettings.builder().keyBudgets(Map.of("gemini-2.5-pro", pro)).build();
        assertThat(onlyPro.budgetFor("gemini-2.5-flash")).isSameAs(KeyBudget.NONE);
        assertThat(RuntimeSettings.defaults().budgetFor("x").isUnlimited()).isTrue();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"auto, AUTO", "ALWAYS, ALWAYS", "stream, ALWAYS", "never, NEVER", "non_stream, NEVER",
            "non-stream, NEVER"})
    void parsesStreamModes(String text, StreamMode mode) {
        assertThat(StreamMode.parse(text)).isEqualTo(mode);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"auto, -1", "off, 0", "LOW, 1024", "medium, 8192", "high, 24576"})
    void parsesThinkingLevels(String text, int budget) {
        assertThat(Thinking.parse(text).budgetTokens()).isEqualTo(budget);
        assertThat(Thinking.parse(text).wireName()).isEqualTo(text.toLowerCase());
    }

    @Test
    void refusesUnknownEnumNames() {
        assertThatThrownBy(() -> StreamMode.parse("sometimes"))
                .hasMessage("'sometimes' (expected: auto, always or never)");
        assertThatThrownBy(() -> Thinking.parse("max"))
                .hasMessage("'max' (expected: auto, off, low, medium or high)");
    }

    @org.junit.jupiter.api.Test
    void modelGroupsResolveByExactNameThenLongestPrefixThenStar() {
        RuntimeSettings s = RuntimeSettings.builder().modelGroups(java.util.Map.of(
                "gemini-2.5-pro*", java.util.Set.of("paid"),
                "gemini-2.5-pro-exp", java.util.Set.of("lab"),
                "gemini-*", java.util.Set.of("free", "paid"),
                "*", java.util.Set.of("*"))).build();

        assertThat(s.groupsFor("gemini-2.5-pro")).containsExactly("paid");
        assertThat(s.groupsFor("models/gemini-2.5-pro-002")).containsExactly("paid");
        assertThat(s.groupsFor("gemini-2.5-pro-exp")).containsExactly("lab");
        assertThat(s.groupsFor("gemini-2.5-flash")).containsExactly("free", "paid");
        assertThat(s.groupsFor("gemma-3-27b-it")).isNull(); // "*" -> every key
        assertThat(RuntimeSettings.defaults().groupsFor("gemini-2.5-pro")).isNull();
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> RuntimeSettings.builder()
                .modelGroups(java.util.Map.of("m", java.util.Set.of("a b"))).build()))
                .hasMessageStartingWith("modelGroups.m: 'a b'");
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> RuntimeSettings.builder()
                .modelGroups(java.util.Map.of("m", java.util.Set.of())).build()))
                .hasMessageStartingWith("modelGroups.m: no group");
    }
}
