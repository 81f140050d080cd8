#!/usr/bin/env bash
# The cost of crash safety, measured in one run:
#   1. keyword pipeline papers/s of this tree (durable job table, cursor, attempts in
#      Redis) against REV (default ef8900b: leases and heartbeats but jobs kept only in the
#      broker's memory), on the same generated snapshot, alternating, 3 runs each;
#   2. time from a worker's death to its job's re-dispatch, default heartbeat settings.
# Usage: tests/bench/reliability.sh [N papers, default 300000] [REV]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
N="${1:-300000}"; REV="${2:-ef8900b}"
export AX_SOURCE_DIR="$root" AX_BUILD_DIR="$root/build-bench"
cmake -S "$root" -B "$AX_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$AX_BUILD_DIR" -j"$(nproc)" --target arxdigest arxdigest-broker arxdigest-worker arxdigest-collector >/dev/null
source "$root/tests/integration/lib.sh"
mkdir -p "$T/old"
git -C "$root" archive "$REV" | tar -x -C "$T/old"
cmake -S "$T/old" -B "$T/old-build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$T/old-build" -j"$(nproc)" --target arxdigest arxdigest-broker arxdigest-worker arxdigest-collector >/dev/null
python3 "$root/tests/bench/gen_snapshot.py" "$N" "$T/snap.jsonl" >/dev/null
cat >"$T/bench.yaml" <<YAML
broker: { job_size: 256 }
collector: { group_by: run }
profiles:
  - name: recsys
    categories: [cs]
    keywords: [recommendation, ranking, retrieval, ctr, cold-start, llm, uplift, causal, diversity]
    min_hits: 2
YAML

# once BIN: one pipeline run with the binaries in BIN; prints papers/s.
once() {
  local bin="$1" port bp cp colp pids=()
  port=$(free_port); bp=$(free_port); cp=$(free_port); colp=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 & pids+=($!)
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  local common=(--config "$T/bench.yaml" --set "redis.url=redis://127.0.0.1:$port/0" --set broker.metrics=
                --set worker.metrics= --set collector.metrics=)
  "$bin/arxdigest-collector" "${common[@]}" --set "collector.bind=tcp://127.0.0.1:$colp" --set "collector.output_dir=$T/out" >/dev/null 2>&1 & pids+=($!)
  "$bin/arxdigest-broker" "${common[@]}" --set "broker.bind=tcp://127.0.0.1:$bp" --set "broker.control=tcp://127.0.0.1:$cp" >/dev/null 2>&1 & pids+=($!)
  for w in 1 2; do
    "$bin/arxdigest-worker" "${common[@]}" --set "worker.broker=tcp://127.0.0.1:$bp" --set "worker.collector=tcp://127.0.0.1:$colp" >/dev/null 2>&1 & pids+=($!)
  done
  PIDS+=("${pids[@]}")
  sleep 0.5
  local t0 t1
  t0=$(date +%s.%N)
  "$bin/arxdigest" submit "${common[@]}" --set "run.source=snapshot:$T/snap.jsonl" --broker "tcp://127.0.0.1:$cp" --wait >/dev/null 2>&1
  t1=$(date +%s.%N)
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  python3 -c "print(f'{$N / ($t1 - $t0):.0f}')"
}

declare -a new old
for i in 1 2 3; do
  new+=("$(once "$AX_BUILD_DIR")")
  old+=("$(once "$T/old-build")")
done
python3 - "$N" "$REV" "${new[*]}" "${old[*]}" <<'PY'
import sys, statistics
n, rev, new, old = int(sys.argv[1]), sys.argv[2], [float(x) for x in sys.argv[3].split()], [float(x) for x in sys.argv[4].split()]
a, b = statistics.median(new), statistics.median(old)
print(f"keyword pipeline, {n:,} papers, medians: durable {a:,.0f} papers/s (runs {', '.join(f'{x:,.0f}' for x in new)}), "
      f"in-memory jobs ({rev}) {b:,.0f} papers/s (runs {', '.join(f'{x:,.0f}' for x in old)}): "
      f"overhead {100 * (1 - a / b):.1f}%")
PY

# Dead worker detection with the default heartbeat_ms and liveness.
start_redis
bp=$(free_port); cp=$(free_port)
head -n 2000 "$root/deploy/sample/arxiv-cs-2026-06.jsonl" >"$T/small.jsonl"
start broker "$BIN/arxdigest-broker" --set "redis.url=$REDIS_URL" --set "broker.bind=tcp://127.0.0.1:$bp" \
  --set "broker.control=tcp://127.0.0.1:$cp" --set broker.metrics=
wait_for 10 broker grep -q "broker ready" "$T/broker.log"
echo "broker: heartbeat_ms $(grep -o 'heartbeat_ms=[0-9]*' "$T/broker.log" | cut -d= -f2), liveness 3 (defaults)"
/usr/bin/python3 "$root/tests/bench/dead_worker.py" "tcp://127.0.0.1:$bp" "tcp://127.0.0.1:$cp" "$T/small.jsonl" 5
