package io.gemgate.core.anthropic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gemgate.core.openai.UpstreamFormatException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class AnthropicModelListTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static byte[] bytes(String relaxed) {
        return relaxed.replace('\'', '"').getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void listsTheModelsThatCanGenerateInAnthropicsShape() throws Exception {
        JsonNode list = JSON.readTree(AnthropicModelList.list(bytes("{'models':["
                + "{'name':'models/gemini-2.5-flash','displayName':'Gemini 2.5 Flash','supportedGenerationMethods':"
                + "['generateContent','countTokens']},"
                + "{'name':'models/gemini-embedding-001','supportedGenerationMethods':['embedContent']},"
                + "{'name':'models/gemini-2.5-pro','supportedGenerationMethods':['generateContent']}],"
                + "'nextPageToken':'x'}")));
        assertThat(list).isEqualTo(JSON.readTree(bytes("{'data':["
                + "{'type':'model','id':'gemini-2.5-flash','display_name':'Gemini 2.5 Flash',"
                + "'created_at':'2025-01-01T00:00:00Z'},"
                + "{'type':'model','id':'gemini-2.5-pro','display_name':'gemini-2.5-pro',"
                + "'created_at':'2025-01-01T00:00:00Z'}],"
                + "'has_more':false,'first_id':'gemini-2.5-flash','last_id':'gemini-2.5-pro'}")));
        assertThat(JSON.readTree(AnthropicModelList.list(bytes("{}")))).isEqualTo(JSON.readTree(
                bytes("{'data':[],'has_more':false,'first_id':null,'last_id':null}")));
    }

    @Test
    void oneModelKeepsTheIdAsAsked() throws Exception {
        JsonNode m = JSON.readTree(AnthropicModelList.model(bytes("{'name':'models/gemini-2.5-flash',"
                + "'displayName':'Gemini 2.5 Flash','inputTokenLimit':1048576}"), "claude-sonnet-4-5"));
        assertThat(m).isEqualTo(JSON.readTree(bytes("{'type':'model','id':'claude-sonnet-4-5',"
                + "'display_name':'Gemini 2.5 Flash','created_at':'2025-01-01T00:00:00Z'}")));
    }

    @Test
    void refusesWhatIsNotAGeminiModel() {
        assertThatThrownBy(() -> AnthropicModelList.list(bytes("[1]"))).isInstanceOf(UpstreamFormatException.class);
        assertThatThrownBy(() -> AnthropicModelList.model(bytes("{'displayName':'x'}"), "m"))
                .isInstanceOf(UpstreamFormatException.class);
    }
}
