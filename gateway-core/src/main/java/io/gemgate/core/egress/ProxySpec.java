package io.gemgate.core.egress;

import static java.util.Objects.requireNonNull;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One egress proxy: an HTTP proxy reached with {@code CONNECT} (RFC 9110 section 9.3.6; TLS to the upstream runs
 * inside the tunnel) or a SOCKS5 proxy (RFC 1928, user/password authentication RFC 1929).
 *
 * <p>The credentials are reachable only through {@link #username()} and {@link #password()}, which the upstream client
 * hands to the proxy handler. Everything shown to people uses {@link #masked()} (the user's first characters at most,
 * never the password) or {@link #label()} (host and port); {@link #toString()} is the masked form.
 *
 * @param scheme   how the proxy is spoken to
 * @param host     proxy host name or address
 * @param port     proxy port
 * @param username user for the proxy's authentication, or null for none
 * @param password password for the proxy's authentication, or null for none
 */
public record ProxySpec(Scheme scheme, String host, int port, String username, String password) {
    /** The proxy protocols spoken. */
    public enum Scheme {
        /** HTTP proxy, {@code CONNECT host:port} tunnels. */
        HTTP("http", 80),
        /** SOCKS5 proxy; the upstream's host name is resolved by the proxy. */
        SOCKS5("socks5", 1080);

        private final String text;
        private final int defaultPort;

        Scheme(String text, int defaultPort) {
            this.text = text;
            this.defaultPort = defaultPort;
        }

        /** {@code http} or {@code socks5}. */
        public String text() {
            return text;
        }
    }

    /** What an entry of a proxy list must look like; named in every parse error. */
    public static final String EXPECTED = "http://[user:pass@]host:port or socks5://[user:pass@]host:port";

    public ProxySpec {
        requireNonNull(scheme, "scheme");
        requireNonNull(host, "host");
        if (host.isEmpty()) {
            throw new IllegalArgumentException("host: empty");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 1 to 65535)");
        }
        if ((username == null) != (password == null)) {
            throw new IllegalArgumentException("username and password: give both or neither");
        }
    }

    /**
     * Parses one proxy URL: {@code http://[user:pass@]host[:port]}, {@code socks5://[user:pass@]host[:port]}
     * ({@code socks5h://} is the same: the proxy always resolves the upstream's name). User and password may be
     * percent-encoded (RFC 3986 section 3.2.1). Ports default to 80 and 1080.
     *
     * @throws IllegalArgumentException whose message never contains the URL's user info (it holds the password)
     */
    public static ProxySpec parse(String url) {
        requireNonNull(url, "url");
        String text = url.trim();
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a proxy URL (expected: " + EXPECTED + ")");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        Scheme s = switch (scheme) {
            case "http" -> Scheme.HTTP;
            case "socks5", "socks5h" -> Scheme.SOCKS5;
            case "https" -> throw new IllegalArgumentException(
                    "https:// proxies (TLS to the proxy) are not supported (expected: " + EXPECTED + ")");
            default -> throw new IllegalArgumentException("not a proxy URL (expected: " + EXPECTED + ")");
        };
        String host = uri.getHost();
        if (host == null || uri.getPort() > 65535) {
            throw new IllegalArgumentException("not a proxy URL (expected: " + EXPECTED + ")");
        }
        String path = uri.getRawPath();
        if (!(path == null || path.isEmpty() || path.equals("/")) || uri.getRawQuery() != null
                || uri.getRawFragment() != null) {
            throw new IllegalArgumentException("a proxy URL has no path, query or fragment (expected: "
                    + EXPECTED + ")");
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        String user = null;
        String pass = null;
        String info = uri.getUserInfo(); // decoded
        if (info != null) {
            int colon = info.indexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("proxy credentials are user:pass (expected: " + EXPECTED + ")");
            }
            user = info.substring(0, colon);
            pass = info.substring(colon + 1);
        }
        int port = uri.getPort() < 0 ? s.defaultPort : uri.getPort();
        return new ProxySpec(s, host.toLowerCase(Locale.ROOT), port, user, pass);
    }

    /**
     * Parses a comma-separated list of proxy URLs ({@code upstream.proxies}); blank entries are skipped, a proxy
     * given twice (same {@link #id()}) is kept once.
     *
     * @throws IllegalArgumentException naming the entry by position, never by its text
     */
    public static List<ProxySpec> parseList(String commaSeparated) {
        List<ProxySpec> out = new ArrayList<>();
        if (commaSeparated == null) {
            return out;
        }
        String[] parts = commaSeparated.split(",");
        for (int i = 0; i < parts.length; i++) {
            if (parts[i].isBlank()) {
                continue;
            }
            ProxySpec p;
            try {
                p = parse(parts[i]);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("entry " + (i + 1) + ": " + e.getMessage());
            }
            if (out.stream().noneMatch(o -> o.id().equals(p.id()))) {
                out.add(p);
            }
        }
        return List.copyOf(out);
    }

    /** True when the proxy asks for a user and password. */
    public boolean hasCredentials() {
        return username != null;
    }

    /**
     * {@code scheme://host:port}, without credentials: the exit's identity. Keys are pinned by hashing it, so a
     * changed password moves no key.
     */
    public String id() {
        return scheme.text + "://" + hostPort();
    }

    /** {@code host:port}: the {@code exit} label of metrics. */
    public String label() {
        return hostPort();
    }

    /**
     * For logs and the admin API: {@code http://ab***:***@host:port} (at most the user's first two characters, never
     * the password), or {@link #id()} without credentials.
     */
    public String masked() {
        if (!hasCredentials()) {
            return id();
        }
        String u = username.length() <= 4 ? "" : username.substring(0, 2);
        return scheme.text + "://" + u + "***:***@" + hostPort();
    }

    private String hostPort() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    /** The masked form: a record's generated toString would print the password. */
    @Override
    public String toString() {
        return masked();
    }
}
