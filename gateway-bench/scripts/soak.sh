#!/usr/bin/env bash
# The soak (the target, README "Benchmarks": 10,000 SSE streams with a bounded heap): STREAMS concurrent SSE streams
# held for HOLD seconds through one gateway, then closed; the gateway's heap (after a full GC), direct memory, RSS, open
# files and client connections before, during and after, streams opened, failed, dropped or stalled, and the warnings
# and errors it logged. Passes (exit 0) when every stream lived through the hold, nothing was logged, the heap after is
# within 8 MiB of before and every file descriptor and connection was released. See io.gemgate.bench.e2e.Soak.
#
# Open files: the gateway holds 2 per stream (client + upstream connection). The soft limit is raised to the hard one
# here (ulimit -n "$(ulimit -Hn)") for the processes this starts; the soak still caps the streams to what that limit
# allows (with a hard limit of 20,000, about 9,700 streams: 10,000 need a limit above 20,500) and says so.
#
# Needs java 17 and the two jars (mvn -q -DskipTests package). Settings, as environment variables:
#   STREAMS=10000 HOLD=60 GAP_MS=2000    streams, seconds held, the upstream's interval between events
#   OPEN_CONCURRENCY=200                 streams being opened at once
#   KEEP=1                               keep the work directory (the gateway's and the upstream's logs)
# Extra arguments go to E2eBench (e.g. --gateway-jvm-opts "-Xmx512m").
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_JAR=${BENCH_JAR:-$ROOT/gateway-bench/target/benchmarks.jar}
GEMGATE_JAR=${GEMGATE_JAR:-$ROOT/gateway-server/target/gemgate.jar}
JAVA=${JAVA:-java}
STREAMS=${STREAMS:-10000}
HOLD=${HOLD:-60}
GAP_MS=${GAP_MS:-2000}
OPEN_CONCURRENCY=${OPEN_CONCURRENCY:-200}
KEEP=${KEEP:-0}

die() { echo "soak.sh: $*" >&2; exit 2; }
[[ -f $BENCH_JAR ]] || die "$BENCH_JAR missing: run mvn -q -DskipTests package"
[[ -f $GEMGATE_JAR ]] || die "$GEMGATE_JAR missing: run mvn -q -DskipTests package"

ulimit -n "$(ulimit -Hn)" || die "cannot raise the open-files limit to $(ulimit -Hn)"
echo "soak.sh: open files limit $(ulimit -n) (hard $(ulimit -Hn)), $(nproc) CPU(s), $("$JAVA" -version 2>&1 | head -1)"

ARGS=(--scenario soak --streams "$STREAMS" --hold "${HOLD}s" --sse-gap-ms "$GAP_MS"
      --open-concurrency "$OPEN_CONCURRENCY" --gateway-jar "$GEMGATE_JAR")
[[ $KEEP == 1 ]] && ARGS+=(--keep)

# The bench stops the gateway and the upstream it started when it exits (SIGTERM included); the trap passes our
# own INT/TERM on to it and waits for it.
"$JAVA" -cp "$BENCH_JAR" io.gemgate.bench.e2e.E2eBench "${ARGS[@]}" "$@" &
BENCH=$!
trap 'kill -TERM "$BENCH" 2>/dev/null || true; wait "$BENCH" || true; exit 130' INT TERM
wait "$BENCH"
