package io.gemgate.bench.e2e;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Summaries of interleaved runs. Only runs of the same round are compared with each other (the machine's speed drifts
 * between rounds); a figure is the median over the rounds of the per-round figure: the throughput ratio to the
 * baseline, and the latency added over the baseline at p50, p99 and p99.9.
 */
final class Report {
    private Report() {
    }

    /**
     * @param rounds   each round's results, one per target (any order); a target missing from a round is skipped
     * @param baseline the name of the target the others are compared with (absent: no comparison)
     */
    static String summary(List<List<LoadResult>> rounds, String baseline) {
        Map<String, List<LoadResult>> byName = new LinkedHashMap<>();
        Map<String, List<LoadResult>> baseOf = new LinkedHashMap<>();
        for (List<LoadResult> round : rounds) {
            LoadResult base = round.stream().filter(r -> r.name().equals(baseline)).findFirst().orElse(null);
            for (LoadResult r : round) {
                byName.computeIfAbsent(r.name(), k -> new ArrayList<>()).add(r);
                baseOf.computeIfAbsent(r.name(), k -> new ArrayList<>()).add(base);
            }
        }
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%nsummary over %d round(s): medians; 'added' and 'ratio' are taken per "
                + "round against %s%n", rounds.size(), baseline));
        sb.append(String.format(Locale.ROOT, "%-9s %-13s %9s %8s %8s %8s %8s %6s %9s %9s %9s%n", "target", "scenario",
                "req/s", "p50 ms", "p99 ms", "p99.9", "errors", "ratio", "+p50 ms", "+p99 ms", "+p99.9"));
        for (Map.Entry<String, List<LoadResult>> e : byName.entrySet()) {
            List<LoadResult> rs = e.getValue();
            List<LoadResult> bs = baseOf.get(e.getKey());
            double rps = median(rs, LoadResult::rps);
            double p50 = median(rs, r -> r.latencyMs(50));
            double p99 = median(rs, r -> r.latencyMs(99));
            double p999 = median(rs, r -> r.latencyMs(99.9));
            long errors = rs.stream().mapToLong(LoadResult::errors).sum();
            double ratio = pairedMedian(rs, bs, (r, b) -> r.rps() / b.rps());
            double a50 = pairedMedian(rs, bs, (r, b) -> r.latencyMs(50) - b.latencyMs(50));
            double a99 = pairedMedian(rs, bs, (r, b) -> r.latencyMs(99) - b.latencyMs(99));
            double a999 = pairedMedian(rs, bs, (r, b) -> r.latencyMs(99.9) - b.latencyMs(99.9));
            String scenario = rs.get(0).scenario().label;
            long disturbed = rs.stream().filter(LoadResult::isDisturbed).count();
            sb.append(String.format(Locale.ROOT, "%-9s %-13s %9.0f %8.3f %8.3f %8.3f %8d %6.2f %9.3f %9.3f %9.3f%s%n",
                    e.getKey(), scenario, rps, p50, p99, p999, errors, ratio, a50, a99, a999,
                    disturbed == 0 ? "" : "  (" + disturbed + " disturbed run(s))"));
        }
        for (Map.Entry<String, List<LoadResult>> e : byName.entrySet()) {
            List<LoadResult> rs = e.getValue();
            List<LoadResult> bs = baseOf.get(e.getKey());
            sb.append(String.format(Locale.ROOT, "SUMMARY %s %s %.0f %.3f %.3f %.3f %d %.3f %.3f %.3f %.3f%n",
                    e.getKey(), rs.get(0).scenario().label, median(rs, LoadResult::rps),
                    median(rs, r -> r.latencyMs(50)), median(rs, r -> r.latencyMs(99)),
                    median(rs, r -> r.latencyMs(99.9)), rs.stream().mapToLong(LoadResult::errors).sum(),
                    pairedMedian(rs, bs, (r, b) -> r.rps() / b.rps()),
                    pairedMedian(rs, bs, (r, b) -> r.latencyMs(50) - b.latencyMs(50)),
                    pairedMedian(rs, bs, (r, b) -> r.latencyMs(99) - b.latencyMs(99)),
                    pairedMedian(rs, bs, (r, b) -> r.latencyMs(99.9) - b.latencyMs(99.9))));
        }
        return sb.toString();
    }

    interface Pair {
        double apply(LoadResult r, LoadResult base);
    }

    static double median(List<LoadResult> rs, ToDoubleFunction<LoadResult> f) {
        return median(rs.stream().mapToDouble(f).toArray());
    }

    static double pairedMedian(List<LoadResult> rs, List<LoadResult> bs, Pair f) {
        List<Double> v = new ArrayList<>();
        for (int i = 0; i < rs.size(); i++) {
            if (bs.get(i) != null) {
                v.add(f.apply(rs.get(i), bs.get(i)));
            }
        }
        return median(v.stream().mapToDouble(Double::doubleValue).toArray());
    }

    static double median(double[] v) {
        if (v.length == 0) {
            return Double.NaN;
        }
        double[] s = v.clone();
        Arrays.sort(s);
        int m = s.length / 2;
        return s.length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
    }
}
