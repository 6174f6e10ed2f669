#!/usr/bin/env bash
# Redis operations and bytes per request of several gateways sharing one Redis (docs/operations.md, "Sizing").
#
# Starts redis-server, the fake upstream (io.gemgate.bench.e2e.FastUpstream) and GATEWAYS gateways
# (gateway-server/target/gemgate.jar) sharing that Redis, all on 127.0.0.1 on ports free at run time; creates one user
# token with limits through the first gateway's admin API; then, for each scenario, resets Redis's statistics
# (CONFIG RESETSTAT), puts a bounded closed-loop load (wrk, DURATION seconds, CONNECTIONS per gateway) on every gateway
# at once, and reads INFO commandstats and INFO stats: commands, and bytes in and out of Redis, per request.
#   limited  requests with the user token (requestsPerMinute, requestsPerDay, tokensPerDay, maxConcurrency set)
#   shared   requests with the shared placeholder token (no limits: what the rest of the shared state costs)
#   budgets  the same with per-key budgets set (keyBudgets: BUDGET_RPM and BUDGET_TPM for every key on the model),
#            leased across the gateways
#   idle     no load for IDLE seconds: the background rounds and heartbeats, per gateway and second
# Everything it started is stopped on exit (trap).
#
# Needs: java 17, wrk, redis-server, redis-cli, curl, and the jars (mvn -q -DskipTests package). Settings:
#   GATEWAYS=3 KEYS=100 DURATION=15 CONNECTIONS=8 IDLE=10 WARMUP=5 KEEP=0
#   RPM=10000000 RPD=1000000000 TPD=100000000000 CONCURRENCY=1000   the user token's limits
#   BUDGET_RPM=100000 BUDGET_TPM=1000000000   the keys' budgets of the budgets scenario (high: nothing refused)
#   SCENARIOS="limited shared budgets"
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_JAR=${BENCH_JAR:-$ROOT/gateway-bench/target/benchmarks.jar}
GEMGATE_JAR=${GEMGATE_JAR:-$ROOT/gateway-server/target/gemgate.jar}
JAVA=${JAVA:-java}
GATEWAYS=${GATEWAYS:-3}
KEYS=${KEYS:-100}
DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-8}
IDLE=${IDLE:-10}
WARMUP=${WARMUP:-5}
RPM=${RPM:-10000000}
RPD=${RPD:-1000000000}
TPD=${TPD:-100000000000}
CONCURRENCY=${CONCURRENCY:-1000}
KEEP=${KEEP:-0}
BUDGET_RPM=${BUDGET_RPM:-100000}
BUDGET_TPM=${BUDGET_TPM:-1000000000}
SCENARIOS=${SCENARIOS:-limited shared budgets}
TOKEN=bench-token
ADMIN=bench-admin-token-0123456789
PATH_GC=/v1beta/models/gemini-2.5-flash:generateContent
BODY='{"contents":[{"role":"user","parts":[{"text":"Say hello in five words."}]}]}'
export PATH="$PATH:/usr/sbin:/sbin"

die() { echo "redis-ops.sh: $*" >&2; exit 2; }
for tool in "$JAVA" wrk redis-server redis-cli curl awk; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
[[ -f $BENCH_JAR ]] || die "$BENCH_JAR missing: run mvn -q -DskipTests package"
[[ -f $GEMGATE_JAR ]] || die "$GEMGATE_JAR missing: run mvn -q -DskipTests package"

WORK=$(mktemp -d /tmp/gemgate-redis-ops.XXXXXX)
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

mapfile -t PORTS < <("$JAVA" -cp "$BENCH_JAR" io.gemgate.bench.e2e.FreePorts $((GATEWAYS + 2)) | tr ' ' '\n' | grep .)
UP_PORT=${PORTS[0]}
REDIS_PORT=${PORTS[1]}

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
  >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
rc() { redis-cli -p "$REDIS_PORT" "$@"; }
for _ in $(seq 100); do rc ping >/dev/null 2>&1 && break; sleep 0.1; done

"$JAVA" -Xms256m -Xmx256m -cp "$BENCH_JAR" io.gemgate.bench.e2e.FastUpstream --port "$UP_PORT" --threads 1 \
  >"$WORK/upstream.log" 2>&1 &
PIDS+=($!)

for i in $(seq 1 "$KEYS"); do printf 'AIzaSyBenchGood%025d\n' "$i"; done >"$WORK/keys.txt"
for g in $(seq 1 "$GATEWAYS"); do
  port=${PORTS[$((g + 1))]}
  mkdir -p "$WORK/g$g"
  (cd "$WORK/g$g" && exec env GEMGATE_HOST=127.0.0.1 GEMGATE_PORT="$port" \
    GEMGATE_UPSTREAM="http://127.0.0.1:$UP_PORT" GEMGATE_TOKEN="$TOKEN" GEMGATE_ADMIN_TOKEN="$ADMIN" \
    GEMGATE_KEYS_FILE="$WORK/keys.txt" GEMGATE_DATA_DIR="$WORK/g$g/data" GEMGATE_LOG_DIR="$WORK/g$g/logs" \
    GEMGATE_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" GEMGATE_SERVER_IO_THREADS=1 \
    "$JAVA" -Xms256m -Xmx256m -jar "$GEMGATE_JAR") >"$WORK/g$g/gemgate.log" 2>&1 &
  PIDS+=($!)
done

call() { # port token -> status
  curl -s -o /dev/null -w '%{http_code}' -H "x-goog-api-key: $2" -H 'content-type: application/json' \
    -d "$BODY" "http://127.0.0.1:$1$PATH_GC"
}
for g in $(seq 1 "$GATEWAYS"); do
  port=${PORTS[$((g + 1))]}
  for _ in $(seq 300); do [[ $(call "$port" "$TOKEN" 2>/dev/null) == 200 ]] && break; sleep 0.1; done
  [[ $(call "$port" "$TOKEN") == 200 ]] || die "gateway $g does not answer; logs in $WORK (KEEP=1 keeps them)"
done
USER_TOKEN=$(curl -s -H "Authorization: Bearer $ADMIN" -H 'content-type: application/json' \
  -d "{\"name\":\"bench\",\"requestsPerMinute\":$RPM,\"requestsPerDay\":$RPD,\"tokensPerDay\":$TPD,\"maxConcurrency\":$CONCURRENCY}" \
  "http://127.0.0.1:${PORTS[2]}/admin/api/tokens" | sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p')
[[ -n $USER_TOKEN ]] || die "could not create a user token"
for g in $(seq 1 "$GATEWAYS"); do
  port=${PORTS[$((g + 1))]}
  for _ in $(seq 300); do [[ $(call "$port" "$USER_TOKEN") == 200 ]] && break; sleep 0.1; done
done

load() { # token seconds -> "requests non2xx" over all gateways
  local token=$1 secs=$2 total=0 bad=0 g
  cat >"$WORK/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-goog-api-key"] = "$token"
EOF
  for g in $(seq 1 "$GATEWAYS"); do
    wrk -t1 -c"$CONNECTIONS" -d"${secs}s" -s "$WORK/post.lua" "http://127.0.0.1:${PORTS[$((g + 1))]}$PATH_GC" \
      >"$WORK/wrk.$g" 2>&1 &
  done
  wait $(jobs -p | tail -n "$GATEWAYS")
  for g in $(seq 1 "$GATEWAYS"); do
    total=$((total + $(awk '/requests in/ {print $1}' "$WORK/wrk.$g")))
    bad=$((bad + $(awk '/Non-2xx/ {n = $NF} END {print n + 0}' "$WORK/wrk.$g")))
  done
  echo "$total $bad"
}

stats() { # -> "commands bytes_in bytes_out" since the last reset, the INFO and CONFIG calls of this script left out
  local cmds in out
  cmds=$(rc info commandstats | tr -d '\r' | awk -F'[:=,]' '/^cmdstat_/ && $1 !~ /cmdstat_(info|config)$/ {s += $3} END {print s + 0}')
  in=$(rc info stats | tr -d '\r' | awk -F: '/^total_net_input_bytes/ {print $2}')
  out=$(rc info stats | tr -d '\r' | awk -F: '/^total_net_output_bytes/ {print $2}')
  echo "$cmds $in $out"
}
bycommand() {
  rc info commandstats | tr -d '\r' | awk -F'[:=,]' '/^cmdstat_/ && $1 !~ /cmdstat_(info|config)$/ {sub("cmdstat_", "", $1); printf "%s=%s ", $1, $3}'
  echo
}

echo "gateways $GATEWAYS, keys $KEYS, $DURATION s per scenario, $CONNECTIONS connections per gateway (wrk, closed loop)"
load "$TOKEN" "$WARMUP" >/dev/null
load "$USER_TOKEN" "$WARMUP" >/dev/null
# MONITOR shows every command; those run by a script are marked "lua": the others are round trips from gateways.
monitor_start() { redis-cli -p "$REDIS_PORT" monitor >"$WORK/monitor" 2>&1 & MONITOR=$!; PIDS+=("$MONITOR"); sleep 0.2; }
monitor_stop() { kill "$MONITOR" 2>/dev/null || true; wait "$MONITOR" 2>/dev/null || true; }
trips() { grep -av ' lua\]' "$WORK/monitor" | grep -ciE '"(eval|evalsha|get|set|setnx|hget|hgetall|hset|hdel|hexists|publish|ping|subscribe|pexpire|pexpireat|hincrby)"' || true; }

settings() { # json -> PATCH the live settings through the first gateway (they reach the others through Redis)
  curl -s -o /dev/null -w '%{http_code}' -X PATCH -H "Authorization: Bearer $ADMIN" \
    -H 'content-type: application/json' -d "$1" "http://127.0.0.1:${PORTS[2]}/admin/api/settings"
}
for scenario in $SCENARIOS; do
  token=$TOKEN
  [[ $scenario == limited ]] && token=$USER_TOKEN
  if [[ $scenario == budgets ]]; then
    [[ $(settings "{\"keyBudgets\":{\"gemini-2.5-flash\":{\"rpm\":$BUDGET_RPM,\"tpm\":$BUDGET_TPM}}}") == 200 ]] \
      || die "could not set keyBudgets"
    sleep 2 # the settings reach every gateway (pub/sub), then one warm-up for the first grants
    load "$token" "$WARMUP" >/dev/null
  fi
  rc config resetstat >/dev/null
  monitor_start
  read -r n bad < <(load "$token" "$DURATION")
  monitor_stop
  read -r cmds in out < <(stats)
  t=$(trips)
  lease=$(grep -av ' lua\]' "$WORK/monitor" | grep -ciE '"evalsha"' || true)
  awk -v s="$scenario" -v n="$n" -v b="$bad" -v c="$cmds" -v t="$t" -v l="$lease" -v i="$in" -v o="$out" -v d="$DURATION" 'BEGIN {
    printf "%-8s requests %d (%.0f/s, %d not 2xx)\n", s, n, n / d, b
    printf "         round trips per request %.4f (of which lease calls %.4f); commands run by Redis per request %.4f\n",
      t / n, l / n, c / n
    printf "         bytes into Redis per request %.1f (out: %.1f, MONITOR output included)\n", i / n, o / n }'
  echo "         commands run, by name: $(bycommand)"
  [[ $scenario == budgets ]] && settings '{"keyBudgets":{}}' >/dev/null
done
sleep 3 # the last counts of the load go out first
rc config resetstat >/dev/null
monitor_start
sleep "$IDLE"
monitor_stop
read -r cmds in out < <(stats)
t=$(trips)
awk -v c="$cmds" -v t="$t" -v d="$IDLE" -v g="$GATEWAYS" 'BEGIN {
  printf "idle     round trips per gateway and second %.2f; commands run by Redis per gateway and second %.2f\n",
    t / d / g, c / d / g }'
echo "         commands run, by name: $(bycommand)"
