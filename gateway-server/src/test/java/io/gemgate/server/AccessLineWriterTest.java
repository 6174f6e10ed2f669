package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.requestlog.AttemptRecord;
import io.gemgate.core.requestlog.RequestRecord;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.ConfigurationSource;
import org.apache.logging.log4j.core.config.xml.XmlConfiguration;
import org.apache.logging.log4j.core.impl.MutableLogEvent;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.apache.logging.log4j.message.SimpleMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The access lines written straight to the appenders' streams are the bytes log4j2's layout would have written, reach
 * the file the configuration names (rolled over as configured), and give way to log4j2 when the configuration is
 * not the shipped layout.
 */
class AccessLineWriterTest {
    @TempDir
    Path dir;
    private final List<LoggerContext> contexts = new ArrayList<>();

    @AfterEach
    void stop() {
        contexts.forEach(LoggerContext::stop);
    }

    @Test
    void aLineIsTheBytesOfTheShippedLayout() throws IOException {
        PatternLayout layout = PatternLayout.newBuilder().withPattern(AccessLineWriter.PATTERN)
                .withCharset(StandardCharsets.UTF_8).build();
        AccessLineWriter w = new AccessLineWriter(context(config("file.log", AccessLineWriter.PATTERN, ""))
                .getLogger("gemgate.access"));
        String[] messages = {
            "POST /v1beta/models/gemini-2.5-flash:generateContent 200 model=gemini-2.5-flash key=AIza...Q9xk tier=1"
                    + " attempts=2 1834ms token=gg-t...5d1c",
            "GET /v1beta/models 401 model=- key=- tier=- attempts=0 0ms token=wron...4567",
            "POST /x 200 model=caf\u00e9-\u4e2d\u6587-\ud83d\ude00-\ud83d tier=- token=-",
            ""};
        long[] times = {0L, 999L, 1_000L, 1_700_000_000_000L, 1_700_000_000_999L, 1_711_846_799_500L,
            1_711_846_800_001L, 4_102_444_799_999L, System.currentTimeMillis()};
        byte[] out = new byte[4096];
        for (long t : times) {
            for (String m : messages) {
                int n = w.line(t, m, out, 0);
                assertThat(new String(out, 0, n, StandardCharsets.UTF_8)).as("at %d", t)
                        .isEqualTo(log4j2Line(layout, m, t));
            }
        }
    }

    /** The line encoded from a record's fields is the bytes of the text AccessLog makes of it for log4j2. */
    @Test
    void aRecordsLineIsTheTextTheLog4jPathWrites() throws IOException {
        AccessLineWriter w = new AccessLineWriter(context(config("r.log", AccessLineWriter.PATTERN, ""))
                .getLogger("gemgate.access"));
        AttemptRecord failed = new AttemptRecord("k1", "AIza...Q9xk", 0, "", 429, "rate_limit", "RESOURCE_EXHAUSTED",
                "slow down", 12);
        AttemptRecord served = new AttemptRecord("k2", "AIza...0000", 3, "paid", 200, "success", null, null, 1834);
        List<RequestRecord> records = List.of(
                record("POST", "/v1beta/models/gemini-2.5-flash:generateContent", "gemini-2.5-flash", 200,
                        List.of(failed, served), 1834, "gg-t...5d1c", false),
                record("GET", "/v1beta/models", "", 200, List.of(served), 0, "-", false),
                record("GET", "/v1beta/files/abc", "", 404, List.of(), 7, "-", false),
                record("GET", "/health", "", 200, List.of(), 3, "-", true),
                record("POST", "/v1beta/models/modèle-中:generateContent", "modèle-中", 503,
                        List.of(failed), 123_456_789_012L, "wron...4567", false),
                record("POST", "/x", "m", 499, List.of(), -1, "...", false));
        byte[] ours = new byte[4096];
        byte[] theirs = new byte[4096];
        long t = 1_700_000_000_042L;
        for (RequestRecord r : records) {
            int n = w.line(t, r, ours, 0);
            int m = w.line(t, AccessLog.message(r), theirs, 0);
            assertThat(new String(ours, 0, n, StandardCharsets.UTF_8))
                    .isEqualTo(new String(theirs, 0, m, StandardCharsets.UTF_8));
        }
        assertThat(AccessLog.message(records.get(0))).isEqualTo("POST /v1beta/models/gemini-2.5-flash:generateContent"
                + " 200 model=gemini-2.5-flash key=AIza...0000 tier=3 attempts=2 1834ms token=gg-t...5d1c");
        assertThat(AccessLog.message(records.get(3))).isEqualTo(
                "GET /health 200 model=- key=- tier=- attempts=0 3ms token=-");
        assertThat(AccessLog.message(records.get(1))).contains(" model=* ");
    }

    @Test
    void numbersOfEverySizeAreWrittenAsTheLog4jPathWritesThem() throws IOException {
        AccessLineWriter w = new AccessLineWriter(context(config("n.log", AccessLineWriter.PATTERN, ""))
                .getLogger("gemgate.access"));
        byte[] ours = new byte[4096];
        byte[] theirs = new byte[4096];
        long[] values = {0, 1, 9, 10, 11, 99, 100, 101, 110, 999, 1000, 1001, 9999, 10_000, 123_456_789_012L,
            Long.MAX_VALUE, -1, -10, -999, -1000, Long.MIN_VALUE};
        for (long v : values) {
            for (int tier : new int[] {0, 7, 10, 100, 999, 1000, 12345}) {
                AttemptRecord a = new AttemptRecord("k", "AIza...0000", tier, "", 200, "success", null, null, 1);
                RequestRecord r = new RequestRecord(0L, "GET", "/x", "native", "gemini", "m", "", "", "", false,
                        (int) Math.max(100, Math.min(599, Math.abs(v % 600))), 1, v, 1, 0, 0, 0, List.of(a), null,
                        null, null, "-", true, false);
                int n = w.line(1_700_000_000_042L, r, ours, 0);
                int m = w.line(1_700_000_000_042L, AccessLog.message(r), theirs, 0);
                assertThat(new String(ours, 0, n, StandardCharsets.UTF_8)).as("latency %d, tier %d", v, tier)
                        .isEqualTo(new String(theirs, 0, m, StandardCharsets.UTF_8))
                        .contains(" " + v + "ms ").contains(" tier=" + tier + " ");
            }
        }
    }

    /**
     * A record's line carries the time its request ended (its start and latency), whenever the writer gets to it, and
     * lines of two loops' requests that ended a second's turn apart, in either order, each carry their own second.
     */
    @Test
    void aRecordsLineCarriesTheTimeItsRequestEnded() throws IOException {
        PatternLayout layout = PatternLayout.newBuilder().withPattern(AccessLineWriter.PATTERN)
                .withCharset(StandardCharsets.UTF_8).build();
        AccessLineWriter w = new AccessLineWriter(context(config("t.log", AccessLineWriter.PATTERN, ""))
                .getLogger("gemgate.access"));
        byte[] out = new byte[4096];
        long[][] startAndLatency = {{1_700_000_000_900L, 150}, {1_700_000_000_990L, 9}, {1_700_000_001_000L, 0},
            {1_700_000_000_000L, 999}, {1_700_000_001_500L, 1_000}, {1_700_000_001_999L, 1}, {1_699_999_999_999L, 0}};
        for (long[] sl : startAndLatency) {
            RequestRecord r = new RequestRecord(sl[0], "GET", "/v1beta/models", "native", "gemini", "", "", "",
                    "127.0.0.1", false, 200, 10, sl[1], 1, 0, 0, 0, List.of(), null, null, null, "-", true, false);
            int n = w.line(r, out, 0);
            assertThat(new String(out, 0, n, StandardCharsets.UTF_8)).as("ended at %d", sl[0] + sl[1])
                    .isEqualTo(log4j2Line(layout, AccessLog.message(r), sl[0] + sl[1]));
        }
    }

    /** What {@code layout} writes for the access logger's {@code message} on this thread at {@code millis}. */
    private static String log4j2Line(PatternLayout layout, String message, long millis) {
        MutableLogEvent e = new MutableLogEvent();
        e.setLoggerName("gemgate.access");
        e.setLevel(Level.INFO);
        e.setMessage(new SimpleMessage(message));
        e.setThreadName(Thread.currentThread().getName());
        e.setTimeMillis(millis);
        return new String(layout.toByteArray(e), StandardCharsets.UTF_8);
    }

    private static RequestRecord record(String method, String path, String model, int status,
                                        List<AttemptRecord> attempts, long millis, String hint, boolean edge) {
        return new RequestRecord(0L, method, path, "native", "gemini", model, "", "", "127.0.0.1", false, status,
                10, millis, 1, 0, 0, 0, attempts, null, null, null, hint, !edge, edge);
    }

    @Test
    void linesReachTheConfiguredFileInOrderAndItRollsOverBySize() throws IOException {
        LoggerContext ctx = context(config("access.log", AccessLineWriter.PATTERN, ""));
        AccessLineWriter w = new AccessLineWriter(ctx.getLogger("gemgate.access"));
        List<String> sent = new ArrayList<>();
        for (int i = 0; i < 3_000; i++) { // in batches of 100, as the access log's writer writes them
            String m = "GET /v1beta/models/" + i + " 200 model=* key=AIza...0000 tier=0 attempts=1 3ms token=-";
            assertThat(w.write(m)).isTrue();
            sent.add(m);
            if (i % 100 == 99) {
                w.push();
                flush(ctx);
            }
        }
        ctx.stop();
        contexts.clear();

        List<String> lines = allLines();
        assertThat(lines).hasSize(sent.size());
        for (int i = 0; i < sent.size(); i++) {
            assertThat(lines.get(i)).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d)"
                    + " INFO  \\[" + java.util.regex.Pattern.quote(Thread.currentThread().getName())
                    + "] access - " + java.util.regex.Pattern.quote(sent.get(i)));
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.filter(p -> p.getFileName().toString().startsWith("access-")).count())
                    .as("rolled files (100 KB each)").isGreaterThanOrEqualTo(2);
        }
    }

    @Test
    void anotherLayoutAFilterOrAnAdditiveLoggerGoThroughLog4j() throws IOException {
        assertThat(new AccessLineWriter(context(config("a.log", "%d %p %c - %m%n", ""))
                .getLogger("gemgate.access")).write("GET / 200")).isFalse();
        assertThat(new AccessLineWriter(context(config("b.log", AccessLineWriter.PATTERN,
                "<ThresholdFilter level=\"warn\"/>")).getLogger("gemgate.access")).write("GET / 200")).isFalse();
        String additive = config("c.log", AccessLineWriter.PATTERN, "").replace("additivity=\"false\"",
                "additivity=\"true\"");
        assertThat(new AccessLineWriter(context(additive).getLogger("gemgate.access")).write("GET / 200")).isFalse();
        assertThat(new AccessLineWriter(context(config("d.log", AccessLineWriter.PATTERN, ""))
                .getLogger("gemgate.access")).write("GET / 200")).isTrue();
    }

    @Test
    void bothShippedConfigurationsTakeTheDirectPath() throws IOException {
        for (Path shipped : List.of(Path.of("../config/log4j2.xml"), Path.of("src/main/resources/log4j2.xml"))) {
            LoggerContext ctx = context(Files.readString(shipped));
            AccessLineWriter w = new AccessLineWriter(ctx.getLogger("gemgate.access"));
            assertThat(w.write("GET /probe-of-the-shipped-configuration 200")).as("%s", shipped).isTrue();
            w.push();
        }
    }

    /** A level set to off at run time (or by a reload) stops the lines, as it stops log4j2's; back on, they come. */
    @Test
    void theLoggersLevelIsHonoured() throws IOException {
        LoggerContext ctx = context(config("l.log", AccessLineWriter.PATTERN, ""));
        AccessLineWriter w = new AccessLineWriter(ctx.getLogger("gemgate.access"));
        assertThat(w.write("GET /before 200")).isTrue();
        ctx.getConfiguration().getLoggerConfig("gemgate.access").setLevel(Level.OFF);
        ctx.updateLoggers();
        assertThat(w.write("GET /while-off 200")).isTrue();
        ctx.getConfiguration().getLoggerConfig("gemgate.access").setLevel(Level.INFO);
        ctx.updateLoggers();
        assertThat(w.write("GET /after 200")).isTrue();
        w.push();
        flush(ctx);
        assertThat(Files.readString(dir.resolve("l.log"))).contains(" access - GET /before 200\n",
                " access - GET /after 200\n").doesNotContain("while-off");
    }

    @Test
    void aNewConfigurationIsFollowed() throws IOException {
        LoggerContext ctx = context(config("first.log", AccessLineWriter.PATTERN, ""));
        AccessLineWriter w = new AccessLineWriter(ctx.getLogger("gemgate.access"));
        assertThat(w.write("GET /one 200")).isTrue();
        w.push();
        flush(ctx);
        ctx.reconfigure(xml(ctx, config("second.log", AccessLineWriter.PATTERN, "")));
        assertThat(w.write("GET /two 200")).isTrue();
        w.push();
        flush(ctx);
        ctx.reconfigure(xml(ctx, config("third.log", "%m%n", "")));
        assertThat(w.write("GET /three 200")).isFalse();

        assertThat(Files.readString(dir.resolve("first.log"))).endsWith(" access - GET /one 200\n");
        assertThat(Files.readString(dir.resolve("second.log"))).endsWith(" access - GET /two 200\n");
    }

    private static void flush(LoggerContext ctx) {
        ((org.apache.logging.log4j.core.appender.AbstractOutputStreamAppender<?>) ctx.getConfiguration()
                .getAppender("out")).getManager().flush();
    }

    private List<String> allLines() throws IOException {
        List<Path> rolled;
        try (Stream<Path> files = Files.list(dir)) {
            rolled = files.filter(p -> p.getFileName().toString().startsWith("access-")).sorted((a, b) ->
                    Integer.compare(index(a), index(b))).toList();
        }
        List<String> lines = new ArrayList<>();
        for (Path p : rolled) {
            try (InputStream in = new GZIPInputStream(Files.newInputStream(p))) {
                lines.addAll(new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList());
            }
        }
        lines.addAll(Files.readAllLines(dir.resolve("access.log")));
        return lines;
    }

    private static int index(Path p) {
        String n = p.getFileName().toString();
        return Integer.parseInt(n.substring(n.lastIndexOf('-') + 1, n.indexOf(".log")));
    }

    private String config(String file, String pattern, String filter) {
        String f = dir.resolve(file).toString();
        String rolled = dir.resolve(file.replace(".log", "") + "-%i.log.gz").toString();
        return """
                <Configuration status="warn">
                  <Appenders>
                    <RollingFile name="out" fileName="%s" filePattern="%s" bufferedIO="true" bufferSize="8192"
                                 immediateFlush="false">
                      <PatternLayout pattern="%s" charset="UTF-8"/>
                      <Policies><SizeBasedTriggeringPolicy size="100 KB"/></Policies>
                      <DefaultRolloverStrategy max="100"/>
                    </RollingFile>
                  </Appenders>
                  <Loggers>
                    <Logger name="gemgate.access" level="info" additivity="false">%s<AppenderRef ref="out"/></Logger>
                    <Root level="warn"/>
                  </Loggers>
                </Configuration>
                """.formatted(f, rolled, pattern.replace("'", "&apos;"), filter);
    }

    private LoggerContext context(String xml) throws IOException {
        LoggerContext ctx = new LoggerContext("access-line-test-" + contexts.size());
        contexts.add(ctx);
        ctx.start(xml(ctx, xml));
        return ctx;
    }

    private static XmlConfiguration xml(LoggerContext ctx, String xml) throws IOException {
        return new XmlConfiguration(ctx, new ConfigurationSource(new ByteArrayInputStream(
                xml.getBytes(StandardCharsets.UTF_8))));
    }
}
