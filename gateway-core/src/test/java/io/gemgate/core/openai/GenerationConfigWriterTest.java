package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.JsonNode;
import io.gemgate.core.settings.Thinking;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;

import static io.gemgate.core.openai.Jsons.bytes;
import static io.gemgate.core.openai.Jsons.json;
import static io.gemgate.core.openai.Jsons.tree;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link GenerationConfigWriter}: what {@code generationConfig} a request's sampling, limit and format members give,
 * clamps included; one row per member.
 */
class GenerationConfigWriterTest {
    private static final String HI = "'messages':[{'role':'user','content':'hi'}]";

    /** The parsed request with {@code members} (single quotes) and one user message. */
    private static ChatRequest parse(String members) throws IOException {
        byte[] b = bytes("{" + members + (members.isEmpty() ? "" : ",") + HI + "}");
        try (JsonParser p = Json.parser(b, 0, b.length)) {
            return ChatRequestParser.read(p);
        }
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "                                  | {}",
            "'temperature':0.7                 | {'generationConfig':{'temperature':0.7}}",
            "'temperature':5                   | {'generationConfig':{'temperature':2.0}}",
            "'temperature':-1                  | {'generationConfig':{'temperature':0.0}}",
            "'top_p':1.5                       | {'generationConfig':{'topP':1.0}}",
            "'presence_penalty':-3             | {'generationConfig':{'presencePenalty':-2.0}}",
            "'frequency_penalty':9             | {'generationConfig':{'frequencyPenalty':2.0}}",
            "'max_tokens':100                  | {'generationConfig':{'maxOutputTokens':100}}",
            "'max_tokens':0                    | {'generationConfig':{'maxOutputTokens':1}}",
            "'max_tokens':1e12                 | {'generationConfig':{'maxOutputTokens':2147483647}}",
            "'max_tokens':10,'max_completion_tokens':20 | {'generationConfig':{'maxOutputTokens':20}}",
            "'n':1                             | {}",
            "'n':3                             | {'generationConfig':{'candidateCount':3}}",
            "'n':99                            | {'generationConfig':{'candidateCount':4}}",
            "'seed':4294967297                 | {'generationConfig':{'seed':1}}",
            "'seed':-1                         | {'generationConfig':{'seed':-1}}",
            "'stop':'END'                      | {'generationConfig':{'stopSequences':['END']}}",
            "'stop':''                         | {}",
            "'stop':['a','','b','c','d','e','f'] | {'generationConfig':{'stopSequences':['a','b','c','d','e']}}",
            "'response_format':{'type':'text'} | {}",
            "'response_format':{'type':'json_object'} | {'generationConfig':{'responseMimeType':'application/json'}}",
            "'response_format':{'type':'json_schema','json_schema':{'name':'x','schema':{'type':'string'}}}"
                    + " | {'generationConfig':{'responseMimeType':'application/json','responseSchema':{'type':'STRING'}}}",
            "'reasoning_effort':'low'          | {'generationConfig':{'thinkingConfig':{'thinkingBudget':1024,'includeThoughts':true}}}",
            "'temperature':1,'reasoning_effort':'none' | {'generationConfig':{'temperature':1.0,'thinkingConfig':{'thinkingBudget':0}}}",
    })
    void generationConfig(String members, String expected) throws IOException {
        ChatRequest r = parse(members == null ? "" : members);
        ResolvedModel model = ModelResolver.DEFAULT.resolve("gemini-2.5-flash");
        ByteArrayBuilder out = new ByteArrayBuilder();
        boolean reasoning;
        try (JsonGenerator g = Json.generator(out)) {
            g.writeStartObject();
            reasoning = GenerationConfigWriter.write(g, r, model, GenerationConfigWriter.candidates(r), Thinking.AUTO);
            g.writeEndObject();
        }
        JsonNode written = tree(out.toByteArray());
        assertThat(written).isEqualTo(json(expected));
        assertThat(reasoning).isEqualTo(written.path("generationConfig").path("thinkingConfig")
                .path("includeThoughts").asBoolean(false));
    }

    @ParameterizedTest(name = "n={0} -> {1}")
    @CsvSource({"1, 1", "0, 1", "-5, 1", "2, 2", "4, 4", "5, 4", "9999999999999, 4"})
    void candidatesAreClampedToOneToFour(long n, int expected) throws IOException {
        assertThat(GenerationConfigWriter.candidates(parse("'n':" + n))).isEqualTo(expected);
    }
}
