package io.gemgate.core.requestlog;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The usage counters: what each request counts for, by dimension, and every count handed out exactly once. */
class UsageCountersTest {
    private static final long T0 = 1_796_000_000_000L - 1_796_000_000_000L % 60_000;

    private static RequestRecord request(String token, int status, AttemptRecord... attempts) {
        return new RequestRecord(T0, "POST", "/v1beta/models/m:generateContent", "native", "gemini", "m", token,
                token.isEmpty() ? "" : "alice", "127.0.0.1", false, status, 10, 5, 3, 7, 4, 2, List.of(attempts), null,
                null, null);
    }

    private static AttemptRecord attempt(String key, String verdict) {
        return new AttemptRecord(key, "AIza...", 0, "", verdict.equals("success") ? 200 : 429, verdict, null, null, 1);
    }

    private static long sum(List<UsageCounters.Row> rows, UsageCounters.Dim dim, String value,
                            java.util.function.ToLongFunction<UsageCounters.Row> f) {
        return rows.stream().filter(r -> r.dim() == dim && r.value().equals(value)).mapToLong(f).sum();
    }

    @Test
    void aFailoverCountsAFailureForTheFirstKeyAndTheTokensForTheServingOne() {
        UsageCounters c = new UsageCounters();
        c.count(T0 + 1000, request("", 200, attempt("k1", "rate_minute"), attempt("k2", "success")));
        c.count(T0 + 2000, request("t1", 503));
        List<UsageCounters.Row> rows = c.drain(T0 + 3000);

        assertThat(sum(rows, UsageCounters.Dim.KEY, "k1", UsageCounters.Row::failures)).isEqualTo(1);
        assertThat(sum(rows, UsageCounters.Dim.KEY, "k1", UsageCounters.Row::promptTokens)).isZero();
        assertThat(sum(rows, UsageCounters.Dim.KEY, "k2", UsageCounters.Row::failures)).isZero();
        assertThat(sum(rows, UsageCounters.Dim.KEY, "k2", UsageCounters.Row::promptTokens)).isEqualTo(7);
        assertThat(sum(rows, UsageCounters.Dim.TOKEN, UsageCounters.SHARED_TOKEN, UsageCounters.Row::requests))
                .isEqualTo(1);
        assertThat(sum(rows, UsageCounters.Dim.TOKEN, "t1", UsageCounters.Row::failures)).isEqualTo(1);
        assertThat(sum(rows, UsageCounters.Dim.MODEL, "m", UsageCounters.Row::requests)).isEqualTo(2);
        assertThat(sum(rows, UsageCounters.Dim.MODEL, "m", UsageCounters.Row::reasoningTokens)).isEqualTo(4);
        assertThat(sum(rows, UsageCounters.Dim.GROUP, UsageCounters.NO_GROUP, UsageCounters.Row::requests))
                .isEqualTo(1);
        assertThat(rows).allMatch(r -> r.minuteStart() == T0);
        assertThat(c.drain(T0 + 4000)).as("each count is handed out once").isEmpty();
    }

    @Test
    void countsAddedWhileDrainingAreNeitherLostNorCountedTwice() throws Exception {
        UsageCounters c = new UsageCounters();
        int threads = 4;
        int perThread = 20_000;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            done.add(pool.submit(() -> {
                go.await();
                for (int i = 0; i < perThread; i++) {
                    c.count(T0 + (i % 3) * 60_000, request("", i % 10 == 0 ? 500 : 200, attempt("k", "success")));
                }
                return null;
            }));
        }
        long requests = 0;
        long failures = 0;
        go.countDown();
        boolean running = true;
        while (running) {
            running = done.stream().anyMatch(f -> !f.isDone());
            for (UsageCounters.Row r : c.drain(T0)) {
                if (r.dim() == UsageCounters.Dim.MODEL) {
                    requests += r.requests();
                    failures += r.failures();
                }
            }
        }
        for (Future<?> f : done) {
            f.get(10, TimeUnit.SECONDS);
        }
        pool.shutdown();
        assertThat(requests).isEqualTo((long) threads * perThread);
        assertThat(failures).isEqualTo((long) threads * perThread / 10);
    }
}
