package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static io.gemgate.testing.GatewayHarness.key;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.KeySpec;
import io.gemgate.core.metrics.GatewayEvents;
import io.gemgate.core.settings.KeyBudget;
import io.gemgate.server.metrics.MicrometerMetrics;
import io.gemgate.testing.Behavior;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.Programs;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code GET /metrics} with the Micrometer binding: after real traffic through the gateway the Prometheus text holds
 * the expected series with the right values, its labels are bounded and carry no secret, and it passes
 * {@code promtool check metrics} (Debian package {@code prometheus}; required when {@code CI} is set).
 */
@ExtendWith(LeakDetection.class)
class MetricsTest {
    private static final String FLASH = "gemini-2.5-flash";
    private static final String GENERATE = "/v1beta/models/" + FLASH + ":generateContent";
    private static final String STREAM = "/v1beta/models/" + FLASH + ":streamGenerateContent?alt=sse";
    private static final String BODY = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}";
    private static final String CHAT = "{\"model\":\"" + FLASH + "\",\"messages\":[{\"role\":\"user\","
            + "\"content\":\"hi\"}]}";
    /** Label names a Gemgate series may carry ({@code le}: histogram buckets). */
    private static final Set<String> LABELS = Set.of("route", "model", "status", "outcome", "reason", "key", "key_id",
            "state", "type", "user", "exit", "le", "tier");

    private MicrometerMetrics metrics;
    private GatewayHarness gw;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
        if (metrics != null) {
            metrics.close();
        }
    }

    @Test
    void countsTrafficByRouteModelStatusVerdictAndKey() throws Exception {
        long before = System.currentTimeMillis();
        Scrape s = afterTraffic();

        assertThat(s.value("gemgate_requests_total", "route", "native", "model", FLASH, "status", "200")).isEqualTo(4);
        assertThat(s.value("gemgate_requests_total", "route", "native", "model", FLASH, "status", "400")).isEqualTo(1);
        assertThat(s.value("gemgate_requests_total", "route", "openai_chat", "model", FLASH, "status", "200"))
                .isEqualTo(1);
        assertThat(s.value("gemgate_requests_rejected_total", "route", "native", "status", "401")).isEqualTo(1);
        assertThat(s.value("gemgate_requests_rejected_total", "route", "other", "status", "404")).isEqualTo(1);

        assertThat(s.value("gemgate_upstream_attempts_total", "model", FLASH, "outcome", "success")).isEqualTo(5);
        assertThat(s.value("gemgate_upstream_attempts_total", "model", FLASH, "outcome", "rate_minute")).isEqualTo(1);
        assertThat(s.value("gemgate_upstream_attempts_total", "model", FLASH, "outcome", "client_error")).isEqualTo(1);
        assertThat(s.value("gemgate_upstream_attempts_total", "model", FLASH, "outcome", "quota_day")).isZero();
        assertThat(s.value("gemgate_upstream_failovers_total", "reason", "rate_minute")).isEqualTo(1);
        assertThat(s.value("gemgate_upstream_failovers_total", "reason", "server_error")).isZero();
        assertThat(s.find("gemgate_upstream_failovers_total", "reason", "client_error")).isEmpty();

        assertThat(s.value("gemgate_request_duration_seconds_count", "route", "native")).isEqualTo(5);
        assertThat(s.value("gemgate_request_duration_seconds_bucket", "route", "native", "le", "+Inf")).isEqualTo(5);
        assertThat(s.value("gemgate_request_duration_seconds_bucket", "route", "native", "le", "120.0")).isEqualTo(5);
        assertThat(s.value("gemgate_request_duration_seconds_bucket", "route", "native", "le", "0.001"))
                .isLessThanOrEqualTo(5);
        assertThat(s.value("gemgate_request_duration_seconds_sum", "route", "native")).isPositive();
        assertThat(s.value("gemgate_request_duration_seconds_count", "route", "openai_chat")).isEqualTo(1);
        assertThat(s.value("gemgate_request_first_byte_seconds_count", "route", "native")).isEqualTo(5);
        assertThat(s.value("gemgate_request_first_byte_seconds_count", "route", "openai_chat")).isEqualTo(1);

        assertThat(s.value("gemgate_requests_in_flight")).isZero();
        assertThat(s.value("gemgate_connections_open")).isGreaterThanOrEqualTo(1);
        assertThat(s.value("gemgate_sse_events_total")).isEqualTo(3);
        assertThat(s.value("gemgate_client_received_bytes_total")).isEqualTo(5 * BODY.length() + CHAT.length());
        assertThat(s.value("gemgate_client_sent_bytes_total")).isPositive();
        // Tokens from usageMetadata, per model and user token (the shared token here): 3 answers, a stream, a chat.
        assertThat(s.value("gemgate_tokens_total", "model", FLASH, "type", "prompt", "user", "shared")).isPositive();
        assertThat(s.value("gemgate_tokens_total", "model", FLASH, "type", "output", "user", "shared")).isPositive();

        // Per key, read from the pool: key 0 cools down for the model, the others serve.
        String k0 = gw.poolKey(key(0)).masked();
        assertThat(k0).isEqualTo("AIza...0000");
        assertThat(s.value("gemgate_key_state", "key", k0, "model", FLASH, "state", "cooling")).isEqualTo(1);
        assertThat(s.value("gemgate_key_state", "key", k0, "model", FLASH, "state", "active")).isZero();
        assertThat(s.value("gemgate_key_state", "key", k0, "model", "*", "state", "active")).isEqualTo(1);
        assertThat(s.find("gemgate_key_state", "key", k0, "model", FLASH)).hasSize(6);
        assertThat(s.value("gemgate_key_state", "key", "AIza...0001", "model", FLASH, "state", "active"))
                .isEqualTo(1);
        assertThat(s.value("gemgate_key_cooldown_end_seconds", "key", k0, "model", FLASH))
                .isBetween(before / 1000.0 + 29, System.currentTimeMillis() / 1000.0 + 31);
        assertThat(s.value("gemgate_key_cooldown_end_seconds", "key", "AIza...0001", "model", FLASH)).isZero();
        assertThat(s.value("gemgate_key_requests_today", "key", k0, "model", FLASH)).isEqualTo(1);
        assertThat(s.sum("gemgate_key_requests_today", "model", FLASH)).isEqualTo(7);
        assertThat(s.value("gemgate_key_requests_today", "key_id", gw.poolKey(key(0)).id(), "model", FLASH))
                .isEqualTo(1);
        assertThat(s.value("gemgate_key_budget_used_ratio", "key", k0, "model", FLASH))
                .isCloseTo(0.1, Offset.offset(1e-9));
        assertThat(s.find("gemgate_key_budget_used_ratio", "model", "*")).isEmpty();
        assertThat(s.value("gemgate_keys_configured")).isEqualTo(3);
        assertThat(s.value("gemgate_keys_usable", "model", FLASH)).isEqualTo(2);
        assertThat(s.value("gemgate_keys_usable", "model", "*")).isEqualTo(3);
        assertThat(s.value("gemgate_keys_usable_by_tier", "model", FLASH, "tier", "0")).isEqualTo(2);
        assertThat(s.find("gemgate_keys_usable_by_tier", "model", FLASH)).hasSize(1); // every key is of tier 0
        assertThat(s.value("gemgate_pool_capacity", "model", FLASH)).isEqualTo(2);
        assertThat(s.find("gemgate_requests_served_by_tier_total", "tier", "0")).hasSize(1);
        assertThat(s.find("gemgate_requests_served_by_tier_total", "tier", "1")).isEmpty();
        // Only models in use get per-key series: never-used models stay out.
        assertThat(s.find("gemgate_key_state", "model", "(other)")).isEmpty();
        assertThat(s.find("gemgate_key_state", "model", "gemini-2.5-pro")).isEmpty();

        // JVM and Netty allocator meters.
        assertThat(s.find("jvm_memory_used_bytes")).isNotEmpty();
        assertThat(s.find("jvm_gc_max_data_size_bytes")).hasSize(1);
        assertThat(s.find("jvm_threads_live_threads")).hasSize(1);
        assertThat(s.find("jvm_classes_loaded_classes")).hasSize(1);
        assertThat(s.find("process_uptime_seconds")).hasSize(1);
        assertThat(s.find("process_cpu_usage")).hasSize(1);
        assertThat(s.find("netty_allocator_memory_used", "memory_type", "direct")).hasSize(1);
        assertThat(s.find("netty_allocator_memory_used").get(0).labels()).doesNotContainKey("id");
        assertEventLoops(s);

        // Bounded labels, no secrets, no raw paths.
        for (Sample x : s.samples) {
            if (x.name.startsWith("gemgate_")) {
                assertThat(LABELS).as(x.toString()).containsAll(x.labels.keySet());
            }
        }
        for (int i = 0; i < 3; i++) {
            assertThat(s.text).doesNotContain(key(i)).doesNotContain(key(i).substring(4, 30))
                    .contains(gw.poolKey(key(i)).masked());
        }
        assertThat(s.text).doesNotContain(TOKEN).doesNotContain("wrong-token").doesNotContain("/v1beta")
                .doesNotContain("/nope").doesNotContain("generateContent");
        assertThat(s.contentType).startsWith("text/plain; version=0.0.4");

    }

    /**
     * The Grafana dashboard and the Prometheus rules that ship in {@code ops/} query only metrics that a real scrape
     * after traffic holds: renaming a metric breaks this test, not the operators' dashboards and alerts.
     */
    @Test
    void theDashboardAndTheAlertRulesQueryOnlyMetricsTheGatewayPublishes() throws Exception {
        Scrape s = afterTraffic();
        Set<String> published = new java.util.HashSet<>();
        s.samples.forEach(x -> published.add(x.name));
        Pattern metric = Pattern.compile("(?<![\\w:])((?:gemgate|jvm|netty|process)_[a-z0-9_]+)(?![\\w:])");

        String dashboard = Files.readString(Path.of("../ops/grafana/gemgate-dashboard.json"));
        List<String> exprs = new ArrayList<>();
        Matcher e = Pattern.compile("\"(?:expr|definition)\": \"((?:[^\"\\\\]|\\\\.)*)\"").matcher(dashboard);
        while (e.find()) {
            exprs.add(e.group(1));
        }
        assertThat(exprs).as("queries in the dashboard").hasSizeGreaterThan(20);
        String rules = Files.readString(Path.of("../ops/prometheus/gemgate-rules.yml"));
        exprs.add(rules);

        Set<String> queried = new java.util.TreeSet<>();
        for (String expr : exprs) {
            Matcher m = metric.matcher(expr);
            while (m.find()) {
                queried.add(m.group(1));
            }
        }
        assertThat(queried).contains("gemgate_requests_total", "gemgate_tokens_total", "gemgate_keys_usable",
                "gemgate_request_first_byte_seconds_bucket", "gemgate_upstream_failovers_total");
        assertThat(published).as("metrics in a scrape after traffic").containsAll(queried);
    }

    @Test
    void theTextPassesPromtoolCheckMetrics() throws Exception {
        Scrape s = afterTraffic();
        assertThat(s.find("gemgate_key_budget_used_ratio")).isNotEmpty(); // every kind of Gemgate series is there
        promtoolAccepts(s.text);
    }

    @Test
    void keysAddedOrRemovedAtRunTimeAndRestartsFollowInTheNextScrape() {
        metrics = new MicrometerMetrics();
        gw = GatewayHarness.start(1, Map.of(), metrics);
        Scrape first = scrape();
        assertThat(first.value("gemgate_keys_configured")).isEqualTo(1);
        assertThat(first.find("gemgate_key_state", "model", "*", "state", "active")).hasSize(1);
        assertThat(first.find("gemgate_key_budget_used_ratio")).isEmpty();

        KeyPool pool = gw.server().pool();
        pool.addKeys(List.of(KeySpec.of(key(7))));
        pool.setRemoved(gw.poolKey(key(0)).id(), true);
        Scrape second = scrape();
        assertThat(second.value("gemgate_keys_configured")).isEqualTo(1);
        assertThat(second.value("gemgate_keys_usable", "model", "*")).isEqualTo(1);
        assertThat(second.value("gemgate_key_state", "key", "AIza...0007", "model", "*", "state", "active"))
                .isEqualTo(1);
        assertThat(second.value("gemgate_key_state", "key", "AIza...0000", "model", "*", "state", "removed"))
                .isEqualTo(1);
        assertThat(second.text).doesNotContain(key(7));

        // A restart with the same binding: the new pool's gauges replace the old ones, the counters go on. The key
        // added at run time is stored and comes back; the removed one stays removed.
        gw.restart();
        Scrape third = scrape();
        assertThat(third.find("gemgate_key_state", "key", "AIza...0007", "model", "*")).hasSize(6);
        assertThat(third.value("gemgate_key_state", "key", "AIza...0000", "model", "*", "state", "removed"))
                .isEqualTo(1);
        assertEventLoops(third); // the new gateway's loops, under the same names
    }

    /**
     * Netty's event loop meters: one worker count per group, the queued tasks of each loop thread (the harness runs
     * one accept and two I/O threads), named without Netty's pool number, which a restart would change.
     */
    private static void assertEventLoops(Scrape s) {
        assertThat(s.value("netty_eventexecutor_workers", "group", "accept")).isEqualTo(1);
        assertThat(s.value("netty_eventexecutor_workers", "group", "io")).isEqualTo(2);
        assertThat(s.find("netty_eventexecutor_tasks_pending")).extracting(x -> x.labels().get("name"))
                .containsExactlyInAnyOrder("gemgate-accept-1", "gemgate-io-1", "gemgate-io-2");
        assertThat(s.value("netty_eventexecutor_tasks_pending", "group", "io", "name", "gemgate-io-1"))
                .isGreaterThanOrEqualTo(0);
        assertThat(s.text).contains("# HELP netty_eventexecutor_tasks_pending ", "# HELP netty_eventexecutor_workers ");
    }

    @Test
    void metricsAreOffWithoutABinding() {
        gw = GatewayHarness.start(1);
        assertThat(gw.get("/metrics").statusCode()).isEqualTo(404);
    }

    @Test
    void eventsAllocateNothingOnceTheirSeriesExist() {
        metrics = new MicrometerMetrics();
        GatewayEvents events = metrics;
        Runnable oneRequest = () -> {
            events.connection(true);
            events.requestStarted(GatewayEvents.NATIVE);
            events.attempt(FLASH, "rate_minute", true);
            events.attempt(FLASH, "success", false);
            events.bytes(120, 0);
            events.sseEvents(1);
            events.bytes(0, 300);
            events.requestFinished(GatewayEvents.NATIVE, FLASH, 200, 5_000_000, 1_000_000);
            events.requestRejected(GatewayEvents.OPENAI_CHAT, 401);
            events.connection(false);
        };
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().getId();
        for (int i = 0; i < 20_000; i++) {
            oneRequest.run();
        }
        long start = threads.getThreadAllocatedBytes(tid);
        int n = 100_000;
        for (int i = 0; i < n; i++) {
            oneRequest.run();
        }
        long allocated = threads.getThreadAllocatedBytes(tid) - start;
        // A few hundred bytes of noise (the measurement itself) are allowed; per request it must be nothing.
        assertThat(allocated / (double) n).as("bytes per request (%d in all)", allocated).isLessThan(0.1);
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /**
     * Starts a gateway with 3 keys and a live budget of 10 requests a day per key for {@value #FLASH}, sends: 3 native
     * calls (the first meets a 429 on key 0 and fails over), one passed-through 400, one native SSE stream, one OpenAI
     * chat, and two requests rejected before an exchange (401, 404); then scrapes.
     */
    private Scrape afterTraffic() throws InterruptedException {
        metrics = new MicrometerMetrics();
        gw = GatewayHarness.start(3, Map.of(), metrics);
        GatewayContext ctx = gw.server().context();
        ctx.settings(ctx.settings().toBuilder().keyBudgets(Map.of(FLASH, new KeyBudget(KeyBudget.UNLIMITED,
                KeyBudget.UNLIMITED, 10))).build());
        // A 429 on key 0 fails over to key 1; key 0 cools down for the model for 30 s.
        gw.fake().script(key(0), Behavior.rateLimitMinute(Duration.ofSeconds(30)));
        assertThat(post(GENERATE, BODY).statusCode()).isEqualTo(200);
        assertThat(post(GENERATE, BODY).statusCode()).isEqualTo(200);
        assertThat(post(GENERATE, BODY).statusCode()).isEqualTo(200);
        // A client error is passed through, no failover.
        gw.fake().script(key(1), Behavior.badRequest("bad"));
        gw.fake().script(key(2), Behavior.badRequest("bad"));
        assertThat(post(GENERATE, BODY).statusCode()).isEqualTo(400);
        gw.fake().reset();
        HttpResponse<String> sse = post(STREAM, BODY);
        assertThat(sse.statusCode()).isEqualTo(200);
        HttpResponse<String> chat = gw.send(gw.request("/v1/chat/completions")
                .header("Authorization", "Bearer " + TOKEN).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build());
        assertThat(chat.statusCode()).isEqualTo(200);
        // Rejected before an exchange.
        assertThat(gw.send(gw.request(GENERATE).header("x-goog-api-key", "wrong-token")
                .POST(HttpRequest.BodyPublishers.ofString(BODY)).build()).statusCode()).isEqualTo(401);
        assertThat(gw.get("/nope/" + TOKEN).statusCode()).isEqualTo(404);

        return scrapeWhen(x -> x.sum("gemgate_requests_total") == 6 && x.value("gemgate_requests_in_flight") == 0);
    }

    private HttpResponse<String> post(String path, String body) {
        return gw.post(path, body);
    }

    private Scrape scrape() {
        HttpResponse<String> r = gw.send(gw.request("/metrics").GET().build());
        assertThat(r.statusCode()).isEqualTo(200);
        return new Scrape(r.body(), r.headers().firstValue("content-type").orElse(""));
    }

    /** Scrapes until {@code ready} holds: an answer's events are reported just after its last byte is written. */
    private Scrape scrapeWhen(java.util.function.Predicate<Scrape> ready) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        Scrape s = scrape();
        while (!ready.test(s) && System.nanoTime() < deadline) {
            Thread.sleep(20);
            s = scrape();
        }
        return s;
    }

    /**
     * Runs {@code promtool check metrics} on the text when promtool is on the PATH. Without it the check is skipped,
     * except in CI ({@code CI} set), where it fails: CI must install Debian's {@code prometheus} package.
     */
    private static void promtoolAccepts(String text) throws IOException, InterruptedException {
        Path promtool = Programs.onPath("promtool");
        if (promtool == null) {
            if (System.getenv("CI") != null) {
                fail("promtool is not on the PATH; CI must install it (apt-get install -y prometheus)");
            }
            Assumptions.abort("promtool is not on the PATH (apt-get install -y prometheus); check skipped");
        }
        Process p = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectErrorStream(true).start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(text.getBytes(StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("promtool check metrics said:\n%s", out).isZero();
        assertThat(out).as("promtool check metrics said:\n%s", out).doesNotContainIgnoringCase("error");
    }

    /** One sample line of the text format. */
    private record Sample(String name, Map<String, String> labels, double value) {
        boolean has(String... pairs) {
            for (int i = 0; i < pairs.length; i += 2) {
                if (!pairs[i + 1].equals(labels.get(pairs[i]))) {
                    return false;
                }
            }
            return true;
        }
    }

    /** A parsed {@code /metrics} answer (text format 0.0.4). */
    private static final class Scrape {
        final String text;
        final String contentType;
        final List<Sample> samples = new ArrayList<>();

        Scrape(String text, String contentType) {
            this.text = text;
            this.contentType = contentType;
            for (String line : text.split("\n")) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    samples.add(parse(line));
                }
            }
        }

        List<Sample> find(String name, String... labelPairs) {
            return samples.stream().filter(s -> s.name.equals(name) && s.has(labelPairs)).toList();
        }

        /** The value of the one sample that matches. */
        double value(String name, String... labelPairs) {
            List<Sample> found = find(name, labelPairs);
            assertThat(found).as("%s %s", name, List.of(labelPairs)).hasSize(1);
            return found.get(0).value;
        }

        double sum(String name, String... labelPairs) {
            return find(name, labelPairs).stream().mapToDouble(Sample::value).sum();
        }

        private static Sample parse(String line) {
            int brace = line.indexOf('{');
            int space = line.indexOf(' ');
            Map<String, String> labels = new LinkedHashMap<>();
            String name;
            int i;
            if (brace >= 0 && brace < space) {
                name = line.substring(0, brace);
                i = brace + 1;
                while (line.charAt(i) != '}') {
                    int eq = line.indexOf('=', i);
                    String label = line.substring(i, eq);
                    StringBuilder v = new StringBuilder();
                    int j = eq + 2; // past ="
                    for (; line.charAt(j) != '"'; j++) {
                        char c = line.charAt(j);
                        if (c == '\\') {
                            char e = line.charAt(++j);
                            v.append(e == 'n' ? '\n' : e);
                        } else {
                            v.append(c);
                        }
                    }
                    labels.put(label, v.toString());
                    i = j + 1;
                    if (line.charAt(i) == ',') {
                        i++;
                    }
                }
                i++;
            } else {
                name = line.substring(0, space);
                i = space;
            }
            String[] rest = line.substring(i).trim().split(" ");
            return new Sample(name, labels, number(rest[0]));
        }

        private static double number(String s) {
            return switch (s) {
                case "+Inf" -> Double.POSITIVE_INFINITY;
                case "-Inf" -> Double.NEGATIVE_INFINITY;
                default -> Double.parseDouble(s);
            };
        }
    }
}
