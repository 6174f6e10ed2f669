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
 * baseline, and the latency added over the baseline at p50, p99 and p99.9 (for SSE also the time to the first event
 * and the gaps between events).
 */
final class Report {
    private Report() {
    }

    /**
     * One target's medians over the rounds. The {@code plus*} figures and {@code ratio} are medians of per-round
     * differences (ratios) against the baseline of the same round; NaN without a baseline.
     *
     * @param disturbed fixed-rate runs in which the generator itself was late ({@link LoadResult#isDisturbed()})
     */
    record Row(String target, Scenario scenario, double rps, double p50, double p99, double p999, long errors,
               double ratio, double plusP50, double plusP99, double plusP999, long disturbed,
               double firstP50, double firstP99, double plusFirstP50, double plusFirstP99,
               double gapP99, double plusGapP99) {

        /** One line for scripts: {@code SUMMARY target scenario rps p50 p99 p99.9 errors ratio +p50 +p99 +p99.9 ...}. */
        String machineLine() {
            return String.format(Locale.ROOT, "SUMMARY %s %s %.0f %.3f %.3f %.3f %d %.3f %.3f %.3f %.3f %.3f %.3f %.3f"
                            + " %.3f %.3f %.3f", target, scenario.label, rps, p50, p99, p999, errors, ratio, plusP50,
                    plusP99, plusP999, firstP50, firstP99, plusFirstP50, plusFirstP99, gapP99, plusGapP99);
        }
    }

    /**
     * @param rounds   each round's results, one per target (any order); a target missing from a round is skipped
     * @param baseline the name of the target the others are compared with (absent: no comparison)
     * @return one row per target, in the order of their first appearance
     */
    static List<Row> rows(List<List<LoadResult>> rounds, String baseline) {
        Map<String, List<LoadResult>> byName = new LinkedHashMap<>();
        Map<String, List<LoadResult>> baseOf = new LinkedHashMap<>();
        for (List<LoadResult> round : rounds) {
            LoadResult base = round.stream().filter(r -> r.name().equals(baseline)).findFirst().orElse(null);
            for (LoadResult r : round) {
                byName.computeIfAbsent(r.name(), k -> new ArrayList<>()).add(r);
                baseOf.computeIfAbsent(r.name(), k -> new ArrayList<>()).add(base);
            }
        }
        List<Row> rows = new ArrayList<>();
        for (Map.Entry<String, List<LoadResult>> e : byName.entrySet()) {
            List<LoadResult> rs = e.getValue();
            List<LoadResult> bs = baseOf.get(e.getKey());
            rows.add(new Row(e.getKey(), rs.get(0).scenario(),
                    median(rs, LoadResult::rps), median(rs, r -> r.latencyMs(50)), median(rs, r -> r.latencyMs(99)),
                    median(rs, r -> r.latencyMs(99.9)), rs.stream().mapToLong(LoadResult::errors).sum(),
                    pairedMedian(rs, bs, (r, b) -> r.rps() / b.rps()),
                    added(rs, bs, r -> r.latencyMs(50)), added(rs, bs, r -> r.latencyMs(99)),
                    added(rs, bs, r -> r.latencyMs(99.9)), rs.stream().filter(LoadResult::isDisturbed).count(),
                    median(rs, r -> LoadResult.ms(r.ttfe(), 50)), median(rs, r -> LoadResult.ms(r.ttfe(), 99)),
                    added(rs, bs, r -> LoadResult.ms(r.ttfe(), 50)), added(rs, bs, r -> LoadResult.ms(r.ttfe(), 99)),
                    median(rs, r -> LoadResult.ms(r.gaps(), 99)), added(rs, bs, r -> LoadResult.ms(r.gaps(), 99))));
        }
        return rows;
    }

    /** The table of {@link #rows}, the SSE table when a scenario streams, then one {@code SUMMARY} line per target. */
    static String summary(List<List<LoadResult>> rounds, String baseline) {
        List<Row> rows = rows(rounds, baseline);
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%nsummary over %d round(s): medians; 'added' and 'ratio' are taken per "
                + "round against %s%n", rounds.size(), baseline));
        sb.append(String.format(Locale.ROOT, "%-9s %-13s %9s %8s %8s %8s %8s %6s %9s %9s %9s%n", "target", "scenario",
                "req/s", "p50 ms", "p99 ms", "p99.9", "errors", "ratio", "+p50 ms", "+p99 ms", "+p99.9"));
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "%-9s %-13s %9.0f %8.3f %8.3f %8.3f %8d %6.2f %9.3f %9.3f %9.3f%s%n",
                    r.target(), r.scenario(), r.rps(), r.p50(), r.p99(), r.p999(), r.errors(), r.ratio(), r.plusP50(),
                    r.plusP99(), r.plusP999(), r.disturbed() == 0 ? "" : "  (" + r.disturbed() + " disturbed run(s))"));
        }
        if (rows.stream().anyMatch(r -> r.scenario().sse)) {
            sb.append(String.format(Locale.ROOT, "%-9s %-13s %11s %11s %11s %11s %11s %11s   (SSE, ms)%n", "target",
                    "scenario", "1st ev p50", "1st ev p99", "+1st p50", "+1st p99", "gap p99", "+gap p99"));
            for (Row r : rows) {
                sb.append(String.format(Locale.ROOT, "%-9s %-13s %11.3f %11.3f %11.3f %11.3f %11.3f %11.3f%n",
                        r.target(), r.scenario(), r.firstP50(), r.firstP99(), r.plusFirstP50(), r.plusFirstP99(),
                        r.gapP99(), r.plusGapP99()));
            }
        }
        rows.forEach(r -> sb.append(r.machineLine()).append(System.lineSeparator()));
        return sb.toString();
    }

    private interface Pair {
        double apply(LoadResult r, LoadResult base);
    }

    private static double added(List<LoadResult> rs, List<LoadResult> bs, ToDoubleFunction<LoadResult> f) {
        return pairedMedian(rs, bs, (r, b) -> f.applyAsDouble(r) - f.applyAsDouble(b));
    }

    private static double median(List<LoadResult> rs, ToDoubleFunction<LoadResult> f) {
        return median(rs.stream().mapToDouble(f).toArray());
    }

    private static double pairedMedian(List<LoadResult> rs, List<LoadResult> bs, Pair f) {
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
