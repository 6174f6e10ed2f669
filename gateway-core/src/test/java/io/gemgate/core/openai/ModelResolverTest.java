package io.gemgate.core.openai;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelResolverTest {
    private static final ModelResolver R = new ModelResolver(
            Map.of("GPT-4o", "gemini-2.5-flash", "smart", "models/gemini-2.5-pro-maxthinking"), "gemini-2.5-flash");

    @ParameterizedTest
    @CsvSource({
            "gemini-2.5-flash, gemini-2.5-flash, false, DEFAULT",
            "models/gemini-2.5-flash, gemini-2.5-flash, false, DEFAULT",
            "google/gemini-2.5-pro, gemini-2.5-pro, false, DEFAULT",
            "openrouter/google/models/gemini-2.5-pro, gemini-2.5-pro, false, DEFAULT",
            "gemini-2.5-flash-search, gemini-2.5-flash, true, DEFAULT",
            "gemini-2.5-flash-nothinking, gemini-2.5-flash, false, OFF",
            "gemini-2.5-pro-maxthinking, gemini-2.5-pro, false, MAX",
            "gemini-2.5-pro-maxthinking-search, gemini-2.5-pro, true, MAX",
            "gemini-2.5-pro-search-maxthinking, gemini-2.5-pro, true, MAX",
            "gpt-4o, gemini-2.5-flash, false, DEFAULT",
            "openai/gpt-4o-search, gemini-2.5-flash, true, DEFAULT",
            "smart, gemini-2.5-pro, false, MAX",
            "Gemini 2.5 Flash, gemini-2.5-flash, false, DEFAULT",
            "-search, -search, false, DEFAULT",
            "unknown-model, unknown-model, false, DEFAULT",
    })
    void resolves(String requested, String name, boolean search, ResolvedModel.SuffixThinking thinking) {
        ResolvedModel m = R.resolve(requested);
        assertThat(m.name()).isEqualTo(name);
        assertThat(m.search()).isEqualTo(search);
        assertThat(m.thinking()).isEqualTo(thinking);
        assertThat(m.requested()).isEqualTo(requested);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "gemini-2.5-flash:countTokens",
            "gemini-2.5-flash?key=x",
            "gemini#x",
            "gemini%2Fx",
            "models/",
            "gemini-2.5-flash\tx",
    })
    void namesThatWouldChangeTheUpstreamUrlAreRefused(String requested) {
        assertThatThrownBy(() -> R.resolve(requested))
                .isInstanceOfSatisfying(OpenAiRequestException.class, e -> assertThat(e.param()).isEqualTo("model"));
        assertThatThrownBy(() -> R.resolvePlain(requested)).isInstanceOf(OpenAiRequestException.class);
    }

    @Test
    void blankTakesTheDefault() {
        assertThat(R.resolve(null).name()).isEqualTo("gemini-2.5-flash");
        assertThat(R.resolve("  ").requested()).isEqualTo("gemini-2.5-flash");
        assertThat(R.defaultModel()).isEqualTo("gemini-2.5-flash");
    }

    @Test
    void blankWithoutDefaultIsRefused() {
        ModelResolver strict = new ModelResolver(Map.of(), null);
        assertThatThrownBy(() -> strict.resolve(""))
                .isInstanceOfSatisfying(OpenAiRequestException.class, e -> assertThat(e.param()).isEqualTo("model"));
        assertThatThrownBy(() -> strict.resolvePlain(null)).isInstanceOf(OpenAiRequestException.class);
    }

    @Test
    void plainResolutionKeepsSuffixes() {
        assertThat(R.resolvePlain("models/text-embedding-search")).isEqualTo("text-embedding-search");
        assertThat(R.resolvePlain("GPT-4O")).isEqualTo("gemini-2.5-flash");
    }

    @ParameterizedTest
    @CsvSource({
            "gemini-2.5-flash, BUDGET_FLASH",
            "gemini-2.5-flash-preview-09-2025, BUDGET_FLASH",
            "gemini-2.5-flash-lite, BUDGET_FLASH_LITE",
            "gemini-2.5-pro, BUDGET_PRO",
            "gemini-flash-latest, BUDGET_FLASH",
            "gemini-flash-lite-latest, BUDGET_FLASH_LITE",
            "gemini-pro-latest, BUDGET_PRO",
            "gemini-3-pro-preview, LEVEL_PRO",
            "gemini-3.1-pro-preview, LEVEL_PRO",
            "gemini-3-flash-preview, LEVEL_FLASH",
            "gemini-3.5-flash-lite, LEVEL_FLASH",
            "gemini-4-flash, LEVEL_FLASH",
            "gemini-2.0-flash, NONE",
            "gemini-1.5-pro, NONE",
            "gemma-3-27b-it, NONE",
            "gemini-embedding-001, NONE",
            "gemini-2.5-flash-preview-tts, NONE",
            "gemini-2.5-flash-image, NONE",
            "gemini-exp-1206, NONE",
    })
    void families(String model, ModelFamily family) {
        assertThat(ModelFamily.of(model)).isEqualTo(family);
    }

    @ParameterizedTest
    @CsvSource({
            "gemini-3-pro-preview, true",
            "gemini-3.1-flash, true",
            "gemini-flash-latest, true",
            "gemini-2.5-pro, false",
            "gemini-2.0-flash, false",
            "gemma-3-27b-it, false",
    })
    void signatureEnforcement(String model, boolean enforced) {
        assertThat(ModelFamily.enforcesSignatures(model)).isEqualTo(enforced);
    }

    @Test
    void budgetsPerFamily() {
        assertThat(ModelFamily.BUDGET_PRO.offBudget()).isEqualTo(128);
        assertThat(ModelFamily.BUDGET_PRO.maxBudget()).isEqualTo(32768);
        assertThat(ModelFamily.BUDGET_FLASH.offBudget()).isZero();
        assertThat(ModelFamily.BUDGET_FLASH.maxBudget()).isEqualTo(24576);
        assertThat(ModelFamily.BUDGET_FLASH_LITE.minimalBudget()).isEqualTo(512);
        assertThat(ModelFamily.LEVEL_PRO.usesLevel()).isTrue();
        assertThat(ModelFamily.LEVEL_PRO.usesBudget()).isFalse();
        assertThat(ModelFamily.NONE.usesLevel() || ModelFamily.NONE.usesBudget()).isFalse();
    }
}
