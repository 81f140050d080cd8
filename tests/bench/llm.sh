#!/usr/bin/env bash
# LLM stage benchmarks (SPEC section 8), against the fake LLM with 200 ms answers:
#   1. a 1200 RPM provider limit, 1, 3 and 8 workers configured with llm.rpm 1200:
#      achieved rate / allowed rate (target >= 0.98) and 429s received (target 0);
#   2. no limit, 64 requests in flight per worker: rate vs in-flight / latency (>= 0.95);
#   3. a warm-cache re-run of the same papers: LLM requests (target 0).
# Usage: tests/bench/llm.sh [RATE_PAPERS (default 700)] [CACHE_PAPERS (default 10000)]
# LLM_BENCH_PARTS ("1 2 3") and LLM_BENCH_WORKERS ("1 3 8") pick what runs; for profiling,
# LLM_BENCH_WORKER_WRAP prefixes the worker command (e.g. "valgrind --tool=callgrind").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RATE_N="${1:-700}"; CACHE_N="${2:-10000}"
PARTS=" ${LLM_BENCH_PARTS:-1 2 3} "; NS="${LLM_BENCH_WORKERS:-1 3 8}"
export AX_SOURCE_DIR="$root" AX_BUILD_DIR="$root/build-bench"
cmake -S "$root" -B "$AX_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$AX_BUILD_DIR" -j"$(nproc)" --target arxdigest arxdigest-broker arxdigest-worker arxdigest-collector >/dev/null
source "$root/tests/integration/lib.sh"
PY=/usr/bin/python3
start_redis
start fake "$PY" "$root/tests/fake_llm/fake_llm.py" --port 0 --latency-ms 200 --rpm 1200 --api-key sk-bench
wait_for 20 "fake LLM" grep -q '^LISTENING ' "$T/fake.log"
FAKE="$(awk '/^LISTENING /{print $2; exit}' "$T/fake.log")"
FAKE_PID="${PIDS[-1]}"
control() { curl -sS -X POST -d "$1" "http://127.0.0.1:$FAKE/_control" >/dev/null; }
stats() { curl -sS "http://127.0.0.1:$FAKE/_stats"; }
python3 "$root/tests/bench/gen_snapshot.py" "$CACHE_N" "$T/snap.jsonl" >/dev/null
head -n "$RATE_N" "$T/snap.jsonl" >"$T/rate.jsonl"

BP=$(free_port); CP=$(free_port); COLP=$(free_port)
config() {   # config INTEREST SNAPSHOT RPM IN_FLIGHT: writes $T/c.yaml
  cat >"$T/c.yaml" <<YAML
broker: { job_size: 32 }
worker: { concurrency: 64, capacity: 8 }
collector: { group_by: run }
llm: { base_url: "http://127.0.0.1:$FAKE", rpm: $3, tpm: 100000000, max_in_flight: $4, timeout_s: 30 }
run: { source: "snapshot:$2" }
profiles:
  - name: bench
    language: en
    categories: [cs]
    interest: "$1"
    keywords: [model, method, data, learning, result, approach, performance]
YAML
}
config warmup "$T/rate.jsonl" 1200 512
COMMON=(--config "$T/c.yaml" --set "redis.url=$REDIS_URL" --set broker.metrics= --set worker.metrics= --set collector.metrics=)
start collector "$BIN/arxdigest-collector" "${COMMON[@]}" --set "collector.bind=tcp://127.0.0.1:$COLP" --set "collector.output_dir=$T/out"
start broker "$BIN/arxdigest-broker" "${COMMON[@]}" --set "broker.bind=tcp://127.0.0.1:$BP" --set "broker.control=tcp://127.0.0.1:$CP"
WPIDS=()
workers() {  # workers N: exactly N workers running with the current $T/c.yaml
  for p in "${WPIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  sleep 0.5
  WPIDS=()
  for w in $(seq "$1"); do
    ARXDIGEST_LLM_API_KEY=sk-bench start "w$w-$RANDOM" ${LLM_BENCH_WORKER_WRAP:-} "$BIN/arxdigest-worker" "${COMMON[@]}" \
      --set "worker.broker=tcp://127.0.0.1:$BP" --set "worker.collector=tcp://127.0.0.1:$COLP"
    WPIDS+=("${PIDS[-1]}")
  done
  sleep 0.5
}
# CPU seconds (user + system) used by each kind of process since the last call: where
# the machine's two cores went during a run (printed under each table row).
CLK=$(getconf CLK_TCK); declare -A CPU_LAST=()
cpu_of() { awk -v t="$CLK" '{print ($14 + $15) / t}' "/proc/$1/stat" 2>/dev/null || echo 0; }
cpu_report() {
  local line="" kind pids p total prev
  for kind in workers fake redis broker collector; do
    case $kind in
      workers) pids="${WPIDS[*]}";; fake) pids="$FAKE_PID";; redis) pids="$(pgrep -f "redis-server.*:$REDIS_PORT" || true)";;
      broker) pids="$(pgrep -f "arxdigest-broker.*$BP" || true)";; collector) pids="$(pgrep -f "arxdigest-collector.*$COLP" || true)";;
    esac
    total=0; for p in $pids; do total=$(python3 -c "print($total + $(cpu_of "$p"))"); done
    prev="${CPU_LAST[$kind]:-0}"; CPU_LAST[$kind]=$total
    line+="$kind $(python3 -c "print(f'{$total - $prev:.1f}')")s  "
  done
  echo "         cpu: $line"
}
run() { "$BIN/arxdigest" submit "${COMMON[@]}" --broker "tcp://127.0.0.1:$CP" --wait >"$T/run.out" 2>>"$T/runs.log"; }
measure() {  # prints: requests, 429s, rate over the arrivals (req/s)
  stats | "$PY" -c '
import json, sys
d = json.load(sys.stdin); a = d["arrivals"]
rate = (len(a) - 1) / (a[-1] - a[0]) if len(a) > 1 else 0
print(d["requests"], d.get("sent_429", 0), round(rate, 2), d["max_in_flight"])'
}

if [[ "$PARTS" == *" 1 "* ]]; then
echo "== 1. provider limit 1200 RPM (20/s), 200 ms answers, $RATE_N papers per run"
printf '%-8s %10s %10s %12s %8s\n' workers requests "429s" "req/s" "ratio"
for n in $NS; do
  config "rate-$n" "$T/rate.jsonl" 1200 512
  workers "$n"
  control '{"reset_stats": true, "reset_window": true}'
  run
  read -r req r429 rate _ <<<"$(measure)"
  printf '%-8s %10s %10s %12s %8s\n' "$n" "$req" "$r429" "$rate" "$(python3 -c "print(f'{$rate / 20:.3f}')")"
done

fi
if [[ "$PARTS" == *" 2 "* ]]; then
echo "== 2. no provider limit, 64 in flight per worker, 200 ms answers"
control '{"rpm": 0}'
printf '%-8s %10s %12s %10s %8s\n' workers requests "req/s" "bound" "ratio"
for n in $NS; do
  config "flight-$n" "$T/snap.jsonl" 1000000 $((64 * n))
  workers "$n"
  control '{"reset_stats": true, "reset_window": true}'
  CPU_LAST=(); cpu_report >/dev/null
  run
  read -r req _ _ maxf <<<"$(measure)"
  rate=$(stats | "$PY" -c 'import json,sys; d=json.load(sys.stdin); a=d["arrivals"]; print(round((len(a)-1)/(a[-1]-a[0]),1))')
  bound=$((64 * n * 5))
  printf '%-8s %10s %12s %10s %8s  (max in flight seen %s)\n' "$n" "$req" "$rate" "$bound" "$(python3 -c "print(f'{$rate / $bound:.3f}')")" "$maxf"
  cpu_report
done

fi
if [[ "$PARTS" == *" 3 "* ]]; then
echo "== 3. warm cache: the last run's $CACHE_N papers again"
control '{"reset_stats": true}'
run
echo "LLM requests on the warm re-run: $(stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["requests"])')"
fi
