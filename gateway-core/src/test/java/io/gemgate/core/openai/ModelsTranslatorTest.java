package io.gemgate.core.openai;

import org.junit.jupiter.api.Test;

import java.util.List;

import static io.gemgate.core.openai.Jsons.bytes;
import static io.gemgate.core.openai.Jsons.json;
import static io.gemgate.core.openai.Jsons.tree;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** OpenAI API reference: Models (list, retrieve), from Gemini API reference: models.list, models.get. */
class ModelsTranslatorTest {
    static final String PAGE1 = "{'models':[{'name':'models/gemini-2.5-flash','version':'001','displayName':'Gemini 2.5 Flash',"
            + "'supportedGenerationMethods':['generateContent','countTokens'],'thinking':true},"
            + "{'name':'models/gemini-embedding-001','supportedGenerationMethods':['embedContent']},"
            + "{'name':'models/imagen-4.0','supportedGenerationMethods':['predict']},"
            + "{'name':'models/aqa'}],'nextPageToken':'Ch'}";
    static final String PAGE2 = "{'models':[{'name':'models/gemini-2.5-pro','supportedGenerationMethods':['generateContent']},"
            + "{'name':'models/gemini-2.5-flash','supportedGenerationMethods':['generateContent']}]}";

    @Test
    void listHasIdsWithoutPrefixObjectCreatedOwner() {
        ModelsTranslator t = new ModelsTranslator(1732233600L, false);
        assertThat(tree(t.list(List.of(bytes(PAGE1), bytes(PAGE2))))).isEqualTo(json("{'object':'list','data':["
                + "{'id':'gemini-2.5-flash','object':'model','created':1732233600,'owned_by':'google'},"
                + "{'id':'gemini-embedding-001','object':'model','created':1732233600,'owned_by':'google'},"
                + "{'id':'aqa','object':'model','created':1732233600,'owned_by':'google'},"
                + "{'id':'gemini-2.5-pro','object':'model','created':1732233600,'owned_by':'google'}]}"));
    }

    @Test
    void searchVariantsForChatModels() {
        ModelsTranslator t = new ModelsTranslator(1, true);
        assertThat(tree(t.list(bytes(PAGE1))).findValuesAsText("id"))
                .containsExactly("gemini-2.5-flash", "gemini-2.5-flash-search", "gemini-embedding-001", "aqa");
    }

    @Test
    void emptyList() {
        assertThat(tree(new ModelsTranslator(1, false).list(bytes("{}")))).isEqualTo(json("{'object':'list','data':[]}"));
    }

    @Test
    void oneModel() {
        ModelsTranslator t = new ModelsTranslator(5, false);
        assertThat(tree(t.model(bytes("{'name':'models/gemini-2.5-pro','displayName':'x','inputTokenLimit':1}"))))
                .isEqualTo(json("{'id':'gemini-2.5-pro','object':'model','created':5,'owned_by':'google'}"));
        assertThat(tree(t.model("gemini-2.5-pro-search")))
                .isEqualTo(json("{'id':'gemini-2.5-pro-search','object':'model','created':5,'owned_by':'google'}"));
        assertThatThrownBy(() -> t.model(bytes("{'displayName':'x'}"))).isInstanceOf(UpstreamFormatException.class);
        assertThatThrownBy(() -> t.model(bytes("[1]"))).isInstanceOf(UpstreamFormatException.class);
    }

    @Test
    void nextPageToken() {
        assertThat(ModelsTranslator.nextPageToken(bytes(PAGE1))).isEqualTo("Ch");
        assertThat(ModelsTranslator.nextPageToken(bytes(PAGE2))).isNull();
        assertThat(ModelsTranslator.nextPageToken(bytes("{'nextPageToken':''}"))).isNull();
    }

    @Test
    void invalidListIsAnUpstreamFormatError() {
        assertThatThrownBy(() -> new ModelsTranslator(1, false).list(bytes("{'models':[")))
                .isInstanceOf(UpstreamFormatException.class);
    }
}
