package io.gemgate.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.util.AsciiString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RequestHeadTest {
    @Test
    void requestLineFieldsAsGivenThenHostIdentityLengthAndTheKeyName() {
        HttpHeaders fields = new DefaultHttpHeaders();
        fields.add(AsciiString.cached("Content-Type"), "application/json");
        fields.add("X-Custom", "caf\u00e9"); // ISO-8859-1 goes on byte for byte
        fields.add(new StringBuilder("x-other"), new StringBuilder("v"));
        RequestHead h = RequestHead.of(HttpMethod.POST, "/v1beta/models/m:generateContent?alt=sse", fields,
                "generativelanguage.example:443", 76);

        assertThat(h.isHead()).isFalse();
        assertThat(h.toString()).isEqualTo("POST /v1beta/models/m:generateContent?alt=sse HTTP/1.1\r\n"
                + "Content-Type: application/json\r\n"
                + "X-Custom: caf\u00e9\r\n"
                + "x-other: v\r\n"
                + "host: generativelanguage.example:443\r\n"
                + "accept-encoding: identity\r\n"
                + "content-length: 76\r\n"
                + "x-goog-api-key: <key>");
    }

    @ParameterizedTest
    @CsvSource({"0, 0", "9, 9", "10, 10", "1234567, 1234567", "9223372036854775807, 9223372036854775807"})
    void contentLengthInDecimal(long length, String text) {
        RequestHead h = RequestHead.builder(HttpMethod.PUT, "/x").build("h", length);
        assertThat(h.toString()).contains("\r\ncontent-length: " + text + "\r\nx-goog-api-key: ");
    }

    @Test
    void noContentLengthWhenThereIsNoBody() {
        RequestHead h = RequestHead.builder(HttpMethod.GET, "/v1beta/models").build("h", -1);
        assertThat(h.toString()).isEqualTo("GET /v1beta/models HTTP/1.1\r\nhost: h\r\n"
                + "accept-encoding: identity\r\nx-goog-api-key: <key>");
    }

    @Test
    void aHeadRequestIsMarked() {
        assertThat(RequestHead.builder(HttpMethod.HEAD, "/").build("h", -1).isHead()).isTrue();
    }

    @Test
    void aLongHeadGrowsItsBuffer() {
        String big = "v".repeat(5000);
        RequestHead h = RequestHead.builder(HttpMethod.POST, "/x").field("x-big", big).build("h", 1);
        assertThat(h.toString()).contains("x-big: " + big + "\r\nhost: h\r\n");
    }

    @ParameterizedTest
    @CsvSource(value = {"/a b", "/a\tb", "/a\u007fb", "/\u0100"}, quoteCharacter = '"')
    void aTargetWithASpaceOrControlIsRefused(String uri) {
        assertThatThrownBy(() -> RequestHead.builder(HttpMethod.GET, uri))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
