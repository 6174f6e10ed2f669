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
        assertThat(RequestLog.keepOneIn(share, 0, keptOneIn, cpuPercent)).isEqualTo(expected);
    }

    /**
     * Work that sampling does not change (the usage counts, pruning: a size check once a minute) comes out of the
     * budget first and is not multiplied by the sampling: a window with a prune does not keep successes out for good.
     */
    @ParameterizedTest(name = "{0} inserts + {1} fixed at 1 in {2}, budget {3}% -> 1 in {4}")
    @CsvSource(textBlock = """
            0.01,  0.005, 1,  2, 1
            0.01,  0.01,  1,  2, 1
            0.01,  0.015, 1,  2, 3
            0.016, 0.005, 1,  2, 2
            0.001, 0.005, 30, 2, 3
            0.001, 0.05,  30, 2, 1000
            0.0,   0.05,  30, 2, 1
            """)
    void workThatSamplingDoesNotChangeComesOutOfTheBudgetFirst(double share, double fixed, int keptOneIn,
                                                             int cpuPercent, int expected) {
        assertThat(RequestLog.keepOneIn(share, fixed, keptOneIn, cpuPercent)).isEqualTo(expected);
    }

}
