#!/usr/bin/env bash
# A finished run's results never change (docs/protocol.md section 4). A worker is paused
# (SIGSTOP) while it holds the run's only job, past its lease, with broker.max_attempts 1:
# the job fails for good, the run is collected and rendered. Then the worker resumes
# (SIGCONT) and delivers its late RESULT: the collector ACKs it without storing it, so the
# report.json rendered at the end of the run and a later `arxdigest render` agree.
source "$(dirname "$0")/lib.sh"
start_redis
BP=$(free_port); CP=$(free_port); COLP=$(free_port)
head -n 8 "$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl" >"$T/snap.jsonl"
cat >"$T/config.yaml" <<YAML
broker: { job_size: 64 }
collector: { group_by: run }
run: { source: "snapshot:$T/snap.jsonl" }
profiles:
  - name: p
    keywords: [learning, model, data, network]
YAML
COMMON=(--config "$T/config.yaml" --set "redis.url=$REDIS_URL" --set broker.metrics= --set worker.metrics=
        --set collector.metrics= --set "collector.output_dir=$T/out")
start collector "$BIN/arxdigest-collector" "${COMMON[@]}" --set "collector.bind=tcp://127.0.0.1:$COLP"
ARXDIGEST_BROKER_LEASE_MS=1000 ARXDIGEST_BROKER_HEARTBEAT_MS=200 ARXDIGEST_BROKER_LIVENESS=3 \
ARXDIGEST_BROKER_MAX_ATTEMPTS=1 start broker "$BIN/arxdigest-broker" "${COMMON[@]}" \
  --set "broker.bind=tcp://127.0.0.1:$BP" --set "broker.control=tcp://127.0.0.1:$CP"
wait_for 10 "broker" grep -q "broker ready" "$T/broker.log"
# The worker holds its RESULT 3 s before sending it (a test hook): the moment to pause it.
AX_TEST_JOB_DELAY_MS=3000 ARXDIGEST_WORKER_HEARTBEAT_MS=200 start worker "$BIN/arxdigest-worker" "${COMMON[@]}" \
  --set "worker.broker=tcp://127.0.0.1:$BP" --set "worker.collector=tcp://127.0.0.1:$COLP"
WPID=${PIDS[-1]}
wait_for 10 "the worker" grep -q "worker ready" "$T/worker.log"
RUN=$("$BIN/arxdigest" submit "${COMMON[@]}" --broker "tcp://127.0.0.1:$CP" 2>"$T/submit.log") || fail "submit failed"
# The job is dispatched as soon as it is recorded (the worker has credit): pause the worker
# then. Whether it is in its 3 s or has not read the JOB yet, its lease runs out.
recorded() { [ "$(redis-cli -p "$REDIS_PORT" HEXISTS "ax:run:{$RUN}:jobs" 1)" = 1 ]; }
wait_for 10 "the job recorded" recorded
kill -STOP "$WPID"
state() { redis-cli -p "$REDIS_PORT" HGET "ax:run:{$RUN}" state; }
is_done() { [ "$(state)" = done ]; }
wait_for 20 "run $RUN done while the worker is paused" is_done
ok "the paused worker's job failed for good and the run was rendered"
cp "$T/out/$RUN/report.json" "$T/report-first.json"
redis-cli -p "$REDIS_PORT" HGETALL "ax:run:{$RUN}:states:p" >"$T/states-first.txt"
[ "$(redis-cli -p "$REDIS_PORT" HGET "ax:run:{$RUN}:counts:p" failed)" = 8 ] || fail "8 papers should have failed"

kill -CONT "$WPID"
# The late RESULT arrives once the worker's 3 s are over: refused, or (the bug) stored.
late() {
  grep -q "result refused" "$T/collector.log" ||
    ! redis-cli -p "$REDIS_PORT" HGETALL "ax:run:{$RUN}:states:p" | cmp -s - "$T/states-first.txt"
}
wait_for 15 "the late RESULT" late
redis-cli -p "$REDIS_PORT" HGETALL "ax:run:{$RUN}:states:p" | cmp -s - "$T/states-first.txt" \
  || fail "the late RESULT changed the finished run's states"
ok "the late RESULT did not change the finished run's states"
grep "result refused" "$T/collector.log" | grep -q "run=$RUN .*ack=yes" \
  || fail "the collector did not log the refused late RESULT as ACKed"
ok "the collector logs the late RESULT as refused and ACKs it (the worker stops re-sending)"

"$BIN/arxdigest" render "$RUN" "${COMMON[@]}" >"$T/render.out" 2>&1 || fail "render failed: $(cat "$T/render.out")"
python3 - "$T/report-first.json" "$T/out/$RUN/report.json" <<'PY'
import json, sys
first, again = (json.load(open(f)) for f in sys.argv[1:3])
for rep in (first, again):
    rep.pop("timings", None)
    for prof in rep["profiles"].values():
        prof.pop("digests", None)
if first != again:
    print("FAIL: the report rendered at the end of the run and a later render disagree:")
    print(json.dumps(first["profiles"]), "\n", json.dumps(again["profiles"]))
    sys.exit(1)
PY
ok "report.json as rendered and a later arxdigest render agree"
kill -0 "$WPID" || fail "the worker died"
