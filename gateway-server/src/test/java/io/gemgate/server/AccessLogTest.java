package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.CapturingAppender;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.async.EventRoute;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;
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

    @Test
    void aLineCarriesEveryFieldInTheDocumentedOrder() {
        String token = "gg-test-client-token-5d1c";
        AccessLog.write("POST /v1beta/models/gemini-2.5-flash:generateContent", 200, "gemini-2.5-flash",
                "AIza...Q9xk", 1, 2, 1834, AccessLog.cachedHint(token));
        AccessLog.write("GET /v1beta/models", 401, "-", null, 7, 0, 0, AccessLog.cachedHint("wrong-token-1234567"));
        AccessLog.write("GET /health", 200, "-", null, 0, 0, 3, AccessLog.cachedHint(null));

        assertThat(CapturingAppender.accessLines()).contains(
                "gemgate.access POST /v1beta/models/gemini-2.5-flash:generateContent 200 model=gemini-2.5-flash"
                        + " key=AIza...Q9xk tier=1 attempts=2 1834ms token=gg-t...5d1c",
                "gemgate.access GET /v1beta/models 401 model=- key=- tier=- attempts=0 0ms token=wron...4567",
                "gemgate.access GET /health 200 model=- key=- tier=- attempts=0 3ms token=-");
    }

    @Test
    void theCachedHintFollowsTheToken() {
        assertThat(AccessLog.cachedHint("gg-test-client-token-5d1c")).isEqualTo("gg-t...5d1c");
        assertThat(AccessLog.cachedHint("wrong-token-1234567")).isEqualTo("wron...4567");
        assertThat(AccessLog.cachedHint(new String("wrong-token-1234567"))).isEqualTo("wron...4567");
        assertThat(AccessLog.cachedHint(null)).isEqualTo("-");
        assertThat(AccessLog.cachedHint("gg-test-client-token-5d1c")).isEqualTo("gg-t...5d1c");
    }

    @Test
    void aFullQueueDropsAndCountsInsteadOfWaitingAndTellsAccessLinesFromOtherEvents() throws Exception {
        LogQueueFullPolicy policy = new LogQueueFullPolicy();
        // The logging thread itself writes at once (it cannot wait for itself), as with log4j2's default policy.
        assertThat(policy.getRoute(Thread.currentThread().getId(), Level.INFO)).isEqualTo(EventRoute.SYNCHRONOUS);

        // Another thread's event (not an access line): dropped, counted as other.
        long other = LogQueueFullPolicy.droppedOther();
        long access = AccessLog.dropped();
        AtomicReference<EventRoute> route = new AtomicReference<>();
        Thread t = new Thread(() -> route.set(policy.getRoute(-1, Level.WARN)));
        t.start();
        t.join();
        assertThat(route.get()).isEqualTo(EventRoute.DISCARD);
        assertThat(LogQueueFullPolicy.droppedOther()).isEqualTo(other + 1);
        assertThat(AccessLog.dropped()).isEqualTo(access);

        // An access line meeting a full queue: log4j2 asks the policy on the writing thread, inside AccessLog.write;
        // an appender on the access logger stands in for the full queue here (the tests' loggers are synchronous).
        LoggerConfig config = ((LoggerContext) LogManager.getContext(false)).getConfiguration()
                .getLoggerConfig("gemgate.access");
        AbstractAppender full = new AbstractAppender("full-queue", null, null, true, Property.EMPTY_ARRAY) {
            @Override
            public void append(LogEvent event) {
                route.set(policy.getRoute(-1, event.getLevel()));
            }
        };
        full.start();
        config.addAppender(full, null, null);
        try {
            route.set(null);
            AccessLog.write("GET /v1beta/models", 200, "*", "AIza...0000", 0, 1, 5, "-");
        } finally {
            config.removeAppender("full-queue");
            full.stop();
        }
        assertThat(route.get()).isEqualTo(EventRoute.DISCARD);
        assertThat(AccessLog.dropped()).isEqualTo(access + 1);
        assertThat(LogQueueFullPolicy.droppedOther()).isEqualTo(other + 1);
    }
}
