package io.gemgate.core.json;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

class UsageScannerTest {

    /** A generateContent answer with thoughts and usageMetadata (Gemini API reference: GenerateContentResponse). */
    static final String SINGLE = """
            {
              "candidates": [ {
                "content": { "role": "model", "parts": [
                  { "text": "Thinking about units...", "thought": true },
                  { "text": "It is 21°C and clear in Paris." , "thoughtSignature": "Cl0B...==" } ] },
                "finishReason": "STOP",
                "index": 0,
                "safetyRatings": [ { "category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE" } ]
              } ],
              "usageMetadata": {
                "promptTokenCount": 107,
                "candidatesTokenCount": 31,
                "thoughtsTokenCount": 148,
                "totalTokenCount": 286,
                "promptTokensDetails": [ { "modality": "TEXT", "tokenCount": 107 } ]
              },
              "modelVersion": "gemini-2.5-flash",
              "responseId": "SKpbaNfgG_7rkdUPhs3joQg"
            }
            """;

    /**
     * streamGenerateContent?alt=sse (Gemini API reference: Generating content), three events with cumulative usage,
     * CRLF framing.
     */
    static final String SSE = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"It is\"}],\"role\": \"model\"},"
            + "\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"totalTokenCount\": 9},"
            + "\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"abc\"}\r\n\r\n"
            + "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" 21\"}],\"role\": \"model\"},"
            + "\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": 2,"
            + "\"thoughtsTokenCount\": 40,\"totalTokenCount\": 51},\"responseId\": \"abc\"}\r\n\r\n"
            + "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"°C.\"}],\"role\": \"model\"},"
            + "\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,"
            + "\"cachedContentTokenCount\": 4,\"candidatesTokenCount\": 6,\"thoughtsTokenCount\": 40,"
            + "\"totalTokenCount\": 55},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"abc\"}\r\n\r\n";

    /** Non-SSE streamGenerateContent: a JSON array streamed element by element. */
    static final String ARRAY = "[{\"candidates\": [],\"usageMetadata\": {\"promptTokenCount\": 12,\"totalTokenCount\": 12}}"
            + ",\r\n{\"candidates\": [],\"usageMetadata\": {\"promptTokenCount\": 12,\"candidatesTokenCount\": 1234567,"
            + "\"totalTokenCount\": 1234579}}]";

    /** A text part that talks about usage, with escaped quotes; the real counters come after. */
    static final String DECOY = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":"
            + "\"say \\\"promptTokenCount\\\": 999, \\\"totalTokenCount\\\":999 and \\\\\\\"thoughtsTokenCount\\\":7\"}]}}],"
            + "\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":3,\"totalTokenCount\":8}}";

    /** Names that contain or extend ours, and the toolUse counter we do not read. */
    static final String LOOKALIKES = "{\"xpromptTokenCount\": 1, \"promptTokenCountx\": 2, \"PromptTokenCount\": 3,"
            + " \"promptTokens\": 4, \"toolUsePromptTokenCount\": 5, \"tokenCount\": 6, \"candidatesTokenCount\": \"7\","
            + " \"totalTokenCount\": -8, \"thoughtsTokenCount\" 9, \"cachedContentTokenCount\": 10}";

    /** Whitespace around the colon, a string ending in an escaped backslash just before a key. */
    static final String SPACING = "{\"text\":\"C:\\\\\",\"promptTokenCount\" :\r\n\t 21,"
            + "\"candidatesTokenCount\"\n:\n0}";

    record Expected(long prompt, long candidates, long thoughts, long total, long cached, boolean saw) {
    }

    static Stream<Arguments> bodies() {
        return Stream.of(
                arguments("single JSON", SINGLE, new Expected(107, 31, 148, 286, 0, true)),
                arguments("SSE, last event wins", SSE, new Expected(9, 6, 40, 55, 4, true)),
                arguments("streamed JSON array", ARRAY, new Expected(12, 1234567, 0, 1234579, 0, true)),
                arguments("escaped-quote decoy", DECOY, new Expected(5, 3, 0, 8, 0, true)),
                arguments("lookalike names", LOOKALIKES, new Expected(0, 0, 0, 0, 10, true)),
                arguments("spacing and escaped backslash", SPACING, new Expected(21, 0, 0, 0, 0, true)),
                arguments("no usage", "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hi\"}]}}]}",
                        new Expected(0, 0, 0, 0, 0, false)),
                arguments("empty", "", new Expected(0, 0, 0, 0, 0, false)),
                arguments("number cut off at the end", "{\"promptTokenCount\": 7, \"promptTokenCount\": 12",
                        new Expected(7, 0, 0, 0, 0, true)));
    }

    private static void assertCounts(UsageScanner s, Expected e) {
        assertThat(s.promptTokens()).as("prompt").isEqualTo(e.prompt());
        assertThat(s.candidatesTokens()).as("candidates").isEqualTo(e.candidates());
        assertThat(s.thoughtsTokens()).as("thoughts").isEqualTo(e.thoughts());
        assertThat(s.outputTokens()).as("output").isEqualTo(e.candidates() + e.thoughts());
        assertThat(s.totalTokens()).as("total").isEqualTo(e.total());
        assertThat(s.cachedTokens()).as("cached").isEqualTo(e.cached());
        assertThat(s.sawUsage()).as("sawUsage").isEqualTo(e.saw());
        assertThat(s.usage()).isEqualTo(e.saw()
                ? new Usage(e.prompt(), e.candidates(), e.thoughts(), e.total(), e.cached()) : Usage.NONE);
    }

    private static void scan(UsageScanner scanner, String text) {
        byte[] bytes = utf8(text);
        scanner.scan(bytes, 0, bytes.length);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bodies")
    void scansOneBufferWithoutTouchingIt(String name, String body, Expected expected) {
        byte[] bytes = utf8(body);
        ByteBuf buf = Unpooled.buffer(bytes.length + 4).writeBytes(new byte[] {'"', 'x', '"', ':'}).writeBytes(bytes);
        buf.readerIndex(4);
        try {
            UsageScanner s = new UsageScanner();
            s.scan(buf);

            assertCounts(s, expected);
            assertThat(buf.readerIndex()).isEqualTo(4);
            assertThat(buf.writerIndex()).isEqualTo(bytes.length + 4);
            assertThat(buf.refCnt()).isEqualTo(1);
        } finally {
            buf.release();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bodies")
    void scansByteArray(String name, String body, Expected expected) {
        byte[] bytes = utf8("garbage" + body + "garbage");
        UsageScanner s = new UsageScanner();

        s.scan(bytes, 7, bytes.length - 14);

        assertCounts(s, expected);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bodies")
    void splitAtEveryPositionAcrossTwoBuffers(String name, String body, Expected expected) {
        byte[] bytes = utf8(body);
        UsageScanner s = new UsageScanner();
        for (int split = 0; split <= bytes.length; split++) {
            ByteBuf first = Unpooled.copiedBuffer(bytes, 0, split);
            ByteBuf second = Unpooled.directBuffer(bytes.length - split + 1).writeBytes(bytes, split,
                    bytes.length - split);
            try {
                s.reset();
                s.scan(first);
                s.scan(second);

                assertCounts(s, expected);
                assertThat(first.readerIndex()).isZero();
                assertThat(second.readerIndex()).isZero();
            } finally {
                first.release();
                second.release();
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bodies")
    void oneByteAtATime(String name, String body, Expected expected) {
        byte[] bytes = utf8(body);
        UsageScanner s = new UsageScanner();

        for (int i = 0; i < bytes.length; i++) {
            s.scan(bytes, i, 1);
        }

        assertCounts(s, expected);
    }

    @Test
    void compositeBufferAcrossEventBoundaries() {
        byte[] bytes = utf8(SSE);
        CompositeByteBuf c = Unpooled.compositeBuffer();
        int third = bytes.length / 3;
        c.addComponents(true, Unpooled.copiedBuffer(bytes, 0, third),
                Unpooled.directBuffer().writeBytes(bytes, third, third),
                Unpooled.copiedBuffer(bytes, 2 * third, bytes.length - 2 * third));
        try {
            UsageScanner s = new UsageScanner();
            s.scan(c);

            assertCounts(s, new Expected(9, 6, 40, 55, 4, true));
            assertThat(c.readerIndex()).isZero();
            assertThat(c.refCnt()).isEqualTo(1);
        } finally {
            c.release();
        }
    }

    @Test
    void everyEventUpdatesTheCounters() {
        String[] events = SSE.split("\r\n\r\n");
        UsageScanner s = new UsageScanner();

        scan(s, events[0]);
        assertThat(s.promptTokens()).isEqualTo(9);
        assertThat(s.totalTokens()).isEqualTo(9);
        assertThat(s.outputTokens()).isZero();

        scan(s, "\r\n\r\n" + events[1] + "\r\n\r\n");
        assertThat(s.candidatesTokens()).isEqualTo(2);
        assertThat(s.thoughtsTokens()).isEqualTo(40);
        assertThat(s.outputTokens()).isEqualTo(42);
        assertThat(s.totalTokens()).isEqualTo(51);
    }

    @Test
    void resetForgetsCountersAndPartialMatches() {
        UsageScanner s = new UsageScanner();
        scan(s, SINGLE);
        scan(s, "{\"promptTokenCo");

        s.reset();
        scan(s, "unt\": 5}");

        assertCounts(s, new Expected(0, 0, 0, 0, 0, false));
    }

    @Test
    void hugeNumbersSaturate() {
        String body = "{\"totalTokenCount\": 99999999999999999999999999}";
        UsageScanner s = new UsageScanner();

        scan(s, body);

        assertThat(s.totalTokens()).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void emptyBufferIsFine() {
        UsageScanner s = new UsageScanner();

        s.scan(Unpooled.EMPTY_BUFFER);
        s.scan(new byte[0], 0, 0);

        assertThat(s.sawUsage()).isFalse();
    }

    @Test
    void rejectsBadArrayBounds() {
        UsageScanner s = new UsageScanner();

        assertThatThrownBy(() -> s.scan(new byte[4], 2, 3)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> s.scan(new byte[4], -1, 1)).isInstanceOf(IndexOutOfBoundsException.class);
    }
}
