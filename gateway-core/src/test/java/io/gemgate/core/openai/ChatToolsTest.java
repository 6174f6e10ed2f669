package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.gemgate.core.openai.ChatRequest.Tool;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.util.List;

import static io.gemgate.core.openai.Jsons.bytes;
import static io.gemgate.core.openai.Jsons.json;
import static io.gemgate.core.openai.Jsons.tree;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link ChatTools}: which declarations and which {@code toolConfig} the tool members of a request give; one row per
 * {@code tool_choice} / {@code function_call} form.
 */
class ChatToolsTest {
    private static final String TOOLS = "'tools':[{'type':'function','function':{'name':'a'}},"
            + "{'type':'function','function':{'name':'b','description':'B','parameters':{'type':'object','properties':{'x':{'type':'string'}}}}}]";
    private static final String FUNCTIONS = "'functions':[{'name':'f'}]";

    private static ChatRequest parse(String members) throws IOException {
        byte[] b = bytes("{" + members + ",'messages':[{'role':'user','content':'hi'}]}");
        try (JsonParser p = Json.parser(b, 0, b.length)) {
            return ChatRequestParser.read(p);
        }
    }

    /** {@code tools} then {@code toolConfig} as ChatTools writes them, in one object. */
    private static String write(String members, boolean search) throws IOException {
        ChatRequest r = parse(members);
        ByteArrayBuilder out = new ByteArrayBuilder();
        try (JsonGenerator g = Json.generator(out)) {
            g.writeStartObject();
            List<Tool> declared = ChatTools.declaredTools(r);
            ChatTools.writeTools(g, declared, search);
            ChatTools.writeToolConfig(g, r, declared);
            g.writeEndObject();
        }
        return tree(out.toByteArray()).toString();
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "                                                     | ",
            "'tool_choice':'auto'                                 | AUTO",
            "'tool_choice':'none'                                 | NONE",
            "'tool_choice':'required'                             | ANY",
            "'tool_choice':{'type':'function','function':{'name':'b'}} | ANY b",
            "'tool_choice':{'function':{'name':'b'}}              | ANY b",
            "'tool_choice':{'type':'allowed_tools','allowed_tools':{'mode':'required','tools':[{'type':'function','function':{'name':'a'}}]}} | ANY a",
            "'tool_choice':{'type':'allowed_tools','allowed_tools':{'mode':'auto','tools':[{'type':'function','name':'b'}]}} | AUTO",
            "'function_call':'none'                               | NONE",
            "'function_call':'auto'                               | AUTO",
            "'function_call':{'name':'a'}                         | ANY a",
            "'tool_choice':'none','function_call':{'name':'a'}    | NONE",
    })
    void toolConfig(String choice, String expected) throws IOException {
        String members = TOOLS + (choice == null ? "" : "," + choice);
        var written = json(write(members, false));
        if (expected == null) {
            assertThat(written.has("toolConfig")).isFalse();
            return;
        }
        String[] mode = expected.split(" ");
        var config = written.path("toolConfig").path("functionCallingConfig");
        assertThat(config.path("mode").asText()).isEqualTo(mode[0]);
        if (mode.length > 1) {
            assertThat(config.path("allowedFunctionNames")).isEqualTo(json("['" + mode[1] + "']"));
        } else {
            assertThat(config.has("allowedFunctionNames")).isFalse();
        }
    }

    @ParameterizedTest(name = "{0} search={1} -> {2}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "'model':'m'                   | false | {}",
            "'model':'m'                   | true  | {'tools':[{'googleSearch':{}}]}",
            "'tools':[]                    | false | {}",
            FUNCTIONS + "                  | false | {'tools':[{'functionDeclarations':[{'name':'f'}]}]}",
            TOOLS + "," + FUNCTIONS + "    | false | {'tools':[{'functionDeclarations':[{'name':'a'},"
                    + "{'name':'b','description':'B','parameters':{'type':'OBJECT','properties':{'x':{'type':'STRING'}}}}]}]}",
            TOOLS + "                      | true  | {'tools':[{'functionDeclarations':[{'name':'a'},"
                    + "{'name':'b','description':'B','parameters':{'type':'OBJECT','properties':{'x':{'type':'STRING'}}}}]},{'googleSearch':{}}]}",
            TOOLS + ",'tool_choice':{'type':'allowed_tools','allowed_tools':{'mode':'auto','tools':[{'type':'function','function':{'name':'b'}}]}}"
                    + " | false | {'tools':[{'functionDeclarations':[{'name':'b','description':'B','parameters':{'type':'OBJECT','properties':{'x':{'type':'STRING'}}}}]}],"
                    + "'toolConfig':{'functionCallingConfig':{'mode':'AUTO'}}}",
            "'tool_choice':'required'      | false | {}",
    })
    void declarations(String members, boolean search, String expected) throws IOException {
        assertThat(json(write(members, search))).isEqualTo(json(expected));
    }

    @ParameterizedTest(name = "{0} -> {1}: {2}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "'tools':[{'type':'retrieval'}]                      | tools[0].type | Invalid value: 'retrieval'. Only 'function' tools are supported.",
            "'tools':[{'type':'function','function':{}}]         | tools[0].function.name | Missing required parameter: 'tools[0].function.name'.",
            "'functions':[{'name':''}]                           | functions[0].name | Missing required parameter: 'functions[0].name'.",
            "'tools':{}                                          | tools | Invalid type for 'tools': expected an array, but got an object instead.",
            "'tool_choice':'always'                              | tool_choice | Invalid value: 'always'. Supported values are: 'none', 'auto', and 'required'.",
            "'tool_choice':{'type':'function'}                   | tool_choice.function.name | Missing required parameter: 'tool_choice.function.name'.",
            "'tool_choice':{'type':'custom','function':{'name':'a'}} | tool_choice.type | Invalid value: 'custom'. Supported values are: 'function' and 'allowed_tools'.",
            "'tool_choice':{'type':'allowed_tools'}              | tool_choice.allowed_tools | Missing required parameter: 'tool_choice.allowed_tools'.",
            "'tool_choice':{'allowed_tools':{'mode':'any','tools':[]}} | tool_choice.allowed_tools.mode | Invalid value: 'any'. Supported values are: 'auto' and 'required'.",
            "'function_call':'required'                          | function_call | Invalid value: 'required'. Supported values are: 'none' and 'auto'.",
            "'function_call':{}                                  | function_call.name | Missing required parameter: 'function_call.name'.",
    })
    void refused(String members, String param, String message) {
        assertThatThrownBy(() -> parse(members)).isInstanceOfSatisfying(OpenAiRequestException.class, e -> {
            assertThat(e.param()).isEqualTo(param);
            assertThat(e.getMessage()).isEqualTo(message);
        });
    }
}
