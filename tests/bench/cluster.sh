#!/usr/bin/env bash
# The cost of CURVE and of a network between the hosts, on the keyword-only pipeline
# (snapshot -> broker -> 2 workers -> collector) over N generated papers (default 300,000),
# all measured in this one run on this machine:
#   loopback: broker, collector, redis and both workers in one network namespace;
#   netns:    the two workers in namespaces of their own, joined to the hub by veth pairs
#             and a bridge (a real TCP path with its own stacks, no physical wire);
# each with CURVE off and on. Prints papers/s per variant and the ratios.
# Needs root and `ip netns`. Usage: tests/bench/cluster.sh [N]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
N="${1:-300000}"
export AX_SOURCE_DIR="$root" AX_BUILD_DIR="${AX_BUILD_DIR:-$root/build-bench}"
cmake -S "$root" -B "$AX_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$AX_BUILD_DIR" -j"$(nproc)" --target arxdigest arxdigest-broker arxdigest-worker arxdigest-collector >/dev/null
source "$root/tests/integration/lib.sh"

P="axb$$"; HUB="${P}hub"; NS=("$HUB")
ns_cleanup() { for ns in "${NS[@]}"; do ip netns delete "$ns" 2>/dev/null || true; done; }
trap 'rc=$?; set +e; ns_cleanup; (exit $rc); cleanup' EXIT
ip netns add "$HUB" || fail "ip netns add failed: this benchmark needs root and network namespaces"
ip -n "$HUB" link set lo up
ip -n "$HUB" link add br0 type bridge
ip -n "$HUB" addr add 10.78.0.1/24 dev br0
ip -n "$HUB" link set br0 up
for i in 1 2; do
  ip netns add "${P}w$i"; NS+=("${P}w$i")
  ip link add "vh$i" netns "$HUB" type veth peer name eth0 netns "${P}w$i"
  ip -n "$HUB" link set "vh$i" master br0
  ip -n "$HUB" link set "vh$i" up
  ip -n "${P}w$i" link set lo up
  ip -n "${P}w$i" addr add "10.78.0.1$i/24" dev eth0
  ip -n "${P}w$i" link set eth0 up
done
sleep 1

K="$T/keys"; mkdir -p "$K"
for name in server cli w; do "$BIN/arxdigest" keygen --out "$K" "$name" >/dev/null 2>&1; done
cp "$K/w.pub" "$K/allowed"; cp "$K/cli.pub" "$K/allowed_control"
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
python3 "$root/tests/bench/gen_snapshot.py" "$N" "$T/snap.jsonl" >/dev/null
export ARXDIGEST_BROKER_METRICS= ARXDIGEST_WORKER_METRICS= ARXDIGEST_COLLECTOR_METRICS= \
  ARXDIGEST_REDIS_URL=redis://10.78.0.1:6390/0 ARXDIGEST_CURVE_SERVER_PUBLIC_KEY="$K/server.pub" \
  ARXDIGEST_BROKER_BIND=tcp://10.78.0.1:5555 ARXDIGEST_BROKER_CONTROL=tcp://10.78.0.1:5556 \
  ARXDIGEST_COLLECTOR_BIND=tcp://10.78.0.1:5557 ARXDIGEST_COLLECTOR_OUTPUT_DIR="$T/out" \
  ARXDIGEST_WORKER_BROKER=tcp://10.78.0.1:5555 ARXDIGEST_WORKER_COLLECTOR=tcp://10.78.0.1:5557

# variant NAME PLACEMENT(loopback|netns) CURVE(true|false): one run; prints papers/s.
declare -A RATE
variant() {
  local name="$1" place="$2" curve="$3" pids=()
  export ARXDIGEST_CURVE_ENABLED="$curve"
  mkdir -p "$T/redis-$name"
  ip netns exec "$HUB" redis-server --port 6390 --bind 10.78.0.1 --dir "$T/redis-$name" --save "" \
    --appendonly no --protected-mode no >"$T/redis-$name.log" 2>&1 &
  pids+=($!); PIDS+=($!)
  wait_for 10 "redis" ip netns exec "$HUB" redis-cli -h 10.78.0.1 -p 6390 ping
  local srv=(env ARXDIGEST_CURVE_SECRET_KEY_FILE="$K/server.key" ARXDIGEST_CURVE_ALLOWED_CLIENTS="$K/allowed" \
    ARXDIGEST_CURVE_ALLOWED_CONTROL_CLIENTS="$K/allowed_control")
  for c in collector broker; do
    ip netns exec "$HUB" "${srv[@]}" "$BIN/arxdigest-$c" --config "$T/bench.yaml" >"$T/$c-$name.log" 2>&1 &
    pids+=($!); PIDS+=($!)
  done
  for i in 1 2; do
    local ns="$HUB"; [ "$place" = netns ] && ns="${P}w$i"
    ARXDIGEST_CURVE_SECRET_KEY_FILE="$K/w.key" ARXDIGEST_WORKER_NAME="w$i" ip netns exec "$ns" \
      "$BIN/arxdigest-worker" --config "$T/bench.yaml" >"$T/w$i-$name.log" 2>&1 &
    pids+=($!); PIDS+=($!)
  done
  sleep 1
  local t0 t1; t0=$(date +%s.%N)
  ARXDIGEST_CURVE_SECRET_KEY_FILE="$K/cli.key" ip netns exec "$HUB" "$BIN/arxdigest" submit --config "$T/bench.yaml" \
    --set "run.source=snapshot:$T/snap.jsonl" --wait >"$T/submit-$name.out" 2>"$T/submit-$name.log" \
    || fail "$name: run failed: $(tail -3 "$T/submit-$name.log")"
  t1=$(date +%s.%N)
  local run; run=$(head -1 "$T/submit-$name.out")
  RATE[$name]=$(python3 -c "import json,sys; n=json.load(open('$T/out/$run/report.json'))['harvested']; \
print(f'{n/($t1-$t0):.0f}')")
  printf '%-16s %s papers/s\n' "$name" "${RATE[$name]}"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
echo "== keyword pipeline, $N papers, 2 workers, $(nproc) cores"
variant loopback-plain loopback false
variant loopback-curve loopback true
variant netns-plain netns false
variant netns-curve netns true
python3 - "${RATE[loopback-plain]}" "${RATE[loopback-curve]}" "${RATE[netns-plain]}" "${RATE[netns-curve]}" <<'PY'
import sys
lp, lc, np_, nc = map(float, sys.argv[1:])
print(f"CURVE on / off:   loopback {lc/lp:.2f}x, netns {nc/np_:.2f}x")
print(f"netns / loopback: plain {np_/lp:.2f}x, CURVE {nc/lc:.2f}x")
print(f"netns + CURVE vs loopback plain: {nc/lp:.2f}x (target >= 50,000 papers/s: {nc/50000:.2f}x)")
PY
