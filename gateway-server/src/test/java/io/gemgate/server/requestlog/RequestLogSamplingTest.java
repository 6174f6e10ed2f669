package io.gemgate.server.requestlog;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * How the writer keeps its database work under {@code requests.cpuPercent} of one core (README, Request log and
 * usage): from the share of a core the last second took and the sampling it ran with, the sampling of the next.
 */
class RequestLogSamplingTest {

    @ParameterizedTest(name = "{0} of a core at 1 in {1}, budget {2}% -> 1 in {3}")
    @CsvSource(textBlock = """
            0.0,   1, 2, 1
            0.02,  1, 2, 1
            0.001, 8, 2, 1
            0.021, 1, 2, 2
            0.10,  1, 2, 7
            0.40,  1, 2, 25
            0.016, 7, 2, 7
            0.05,  7, 5, 9
            0.01, 25, 2, 16
            1.0, 1000, 1, 1000
            0.5,   1, 100, 1
            """)
    void theSamplingBringsTheDatabaseWorkUnderItsBudget(double share, int keptOneIn, int cpuPercent,
                                                       int expected) {
        assertThat(RequestLog.keepOneIn(share, keptOneIn, cpuPercent)).isEqualTo(expected);
    }
}
