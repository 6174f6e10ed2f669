package io.gemgate.core.auth;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TokenMatcherTest {
    private static final String TOKEN = "team-token-0123456789";
    private final TokenMatcher matcher = new TokenMatcher(TOKEN);

    @Test
    void matchesOnlyTheExactToken() {
        assertThat(matcher.isConfigured()).isTrue();
        assertThat(matcher.matches(TOKEN)).isTrue();
        assertThat(matcher.matches(new StringBuilder(TOKEN))).isTrue();
        assertThat(matcher.matches(TOKEN.toUpperCase())).isFalse();
    }

    @Test
    void refusesEveryOneCharacterChangePrefixAndExtension() {
        for (int i = 0; i < TOKEN.length(); i++) {
            char[] c = TOKEN.toCharArray();
            c[i] ^= 1;
            assertThat(matcher.matches(new String(c))).as("changed at %d", i).isFalse();
            assertThat(matcher.matches(TOKEN.substring(0, i))).as("prefix of %d", i).isFalse();
        }
        assertThat(matcher.matches(TOKEN + "x")).isFalse();
        assertThat(matcher.matches(TOKEN + TOKEN)).isFalse();
        // Longer than the token, with the token's first character where the index wraps to 0.
        assertThat(matcher.matches(TOKEN + "t".repeat(50))).isFalse();
    }

    @Test
    void nothingMatchesEmptyNullOrAnUnconfiguredToken() {
        assertThat(matcher.matches("")).isFalse();
        assertThat(matcher.matches(null)).isFalse();
        TokenMatcher none = new TokenMatcher(null);
        assertThat(none.isConfigured()).isFalse();
        assertThat(none.matches("anything")).isFalse();
        assertThat(new TokenMatcher("").matches("")).isFalse();
    }

    @Test
    void comparesCharactersBeyondAscii() {
        TokenMatcher unicode = new TokenMatcher("jeton-été-✓");
        assertThat(unicode.matches("jeton-été-✓")).isTrue();
        assertThat(unicode.matches("jeton-ete-✓")).isFalse();
    }
}
