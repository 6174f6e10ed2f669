package io.gemgate.server.admin;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The admin page's files, served from the jar: {@code /admin/} is {@code gemgate/admin/index.html}, other names under
 * {@code /admin/} come from {@code gemgate/admin/}, and {@code /admin/vendor/chart.umd.js} is Chart.js from its WebJar.
 * Files are read once and kept. The page holds no secret: it asks for the admin token and calls the admin API with it.
 */
public final class AdminPage {
    /** Chart.js in its WebJar; the version is pinned in the parent pom (chartjs.version). */
    static final String CHART_JS = "META-INF/resources/webjars/chart.js/4.4.1/dist/chart.umd.js";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*");
    private static final byte[] MISSING = new byte[0];

    private final Map<String, byte[]> cache = new ConcurrentHashMap<>();

    /** A file to send. */
    public record File(byte[] bytes, String contentType, boolean immutable) {
    }

    /**
     * The file for a path under {@code /admin/}, or null when there is none.
     *
     * @param path the request path, starting with {@code /admin/}
     */
    public File find(String path) {
        String name = path.substring("/admin/".length());
        if (name.isEmpty()) {
            name = "index.html";
        }
        if (!NAME.matcher(name).matches()) {
            return null;
        }
        String resource = name.equals("vendor/chart.umd.js") ? CHART_JS : "gemgate/admin/" + name;
        byte[] bytes = cache.computeIfAbsent(resource, AdminPage::load);
        if (bytes == MISSING) {
            return null;
        }
        return new File(bytes, contentType(name), name.startsWith("vendor/"));
    }

    private static byte[] load(String resource) {
        try (InputStream in = AdminPage.class.getClassLoader().getResourceAsStream(resource)) {
            return in == null ? MISSING : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String contentType(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.endsWith(".html")) {
            return "text/html; charset=utf-8";
        }
        if (n.endsWith(".js") || n.endsWith(".mjs")) {
            return "text/javascript; charset=utf-8";
        }
        if (n.endsWith(".css")) {
            return "text/css; charset=utf-8";
        }
        if (n.endsWith(".svg")) {
            return "image/svg+xml";
        }
        if (n.endsWith(".png")) {
            return "image/png";
        }
        if (n.endsWith(".json")) {
            return "application/json";
        }
        if (n.endsWith(".ico")) {
            return "image/x-icon";
        }
        if (n.endsWith(".md") || n.endsWith(".txt")) {
            return "text/plain; charset=utf-8";
        }
        return "application/octet-stream";
    }
}
