package io.gemgate.core.json;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gemgate.core.settings.Thinking;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The native body rewrite: what lands in the body, what stays byte for byte, and who owns which buffer. */
class NativeBodyRewriterTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String FLASH = "gemini-2.5-flash";
    private static final String CONTENTS = "'contents':[{'role':'user','parts':[{'text':'h\u00e9llo \u65e5\u672c'}]}]";

    /** Rewrites a body (single quotes for double) held in a direct composite buffer, as the server receives it. */
    private static String rewrite(String instruction, Thinking thinking, String model, String relaxed) {
        NativeBodyRewriter r = NativeBodyRewriter.of(instruction, thinking, model);
        assertThat(r).isNotNull();
        ByteBuf body = composite(relaxed.replace('\'', '"'));
        ByteBuf out = r.rewrite(body, ByteBufAllocator.DEFAULT);
        try {
            return out.toString(UTF_8);
        } finally {
            out.release();
            assertThat(body.refCnt()).isZero();
        }
    }

    /** The body in two direct components, split in the middle. */
    private static CompositeByteBuf composite(String json) {
        byte[] b = json.getBytes(UTF_8);
        int half = b.length / 2;
        CompositeByteBuf c = Unpooled.compositeBuffer();
        c.addComponent(true, Unpooled.directBuffer(half).writeBytes(b, 0, half));
        c.addComponent(true, Unpooled.directBuffer(b.length - half).writeBytes(b, half, b.length - half));
        return c;
    }

    private static JsonNode tree(String json) {
        try {
            return MAPPER.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JsonNode json(String relaxed) {
        return tree(relaxed.replace('\'', '"'));
    }

    @Test
    void nothingAppliesWithoutInstructionAndWithAutoThinkingOrAModelWithoutThinkingControl() {
        assertThat(NativeBodyRewriter.of("", Thinking.AUTO, FLASH)).isNull();
        assertThat(NativeBodyRewriter.of("", Thinking.OFF, "gemini-2.0-flash")).isNull();
        assertThat(NativeBodyRewriter.of("", Thinking.HIGH, "gemma-3-27b-it")).isNull();
        assertThat(NativeBodyRewriter.of("be brief", Thinking.AUTO, "gemini-2.0-flash")).isNotNull();
        assertThat(NativeBodyRewriter.of("", Thinking.OFF, FLASH)).isNotNull();
    }

    @Test
    void instructionIsAddedToABodyWithoutOneAndTheRestStaysByteForByte() {
        String in = "{" + CONTENTS + ", 'generationConfig': {'temperature': 0.5}}";
        String out = rewrite("Answer in French.", Thinking.AUTO, FLASH, in);
        String added = "\"systemInstruction\":{\"parts\":[{\"text\":\"Answer in French.\"}]},";
        assertThat(out).isEqualTo("{" + added + in.replace('\'', '"').substring(1));
    }

    @Test
    void instructionGoesFirstInTheRequestsOwnParts() {
        String out = rewrite("ours", Thinking.AUTO, FLASH,
                "{" + CONTENTS + ",'systemInstruction':{'role':'system','parts':[{'text':'theirs'},{'text':'more'}]}}");
        assertThat(tree(out).get("systemInstruction")).isEqualTo(
                json("{'role':'system','parts':[{'text':'ours'},{'text':'theirs'},{'text':'more'}]}"));
        assertThat(tree(out).get("contents")).isEqualTo(json("{" + CONTENTS + "}").get("contents"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "'system_instruction':{'parts':[{'text':'theirs'}]}|system_instruction"
                    + "|{'parts':[{'text':'ours'},{'text':'theirs'}]}",
            "'systemInstruction':null|systemInstruction|{'parts':[{'text':'ours'}]}",
            "'systemInstruction':{'role':'user'}|systemInstruction|{'role':'user','parts':[{'text':'ours'}]}",
            "'systemInstruction':{'parts':null}|systemInstruction|{'parts':[{'text':'ours'}]}",
    })
    void instructionMergesIntoWhateverShapeTheRequestUsed(String member, String name, String expected) {
        JsonNode out = tree(rewrite("ours", Thinking.AUTO, FLASH, "{" + CONTENTS + "," + member + "}"));
        assertThat(out.get(name)).isEqualTo(json(expected));
        assertThat(out.size()).isEqualTo(2); // no second instruction member
    }

    @Test
    void anEmptyObjectGetsMembersWithoutAStrayComma() {
        assertThat(rewrite("x", Thinking.OFF, FLASH, "{}")).isEqualTo(
                "{\"systemInstruction\":{\"parts\":[{\"text\":\"x\"}]},"
                        + "\"generationConfig\":{\"thinkingConfig\":{\"thinkingBudget\":0}}}");
        assertThat(rewrite("", Thinking.OFF, FLASH, " { } ")).isEqualTo(
                " {\"generationConfig\":{\"thinkingConfig\":{\"thinkingBudget\":0}} } ");
    }

    @Test
    void instructionTextIsEscaped() {
        String text = "say \"hi\"\n\\ \u00e9\u0001";
        JsonNode out = tree(rewrite(text, Thinking.AUTO, FLASH, "{" + CONTENTS + "}"));
        assertThat(out.at("/systemInstruction/parts/0/text").asText()).isEqualTo(text);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            // setting | model | request's generationConfig (or none) | expected thinkingConfig
            "OFF|gemini-2.5-flash||{'thinkingBudget':0}",
            "OFF|gemini-2.5-pro||{'thinkingBudget':128}",
            "OFF|gemini-3-flash-preview||{'thinkingLevel':'MINIMAL'}",
            "OFF|gemini-3-pro-preview||{'thinkingLevel':'LOW'}",
            "OFF|gemini-2.5-flash|{'thinkingConfig':{'thinkingBudget':2048,'includeThoughts':true}}|"
                    + "{'includeThoughts':true,'thinkingBudget':0}",
            "OFF|gemini-2.5-flash|{'thinking_config':{'thinking_level':'HIGH','include_thoughts':true}}|"
                    + "{'include_thoughts':true,'thinkingBudget':0}",
            "OFF|gemini-2.5-flash|{'temperature':1,'thinkingConfig':null}|{'thinkingBudget':0}",
            "LOW|gemini-2.5-flash||{'thinkingBudget':1024}",
            "MEDIUM|gemini-2.5-pro|{'temperature':1}|{'thinkingBudget':8192}",
            "HIGH|gemini-2.5-flash|{'thinkingConfig':{'includeThoughts':true}}|{'includeThoughts':true,"
                    + "'thinkingBudget':24576}",
            "HIGH|gemini-3-pro-preview|null|{'thinkingLevel':'HIGH'}",
    })
    void thinkingDefault(Thinking setting, String model, String config, String expected) {
        String in = "{" + CONTENTS + (config == null ? "" : ",'generationConfig':" + config) + "}";
        JsonNode out = tree(rewrite("", setting, model, in));
        assertThat(out.at("/generationConfig/thinkingConfig").isMissingNode()
                ? out.at("/generationConfig/thinking_config") : out.at("/generationConfig/thinkingConfig"))
                .isEqualTo(json(expected));
        if (config != null && config.contains("temperature")) {
            assertThat(out.at("/generationConfig/temperature").asInt()).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "'generationConfig':{'thinkingConfig':{'thinkingBudget':100}}",
            "'generation_config':{'thinking_config':{'thinking_level':'LOW'}}",
    })
    void aLevelSettingLeavesARequestThatSetsItsOwnThinkingByteForByte(String config) {
        String in = ("{" + CONTENTS + "," + config + "}").replace('\'', '"');
        ByteBuf body = composite(in);
        ByteBuf out = NativeBodyRewriter.of("", Thinking.HIGH, FLASH).rewrite(body, ByteBufAllocator.DEFAULT);
        assertThat(out.toString(UTF_8)).isEqualTo(in);
        out.release();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{'contents':[}",                        // invalid JSON
            "[{'contents':[]}]",                     // not an object
            "{'contents':[]} {}",                    // trailing content
            "{'contents':[],'systemInstruction':'text'}", // wrong type: Google says so
            "{'contents':[],'systemInstruction':{'parts':{'text':'one'}}}",
            "{'contents':[],'generationConfig':[]}",
            "",
    })
    void unreadableBodiesGoOnUnchangedForGoogleToJudge(String relaxed) {
        ByteBuf body = composite(relaxed.replace('\'', '"'));
        ByteBuf out = NativeBodyRewriter.of("ours", Thinking.OFF, FLASH).rewrite(body, ByteBufAllocator.DEFAULT);
        assertThat(out).isSameAs(body);
        assertThat(body.refCnt()).isEqualTo(1);
        body.release();
    }

    @Test
    void aLargeBodyIsSplicedNotCopied() {
        String image = "A".repeat(200_000);
        String in = "{\"contents\":[{\"parts\":[{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"" + image
                + "\"}}]}]}";
        ByteBuf body = Unpooled.directBuffer(in.length()).writeBytes(in.getBytes(UTF_8));
        ByteBuf out = NativeBodyRewriter.of("ours", Thinking.LOW, FLASH).rewrite(body, ByteBufAllocator.DEFAULT);
        try {
            assertThat(out).isInstanceOf(CompositeByteBuf.class);
            CompositeByteBuf c = (CompositeByteBuf) out;
            assertThat(c.numComponents()).isEqualTo(3); // "{", our members, the rest of the original
            int at = in.indexOf("AAAA");
            body.setByte(at, 'B'); // the output is a view of the original, not a copy
            assertThat(out.toString(UTF_8)).contains("\"BAAA");
            JsonNode tree = tree(out.toString(UTF_8));
            assertThat(tree.at("/contents/0/parts/0/inlineData/data").asText()).hasSize(200_000).startsWith("BA");
            assertThat(tree.at("/generationConfig/thinkingConfig/thinkingBudget").asInt()).isEqualTo(1024);
            assertThat(tree.at("/systemInstruction/parts/0/text").asText()).isEqualTo("ours");
        } finally {
            out.release();
        }
        assertThat(body.refCnt()).isZero();
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aByteOrderMarkKeepsTheOffsetsRight(boolean heap) {
        byte[] bom = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
        byte[] json = "{\"contents\":[]}".getBytes(UTF_8);
        ByteBuf body = (heap ? Unpooled.buffer() : Unpooled.directBuffer()).writeBytes(bom).writeBytes(json);
        ByteBuf out = NativeBodyRewriter.of("ours", Thinking.AUTO, FLASH).rewrite(body, ByteBufAllocator.DEFAULT);
        byte[] bytes = new byte[out.readableBytes()];
        out.readBytes(bytes);
        out.release();
        String text = new String(bytes, 3, bytes.length - 3, UTF_8);
        assertThat(bytes[0]).isEqualTo(bom[0]);
        assertThat(tree(text).at("/systemInstruction/parts/0/text").asText()).isEqualTo("ours");
    }
}
