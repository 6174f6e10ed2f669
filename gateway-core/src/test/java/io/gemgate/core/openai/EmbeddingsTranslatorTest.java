package io.gemgate.core.openai;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static io.gemgate.core.openai.Jsons.bytes;
import static io.gemgate.core.openai.Jsons.json;
import static io.gemgate.core.openai.Jsons.tree;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/** OpenAI API reference: Create embeddings, to and from Gemini API reference: batchEmbedContents. */
class EmbeddingsTranslatorTest {
    static final EmbeddingsTranslator T = new EmbeddingsTranslator(
            new ModelResolver(Map.of("text-embedding-3-small", "gemini-embedding-001"), null));

    static EmbeddingsRequest translate(String relaxed) {
        return T.translate(bytes(relaxed));
    }

    @Test
    void stringInputBecomesOneBatchRequest() {
        EmbeddingsRequest r = translate("{'model':'models/gemini-embedding-001','input':'Hello world'}");
        assertThat(r.model()).isEqualTo("gemini-embedding-001");
        assertThat(r.batchCount()).isEqualTo(1);
        assertThat(r.upstreamPath("v1beta")).isEqualTo("/v1beta/models/gemini-embedding-001:batchEmbedContents");
        assertThat(tree(r.batchBody(0))).isEqualTo(json("{'requests':[{'model':'models/gemini-embedding-001',"
                + "'content':{'parts':[{'text':'Hello world'}]}}]}"));
        assertThat(r.base64()).isFalse();
    }

    @Test
    void arrayInputDimensionsAndTaskType() {
        EmbeddingsRequest r = translate("{'model':'text-embedding-3-small','input':['a','b'],'dimensions':768,"
                + "'task_type':'retrieval_query','user':'u','encoding_format':'float'}");
        assertThat(r.model()).isEqualTo("gemini-embedding-001");
        assertThat(r.requestedModel()).isEqualTo("text-embedding-3-small");
        assertThat(tree(r.batchBody(0))).isEqualTo(json("{'requests':["
                + "{'model':'models/gemini-embedding-001','content':{'parts':[{'text':'a'}]},'outputDimensionality':768,"
                + "'taskType':'RETRIEVAL_QUERY'},"
                + "{'model':'models/gemini-embedding-001','content':{'parts':[{'text':'b'}]},'outputDimensionality':768,"
                + "'taskType':'RETRIEVAL_QUERY'}]}"));
    }

    @Test
    void outputDimensionalityExtension() {
        assertThat(translate("{'model':'m','input':'a','output_dimensionality':256}").dimensions()).isEqualTo(256);
    }

    @Test
    void inputsAreSplitIntoBatchesOfAHundred() {
        StringBuilder inputs = new StringBuilder();
        for (int i = 0; i < 250; i++) {
            inputs.append(i == 0 ? "" : ",").append("'t").append(i).append('\'');
        }
        EmbeddingsRequest r = translate("{'model':'m','input':[" + inputs + "]}");
        assertThat(r.batchCount()).isEqualTo(3);
        assertThat(tree(r.batchBody(0)).get("requests")).hasSize(100);
        assertThat(tree(r.batchBody(2)).get("requests")).hasSize(50);
        assertThat(tree(r.batchBody(2)).at("/requests/0/content/parts/0/text").asText()).isEqualTo("t200");
        assertThatThrownBy(() -> r.batchBody(3)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    static Stream<Arguments> refusals() {
        return Stream.of(
                arguments("{'input':'a'}", "model"),
                arguments("{'model':'m'}", "input"),
                arguments("{'model':'m','input':[1,2,3]}", "input"),
                arguments("{'model':'m','input':[[1,2],[3]]}", "input"),
                arguments("{'model':'m','input':[]}", "input"),
                arguments("{'model':'m','input':''}", "input"),
                arguments("{'model':'m','input':['a','']}", "input[1]"),
                arguments("{'model':'m','input':['a',{}]}", "input[1]"),
                arguments("{'model':'m','input':{}}", "input"),
                arguments("{'model':'m','input':'a','encoding_format':'int8'}", "encoding_format"),
                arguments("{'model':'m','input':'a','dimensions':0}", "dimensions"),
                arguments("{'model':'m','input':'a','dimensions':'768'}", "dimensions"),
                arguments("{'model':5,'input':'a'}", "model"),
                arguments("not json", null));
    }

    @ParameterizedTest
    @MethodSource("refusals")
    void invalidRequestsAreRefused(String body, String param) {
        assertThatThrownBy(() -> translate(body))
                .isInstanceOfSatisfying(OpenAiRequestException.class, e -> assertThat(e.param()).isEqualTo(param));
    }

    @Test
    void tooManyInputsAreRefused() {
        StringBuilder inputs = new StringBuilder("'x'");
        inputs.append(",'x'".repeat(EmbeddingsTranslator.MAX_INPUTS));
        assertThatThrownBy(() -> translate("{'model':'m','input':[" + inputs + "]}"))
                .isInstanceOf(OpenAiRequestException.class);
    }

    @Test
    void floatAnswerCopiesTheNumbers() {
        EmbeddingsRequest r = translate("{'model':'gemini-embedding-001','input':['hello','worlds']}");
        JsonNode a = tree(T.translateResponse(r, List.of(bytes("{'embeddings':[{'values':[0.0123,-0.0456,1e-7]},"
                + "{'values':[1,2]}]}"))));
        assertThat(a).isEqualTo(json("{'object':'list','data':["
                + "{'object':'embedding','index':0,'embedding':[0.0123,-0.0456,1e-7]},"
                + "{'object':'embedding','index':1,'embedding':[1,2]}],"
                + "'model':'gemini-embedding-001','usage':{'prompt_tokens':4,'total_tokens':4}}"));
    }

    @Test
    void base64AnswerIsLittleEndianFloat32() {
        EmbeddingsRequest r = translate("{'model':'m','input':['a','b'],'encoding_format':'base64'}");
        assertThat(r.base64()).isTrue();
        float[] first = {0.0123f, -0.0456f, 3.5f, -1e-7f};
        JsonNode a = tree(T.translateResponse(r, List.of(bytes("{'embeddings':[{'values':[0.0123,-0.0456,3.5,-1e-7]},"
                + "{'values':[]}]}"))));
        byte[] raw = Base64.getDecoder().decode(a.at("/data/0/embedding").asText());
        assertThat(raw).hasSize(16);
        ByteBuffer le = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : first) {
            assertThat(le.getFloat()).isEqualTo(f);
        }
        assertThat(a.at("/data/1/embedding").asText()).isEmpty();
        assertThat(a.at("/data/1/index").asInt()).isEqualTo(1);
    }

    @Test
    void largeBase64EmbeddingRoundTrips() {
        EmbeddingsRequest r = translate("{'model':'m','input':'a','encoding_format':'base64'}");
        List<Float> values = new ArrayList<>();
        StringBuilder json = new StringBuilder("{\"embeddings\":[{\"values\":[");
        for (int i = 0; i < 3072; i++) {
            float v = (float) Math.sin(i) / 7f;
            values.add(v);
            json.append(i == 0 ? "" : ",").append(v);
        }
        json.append("]}]}");
        JsonNode a = tree(T.translateResponse(r, List.of(json.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8))));
        ByteBuffer le = ByteBuffer.wrap(Base64.getDecoder().decode(a.at("/data/0/embedding").asText()))
                .order(ByteOrder.LITTLE_ENDIAN);
        assertThat(le.remaining()).isEqualTo(3072 * 4);
        for (float v : values) {
            assertThat(le.getFloat()).isEqualTo(v);
        }
    }

    @Test
    void batchesAreJoinedInOrderWithRunningIndexes() {
        StringBuilder inputs = new StringBuilder();
        for (int i = 0; i < 150; i++) {
            inputs.append(i == 0 ? "" : ",").append("'x'");
        }
        EmbeddingsRequest r = translate("{'model':'m','input':[" + inputs + "]}");
        StringBuilder b1 = new StringBuilder("{'embeddings':[");
        for (int i = 0; i < 100; i++) {
            b1.append(i == 0 ? "" : ",").append("{'values':[").append(i).append("]}");
        }
        StringBuilder b2 = new StringBuilder("{'embeddings':[");
        for (int i = 100; i < 150; i++) {
            b2.append(i == 100 ? "" : ",").append("{'values':[").append(i).append("]}");
        }
        JsonNode data = tree(T.translateResponse(r, List.of(bytes(b1 + "]}"), bytes(b2 + "]}")))).get("data");
        assertThat(data).hasSize(150);
        for (int i = 0; i < 150; i++) {
            assertThat(data.get(i).get("index").asInt()).isEqualTo(i);
            assertThat(data.get(i).at("/embedding/0").asInt()).isEqualTo(i);
        }
    }

    @Test
    void reportedUsageWinsOverTheEstimate() {
        EmbeddingsRequest r = translate("{'model':'m','input':'a long sentence'}");
        assertThat(tree(T.translateResponse(r, List.of(bytes("{'embeddings':[{'values':[1]}],"
                + "'usageMetadata':{'promptTokenCount':3,'totalTokenCount':3}}")))).get("usage"))
                .isEqualTo(json("{'prompt_tokens':3,'total_tokens':3}"));
        assertThat(EmbeddingsTranslator.estimate(List.of("a", "abcdefgh", "abcdefghi"))).isEqualTo(1 + 2 + 3);
    }

    @Test
    void answersThatDoNotMatchAreUpstreamFormatErrors() {
        EmbeddingsRequest r = translate("{'model':'m','input':['a','b']}");
        assertThatThrownBy(() -> T.translateResponse(r, List.of(bytes("{'embeddings':[{'values':[1]}]}"))))
                .isInstanceOf(UpstreamFormatException.class);
        assertThatThrownBy(() -> T.translateResponse(r, List.of(bytes("{'embeddings':[{'values':['x']},{'values':[1]}]}"))))
                .isInstanceOf(UpstreamFormatException.class);
        assertThatThrownBy(() -> T.translateResponse(r, List.of(bytes("{'embeddings':[{},{}]}"))))
                .isInstanceOf(UpstreamFormatException.class);
        assertThatThrownBy(() -> T.translateResponse(r, List.of())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void byteBufRequest() {
        ByteBuf body = Unpooled.directBuffer().writeBytes(bytes("{'model':'m','input':'a'}"));
        try {
            assertThat(T.translate(body).inputs()).containsExactly("a");
            assertThat(body.readerIndex()).isZero();
        } finally {
            body.release();
        }
    }
}
