package io.gemgate.server.requestlog;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.requestlog.AttemptRecord;
import io.gemgate.core.requestlog.UsageCounters;
import io.gemgate.core.tokens.UserToken;
import io.gemgate.server.GatewayContext;
import io.gemgate.server.admin.AdminResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

/**
 * The admin API's request log and usage routes (README, "Request log and usage"; README, "Admin API"). They read the
 * database, so they are answered later: the read runs on the request log's thread ({@link RequestLog#read}) and the
 * caller writes the answer on its event loop.
 *
 * <pre>
 * GET /admin/api/requests          newest first; filters from, to (ISO instant, date or epoch ms), status (404, 5xx,
 *                                  4xx, error, ok), model, token (id or name), key (id or masked), verdict, route,
 *                                  q (text in the error), client; limit (1 to 500, 50), cursor (the previous
 *                                  answer's next); format=csv or Accept: text/csv for CSV
 * GET /admin/api/requests/{id}     one record with its attempts and Google's error body
 * GET /admin/api/usage             by=token|key|model|group, period=day|minute, from, to (default: 30 days by day,
 *                                  the last day by minute); format=csv
 * </pre>
 * Errors in the admin API's shape: 400 naming the parameter, 404 for an unknown record, 503 when the database is
 * unavailable or the log is off.
 */
public final class RequestLogApi {
    private static final JsonFactory JSON = new JsonFactory();
    private static final Pattern STATUS = Pattern.compile("[1-5]\\d\\d|[1-5]xx|error|ok");
    private static final long DAY = 86_400_000L;
    private static final int MAX_TEXT = 200;

    private final GatewayContext gw;

    public RequestLogApi(GatewayContext gw) {
        this.gw = requireNonNull(gw, "gw");
    }

    /** True for the routes answered here ({@code requests}, {@code requests/{id}}, {@code usage}). */
    public static boolean handles(String[] seg) {
        return seg.length >= 1 && (seg[0].equals("requests") && seg.length <= 2
                || seg[0].equals("usage") && seg.length == 1);
    }

    /**
     * Answers a route of {@link #handles}; the future completes on the request log's thread.
     *
     * @throws BadRequest for a bad parameter (400), at once
     */
    public CompletableFuture<AdminResponse> handle(String[] seg, String query, String accept) {
        Map<String, String> q = params(query);
        boolean csv = "csv".equals(q.get("format")) || (accept != null && accept.toLowerCase(Locale.ROOT)
                .contains("text/csv") && !q.containsKey("format"));
        if (q.containsKey("format") && !q.get("format").equals("csv") && !q.get("format").equals("json")) {
            throw new BadRequest("format: '" + shown(q.get("format")) + "' (expected: json or csv)", "format");
        }
        RequestLog log = gw.requestLog();
        if (!log.isOn()) {
            return CompletableFuture.completedFuture(AdminResponse.error(503,
                    "the request log is off (requests.enabled: false)", null));
        }
        CompletableFuture<AdminResponse> f;
        if (seg[0].equals("usage")) {
            UsageQuery u = usageQuery(q, log);
            f = log.read(s -> usage(s, u, csv));
        } else if (seg.length == 2) {
            long id = id(seg[1]);
            f = log.read(s -> one(s, id));
        } else {
            RequestFilter filter = filter(q);
            f = log.read(s -> list(s, filter, csv));
        }
        return f.exceptionally(e -> AdminResponse.error(503, "the request log database is unavailable: "
                + (e.getCause() != null ? e.getCause() : e).getMessage(), null));
    }

    /** A bad parameter. */
    public static final class BadRequest extends RuntimeException {
        private final String field;

        BadRequest(String message, String field) {
            super(message);
            this.field = field;
        }

        public String field() {
            return field;
        }
    }

    // --------------------------------------------------------------------------------------------- parameters

    private static Map<String, String> params(String query) {
        Map<String, String> out = new LinkedHashMap<>();
        if (query == null || query.isEmpty()) {
            return out;
        }
        for (String p : query.split("&")) {
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.indexOf('=');
            String k = decode(eq < 0 ? p : p.substring(0, eq), "query");
            String v = eq < 0 ? "" : decode(p.substring(eq + 1), k);
            if (!v.isEmpty()) {
                out.put(k, v);
            }
        }
        return out;
    }

    private static String decode(String s, String field) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new BadRequest(field + ": malformed percent-encoding", field);
        }
    }

    private static String shown(String s) {
        return io.gemgate.server.AccessLog.visible(s, 64);
    }

    /** An instant: epoch milliseconds, ISO-8601 ({@code 2026-12-07T03:00:00Z}) or a date (its quota day's start). */
    private long time(Map<String, String> q, String field, long otherwise) {
        String v = q.get(field);
        if (v == null) {
            return otherwise;
        }
        try {
            if (v.chars().allMatch(Character::isDigit) && v.length() <= 15) {
                return Long.parseLong(v);
            }
            if (v.length() == 10) {
                return LocalDate.parse(v).atStartOfDay(gw.pool().calendar().zone()).toInstant().toEpochMilli();
            }
            return Instant.parse(v).toEpochMilli();
        } catch (DateTimeParseException | NumberFormatException e) {
            throw new BadRequest(field + ": '" + shown(v) + "' (expected: 2026-12-07T03:00:00Z, 2026-12-07 or epoch"
                    + " milliseconds)", field);
        }
    }

    private static String text(Map<String, String> q, String field) {
        String v = q.get(field);
        if (v != null && v.length() > MAX_TEXT) {
            throw new BadRequest(field + ": longer than " + MAX_TEXT + " characters", field);
        }
        return v;
    }

    private static long id(String s) {
        try {
            long id = Long.parseLong(s);
            if (id < 0) {
                throw new NumberFormatException();
            }
            return id;
        } catch (NumberFormatException e) {
            throw new BadRequest("request id: '" + shown(s) + "' (expected: the id of a request record)", "id");
        }
    }

    /** What {@code GET /requests} filters on. Null fields do not filter. */
    record RequestFilter(long from, long to, String status, String model, String token, String key, String verdict,
                         String route, String text, String client, int limit, long cursor) {
    }

    private RequestFilter filter(Map<String, String> q) {
        for (String k : q.keySet()) {
            if (!List.of("from", "to", "status", "model", "token", "key", "verdict", "route", "q", "client", "limit",
                    "cursor", "format").contains(k)) {
                throw new BadRequest("unknown parameter '" + shown(k) + "' (expected: from, to, status, model, token,"
                        + " key, verdict, route, q, client, limit, cursor, format)", k);
            }
        }
        String status = q.get("status");
        if (status != null) {
            status = status.toLowerCase(Locale.ROOT);
            if (!STATUS.matcher(status).matches()) {
                throw new BadRequest("status: '" + shown(status) + "' (expected: a status such as 429, a class such"
                        + " as 5xx, error or ok)", "status");
            }
        }
        int limit = 50;
        if (q.containsKey("limit")) {
            try {
                limit = Integer.parseInt(q.get("limit"));
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 1 || limit > 500) {
                throw new BadRequest("limit: '" + shown(q.get("limit")) + "' (expected: 1 to 500)", "limit");
            }
        }
        long cursor = q.containsKey("cursor") ? id(q.get("cursor")) : Long.MAX_VALUE;
        long from = time(q, "from", 0);
        long to = time(q, "to", Long.MAX_VALUE);
        return new RequestFilter(from, to, status, text(q, "model"), text(q, "token"), text(q, "key"),
                text(q, "verdict"), text(q, "route"), text(q, "q"), text(q, "client"), limit, cursor);
    }

    /** What {@code GET /usage} reads. */
    record UsageQuery(UsageCounters.Dim by, String period, long from, long to) {
    }

    private UsageQuery usageQuery(Map<String, String> q, RequestLog log) {
        for (String k : q.keySet()) {
            if (!List.of("by", "period", "from", "to", "format").contains(k)) {
                throw new BadRequest("unknown parameter '" + shown(k) + "' (expected: by, period, from, to, format)",
                        k);
            }
        }
        String byName = q.getOrDefault("by", "model");
        UsageCounters.Dim by = UsageCounters.Dim.of(byName);
        if (by == null) {
            throw new BadRequest("by: '" + shown(byName) + "' (expected: token, key, model or group)", "by");
        }
        String period = q.getOrDefault("period", "day");
        if (!period.equals("day") && !period.equals("minute")) {
            throw new BadRequest("period: '" + shown(period) + "' (expected: day or minute)", "period");
        }
        long now = log.now();
        long from = time(q, "from", period.equals("day") ? log.calendar().dayStart(now - 29 * DAY) : now - DAY);
        long to = time(q, "to", Long.MAX_VALUE);
        if (from > to) {
            throw new BadRequest("from is after to", "from");
        }
        return new UsageQuery(by, period, from, to);
    }

    // ------------------------------------------------------------------------------------------------ reads

    private AdminResponse list(RequestStore s, RequestFilter f, boolean csv) throws SQLException {
        StringBuilder sql = new StringBuilder("select " + RequestStore.COLUMNS + " from gemgate_requests where id < ?");
        List<Object> args = new ArrayList<>();
        args.add(f.cursor());
        if (f.from() > 0) {
            sql.append(" and ts >= ?");
            args.add(f.from());
        }
        if (f.to() != Long.MAX_VALUE) {
            sql.append(" and ts < ?");
            args.add(f.to());
        }
        if (f.status() != null) {
            String st = f.status();
            if (st.equals("error")) {
                sql.append(" and status >= 400");
            } else if (st.equals("ok")) {
                sql.append(" and status < 400");
            } else if (st.endsWith("xx")) {
                int c = st.charAt(0) - '0';
                sql.append(" and status >= ? and status < ?");
                args.add(c * 100);
                args.add(c * 100 + 100);
            } else {
                sql.append(" and status = ?");
                args.add(Integer.parseInt(st));
            }
        }
        eq(sql, args, "model", f.model());
        eq(sql, args, "route", f.route());
        eq(sql, args, "client", f.client());
        if (f.token() != null) {
            sql.append(" and (token_id = ? or token_name = ?)");
            args.add(f.token());
            args.add(f.token());
        }
        if (f.key() != null) {
            sql.append(" and exists (select 1 from gemgate_attempts a where a.request_id = gemgate_requests.id"
                    + " and (a.key_id = ? or a.key_masked = ?))");
            args.add(f.key());
            args.add(f.key());
        }
        if (f.verdict() != null) {
            sql.append(" and exists (select 1 from gemgate_attempts a where a.request_id = gemgate_requests.id"
                    + " and a.verdict = ?)");
            args.add(f.verdict());
        }
        if (f.text() != null) {
            String like = "%" + f.text().toLowerCase(Locale.ROOT).replace("\\", "\\\\").replace("%", "\\%")
                    .replace("_", "\\_") + "%";
            sql.append(" and (lower(coalesce(error_message, '')) like ? escape '\\'"
                    + " or lower(coalesce(error_reason, '')) like ? escape '\\'"
                    + " or lower(coalesce(error_body, '')) like ? escape '\\')");
            args.add(like);
            args.add(like);
            args.add(like);
        }
        sql.append(" order by id desc limit ").append(f.limit() + 1);
        List<Row> rows = new ArrayList<>();
        try (PreparedStatement p = s.connection().prepareStatement(sql.toString())) {
            bind(p, args);
            try (ResultSet r = p.executeQuery()) {
                while (r.next()) {
                    rows.add(Row.of(r));
                }
            }
        }
        String next = null;
        if (rows.size() > f.limit()) {
            rows = rows.subList(0, f.limit());
            next = Long.toString(rows.get(rows.size() - 1).id);
        }
        if (csv) {
            return csvRequests(rows);
        }
        String cursor = next;
        List<Row> page = rows;
        return json(200, g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("requests");
            for (Row row : page) {
                row.write(g, false);
            }
            g.writeEndArray();
            if (cursor == null) {
                g.writeNullField("next");
            } else {
                g.writeStringField("next", cursor);
            }
            writeLogState(g);
            g.writeEndObject();
        });
    }

    private static void eq(StringBuilder sql, List<Object> args, String column, String value) {
        if (value != null) {
            sql.append(" and ").append(column).append(" = ?");
            args.add(value);
        }
    }

    private static void bind(PreparedStatement p, List<Object> args) throws SQLException {
        for (int i = 0; i < args.size(); i++) {
            Object a = args.get(i);
            if (a instanceof Long l) {
                p.setLong(i + 1, l);
            } else if (a instanceof Integer n) {
                p.setInt(i + 1, n);
            } else {
                p.setString(i + 1, (String) a);
            }
        }
    }

    private AdminResponse one(RequestStore s, long id) throws SQLException {
        Row row;
        try (PreparedStatement p = s.connection().prepareStatement("select " + RequestStore.COLUMNS
                + " from gemgate_requests where id = ?")) {
            p.setLong(1, id);
            try (ResultSet r = p.executeQuery()) {
                if (!r.next()) {
                    return AdminResponse.error(404, "no request record " + id + " (pruned, sampled out, or never"
                            + " made)", null);
                }
                row = Row.of(r);
            }
        }
        row.attempts = s.attempts(List.of(id)).getOrDefault(id, List.of());
        Row found = row;
        return json(200, g -> found.write(g, true));
    }

    private void writeLogState(JsonGenerator g) throws IOException {
        RequestLog log = gw.requestLog();
        g.writeObjectFieldStart("log");
        g.writeStringField("database", log.where());
        g.writeNumberField("written", log.written());
        g.writeObjectFieldStart("dropped");
        for (RequestLog.Drop d : RequestLog.Drop.values()) {
            g.writeNumberField(d.label(), log.dropped(d));
        }
        g.writeEndObject();
        g.writeNumberField("queued", log.queued());
        g.writeNumberField("keepOneIn", log.keepOneIn());
        g.writeNumberField("writeErrors", log.writeErrors());
        if (log.lastError() == null) {
            g.writeNullField("lastError");
        } else {
            g.writeStringField("lastError", log.lastError());
        }
        g.writeEndObject();
    }

    private AdminResponse usage(RequestStore s, UsageQuery u, boolean csv) throws SQLException {
        List<Object[]> rows = new ArrayList<>();
        try (PreparedStatement p = s.connection().prepareStatement("select bucket, value, requests, failures,"
                + " prompt_tokens, output_tokens, reasoning_tokens from gemgate_usage where period = ? and dim = ?"
                + " and bucket >= ? and bucket < ? order by bucket, value")) {
            p.setString(1, u.period());
            p.setString(2, u.by().label());
            p.setLong(3, u.period().equals("day") ? gw.pool().calendar().dayStart(u.from()) : u.from());
            p.setLong(4, u.to());
            try (ResultSet r = p.executeQuery()) {
                while (r.next()) {
                    rows.add(new Object[] {r.getLong(1), r.getString(2), r.getLong(3), r.getLong(4), r.getLong(5),
                        r.getLong(6), r.getLong(7)});
                }
            }
        }
        Map<String, long[]> totals = new LinkedHashMap<>();
        for (Object[] r : rows) {
            long[] t = totals.computeIfAbsent((String) r[1], k -> new long[5]);
            for (int i = 0; i < 5; i++) {
                t[i] += (Long) r[2 + i];
            }
        }
        if (csv) {
            StringBuilder b = new StringBuilder(u.period().equals("day") ? "day" : "minute")
                    .append(",").append(u.by().label()).append(",name,requests,failures,prompt_tokens,output_tokens,"
                            + "reasoning_tokens\r\n");
            for (Object[] r : rows) {
                b.append(bucketText(u, (Long) r[0])).append(',').append(csv((String) r[1])).append(',')
                        .append(csv(name(u.by(), (String) r[1])));
                for (int i = 2; i < 7; i++) {
                    b.append(',').append((long) (Long) r[i]);
                }
                b.append("\r\n");
            }
            return new AdminResponse(200, b.toString().getBytes(StandardCharsets.UTF_8), "text/csv; charset=utf-8");
        }
        return json(200, g -> {
            g.writeStartObject();
            g.writeStringField("by", u.by().label());
            g.writeStringField("period", u.period());
            g.writeStringField("from", Instant.ofEpochMilli(u.from()).toString());
            if (u.to() == Long.MAX_VALUE) {
                g.writeNullField("to");
            } else {
                g.writeStringField("to", Instant.ofEpochMilli(u.to()).toString());
            }
            g.writeStringField("zone", gw.pool().calendar().zone().getId());
            g.writeArrayFieldStart("rows");
            for (Object[] r : rows) {
                g.writeStartObject();
                g.writeStringField("bucket", bucketText(u, (Long) r[0]));
                g.writeStringField("value", (String) r[1]);
                g.writeStringField("name", name(u.by(), (String) r[1]));
                counts(g, (Long) r[2], (Long) r[3], (Long) r[4], (Long) r[5], (Long) r[6]);
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeArrayFieldStart("totals");
            for (Map.Entry<String, long[]> e : totals.entrySet()) {
                long[] t = e.getValue();
                g.writeStartObject();
                g.writeStringField("value", e.getKey());
                g.writeStringField("name", name(u.by(), e.getKey()));
                counts(g, t[0], t[1], t[2], t[3], t[4]);
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    private String bucketText(UsageQuery u, long bucket) {
        if (u.period().equals("day")) {
            return Instant.ofEpochMilli(bucket).atZone(gw.pool().calendar().zone()).toLocalDate().toString();
        }
        return Instant.ofEpochMilli(bucket).toString();
    }

    private static void counts(JsonGenerator g, long req, long fail, long p, long o, long t) throws IOException {
        g.writeNumberField("requests", req);
        g.writeNumberField("failures", fail);
        g.writeNumberField("promptTokens", p);
        g.writeNumberField("outputTokens", o);
        g.writeNumberField("reasoningTokens", t);
    }

    /** A readable name for a usage value: a token's name, a key's masked form; the value itself otherwise. */
    private String name(UsageCounters.Dim by, String value) {
        if (by == UsageCounters.Dim.TOKEN) {
            if (value.equals(UsageCounters.SHARED_TOKEN)) {
                return "shared token";
            }
            if (value.equals(UsageCounters.NO_TOKEN)) {
                return "no valid token";
            }
            Optional<UserToken> t = gw.tokens().get(value);
            return t.map(UserToken::name).orElse(value);
        }
        if (by == UsageCounters.Dim.KEY) {
            ApiKey k = gw.pool().find(value);
            return k == null ? value : k.masked();
        }
        return value;
    }

    // ------------------------------------------------------------------------------------------------ output

    @FunctionalInterface
    private interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    private static AdminResponse json(int status, Body body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            body.write(g);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return new AdminResponse(status, out.toByteArray());
    }

    private static AdminResponse csvRequests(List<Row> rows) {
        StringBuilder b = new StringBuilder("id,time,method,path,route,protocol,model,token_id,token_name,client,"
                + "stream,status,bytes,latency_ms,first_byte_ms,prompt_tokens,output_tokens,reasoning_tokens,attempts,"
                + "key_id,key,verdict,error_reason,error_message\r\n");
        for (Row r : rows) {
            b.append(r.id).append(',').append(Instant.ofEpochMilli(r.ts)).append(',').append(csv(r.method))
                    .append(',').append(csv(r.path)).append(',').append(csv(r.route)).append(',')
                    .append(csv(r.protocol)).append(',').append(csv(r.model)).append(',').append(csv(r.tokenId))
                    .append(',').append(csv(r.tokenName)).append(',').append(csv(r.client)).append(',')
                    .append(r.stream).append(',').append(r.status).append(',').append(r.bytesOut).append(',')
                    .append(r.latency).append(',').append(r.ttfb).append(',').append(r.prompt).append(',')
                    .append(r.output).append(',').append(r.reasoning).append(',').append(r.attemptCount).append(',')
                    .append(csv(r.keyId)).append(',').append(csv(r.keyMasked)).append(',').append(csv(r.verdict))
                    .append(',').append(csv(r.errorReason)).append(',').append(csv(r.errorMessage)).append("\r\n");
        }
        return new AdminResponse(200, b.toString().getBytes(StandardCharsets.UTF_8), "text/csv; charset=utf-8");
    }

    /**
     * A CSV field (RFC 4180): quoted when it holds a comma, quote or line break; a leading {@code = + - @} is
     * prefixed with {@code '} so that a spreadsheet never runs it as a formula.
     */
    static String csv(String s) {
        if (s == null || s.isEmpty()) {
            return "";
        }
        char c0 = s.charAt(0);
        if (c0 == '=' || c0 == '+' || c0 == '-' || c0 == '@' || c0 == '\t' || c0 == '\r') {
            s = "'" + s;
        }
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) {
            return s;
        }
        return '"' + s.replace("\"", "\"\"") + '"';
    }

    /** One record as read back. */
    private static final class Row {
        long id;
        long ts;
        String method;
        String path;
        String route;
        String protocol;
        String model;
        String tokenId;
        String tokenName;
        String client;
        boolean stream;
        int status;
        long bytesOut;
        long latency;
        long ttfb;
        long prompt;
        long output;
        long reasoning;
        int attemptCount;
        String keyId;
        String keyMasked;
        String verdict;
        String errorReason;
        String errorMessage;
        String errorBody;
        List<AttemptRecord> attempts;

        static Row of(ResultSet r) throws SQLException {
            Row w = new Row();
            int i = 1;
            w.id = r.getLong(i++);
            w.ts = r.getLong(i++);
            w.method = r.getString(i++);
            w.path = r.getString(i++);
            w.route = r.getString(i++);
            w.protocol = r.getString(i++);
            w.model = r.getString(i++);
            w.tokenId = r.getString(i++);
            w.tokenName = r.getString(i++);
            w.client = r.getString(i++);
            w.stream = r.getInt(i++) != 0;
            w.status = r.getInt(i++);
            w.bytesOut = r.getLong(i++);
            w.latency = r.getLong(i++);
            w.ttfb = r.getLong(i++);
            w.prompt = r.getLong(i++);
            w.output = r.getLong(i++);
            w.reasoning = r.getLong(i++);
            w.attemptCount = r.getInt(i++);
            w.keyId = r.getString(i++);
            w.keyMasked = r.getString(i++);
            w.verdict = r.getString(i++);
            w.errorReason = r.getString(i++);
            w.errorMessage = r.getString(i++);
            w.errorBody = r.getString(i);
            return w;
        }

        void write(JsonGenerator g, boolean detail) throws IOException {
            g.writeStartObject();
            g.writeStringField("id", Long.toString(id));
            g.writeStringField("time", Instant.ofEpochMilli(ts).toString());
            g.writeStringField("method", method);
            g.writeStringField("path", path);
            g.writeStringField("route", route);
            g.writeStringField("protocol", protocol);
            g.writeStringField("model", model);
            if (tokenId.isEmpty() || tokenId.equals(io.gemgate.core.requestlog.RequestRecord.UNAUTHENTICATED)) {
                g.writeNullField("token");
            } else {
                g.writeObjectFieldStart("token");
                g.writeStringField("id", tokenId);
                g.writeStringField("name", tokenName);
                g.writeEndObject();
            }
            g.writeStringField("client", client);
            g.writeBooleanField("stream", stream);
            g.writeNumberField("status", status);
            g.writeNumberField("bytes", bytesOut);
            g.writeNumberField("latencyMs", latency);
            if (ttfb < 0) {
                g.writeNullField("firstByteMs");
            } else {
                g.writeNumberField("firstByteMs", ttfb);
            }
            g.writeObjectFieldStart("tokens");
            g.writeNumberField("prompt", prompt);
            g.writeNumberField("output", output);
            g.writeNumberField("reasoning", reasoning);
            g.writeEndObject();
            g.writeNumberField("attemptCount", attemptCount);
            if (keyId.isEmpty()) {
                g.writeNullField("key");
            } else {
                g.writeObjectFieldStart("key");
                g.writeStringField("id", keyId);
                g.writeStringField("masked", keyMasked);
                g.writeEndObject();
            }
            g.writeStringField("verdict", verdict);
            if (errorReason == null && errorMessage == null) {
                g.writeNullField("error");
            } else {
                g.writeObjectFieldStart("error");
                g.writeStringField("reason", errorReason);
                g.writeStringField("message", errorMessage);
                if (detail) {
                    g.writeStringField("body", errorBody);
                }
                g.writeEndObject();
            }
            if (detail) {
                g.writeArrayFieldStart("attempts");
                for (AttemptRecord a : attempts) {
                    g.writeStartObject();
                    g.writeObjectFieldStart("key");
                    g.writeStringField("id", a.keyId());
                    g.writeStringField("masked", a.keyMasked());
                    g.writeEndObject();
                    g.writeNumberField("tier", a.tier());
                    g.writeStringField("group", a.group());
                    if (a.upstreamStatus() == 0) {
                        g.writeNullField("upstreamStatus");
                    } else {
                        g.writeNumberField("upstreamStatus", a.upstreamStatus());
                    }
                    g.writeStringField("verdict", a.verdict());
                    g.writeStringField("reason", a.reason());
                    g.writeStringField("message", a.message());
                    g.writeNumberField("latencyMs", a.latencyMillis());
                    g.writeEndObject();
                }
                g.writeEndArray();
            }
            g.writeEndObject();
        }
    }
}
