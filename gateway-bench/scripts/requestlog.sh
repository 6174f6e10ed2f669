#!/usr/bin/env bash
# What the request log (README, "Request log and usage") costs: two Gemgate processes from the same jar in front of the
# same fake upstream, one with the request log on (the default: SQLite file in its data directory) and one with
# GEMGATE_REQUESTS_ENABLED=false, loaded by wrk in turn (closed loop, POST :generateContent), interleaved for ROUNDS
# rounds, the order alternating each round. Prints requests/s of each per round, the ratio on/off per round and its
# median, and the CPU time each gateway process spent per request (from /proc, all threads, the writer's included).
# Access logs are off in both, so that only the request log differs. Everything it started is stopped on exit.
#
# Needs: java 17, wrk, the two jars (mvn -q -DskipTests package). Settings, as environment variables:
#   DURATION=10 ROUNDS=5 CONNECTIONS=32 WARMUP=20 UPSTREAM_THREADS=1 GEMGATE_THREADS=<one per cpu> KEEP=1
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_JAR=${BENCH_JAR:-$ROOT/gateway-bench/target/benchmarks.jar}
GEMGATE_JAR=${GEMGATE_JAR:-$ROOT/gateway-server/target/gemgate.jar}
JAVA=${JAVA:-java}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-5}
CONNECTIONS=${CONNECTIONS:-32}
WARMUP=${WARMUP:-20}
UPSTREAM_THREADS=${UPSTREAM_THREADS:-1}
GEMGATE_THREADS=${GEMGATE_THREADS:-}
KEEP=${KEEP:-0}
TOKEN=bench-token
PATH_GC=/v1beta/models/gemini-2.5-flash:generateContent
BODY='{"contents":[{"role":"user","parts":[{"text":"Say hello in five words."}]}]}'

die() { echo "requestlog.sh: $*" >&2; exit 2; }
for tool in "$JAVA" wrk awk; do command -v "$tool" >/dev/null || die "$tool not found"; done
[[ -f $BENCH_JAR ]] || die "$BENCH_JAR missing: run mvn -q -DskipTests package"
[[ -f $GEMGATE_JAR ]] || die "$GEMGATE_JAR missing: run mvn -q -DskipTests package"

WORK=$(mktemp -d /tmp/gemgate-requestlog.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ $KEEP == 1 ]]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r -d '' UP_PORT ON_PORT OFF_PORT < <("$JAVA" -cp "$BENCH_JAR" io.gemgate.bench.e2e.FreePorts 3; printf '\0') || true

http_200() {
  local port=$1 line
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nx-goog-api-key: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$PATH_GC" "$TOKEN" "${#BODY}" "$BODY" >&3
  IFS= read -r -t 5 line <&3 || line=
  exec 3<&- 3>&-
  [[ $line == "HTTP/1.1 200"* ]]
}
wait_200() {
  for _ in $(seq 300); do
    if http_200 "$2" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "$1 does not answer 200 on port $2; logs in $WORK (KEEP=1 keeps them)"
}

"$JAVA" -Xms256m -Xmx256m -cp "$BENCH_JAR" io.gemgate.bench.e2e.FastUpstream --port "$UP_PORT" \
  --threads "$UPSTREAM_THREADS" >"$WORK/upstream.log" 2>&1 &
PIDS+=($!)
wait_200 upstream "$UP_PORT"

cat >"$WORK/log4j2.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn" shutdownHook="disable">
  <Appenders>
    <Console name="console" target="SYSTEM_OUT"><PatternLayout pattern="%d{HH:mm:ss.SSS} %-5level %c{1} - %msg%n"/></Console>
  </Appenders>
  <Loggers>
    <Logger name="gemgate.access" level="off" additivity="false"/>
    <AsyncLogger name="io.gemgate" level="info" additivity="false"><AppenderRef ref="console"/></AsyncLogger>
    <AsyncRoot level="warn"><AppenderRef ref="console"/></AsyncRoot>
  </Loggers>
</Configuration>
XML
declare -A PID_OF PORT_OF
start_gemgate() { # name port requests-enabled
  local name=$1 port=$2 on=$3
  mkdir -p "$WORK/$name"
  for i in $(seq -w 0 9); do echo "AIzaSyBenchGood0000000000000000000000$i"; done >"$WORK/$name/keys.txt"
  (cd "$WORK/$name" && exec env GEMGATE_HOST=127.0.0.1 GEMGATE_PORT="$port" \
    GEMGATE_UPSTREAM="http://127.0.0.1:$UP_PORT" GEMGATE_TOKEN="$TOKEN" GEMGATE_KEYS_FILE="$WORK/$name/keys.txt" \
    GEMGATE_DATA_DIR="$WORK/$name/data" GEMGATE_LOG_CONFIG="$WORK/log4j2.xml" GEMGATE_LOG_DIR="$WORK/$name/logs" \
    GEMGATE_REQUESTS_ENABLED="$on" ${GEMGATE_THREADS:+GEMGATE_SERVER_IO_THREADS=$GEMGATE_THREADS} \
    "$JAVA" -jar "$GEMGATE_JAR") >"$WORK/$name/gemgate.log" 2>&1 &
  PIDS+=($!)
  PID_OF[$name]=$!
  PORT_OF[$name]=$port
}
start_gemgate on "$ON_PORT" true
start_gemgate off "$OFF_PORT" false
wait_200 "gemgate (request log on)" "$ON_PORT"
wait_200 "gemgate (request log off)" "$OFF_PORT"

cat >"$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-goog-api-key"] = "$TOKEN"
LUA

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run_wrk() { # name seconds -> "requests/s cpu-ticks requests"
  local name=$1 secs=$2 before after out rps total
  before=$(cpu_ticks "${PID_OF[$name]}")
  out=$(wrk -t2 -c"$CONNECTIONS" -d"${secs}s" -s "$WORK/post.lua" "http://127.0.0.1:${PORT_OF[$name]}$PATH_GC")
  after=$(cpu_ticks "${PID_OF[$name]}")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  total=$(awk '/requests in/ {print $1}' <<<"$out")
  echo "$rps $(( after - before )) $total"
}

echo "warm-up: ${WARMUP}s each"
run_wrk on "$WARMUP" >/dev/null
run_wrk off "$WARMUP" >/dev/null

HZ=$(getconf CLK_TCK)
RATIOS=()
declare -A RPS CPU
printf '%-6s %12s %12s %8s %14s %14s\n' round on_rps off_rps on/off on_cpu_us/req off_cpu_us/req
for r in $(seq "$ROUNDS"); do
  if (( r % 2 )); then order=(on off); else order=(off on); fi
  for name in "${order[@]}"; do
    read -r rps ticks total < <(run_wrk "$name" "$DURATION")
    RPS[$name]=$rps
    CPU[$name]=$(awk -v t="$ticks" -v n="$total" -v hz="$HZ" 'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }')
  done
  ratio=$(awk -v a="${RPS[on]}" -v b="${RPS[off]}" 'BEGIN { printf "%.3f", a / b }')
  RATIOS+=("$ratio")
  printf '%-6s %12s %12s %8s %14s %14s\n' "$r" "${RPS[on]}" "${RPS[off]}" "$ratio" "${CPU[on]}" "${CPU[off]}"
done
sorted=$(printf '%s\n' "${RATIOS[@]}" | sort -n)
median=$(awk '{a[NR]=$1} END { print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2 }' <<<"$sorted")
echo "median ratio request log on/off: $median (min $(head -1 <<<"$sorted"), max $(tail -1 <<<"$sorted"))"
db="$WORK/on/data/requests.db"
if [[ -f $db ]]; then echo "request log file after the run: $(du -h "$db" | cut -f1) plus its WAL"; fi
