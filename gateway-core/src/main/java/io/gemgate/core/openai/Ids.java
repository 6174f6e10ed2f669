package io.gemgate.core.openai;

import java.util.concurrent.ThreadLocalRandom;

/** Random identifiers for answers and tool calls. Not secrets: {@link ThreadLocalRandom} is enough. */
final class Ids {
    private static final char[] ALNUM =
            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();

    private Ids() {
    }

    /** {@code prefix} followed by {@code n} random letters and digits. */
    static String random(String prefix, int n) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        char[] c = new char[prefix.length() + n];
        prefix.getChars(0, prefix.length(), c, 0);
        for (int i = prefix.length(); i < c.length; i++) {
            c[i] = ALNUM[r.nextInt(ALNUM.length)];
        }
        return new String(c);
    }

    /** A {@code chatcmpl-} id for an answer without a Gemini {@code responseId}. */
    static String completionId() {
        return random("chatcmpl-", 24);
    }
}
