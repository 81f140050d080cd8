#!/usr/bin/env bash
# Live harvest against the fake arXiv (tests/fake_arxiv): how close a multi-page harvest
# comes to the politeness floor, i.e. (requests - 1) x arxiv.min_interval_ms, the least
# time arXiv's rule allows. Also the XML parse throughput (bench_feed). Prints, for the
# api source (page_size 200) and the oai source (200 records a page) over the bundled
# sample's cs.* June: pages, elapsed seconds from the first request to the last, the
# floor and their ratio (1.00 = as fast as the rule allows; the rest is the time arXiv -
# here the fake - takes to answer, which the interval does not overlap).
# Usage: tests/bench/harvest.sh [MIN_INTERVAL_MS (default 500)]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
INTERVAL="${1:-500}"
export AX_SOURCE_DIR="$root" AX_BUILD_DIR="$root/build-bench"
cmake -S "$root" -B "$AX_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$AX_BUILD_DIR" -j"$(nproc)" --target arxdigest arxdigest-broker arxdigest-worker arxdigest-collector bench_feed >/dev/null
source "$root/tests/integration/lib.sh"
PY=/usr/bin/python3

echo "== XML parse throughput"
"$AX_BUILD_DIR/tests/bench_feed" "$root/tests/data/shared/fixtures/arxiv"

start_redis
SAMPLE="$root/deploy/sample/arxiv-cs-2026-06.jsonl"
start fake "$PY" "$root/tests/fake_arxiv/fake_arxiv.py" --port 0 --corpus "$SAMPLE" --ready-file "$T/fake.port"
wait_for 30 "fake arXiv" test -s "$T/fake.port"
FA="http://127.0.0.1:$(cat "$T/fake.port")"
cat >"$T/h.yaml" <<YAML
collector: { group_by: run }
arxiv: { api_url: "$FA/api/query", oai_url: "$FA/oai", rss_url: "$FA/rss", min_interval_ms: $INTERVAL,
         page_size: 200, user_agent: "arxdigest-bench (mailto:bench@example.org)" }
profiles:
  - { name: all, categories: [cs], keywords: [model] }
YAML
BP=$(free_port); CP=$(free_port); COLP=$(free_port)
COMMON=(--config "$T/h.yaml" --set "redis.url=$REDIS_URL" --set broker.metrics= --set worker.metrics= --set collector.metrics=)
start collector "$BIN/arxdigest-collector" "${COMMON[@]}" --set "collector.bind=tcp://127.0.0.1:$COLP" --set "collector.output_dir=$T/out"
start broker "$BIN/arxdigest-broker" "${COMMON[@]}" --set "broker.bind=tcp://127.0.0.1:$BP" --set "broker.control=tcp://127.0.0.1:$CP"
start worker "$BIN/arxdigest-worker" "${COMMON[@]}" --set "worker.broker=tcp://127.0.0.1:$BP" --set "worker.collector=tcp://127.0.0.1:$COLP"

echo "== harvest time vs the politeness floor (min_interval_ms $INTERVAL)"
printf '%-6s %8s %8s %10s %10s %7s\n' source papers pages "elapsed s" "floor s" ratio
for src in api oai; do
  curl -sS -X POST -d '{"reset": true, "oai_page_size": 200}' "$FA/_control" >/dev/null
  "$BIN/arxdigest" submit "${COMMON[@]}" --broker "tcp://127.0.0.1:$CP" --source "$src" --categories cs \
    --from 2026-06-01 --to 2026-06-30 --wait >"$T/$src.out" 2>"$T/$src.log"
  RUN=$(head -1 "$T/$src.out")
  N=$(python3 -c "import json; print(json.load(open('$T/out/$RUN/report.json'))['harvested'])")
  curl -sS "$FA/_stats" | python3 -c "
import json, sys
s = json.load(sys.stdin); log = [r for r in s['log'] if r['kind'] == '$src']
el = log[-1]['t_mono'] - log[0]['t_mono']; floor = (len(log) - 1) * $INTERVAL / 1000
print(f'%-6s %8d %8d %10.2f %10.2f %7.3f' % ('$src', $N, len(log), el, floor, el / floor))"
done
