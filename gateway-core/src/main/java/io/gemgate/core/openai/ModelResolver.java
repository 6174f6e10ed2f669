package io.gemgate.core.openai;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Turns the model name an OpenAI client sends into the Gemini model to call.
 *
 * <p>In order: blank or absent names take the default model; a provider or resource prefix is stripped (everything
 * up to the last {@code /}: {@code google/gemini-2.5-flash}, {@code models/gemini-2.5-flash}); an alias is looked
 * up (case-insensitive); the suffixes {@code -search}, {@code -nothinking} and {@code -maxthinking} are taken off
 * the end, in any order and combination; the alias table is consulted again for the base name; a display name with
 * spaces ({@code Gemini 2.5 Flash}) becomes {@code gemini-2.5-flash}. Unknown names pass through: Gemini answers 404
 * for those, which the caller maps to {@code model_not_found}. A name with characters other than letters, digits,
 * {@code .}, {@code _} and {@code -} is refused (400 on {@code model}): it goes into the upstream URL.
 *
 * <p>An alias whose name contains {@code *} is a pattern ({@code *} stands for any run of characters, matched
 * case-insensitively): it applies when no alias of the exact name does; of several matching patterns the longest
 * wins ({@code claude-*opus*} before {@code claude-*}).
 *
 * <p>Immutable and thread-safe.
 */
public final class ModelResolver {
    /** No aliases; default model {@code gemini-2.5-flash}. */
    public static final ModelResolver DEFAULT = new ModelResolver(Map.of(), "gemini-2.5-flash");

    private static final String SEARCH = "-search";
    private static final String NO_THINKING = "-nothinking";
    private static final String MAX_THINKING = "-maxthinking";

    private final Map<String, String> aliases;
    /** The aliases whose names contain {@code *}, longest first: {lower-cased pattern, target}. */
    private final String[][] patterns;
    private final String defaultModel;

    /**
     * @param aliases      client name (case-insensitive) to Gemini model name; a target may carry suffixes itself
     * @param defaultModel the model for requests that name none, or null to refuse them (400 on {@code model})
     */
    public ModelResolver(Map<String, String> aliases, String defaultModel) {
        Map<String, String> m = new HashMap<>();
        aliases.forEach((k, v) -> m.put(k.trim().toLowerCase(Locale.ROOT), v.trim()));
        this.aliases = Map.copyOf(m);
        this.patterns = m.entrySet().stream().filter(e -> e.getKey().indexOf('*') >= 0)
                .sorted((a, b) -> b.getKey().length() != a.getKey().length()
                        ? b.getKey().length() - a.getKey().length() : a.getKey().compareTo(b.getKey()))
                .map(e -> new String[] {e.getKey(), e.getValue()}).toArray(String[][]::new);
        this.defaultModel = defaultModel;
    }

    /**
     * Resolves a chat model name.
     *
     * @param requested the request's {@code model}, possibly null
     * @throws OpenAiRequestException on {@code model} when it is absent and there is no default
     */
    public ResolvedModel resolve(String requested) {
        String shown = requested == null ? "" : requested;
        String name = shown.trim();
        if (name.isEmpty()) {
            if (defaultModel == null) {
                throw new OpenAiRequestException("model", "you must provide a model parameter");
            }
            name = defaultModel;
            shown = defaultModel;
        }
        name = alias(stripPrefix(name));
        boolean search = false;
        ResolvedModel.SuffixThinking thinking = ResolvedModel.SuffixThinking.DEFAULT;
        for (boolean more = true; more; ) {
            more = false;
            String lower = name.toLowerCase(Locale.ROOT);
            if (lower.endsWith(SEARCH) && lower.length() > SEARCH.length()) {
                search = true;
                name = name.substring(0, name.length() - SEARCH.length());
                more = true;
            } else if (lower.endsWith(NO_THINKING) && lower.length() > NO_THINKING.length()) {
                thinking = ResolvedModel.SuffixThinking.OFF;
                name = name.substring(0, name.length() - NO_THINKING.length());
                more = true;
            } else if (lower.endsWith(MAX_THINKING) && lower.length() > MAX_THINKING.length()) {
                thinking = ResolvedModel.SuffixThinking.MAX;
                name = name.substring(0, name.length() - MAX_THINKING.length());
                more = true;
            }
        }
        name = alias(name);
        if (name.indexOf(' ') >= 0) {
            name = name.trim().toLowerCase(Locale.ROOT).replace(' ', '-');
        }
        return new ResolvedModel(shown, checkName(name, shown), search, thinking);
    }

    /**
     * Resolves a model name without suffix handling (embeddings, model lookups): prefix stripped, alias applied.
     *
     * @throws OpenAiRequestException on {@code model} when it is blank
     */
    public String resolvePlain(String requested) {
        String name = requested == null ? "" : requested.trim();
        if (name.isEmpty()) {
            throw new OpenAiRequestException("model", "you must provide a model parameter");
        }
        return checkName(alias(stripPrefix(name)), requested);
    }

    /** The model used when a request names none, or null. */
    public String defaultModel() {
        return defaultModel;
    }

    private String alias(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        String target = aliases.get(lower);
        for (int i = 0; target == null && i < patterns.length; i++) {
            if (matches(patterns[i][0], lower)) {
                target = patterns[i][1];
            }
        }
        return target == null ? name : stripPrefix(target);
    }

    /** Whether {@code name} matches {@code pattern}, where {@code *} stands for any run of characters. */
    static boolean matches(String pattern, String name) {
        int p = 0;
        int n = 0;
        int star = -1;
        int mark = 0;
        while (n < name.length()) {
            if (p < pattern.length() && pattern.charAt(p) != '*' && pattern.charAt(p) == name.charAt(n)) {
                p++;
                n++;
            } else if (p < pattern.length() && pattern.charAt(p) == '*') {
                star = p++;
                mark = n;
            } else if (star >= 0) {
                p = star + 1;
                n = ++mark;
            } else {
                return false;
            }
        }
        while (p < pattern.length() && pattern.charAt(p) == '*') {
            p++;
        }
        return p == pattern.length();
    }

    /** Whether an alias (exact or pattern) names a model starting with {@code prefix} (lower case). */
    public boolean hasAliasStartingWith(String prefix) {
        for (String k : aliases.keySet()) {
            if (k.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The name goes into the upstream URL path ({@code /v1beta/models/{name}:generateContent}): only letters, digits,
     * {@code .}, {@code _} and {@code -} are allowed, so that no name can add a query, a method or a path segment.
     */
    private static String checkName(String name, String requested) {
        boolean ok = !name.isEmpty();
        for (int i = 0; ok && i < name.length(); i++) {
            char c = name.charAt(i);
            ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_'
                    || c == '-';
        }
        if (!ok || name.length() > 200) {
            throw new OpenAiRequestException("model", "Invalid model name: '" + requested + "'.");
        }
        return name;
    }

    /** {@code provider/x}, {@code models/x}, {@code google/models/x} → {@code x}. */
    static String stripPrefix(String name) {
        int slash = name.lastIndexOf('/');
        return slash < 0 ? name : name.substring(slash + 1);
    }
}
