package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.LeakDetection;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The client request decoder, differentially: for every input, split or whole, ServerCodec's decoder (fast path for
 * plain requests, Netty's decoder for the rest) gives the same messages as Netty's own HttpRequestDecoder.
 */
@ExtendWith(LeakDetection.class)
class ServerCodecTest {
    private static final String BODY = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}";
    private static final String PLAIN = "POST /v1beta/models/gemini-2.5-flash:generateContent HTTP/1.1\r\n"
            + "Host: 127.0.0.1:8080\r\nx-goog-api-key: bench-token\r\nContent-Type: application/json\r\n"
            + "Content-Length: " + BODY.length() + "\r\n\r\n" + BODY;

    static List<String> requests() {
        return List.of(
                PLAIN,
                "GET /v1beta/models HTTP/1.1\r\nHost: h\r\n\r\n",
                "GET / HTTP/1.0\r\n\r\n",
                "HEAD /health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
                "DELETE /v1beta/files/abc HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
                "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
                "PATCH /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
                "PUT /x HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Spaces:   padded value \t \r\nContent-Length: 1\r\n\r\nz",
                // Everything below leaves the fast path for Netty's decoder.
                "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
                "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
                "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 003\r\n\r\nabc",
                "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
                "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3x\r\n\r\nabc",
                "GET /x HTTP/1.1\r\nHost: h\r\nX-Folded: one\r\n two\r\n\r\n",
                "GET /x HTTP/1.1\nHost: h\n\n",
                "GET /x HTTP/1.1\r\nHost: h\r\nX-Latin: caf\u00e9\r\n\r\n",
                "GET /caf\u00e9 HTTP/1.1\r\nHost: h\r\n\r\n",
                "\r\n\r\nGET /after-blank-lines HTTP/1.1\r\nHost: h\r\n\r\n",
                "GET  /two-spaces HTTP/1.1\r\nHost: h\r\n\r\n",
                "get /lower HTTP/1.1\r\nHost: h\r\n\r\n",
                "BREW /coffee HTTP/1.1\r\nHost: h\r\n\r\n",
                "GET /x HTTP/2.0\r\nHost: h\r\n\r\n",
                "GET /x HTTP/1.1\r\nBad Name: v\r\n\r\n",
                "GET /x HTTP/1.1\r\nX-Ctl: a\u0001b\r\n\r\n",
                "GET /x HTTP/1.1\r\n: no name\r\n\r\n",
                "GET /x HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
                "GET /" + "a".repeat(300) + " HTTP/1.1\r\nHost: h\r\n\r\n",
                "GET /x HTTP/1.1\r\nX-Big: " + "b".repeat(600) + "\r\n\r\n",
                "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 2000\r\n\r\n" + "c".repeat(2000),
                // Two requests in a row (pipelined), the second after a body.
                PLAIN + PLAIN,
                PLAIN + "GET /v1beta/models HTTP/1.1\r\nHost: h\r\n\r\n");
    }

    @ParameterizedTest
    @MethodSource("requests")
    void sameMessagesAsNettysDecoderWhole(String wire) {
        ServerCodec.RequestDecoder d = new ServerCodec.RequestDecoder(config());
        assertThat(decode(d, wire, wire.length())).isEqualTo(decode(reference(), wire, wire.length()));
        // The plain ones (the first eight, and both of a pipelined pair) take the fast path; no other does.
        int i = requests().indexOf(wire);
        assertThat(d.fastDecoded).isEqualTo(i < 8 ? 1 : i >= requests().size() - 2 ? 2 : 0);
    }

    @ParameterizedTest
    @MethodSource("requests")
    void sameMessagesAsNettysDecoderSplitAtEveryByte(String wire) {
        List<String> expected = decode(reference(), wire, wire.length());
        for (int cut = 1; cut < wire.length(); cut++) {
            assertThat(decode(new ServerCodec.RequestDecoder(config()), wire, cut)).as("cut at %d", cut)
                    .isEqualTo(expected);
        }
    }

    @Test
    void afterASlowRequestTheFastPathTakesTheNextOneAgain() {
        ServerCodec.RequestDecoder d = new ServerCodec.RequestDecoder(config());
        EmbeddedChannel ch = new EmbeddedChannel(d);
        String chunked = "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        List<String> got = new ArrayList<>();
        for (String wire : List.of(chunked, PLAIN, chunked, PLAIN)) {
            ch.writeInbound(Unpooled.copiedBuffer(wire, StandardCharsets.ISO_8859_1));
            drain(ch, got);
        }
        ch.finishAndReleaseAll();
        got = merge(got);
        List<String> expected = new ArrayList<>();
        for (String wire : List.of(chunked, PLAIN, chunked, PLAIN)) {
            expected.addAll(decode(reference(), wire, wire.length()));
        }
        assertThat(got).isEqualTo(expected);
        assertThat(d.fastDecoded).isEqualTo(2); // each plain request after a chunked one
    }

    /** Netty's decoder as ServerCodec configures it, without the fast path (CL+TE kept for FramingHandler's 400). */
    private static HttpRequestDecoder reference() {
        return new HttpRequestDecoder(config()) {
            @Override
            protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
            }
        };
    }

    private static HttpDecoderConfig config() {
        // Small limits, so that the limit cases above are met: 256-byte request line, 512 bytes of fields, 1 KB chunks.
        return new HttpDecoderConfig().setMaxInitialLineLength(256).setMaxHeaderSize(512).setMaxChunkSize(1024);
    }

    /** The messages {@code wire} decodes to, fed in two pieces at {@code cut}, rendered as text; all released. */
    private static List<String> decode(io.netty.channel.ChannelHandler decoder, String wire, int cut) {
        EmbeddedChannel ch = new EmbeddedChannel(decoder);
        List<String> got = new ArrayList<>();
        byte[] bytes = wire.getBytes(StandardCharsets.ISO_8859_1);
        ch.writeInbound(Unpooled.wrappedBuffer(bytes, 0, cut));
        drain(ch, got);
        if (cut < bytes.length) {
            ch.writeInbound(Unpooled.wrappedBuffer(bytes, cut, bytes.length - cut));
            drain(ch, got);
        }
        ch.finishAndReleaseAll();
        return merge(got);
    }

    private static void drain(EmbeddedChannel ch, List<String> got) {
        Object m;
        while ((m = ch.readInbound()) != null) {
            try {
                got.add(render((HttpObject) m));
            } finally {
                ReferenceCountUtil.release(m);
            }
        }
    }

    private static String render(HttpObject m) {
        StringBuilder sb = new StringBuilder();
        if (m instanceof HttpRequest r) {
            sb.append("REQUEST ").append(r.method()).append(' ').append(r.uri()).append(' ')
                    .append(r.protocolVersion());
            for (Map.Entry<String, String> e : r.headers()) {
                sb.append(" [").append(e.getKey()).append(": ").append(e.getValue()).append(']');
            }
        }
        if (m instanceof HttpContent c) {
            sb.append(m instanceof LastHttpContent ? "LAST " : "CONTENT ")
                    .append(c.content().toString(StandardCharsets.ISO_8859_1));
            if (m instanceof LastHttpContent l) {
                for (Map.Entry<String, String> e : l.trailingHeaders()) {
                    sb.append(" [").append(e.getKey()).append(": ").append(e.getValue()).append(']');
                }
            }
        }
        if (m.decoderResult().isFailure()) {
            sb.append(" FAILED ").append(m.decoderResult().cause().getClass().getSimpleName());
        }
        return sb.toString();
    }

    /**
     * Joins consecutive body pieces into one (where a split input makes Netty's decoder give a body in two contents,
     * the fast path may give it in one: what a handler receives is the same bytes in the same order).
     */
    private static List<String> merge(List<String> msgs) {
        List<String> out = new ArrayList<>();
        StringBuilder body = null;
        for (String m : msgs) {
            if (m.startsWith("CONTENT ") && !m.contains(" FAILED ")) {
                body = body == null ? new StringBuilder() : body;
                body.append(m.substring("CONTENT ".length()));
            } else if (m.startsWith("LAST ") && body != null && !m.contains(" FAILED ")) {
                out.add("LAST " + body + m.substring("LAST ".length()));
                body = null;
            } else {
                if (body != null) {
                    out.add("CONTENT " + body);
                    body = null;
                }
                out.add(m);
            }
        }
        if (body != null) {
            out.add("CONTENT " + body);
        }
        return out;
    }
}
