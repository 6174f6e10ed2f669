package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RecordedRequest;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Random and mutated request heads and chunked bodies, from a fixed seed, against a real gateway on raw sockets.
 * One invariant for every input: the connection ends in well-formed answers or a close (never a hang, never a stack
 * of bytes that is not HTTP), what reached the upstream is only ever a whole request (its body exactly one the
 * templates carry, its target free of dot segments and of the client's token), and nothing leaks at PARANOID.
 * Bounded: {@link #INPUTS} inputs or {@link #BUDGET_MILLIS}, whichever comes first.
 */
@ExtendWith(LeakDetection.class)
class RequestDecoderFuzzTest {
    private static final long SEED = 0x15_2026_12_07L;
    private static final int INPUTS = 600;
    private static final long BUDGET_MILLIS = 40_000;
    private static final String BODY = "{\"contents\":[{\"parts\":[{\"text\":\"fuzz\"}]}]}";
    private static final String GENERATE = "/v1beta/models/gemini-2.5-flash:generateContent";
    private static final Pattern STATUS_LINE = Pattern.compile("^HTTP/1\\.[01] [1-5]\\d\\d [^\\r\\n]*\\r\\n");
    private static final String[] TEMPLATES = {
        "POST " + GENERATE + " HTTP/1.1\r\nHost: h\r\nX-Fuzz: native\r\nx-goog-api-key: " + TOKEN
                + "\r\nContent-Type: application/json\r\nContent-Length: " + BODY.length() + "\r\n\r\n" + BODY,
        "POST " + GENERATE + " HTTP/1.1\r\nHost: h\r\nX-Fuzz: native\r\nx-goog-api-key: " + TOKEN
                + "\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n" + BODY.substring(0, 16) + "\r\n"
                + Integer.toHexString(BODY.length() - 16) + "\r\n" + BODY.substring(16) + "\r\n0\r\n\r\n",
        "GET /v1beta/models?pageSize=2 HTTP/1.1\r\nHost: h\r\nx-goog-api-key: " + TOKEN + "\r\n\r\n",
        "POST /v1/chat/completions HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer " + TOKEN
                + "\r\nContent-Type: application/json\r\nContent-Length: 72\r\n\r\n"
                + "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
        "GET /health HTTP/1.1\r\nHost: h\r\n\r\n",
    };
    private static final String[] SPLICES = {
        "\r\n", "\n", "\r", " ", "\t", ":", "\u0000", "\u00ff", "%", "%2e%2e/", "../", "%2f", ";key=", "?%6bey=",
        "Transfer-Encoding: chunked\r\n", "Content-Length: 5\r\n", "Content-Length: -1\r\n", "Host: a\r\n",
        "ffffffffffffffffffff\r\n", "0\r\n\r\n", "zz\r\n", "HTTP/2.0", "get", "Expect: 100-continue\r\n",
        "Connection: close\r\n", "x".repeat(3000),
    };

    @Test
    void everyInputEndsInAWellFormedAnswerOrACloseAndOnlyWholeRequestsReachTheUpstream() throws Exception {
        try (GatewayHarness gw = GatewayHarness.start(2, Map.of("GEMGATE_SERVER_IDLE_TIMEOUT", "300ms",
                "GEMGATE_SERVER_REQUEST_READ_TIMEOUT", "300ms", "GEMGATE_SERVER_MAX_HEADER_BYTES", "2048",
                "GEMGATE_SERVER_MAX_INITIAL_LINE_BYTES", "1024"))) {
            Random random = new Random(SEED);
            List<String> inputs = new ArrayList<>();
            for (int i = 0; i < INPUTS; i++) {
                inputs.add(input(random));
            }
            ExecutorService pool = Executors.newFixedThreadPool(8);
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(BUDGET_MILLIS);
            List<Future<String>> answers = new ArrayList<>();
            try {
                for (String in : inputs) {
                    answers.add(pool.submit(() -> System.nanoTime() < deadline ? send(gw.port(), in) : null));
                }
                int checked = 0;
                for (int i = 0; i < answers.size(); i++) {
                    String answer;
                    try {
                        answer = answers.get(i).get(30, TimeUnit.SECONDS);
                    } catch (java.util.concurrent.ExecutionException e) {
                        throw new AssertionError("input " + i + ": " + printable(inputs.get(i)), e.getCause());
                    }
                    if (answer == null) {
                        continue; // past the time budget
                    }
                    checked++;
                    assertWellFormed(answer, inputs.get(i));
                }
                assertThat(checked).as("inputs tried within the budget").isGreaterThan(100);
            } finally {
                pool.shutdownNow();
            }
            for (RecordedRequest r : gw.fake().requests()) {
                // Every native body the templates frame is BODY.length() bytes (by Content-Length or by chunks);
                // a translated chat body is the gateway's own JSON. A cut or misframed body never goes.
                String body = r.body();
                if (!body.isEmpty() && "native".equals(r.header("x-fuzz"))) {
                    assertThat(body.length()).as("body of %s %s: %s", r.method(), r.uri(), body)
                            .isEqualTo(BODY.length());
                }
                String path = r.uri().indexOf('?') < 0 ? r.uri() : r.uri().substring(0, r.uri().indexOf('?'));
                assertThat(path).doesNotContain("/..", "/.", "%2e", "%2E", "%2f", "%2F", ";");
                assertThat(r.uri()).doesNotContain(TOKEN);
                assertThat(r.headers().toString()).doesNotContain(TOKEN);
            }
        }
    }

    /** One template, mutated 0 to 4 times; a few inputs are plain random bytes. */
    private static String input(Random r) {
        if (r.nextInt(20) == 0) {
            StringBuilder b = new StringBuilder();
            for (int i = r.nextInt(200); i > 0; i--) {
                b.append((char) r.nextInt(256));
            }
            return b.toString();
        }
        StringBuilder b = new StringBuilder(TEMPLATES[r.nextInt(TEMPLATES.length)]);
        if (r.nextInt(4) == 0) {
            b.append(TEMPLATES[r.nextInt(TEMPLATES.length)]); // pipelined
        }
        for (int m = r.nextInt(5); m > 0 && b.length() > 0; m--) {
            int at = r.nextInt(b.length());
            switch (r.nextInt(5)) {
                case 0 -> b.setCharAt(at, (char) r.nextInt(256));
                case 1 -> b.deleteCharAt(at);
                case 2 -> b.insert(at, SPLICES[r.nextInt(SPLICES.length)]);
                case 3 -> b.setLength(at); // truncated
                default -> {
                    int end = Math.min(b.length(), at + 1 + r.nextInt(16));
                    b.insert(at, b.substring(at, end)); // a repeated run
                }
            }
        }
        return b.toString();
    }

    /** Writes the input, half-closes nothing, reads until the gateway closes (its idle or read timeout at most). */
    private static String send(int port, String input) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            try {
                s.getOutputStream().write(input.getBytes(StandardCharsets.ISO_8859_1));
            } catch (java.io.IOException closedEarly) {
                // answered and closed before all was written
            }
            InputStream in = s.getInputStream();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            try {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    out.write(buf, 0, n);
                }
            } catch (java.net.SocketException reset) {
                // a reset after what was read
            }
            return out.toString(StandardCharsets.ISO_8859_1);
        }
    }

    /** Zero or more complete answers (status line, fields, body framed by Content-Length or chunked). */
    private static void assertWellFormed(String answer, String input) {
        String rest = answer;
        String what = "answer to " + printable(input);
        while (!rest.isEmpty()) {
            Matcher m = STATUS_LINE.matcher(rest);
            assertThat(m.find()).as("%s: %s", what, printable(rest)).isTrue();
            int headEnd = rest.indexOf("\r\n\r\n");
            assertThat(headEnd).as(what).isPositive();
            String head = rest.substring(0, headEnd).toLowerCase(java.util.Locale.ROOT);
            int status = Integer.parseInt(rest.substring(9, 12));
            rest = rest.substring(headEnd + 4);
            if (status == 100) {
                continue;
            }
            Matcher cl = Pattern.compile("\r\ncontent-length: (\\d+)").matcher(head);
            if (cl.find()) {
                int n = Integer.parseInt(cl.group(1));
                assertThat(rest.length()).as(what).isGreaterThanOrEqualTo(n);
                rest = rest.substring(n);
            } else if (head.contains("\r\ntransfer-encoding: chunked")) {
                while (true) {
                    int eol = rest.indexOf("\r\n");
                    assertThat(eol).as(what).isGreaterThanOrEqualTo(0);
                    int size = Integer.parseInt(rest.substring(0, eol), 16);
                    rest = rest.substring(eol + 2 + size + 2);
                    if (size == 0) {
                        break;
                    }
                }
            } else {
                rest = ""; // delimited by the close
            }
        }
    }

    private static String printable(String s) {
        String cut = s.length() > 300 ? s.substring(0, 300) + "..." : s;
        StringBuilder b = new StringBuilder();
        for (char c : cut.toCharArray()) {
            b.append(c >= ' ' && c < 0x7f ? String.valueOf(c) : String.format("\\x%02x", (int) c));
        }
        return b.toString();
    }
}
