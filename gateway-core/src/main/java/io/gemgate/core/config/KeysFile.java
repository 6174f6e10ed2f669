package io.gemgate.core.config;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import io.gemgate.core.keys.KeySpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads the keys file ({@code keys.file}, {@code GEMGATE_KEYS_FILE}):
 *
 * <pre>
 * # one key a line; '#' starts a comment, at the start of a line or after whitespace
 * AIzaSyA...
 * AIzaSyB...  project=team-a  weight=3  label="Alice's key"   # optional attributes after the key
 * AIzaSyC...,AIzaSyD..., AIzaSyE...                           # several keys pasted on one line
 * AIzaSyF...  tier=1  group=paid  group=pro                   # a paid key behind the free ones, in two groups
 * AIzaSyG...  proxy=socks5://user:pass@10.0.0.7:1080             # this key's own exit
 * AIzaSyH...  proxy=direct                                    # never through upstream.proxies
 * </pre>
 *
 * <p>Blank lines are ignored and surrounding whitespace is trimmed. Attributes are {@code project=NAME},
 * {@code weight=N} (1 to 100, default 1), {@code label=TEXT}, {@code tier=N} (0 to 9, default 0: lower tiers serve
 * first), {@code group=NAME} (given once per group, several allowed; {@code group=a,b} too) and
 * {@code proxy=URL|direct} (the key's own egress, see {@link io.gemgate.core.egress.ProxySpec#parse}; without it the
 * key is pinned to one of {@code upstream.proxies}); a value in double quotes may hold spaces and {@code #}.
 * Attributes after comma-separated keys apply to each of them. A key given twice is kept once, with the
 * attributes of its first line.
 *
 * <p>Errors are {@link ConfigException}s that name the line ({@code keys.file line 7: weight=abc (expected: 1 to
 * 100)}) and never contain a key.
 */
public final class KeysFile {
    /** Text that may be shown as an attribute name: a key (39 characters, digits) never matches. */
    private static final Pattern SHOWABLE_NAME = Pattern.compile("[A-Za-z]{1,16}");

    private KeysFile() {
    }

    /**
     * Reads and parses the file as UTF-8.
     *
     * @param file the keys file
     * @return the keys in file order, without duplicates; never empty
     * @throws ConfigException {@code keys.file: /abs/path not found}, {@code ... is not readable},
     *                         {@code ... has no keys}, or a line's error as in {@link #parse(List)}
     */
    public static List<KeySpec> read(Path file) {
        requireNonNull(file, "file");
        Path abs = file.toAbsolutePath();
        List<String> lines;
        try {
            lines = Files.readAllLines(abs, UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException("keys.file: " + abs + " not found");
        } catch (IOException e) {
            throw new ConfigException("keys.file: " + abs + " is not readable");
        }
        List<KeySpec> keys = parse(lines);
        if (keys.isEmpty()) {
            throw new ConfigException("keys.file: " + abs + " has no keys");
        }
        return keys;
    }

    /**
     * Parses the lines of a keys file.
     *
     * @param lines the file's lines, without line terminators (a trailing {@code \r} is trimmed anyway)
     * @return the keys in order, without duplicates; empty when there are none
     * @throws ConfigException {@code keys.file line N: ...} for a malformed line, without the key
     */
    public static List<KeySpec> parse(List<String> lines) {
        requireNonNull(lines, "lines");
        Map<String, KeySpec> keys = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            for (KeySpec key : parseLine(lines.get(i), i + 1)) {
                keys.putIfAbsent(key.secret(), key);
            }
        }
        return List.copyOf(keys.values());
    }

    private static List<KeySpec> parseLine(String line, int number) {
        List<String> tokens = tokens(line, number);
        if (tokens.isEmpty()) {
            return List.of();
        }
        if (isAttribute(tokens.get(0))) {
            throw error(number, "no key before " + tokens.get(0));
        }
        // The key part: the first token, joined with the next ones while a comma links them ("a, b ,c").
        StringBuilder keyPart = new StringBuilder(tokens.get(0));
        int i = 1;
        while (i < tokens.size() && (keyPart.charAt(keyPart.length() - 1) == ',' || tokens.get(i).startsWith(","))) {
            keyPart.append(',').append(tokens.get(i++));
        }
        Attributes attributes = new Attributes(number);
        for (; i < tokens.size(); i++) {
            attributes.add(tokens.get(i));
        }
        List<KeySpec> keys = new ArrayList<>();
        for (String secret : keyPart.toString().split(",")) {
            if (!secret.isEmpty()) {
                keys.add(new KeySpec(secret, attributes.project, attributes.weight, attributes.label,
                        attributes.tier, attributes.groups, attributes.proxy));
            }
        }
        return keys;
    }

    /**
     * Splits a line on whitespace, up to a {@code #} that starts a token. Double quotes group text (spaces and
     * {@code #} included) into the current token and are removed: {@code label="a b"} is the token {@code label=a b}.
     */
    private static List<String> tokens(String line, int number) {
        List<String> tokens = new ArrayList<>();
        StringBuilder token = new StringBuilder();
        boolean inToken = false;
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                if (c == '"') {
                    quoted = false;
                } else {
                    token.append(c);
                }
            } else if (c == '"') {
                quoted = true;
                inToken = true;
            } else if (Character.isWhitespace(c) || c == '\uFEFF') { // a byte order mark counts as space
                if (inToken) {
                    tokens.add(token.toString());
                    token.setLength(0);
                    inToken = false;
                }
            } else if (c == '#' && !inToken) {
                break;
            } else {
                token.append(c);
                inToken = true;
            }
        }
        if (quoted) {
            throw error(number, "a double quote is not closed");
        }
        if (inToken) {
            tokens.add(token.toString());
        }
        return tokens;
    }

    private static boolean isAttribute(String token) {
        return token.startsWith("project=") || token.startsWith("weight=") || token.startsWith("label=")
                || token.startsWith("tier=") || token.startsWith("group=") || token.startsWith("proxy=");
    }

    private static ConfigException error(int line, String message) {
        return new ConfigException("keys.file line " + line + ": " + message);
    }

    /** The attributes of one line, each given at most once. */
    private static final class Attributes {
        private final int line;
        private final List<String> seen = new ArrayList<>(3);
        String project = "";
        int weight = 1;
        String label = "";
        String proxy = "";
        int tier;
        final java.util.Set<String> groups = new java.util.LinkedHashSet<>();

        Attributes(int line) {
            this.line = line;
        }

        void add(String token) {
            int eq = token.indexOf('=');
            String name = eq < 0 ? "" : token.substring(0, eq);
            String value = token.substring(eq + 1);
            if (!isAttribute(token)) {
                if (SHOWABLE_NAME.matcher(name).matches()) {
                    throw error(line, "unknown attribute '" + name
                            + "' (expected: project, weight, label, tier, group or proxy)");
                }
                throw error(line, "unexpected text after the key (expected: project=NAME, weight=N, label=TEXT,"
                        + " tier=N, group=NAME or proxy=URL; several keys on one line are separated by commas)");
            }
            if (name.equals("group")) {
                for (String g : value.split(",", -1)) {
                    try {
                        groups.add(io.gemgate.core.keys.KeySpec.checkGroup(g));
                    } catch (IllegalArgumentException e) {
                        throw error(line, "group=" + g + " (expected: 1 to 64 letters, digits, '-', '_' or '.')");
                    }
                }
                if (groups.size() > io.gemgate.core.keys.KeySpec.MAX_GROUPS) {
                    throw error(line, "more than " + io.gemgate.core.keys.KeySpec.MAX_GROUPS + " groups");
                }
                return;
            }
            if (seen.contains(name)) {
                throw error(line, name + " is given twice");
            }
            seen.add(name);
            switch (name) {
                case "project" -> project = project(value);
                case "weight" -> weight = weight(value);
                case "tier" -> tier = tier(value);
                case "proxy" -> proxy = proxy(value);
                default -> label = value;
            }
        }

        private String project(String value) {
            if (value.isEmpty()) {
                throw error(line, "project= (expected: a project name)");
            }
            return value;
        }

        /** {@code direct} or a proxy URL; the error never repeats the value (it may hold a password). */
        private String proxy(String value) {
            if (value.equalsIgnoreCase(KeySpec.DIRECT)) {
                return KeySpec.DIRECT;
            }
            try {
                io.gemgate.core.egress.ProxySpec.parse(value);
                return value;
            } catch (IllegalArgumentException e) {
                throw error(line, "proxy: " + e.getMessage() + " or direct");
            }
        }

        private int weight(String value) {
            try {
                int w = Integer.parseInt(value);
                if (w >= 1 && w <= 100) {
                    return w;
                }
            } catch (NumberFormatException e) {
                // reported below, like a number out of range
            }
            throw error(line, "weight=" + value + " (expected: 1 to 100)");
        }

        private int tier(String value) {
            try {
                int t = Integer.parseInt(value);
                if (t >= 0 && t <= io.gemgate.core.keys.KeySpec.MAX_TIER) {
                    return t;
                }
            } catch (NumberFormatException e) {
                // reported below, like a number out of range
            }
            throw error(line, "tier=" + value + " (expected: 0 to " + io.gemgate.core.keys.KeySpec.MAX_TIER + ")");
        }
    }
}
