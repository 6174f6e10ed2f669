package io.gemgate.core.json;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DatabindTest {
    private static final ObjectMapper MAPPER = Databind.newMapper();

    record Inner(String name, long count, int small, boolean flag) {
        Inner {
            if (count < 0) {
                throw new IllegalArgumentException("count: negative (" + count + ")");
            }
        }
    }

    record Outer(Integer version, Boolean enabled, List<Inner> items) {
    }

    static Outer read(String json) throws Exception {
        Databind.Document d = Databind.read(MAPPER, json.getBytes(StandardCharsets.UTF_8));
        return MAPPER.treeToValue(d.root(), Outer.class);
    }

    static Databind.Problem problem(String json) {
        try {
            read(json);
        } catch (JacksonException e) {
            return Databind.problem(e);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("read without error: " + json);
    }

    @Test
    void missingFieldsTakeTheirDefaultsAndUnknownFieldsAreSkipped() throws Exception {
        assertThat(read("{\"future\":{\"x\":[1,null]},\"items\":[{\"later\":null}]}"))
                .isEqualTo(new Outer(null, null, List.of(new Inner(null, 0, 0, false))));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "{\"version\":\"1\"}                      | WRONG_TYPE   | version            | an integer | a string",
            "{\"version\":1.5}                        | WRONG_TYPE   | version            | an integer | a fractional number",
            "{\"version\":null}                       | WRONG_TYPE   | version            | an integer | null",
            "{\"enabled\":1}                          | WRONG_TYPE   | enabled            | a boolean  | an integer",
            "{\"items\":{}}                           | WRONG_TYPE   | items              | an array   | an object",
            "{\"items\":[{},3]}                       | WRONG_TYPE   | items[1]           | an object  | an integer",
            "{\"items\":[{\"name\":5}]}               | WRONG_TYPE   | items[0].name      | a string   | an integer",
            "{\"items\":[{\"name\":null}]}            | WRONG_TYPE   | items[0].name      | a string   | null",
            "{\"items\":[{\"count\":null}]}           | WRONG_TYPE   | items[0].count     | an integer | null",
            "{\"items\":[{\"small\":3000000000}]}     | OUT_OF_RANGE | items[0].small     | an integer | an integer",
    })
    void wrongValuesAreNamedByPathTypeAndToken(String json, Databind.Kind kind, String path, String expected,
                                               String found) {
        Databind.Problem p = problem(json);

        assertThat(p.kind()).isEqualTo(kind);
        assertThat(p.path()).isEqualTo(path);
        assertThat(p.expected()).isEqualTo(expected);
        assertThat(p.foundWords()).isEqualTo(found);
    }

    @Test
    void checksOfTheRecordsKeepTheirMessageUnderThePath() {
        Databind.Problem p = problem("{\"items\":[{\"count\":-3}]}");

        assertThat(p.kind()).isEqualTo(Databind.Kind.INVALID);
        assertThat(p.join(p.detail())).isEqualTo("items[0].count: negative (-3)");
    }

    @Test
    void duplicatesAndTruncationAreMalformed() {
        Databind.Problem duplicate = problem("{\"version\":1,\"version\":2}");
        assertThat(duplicate.kind()).isEqualTo(Databind.Kind.MALFORMED);
        assertThat(duplicate.detail()).isEqualTo("Duplicate field 'version'");
        Databind.Problem truncated = problem("{\"items\":[{\"name\":\"a\"");
        assertThat(truncated.kind()).isEqualTo(Databind.Kind.TRUNCATED);
        assertThat(truncated.offset()).isEqualTo(21);
    }

    @Test
    void aDocumentTellsItsFirstAndTrailingTokens() throws Exception {
        Databind.Document d = Databind.read(MAPPER, "[1] {}".getBytes(StandardCharsets.UTF_8));
        assertThat(d.first()).isEqualTo(JsonToken.START_ARRAY);
        assertThat(d.trailing()).isEqualTo(JsonToken.START_OBJECT);
        assertThat(Databind.read(MAPPER, " \n".getBytes(StandardCharsets.UTF_8)).root()).isNull();
    }

    @Test
    void aTokenQuotedInAnErrorIsCutToItsEnds() {
        Databind.Problem p = problem("{\"version\":AIzaSyAsecretPartOfAKey00001234}");

        assertThat(p.kind()).isEqualTo(Databind.Kind.MALFORMED);
        assertThat(p.detail()).isEqualTo("Unrecognized token 'AIza...1234'").doesNotContain("secret");
    }
}
