package io.gemgate.core.openai;

import io.gemgate.core.settings.Thinking;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link ThinkingPolicy#decide}: the four layers of the thinking precedence, one row per rule of its class comment. */
class ThinkingPolicyTest {
    private static ThinkingPolicy.Decision decide(String model, Thinking defaultThinking, String effort, Integer budget,
                                                  String level, Boolean include) {
        ChatRequest r = new ChatRequest();
        r.reasoningEffort = effort;
        r.thinkingBudget = budget;
        r.thinkingLevel = level;
        r.includeThoughts = include;
        return ThinkingPolicy.decide(r, ModelResolver.DEFAULT.resolve(model), defaultThinking);
    }

    @ParameterizedTest(name = "{0} default={1} effort={2} budget={3} level={4} include={5} -> {6}/{7}/{8}")
    @CsvSource({
            // model,                    default, effort,  budget, level,  include, -> budget, level,   thoughts
            "gemini-2.5-flash,            AUTO,    ,        ,       ,       ,          ,        ,        false",
            "gemini-2.5-flash,            AUTO,    none,    ,       ,       ,          0,       ,        false",
            "gemini-2.5-pro,              AUTO,    none,    ,       ,       ,          128,     ,        false",
            "gemini-2.5-flash,            AUTO,    minimal, ,       ,       ,          512,     ,        true",
            "gemini-2.5-pro,              AUTO,    minimal, ,       ,       ,          128,     ,        true",
            "gemini-2.5-flash,            AUTO,    low,     ,       ,       ,          1024,    ,        true",
            "gemini-2.5-flash,            AUTO,    medium,  ,       ,       ,          8192,    ,        true",
            "gemini-2.5-flash,            AUTO,    high,    ,       ,       ,          24576,   ,        true",
            "gemini-2.5-pro,              AUTO,    xhigh,   ,       ,       ,          32768,   ,        true",
            "gemini-2.5-flash,            AUTO,    max,     ,       ,       ,          24576,   ,        true",
            // Gemini 3: levels, moved to the nearest level the model takes
            "gemini-3-flash-preview,      AUTO,    minimal, ,       ,       ,          ,        MINIMAL, true",
            "gemini-3-pro-preview,        AUTO,    minimal, ,       ,       ,          ,        LOW,     true",
            "gemini-3-pro-preview,        AUTO,    medium,  ,       ,       ,          ,        HIGH,    true",
            "gemini-3-flash-preview,      AUTO,    max,     ,       ,       ,          ,        HIGH,    true",
            // model suffixes, below reasoning_effort
            "gemini-2.5-flash-nothinking, AUTO,    ,        ,       ,       ,          0,       ,        false",
            "gemini-2.5-pro-maxthinking,  AUTO,    ,        ,       ,       ,          32768,   ,        false",
            "gemini-2.5-flash-nothinking, AUTO,    high,    ,       ,       ,          24576,   ,        true",
            // explicit thinking_config, above everything the request says otherwise
            "gemini-2.5-flash,            AUTO,    low,     77,     ,       ,          77,      ,        true",
            "gemini-2.5-flash,            AUTO,    ,        100,    HIGH,   ,          100,     ,        false",
            "gemini-3-flash-preview,      AUTO,    ,        100,    LOW,    ,          ,        LOW,     false",
            "gemini-2.5-flash,            AUTO,    high,    ,       ,       false,     24576,   ,        false",
            // the gateway's default: the lowest layer; OFF overrides all of them
            "gemini-2.5-flash,            HIGH,    ,        ,       ,       ,          24576,   ,        false",
            "gemini-2.5-flash,            LOW,     medium,  ,       ,       ,          8192,    ,        true",
            "gemini-2.5-flash,            OFF,     high,    5000,   ,       ,          0,       ,        false",
            "gemini-2.5-pro,              OFF,     ,        ,       ,       true,      128,     ,        true",
            "gemini-3-pro-preview,        OFF,     high,    ,       ,       ,          ,        LOW,     false",
            // no thinking control: nothing derived, include_thoughts still passed on
            "gemini-2.0-flash,            HIGH,    ,        ,       ,       ,          ,        ,        false",
            "gemini-2.0-flash,            OFF,     high,    ,       ,       ,          ,        ,        false",
            "gemini-2.0-flash,            AUTO,    ,        ,       ,       true,      ,        ,        true",
    })
    void decides(String model, Thinking defaultThinking, String effort, Integer budget, String level, Boolean include,
                 Integer expectedBudget, String expectedLevel, boolean expectedThoughts) {
        ThinkingPolicy.Decision d = decide(model, defaultThinking, effort, budget, level, include);
        assertThat(d.budget()).isEqualTo(expectedBudget);
        assertThat(d.level()).isEqualTo(expectedLevel);
        assertThat(d.includeThoughts()).isEqualTo(expectedThoughts);
        assertThat(d.isEmpty()).isEqualTo(expectedBudget == null && expectedLevel == null && !expectedThoughts);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"gemini-2.5-flash", "gemini-3-pro-preview", "gemini-2.0-flash"})
    void unknownEffortIsRefusedOnEveryFamily(String model) {
        assertThatThrownBy(() -> decide(model, Thinking.AUTO, "extreme", null, null, null))
                .isInstanceOfSatisfying(OpenAiRequestException.class, e -> {
                    assertThat(e.param()).isEqualTo("reasoning_effort");
                    assertThat(e.getMessage()).startsWith("Invalid value: 'extreme'. Supported values are: 'none'");
                });
    }
}
