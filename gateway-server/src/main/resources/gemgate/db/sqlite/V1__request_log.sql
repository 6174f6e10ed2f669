-- The request log and usage history (issue 17), SQLite. Times are epoch milliseconds.
create table gemgate_gateways (
    id integer primary key autoincrement,
    started bigint not null
);

create table gemgate_requests (
    id bigint primary key,
    ts bigint not null,
    method text not null,
    path text not null,
    route text not null,
    protocol text not null,
    model text not null,
    token_id text not null,
    token_name text not null,
    client text not null,
    stream integer not null,
    status integer not null,
    bytes_out bigint not null,
    latency_ms bigint not null,
    ttfb_ms bigint not null,
    prompt_tokens bigint not null,
    output_tokens bigint not null,
    reasoning_tokens bigint not null,
    attempts integer not null,
    key_id text not null,
    key_masked text not null,
    verdict text not null,
    error_reason text,
    error_message text,
    error_body text
);
create index gemgate_requests_ts on gemgate_requests (ts);
create index gemgate_requests_status on gemgate_requests (status, id);
create index gemgate_requests_model on gemgate_requests (model, id);
create index gemgate_requests_token on gemgate_requests (token_id, id);
create index gemgate_requests_key on gemgate_requests (key_id, id);

create table gemgate_attempts (
    request_id bigint not null,
    n integer not null,
    key_id text not null,
    key_masked text not null,
    tier integer not null,
    key_group text not null,
    upstream_status integer not null,
    verdict text not null,
    reason text,
    message text,
    latency_ms bigint not null,
    primary key (request_id, n)
);
create index gemgate_attempts_key on gemgate_attempts (key_id, request_id);

create table gemgate_usage (
    period text not null,
    bucket bigint not null,
    dim text not null,
    value text not null,
    requests bigint not null,
    failures bigint not null,
    prompt_tokens bigint not null,
    output_tokens bigint not null,
    reasoning_tokens bigint not null,
    primary key (period, dim, bucket, value)
);
