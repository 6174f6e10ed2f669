package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonParser;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;

import static io.gemgate.core.openai.Jsons.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link ParamReader}: typed reads of one JSON value and the 400s they give, worded like OpenAI's. */
class ParamReaderTest {
    /** A parser positioned on {@code value}. */
    private static JsonParser on(String value) throws IOException {
        byte[] b = bytes(value);
        JsonParser p = Json.parser(b, 0, b.length);
        p.nextToken();
        return p;
    }

    @ParameterizedTest(name = "{0} ({1},{2}) -> {3}")
    @CsvSource({
            "messages[#].content[#].text, 3, 7, messages[3].content[7].text",
            "messages[#].role,            12, 0, messages[12].role",
            "tools[#].function.name,      0, 0, tools[0].function.name",
            "stop,                        1, 2, stop",
    })
    void paramFillsTheTemplateInOrder(String template, int i, int j, String expected) {
        assertThat(ParamReader.param(template, i, j)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "5,                      5",
            "-3,                     -3",
            "5.0,                    5",
            "1e3,                    1000",
            "99999999999999999999,   9223372036854775807",
            "-99999999999999999999,  -9223372036854775808",
            "null,                   ",
    })
    void integerTakesIntegralNumbersAndSaturates(String json, Long expected) throws IOException {
        try (JsonParser p = on(json)) {
            assertThat(ParamReader.integer(p, "n")).isEqualTo(expected);
        }
    }

    @ParameterizedTest(name = "{0} as {1} -> {2}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "5.5        | integer | Invalid type for 'n': expected an integer, but got a decimal instead.",
            "'5'        | integer | Invalid type for 'n': expected an integer, but got a string instead.",
            "true       | number  | Invalid type for 'n': expected a number, but got a boolean instead.",
            "{}         | string  | Invalid type for 'n': expected a string, but got an object instead.",
            "[]         | bool    | Invalid type for 'n': expected a boolean, but got an array instead.",
            "3          | schema  | Invalid type for 'n': expected an object, but got an integer instead.",
    })
    void wrongTypesAreA400NamingTheParam(String json, String read, String message) throws IOException {
        try (JsonParser p = on(json)) {
            assertThatThrownBy(() -> {
                switch (read) {
                    case "integer" -> ParamReader.integer(p, "n");
                    case "number" -> ParamReader.number(p, "n");
                    case "string" -> ParamReader.string(p, "n");
                    case "bool" -> ParamReader.bool(p, "n", false);
                    default -> ParamReader.schema(p, "n", 0);
                }
            }).isInstanceOfSatisfying(OpenAiRequestException.class, e -> {
                assertThat(e.param()).isEqualTo("n");
                assertThat(e.getMessage()).isEqualTo(message);
            });
        }
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "true  | true",
            "false | false",
            "null  | true",
    })
    void boolTakesTheDefaultForNull(String json, boolean expected) throws IOException {
        try (JsonParser p = on(json)) {
            assertThat(ParamReader.bool(p, "stream", true)).isEqualTo(expected);
        }
    }
}
