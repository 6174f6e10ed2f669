package io.gemgate.server.requestlog;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.config.ConfigException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.Properties;
import org.flywaydb.core.Flyway;

/**
 * Where the request log is kept: the SQLite file {@code requests.db} in the data directory (the embedded default),
 * or the PostgreSQL named by {@code GEMGATE_DATABASE_URL}. Opens connections and brings the schema up to date with
 * Flyway's migrations ({@code gemgate/db/sqlite} or {@code gemgate/db/postgresql} on the class path).
 *
 * <p>The URL's password is only ever given to the driver: {@link #toString()} and every message name the database
 * by its host and name.
 */
public final class Database {
    /** The two databases the request log speaks. */
    public enum Kind { SQLITE, POSTGRESQL }

    private final Kind kind;
    private final String jdbcUrl;
    private final Properties properties;
    private final String shown;

    private Database(Kind kind, String jdbcUrl, Properties properties, String shown) {
        this.kind = kind;
        this.jdbcUrl = jdbcUrl;
        this.properties = properties;
        this.shown = shown;
    }

    /** The SQLite file {@code file}. */
    public static Database sqlite(Path file) {
        requireNonNull(file, "file");
        return new Database(Kind.SQLITE, "jdbc:sqlite:" + file.toAbsolutePath(), new Properties(),
                "sqlite " + file.toAbsolutePath());
    }

    /**
     * The PostgreSQL of {@code postgres://user:password@host:port/database?params} (also {@code postgresql://}), or
     * of a {@code jdbc:postgresql://} URL passed as it is.
     *
     * @throws ConfigException when the URL cannot be read (the message never holds the password)
     */
    public static Database postgres(String url) {
        requireNonNull(url, "url");
        Properties p = new Properties();
        String lower = url.toLowerCase(Locale.ROOT);
        if (lower.startsWith("jdbc:postgresql://")) {
            URI u = parse(url.substring(5));
            return new Database(Kind.POSTGRESQL, url, p, "postgresql " + u.getHost() + ":" + port(u) + path(u));
        }
        URI u = parse(url);
        if (u.getHost() == null) {
            throw new ConfigException("GEMGATE_DATABASE_URL: no host (expected: postgres://user:password@host:port"
                    + "/database)");
        }
        String info = u.getRawUserInfo();
        if (info != null) {
            int colon = info.indexOf(':');
            p.setProperty("user", decode(colon < 0 ? info : info.substring(0, colon)));
            if (colon >= 0) {
                p.setProperty("password", decode(info.substring(colon + 1)));
            }
        }
        String jdbc = "jdbc:postgresql://" + u.getHost() // an IPv6 host keeps its brackets (RFC 3986 §3.2.2)
                + ":" + port(u) + path(u) + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
        return new Database(Kind.POSTGRESQL, jdbc, p, "postgresql " + u.getHost() + ":" + port(u) + path(u));
    }

    private static URI parse(String url) {
        try {
            return new URI(url);
        } catch (URISyntaxException e) {
            throw new ConfigException("GEMGATE_DATABASE_URL: not a URL (expected: postgres://user:password@host:port"
                    + "/database)");
        }
    }

    private static int port(URI u) {
        return u.getPort() < 0 ? 5432 : u.getPort();
    }

    private static String path(URI u) {
        return u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    public Kind kind() {
        return kind;
    }

    /**
     * A new connection, auto-commit on. SQLite: write-ahead log (readers never wait for the writer), a busy timeout,
     * and fsync at checkpoints only ({@code synchronous=NORMAL}: a crash loses at most the last transactions).
     */
    public Connection open() throws SQLException {
        Connection c = DriverManager.getConnection(jdbcUrl, properties);
        if (kind == Kind.SQLITE) {
            try (Statement s = c.createStatement()) {
                s.execute("pragma journal_mode=WAL");
                s.execute("pragma synchronous=NORMAL");
                s.execute("pragma busy_timeout=5000");
            }
        }
        return c;
    }

    /** Applies the migrations the database has not seen yet (several gateways may start at once: Flyway locks). */
    public void migrate() {
        String user = properties.getProperty("user");
        String password = properties.getProperty("password");
        Flyway.configure(Database.class.getClassLoader())
                .dataSource(jdbcUrl, user, password)
                .locations("classpath:gemgate/db/" + (kind == Kind.SQLITE ? "sqlite" : "postgresql"))
                .table("gemgate_schema_history")
                .load()
                .migrate();
    }

    @Override
    public String toString() {
        return shown;
    }
}
