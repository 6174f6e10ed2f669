package io.gemgate.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.LeakDetection;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The upstream response reader: framing, splits at every byte, malformed input; every buffer released. */
@ExtendWith(LeakDetection.class)
class ResponseDecoderTest {
    private static final ByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;
    private static final String GOOGLE_HEAD = "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\n"
            + "Vary: Origin\r\nVary: X-Origin\r\nServer: scaffolding on HTTPServer2\r\n"
            + "Alt-Svc: h3=\":443\"; ma=2592000\r\n";

    private final Recorder rec = new Recorder();
    private final ResponseDecoder decoder = new ResponseDecoder(ALLOC, 1024);

    @AfterEach
    void release() {
        decoder.close();
        rec.release();
    }

    @Test
    void aLengthFramedAnswerInOneReadGivesItsHeadThenItsBodyAsTheLastContent() {
        feed(GOOGLE_HEAD + "Content-Length: 11\r\n\r\n{\"ok\":true}");

        assertThat(rec.heads).hasSize(1);
        UpstreamHead h = rec.heads.get(0);
        assertThat(h.status()).isEqualTo(200);
        assertThat(h.contentLength()).isEqualTo(11);
        assertThat(h.isChunked()).isFalse();
        assertThat(h.isKeepAlive()).isTrue();
        assertThat(h.get(AsciiString.of("content-type"))).isEqualTo("application/json; charset=UTF-8");
        assertThat(h.headers().getAll("vary")).containsExactly("Origin", "X-Origin");
        assertThat(h.httpStatus().reasonPhrase()).isEqualTo("OK");
        assertThat(rec.body()).isEqualTo("{\"ok\":true}");
        assertThat(rec.lasts).isEqualTo(1);
        assertThat(rec.malformed).isEmpty();
    }

    @Test
    void anAnswerSplitAtEveryByteReadsTheSame() {
        String wire = GOOGLE_HEAD + "Content-Length: 11\r\n\r\n{\"ok\":true}";
        for (int cut = 1; cut < wire.length(); cut++) {
            Recorder r = new Recorder();
            ResponseDecoder d = new ResponseDecoder(ALLOC, 1024);
            d.decode(buf(wire.substring(0, cut)), r);
            d.decode(buf(wire.substring(cut)), r);
            assertThat(r.heads).as("cut at %d", cut).hasSize(1);
            assertThat(r.body()).as("cut at %d", cut).isEqualTo("{\"ok\":true}");
            assertThat(r.lasts).as("cut at %d", cut).isEqualTo(1);
            d.close();
            r.release();
        }
    }

    @Test
    void chunksLoseTheirFramingExtensionsAndTrailersAtEverySplit() {
        String wire = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "6;ext=1\r\ndata: \r\n" + "B\r\n{\"a\":1}\r\n\r\n\r\n" + "0\r\nX-Trailer: t\r\n\r\n";
        for (int cut = 1; cut < wire.length(); cut++) {
            Recorder r = new Recorder();
            ResponseDecoder d = new ResponseDecoder(ALLOC, 1024);
            d.decode(buf(wire.substring(0, cut)), r);
            d.decode(buf(wire.substring(cut)), r);
            assertThat(r.heads.get(0).isChunked()).isTrue();
            assertThat(r.heads.get(0).valueStartsWith(AsciiString.of("content-type"), "TEXT/EVENT-STREAM")).isTrue();
            assertThat(r.body()).as("cut at %d", cut).isEqualTo("data: {\"a\":1}\r\n\r\n");
            assertThat(r.lasts).as("cut at %d", cut).isEqualTo(1);
            assertThat(r.malformed).isEmpty();
            d.close();
            r.release();
        }
    }

    @Test
    void interimAnswersAreSkipped() {
        feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");

        assertThat(rec.heads).extracting(UpstreamHead::status).containsExactly(200);
        assertThat(rec.body()).isEqualTo("hi");
    }

    @Test
    void bodilessAnswersEndAtTheirHead() {
        decoder.expectHeadResponse(true);
        feed("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n");
        feed("HTTP/1.1 204 No Content\r\n\r\n");
        feed("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n");

        assertThat(rec.heads).extracting(UpstreamHead::status).containsExactly(200, 204, 304);
        assertThat(rec.heads).allMatch(UpstreamHead::isBodyless).allMatch(UpstreamHead::isKeepAlive);
        assertThat(rec.lasts).isEqualTo(3);
        assertThat(rec.body()).isEmpty();
    }

    @Test
    void aBodyWithoutFramingRunsToTheCloseAndTheConnectionIsNotReused() {
        feed("HTTP/1.1 200 OK\r\n\r\npart one ");
        feed("part two");
        assertThat(rec.lasts).isZero();

        assertThat(decoder.closed(rec)).isTrue();

        assertThat(rec.heads.get(0).isKeepAlive()).isFalse();
        assertThat(rec.body()).isEqualTo("part one part two");
        assertThat(rec.lasts).isEqualTo(1);
    }

    @Test
    void aConnectionClosedInsideALengthFramedBodyDidNotEndCleanly() {
        feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");

        assertThat(decoder.closed(rec)).isFalse();
        assertThat(rec.lasts).isZero();
    }

    @Test
    void transferEncodingWinsOverContentLength() {
        feed("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n");

        assertThat(rec.heads.get(0).isChunked()).isTrue();
        assertThat(rec.heads.get(0).contentLength()).isEqualTo(-1);
        assertThat(rec.body()).isEqualTo("hi");
        assertThat(rec.lasts).isEqualTo(1);
    }

    @Test
    void keepAliveFollowsTheVersionAndTheConnectionHeader() {
        feed("HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n");
        feed("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
        feed("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n");
        feed("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n");

        assertThat(rec.heads).extracting(UpstreamHead::isKeepAlive).containsExactly(false, false, true, true);
        assertThat(rec.heads.get(3).httpStatus().code()).isEqualTo(200);
    }

    @Test
    void twoAnswersInOneReadAreBothRead() {
        feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 429 Too Many Requests\r\nContent-Length: 1\r\n\r\nb");

        assertThat(rec.heads).extracting(UpstreamHead::status).containsExactly(200, 429);
        assertThat(rec.body()).isEqualTo("ab");
        assertThat(rec.lasts).isEqualTo(2);
    }

    @Test
    void fieldLinesAreCopiedAsTheyCame() {
        feed(GOOGLE_HEAD + "Content-Length: 0\r\n\r\n");
        UpstreamHead h = rec.heads.get(0);
        ByteBuf out = ALLOC.buffer();
        try {
            h.writeLines(1, 3, out);
            h.writeField(4, out);
            h.writeStatus(out);
            assertThat(out.toString(StandardCharsets.ISO_8859_1)).isEqualTo(
                    "Vary: Origin\r\nVary: X-Origin\r\nAlt-Svc: h3=\":443\"; ma=2592000\r\n200 OK");
        } finally {
            out.release();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "HTTP/2 200 OK\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "SSH-2.0-OpenSSH\r\n\r\n",
            "HTTP/1.1 200 OK\r\n folded: value\r\n\r\n",
            "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            "HTTP/1.1 200 OK\r\nbad name: x\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX: a\u0001b\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n",
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    })
    void malformedAnswersBreakTheDecoderAndReleaseEverything(String wire) {
        feed(wire);

        assertThat(rec.malformed).hasSize(1);
        feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"); // nothing more is read
        assertThat(rec.heads.stream().filter(h -> h.status() == 200 && h.contentLength() == 0)).isEmpty();
    }

    @Test
    void aHeadOverTheLimitIsMalformed() {
        feed("HTTP/1.1 200 OK\r\nX-Long: " + "x".repeat(2000));

        assertThat(rec.malformed).containsExactly("response head over 1024 bytes");
    }

    @Test
    void equalContentLengthsInAListAreOneLength() {
        feed("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabc");

        assertThat(rec.heads.get(0).contentLength()).isEqualTo(3);
        assertThat(rec.body()).isEqualTo("abc");
    }

    private void feed(String s) {
        decoder.decode(buf(s), rec);
    }

    private static ByteBuf buf(String s) {
        byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
        return ALLOC.directBuffer(b.length).writeBytes(b);
    }

    /** Keeps what the decoder hands out; releases the bodies at the end. */
    private static final class Recorder implements ResponseDecoder.Sink {
        final List<UpstreamHead> heads = new ArrayList<>();
        final List<HttpContent> contents = new ArrayList<>();
        final List<String> malformed = new ArrayList<>();
        int lasts;

        @Override
        public void head(UpstreamHead head) {
            heads.add(head);
        }

        @Override
        public void content(HttpContent content) {
            contents.add(content);
            if (content instanceof LastHttpContent) {
                lasts++;
            }
        }

        @Override
        public void malformed(String why) {
            malformed.add(why);
        }

        String body() {
            StringBuilder sb = new StringBuilder();
            for (HttpContent c : contents) {
                sb.append(c.content().toString(StandardCharsets.ISO_8859_1));
            }
            return sb.toString();
        }

        void release() {
            contents.forEach(HttpContent::release);
            contents.clear();
        }
    }
}
