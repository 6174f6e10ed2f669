package io.gemgate.core.secrets;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class KeyTextTest {
    static final String A = "AIzaSyA-aaaaaaaaaaaaaaaaaaaaaaaaaaaa_01";
    static final String B = "AIzaSyB_bbbbbbbbbbbbbbbbbbbbbbbbbbbb-02";
    static final String C = "AIzaSyC0ccccccccccccccccccccccccccccc03";

    @Test
    void theSampleKeysAreKeys() {
        assertThat(List.of(A, B, C)).allSatisfy(k -> {
            assertThat(k).hasSize(KeyText.KEY_LENGTH);
            assertThat(KeyText.isKey(k)).isTrue();
        });
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "one a line           | `%s\n%s\n%s\n`",
            "windows lines        | `%s\r\n%s\r\n%s`",
            "commas and spaces    | `%s, %s,%s`",
            "tabs                 | `\t%s\t%s\t%s\t`",
            "json array           | `[\"%s\", \"%s\", \"%s\"]`",
            "json objects         | `{\"keys\":[{\"key\":\"%s\"},{\"key\":\"%s\"}],\"other\":\"%s\"}`",
            "escaped newlines     | `\"%s\\n%s\\n%s\"`",
            "env file             | `GEMINI_API_KEY=%s\nBACKUP_KEY='%s'\nexport THIRD=\"%s\"`",
            "urls                 | `https://x/v1beta/models?key=%s&alt=sse https://x?key=%s;%s`",
            "prose                | `Here are my keys: %s (old), %s and finally %s. Thanks!`",
            "semicolons and pipes | `%s;%s|%s`",
    })
    void findsKeysWhateverTheSeparators(String title, String template) {
        KeyText t = KeyText.parse(String.format(template, A, B, C));
        assertThat(t.keys()).containsExactly(A, B, C);
        assertThat(t.rejected()).isEmpty();
        assertThat(t.repeated()).isZero();
    }

    @Test
    void dropsRepeatsKeepingTheFirstOrder() {
        KeyText t = KeyText.parse(B + "\n" + A + "\n" + B + "," + B + " " + A);
        assertThat(t.keys()).containsExactly(B, A);
        assertThat(t.repeated()).isEqualTo(3);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "too short     | AIzaSyShort1234567890                       | AIza...7890",
            "one short     | AIzaSyA-aaaaaaaaaaaaaaaaaaaaaaaaaaaa_0      | AIza...aa_0",
            "one long      | AIzaSyA-aaaaaaaaaaaaaaaaaaaaaaaaaaaa_012    | AIza..._012",
            "glued before  | xAIzaSyA-aaaaaaaaaaaaaaaaaaaaaaaaaaaa_01    | xAIz...a_01",
            "wrong case    | aizaSyA-aaaaaaaaaaaaaaaaaaaaaaaaaaaa_01     | aiza...a_01",
            "tiny          | AIza                                        | AI...",
    })
    void reportsFailedAttemptsMasked(String title, String fragment, String masked) {
        KeyText t = KeyText.parse("first " + A + "\n" + fragment + "\n" + B);
        assertThat(t.keys()).containsExactly(A, B);
        assertThat(t.rejected()).containsExactly(masked);
        assertThat(t.rejected()).allSatisfy(r -> {
            assertThat(r).doesNotContain(fragment);
            assertThat(r.replace("...", "")).hasSizeLessThanOrEqualTo(8);
        });
    }

    @Test
    void reportsEachFailedAttemptOnce() {
        KeyText t = KeyText.parse("AIzaSyShort1234567890 AIzaSyShort1234567890, AIzaSyOther000000000000");
        assertThat(t.keys()).isEmpty();
        assertThat(t.rejected()).containsExactly("AIza...7890", "AIza...0000");
    }

    @Test
    void twoKeysRunTogetherAreNotGuessedApart() {
        KeyText t = KeyText.parse(A + B);
        assertThat(t.keys()).isEmpty();
        assertThat(t.rejected()).hasSize(1);
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {"", "   \n\t", "hello world, nothing here", "sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL",
            "0123456789012345678901234567890123456789", "{\"text\": \"\"}"})
    void ordinaryTextFindsNothing(String text) {
        KeyText t = KeyText.parse(text);
        assertThat(t.keys()).isEmpty();
        assertThat(t.rejected()).isEmpty();
        assertThat(t.repeated()).isZero();
    }

    @Test
    void nullFindsNothing() {
        assertThat(KeyText.parse(null)).isEqualTo(new KeyText(List.of(), List.of(), 0));
    }

    @ParameterizedTest(name = "[{index}] {0} -> {1}")
    @CsvSource(nullValues = "NULL", value = {
            "AIzaSyA-aaaaaaaaaaaaaaaaaaaaaaaaaaaa_01, true",
            "AIzaSyA-aaaaaaaaaaaaaaaaaaaaaaaaaaaa_0,  false",
            "AIzaSyA-aaaaaaaaaaaaaaaaaaaaaaaaaaaa.01, false",
            "BIzaSyA-aaaaaaaaaaaaaaaaaaaaaaaaaaaa_01, false",
            "AIzaSyA aaaaaaaaaaaaaaaaaaaaaaaaaaaa_01, false",
            "NULL,                                    false",
    })
    void recognisesExactlyTheKeyPattern(String s, boolean key) {
        assertThat(KeyText.isKey(s)).isEqualTo(key);
    }

    @Test
    void toStringMasksTheKeys() {
        KeyText t = KeyText.parse(A + " " + B + " AIzaShort");
        assertThat(t.toString()).doesNotContain(A).doesNotContain(B).contains("AIza...a_01", "AIza...b-02");
    }
}
