package io.gemgate.server.requestlog;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * How the writer keeps its database work under {@code requests.cpuPercent} of one core (README, Request log and
 * usage): from the share of a core the last second took and the sampling it ran with, the sampling of the next.
 */
class RequestLogSamplingTest {

    /**
     * Successes arriving at R a second, a row costing C us of CPU: writing all takes R x C of a core; within the
     * budget all are written, past it one in N with N aiming at 80 % of the budget.
     */
    @ParameterizedTest(name = "{0}/s at {1} ns a row, budget {2}% -> 1 in {3}")
    @CsvSource(textBlock = """
            0,        20000, 2,   1
            1000,     20000, 2,   1
            1001,     20000, 2,   2
            50000,    10000, 2,   32
            50000,    20000, 2,   63
            200000,   10000, 2,   125
            1000000,  100000, 1,  1000
            50000,    10000, 100, 1
            """)
    void theSamplingKeepsTheDatabaseWorkUnderItsBudget(double perSecond, long rowCostNanos, int cpuPercent,
                                                      int expected) {
        assertThat(RequestLog.keepOneIn(perSecond, rowCostNanos, 0, cpuPercent)).isEqualTo(expected);
    }

    /**
     * Work that sampling does not change (the usage counts, pruning, the failures' rows) comes out of the budget
     * first; when it alone takes the budget, successes are kept at the least (one in 1,000), and an idle spell
     * (nothing arriving) writes all.
     */
    @ParameterizedTest(name = "{0}/s at {1} ns a row + {2} of a core fixed, budget {3}% -> 1 in {4}")
    @CsvSource(textBlock = """
            500,    20000, 0.005, 2, 1
            500,    20000, 0.01,  2, 1
            1000,   20000, 0.01,  2, 3
            50000,  10000, 0.005, 2, 42
            50000,  10000, 0.05,  2, 1000
            0,      10000, 0.05,  2, 1
            """)
    void workThatSamplingDoesNotChangeComesOutOfTheBudgetFirst(double perSecond, long rowCostNanos, double fixed,
                                                             int cpuPercent, int expected) {
        assertThat(RequestLog.keepOneIn(perSecond, rowCostNanos, fixed, cpuPercent)).isEqualTo(expected);
    }
}
