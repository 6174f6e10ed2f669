package io.gemgate.core.anthropic;

import java.util.concurrent.ThreadLocalRandom;

/** Ids of Anthropic answers and the text form of Gemini's inline images. Stateless; thread-safe. */
final class Blocks {
    private static final char[] ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();

    private Blocks() {
    }

    /** {@code msg_} + Gemini's {@code responseId} when it is made of id characters, else {@code msg_} + 24 random. */
    static String messageId(String responseId) {
        if (responseId != null && !responseId.isEmpty() && responseId.length() <= 128) {
            boolean ok = true;
            for (int i = 0; ok && i < responseId.length(); i++) {
                char c = responseId.charAt(i);
                ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
                        || c == '-';
            }
            if (ok) {
                return "msg_" + responseId;
            }
        }
        ThreadLocalRandom r = ThreadLocalRandom.current();
        char[] c = new char[28];
        "msg_".getChars(0, 4, c, 0);
        for (int i = 4; i < c.length; i++) {
            c[i] = ALNUM[r.nextInt(ALNUM.length)];
        }
        return new String(c);
    }

    /** An image Gemini answered inline: a markdown image with a data URL (the Messages API has no image output). */
    static String imageText(String mime, String base64) {
        return "![image](data:" + mime + ";base64," + base64 + ")";
    }
}
