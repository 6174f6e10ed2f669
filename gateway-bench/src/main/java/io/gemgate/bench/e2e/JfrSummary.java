package io.gemgate.bench.e2e;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where a benchmarked gateway spends its time and its allocations, from a Java Flight Recorder file (async-profiler is
 * not needed): CPU samples of the threads whose name starts with {@code --threads} (the event loops, {@code gemgate-io}
 * by default) by method (self and total) and by package, allocation samples by class and by the first Gemgate frame
 * that allocated, the exact bytes those threads allocated ({@code jdk.ThreadAllocationStatistics}) and the GC pauses.
 * With {@code --requests N} (the requests served while recording), figures are also given per request.
 *
 * <pre>
 * java -XX:StartFlightRecording=filename=gw.jfr,settings=profile -jar gateway-server/target/gemgate.jar   # then load
 * java -cp gateway-bench/target/benchmarks.jar io.gemgate.bench.e2e.JfrSummary gw.jfr --requests 1500000
 * </pre>
 */
public final class JfrSummary {
    private JfrSummary() {
    }

    public static void main(String[] argv) throws IOException {
        if (argv.length == 0) {
            System.err.println("usage: JfrSummary FILE.jfr [--threads gemgate-io] [--requests N] [--top 25] "
                    + "[--from SECONDS]");
            System.exit(2);
        }
        Path file = Path.of(argv[0]);
        String[] rest = java.util.Arrays.copyOfRange(argv, 1, argv.length);
        Args a = Args.parse(rest, Set.of("threads", "requests", "top", "from"), Set.of());
        String prefix = a.get("threads", "gemgate-io");
        long requests = a.getLong("requests", 0);
        int top = a.getInt("top", 25);
        double fromSeconds = a.getDouble("from", 0);

        Map<String, Long> self = new HashMap<>();
        Map<String, Long> total = new HashMap<>();
        Map<String, Long> selfByPackage = new HashMap<>();
        Map<String, Long> nativeTop = new HashMap<>();
        long nativeSamples = 0;
        Map<String, Long> allocByClass = new HashMap<>();
        Map<String, Long> allocBySite = new HashMap<>();
        Map<String, long[]> threadAlloc = new HashMap<>(); // thread -> {min, max}
        long samples = 0;
        long allocWeight = 0;
        long gcCount = 0;
        long gcPauseNanos = 0;
        long longestPause = 0;
        Instant first = null;
        Instant last = null;
        List<RecordedEvent> events = new ArrayList<>();
        try (RecordingFile rf = new RecordingFile(file)) {
            while (rf.hasMoreEvents()) {
                RecordedEvent e = rf.readEvent();
                if (first == null || e.getStartTime().isBefore(first)) {
                    first = e.getStartTime();
                }
                events.add(e);
            }
        }
        Instant from = first == null ? Instant.EPOCH : first.plusMillis((long) (fromSeconds * 1000));
        for (RecordedEvent e : events) {
            if (e.getStartTime().isBefore(from)) {
                continue;
            }
            if (last == null || e.getEndTime().isAfter(last)) {
                last = e.getEndTime();
            }
            String type = e.getEventType().getName();
            switch (type) {
                case "jdk.ExecutionSample" -> {
                    List<RecordedFrame> frames = sampledFrames(e, prefix);
                    if (frames == null) {
                        continue;
                    }
                    samples++;
                    String top0 = name(frames.get(0));
                    self.merge(top0, 1L, Long::sum);
                    selfByPackage.merge(pkg(frames.get(0)), 1L, Long::sum);
                    Set<String> seen = new HashSet<>();
                    for (RecordedFrame f : frames) {
                        String n = name(f);
                        if (seen.add(n)) {
                            total.merge(n, 1L, Long::sum);
                        }
                    }
                }
                case "jdk.NativeMethodSample" -> {
                    List<RecordedFrame> frames = sampledFrames(e, prefix);
                    if (frames == null) {
                        continue;
                    }
                    nativeSamples++;
                    nativeTop.merge(nativeSite(frames), 1L, Long::sum);
                }
                case "jdk.ObjectAllocationSample" -> {
                    if (!isOf(e.getThread("eventThread"), prefix)) {
                        continue;
                    }
                    long w = e.getLong("weight");
                    allocWeight += w;
                    allocByClass.merge(e.getClass("objectClass").getName(), w, Long::sum);
                    allocBySite.merge(site(e.getStackTrace()), w, Long::sum);
                }
                case "jdk.ThreadAllocationStatistics" -> {
                    RecordedThread t = e.getThread("thread");
                    if (!isOf(t, prefix)) {
                        continue;
                    }
                    long v = e.getLong("allocated");
                    threadAlloc.merge(t.getJavaName(), new long[] {v, v},
                            (o, n) -> new long[] {Math.min(o[0], n[0]), Math.max(o[1], n[1])});
                }
                case "jdk.GarbageCollection" -> {
                    gcCount++;
                    long p = e.getLong("sumOfPauses");
                    gcPauseNanos += p;
                    longestPause = Math.max(longestPause, e.getLong("longestPause"));
                }
                default -> {
                }
            }
        }
        double seconds = first == null || last == null ? 0 : (last.toEpochMilli() - from.toEpochMilli()) / 1000.0;
        System.out.printf(Locale.ROOT, "%s: %.1f s analysed, %d CPU samples of threads '%s*'%s%n", file, seconds,
                samples, prefix, requests > 0 ? ", " + requests + " requests" : "");
        print("self time by method (% of samples)", self, samples, top);
        print("self time by package", selfByPackage, samples, top);
        Map<String, Long> ours = new HashMap<>();
        total.forEach((k, v) -> {
            if (k.startsWith("io.gemgate")) {
                ours.put(k, v);
            }
        });
        print("total time (self + callees) of Gemgate methods", ours, samples, top);
        print("total time of all methods", total, samples, top);
        System.out.printf(Locale.ROOT, "%n%d native-method samples of the same threads (in a system call or waiting; "
                + "JFR samples them apart, at a lower rate)%n", nativeSamples);
        print("native-method samples by native method <- first caller outside the transport", nativeTop,
                nativeSamples, top);
        print("allocation samples by class (% of sampled bytes)", allocByClass, allocWeight, top);
        print("allocation samples by first Gemgate frame (else the top frame)", allocBySite, allocWeight, top);
        long exact = 0;
        for (long[] mm : threadAlloc.values()) {
            exact += mm[1] - mm[0];
        }
        System.out.printf(Locale.ROOT, "%nallocated by '%s*' threads: %.1f MB (%.1f MB/s)%s%n", prefix, exact / 1e6,
                seconds > 0 ? exact / 1e6 / seconds : 0,
                requests > 0 ? String.format(Locale.ROOT, ", %.0f bytes per request", (double) exact / requests) : "");
        System.out.printf(Locale.ROOT, "GC: %d collections, %.1f ms paused in all, longest %.2f ms%n", gcCount,
                gcPauseNanos / 1e6, longestPause / 1e6);
    }

    private static boolean isOf(RecordedThread t, String prefix) {
        return t != null && t.getJavaName() != null && t.getJavaName().startsWith(prefix);
    }

    /** The stack of a CPU or native sample of a thread named {@code prefix*}; null for other threads or no stack. */
    private static List<RecordedFrame> sampledFrames(RecordedEvent e, String prefix) {
        if (!isOf(e.getThread("sampledThread"), prefix)) {
            return null;
        }
        RecordedStackTrace st = e.getStackTrace();
        return st == null || st.getFrames().isEmpty() ? null : st.getFrames();
    }

    private static void print(String title, Map<String, Long> counts, long whole, int top) {
        System.out.printf("%n%s%n", title);
        counts.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .limit(top)
                .forEach(en -> System.out.printf(Locale.ROOT, "  %6.2f%%  %s%n",
                        whole == 0 ? 0.0 : 100.0 * en.getValue() / whole, en.getKey()));
    }

    private static String name(RecordedFrame f) {
        return f.getMethod().getType().getName() + "." + f.getMethod().getName();
    }

    private static String pkg(RecordedFrame f) {
        String cls = f.getMethod().getType().getName();
        int dot = cls.lastIndexOf('.');
        return dot < 0 ? cls : cls.substring(0, dot);
    }

    /** The native method and the first frame above it outside Netty's epoll/unix transport and its event loop. */
    private static String nativeSite(List<RecordedFrame> frames) {
        String top0 = name(frames.get(0));
        for (RecordedFrame f : frames.subList(1, frames.size())) {
            String cls = f.getMethod().getType().getName();
            if (!cls.startsWith("io.netty.channel.epoll") && !cls.startsWith("io.netty.channel.unix")) {
                return top0 + " <- " + name(f);
            }
        }
        return top0;
    }

    private static String site(RecordedStackTrace st) {
        if (st == null || st.getFrames().isEmpty()) {
            return "(no stack)";
        }
        for (RecordedFrame f : st.getFrames()) {
            if (f.getMethod().getType().getName().startsWith("io.gemgate")) {
                return name(f) + ":" + f.getLineNumber();
            }
        }
        return name(st.getFrames().get(0));
    }
}
