package io.gemgate.server.metrics;

/**
 * Every meter Gemgate publishes, and its tag keys, in one place. Names are Micrometer's dotted form with the prefix
 * {@value #PREFIX}; the Prometheus registry writes them with underscores, adds the base unit ({@code _seconds},
 * {@code _bytes}, {@code _ratio}) and {@code _total} to counters. Timers are Prometheus histograms in seconds
 * ({@code _bucket}, {@code _count}, {@code _sum}) plus a {@code _max} gauge.
 *
 * <p>Tags are bounded (so that the series count stays bounded whatever clients send): {@value #ROUTE} takes the values
 * of {@code GatewayEvents.ROUTES}, never a path; {@value #STATUS} is an HTTP status code ({@code other} outside 100 to
 * 599); {@value #MODEL} is a model name as the key pool interned it (at most 257: the pool folds further names into
 * {@code (other)}, and {@link MicrometerMetrics} caps it again at {@value MicrometerMetrics#MAX_MODEL_TAGS}); {@value
 * #OUTCOME} and {@value #REASON} are verdict labels ({@code VerdictKind.label()}); {@value #KEY} and {@value #KEY_ID}
 * are the masked key and its fingerprint, never the key. Client tokens and raw paths never appear.
 *
 * <p>Cardinality. Counters grow with what was seen since the start and are never dropped: requests, routes × models
 * × statuses; attempts, models × 9 outcomes. Timers: 4 API routes × 2 timers × 20 series. Gauges read from the pool
 * follow the models in use, M (those some key sent a request for today or rests for, cooling or exhausted) plus
 * {@code *}: per key K × (M + 1) × 9 series (six states, requests today, cooldown end, budget when set), per model
 * 2 × (M + 1). A model drops out of the gauges once a quota day passes without its use. 20 keys and 5 models give
 * about 1,100 per-key series.
 *
 * <p>Besides these, the registry carries Micrometer's standard JVM meters ({@code jvm_memory_*}, {@code jvm_gc_*},
 * {@code jvm_threads_*}, {@code jvm_classes_*}, {@code process_*}, {@code system_cpu_*}), Netty's allocator meters
 * ({@code netty_allocator_*}) and event loop meters ({@code netty_eventexecutor_workers} per group,
 * {@code netty_eventexecutor_tasks_pending} per loop, tagged {@code group} = {@code accept} or {@code io} and
 * {@code name} = the loop's thread, e.g. {@code gemgate-io-2}: one series per I/O thread) under their usual names, so
 * that stock dashboards work.
 */
public final class GatewayMeters {
    /** The prefix of every Gemgate meter. */
    public static final String PREFIX = "gemgate.";

    // ------------------------------------------------------------------------------------------------ tag keys

    /** Route label: {@code native}, {@code openai_chat}, {@code openai_models}, {@code openai_embeddings}, ... */
    public static final String ROUTE = "route";
    /** Model name without {@code models/}; {@code *} for calls that name none (model lists, files). */
    public static final String MODEL = "model";
    /** HTTP status code sent to the client ({@code 499}: the client went away first). */
    public static final String STATUS = "status";
    /** Verdict of one upstream attempt. */
    public static final String OUTCOME = "outcome";
    /** Verdict that moved a request on to another key. */
    public static final String REASON = "reason";
    /** Tag: a key tier, {@code 0} to {@code 9} ({@code KeySpec.MAX_TIER}). */
    public static final String TIER = "tier";
    /** Masked key: at most its first 4 and last 4 characters ({@code AIza...wxyz}). */
    public static final String KEY = "key";
    /** Key fingerprint: 16 hex characters of the SHA-256 of the key; unique where masked keys may collide. */
    public static final String KEY_ID = "key_id";
    /** Token kind: {@code prompt} or {@code output}. */
    public static final String TYPE = "type";
    /**
     * User token: its name as the admin gave it ({@code shared} for the placeholder token). Bounded by the number of
     * user tokens the admin created; {@link MicrometerMetrics} folds names past its cap into {@code (other)}.
     */
    public static final String USER = "user";
    /**
     * Key state: {@code active}, {@code cooling}, {@code exhausted}, {@code invalid}, {@code disabled},
     * {@code removed}.
     */
    public static final String STATE = "state";

    // ------------------------------------------------------------------------------------------------ requests

    /**
     * Counter {@code gemgate_requests_total}, tags {@value #ROUTE}, {@value #MODEL}, {@value #STATUS}: requests handed
     * to an exchange (a proxied or translated call), counted when they end.
     */
    public static final String REQUESTS = "gemgate.requests";

    /**
     * Counter {@code gemgate_requests_rejected_total}, tags {@value #ROUTE}, {@value #STATUS}: requests the gateway
     * answered itself, before reaching an exchange (bad framing, 401, 404, 413, a user token over its limits, an
     * OpenAI request that does not translate ...), and admin API calls ({@code route="admin"}). {@code /health},
     * {@code /ready} and {@code /metrics} are not counted.
     */
    public static final String REQUESTS_REJECTED = "gemgate.requests.rejected";

    /** Gauge {@code gemgate_requests_in_flight}, no tags: requests handed to an exchange and not yet ended. */
    public static final String REQUESTS_IN_FLIGHT = "gemgate.requests.in.flight";

    /**
     * Timer {@code gemgate_request_duration_seconds} (histogram, buckets 1 ms to 120 s), tag {@value #ROUTE}: from
     * the complete request to the end of the answer, every attempt included.
     */
    public static final String REQUEST_DURATION = "gemgate.request.duration";

    /**
     * Timer {@code gemgate_request_first_byte_seconds} (histogram, buckets 1 ms to 120 s), tag {@value #ROUTE}: from
     * the complete request to the first byte of the answer written to the client (the first SSE event when
     * streaming). Requests that ended with nothing written are not recorded.
     */
    public static final String REQUEST_FIRST_BYTE = "gemgate.request.first.byte";

    // ------------------------------------------------------------------------------------------------ upstream

    /**
     * Counter {@code gemgate_upstream_attempts_total}, tags {@value #MODEL}, {@value #OUTCOME} ({@code success},
     * {@code client_error}, {@code quota_day}, {@code rate_minute}, {@code invalid_key}, {@code server_error},
     * {@code connect_failure}, {@code timeout}, {@code empty_answer}): upstream calls by verdict. Every outcome is
     * published at 0 as soon as a model is seen.
     */
    public static final String UPSTREAM_ATTEMPTS = "gemgate.upstream.attempts";

    /**
     * Counter {@code gemgate_upstream_failovers_total}, tag {@value #REASON} (the retried verdicts: {@code quota_day},
     * {@code rate_minute}, {@code invalid_key}, {@code server_error}, {@code connect_failure}, {@code timeout},
     * {@code empty_answer}): attempts after which the request went on to another key.
     */
    public static final String UPSTREAM_FAILOVERS = "gemgate.upstream.failovers";

    /**
     * Counter {@code gemgate_requests_served_by_tier_total}, tag {@value #TIER}: requests answered (status below 400)
     * by a key of that tier; free keys at tier 0, paid ones behind them at 1, say.
     */
    public static final String REQUESTS_SERVED_BY_TIER = "gemgate.requests.served.by.tier";

    // ---------------------------------------------------------------------------------------------- connections

    /** Gauge {@code gemgate_connections_open}, no tags: open client connections. */
    public static final String CONNECTIONS_OPEN = "gemgate.connections.open";

    /** Counter {@code gemgate_sse_events_total}, no tags: SSE events relayed or produced for clients. */
    public static final String SSE_EVENTS = "gemgate.sse.events";

    /**
     * Counter {@code gemgate_tokens_total}, tags {@value #MODEL}, {@value #TYPE} ({@code prompt} or {@code output}),
     * {@value #USER}: tokens the answers reported in their usageMetadata, counted when the answer ends.
     */
    public static final String TOKENS = "gemgate.tokens";

    /** Counter {@code gemgate_client_received_bytes_total}, no tags: request body bytes received from clients. */
    public static final String CLIENT_RECEIVED = "gemgate.client.received";

    /** Counter {@code gemgate_client_sent_bytes_total}, no tags: answer body bytes sent to clients. */
    public static final String CLIENT_SENT = "gemgate.client.sent";

    // ---------------------------------------------------------------------------------------------- key pool

    /** Gauge {@code gemgate_keys_configured}, no tags: keys in the pool, soft-removed ones excluded. */
    public static final String KEYS_CONFIGURED = "gemgate.keys.configured";

    /**
     * Counter {@code gemgate_keys_setaside_braked_total}: invalid-key set-asides the brake refused (a share of the
     * pool was set aside for one reason within the window; see {@code SetAsideBrake}): the keys kept serving.
     */
    public static final String KEYS_SET_ASIDE_BRAKED = "gemgate.keys.setaside.braked";

    /**
     * Gauge {@code gemgate_keys_setaside_brake_engaged}: 1 while the set-aside brake holds for some reason (an admin
     * should look: a wrong upstream, a Google outage or a bug), else 0.
     */
    public static final String KEYS_SET_ASIDE_BRAKE_ENGAGED = "gemgate.keys.setaside.brake.engaged";

    /** Prefix of the key affinity meters (README, "Metrics"). */
    public static final String AFFINITY_PREFIX = "gemgate.affinity.";

    /** Counter {@code gemgate_affinity_hits_total}: requests sent to the key that holds what they reference. */
    public static final String AFFINITY_HITS = "gemgate.affinity.hits";

    /** Counter {@code gemgate_affinity_recorded_total}: resources created through the gateway and recorded. */
    public static final String AFFINITY_RECORDED = "gemgate.affinity.recorded";

    /** Counter {@code gemgate_affinity_lookups_total}: owner lookups of resources without a record. */
    public static final String AFFINITY_LOOKUPS = "gemgate.affinity.lookups";

    /** Counter {@code gemgate_affinity_lookup_calls_total}: metadata calls ({@code GET files/x}) of owner lookups. */
    public static final String AFFINITY_LOOKUP_CALLS = "gemgate.affinity.lookup.calls";

    /**
     * Counter {@code gemgate_affinity_failures_total}, tag {@value #REASON}: {@code conflict}, {@code owner_cooling},
     * {@code owner_exhausted}, {@code owner_unavailable}, {@code not_found}, {@code lookup_failed}, {@code full}.
     */
    public static final String AFFINITY_FAILURES = "gemgate.affinity.failures";

    /** Gauge {@code gemgate_affinity_entries}: entries in the affinity map. */
    public static final String AFFINITY_ENTRIES = "gemgate.affinity.entries";

    /** Prefix of the request log's meters (README, "Metrics"). */
    public static final String REQUEST_LOG_PREFIX = "gemgate.request.log.";

    /** Counter {@code gemgate_request_log_written_total}: request records written to the database. */
    public static final String REQUEST_LOG_WRITTEN = "gemgate.request.log.written";

    /**
     * Counter {@code gemgate_request_log_dropped_total}, tag {@value #REASON}: records not written, {@code sampled}
     * (a success left out while the queue was past half full) or {@code full} (the queue was full).
     */
    public static final String REQUEST_LOG_DROPPED = "gemgate.request.log.dropped";

    /** Counter {@code gemgate_request_log_write_errors_total}: failed database writes and connections (retried). */
    public static final String REQUEST_LOG_WRITE_ERRORS = "gemgate.request.log.write.errors";

    /** Gauge {@code gemgate_request_log_queued}: records waiting for the writer. */
    public static final String REQUEST_LOG_QUEUED = "gemgate.request.log.queued";

    /** Gauge {@code gemgate_keys_usable}, tag {@value #MODEL}: keys that could serve the model now. */
    public static final String KEYS_USABLE = "gemgate.keys.usable";

    /**
     * Gauge {@code gemgate_keys_usable_by_tier}, tags {@value #MODEL}, {@value #TIER}: keys of that tier that could
     * serve the model now (the capacity left before requests go on to the next tier). One series per tier that has
     * keys.
     */
    public static final String KEYS_USABLE_BY_TIER = "gemgate.keys.usable.by.tier";

    /**
     * Gauge {@code gemgate_pool_capacity}, tag {@value #MODEL}: how many single-key quotas the usable keys add up to,
     * i.e. usable keys counted once per project (keys of one project share its quota; a key without a project counts
     * alone). 1 means the pool is worth one key right now.
     */
    public static final String POOL_CAPACITY = "gemgate.pool.capacity";

    /**
     * Gauge {@code gemgate_key_state}, tags {@value #KEY}, {@value #KEY_ID}, {@value #MODEL}, {@value #STATE}: 1 for
     * the key's current state for the model, 0 for the five others (the Prometheus form of an enum). Invalid,
     * disabled and removed hold for every model; cooling and exhausted are per model. {@code model="*"} is the
     * state for calls that name no model.
     */
    public static final String KEY_STATE = "gemgate.key.state";

    /** Gauge {@code gemgate_key_requests_today}, tags {@value #KEY}, {@value #KEY_ID}, {@value #MODEL}: requests sent
     * with the key for the model since the quota day began (Pacific midnight unless configured otherwise). */
    public static final String KEY_REQUESTS_TODAY = "gemgate.key.requests.today";

    /**
     * Gauge {@code gemgate_key_cooldown_end_seconds}, tags {@value #KEY}, {@value #KEY_ID}, {@value #MODEL}: epoch
     * seconds when the key becomes usable again for the model (end of a cooldown, or the daily reset when
     * exhausted); 0 when it is not resting or rests open-ended (invalid, disabled).
     */
    public static final String KEY_COOLDOWN_END = "gemgate.key.cooldown.end";

    /**
     * Gauge {@code gemgate_key_budget_used_ratio}, tags {@value #KEY}, {@value #KEY_ID}, {@value #MODEL}: today's
     * requests divided by the key's requests-per-day budget for the model (the live setting {@code keyBudgets}; at 1
     * the pool passes the key over until the quota day ends). Published only for models with such a budget.
     */
    public static final String KEY_BUDGET_USED = "gemgate.key.budget.used";

    // ------------------------------------------------------------------------------------------------- exits

    /** Exit (egress proxy): its {@code host:port}, never its credentials nor its scheme. */
    public static final String EXIT = "exit";

    /** Counter {@code gemgate_exit_requests_total}, tag {@value #EXIT}: upstream attempts sent through the exit. */
    public static final String EXIT_REQUESTS = "gemgate.exit.requests";

    /**
     * Counter {@code gemgate_exit_failures_total}, tags {@value #EXIT}, {@value #REASON} ({@code refused},
     * {@code timeout}, {@code tunnel_closed}, {@code location}, {@code rate_limit}): the exit's own failures, none of
     * which is counted against a key.
     */
    public static final String EXIT_FAILURES = "gemgate.exit.failures";

    /**
     * Gauge {@code gemgate_exit_state}, tags {@value #EXIT}, {@value #STATE} ({@code healthy}, {@code cooling},
     * {@code failing}): 1 for the exit's state now, 0 for the others.
     */
    public static final String EXIT_STATE = "gemgate.exit.state";

    /** Gauge {@code gemgate_exit_keys}, tag {@value #EXIT}: keys pinned to the exit (whatever their state). */
    public static final String EXIT_KEYS = "gemgate.exit.keys";

    /**
     * Counter {@code gemgate_access_log_dropped_total}: access lines dropped because the log's queue was full (the
     * disk or console slower than the requests); no tags.
     */
    public static final String ACCESS_LOG_DROPPED = "gemgate.access.log.dropped";

    /** Counter {@code gemgate_log_dropped_total}: other log events dropped for the same reason; no tags. */
    public static final String LOG_DROPPED = "gemgate.log.dropped";

    private GatewayMeters() {
    }
}
