package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What the access log shows of a request target and a token: nothing secret, nothing that breaks the line. */
class AccessLogTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            /v1beta/models?key=secret-token&alt=sse                     | /v1beta/models?alt=sse
            /v1beta/models?%6bey=secret-token                           | /v1beta/models
            /v1beta/models?alt=sse;api_key=secret-token                 | /v1beta/models?alt=sse
            /admin/api/keys/AIzaSyTESTxxxxxxxxxxxxxxxxxxxxxxxxx0000     | /admin/api/keys/AIza...0000
            /a/AIzaSyTESTxxxxxxxxxxxxxxxxxxxxxxxxx0000/AIzaShort        | /a/AIza...0000/AIzaShort
            /v1beta/models%00                                           | /v1beta/models%00
            """)
    void targetsAreLoggedWithoutCredentials(String uri, String logged) {
        assertThat(AccessLog.target(uri)).isEqualTo(logged);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            gg-test-client-token-5d1c | gg-t...5d1c
            wrong-token-1234567       | wron...4567
            short-token               | sh...en
            abc                       | ...
            """)
    void tokensShowAtMostTheirFirstAndLastFour(String token, String hint) {
        assertThat(AccessLog.tokenHint(token)).isEqualTo(hint);
    }

    @Test
    void theClientsTokenInThePathIsCutToItsHint() {
        assertThat(AccessLog.withoutToken("/nope/gg-test-client-token-5d1c/x", "gg-test-client-token-5d1c"))
                .isEqualTo("/nope/gg-t...5d1c/x");
        assertThat(AccessLog.withoutToken("/v1beta/models", "gg-test-client-token-5d1c")).isEqualTo("/v1beta/models");
    }

    @Test
    void controlAndNonAsciiCharactersAreEscaped() {
        assertThat(AccessLog.visible("GET", 32)).isEqualTo("GET");
        assertThat(AccessLog.visible("BR" + (char) 0 + "EW", 32)).isEqualTo("BR%00EW");
        assertThat(AccessLog.visible("caf" + (char) 0xe9, 32)).isEqualTo("caf%E9");
        assertThat(AccessLog.visible("x".repeat(40), 32)).isEqualTo("x".repeat(32) + "...");
    }
}
