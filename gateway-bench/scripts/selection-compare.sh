#!/usr/bin/env bash
# Key selection before and after a change, interleaved: JMH KeySelectionBenchmark (select1Thread, then select2Threads
# unless THREADS says otherwise) from the jar of a base commit and from this work tree's jar, run one after the other
# for ROUNDS rounds (base, new, base, new, ...), each round every cell of KEYS x strategy x resting. Prints per cell
# each run's M selections/s, the ratio new/base of the means, the smallest and largest ratio of a new run to a base
# run (the spread), and gc.alloc.rate.norm (B/op, the larger of the runs); then the cells below MIN M/s in any new run.
#
#   gateway-bench/scripts/selection-compare.sh [BASE_COMMIT]      # default: 9754622 (main at the second
#                                                                  # session's start, docs/benchmarks.md)
#
# The base jar is built once in a git worktree under /tmp (kept, reused; built with -DskipTests); the new jar is the
# work tree's gateway-bench/target/benchmarks.jar, built when missing (BUILD=1 builds it again). Never installs
# anything in ~/.m2. Settings, as environment variables:
#   ROUNDS=2 KEYS=10,1000,10000,100000 THREADS=select1Thread,select2Threads MIN=5 JMH="-f 1 -wi 3 -i 4 -w 1s -r 1s"
#   BASE_JAR=<a base jar built already> NEW_JAR=<a new jar built already>
# Timing: about 10 s per cell and run (JMH fork, 100,000-key pool set up, 7 iterations): the defaults take about
# 2 x 2 x 2 x 24 x 10 s = 32 minutes. Say how loaded the machine was next to the figures (uptime is printed).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BASE=${1:-9754622}
ROUNDS=${ROUNDS:-2}
KEYS=${KEYS:-10,1000,10000,100000}
THREADS=${THREADS:-select1Thread,select2Threads}
MIN=${MIN:-5}
JMH=${JMH:--f 1 -wi 3 -i 4 -w 1s -r 1s}
JAVA=${JAVA:-java}
BUILD=${BUILD:-0}

die() { echo "selection-compare.sh: $*" >&2; exit 2; }
for tool in "$JAVA" mvn git awk; do command -v "$tool" >/dev/null || die "$tool not found"; done

base_sha=$(git -C "$ROOT" rev-parse --verify "$BASE^{commit}") || die "no commit $BASE"
BASE_TREE=/tmp/gemgate-selection-base-${base_sha:0:12}
BASE_JAR=${BASE_JAR:-$BASE_TREE/gateway-bench/target/benchmarks.jar}
NEW_JAR=${NEW_JAR:-$ROOT/gateway-bench/target/benchmarks.jar}

if [[ ! -f $BASE_JAR ]]; then
  [[ -d $BASE_TREE ]] || git -C "$ROOT" worktree add --detach "$BASE_TREE" "$base_sha" >/dev/null
  echo "building the base jar ($BASE) in $BASE_TREE" >&2
  (cd "$BASE_TREE" && mvn -B -ntp -q -pl gateway-bench -am package -DskipTests) || die "base build failed"
fi
if [[ $BUILD == 1 || ! -f $NEW_JAR ]]; then
  echo "building the new jar in $ROOT" >&2
  (cd "$ROOT" && mvn -B -ntp -q -pl gateway-bench -am package -DskipTests) || die "build failed"
fi

OUT=$(mktemp -d /tmp/gemgate-selection-compare.XXXXXX)
echo "base $BASE ($base_sha), new $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet || echo ' + local changes'); results in $OUT"
for method in ${THREADS//,/ }; do
  for round in $(seq "$ROUNDS"); do
    for side in base new; do
      jar=$BASE_JAR
      [[ $side == new ]] && jar=$NEW_JAR
      echo "$(date -u +%H:%M:%S) $method round $round $side; load: $(cut -d' ' -f1-3 /proc/loadavg)"
      # shellcheck disable=SC2086
      "$JAVA" -jar "$jar" "KeySelectionBenchmark.$method\$" -p keys="$KEYS" -prof gc $JMH \
          -rf csv -rff "$OUT/$method-$side-$round.csv" >"$OUT/$method-$side-$round.log" 2>&1 \
          || die "JMH failed: $OUT/$method-$side-$round.log"
    done
  done
done

# JMH CSV: "Benchmark","Mode","Threads","Samples","Score","Score Error (99.9%)","Unit","Param: budget","Param: keys",
# "Param: resting","Param: strategy"; secondary results (·gc.alloc.rate.norm) are rows of their own.
awk -F, -v min="$MIN" '
  FNR == 1 { split(FILENAME, p, "/"); split(p[length(p)], f, "-"); method = f[1]; side = f[2]; next }
  {
    for (i = 1; i <= NF; i++) gsub(/"/, "", $i)
    cell = method " " $11 " " $10 " " $9
    if ($1 ~ /gc\.alloc\.rate\.norm$/) { if ($5 + 0 > alloc[cell]) alloc[cell] = $5 + 0; next }
    if ($1 ~ /:/) next
    score = $5 / 1e6
    if (!(cell in seen)) { seen[cell] = 1; order[++n] = cell }
    runs[cell, side] = runs[cell, side] sprintf(" %.2f", score)
    sum[cell, side] += score; cnt[cell, side]++
    if (side == "new") { newRuns[cell, cnt[cell, side]] = score; if (score < min) low[cell] = 1 }
    else baseRuns[cell, cnt[cell, side]] = score
  }
  END {
    printf "%-15s %-11s %-6s %7s | %-24s | %-24s | %6s %13s | %s\n", "method", "strategy", "rest", "keys",
        "base M/s (runs)", "new M/s (runs)", "ratio", "min-max", "B/op"
    for (c = 1; c <= n; c++) {
      cell = order[c]; split(cell, k, " ")
      mb = sum[cell, "base"] / cnt[cell, "base"]; mn = sum[cell, "new"] / cnt[cell, "new"]
      lo = 1e9; hi = 0
      for (i = 1; i <= cnt[cell, "new"]; i++) for (j = 1; j <= cnt[cell, "base"]; j++) {
        r = newRuns[cell, i] / baseRuns[cell, j]; if (r < lo) lo = r; if (r > hi) hi = r
      }
      printf "%-15s %-11s %-6s %7s | %-24s | %-24s | %6.2f %6.2f-%-6.2f | %.3f\n", k[1], k[2], k[3], k[4],
          runs[cell, "base"], runs[cell, "new"], mn / mb, lo, hi, alloc[cell]
    }
    printf "\ncells with a new run below %s M/s:", min
    none = 1
    for (c = 1; c <= n; c++) if (order[c] in low) { printf "\n  %s", order[c]; none = 0 }
    print none ? " none" : ""
  }' $(ls "$OUT"/*.csv | sort)
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
