#!/usr/bin/env bash
# What one Redis serves of the gateways' own commands (docs/operations.md, "What one Redis serves"): redis-benchmark
# against a redis-server started here on a free loopback port, running the scripts of RedisLayout.java as the gateways
# send them (EVALSHA with their arguments) and the plain reads of a sync round. Each line: the command, calls per
# second, p50 latency. Everything it started is stopped on exit.
#
# Needs: redis-server, redis-cli, redis-benchmark, python3 (to read the scripts out of RedisLayout.java). Settings:
#   REQUESTS=200000 CLIENTS=50 TOKENS=10000 COUNTER_FIELDS=40 KEYS_IN_DAY_HASH=600
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LAYOUT=$ROOT/gateway-server/src/main/java/io/gemgate/server/shared/RedisLayout.java
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
TOKENS=${TOKENS:-10000}
COUNTER_FIELDS=${COUNTER_FIELDS:-40}
KEYS_IN_DAY_HASH=${KEYS_IN_DAY_HASH:-600}
for tool in redis-server redis-cli redis-benchmark python3; do
  command -v "$tool" >/dev/null || { echo "redis-capacity.sh: $tool not found" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/gemgate-redis-capacity.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
PID=$!
trap 'kill -KILL $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
rc() { redis-cli -p "$PORT" "$@"; }
for _ in $(seq 100); do rc ping >/dev/null 2>&1 && break; sleep 0.1; done

# A Java text block's content: the lines between the opening and closing """ less their common indentation.
script() {
  python3 - "$LAYOUT" "$1" <<'EOF'
import sys, textwrap
src = open(sys.argv[1]).read()
start = src.index('static final String ' + sys.argv[2] + ' = """') + len('static final String ' + sys.argv[2] + ' = """\n')
print(textwrap.dedent(src[start:src.index('"""', start)]), end='')
EOF
}
LEASE=$(rc script load "$(script LEASE_TOKEN)")
BEAT=$(rc script load "$(script HEARTBEAT)")
COUNT=$(rc script load "$(script ADD_COUNTERS)")
rc set gemgate:epoch e1 >/dev/null
NOW=$(date +%s%3N)
SEC=$((NOW / 1000))
DAY=$(( NOW / 86400000 * 86400000 ))
NEXT=$((DAY + 86400000))
for i in $(seq 1 "$KEYS_IN_DAY_HASH"); do echo "HSET gemgate:counters:$DAY k$i|requests|gemini-2.5-flash $i"; done \
  | rc >/dev/null

bench() { # label, keyspace of __rand_int__, then the command
  local label=$1 range=$2; shift 2
  redis-benchmark -p "$PORT" -n "$REQUESTS" -c "$CLIENTS" -r "$range" --csv "$@" 2>/dev/null \
    | awk -F'","' -v l="$label" 'NR == 2 {r = $(NF - 6); p = $(NF - 3); gsub(/"/, "", r); gsub(/"/, "", p); printf "%-46s %10.0f calls/s  p50 %s ms\n", l, r, p}'
}
ARGS=()
for i in $(seq 1 "$COUNTER_FIELDS"); do ARGS+=("k$i|requests|gemini-2.5-flash" 3); done

echo "redis-server $(redis-server --version | awk '{print $3}'), $CLIENTS clients, $REQUESTS calls each, $(nproc) cpus"
bench "lease, $TOKENS tokens at random" "$TOKENS" EVALSHA "$LEASE" 2 "gemgate:lease:{gemgate:tok___rand_int__}" \
  "gemgate:lease:{gemgate:tok___rand_int__}:slots" "$NOW" "$SEC" 71 "$DAY" "$NEXT" 100000000 1000000000 \
  100000000000 1000 inst1 100 5000 0 0 0 0 15000
bench "lease, one token (every call on one hash)" 1 EVALSHA "$LEASE" 2 "gemgate:lease:{gemgate:tok_hot}" \
  "gemgate:lease:{gemgate:tok_hot}:slots" "$NOW" "$SEC" 71 "$DAY" "$NEXT" 100000000 1000000000 100000000000 1000 \
  inst1 100 5000 0 0 0 0 15000
bench "heartbeat, 100 instances" 100 EVALSHA "$BEAT" 1 gemgate:instances "inst__rand_int__" \
  "$NOW {\"id\":\"0123456789ab\",\"address\":\"10.0.0.1:8080\",\"version\":\"0.1.0\",\"startedAt\":1,\"lastSeen\":2,\"requestsPerSecond\":1000.0}" \
  "$NOW" 10000 30000
bench "counters, $COUNTER_FIELDS fields added" 1 EVALSHA "$COUNT" 2 gemgate:epoch "gemgate:counters:$DAY" e1 "$NEXT" \
  "${ARGS[@]}"
bench "epoch read (GET)" 1 GET gemgate:epoch
bench "day counters read, $KEYS_IN_DAY_HASH fields (HGETALL)" 1 HGETALL "gemgate:counters:$DAY"
