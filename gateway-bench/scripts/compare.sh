#!/usr/bin/env bash
# Gemgate side by side with nginx and haproxy, on one machine, in one go. The targets (README, "Benchmarks"):
# throughput at least nginx's and haproxy's, and under 1 ms of added p99 at 5,000 requests/s.
#
# Starts the fake Gemini upstream (io.gemgate.bench.e2e.FastUpstream), then nginx (proxy_pass to an upstream block
# with keepalive), haproxy (http mode, http-reuse always) and Gemgate (gateway-server/target/gemgate.jar) each in front
# of it, every one on 127.0.0.1 on a port free at run time. Then:
#   1. throughput: wrk, closed loop, POST :generateContent, against direct, nginx, haproxy and gemgate, interleaved
#      for ROUNDS rounds (the order rotates each round); requests/s per target, the ratios gemgate/nginx and
#      gemgate/haproxy taken per round, and their medians;
#   2. latency: the Netty LoadGenerator at a fixed RATE (5000 requests/s), coordinated omission corrected, against the
#      four targets interleaved; p50/p99/p99.9 and the p99 each proxy adds over direct in the same round.
# Also measured: the CPU time each target's process spends per request (from /proc, all threads), the figure that
# drifts least on a shared machine, and each Gemgate's by thread group (THREADS: event loops, the access log's and the
# request log's writers, JIT, GC, the rest; /proc/PID/task). Everything it started is stopped on exit (trap).
# Defaults take about 7 minutes.
#
# Needs: java 17, wrk, nginx, haproxy (Debian: apt-get install -y nginx haproxy wrk; nothing is started by installing)
# and the two jars (mvn -q -DskipTests package). Settings, as environment variables:
#   DURATION=10 ROUNDS=5 CONNECTIONS=64               wrk runs: seconds, rounds, connections
#   RESTARTS=1                                        Gemgate's processes are started this many times (new JVMs,
#                                                     warmed again), ROUNDS rounds each, all rounds in the medians:
#                                                     two JVMs of one build differ by a few percent for a whole run
#   WARMUP=5 GEMGATE_WARMUP=30 GEMGATE_WARMUP_RUNS=3  unrecorded warm-up per target, seconds (a JVM needs longer;
#                                                     gemgate's is split in runs, each with new connections)
#   RATE=5000 RATE_ROUNDS=3 RATE_DURATION=8          the fixed-rate runs (RATE=0 skips them)
#   UPSTREAM_THREADS=1 NGINX_WORKERS=auto HAPROXY_THREADS=<cpus> GEMGATE_THREADS=<its default: one per cpu>
#   ACCESS_LOG=off|on|compare                         on: every proxy writes an access log to a file;
#                                                     compare: nginx and Gemgate twice each, with their
#                                                     logging off (nginx; gemgate: access log and request log off)
#                                                     and as shipped (nginx-log: nginx's
#                                                     default access log, combined format, to a file; gemgate-log:
#                                                     config/log4j2.xml as shipped, standard output to a file); no
#                                                     haproxy. Ratios: gemgate-log/nginx-log (target >= 1.00),
#                                                     gemgate/nginx, gemgate-log/gemgate (target >= 0.97)
#                                                     ab: two builds of Gemgate side by side, both as shipped
#                                                     (gemgate-log: GEMGATE_JAR, gemgate-b: AB_JAR), no nginx and
#                                                     no haproxy; ratio gemgate-b/gemgate-log per round, and each
#                                                     one's THREADS line (before and after a change to the hot path:
#                                                     ROUNDS=8 or more, and a second run with the jars
#                                                     swapped; each round runs direct first, then the two
#                                                     gateways in turns, A B then B A)
#   AB_JAR=path                                       the second build (ab; default GEMGATE_JAR)
#   AB_LOG_CONFIG=path                                the second gateway's logging configuration (ab; default
#                                                     LOG_CONFIG's): one build, two configurations
#   LOG_CONFIG=config/log4j2.xml                      gemgate-log's logging configuration (compare, ab)
#   LOG_REQUESTS=true                                 gemgate-log's request log (compare; false: the access log's
#                                                     cost alone)
#   UPSTREAM=fast|nginx                               the fake Gemini: FastUpstream (a JVM) or an nginx answering
#                                                     the same generateContent body (lighter on a small machine)
#   GEMGATE_JAVA_OPTS="..."                           extra JVM options of the gateway (e.g. -XX:StartFlightRecording)
#   KEEP=1                                            keep the work directory (configs, logs, raw outputs)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_JAR=${BENCH_JAR:-$ROOT/gateway-bench/target/benchmarks.jar}
GEMGATE_JAR=${GEMGATE_JAR:-$ROOT/gateway-server/target/gemgate.jar}
JAVA=${JAVA:-java}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-5}
RESTARTS=${RESTARTS:-1}
CONNECTIONS=${CONNECTIONS:-64}
WARMUP=${WARMUP:-5}
GEMGATE_WARMUP=${GEMGATE_WARMUP:-30}
GEMGATE_WARMUP_RUNS=${GEMGATE_WARMUP_RUNS:-3}
RATE=${RATE:-5000}
RATE_ROUNDS=${RATE_ROUNDS:-3}
RATE_DURATION=${RATE_DURATION:-8}
UPSTREAM_THREADS=${UPSTREAM_THREADS:-1}
NGINX_WORKERS=${NGINX_WORKERS:-auto}
HAPROXY_THREADS=${HAPROXY_THREADS:-$(nproc)}
GEMGATE_THREADS=${GEMGATE_THREADS:-}
ACCESS_LOG=${ACCESS_LOG:-off}
LOG_REQUESTS=${LOG_REQUESTS:-true}
UPSTREAM=${UPSTREAM:-fast}
GEMGATE_JAVA_OPTS=${GEMGATE_JAVA_OPTS:-}
KEEP=${KEEP:-0}
TOKEN=bench-token
PATH_GC=/v1beta/models/gemini-2.5-flash:generateContent
export PATH="$PATH:/usr/sbin:/sbin"

die() { echo "compare.sh: $*" >&2; exit 2; }
for tool in "$JAVA" wrk nginx haproxy awk; do
  command -v "$tool" >/dev/null || die "$tool not found (Debian: apt-get install -y nginx haproxy wrk)"
done
[[ -f $BENCH_JAR ]] || die "$BENCH_JAR missing: run mvn -q -DskipTests package"
[[ -f $GEMGATE_JAR ]] || die "$GEMGATE_JAR missing: run mvn -q -DskipTests package"
AB_JAR=${AB_JAR:-$GEMGATE_JAR}
[[ $ACCESS_LOG != ab || -f $AB_JAR ]] || die "AB_JAR=$AB_JAR missing (ACCESS_LOG=ab: the second build's gemgate.jar)"

WORK=$(mktemp -d /tmp/gemgate-compare.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ $KEEP == 1 ]]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ $ACCESS_LOG =~ ^(off|on|compare|ab)$ ]] || die "ACCESS_LOG=$ACCESS_LOG (expected: off, on, compare or ab)"
[[ $UPSTREAM =~ ^(fast|nginx)$ ]] || die "UPSTREAM=$UPSTREAM (expected: fast or nginx)"

# Seven ports free on 127.0.0.1 now: upstream, nginx, haproxy, gemgate, the logging nginx and gemgate (compare), and
# the second build (ab).
read -r -d '' UP_PORT NGINX_PORT HAPROXY_PORT GEMGATE_PORT NGINX_LOG_PORT GEMGATE_LOG_PORT GEMGATE_B_PORT < <("$JAVA" -cp "$BENCH_JAR" io.gemgate.bench.e2e.FreePorts 7; printf '\0') || true

# true when GET/POST on 127.0.0.1:$1 answers 200 (bash's /dev/tcp: no curl needed)
http_200() {
  local port=$1 method=$2 path=$3 body=${4:-} line
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nx-goog-api-key: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$method" "$path" "$TOKEN" "${#body}" "$body" >&3
  IFS= read -r -t 5 line <&3 || line=
  exec 3<&- 3>&-
  [[ $line == "HTTP/1.1 200"* ]]
}
wait_200() { # name port method path [body]
  local name=$1; shift
  for _ in $(seq 300); do
    if http_200 "$@" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "$name does not answer 200 on port $1; logs in $WORK (KEEP=1 keeps them)"
}
BODY='{"contents":[{"role":"user","parts":[{"text":"Say hello in five words."}]}]}'

# ---------------------------------------------------------------------------------------------------- upstream
if [[ $UPSTREAM == nginx ]]; then
  # The body FastUpstream answers (CannedAnswers.generateContentJson), from nginx itself.
  ANSWER='{"candidates":[{"content":{"parts":[{"text":"Hello! This answer comes from the fake upstream of the Gemgate benchmark. It is about as long as a short reply of a chat model, so that every proxy relays a realistic body; its words do not matter. A real answer would now go on to say something useful."}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":41,"totalTokenCount":49,"promptTokensDetails":[{"modality":"TEXT","tokenCount":8}]},"modelVersion":"gemini-2.5-flash","responseId":"bench-gc-QkVOQ0hNQVJLLVJFU1BPTlNF"}'
  mkdir -p "$WORK/upstream/tmp"
  cat >"$WORK/upstream/nginx.conf" <<EOF
daemon off;
worker_processes $UPSTREAM_THREADS;
pid $WORK/upstream/nginx.pid;
error_log $WORK/upstream/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $WORK/upstream/tmp/body;
  proxy_temp_path $WORK/upstream/tmp/proxy;
  fastcgi_temp_path $WORK/upstream/tmp/fastcgi;
  uwsgi_temp_path $WORK/upstream/tmp/uwsgi;
  scgi_temp_path $WORK/upstream/tmp/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$UP_PORT;
    location / {
      default_type application/json;
      return 200 '$ANSWER';
    }
  }
}
EOF
  nginx -p "$WORK/upstream" -c "$WORK/upstream/nginx.conf" -e "$WORK/upstream/error.log" >"$WORK/upstream.log" 2>&1 &
else
  "$JAVA" -Xms256m -Xmx256m -cp "$BENCH_JAR" io.gemgate.bench.e2e.FastUpstream --port "$UP_PORT" \
    --threads "$UPSTREAM_THREADS" >"$WORK/upstream.log" 2>&1 &
fi
PIDS+=($!)
declare -A PID_OF=([direct]=$!)
wait_200 upstream "$UP_PORT" POST "$PATH_GC" "$BODY"

# ---------------------------------------------------------------------------------------------------- nginx
# start_nginx NAME PORT ACCESS_DIRECTIVE: nginx in front of the upstream, its files under $WORK/NAME
start_nginx() {
local name=$1 port=$2 access=$3 dir="$WORK/$1"
mkdir -p "$dir/tmp"
cat >"$dir/nginx.conf" <<EOF
daemon off;
worker_processes $NGINX_WORKERS;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 8192; }
http {
  $access
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 1000000;
  upstream fake {
    server 127.0.0.1:$UP_PORT;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$port;
    location / {
      proxy_pass http://fake;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/stdout.log" 2>&1 &
PIDS+=($!)
PID_OF[$name]=$!
}
if [[ $ACCESS_LOG == on ]]; then
  start_nginx nginx "$NGINX_PORT" "access_log $WORK/nginx/access.log;"
elif [[ $ACCESS_LOG != ab ]]; then
  start_nginx nginx "$NGINX_PORT" "access_log off;"
fi
if [[ $ACCESS_LOG == compare ]]; then
  # nginx's default: "access_log logs/access.log combined;", unbuffered (one write per request).
  start_nginx nginx-log "$NGINX_LOG_PORT" "access_log $WORK/nginx-log/access.log combined;"
fi

# ---------------------------------------------------------------------------------------------------- haproxy
if [[ $ACCESS_LOG == on ]]; then HAPROXY_LOG=$'  log stdout format raw local0\n  option httplog'; else HAPROXY_LOG=""; fi
cat >"$WORK/haproxy.cfg" <<EOF
global
  nbthread $HAPROXY_THREADS
  maxconn 8000
  pidfile $WORK/haproxy.pid
defaults
  mode http
$HAPROXY_LOG
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend fe
  bind 127.0.0.1:$HAPROXY_PORT
  default_backend be
backend be
  server fake 127.0.0.1:$UP_PORT
EOF
if [[ $ACCESS_LOG != compare && $ACCESS_LOG != ab ]]; then
  haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
  PIDS+=($!)
  PID_OF[haproxy]=$!
fi

# ---------------------------------------------------------------------------------------------------- gemgate
mkdir -p "$WORK/gemgate"
for i in $(seq -w 0 9); do echo "AIzaSyBenchGood0000000000000000000000$i"; done >"$WORK/gemgate/keys.txt"
if [[ $ACCESS_LOG == on ]]; then
  ACCESS_LOGGER='<Logger name="gemgate.access" level="info" additivity="false"><AppenderRef ref="file"/></Logger>'
else
  ACCESS_LOGGER='<Logger name="gemgate.access" level="off" additivity="false"/>'
fi
cat >"$WORK/gemgate/log4j2.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn" shutdownHook="disable">
  <Appenders>
    <Console name="console" target="SYSTEM_OUT"><PatternLayout pattern="%d{HH:mm:ss.SSS} %-5level %c{1} - %msg%n"/></Console>
    <RandomAccessFile name="file" fileName="$WORK/gemgate/access.log" immediateFlush="false">
      <PatternLayout pattern="%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%t] %c{1} - %msg%n"/>
    </RandomAccessFile>
  </Appenders>
  <Loggers>
    $ACCESS_LOGGER
    <AsyncLogger name="io.gemgate" level="info" additivity="false"><AppenderRef ref="console"/></AsyncLogger>
    <AsyncRoot level="warn"><AppenderRef ref="console"/></AsyncRoot>
  </Loggers>
</Configuration>
EOF
# start_gemgate NAME PORT LOG_CONFIG [REQUESTS [JAR]]: a gateway with its files under $WORK/NAME, standard output to
# NAME/gemgate.log; its request log (SQLite in NAME/data) only when REQUESTS is true: "gemgate" runs with both of its
# logs off (as nginx and haproxy run with theirs off), "gemgate-log" as shipped (access log and request log on).
declare -A ARG_PORT ARG_CONFIG ARG_REQUESTS ARG_JAR # how each gateway was started, for RESTARTS
start_gemgate() {
  local name=$1 port=$2 logconfig=$3 dir="$WORK/$1" requests=${4:-false} jar=${5:-$GEMGATE_JAR}
  ARG_PORT[$name]=$port; ARG_CONFIG[$name]=$logconfig; ARG_REQUESTS[$name]=$requests; ARG_JAR[$name]=$jar
  mkdir -p "$dir"
  # shellcheck disable=SC2086 # GEMGATE_JAVA_OPTS is a list of options
  (cd "$dir" && exec env GEMGATE_HOST=127.0.0.1 GEMGATE_PORT="$port" GEMGATE_REQUESTS_ENABLED="$requests" \
    GEMGATE_UPSTREAM="http://127.0.0.1:$UP_PORT" GEMGATE_TOKEN="$TOKEN" GEMGATE_KEYS_FILE="$WORK/gemgate/keys.txt" \
    GEMGATE_DATA_DIR="$dir/data" GEMGATE_LOG_CONFIG="$logconfig" \
    GEMGATE_LOG_DIR="$dir/logs" ${GEMGATE_THREADS:+GEMGATE_SERVER_IO_THREADS=$GEMGATE_THREADS} \
    "$JAVA" $GEMGATE_JAVA_OPTS -jar "$jar") >"$dir/gemgate.log" 2>&1 &
  PIDS+=($!)
  PID_OF[$name]=$!
}
if [[ $ACCESS_LOG != ab ]]; then
  start_gemgate gemgate "$GEMGATE_PORT" "$WORK/gemgate/log4j2.xml"
fi
if [[ $ACCESS_LOG == compare || $ACCESS_LOG == ab ]]; then
  # As shipped: the repository's config/log4j2.xml (or LOG_CONFIG's), nothing set but the log directory.
  start_gemgate gemgate-log "$GEMGATE_LOG_PORT" "${LOG_CONFIG:-$ROOT/config/log4j2.xml}" "$LOG_REQUESTS"
fi
if [[ $ACCESS_LOG == ab ]]; then
  start_gemgate gemgate-b "$GEMGATE_B_PORT" "${AB_LOG_CONFIG:-${LOG_CONFIG:-$ROOT/config/log4j2.xml}}" "$LOG_REQUESTS" \
    "$AB_JAR"
fi

declare -A PORT=([direct]=$UP_PORT [nginx]=$NGINX_PORT [haproxy]=$HAPROXY_PORT [gemgate]=$GEMGATE_PORT
  [nginx-log]=$NGINX_LOG_PORT [gemgate-log]=$GEMGATE_LOG_PORT [gemgate-b]=$GEMGATE_B_PORT)
if [[ $ACCESS_LOG == ab ]]; then
  TARGETS=(direct gemgate-log gemgate-b)
  RATIOS="gemgate-b/gemgate-log:0"
elif [[ $ACCESS_LOG == compare ]]; then
  TARGETS=(direct nginx nginx-log gemgate gemgate-log)
  RATIOS="gemgate-log/nginx-log:1.00 gemgate/nginx:1.00 gemgate-log/gemgate:0.97 nginx-log/nginx:0" # a/b:target
else
  TARGETS=(direct nginx haproxy gemgate)
  RATIOS="gemgate/nginx:1.00 gemgate/haproxy:1.00"
fi
for t in "${TARGETS[@]:1}"; do
  wait_200 "$t" "${PORT[$t]}" POST "$PATH_GC" "$BODY"
done
CPUS=$(nproc)
echo "compare.sh: $CPUS CPU(s), $(uname -sr), $("$JAVA" -version 2>&1 | head -1), $(nginx -v 2>&1 | sed 's/.*: //'),"\
  "$(haproxy -v | head -1 | awk '{print "haproxy " $3}'), $(wrk -v 2>&1 | head -1 | awk '{print "wrk " $2}')"
echo "ports: upstream $UP_PORT, nginx $NGINX_PORT, haproxy $HAPROXY_PORT, gemgate $GEMGATE_PORT (127.0.0.1);" \
  "upstream threads $UPSTREAM_THREADS, nginx workers $NGINX_WORKERS, haproxy threads $HAPROXY_THREADS," \
  "gemgate io threads ${GEMGATE_THREADS:-default (one per CPU)}; access logs $ACCESS_LOG; upstream $UPSTREAM"

cat >"$WORK/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-goog-api-key"] = "$TOKEN"
EOF

# CPU time in clock ticks, "user system", of a process and its direct children (nginx's workers)
cpu_ticks() {
  local user=0 sys=0 p u s
  for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
    read -r u s < <(awk '{ print $14, $15 }' "/proc/$p/stat" 2>/dev/null || echo 0 0)
    user=$((user + ${u:-0})); sys=$((sys + ${s:-0}))
  done
  echo "$user $sys"
}
TICKS=$(getconf CLK_TCK)

# CPU time in clock ticks of a JVM's threads by what they do, one line: "loops access_log request_log jit gc other"
# (Gemgate's event loops gemgate-io-*, the access log's and the request log's writers, the JIT's compilers, the GC's
# threads, the rest), from /proc/PID/task/*/stat (the name is the second field, in brackets, and may hold spaces)
thread_ticks() {
  cat /proc/"$1"/task/*/stat 2>/dev/null | awk '{
      open = index($0, "("); cl = 0
      for (i = length($0); i > 0; i--) if (substr($0, i, 1) == ")") { cl = i; break }
      name = substr($0, open + 1, cl - open - 1); split(substr($0, cl + 2), f, " ")
      t = f[12] + f[13]
      if (name ~ /^gemgate-io/) g[1] += t
      else if (name ~ /^gemgate-access/) g[2] += t
      else if (name ~ /^gemgate-request/) g[3] += t
      else if (name ~ /CompilerThre/) g[4] += t
      else if (name ~ /^(GC Thread|G1 )/) g[5] += t
      else g[6] += t }
    END { printf "%d %d %d %d %d %d\n", g[1], g[2], g[3], g[4], g[5], g[6] }'
}

# Runs wrk against a target; prints: rps p50_ms p99_ms errors cpu_us_per_request user_us_per_request (CPU of the
# target's own process: the upstream for direct, the proxy otherwise; all its threads, GC and JIT included)
run_wrk() {
  local target=$1 seconds=$2 out u0 s0 u1 s1 th0="" th1=""
  [[ $target == gemgate* ]] && th0=$(thread_ticks "${PID_OF[$target]}")
  read -r u0 s0 < <(cpu_ticks "${PID_OF[$target]}")
  out=$(wrk -t1 -c"$CONNECTIONS" -d"${seconds}s" --latency -s "$WORK/post.lua" "http://127.0.0.1:${PORT[$target]}$PATH_GC")
  read -r u1 s1 < <(cpu_ticks "${PID_OF[$target]}")
  [[ $target == gemgate* ]] && th1=$(thread_ticks "${PID_OF[$target]}")
  echo "$out" >>"$WORK/wrk-$target.txt"
  if [[ -n $th0 && -n ${RECORD_THREADS:-} ]]; then
    echo "$out" | awk -v t="$target" -v a="$th0" -v b="$th1" -v hz="$TICKS" '/requests in/ { n = $1 }
      END { split(a, x, " "); split(b, y, " "); line = t
            for (i = 1; i <= 6; i++) line = line sprintf(" %.2f", n > 0 ? (y[i] - x[i]) / hz * 1e6 / n : 0)
            print line }' >>"$WORK/threads.txt"
  fi
  echo "$out" | awk -v ticks=$((u1 + s1 - u0 - s0)) -v uticks=$((u1 - u0)) -v hz="$TICKS" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /requests in/ { n = $1 }
    /Requests\/sec:/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { err += $NF }
    /Socket errors:/ { gsub(",", ""); err += $4 + $6 + $8 + $10 }
    END { cpu = n > 0 ? ticks / hz * 1e6 / n : 0; ucpu = n > 0 ? uticks / hz * 1e6 / n : 0
          printf "%.0f %.3f %.3f %d %.1f %.1f\n", rps, p50, p99, err, cpu, ucpu }'
}

warm_gemgate() { # NAME
  local w
  for ((w = 0; w < GEMGATE_WARMUP_RUNS; w++)); do
    run_wrk "$1" $(((GEMGATE_WARMUP + GEMGATE_WARMUP_RUNS - 1) / GEMGATE_WARMUP_RUNS)) >/dev/null
  done
}
# Stops every Gemgate and starts it again with the same settings and data directory (RESTARTS), then warms it.
restart_gemgates() {
  local t pid
  for t in "${TARGETS[@]}"; do
    [[ $t == gemgate* ]] || continue
    pid=${PID_OF[$t]}
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    start_gemgate "$t" "${ARG_PORT[$t]}" "${ARG_CONFIG[$t]}" "${ARG_REQUESTS[$t]}" "${ARG_JAR[$t]}"
  done
  for t in "${TARGETS[@]}"; do
    [[ $t == gemgate* ]] || continue
    wait_200 "$t" "${PORT[$t]}" POST "$PATH_GC" "$BODY"
    warm_gemgate "$t"
  done
}

echo
echo "warm-up, not recorded: ${WARMUP}s per target, gemgate ${GEMGATE_WARMUP}s in $GEMGATE_WARMUP_RUNS runs (its JIT" \
  "compiles the hot path first, and the paths of connections closing and opening that every recorded run goes through)"
for t in "${TARGETS[@]}"; do
  if [[ $t == gemgate* ]]; then
    warm_gemgate "$t"
  else
    run_wrk "$t" "$WARMUP" >/dev/null
  fi
done

echo
echo "throughput: wrk -t1 -c$CONNECTIONS -d${DURATION}s, POST generateContent, $ROUNDS round(s), order rotating"
if ((RESTARTS > 1)); then echo "Gemgate started $RESTARTS times (new JVMs, warmed each time), $ROUNDS rounds each"; fi
: >"$WORK/throughput.txt"
: >"$WORK/threads.txt"
export RECORD_THREADS=1 # the recorded runs' CPU by thread group (not the warm-up's)
for ((g = 0; g < ROUNDS * RESTARTS; g++)); do
  r=$((g % ROUNDS)) # the round within this start of the gateways
  if ((g > 0 && r == 0)); then
    echo "restarting Gemgate (new JVMs), warm-up not recorded"
    restart_gemgates
  fi
  for ((i = 0; i < ${#TARGETS[@]}; i++)); do
    t=${TARGETS[$(((i + r) % ${#TARGETS[@]}))]}
    if [[ $ACCESS_LOG == ab ]]; then # direct first, then the two gateways in turns: A B, B A, A B...
      t=${TARGETS[i == 0 ? 0 : 1 + (i - 1 + r) % 2]}
    fi
    read -r rps p50 p99 err cpu ucpu < <(run_wrk "$t" "$DURATION")
    printf 'round %d  %-8s %8s req/s  p50 %7s ms  p99 %7s ms  errors %s  CPU %5s us/req (user %s)\n' $((g + 1)) \
      "$t" "$rps" "$p50" "$p99" "$err" "$cpu" "$ucpu"
    echo "$((g + 1)) $t $rps $p50 $p99 $err $cpu $ucpu" >>"$WORK/throughput.txt"
  done
done

echo
echo "== throughput (medians over $((ROUNDS * RESTARTS)) round(s); ratios taken within each round) =="
awk -v targets="${TARGETS[*]}" -v ratios="$RATIOS" '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { rps[$1, $2] = $3; RPS[$2] = RPS[$2] " " $3; P50[$2] = P50[$2] " " $4; P99[$2] = P99[$2] " " $5; ERR[$2] += $6
    CPU[$2] = CPU[$2] " " $7; UCPU[$2] = UCPU[$2] " " $8; if ($1 > rounds) rounds = $1 }
  END {
    printf "%-11s %10s %9s %9s %8s %10s %11s %11s\n", "target", "req/s", "p50 ms", "p99 ms", "errors", "vs direct",
      "CPU us/req", "user us/req"
    nt = split(targets, order, " ")
    for (k = 1; k <= nt; k++) {
      t = order[k]; vd = ""
      for (r = 1; r <= rounds; r++) vd = vd " " rps[r, t] / rps[r, "direct"]
      printf "%-11s %10.0f %9.3f %9.3f %8d %10.2f %11.1f %11.1f\n", t, median(RPS[t]), median(P50[t]), median(P99[t]),
        ERR[t], median(vd), median(CPU[t]), median(UCPU[t])
    }
    np = split(ratios, pair, " ")
    for (k = 1; k <= np; k++) {
      split(pair[k], goal, ":"); split(goal[1], nd, "/"); a = nd[1]; o = nd[2]; list = ""; each = ""
      for (r = 1; r <= rounds; r++) { v = rps[r, a] / rps[r, o]; list = list " " v; each = each sprintf(" %.2f", v) }
      printf "RATIO %s/%s %.2f (rounds:%s) target %s\n", a, o, median(list), each, goal[2]
    }
    for (k = 1; k <= np; k++) {
      split(pair[k], goal, ":"); split(goal[1], nd, "/"); a = nd[1]; o = nd[2]
      printf "CPU %s/%s %.2f (CPU time per request, medians: %.1f / %.1f us; user %.1f / %.1f us)\n", a, o,
        median(CPU[a]) / median(CPU[o]), median(CPU[a]), median(CPU[o]), median(UCPU[a]), median(UCPU[o])
    }
  }' "$WORK/throughput.txt" | tee "$WORK/throughput-summary.txt"
# Where each Gemgate's CPU a request went, by thread group (medians over the rounds; JIT and GC show a gateway still
# compiling or collecting during the recorded runs, which the totals above include)
awk '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } for (i = 2; i <= 7; i++) v[$1, i] = v[$1, i] " " $i }
  END { for (k = 1; k <= n; k++) { t = order[k]
      printf "THREADS %s: event loops %.2f, access log %.2f, request log %.2f, JIT %.2f, GC %.2f, other %.2f us/req\n",
        t, median(v[t, 2]), median(v[t, 3]), median(v[t, 4]), median(v[t, 5]), median(v[t, 6]), median(v[t, 7]) } }
' "$WORK/threads.txt" | tee -a "$WORK/throughput-summary.txt"

if [[ $RATE != 0 ]]; then
  echo
  echo "latency: LoadGenerator at a fixed $RATE requests/s, $CONNECTIONS connections, ${RATE_DURATION}s after 2s warm-up," \
    "$RATE_ROUNDS round(s), coordinated omission corrected"
  LG_TARGETS=()
  for t in "${TARGETS[@]}"; do LG_TARGETS+=(--target "$t=http://127.0.0.1:${PORT[$t]}"); done
  "$JAVA" -cp "$BENCH_JAR" io.gemgate.bench.e2e.LoadGenerator --scenario native --token "$TOKEN" "${LG_TARGETS[@]}" \
    --connections "$CONNECTIONS" --rate "$RATE" --duration "${RATE_DURATION}s" --warmup 2s --prewarm 2s \
    --rounds "$RATE_ROUNDS" --baseline direct | tee "$WORK/fixed-rate.txt" | grep -v '^SUMMARY'
fi

echo
echo "== targets =="
awk '/^RATIO/ { if ($NF == 0) printf "throughput %-21s %s\n", $2, $3
    else printf "throughput %-21s %s  (target >= %s): %s\n", $2, $3, $NF, ($3 >= $NF ? "met" : "NOT met") }' \
  "$WORK/throughput-summary.txt"
if [[ $RATE != 0 ]]; then
  awk -v rate="$RATE" '/^SUMMARY/ && $2 != "direct" {
      printf "added p99 at %s/s, %-8s %6.3f ms", rate, $2, $11
      if ($2 ~ /^gemgate/) printf "  (target < 1 ms): %s", ($11 < 1.0 ? "met" : "NOT met")
      printf "\n" }' "$WORK/fixed-rate.txt"
fi
