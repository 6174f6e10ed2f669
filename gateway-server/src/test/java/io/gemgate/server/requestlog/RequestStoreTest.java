package io.gemgate.server.requestlog;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.requestlog.AttemptRecord;
import io.gemgate.core.requestlog.RequestRecord;
import io.gemgate.testing.PostgresServer;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A batch of records written by the request log's writer ({@link RequestStore#insert}): sent to the database a few
 * records at a time within one transaction, every record and every attempt arrives, in SQLite and in PostgreSQL.
 */
class RequestStoreTest {
    @RegisterExtension
    static final PostgresServer pg = new PostgresServer();

    @TempDir
    Path dir;

    @Test
    void aBatchLongerThanOneSendingArrivesWholeInSqlite() throws Exception {
        Database db = Database.sqlite(dir.resolve("requests.db"));
        db.migrate();
        writesEveryRecordAndAttempt(db);
    }

    @Test
    void aBatchLongerThanOneSendingArrivesWholeInPostgres() throws Exception {
        pg.createDatabase("store_batch");
        Database db = Database.postgres(pg.url("store_batch"));
        db.migrate();
        writesEveryRecordAndAttempt(db);
    }

    private static void writesEveryRecordAndAttempt(Database db) throws Exception {
        long now = 1_760_000_000_000L;
        try (RequestStore store = new RequestStore(db, now)) {
            for (int size : new int[] {1, 32, 33, 64, 75}) {
                List<RequestRecord> batch = new ArrayList<>();
                int attempts = 0;
                for (int i = 0; i < size; i++) {
                    List<AttemptRecord> a = new ArrayList<>();
                    for (int n = 0; n < i % 4; n++) {
                        a.add(new AttemptRecord("k" + n, "AIza...000" + n, n, "", n == i % 4 - 1 ? 200 : 429,
                                n == i % 4 - 1 ? "success" : "rate_limit", null, null, n));
                    }
                    attempts += a.size();
                    batch.add(new RequestRecord(now + i, "POST", "/b" + size + "/r" + i, "native", "gemini", "m", "",
                            "", "127.0.0.1", false, a.isEmpty() ? 401 : 200, i, i, i, 0, 0, 0, a, null, null, null));
                }
                store.insert(batch);
                try (Statement s = store.connection().createStatement();
                     ResultSet r = s.executeQuery("select id, path from gemgate_requests where path like '/b" + size
                             + "/%' order by id")) {
                    List<Long> ids = new ArrayList<>();
                    List<String> paths = new ArrayList<>();
                    while (r.next()) {
                        ids.add(r.getLong(1));
                        paths.add(r.getString(2));
                    }
                    assertThat(paths).as("batch of %d", size).hasSize(size)
                            .containsExactlyInAnyOrderElementsOf(batch.stream().map(RequestRecord::path).toList());
                    Map<Long, List<AttemptRecord>> stored = store.attempts(ids);
                    assertThat(stored.values().stream().mapToInt(List::size).sum()).as("attempts of %d", size)
                            .isEqualTo(attempts);
                }
            }
            assertThat(store.count()).isEqualTo(1 + 32 + 33 + 64 + 75);
        }
    }
}
