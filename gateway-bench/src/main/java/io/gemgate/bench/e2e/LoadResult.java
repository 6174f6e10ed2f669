package io.gemgate.bench.e2e;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * What one load run measured. Latencies are in microseconds in the histograms and printed in milliseconds. With a
 * fixed rate, a latency runs from the request's intended send time (coordinated omission corrected); closed-loop, from
 * its actual send time (the next request leaves when the previous answer is complete, so there is no schedule to miss).
 *
 * @param name       the target's name (direct, nginx, gemgate...)
 * @param scenario   what was sent
 * @param rate       the fixed rate asked for, requests/s; 0 for closed-loop
 * @param seconds    the measured window
 * @param completed  answers completed in the window (any status)
 * @param ok         of which 2xx
 * @param statuses   the other statuses, by code
 * @param timeouts   requests without a complete answer within the timeout
 * @param closed     connections closed by the target in the middle of an answer, or connect failures
 * @param latency    2xx answers: send (or intended send) to the last byte, microseconds
 * @param ttfe       SSE: send (or intended send) to the end of the first event
 * @param gaps       SSE: between the ends of two events of one answer (events read together count 0)
 * @param sendLag    fixed rate: actual minus intended send time (the generator's own lateness, included in latency)
 * @param events     SSE events received in the window
 */
public record LoadResult(String name, Scenario scenario, double rate, double seconds, long completed, long ok,
                         Map<Integer, Long> statuses, long timeouts, long closed, Histogram latency, Histogram ttfe,
                         Histogram gaps, Histogram sendLag, long events) {

    public double rps() {
        return seconds <= 0 ? 0 : completed / seconds;
    }

    public long errors() {
        return completed - ok + timeouts + closed;
    }

    /**
     * True when, at a fixed rate, the generator sent 1% of its requests more than 1 ms late: it did not get the CPU
     * when it needed it, so the latency tail of this run is the machine's as much as the target's.
     */
    public boolean isDisturbed() {
        return rate > 0 && sendLag.getTotalCount() > 0 && ms(sendLag, 99) > 1.0;
    }

    /** Milliseconds at the percentile of the 2xx latencies (NaN when there were none). */
    public double latencyMs(double percentile) {
        return ms(latency, percentile);
    }

    static double ms(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(percentile) / 1000.0;
    }

    /** One line: requests/s, p50/p99/p99.9/max, errors; then SSE and fixed-rate details when they apply. */
    public String line() {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "%-9s %-13s req/s %9.0f  p50 %7.3f  p99 %7.3f  p99.9 %7.3f  max %8.3f ms  errors %d",
                name, scenario, rps(), latencyMs(50), latencyMs(99), latencyMs(99.9),
                latency.getTotalCount() == 0 ? Double.NaN : latency.getMaxValue() / 1000.0, errors()));
        if (errors() > 0) {
            Map<String, Long> kinds = new TreeMap<>();
            statuses.forEach((code, n) -> kinds.put("status " + code, n));
            if (timeouts > 0) {
                kinds.put("timeouts", timeouts);
            }
            if (closed > 0) {
                kinds.put("closed/connect", closed);
            }
            sb.append(' ').append(kinds);
        }
        if (scenario.sse) {
            sb.append(String.format(Locale.ROOT, "%n%-23s first event p50 %7.3f  p99 %7.3f ms   gap p50 %7.3f  p99 %7.3f"
                            + "  p99.9 %7.3f ms   %.1f events/answer", "", ms(ttfe, 50), ms(ttfe, 99), ms(gaps, 50),
                    ms(gaps, 99), ms(gaps, 99.9), ok == 0 ? 0.0 : (double) events / ok));
        }
        if (rate > 0) {
            sb.append(String.format(Locale.ROOT, "%n%-23s fixed rate %.0f/s: sent %.0f/s, send lag p50 %.3f  p99 %.3f "
                            + "ms (included above)%s", "", rate, sendLag.getTotalCount() / Math.max(seconds, 1e-9),
                    ms(sendLag, 50), ms(sendLag, 99), isDisturbed() ? "; DISTURBED: the generator itself was late "
                            + "(CPU starved?), this run's tail says more about the machine than the target" : ""));
        }
        return sb.toString();
    }
}
