package io.gemgate.core.tokens;

import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.assertThatNoException;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TokenRecordTest {
    private static final String HASH = "a".repeat(64);

    private static TokenRecord record(String id, String name, String hash, long created, long requestsToday) {
        return new TokenRecord(id, name, created, hash, TokenLimits.unlimited(), true, 0, 0, requestsToday, 0, 0, 0,
                0);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "short id      | tok_abc          | n | x | 0 | 0 | id: 'tok_abc' (expected: tok_ and 12 lowercase letters or digits)",
            "upper id      | tok_ABCDEFGHIJKL | n | x | 0 | 0 | id: 'tok_ABCDEFGHIJKL' (expected: tok_ and 12 lowercase letters or digits)",
            "wrong prefix  | key_abcdefghijkl | n | x | 0 | 0 | id: 'key_abcdefghijkl' (expected: tok_ and 12 lowercase letters or digits)",
            "blank name    | tok_abcdefghijkl | ' ' | x | 0 | 0 | name: blank (expected: 1 to 100 characters)",
            "bad hash      | tok_abcdefghijkl | n | ABC | 0 | 0 | secretHash: not 64 lowercase hex characters",
            "negative time | tok_abcdefghijkl | n | x | -1 | 0 | createdAtMillis: -1 (expected: >= 0)",
            "negative req  | tok_abcdefghijkl | n | x | 0 | -5 | requestsToday: -5 (expected: >= 0)",
    })
    void refusesInvalidRecordsNamingTheField(String title, String id, String name, String hash, long created,
                                             long requests, String message) {
        String h = "x".equals(hash) ? HASH : hash;
        assertThatThrownBy(() -> record(id, name, h, created, requests))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"tok_abcdefghijkl", "tok_0123456789az"})
    void acceptsValidIds(String id) {
        assertThatNoException().isThrownBy(() -> record(id, "n", HASH, 0, 0));
    }
}
