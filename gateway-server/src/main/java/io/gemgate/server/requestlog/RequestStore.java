package io.gemgate.server.requestlog;

import io.gemgate.core.keys.QuotaCalendar;
import io.gemgate.core.requestlog.AttemptRecord;
import io.gemgate.core.requestlog.RequestRecord;
import io.gemgate.core.requestlog.UsageCounters;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The request log's SQL, on one connection, used by one thread (the log's writer): batched inserts of records and
 * their attempts in one transaction, usage added to per-minute and per-day rows (insert or add), pruning, and the
 * admin API's reads. The same statements serve SQLite and PostgreSQL.
 *
 * <p>Record ids are made here: the time the request arrived in the high bits, the gateway's number (one row of
 * {@code gemgate_gateways} per start, so gateways sharing a PostgreSQL never make the same id) and a sequence in the
 * low bits, increasing with every record written. Newest first is highest id first; a cursor is an id.
 */
final class RequestStore implements AutoCloseable {
    /** 2025-01-01T00:00:00Z: ids count milliseconds from here, 41 bits of them (until 2094). */
    static final long ID_EPOCH = 1_735_689_600_000L;
    static final int NODE_BITS = 10;
    static final int SEQ_BITS = 12;
    private static final int PRUNE_CHUNK = 5_000;
    /**
     * Records sent to the database at a time within a batch's transaction, the writer yielding its core between
     * them: a batch of 500 in one go was a spell of a few milliseconds that kept an event loop off its core (the
     * same cause as the access log's spells, docs/benchmarks.md, fifth session).
     */
    private static final int INSERT_CHUNK = 32;

    private static final String INSERT_REQUEST = "insert into gemgate_requests (id, ts, method, path, route, protocol,"
            + " model, token_id, token_name, client, stream, status, bytes_out, latency_ms, ttfb_ms, prompt_tokens,"
            + " output_tokens, reasoning_tokens, attempts, key_id, key_masked, verdict, error_reason, error_message,"
            + " error_body) values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    private static final String INSERT_ATTEMPT = "insert into gemgate_attempts (request_id, n, key_id, key_masked,"
            + " tier, key_group, upstream_status, verdict, reason, message, latency_ms) values (?,?,?,?,?,?,?,?,?,?,?)";
    private static final String ADD_USAGE = "insert into gemgate_usage (period, bucket, dim, value, requests,"
            + " failures, prompt_tokens, output_tokens, reasoning_tokens) values (?,?,?,?,?,?,?,?,?)"
            + " on conflict (period, dim, bucket, value) do update set requests = gemgate_usage.requests"
            + " + excluded.requests, failures = gemgate_usage.failures + excluded.failures,"
            + " prompt_tokens = gemgate_usage.prompt_tokens + excluded.prompt_tokens,"
            + " output_tokens = gemgate_usage.output_tokens + excluded.output_tokens,"
            + " reasoning_tokens = gemgate_usage.reasoning_tokens + excluded.reasoning_tokens";
    static final String COLUMNS = "id, ts, method, path, route, protocol, model, token_id, token_name, client,"
            + " stream, status, bytes_out, latency_ms, ttfb_ms, prompt_tokens, output_tokens, reasoning_tokens,"
            + " attempts, key_id, key_masked, verdict, error_reason, error_message, error_body";

    private final Database db;
    private final Connection c;
    private final long node;
    private long lastId;
    private PreparedStatement insertRequest;
    private PreparedStatement insertAttempt;

    /** Opens a connection and takes this gateway's number. */
    RequestStore(Database db, long nowMillis) throws SQLException {
        this.db = db;
        this.c = db.open();
        try (PreparedStatement s = c.prepareStatement("insert into gemgate_gateways (started) values (?)",
                Statement.RETURN_GENERATED_KEYS)) {
            s.setLong(1, nowMillis);
            s.executeUpdate();
            try (ResultSet k = s.getGeneratedKeys()) {
                k.next();
                this.node = k.getLong(1) & ((1 << NODE_BITS) - 1);
            }
        }
    }

    Database database() {
        return db;
    }

    /** The id of a record of a request that arrived at {@code startMillis}: higher than every id made before. */
    private long nextId(long startMillis) {
        long id = (Math.max(0, startMillis - ID_EPOCH) << (NODE_BITS + SEQ_BITS)) | (node << SEQ_BITS);
        lastId = Math.max(lastId + 1, id);
        return lastId;
    }

    /**
     * Writes the records and their attempts in one transaction. The two statements are prepared once per connection
     * (parsing them was a good part of a small batch's cost).
     */
    void insert(List<RequestRecord> records) throws SQLException {
        c.setAutoCommit(false);
        try {
            if (insertRequest == null) {
                insertRequest = c.prepareStatement(INSERT_REQUEST);
                insertAttempt = c.prepareStatement(INSERT_ATTEMPT);
            }
            PreparedStatement r = insertRequest;
            PreparedStatement a = insertAttempt;
            int sent = 0;
            for (RequestRecord rec : records) {
                long id = nextId(rec.startMillis());
                AttemptRecord last = rec.lastAttempt();
                int i = 1;
                r.setLong(i++, id);
                r.setLong(i++, rec.startMillis());
                r.setString(i++, rec.method());
                r.setString(i++, rec.path());
                r.setString(i++, rec.route());
                r.setString(i++, rec.protocol());
                r.setString(i++, rec.model());
                r.setString(i++, rec.tokenId());
                r.setString(i++, rec.tokenName());
                r.setString(i++, rec.client());
                r.setInt(i++, rec.stream() ? 1 : 0);
                r.setInt(i++, rec.status());
                r.setLong(i++, rec.bytesOut());
                r.setLong(i++, rec.latencyMillis());
                r.setLong(i++, rec.firstByteMillis());
                r.setLong(i++, rec.promptTokens());
                r.setLong(i++, rec.outputTokens());
                r.setLong(i++, rec.reasoningTokens());
                r.setInt(i++, rec.attempts().size());
                r.setString(i++, last == null ? "" : last.keyId());
                r.setString(i++, last == null ? "" : last.keyMasked());
                r.setString(i++, last == null ? "" : last.verdict());
                text(r, i++, rec.errorReason());
                text(r, i++, rec.errorMessage());
                text(r, i++, rec.errorBody());
                r.addBatch();
                int n = 0;
                for (AttemptRecord at : rec.attempts()) {
                    int j = 1;
                    a.setLong(j++, id);
                    a.setInt(j++, n++);
                    a.setString(j++, at.keyId());
                    a.setString(j++, at.keyMasked());
                    a.setInt(j++, at.tier());
                    a.setString(j++, at.group());
                    a.setInt(j++, at.upstreamStatus());
                    a.setString(j++, at.verdict());
                    text(a, j++, at.reason());
                    text(a, j++, at.message());
                    a.setLong(j++, at.latencyMillis());
                    a.addBatch();
                }
                if (++sent % INSERT_CHUNK == 0) {
                    r.executeBatch();
                    a.executeBatch();
                    Thread.yield();
                }
            }
            r.executeBatch();
            a.executeBatch();
            c.commit();
        } catch (SQLException | RuntimeException e) {
            clearQuietly(insertRequest);
            clearQuietly(insertAttempt);
            rollbackQuietly();
            throw e;
        } finally {
            autoCommitQuietly();
        }
    }

    private static void clearQuietly(PreparedStatement s) {
        if (s != null) {
            try {
                s.clearBatch();
            } catch (SQLException ignored) {
                // the connection is closed after a failed write anyway
            }
        }
    }

    private static void text(PreparedStatement s, int i, String v) throws SQLException {
        if (v == null) {
            s.setNull(i, Types.VARCHAR);
        } else {
            s.setString(i, v);
        }
    }

    /** Adds drained usage counts to their minute's and their quota day's rows, in one transaction. */
    void addUsage(List<UsageCounters.Row> rows, QuotaCalendar calendar) throws SQLException {
        if (rows.isEmpty()) {
            return;
        }
        // One row per (day, dim, value) for the day rows: several minutes of one day add up first.
        Map<List<Object>, long[]> days = new LinkedHashMap<>();
        c.setAutoCommit(false);
        try (PreparedStatement s = c.prepareStatement(ADD_USAGE)) {
            for (UsageCounters.Row row : rows) {
                usage(s, "minute", row.minuteStart(), row.dim().label(), row.value(), row.requests(), row.failures(),
                        row.promptTokens(), row.outputTokens(), row.reasoningTokens());
                long[] d = days.computeIfAbsent(List.of(calendar.dayStart(row.minuteStart()), row.dim().label(),
                        row.value()), k -> new long[5]);
                d[0] += row.requests();
                d[1] += row.failures();
                d[2] += row.promptTokens();
                d[3] += row.outputTokens();
                d[4] += row.reasoningTokens();
            }
            for (Map.Entry<List<Object>, long[]> e : days.entrySet()) {
                long[] d = e.getValue();
                usage(s, "day", (Long) e.getKey().get(0), (String) e.getKey().get(1), (String) e.getKey().get(2),
                        d[0], d[1], d[2], d[3], d[4]);
            }
            s.executeBatch();
            c.commit();
        } catch (SQLException | RuntimeException e) {
            rollbackQuietly();
            throw e;
        } finally {
            autoCommitQuietly();
        }
    }

    private static void usage(PreparedStatement s, String period, long bucket, String dim, String value, long req,
                              long fail, long p, long o, long t) throws SQLException {
        s.setString(1, period);
        s.setLong(2, bucket);
        s.setString(3, dim);
        s.setString(4, value);
        s.setLong(5, req);
        s.setLong(6, fail);
        s.setLong(7, p);
        s.setLong(8, o);
        s.setLong(9, t);
        s.addBatch();
    }

    /**
     * Prunes records that arrived before {@code before}, then the oldest records while the records take more than
     * {@code maxBytes}, usage per day before {@code usageBefore} and usage per minute before {@code minutesBefore}.
     * Deletes in chunks, each its own transaction, so that a reader or a gateway's writer never waits long.
     *
     * @return the records deleted
     */
    long prune(long before, long maxBytes, long usageBefore, long minutesBefore) throws SQLException {
        long deleted = 0;
        while (true) {
            // By ts, the indexed column: "order by id" had SQLite walk the table in id order to find none old.
            int n = deleteOldest("select id from gemgate_requests where ts < " + before + " order by ts limit "
                    + PRUNE_CHUNK);
            deleted += n;
            if (n < PRUNE_CHUNK) {
                break;
            }
        }
        for (int round = 0; round < 20; round++) {
            long size = recordBytes();
            if (size <= maxBytes) {
                break; // the usual case, read from the page counts: no count of the rows (a scan of the table)
            }
            long rows = count();
            if (rows == 0) {
                break;
            }
            // Down to 90% of the bound, so that pruning by size does not run for every few records.
            long excess = (long) Math.ceil(rows * (1 - 0.9 * maxBytes / (double) size));
            long n = deleteOldest("select id from gemgate_requests order by id limit "
                    + Math.max(1, Math.min(excess, PRUNE_CHUNK)));
            deleted += n;
            if (n == 0) {
                break;
            }
        }
        try (PreparedStatement s = c.prepareStatement("delete from gemgate_usage where (period = 'day' and bucket < ?)"
                + " or (period = 'minute' and bucket < ?)")) {
            s.setLong(1, usageBefore);
            s.setLong(2, minutesBefore);
            s.executeUpdate();
        }
        return deleted;
    }

    /** Deletes the records {@code select} names, and their attempts, in one transaction. */
    private int deleteOldest(String select) throws SQLException {
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            s.executeUpdate("delete from gemgate_attempts where request_id in (" + select + ")");
            int n = s.executeUpdate("delete from gemgate_requests where id in (" + select + ")");
            c.commit();
            return n;
        } catch (SQLException | RuntimeException e) {
            rollbackQuietly();
            throw e;
        } finally {
            autoCommitQuietly();
        }
    }

    long count() throws SQLException {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("select count(*) from gemgate_requests")) {
            r.next();
            return r.getLong(1);
        }
    }

    /**
     * What the records take in the database. SQLite: the pages in use (free pages are reused, so the file stops
     * growing at the bound). PostgreSQL: the size of the two tables scaled by the share of live rows in them (space
     * of deleted rows is reused after autovacuum), an estimate from the server's statistics.
     */
    long recordBytes() throws SQLException {
        try (Statement s = c.createStatement()) {
            if (db.kind() == Database.Kind.SQLITE) {
                long pages = single(s, "pragma page_count");
                long free = single(s, "pragma freelist_count");
                long size = single(s, "pragma page_size");
                return (pages - free) * size;
            }
            try (ResultSet r = s.executeQuery("select coalesce(sum(pg_total_relation_size(relid)"
                    + " * case when n_live_tup + n_dead_tup = 0 then 1.0"
                    + " else n_live_tup::float8 / (n_live_tup + n_dead_tup) end), 0)::bigint"
                    + " from pg_stat_user_tables where relname in ('gemgate_requests', 'gemgate_attempts')")) {
                r.next();
                return r.getLong(1);
            }
        }
    }

    private static long single(Statement s, String sql) throws SQLException {
        try (ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getLong(1);
        }
    }

    Connection connection() {
        return c;
    }

    private void rollbackQuietly() {
        try {
            c.rollback();
        } catch (SQLException ignored) {
            // the connection is closed and opened again by the writer
        }
    }

    private void autoCommitQuietly() {
        try {
            c.setAutoCommit(true);
        } catch (SQLException ignored) {
            // idem
        }
    }

    @Override
    public void close() {
        try {
            c.close(); // closes the prepared statements too
        } catch (SQLException ignored) {
            // closing
        }
    }

    /** The records' attempts, by record id, for the given ids. */
    Map<Long, List<AttemptRecord>> attempts(List<Long> ids) throws SQLException {
        Map<Long, List<AttemptRecord>> out = new LinkedHashMap<>();
        if (ids.isEmpty()) {
            return out;
        }
        StringBuilder in = new StringBuilder();
        for (Long id : ids) {
            in.append(in.length() == 0 ? "" : ",").append(id.longValue());
        }
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("select request_id, key_id, key_masked,"
                + " tier, key_group, upstream_status, verdict, reason, message, latency_ms from gemgate_attempts"
                + " where request_id in (" + in + ") order by request_id, n")) {
            while (r.next()) {
                out.computeIfAbsent(r.getLong(1), k -> new ArrayList<>()).add(new AttemptRecord(r.getString(2),
                        r.getString(3), r.getInt(4), r.getString(5), r.getInt(6), r.getString(7), r.getString(8),
                        r.getString(9), r.getLong(10)));
            }
        }
        return out;
    }
}
