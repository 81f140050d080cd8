#!/usr/bin/env bash
# End to end on real papers: redis-server, broker, 2 workers and collector on free ports,
# the bundled sample (a month of real cs papers) with a malformed line, a garbage line and
# a duplicate added. The report and digest.md must equal what the independent oracle
# (oracle.py) computes: which papers, their order, their hit lists, and every count.
source "$(dirname "$0")/lib.sh"

start_redis
SAMPLE="$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl"
[ -f "$SAMPLE" ] || fail "missing bundled sample $SAMPLE"
SNAP="$T/snapshot.jsonl"
# line 3: truncated JSON; line 101: binary garbage; last line: a duplicate of a cs.IR paper.
{
  sed -n '1,2p' "$SAMPLE"
  printf '{"id":"2606.99999","title":"cut short\n'
  sed -n '3,99p' "$SAMPLE"
  printf '\x00\x01garbage\xff\n'
  sed -n '100,$p' "$SAMPLE"
  grep -m1 '"categories":"[^"]*cs\.IR' "$SAMPLE"
} >"$SNAP"

CFG="$T/config.yaml"   # JSON is YAML
python3 - "$AX_SOURCE_DIR/tests/integration/pipeline.json" "$SNAP" "$CFG" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["run"] = {"source": "snapshot:" + sys.argv[2]}
json.dump(cfg, open(sys.argv[3], "w"), ensure_ascii=False, indent=1)
PY

BROKER_PORT=$(free_port); CONTROL_PORT=$(free_port); COLLECTOR_PORT=$(free_port)
COMMON=(--config "$CFG" --set "redis.url=$REDIS_URL" --set broker.metrics= --set worker.metrics= --set collector.metrics=)
start collector "$BIN/arxdigest-collector" "${COMMON[@]}" --set "collector.bind=tcp://127.0.0.1:$COLLECTOR_PORT" \
  --set "collector.output_dir=$T/out"
# The broker heartbeats every 100 ms and gives up after 3 missed; the workers keep their
# default 1000 ms: differently configured peers must not take each other for dead.
start broker "$BIN/arxdigest-broker" "${COMMON[@]}" --set "broker.bind=tcp://127.0.0.1:$BROKER_PORT" \
  --set "broker.control=tcp://127.0.0.1:$CONTROL_PORT" --set broker.heartbeat_ms=100 --set broker.liveness=3
for w in 1 2; do
  ARXDIGEST_WORKER_NAME="w$w" start "worker$w" "$BIN/arxdigest-worker" "${COMMON[@]}" \
    --set "worker.broker=tcp://127.0.0.1:$BROKER_PORT" --set "worker.collector=tcp://127.0.0.1:$COLLECTOR_PORT"
done

timeout 120 "$BIN/arxdigest" submit "${COMMON[@]}" --broker "tcp://127.0.0.1:$CONTROL_PORT" --wait \
  >"$T/submit.out" 2>"$T/submit.log" || fail "submit --wait failed: $(tail -5 "$T/submit.log")"
RUN=$(head -1 "$T/submit.out")
OUT="$T/out/$RUN"
[ -f "$OUT/report.json" ] || fail "no report.json in $OUT"
[ -f "$OUT/recsys/digest.md" ] || fail "no recsys digest"
[ -f "$OUT/vision/digest.md" ] || fail "no vision digest"
ok "run $RUN finished with report and digests"

python3 "$AX_SOURCE_DIR/tests/integration/oracle.py" "$SNAP" "$CFG" >"$T/expected.json"
python3 - "$T/expected.json" "$OUT" <<'PY'
import json, re, sys
exp = json.load(open(sys.argv[1]))
out = sys.argv[2]
rep = json.load(open(out + "/report.json"))
def check(cond, msg):
    if not cond:
        print("FAIL:", msg); sys.exit(1)
for k in ("harvested", "duplicates", "malformed"):
    check(rep[k] == exp[k], f"report {k} = {rep[k]}, expected {exp[k]}")
check(rep["duplicates"] == 1 and rep["malformed"] == 2, "the injected duplicate and 2 malformed lines are counted")
for name, e in exp["profiles"].items():
    p = rep["profiles"][name]
    for state, n in e["counts"].items():
        check(p[state] == n, f"{name}: {state} = {p[state]}, expected {n}")
    check(p["failed"] == 0 and p["enriched"] == 0, f"{name}: no failed/enriched papers in a keyword-only run")
    check(p["total"] == rep["harvested"] and p["consistent"], f"{name}: states add up to harvested")
    md = open(f"{out}/{name}/digest.md", encoding="utf-8").read()
    links = re.findall(r"\]\(http://arxiv\.org/abs/([^)]+?)v\d+\)", md)
    hits = re.findall(r"(?:命中关键词|Keywords)\*\*: 【(\d+)】 ?(.*)", md)
    want = e["top"]
    check(len(links) == len(want), f"{name}: {len(links)} papers in digest, expected {len(want)}")
    for i, w in enumerate(want):
        check(links[i] == w["id"], f"{name}: #{i+1} is {links[i]}, expected {w['id']}")
        check(int(hits[i][0]) == len(w["hits"]), f"{name}: #{i+1} hit count {hits[i][0]} != {len(w['hits'])}")
        check([h.strip() for h in hits[i][1].split(",")] == w["hits"],
              f"{name}: #{i+1} hits {hits[i][1]!r} != {w['hits']}")
    print(f"ok - {name}: {len(want)} papers in the oracle's order with its hits; counts {e['counts']}")
PY
grep -q 'malformed line skipped.*line=3 ' "$T/broker.log" || grep -q 'malformed.*line=3' "$T/broker.log" \
  || fail "the malformed line 3 is not reported with its number"
grep -q 'line=101' "$T/broker.log" || fail "the garbage line 101 is not reported with its number"
ok "malformed lines reported with their line numbers"
sleep 2   # 20 broker heartbeats: long enough for a wrongly judged worker to be dropped
grep -q 'worker gone' "$T/broker.log" && fail "a live worker with a slower heartbeat was declared dead"
ok "workers with a slower heartbeat than the broker's stay alive"

# The same run rendered again from Redis alone gives the same digest (generation time aside).
"$BIN/arxdigest" render "$RUN" "${COMMON[@]}" --output "$T/rerender" >/dev/null
diff <(grep -v '生成时间' "$OUT/recsys/digest.md") <(grep -v '生成时间' "$T/rerender/$RUN/recsys/digest.md") \
  || fail "render RUN differs from the run's own digest"
ok "arxdigest render reproduces the digest from Redis"
