package io.gemgate.bench.e2e;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Command-line options of the end-to-end tools: {@code --name value} or {@code --name=value}, repeatable, and bare
 * flags ({@code --inproc}). Unknown names are refused, so that a typo does not silently run the defaults.
 */
final class Args {
    private final Map<String, List<String>> values = new LinkedHashMap<>();

    private Args() {
    }

    /**
     * @param known the option names accepted (without the dashes)
     * @param flags the subset of {@code known} that takes no value
     * @throws IllegalArgumentException on an unknown option or a missing value
     */
    static Args parse(String[] argv, Set<String> known, Set<String> flags) {
        Args a = new Args();
        for (int i = 0; i < argv.length; i++) {
            String arg = argv[i];
            if (!arg.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument: " + arg);
            }
            String name = arg.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (!known.contains(name)) {
                throw new IllegalArgumentException("unknown option --" + name + " (known: " + known + ")");
            }
            if (value == null) {
                if (flags.contains(name)) {
                    value = "true";
                } else if (i + 1 < argv.length) {
                    value = argv[++i];
                } else {
                    throw new IllegalArgumentException("--" + name + " needs a value");
                }
            }
            a.values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        }
        return a;
    }

    String get(String name, String dflt) {
        List<String> v = values.get(name);
        return v == null ? dflt : v.get(v.size() - 1);
    }

    List<String> all(String name) {
        return values.getOrDefault(name, List.of());
    }

    boolean flag(String name) {
        return Boolean.parseBoolean(get(name, "false"));
    }

    int getInt(String name, int dflt) {
        String v = get(name, null);
        return v == null ? dflt : Integer.parseInt(v.replace("_", "").replace(",", ""));
    }

    long getLong(String name, long dflt) {
        String v = get(name, null);
        return v == null ? dflt : Long.parseLong(v.replace("_", "").replace(",", ""));
    }

    double getDouble(String name, double dflt) {
        String v = get(name, null);
        return v == null ? dflt : Double.parseDouble(v.replace("_", "").replace(",", ""));
    }

    Duration getDuration(String name, Duration dflt) {
        String v = get(name, null);
        return v == null ? dflt : duration(v);
    }

    /** {@code 500ms}, {@code 10s}, {@code 2m}, or a bare number of seconds. */
    static Duration duration(String text) {
        String t = text.trim();
        if (t.endsWith("ms")) {
            return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
        }
        if (t.endsWith("s")) {
            return Duration.ofMillis(Math.round(Double.parseDouble(t.substring(0, t.length() - 1)) * 1000));
        }
        if (t.endsWith("m")) {
            return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)) * 60);
        }
        return Duration.ofMillis(Math.round(Double.parseDouble(t) * 1000));
    }
}
