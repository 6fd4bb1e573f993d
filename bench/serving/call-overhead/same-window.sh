#!/usr/bin/env bash
# Same-window comparison of servers' CPU per one-row DoExchange: every server given is
# started, then each repetition drives all of them AT ONCE with the Go loadgen
# (concurrency C, mlp_small's input), so they share whatever else the machine is doing.
# On this shared 2-core machine the absolute cpu us/req of one server moves by 2-3x
# between runs minutes apart (load 2 to 30); builds compared in one window move together.
#
#   bench/serving/call-overhead/same-window.sh REPS LABEL 'COMMAND' [LABEL 'COMMAND' ...]
#
# Each COMMAND starts a server that prints `... listening on grpc://HOST:PORT`. Env: C
# (concurrency, 64), DUR (seconds per repetition, 4), WARM (seconds of uncounted
# warm-up, 5). Prints one line per server and repetition, then per server the median and
# minimum cpu us/req. Linux only (/proc). Fewer servers at once contend less: compare
# two or three per run.
set -euo pipefail
reps=$1; shift
here=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/same-window.XXXX")
(cd "$here/loadgen" && GOFLAGS=-mod=mod go build -o "$dir/loadgen" .)
labels=(); pids=(); addrs=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT
while [ $# -gt 0 ]; do
  label=$1; cmd=$2; shift 2
  bash -c "exec $cmd" > "$dir/$label.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do grep -q 'listening on grpc://' "$dir/$label.log" && break; sleep 0.2; done
  labels+=("$label"); pids+=("$pid")
  addrs+=("$(grep -o 'grpc://[^ ]*' "$dir/$label.log" | head -1 | sed 's#grpc://##')")
done
n=${#labels[@]}
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, in clock ticks (1/100 s)
drive() {  # $1: seconds; writes $dir/lg.K
  local lg=()
  for k in $(seq 0 $((n - 1))); do
    "$dir/loadgen" -addr "${addrs[$k]}" -c "${C:-64}" -warmup 0s -duration "$1s" > "$dir/lg.$k" & lg+=($!)
  done
  wait "${lg[@]}"
}
drive "${WARM:-5}"  # warm-up (JIT), not counted
for r in $(seq 1 "$reps"); do
  for k in $(seq 0 $((n - 1))); do cpu "${pids[$k]}" > "$dir/cpu.$k"; done
  drive "${DUR:-4}"
  for k in $(seq 0 $((n - 1))); do
    ticks=$(( $(cpu "${pids[$k]}") - $(cat "$dir/cpu.$k") ))
    requests=$(tail -1 "$dir/lg.$k" | sed 's/.*"requests":\([0-9]*\).*/\1/')
    awk -v l="${labels[$k]}" -v r="$r" -v t="$ticks" -v q="$requests" \
      'BEGIN { printf "%-12s rep %d  %7.1f cpu us/req  (%d requests)\n", l, r, t * 1e4 / q, q }'
  done
done | tee "$dir/out"
echo
for label in "${labels[@]}"; do
  grep "^$label " "$dir/out" | awk '{print $4}' | sort -n | awk -v l="$label" \
    '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%-12s median %7.1f  min %7.1f cpu us/req  (%d repetitions)\n", l, m, v[1], NR }'
done
