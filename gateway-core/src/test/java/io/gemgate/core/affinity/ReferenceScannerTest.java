package io.gemgate.core.affinity;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ReferenceScannerTest {
    static Stream<Arguments> bodies() {
        return Stream.of(
                Arguments.of("{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}]}", null),
                Arguments.of("{\"contents\":[{\"parts\":[{\"fileData\":{\"mimeType\":\"a/b\",\"fileUri\":"
                        + "\"https://generativelanguage.googleapis.com/v1beta/files/abc-1\"}}]}]}", List.of("files/abc-1")),
                Arguments.of("{\"contents\":[{\"parts\":[{\"file_data\":{}},{\"fileData\" : { \"fileUri\" :\n"
                        + "\"files/x\" }}]}],\"cachedContent\": \"cachedContents/c9\"}", List.of("files/x",
                        "cachedContents/c9")),
                Arguments.of("{\"tools\":[{\"fileSearch\":{\"fileSearchStoreNames\":[\"fileSearchStores/s1\", "
                        + "\"fileSearchStores/s2\"]}}]}", List.of("fileSearchStores/s1", "fileSearchStores/s2")),
                Arguments.of("{\"batch\":{\"inputConfig\":{\"fileName\":\"files/in1\"}}}", List.of("files/in1")),
                // Text that only mentions the names, escaped inside a string: not a reference.
                Arguments.of("{\"contents\":[{\"parts\":[{\"text\":\"use \\\"fileUri\\\": \\\"files/zzz\\\"\"}]}]}",
                        null),
                // A YouTube URL is a fileUri but no resource of ours.
                Arguments.of("{\"contents\":[{\"parts\":[{\"fileData\":{\"fileUri\":\"https://www.youtube.com/"
                        + "watch?v=9hE5-98ZeCg\"}}]}]}", null),
                Arguments.of("{\"contents\":[{\"parts\":[{\"fileData\":{\"fileUri\":\"https:\\/\\/generativelanguage"
                        + ".googleapis.com\\/v1beta\\/files\\/esc1\"}}]}]}", List.of("files/esc1")),
                Arguments.of("{\"a\":{\"fileUri\":\"files/dup\"},\"b\":{\"fileUri\":\"files/dup\"}}",
                        List.of("files/dup")),
                // Cut short: what is complete counts, nothing throws.
                Arguments.of("{\"cachedContent\":\"cachedContents/ok\",\"contents\":[{\"parts\":[{\"fileData\":"
                        + "{\"fileUri\":\"files/cu", List.of("cachedContents/ok")),
                Arguments.of("{\"contents\":[{\"parts\":[{\"text\":\"" + "x\\\"y ".repeat(1500) + "\"},{\"fileData\""
                        + ":{\"fileUri\":\"files/far\"}}]}]}", List.of("files/far")),
                Arguments.of("{\"a\":\"" + "b".repeat(4096 - 32 - 9) + "\",\"cachedContent\":\"cachedContents/edge\"}",
                        List.of("cachedContents/edge")),
                Arguments.of("", null),
                Arguments.of("\"", null));
    }

    @ParameterizedTest
    @MethodSource("bodies")
    void findsTheResourcesABodyReferences(String json, List<String> expected) {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        ByteBuf whole = Unpooled.wrappedBuffer(b);
        assertThat(ReferenceScanner.scan(whole)).isEqualTo(expected);
        assertThat(whole.readerIndex()).isZero();
        // Split into 3-byte components, as a body may arrive.
        CompositeByteBuf c = Unpooled.compositeBuffer(1024);
        for (int i = 0; i < b.length; i += 3) {
            c.addComponent(true, Unpooled.wrappedBuffer(b, i, Math.min(3, b.length - i)));
        }
        assertThat(ReferenceScanner.scan(c)).isEqualTo(expected);
        c.release();
    }

    @org.junit.jupiter.api.Test
    void aNameAcrossTheEdgeOfTheScratchPieceIsFound() {
        for (int pad = 4000; pad < 4110; pad++) {
            String json = "{\"a\":\"" + "b".repeat(pad) + "\",\"cachedContent\":\"cachedContents/edge\"}";
            ByteBuf b = Unpooled.wrappedBuffer(json.getBytes(StandardCharsets.UTF_8));
            assertThat(ReferenceScanner.scan(b)).as("pad %d", pad).containsExactly("cachedContents/edge");
        }
    }
}
