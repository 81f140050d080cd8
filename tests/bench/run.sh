#!/usr/bin/env bash
# Benchmarks of the keyword pipeline (SPEC section 8), printing numbers measured in one run:
#   1. the matcher alone (MB/s per core, target >= 500);
#   2. snapshot -> broker -> 2 workers -> collector on N papers (default 1,000,000):
#      papers/s end to end (target >= 50,000 on 2 cores) and the peak RSS of every process;
#   3. the same on N/10 papers, to show the broker's memory does not grow with the run.
# Usage: tests/bench/run.sh [N]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
N="${1:-1000000}"
export AX_SOURCE_DIR="$root" AX_BUILD_DIR="$root/build-bench"
cmake -S "$root" -B "$AX_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$AX_BUILD_DIR" -j"$(nproc)" --target arxdigest arxdigest-broker arxdigest-worker arxdigest-collector bench_match >/dev/null
source "$root/tests/integration/lib.sh"

echo "== matcher alone"
"$AX_BUILD_DIR/tests/bench_match" "$root/tests/data/shared/fixtures/dae/2026-07-01.jsonl"

cat >"$T/bench.yaml" <<YAML
broker: { job_size: 256 }
collector: { group_by: run }
profiles:
  - name: recsys
    language: zh
    categories: [cs]
    keywords:
      - { term: recommendation, aliases: [recommender] }
      - { term: ranking, aliases: [re-ranking] }
      - retrieval
      - { term: ctr, aliases: ["click-through rate"] }
      - cold-start
      - { term: llm, aliases: ["large language model"] }
      - { term: kuaishou, company: 快手 }
      - uplift
      - causal
      - diversity
    exclude: [survey]
    min_hits: 2
YAML

cpu_s() { awk '{printf "%.1f", ($14+$15)/100}' "/proc/$1/stat" 2>/dev/null || echo "?"; }
rss_mb() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }

# pipeline N: one run of N papers; prints papers/s and peak RSS per process.
pipeline() {
  local n="$1" snap="$T/snap-$1.jsonl"
  python3 "$root/tests/bench/gen_snapshot.py" "$n" "$snap" >/dev/null
  local size_mb; size_mb=$(du -m "$snap" | cut -f1)
  start_redis
  local bp cp colp; bp=$(free_port); cp=$(free_port); colp=$(free_port)
  local common=(--config "$T/bench.yaml" --set "redis.url=$REDIS_URL" --set broker.metrics= --set worker.metrics= --set collector.metrics=)
  start "collector-$n" "$BIN/arxdigest-collector" "${common[@]}" --set "collector.bind=tcp://127.0.0.1:$colp" --set "collector.output_dir=$T/out"
  local col_pid=${PIDS[-1]}
  start "broker-$n" "$BIN/arxdigest-broker" "${common[@]}" --set "broker.bind=tcp://127.0.0.1:$bp" --set "broker.control=tcp://127.0.0.1:$cp"
  local broker_pid=${PIDS[-1]}
  local wpids=()
  for w in 1 2; do
    start "worker$w-$n" "$BIN/arxdigest-worker" "${common[@]}" --set "worker.broker=tcp://127.0.0.1:$bp" --set "worker.collector=tcp://127.0.0.1:$colp"
    wpids+=("${PIDS[-1]}")
  done
  sleep 0.5
  local t0; t0=$(date +%s.%N)
  "$BIN/arxdigest" submit "${common[@]}" --set "run.source=snapshot:$snap" --broker "tcp://127.0.0.1:$cp" --wait >"$T/submit-$n.out" 2>"$T/submit-$n.log"
  local t1; t1=$(date +%s.%N)
  local run; run=$(head -1 "$T/submit-$n.out")
  local harvested; harvested=$(python3 -c "import json;print(json.load(open('$T/out/$run/report.json'))['harvested'])")
  local redis_mb; redis_mb=$(redis-cli -p "$REDIS_PORT" info memory | awk -F: '/^used_memory:/ {printf "%.0f", $2/1048576}')
  python3 - "$harvested" "$t0" "$t1" "$size_mb" <<PY
import sys
n, t0, t1, mb = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
s = t1 - t0
print(f"pipeline {n} papers ({mb} MB snapshot): {s:.1f} s, {n/s:,.0f} papers/s (target >= 50,000: {n/s/50000:.2f}x)")
PY
  echo "peak RSS: broker $(rss_mb "$broker_pid") MB, workers $(rss_mb "${wpids[0]}") / $(rss_mb "${wpids[1]}") MB, collector $(rss_mb "$col_pid") MB; redis used_memory ${redis_mb} MB"
  local redis_pid; redis_pid=$(redis-cli -p "$REDIS_PORT" info server | awk -F: '/^process_id:/ {print $2+0}')
  echo "cpu seconds: broker $(cpu_s "$broker_pid"), workers $(cpu_s "${wpids[0]}") / $(cpu_s "${wpids[1]}"), collector $(cpu_s "$col_pid"), redis $(cpu_s "$redis_pid")"
  echo "$(rss_mb "$broker_pid")" >"$T/broker-rss-$n"
  for p in "$broker_pid" "$col_pid" "${wpids[@]}"; do kill "$p" 2>/dev/null || true; done
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -f "$snap"
}

echo "== pipeline, $((N / 10)) papers"
pipeline $((N / 10))
echo "== pipeline, $N papers"
pipeline "$N"
python3 - "$(cat "$T/broker-rss-$((N / 10))")" "$(cat "$T/broker-rss-$N")" "$N" <<'PY'
import sys
a, b, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print(f"broker peak RSS: {a:.1f} MB at {n//10:,} papers, {b:.1f} MB at {n:,} papers: ratio {b/a:.2f} for 10x the papers (flat = ~1)")
PY
