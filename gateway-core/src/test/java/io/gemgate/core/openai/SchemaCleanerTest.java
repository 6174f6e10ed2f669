package io.gemgate.core.openai;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;

import static io.gemgate.core.openai.Jsons.json;
import static io.gemgate.core.openai.Jsons.q;
import static io.gemgate.core.openai.Jsons.tree;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** One test per rewrite of {@link SchemaCleaner}. */
class SchemaCleanerTest {

    private static JsonNode clean(String relaxed) {
        return tree(SchemaCleaner.clean(q(relaxed)));
    }

    private static Object parameters(String relaxed) throws IOException {
        return SchemaCleaner.cleanParameters(JsonTree.parse(q(relaxed)));
    }

    @Test
    void typesAreUpperCased() {
        assertThat(clean("{'type':'object','properties':{'s':{'type':'string'},'n':{'type':'number'},"
                + "'i':{'type':'integer'},'b':{'type':'boolean'},'a':{'type':'array','items':{'type':'string'}}}}"))
                .isEqualTo(json("{'type':'OBJECT','properties':{'s':{'type':'STRING'},'n':{'type':'NUMBER'},"
                        + "'i':{'type':'INTEGER'},'b':{'type':'BOOLEAN'},'a':{'type':'ARRAY','items':{'type':'STRING'}}}}"));
    }

    @Test
    void schemaIdCommentAdditionalPropertiesExamplesStrictAreDropped() {
        assertThat(clean("{'$schema':'http://json-schema.org/draft-07/schema#','$id':'x','$comment':'c',"
                + "'type':'object','additionalProperties':false,'strict':true,'examples':[{'a':'b'}],"
                + "'properties':{'a':{'type':'string','examples':['x']}}}"))
                .isEqualTo(json("{'type':'OBJECT','properties':{'a':{'type':'STRING'}}}"));
    }

    @Test
    void unknownKeywordsAreDropped() {
        assertThat(clean("{'type':'object','properties':{'a':{'type':'string','readOnly':true,'deprecated':true,"
                + "'contentMediaType':'text/plain'}},'patternProperties':{'^x':{}},'unevaluatedProperties':false,"
                + "'if':{},'then':{},'else':{},'not':{},'dependentRequired':{},'x-vendor':1}"))
                .isEqualTo(json("{'type':'OBJECT','properties':{'a':{'type':'STRING'}}}"));
    }

    @Test
    void keptKeywordsSurvive() {
        assertThat(clean("{'type':'object','title':'T','description':'D','minProperties':1,'maxProperties':3,"
                + "'propertyOrdering':['b','a','zz'],'example':{'a':'x'},"
                + "'properties':{'a':{'type':'string','minLength':1,'maxLength':9,'pattern':'^a','default':'ab'},"
                + "'b':{'type':'number','minimum':0,'maximum':1.5},"
                + "'c':{'type':'array','items':{'type':'integer'},'minItems':1,'maxItems':2}}}"))
                .isEqualTo(json("{'type':'OBJECT','title':'T','description':'D','example':{'a':'x'},"
                        + "'properties':{'a':{'type':'STRING','default':'ab','minLength':1,'maxLength':9,'pattern':'^a'},"
                        + "'b':{'type':'NUMBER','minimum':0,'maximum':1.5},"
                        + "'c':{'type':'ARRAY','items':{'type':'INTEGER'},'minItems':1,'maxItems':2}},"
                        + "'minProperties':1,'maxProperties':3,'propertyOrdering':['b','a']}"));
    }

    @Test
    void keywordsOfAnotherTypeAreDropped() {
        assertThat(clean("{'type':'string','minimum':1,'items':{'type':'string'},'properties':{'a':{}},'minItems':1}"))
                .isEqualTo(json("{'type':'STRING'}"));
        assertThat(clean("{'type':'integer','pattern':'x','maxLength':3}")).isEqualTo(json("{'type':'INTEGER'}"));
    }

    @ParameterizedTest
    @CsvSource({
            "string, date-time, true",
            "string, enum, false",
            "string, email, false",
            "string, uri, false",
            "string, uuid, false",
            "integer, int32, true",
            "integer, int64, true",
            "integer, uint8, false",
            "number, float, true",
            "number, double, true",
            "number, decimal, false",
            "boolean, int32, false",
    })
    void onlySupportedFormatsAreKept(String type, String format, boolean kept) {
        JsonNode out = clean("{'type':'" + type + "','format':'" + format + "'}");
        assertThat(out.has("format")).isEqualTo(kept);
        if (kept) {
            assertThat(out.get("format").asText()).isEqualTo(format);
        }
    }

    @Test
    void enumFormatIsKeptOnStringEnums() {
        assertThat(clean("{'type':'string','format':'enum','enum':['a','b']}"))
                .isEqualTo(json("{'type':'STRING','format':'enum','enum':['a','b']}"));
    }

    @Test
    void constBecomesASingleValueEnum() {
        assertThat(clean("{'type':'string','const':'fixed'}")).isEqualTo(json("{'type':'STRING','enum':['fixed']}"));
        assertThat(clean("{'const':'x'}")).isEqualTo(json("{'type':'STRING','enum':['x']}"));
    }

    @Test
    void enumValuesBecomeStringsAndNullBecomesNullable() {
        assertThat(clean("{'type':'integer','enum':[1,2,3]}")).isEqualTo(json("{'type':'INTEGER','enum':['1','2','3']}"));
        assertThat(clean("{'type':'number','enum':[1.5,2.0]}")).isEqualTo(json("{'type':'NUMBER','enum':['1.5','2']}"));
        assertThat(clean("{'type':'string','enum':['a',null]}"))
                .isEqualTo(json("{'type':'STRING','nullable':true,'enum':['a']}"));
        assertThat(clean("{'enum':[true,'x']}")).isEqualTo(json("{'type':'STRING','enum':['true','x']}"));
    }

    @Test
    void refsToDefsAreInlined() {
        assertThat(clean("{'type':'object','properties':{'home':{'$ref':'#/$defs/Address'},"
                + "'work':{'$ref':'#/definitions/Address','description':'Office'}},"
                + "'$defs':{'Address':{'type':'object','description':'A place','properties':{'city':{'type':'string'}},"
                + "'required':['city']}},'definitions':{'Address':{'$ref':'#/$defs/Address'}}}"))
                .isEqualTo(json("{'type':'OBJECT','properties':{"
                        + "'home':{'type':'OBJECT','description':'A place','properties':{'city':{'type':'STRING'}},'required':['city']},"
                        + "'work':{'type':'OBJECT','description':'Office','properties':{'city':{'type':'STRING'}},'required':['city']}}}"));
    }

    @Test
    void refsByJsonPointerWithEscapesAreInlined() {
        assertThat(clean("{'type':'object','properties':{'a/b':{'type':'string'},'c':{'$ref':'#/properties/a~1b'},"
                + "'d':{'$ref':'#/properties/a%7E1b'}}}"))
                .isEqualTo(json("{'type':'OBJECT','properties':{'a/b':{'type':'STRING'},'c':{'type':'STRING'},"
                        + "'d':{'type':'STRING'}}}"));
    }

    @Test
    void recursiveRefBecomesAnObject() {
        assertThat(clean("{'type':'object','properties':{'root':{'$ref':'#/$defs/Node'}},'$defs':{'Node':{"
                + "'type':'object','description':'A node','properties':{'name':{'type':'string'},"
                + "'children':{'type':'array','items':{'$ref':'#/$defs/Node'}}}}}}"))
                .isEqualTo(json("{'type':'OBJECT','properties':{'root':{'type':'OBJECT','description':'A node',"
                        + "'properties':{'name':{'type':'STRING'},'children':{'type':'ARRAY',"
                        + "'items':{'type':'OBJECT','description':'A node'}}}}}}"));
    }

    @Test
    void refToTheRootIsRecursive() {
        assertThat(clean("{'type':'object','properties':{'self':{'$ref':'#'}}}"))
                .isEqualTo(json("{'type':'OBJECT','properties':{'self':{'type':'OBJECT'}}}"));
    }

    @Test
    void unresolvableRefBecomesAnObject() {
        assertThat(clean("{'type':'object','properties':{'a':{'$ref':'#/$defs/Missing'},"
                + "'b':{'$ref':'https://example.com/schema.json'}}}"))
                .isEqualTo(json("{'type':'OBJECT','properties':{'a':{'type':'OBJECT'},'b':{'type':'OBJECT'}}}"));
    }

    @Test
    void referenceBombIsRefused() {
        StringBuilder defs = new StringBuilder("{'$defs':{'d0':{'type':'string'}");
        for (int i = 1; i <= 20; i++) {
            defs.append(",'d").append(i).append("':{'type':'object','properties':{'a':{'$ref':'#/$defs/d")
                    .append(i - 1).append("'},'b':{'$ref':'#/$defs/d").append(i - 1).append("'}}}");
        }
        defs.append("},'$ref':'#/$defs/d20'}");
        assertThatThrownBy(() -> SchemaCleaner.clean(q(defs.toString())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("too large");
    }

    @Test
    void anyOfWithNullBecomesNullable() {
        assertThat(clean("{'anyOf':[{'type':'string','maxLength':5},{'type':'null'}],'description':'maybe'}"))
                .isEqualTo(json("{'type':'STRING','maxLength':5,'description':'maybe','nullable':true}"));
    }

    @Test
    void oneOfWithNullBecomesNullable() {
        assertThat(clean("{'oneOf':[{'type':'null'},{'$ref':'#/$defs/X'}],'$defs':{'X':{'type':'integer'}}}"))
                .isEqualTo(json("{'type':'INTEGER','nullable':true}"));
    }

    @Test
    void anyOfWithSeveralBranchesAndNullKeepsAnyOf() {
        assertThat(clean("{'anyOf':[{'type':'string'},{'type':'integer'},{'type':'null'}]}"))
                .isEqualTo(json("{'anyOf':[{'type':'STRING'},{'type':'INTEGER'}],'nullable':true}"));
    }

    @Test
    void oneOfBecomesAnyOf() {
        assertThat(clean("{'oneOf':[{'type':'string'},{'type':'object','properties':{'a':{'type':'boolean'}}}]}"))
                .isEqualTo(json("{'anyOf':[{'type':'STRING'},{'type':'OBJECT','properties':{'a':{'type':'BOOLEAN'}}}]}"));
    }

    @Test
    void typeArrayWithNullBecomesNullable() {
        assertThat(clean("{'type':['string','null'],'description':'d'}"))
                .isEqualTo(json("{'type':'STRING','description':'d','nullable':true}"));
        assertThat(clean("{'type':['null','array'],'items':{'type':'number'}}"))
                .isEqualTo(json("{'type':'ARRAY','items':{'type':'NUMBER'},'nullable':true}"));
    }

    @Test
    void typeArrayWithSeveralTypesBecomesAnyOf() {
        assertThat(clean("{'type':['string','integer'],'description':'d','minLength':2}"))
                .isEqualTo(json("{'description':'d','anyOf':[{'type':'STRING','minLength':2},{'type':'INTEGER'}]}"));
    }

    @Test
    void allOfWithOneElementIsMerged() {
        assertThat(clean("{'allOf':[{'$ref':'#/$defs/A'}],'description':'outer','$defs':{'A':{'type':'object',"
                + "'description':'inner','properties':{'x':{'type':'string'}}}}}"))
                .isEqualTo(json("{'type':'OBJECT','description':'outer','properties':{'x':{'type':'STRING'}}}"));
    }

    @Test
    void allOfWithSeveralElementsUnitesPropertiesAndRequired() {
        assertThat(clean("{'allOf':[{'type':'object','properties':{'a':{'type':'string'}},'required':['a']},"
                + "{'properties':{'b':{'type':'integer'}},'required':['b']}]}"))
                .isEqualTo(json("{'type':'OBJECT','properties':{'a':{'type':'STRING'},'b':{'type':'INTEGER'}},"
                        + "'required':['a','b']}"));
    }

    @Test
    void emptyPropertiesAreDropped() {
        assertThat(clean("{'type':'object','properties':{'opts':{'type':'object','properties':{}}}}"))
                .isEqualTo(json("{'type':'OBJECT','properties':{'opts':{'type':'OBJECT'}}}"));
    }

    @Test
    void parametersWithoutPropertiesAreOmitted() throws IOException {
        assertThat(parameters("{'type':'object','properties':{},'additionalProperties':false}")).isNull();
        assertThat(parameters("{}")).isNull();
        assertThat(parameters("{'type':'object','properties':{'a':{'type':'string'}}}")).isNotNull();
        assertThat(SchemaCleaner.cleanParameters(null)).isNull();
    }

    @Test
    void requiredNamesThatAreNotPropertiesAreDropped() {
        assertThat(clean("{'type':'object','properties':{'a':{'type':'string'}},'required':['a','b','a']}"))
                .isEqualTo(json("{'type':'OBJECT','properties':{'a':{'type':'STRING'}},'required':['a']}"));
        assertThat(clean("{'type':'object','properties':{'a':{'type':'string'}},'required':['b']}"))
                .isEqualTo(json("{'type':'OBJECT','properties':{'a':{'type':'STRING'}}}"));
    }

    @Test
    void missingTypeIsInferred() {
        assertThat(clean("{'properties':{'a':{'items':{'type':'string'}},'b':{'enum':['x']}}}"))
                .isEqualTo(json("{'type':'OBJECT','properties':{'a':{'type':'ARRAY','items':{'type':'STRING'}},"
                        + "'b':{'type':'STRING','enum':['x']}}}"));
    }

    @Test
    void arrayWithoutItemsGetsStringItems() {
        assertThat(clean("{'type':'array'}")).isEqualTo(json("{'type':'ARRAY','items':{'type':'STRING'}}"));
    }

    @Test
    void tupleItemsBecomeAnyOfItems() {
        assertThat(clean("{'type':'array','prefixItems':[{'type':'string'},{'type':'integer'}]}"))
                .isEqualTo(json("{'type':'ARRAY','items':{'anyOf':[{'type':'STRING'},{'type':'INTEGER'}]}}"));
        assertThat(clean("{'type':'array','items':[{'type':'string'}]}"))
                .isEqualTo(json("{'type':'ARRAY','items':{'type':'STRING'}}"));
    }

    @Test
    void exclusiveBoundsBecomeInclusiveBounds() {
        assertThat(clean("{'type':'number','exclusiveMinimum':0,'exclusiveMaximum':10}"))
                .isEqualTo(json("{'type':'NUMBER','minimum':0,'maximum':10}"));
        assertThat(clean("{'type':'integer','minimum':1,'exclusiveMinimum':0}"))
                .isEqualTo(json("{'type':'INTEGER','minimum':1}"));
    }

    @Test
    void booleanSchemaBecomesNullableString() {
        assertThat(clean("{'type':'object','properties':{'anything':true}}"))
                .isEqualTo(json("{'type':'OBJECT','properties':{'anything':{'type':'STRING','nullable':true}}}"));
    }

    @Test
    void loneNullTypeBecomesNullable() {
        assertThat(clean("{'type':'null'}")).isEqualTo(json("{'nullable':true}"));
    }

    @Test
    void unknownTypeIsDropped() {
        assertThat(clean("{'type':'any','description':'x'}")).isEqualTo(json("{'description':'x'}"));
    }

    @Test
    void existingNullableIsKept() {
        assertThat(clean("{'type':'string','nullable':true}")).isEqualTo(json("{'type':'STRING','nullable':true}"));
    }

    @Test
    void deepNestingIsRefused() {
        String deep = "{'type':'array','items':".repeat(70) + "{'type':'string'}" + "}".repeat(70);
        assertThatThrownBy(() -> SchemaCleaner.clean(q(deep))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void invalidJsonIsRefused() {
        assertThatThrownBy(() -> SchemaCleaner.clean("{")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void inputIsNotModified() throws IOException {
        Object in = JsonTree.parse(q("{'type':'object','properties':{'a':{'$ref':'#/$defs/A'}},'$defs':{'A':{'type':'string'}}}"));
        String before = JsonTree.toJson(in);
        SchemaCleaner.clean(in);
        assertThat(JsonTree.toJson(in)).isEqualTo(before);
    }

    @Test
    void realWorldMcpToolSchema() {
        // The shape zod-to-json-schema emits for MCP servers, which Gemini refuses unless cleaned.
        assertThat(clean("{'type':'object','properties':{'path':{'type':'string','description':'File path'},"
                + "'edits':{'type':'array','items':{'type':'object','properties':{'oldText':{'type':'string'},"
                + "'newText':{'type':'string'}},'required':['oldText','newText'],'additionalProperties':false}},"
                + "'dryRun':{'type':'boolean','default':false,'description':'Preview'}},"
                + "'required':['path','edits'],'additionalProperties':false,'$schema':'http://json-schema.org/draft-07/schema#'}"))
                .isEqualTo(json("{'type':'OBJECT','properties':{'path':{'type':'STRING','description':'File path'},"
                        + "'edits':{'type':'ARRAY','items':{'type':'OBJECT','properties':{'oldText':{'type':'STRING'},"
                        + "'newText':{'type':'STRING'}},'required':['oldText','newText']}},"
                        + "'dryRun':{'type':'BOOLEAN','description':'Preview','default':false}},"
                        + "'required':['path','edits']}"));
    }
}
