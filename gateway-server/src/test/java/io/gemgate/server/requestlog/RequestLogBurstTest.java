package io.gemgate.server.requestlog;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.config.GatewayConfig;
import io.gemgate.core.keys.QuotaCalendar;
import io.gemgate.core.requestlog.AttemptRecord;
import io.gemgate.core.requestlog.RequestRecord;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.ZoneId;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The database's CPU budget ({@code requests.cpuPercent}, README "Request log and usage") with its burst: a client's
 * burst of successes after a quiet spell is written whole, at a rate the budget alone would sample, and a rate kept up
 * longer than the burst lasts is sampled, failures always written. A real SQLite file; the rates are far past the
 * budget whatever the machine.
 */
class RequestLogBurstTest {
    @TempDir
    Path dir;

    private static final GatewayConfig.RequestLog ONE_PERCENT = new GatewayConfig.RequestLog(true, null,
            Duration.ofDays(7), 1L << 30, Duration.ofDays(90), 100_000, 10, 4096, Duration.ofSeconds(1), 1);

    private static RequestRecord record(int status) {
        return new RequestRecord(System.currentTimeMillis(), "POST", "/v1beta/models/m:generateContent", "native",
                "gemini", "m", "", "", "127.0.0.1", false, status, 10, 1, 1, 1, 1, 0,
                List.of(new AttemptRecord("k1", "AIza...0001", 0, "", status, status < 400 ? "success" : "invalid",
                        null, null, 1)), null, null, null);
    }

    /** Adds {@code count} records, {@code perTick} every millisecond: a rate of {@code perTick} thousand a second. */
    private static void add(RequestLog log, int count, int perTick, int status) {
        long next = System.nanoTime();
        for (int i = 0; i < count; i++) {
            if (i % perTick == 0) {
                while (System.nanoTime() < next) {
                    Thread.onSpinWait();
                }
                next += TimeUnit.MILLISECONDS.toNanos(1);
            }
            log.add(record(status));
        }
    }

    /**
     * The rows in the table once everything added so far is written: a read runs on the writer after the records
     * queued before it (RequestLog.read), so the future completes when they are in.
     */
    private static long rowsOnceWritten(RequestLog log, Duration within) throws Exception {
        return log.read(RequestStore::count).get(within.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Test
    void aBurstIsWrittenWholeAndASustainedRateIsSampled() throws Exception {
        try (RequestLog log = RequestLog.start(ONE_PERCENT, dir, new QuotaCalendar(ZoneId.of("UTC")),
                System::currentTimeMillis)) {
            // 1,000 successes over 200 ms: 5,000 a second, at 20 us a row a tenth of a core, ten times the budget;
            // without the burst, one in 13 would be written after the first 50 ms.
            add(log, 1_000, 5, 200);
            assertThat(rowsOnceWritten(log, Duration.ofSeconds(20))).isEqualTo(1_000);
            assertThat(log.written()).isEqualTo(1_000);
            assertThat(log.dropped(RequestLog.Drop.SAMPLED)).isZero();
            assertThat(log.dropped(RequestLog.Drop.FULL)).isZero();

            // 40,000 more at 20,000 a second for two seconds: past the burst, successes are sampled ...
            add(log, 40_000, 20, 200);
            // ... and failures never.
            add(log, 200, 20, 500);
            long rows = rowsOnceWritten(log, Duration.ofSeconds(30));
            assertThat(log.queued()).isZero();
            assertThat(rows).isEqualTo(log.written());
            assertThat(log.written() + log.dropped(RequestLog.Drop.SAMPLED)).isEqualTo(41_200);
            // (at 20 us a row, about 1,000 rows a second past the burst; a machine ten times faster at SQLite still
            // samples thousands)
            assertThat(log.dropped(RequestLog.Drop.SAMPLED)).isGreaterThan(1_000);
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("requests.db"));
             Statement s = c.createStatement();
             ResultSet r = s.executeQuery("select count(*) from gemgate_requests where status = 500")) {
            assertThat(r.next()).isTrue();
            assertThat(r.getLong(1)).isEqualTo(200);
        }
    }
}
