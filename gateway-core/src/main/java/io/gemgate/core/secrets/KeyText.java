package io.gemgate.core.secrets;

import static java.util.Objects.requireNonNull;

import io.gemgate.core.keys.KeyMask;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The Gemini API keys found in pasted text, for {@code POST /admin/api/keys}: whatever the separators (commas,
 * spaces, newlines, quotes, JSON, {@code key=} assignments, escaped {@code \n}).
 *
 * <h2>What counts</h2>
 * The text is cut into words: maximal runs of the key alphabet {@code [0-9A-Za-z_-]} (a backslash escape such as
 * {@code \n} or {@code \t} also separates). A word that is exactly a key, {@code AIza} followed by 35 characters of
 * that alphabet (39 in all), is a key. A word that is not a key but contains {@code aiza} in any case is a failed
 * attempt (cut short, run into other text, mistyped) and is reported in {@link #rejected()}, masked. Other words are
 * ordinary text and ignored. A key is never pulled out of a longer word: {@code xAIza...} or a key with extra
 * characters is reported rather than guessed at.
 *
 * @param keys     keys in order of first appearance, without duplicates; secrets: never log them
 * @param rejected failed attempts in order, without duplicates, each {@link KeyMask#mask masked} (at most its first
 *                 4 and last 4 characters), so the answer never carries a near-complete key
 * @param repeated how many key occurrences were dropped as repeats of an earlier one in the same text
 */
public record KeyText(List<String> keys, List<String> rejected, int repeated) {
    /** Length of a Gemini API key. */
    public static final int KEY_LENGTH = 39;
    /** How every Gemini API key starts. */
    public static final String KEY_PREFIX = "AIza";

    /** Copies the lists; {@link #parse} is the usual way to get one. */
    public KeyText {
        keys = List.copyOf(requireNonNull(keys, "keys"));
        rejected = List.copyOf(requireNonNull(rejected, "rejected"));
        if (repeated < 0) {
            throw new IllegalArgumentException("repeated: " + repeated + " (expected: >= 0)");
        }
    }

    /**
     * Finds the keys in {@code pasted}. Linear in its length; the caller bounds the size (the admin API's body limit).
     *
     * @param pasted any text; null or empty finds nothing
     */
    public static KeyText parse(String pasted) {
        Set<String> keys = new LinkedHashSet<>();
        Set<String> attempts = new LinkedHashSet<>();
        int repeated = 0;
        if (pasted == null) {
            return new KeyText(List.of(), List.of(), 0);
        }
        int n = pasted.length();
        int i = 0;
        while (i < n) {
            char c = pasted.charAt(i);
            if (!isKeyChar(c)) {
                // a backslash escape (\n, \t, \r) in pasted JSON separates like the character it stands for
                i += c == '\\' && i + 1 < n && "nrt".indexOf(pasted.charAt(i + 1)) >= 0 ? 2 : 1;
                continue;
            }
            int start = i;
            while (i < n && isKeyChar(pasted.charAt(i))) {
                i++;
            }
            String word = pasted.substring(start, i);
            if (isKey(word)) {
                if (!keys.add(word)) {
                    repeated++;
                }
            } else if (word.toLowerCase(Locale.ROOT).contains("aiza")) {
                attempts.add(word);
            }
        }
        List<String> rejected = new ArrayList<>(attempts.size());
        Set<String> masked = new LinkedHashSet<>();
        for (String a : attempts) {
            if (masked.add(KeyMask.mask(a))) {
                rejected.add(KeyMask.mask(a));
            }
        }
        return new KeyText(new ArrayList<>(keys), rejected, repeated);
    }

    /** True when {@code s} is exactly one Gemini API key: {@code AIza} and 35 characters of {@code [0-9A-Za-z_-]}. */
    public static boolean isKey(String s) {
        if (s == null || s.length() != KEY_LENGTH || !s.startsWith(KEY_PREFIX)) {
            return false;
        }
        for (int i = KEY_PREFIX.length(); i < KEY_LENGTH; i++) {
            if (!isKeyChar(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private static boolean isKeyChar(char c) {
        return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-';
    }

    /** Counts and masked keys only. */
    @Override
    public String toString() {
        List<String> masked = new ArrayList<>(keys.size());
        for (String k : keys) {
            masked.add(KeyMask.mask(k));
        }
        return "KeyText[keys=" + masked + ", rejected=" + rejected + ", repeated=" + repeated + "]";
    }
}
