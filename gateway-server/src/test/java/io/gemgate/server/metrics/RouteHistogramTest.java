package io.gemgate.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RouteHistogramTest {
    private static final long MS = 1_000_000;

    private static RouteHistogram histogram() {
        return new RouteHistogram("test_latency_seconds", "Test latency", "route", Duration.ofMillis(1),
                Duration.ofMillis(10), Duration.ofSeconds(1));
    }

    private static String scrape(RouteHistogram h) {
        PrometheusMeterRegistry r = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        r.getPrometheusRegistry().register(h);
        return r.scrape();
    }

    @Test
    void bucketsAreCumulativeInTheOutputAndABoundBelongsToItsBucket() {
        RouteHistogram h = histogram();
        RouteHistogram.Series s = h.series("native");
        s.record(MS);          // exactly 1 ms: le="0.001"
        s.record(MS + 1);      // just over: le="0.01"
        s.record(500 * MS);    // le="1.0"
        s.record(5_000 * MS);  // beyond the last bound: +Inf only
        s.record(-7);          // a clock step backwards counts as 0

        String text = scrape(h);
        assertThat(text).contains("# TYPE test_latency_seconds histogram")
                .contains("# HELP test_latency_seconds Test latency")
                .contains("test_latency_seconds_bucket{route=\"native\",le=\"0.001\"} 2")
                .contains("test_latency_seconds_bucket{route=\"native\",le=\"0.01\"} 3")
                .contains("test_latency_seconds_bucket{route=\"native\",le=\"1.0\"} 4")
                .contains("test_latency_seconds_bucket{route=\"native\",le=\"+Inf\"} 5")
                .contains("test_latency_seconds_count{route=\"native\"} 5")
                .contains("test_latency_seconds_sum{route=\"native\"} 5.502000001");
    }

    @Test
    void cellsOfEveryRecordingThreadAreSummed() throws InterruptedException {
        RouteHistogram h = histogram();
        RouteHistogram.Series s = h.series("openai_chat");
        int threads = 4;
        int each = 10_000;
        CountDownLatch done = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            new Thread(() -> {
                for (int i = 0; i < each; i++) {
                    s.record(2 * MS);
                }
                done.countDown();
            }).start();
        }
        assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
        s.record(2 * MS); // this thread too

        String text = scrape(h);
        assertThat(text).contains("test_latency_seconds_count{route=\"openai_chat\"} " + (threads * each + 1))
                .contains("test_latency_seconds_bucket{route=\"openai_chat\",le=\"0.001\"} 0")
                .contains("test_latency_seconds_bucket{route=\"openai_chat\",le=\"0.01\"} " + (threads * each + 1));
    }

    @Test
    void aSeriesShowsOnlyOnceAskedFor() {
        RouteHistogram h = histogram();
        h.series("native");
        String text = scrape(h);
        assertThat(text).contains("test_latency_seconds_count{route=\"native\"} 0").doesNotContain("route=\"admin\"");
        assertThat(h.series("native")).isSameAs(h.series("native"));
    }

    @Test
    void bucketsMustAscend() {
        assertThatThrownBy(() -> new RouteHistogram("x_seconds", "x", "route", Duration.ofMillis(5),
                Duration.ofMillis(5))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ascend");
    }
}
