#!/usr/bin/env bash
# /metrics, /healthz and graceful shutdown with the real binaries (docs/metrics.md).
# Redis, broker, collector and two workers, each with metrics on its own free port; a third
# worker on the first one's port logs that it runs without /metrics and works on. The
# bundled sample is run once (workers slowed a little so it can be scraped mid-run): the
# counters must agree with report.json. Then a second run with slowed workers: one worker
# gets SIGTERM mid-run; the broker must log the hand-back of its jobs (not a lease expiry
# or a lost heartbeat), and the run completes with every paper exactly once and the same
# digests. Finally broker and collector stop cleanly on SIGTERM.
source "$(dirname "$0")/lib.sh"

start_redis
SAMPLE="$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl"
[ -f "$SAMPLE" ] || fail "missing bundled sample $SAMPLE"
CFG="$T/config.yaml"   # JSON is YAML
python3 - "$AX_SOURCE_DIR/tests/integration/pipeline.json" "$CFG" <<'PY'
import json, sys
json.dump(json.load(open(sys.argv[1])), open(sys.argv[2], "w"), ensure_ascii=False, indent=1)
PY

BROKER_PORT=$(free_port); CONTROL_PORT=$(free_port); COLLECTOR_PORT=$(free_port)
BM=$(free_port); CM=$(free_port); WM1=$(free_port); WM2=$(free_port); WM4=$(free_port)
COMMON=(--config "$CFG" --set "redis.url=$REDIS_URL")
WORKER=(--set "worker.broker=tcp://127.0.0.1:$BROKER_PORT" --set "worker.collector=tcp://127.0.0.1:$COLLECTOR_PORT")
start collector "$BIN/arxdigest-collector" "${COMMON[@]}" --set "collector.bind=tcp://127.0.0.1:$COLLECTOR_PORT" \
  --set "collector.output_dir=$T/out" --set "collector.metrics=127.0.0.1:$CM"
COLLECTOR_PID=${PIDS[-1]}
start broker "$BIN/arxdigest-broker" "${COMMON[@]}" --set "broker.bind=tcp://127.0.0.1:$BROKER_PORT" \
  --set "broker.control=tcp://127.0.0.1:$CONTROL_PORT" --set "broker.metrics=127.0.0.1:$BM" \
  --set broker.liveness=20   # slowed workers judge in long blocking batches: no false deaths
BROKER_PID=${PIDS[-1]}
AX_TEST_JOB_DELAY_MS=100 ARXDIGEST_WORKER_NAME=w1 start worker1 "$BIN/arxdigest-worker" "${COMMON[@]}" "${WORKER[@]}" \
  --set "worker.metrics=127.0.0.1:$WM1"
W1_PID=${PIDS[-1]}
AX_TEST_JOB_DELAY_MS=100 ARXDIGEST_WORKER_NAME=w2 start worker2 "$BIN/arxdigest-worker" "${COMMON[@]}" "${WORKER[@]}" \
  --set "worker.metrics=127.0.0.1:$WM2"
W2_PID=${PIDS[-1]}

scrape() { curl -sf --noproxy '*' --max-time 5 "http://127.0.0.1:$1/metrics"; }
health() { [ "$(curl -s --noproxy '*' --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/healthz")" = 200 ]; }
# metric PORT NAME [LABELS]: the value of one series (0 when absent).
metric() {
  scrape "$1" | python3 -c '
import sys
name, labels = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""
key = name + ("{" + labels + "}" if labels else "")
for line in sys.stdin:
    if line.startswith(key + " "):
        print(line.split()[-1]); break
else:
    print(0)' "$2" "${3:-}"
}

# metric_ge PORT NAME N: the series is at least N.
metric_ge() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)" "$(metric "$1" "$2")" "$3"; }

for p in $BM $CM $WM1 $WM2; do wait_for 10 "/healthz on port $p" health "$p"; done
ok "/healthz answers 200 on broker, collector and both workers"
scrape "$BM" | grep -q '^# TYPE arxdigest_broker_jobs_queued gauge$' || fail "broker /metrics lacks its TYPE lines"
scrape "$CM" | grep -q '^arxdigest_collector_renders_total{outcome="ok"} 0$' || fail "collector counters not at 0"
scrape "$WM1" | grep -q '^arxdigest_worker_llm_request_duration_seconds_bucket{le="+Inf"} 0$' \
  || fail "worker histogram missing"
ok "/metrics in the exposition format from the start"

# ---- run 1: counters against report.json
timeout 120 "$BIN/arxdigest" submit "${COMMON[@]}" --source "snapshot:$SAMPLE" \
  --broker "tcp://127.0.0.1:$CONTROL_PORT" --wait >"$T/submit1.out" 2>"$T/submit1.log" &
SUBMIT=$!
# Scrape the broker all along the run (a loaded machine is slow to poll), judge afterwards.
( i=0; while kill -0 "$SUBMIT" 2>/dev/null; do
    curl -sf --noproxy '*' --max-time 2 "http://127.0.0.1:$BM/metrics" >"$T/during.$i.prom" || true
    i=$((i + 1)); sleep 0.1
  done ) &
SCRAPER=$!
wait "$SUBMIT" || fail "submit --wait failed: $(tail -5 "$T/submit1.log")"
RUN1=$(head -1 "$T/submit1.out")
wait "$SCRAPER" || true
MID=$(grep -l '^arxdigest_broker_runs_active 1$' "$T"/during.*.prom | head -1 || true)
[ -n "$MID" ] || fail "no scrape saw the run active"
grep -q '^arxdigest_broker_workers 2$' "$MID" || fail "mid-run: broker does not count 2 workers"
ok "scraped mid-run: run active, 2 workers, $(grep '^arxdigest_broker_jobs_done_total ' "$MID")"
[ -f "$T/out/$RUN1/report.json" ] || fail "no report.json for $RUN1"
sleep 1.5   # the broker samples its gauges once a second
for p in $BM $CM $WM1 $WM2; do scrape "$p" >"$T/m$p.prom"; done
python3 - "$T/out/$RUN1/report.json" "$T/m$BM.prom" "$T/m$CM.prom" "$T/m$WM1.prom" "$T/m$WM2.prom" <<'PY'
import json, re, sys
rep = json.load(open(sys.argv[1]))
def parse(path):
    out = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        key, val = line.rsplit(" ", 1)
        out[key] = float(val)
    return out
broker, coll, w1, w2 = (parse(p) for p in sys.argv[2:6])
def check(cond, msg):
    if not cond:
        print("FAIL:", msg); sys.exit(1)
def per_state(m, name):
    res = {}
    for k, v in m.items():
        g = re.fullmatch(name + r'\{profile="([^"]*)",state="([^"]*)"\}', k)
        if g:
            res[(g[1], g[2])] = res.get((g[1], g[2]), 0) + v
    return res
check(broker["arxdigest_broker_papers_harvested_total"] == rep["harvested"], "broker harvested != report")
check(broker["arxdigest_broker_papers_duplicate_total"] == rep["duplicates"], "broker duplicates != report")
jobs = broker["arxdigest_broker_jobs_created_total"]
check(jobs > 3 and broker["arxdigest_broker_jobs_done_total"] == jobs, f"jobs done != created ({jobs})")
check(broker["arxdigest_broker_jobs_failed_total"] == 0 and broker["arxdigest_broker_jobs_requeued_total"] == 0,
      "an undisturbed run failed or re-queued jobs")
check(broker['arxdigest_broker_runs_total{state="collected"}'] == 1, "runs collected != 1")
check(broker["arxdigest_broker_runs_active"] == 0 and broker["arxdigest_broker_jobs_in_flight"] == 0
      and broker["arxdigest_broker_jobs_queued"] == 0, "broker gauges not back to idle")
check(broker["arxdigest_broker_workers"] == 2, "workers alive != 2")
wsum = per_state(w1, "arxdigest_worker_papers_total")
for k, v in per_state(w2, "arxdigest_worker_papers_total").items():
    wsum[k] = wsum.get(k, 0) + v
csum = per_state(coll, "arxdigest_collector_papers_total")
for name, counts in rep["profiles"].items():
    for state in ("matched", "enriched", "below_threshold", "excluded", "failed"):
        n = counts.get(state, 0)
        check(wsum.get((name, state), 0) == n, f"workers {name}/{state} = {wsum.get((name, state), 0)}, report {n}")
        check(csum.get((name, state), 0) == n, f"collector {name}/{state} = {csum.get((name, state), 0)}, report {n}")
check(w1["arxdigest_worker_jobs_done_total"] > 0 and w2["arxdigest_worker_jobs_done_total"] > 0,
      "both workers did jobs")
check(w1["arxdigest_worker_jobs_done_total"] + w2["arxdigest_worker_jobs_done_total"] == jobs,
      "worker jobs done do not add up to the broker's")
check(coll["arxdigest_collector_results_stored_total"] == jobs and coll["arxdigest_collector_acks_total"] == jobs,
      "collector stored/ACKed != jobs")
check(coll['arxdigest_collector_renders_total{outcome="ok"}'] == 1, "renders != 1")
check(coll["arxdigest_collector_render_duration_seconds_count"] == 1, "render histogram count != 1")
print(f"ok - counters agree with report.json: {int(jobs)} jobs, {rep['harvested']} papers, "
      f"{len(rep['profiles'])} profiles, summed over 2 workers")
PY
for p in $BM $CM $WM1 $WM2; do health "$p" || fail "/healthz not 200 after the run on $p"; done
ok "/healthz still 200 after the run"

# ---- graceful stop of idle workers, then slowed workers; one shares w1's metrics port
kill -TERM "$W1_PID" "$W2_PID"
for pid in $W1_PID $W2_PID; do
  wait_for 10 "idle worker $pid to exit" sh -c "! kill -0 $pid"
  wait "$pid" || fail "worker $pid exited with an error on SIGTERM"
done
grep -q 'worker stopped' "$T/worker1.log" || fail "worker1 did not log its stop"
ok "idle workers exit 0 on SIGTERM"
AX_TEST_JOB_DELAY_MS=250 ARXDIGEST_WORKER_NAME=w3 start worker3 "$BIN/arxdigest-worker" "${COMMON[@]}" "${WORKER[@]}" \
  --set "worker.metrics=127.0.0.1:$WM4" --set worker.capacity=32
W3_PID=${PIDS[-1]}
wait_for 10 "worker3 to serve /metrics" grep -q 'metrics served' "$T/worker3.log"   # then w4 finds the port taken
AX_TEST_JOB_DELAY_MS=250 ARXDIGEST_WORKER_NAME=w4 start worker4 "$BIN/arxdigest-worker" "${COMMON[@]}" "${WORKER[@]}" \
  --set "worker.metrics=127.0.0.1:$WM4" --set worker.capacity=32
W4_PID=${PIDS[-1]}
wait_for 10 "worker4 to log the port in use" grep -q 'running without /metrics' "$T/worker4.log"
wait_for 10 "both slowed workers to join" sh -c "grep -q 'worker joined\" worker=w3' '$T/broker.log' && grep -q 'worker joined\" worker=w4' '$T/broker.log'"
kill -0 "$W4_PID" 2>/dev/null || fail "a worker whose metrics port is in use exited"
[ "$(grep -c 'running without /metrics' "$T/worker4.log")" = 1 ] || fail "the port in use is not logged exactly once"
ok "a second worker on the same metrics port logs it once and keeps running"

# ---- run 2: SIGTERM one worker mid-run (its jobs are handed back at once)
timeout 180 "$BIN/arxdigest" submit "${COMMON[@]}" --source "snapshot:$SAMPLE" \
  --broker "tcp://127.0.0.1:$CONTROL_PORT" --wait >"$T/submit2.out" 2>"$T/submit2.log" &
SUBMIT=$!
wait_for 30 "run 2 to start" sh -c "[ \$(grep -c 'run started' '$T/broker.log') -ge 2 ]"
sleep 1.5
# Each worker holds about half the run's jobs (capacity 32) and judges one per 250 ms, so
# w4 has jobs it has not started: SIGTERM it now. It finishes the one it is on and hands
# back the rest with BYE.
kill -TERM "$W4_PID"
wait_for 10 "worker4 to exit after SIGTERM" sh -c "! kill -0 $W4_PID"
wait "$W4_PID" || fail "worker4 exited with an error on SIGTERM"
grep -q 'worker stopped' "$T/worker4.log" || fail "worker4 did not log its stop"
wait_for 5 "the broker to log the hand-back" grep -q 'job handed back" run=.* job=.* worker=w4' "$T/broker.log"
ok "SIGTERM: worker4 exited 0 and the broker logged $(grep -c 'job handed back' "$T/broker.log") job(s) handed back"
wait "$SUBMIT" || fail "run 2 did not complete: $(tail -5 "$T/submit2.log")"
RUN2=$(head -1 "$T/submit2.out")
grep -q 'lease expired' "$T/broker.log" && fail "a job waited for its lease instead of being handed back"
grep -q 'heartbeat lost' "$T/broker.log" && fail "a stopped worker was taken for dead instead of saying BYE"
grep -q "job re-queued\" run=$RUN2" "$T/broker.log" && fail "a hand-back counted as a failed attempt"
python3 - "$T/out/$RUN1/report.json" "$T/out/$RUN2/report.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def check(cond, msg):
    if not cond:
        print("FAIL:", msg); sys.exit(1)
check(b["harvested"] == a["harvested"], "run 2 harvested differs")
for name, ca in a["profiles"].items():
    cb = b["profiles"][name]
    for state in ("matched", "enriched", "below_threshold", "excluded", "failed"):
        check(cb.get(state, 0) == ca.get(state, 0), f"{name}/{state}: {cb.get(state)} vs {ca.get(state)}")
    check(cb["total"] == b["harvested"] and cb["consistent"], f"{name}: states do not add up")
    check(cb.get("failed", 0) == 0, f"{name}: failed papers after a graceful stop")
print("ok - run 2 has every paper exactly once, the same counts as run 1")
PY
for prof in recsys vision; do
  diff <(grep -v '生成时间\|Generated' "$T/out/$RUN1/$prof/digest.md") \
       <(grep -v '生成时间\|Generated' "$T/out/$RUN2/$prof/digest.md") >/dev/null \
    || fail "$prof digest of the interrupted run differs from the undisturbed one"
done
ok "digests of the interrupted run equal the undisturbed run's"
[ "$(metric "$BM" arxdigest_broker_jobs_handed_back_total)" != 0 ] || fail "handed-back counter still 0"

# ---- broker and collector stop cleanly
kill -TERM "$W3_PID" "$BROKER_PID" "$COLLECTOR_PID"
for pid in $W3_PID $BROKER_PID $COLLECTOR_PID; do
  wait_for 10 "process $pid to exit after SIGTERM" sh -c "! kill -0 $pid"
  wait "$pid" || fail "process $pid exited with an error on SIGTERM"
done
grep -q 'broker stopping' "$T/broker.log" || fail "broker did not log its stop"
grep -q 'collector stopping' "$T/collector.log" || fail "collector did not log its stop"
ok "broker, collector and the last worker exit 0 on SIGTERM"
