package io.gemgate.server.metrics;

import static java.util.Objects.requireNonNull;

import io.netty.util.concurrent.FastThreadLocal;
import io.prometheus.metrics.model.registry.Collector;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.Unit;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A latency histogram with fixed buckets and one series per route label, collected straight into the Prometheus
 * registry (classic {@code _bucket}, {@code _count}, {@code _sum}).
 *
 * <p>Why not a Micrometer {@code Timer}: each of its records reads the clock twice (the rotation of its decaying max
 * and of its histogram window) and updates shared counters with compare-and-set; the gateway records two per request.
 * Here a record is a bucket search and two plain stores (its bucket, the sum) into cells that only the recording
 * thread writes (one cell per thread and series, found through a {@link FastThreadLocal}: an array index on an event
 * loop), so nothing is shared between event loops and no clock is read. A scrape sums the cells. A scrape that runs during a record may see
 * its bucket and not yet its sum; the next scrape sees both.
 */
final class RouteHistogram implements Collector {
    private final String name;
    private final String help;
    private final String labelName;
    /** Upper bounds in seconds, for the text output; {@code +Inf} is implied. */
    private final double[] upperSeconds;
    private final long[] upperNanos;
    private final ConcurrentHashMap<String, Series> series = new ConcurrentHashMap<>();

    /**
     * @param name      the Prometheus name, with its unit ({@code gemgate_request_duration_seconds})
     * @param labelName the one label that tells series apart ({@code route})
     * @param buckets   the bucket upper bounds, ascending
     */
    RouteHistogram(String name, String help, String labelName, Duration... buckets) {
        this.name = requireNonNull(name, "name");
        this.help = requireNonNull(help, "help");
        this.labelName = requireNonNull(labelName, "labelName");
        this.upperSeconds = new double[buckets.length];
        this.upperNanos = new long[buckets.length];
        for (int i = 0; i < buckets.length; i++) {
            upperNanos[i] = buckets[i].toNanos();
            upperSeconds[i] = upperNanos[i] / 1e9;
            if (i > 0 && upperNanos[i] <= upperNanos[i - 1]) {
                throw new IllegalArgumentException("buckets must ascend: " + buckets[i - 1] + ", " + buckets[i]);
            }
        }
    }

    /** The series of one label value, made on first use (its counts start at 0 and show from then on). */
    Series series(String labelValue) {
        Series s = series.get(labelValue);
        return s != null ? s : series.computeIfAbsent(labelValue, Series::new);
    }

    @Override
    public String getPrometheusName() {
        return name;
    }

    @Override
    public MetricSnapshot collect() {
        HistogramSnapshot.Builder b = HistogramSnapshot.builder().name(name).help(help).unit(Unit.SECONDS);
        List<Series> all = new ArrayList<>(series.values());
        all.sort((x, y) -> x.labelValue.compareTo(y.labelValue));
        for (Series s : all) {
            long[] counts = new long[upperNanos.length + 1];
            long sumNanos = 0;
            for (AtomicLongArray cell : s.cells) {
                for (int i = 0; i < counts.length; i++) {
                    counts[i] += cell.getOpaque(i);
                }
                sumNanos += cell.getOpaque(counts.length);
            }
            ClassicHistogramBuckets.Builder buckets = ClassicHistogramBuckets.builder();
            for (int i = 0; i < upperSeconds.length; i++) {
                buckets.bucket(upperSeconds[i], counts[i]);
            }
            buckets.bucket(Double.POSITIVE_INFINITY, counts[upperSeconds.length]);
            b.dataPoint(HistogramSnapshot.HistogramDataPointSnapshot.builder()
                    .labels(Labels.of(labelName, s.labelValue))
                    .classicHistogramBuckets(buckets.build())
                    .sum(Unit.nanosToSeconds(sumNanos))
                    .build());
        }
        return b.build();
    }

    /** One label value's counts: a cell per recording thread, summed at scrape time. */
    final class Series {
        private final String labelValue;
        /** Per cell: the bucket counts ({@code +Inf} last), then the sum in nanoseconds. */
        private final List<AtomicLongArray> cells = new CopyOnWriteArrayList<>();
        private final FastThreadLocal<AtomicLongArray> mine = new FastThreadLocal<>() {
            @Override
            protected AtomicLongArray initialValue() {
                AtomicLongArray cell = new AtomicLongArray(upperNanos.length + 2);
                cells.add(cell);
                return cell;
            }
        };

        private Series(String labelValue) {
            this.labelValue = labelValue;
        }

        /** Records one observation; negative ones count as 0. Only the calling thread writes its cell. */
        void record(long nanos) {
            long v = Math.max(0, nanos);
            long[] upper = upperNanos;
            int i = 0;
            while (i < upper.length && v > upper[i]) {
                i++;
            }
            AtomicLongArray cell = mine.get();
            cell.setOpaque(i, cell.getPlain(i) + 1);
            int sum = upper.length + 1;
            cell.setOpaque(sum, cell.getPlain(sum) + v);
        }
    }
}
