#!/usr/bin/env bash
# SPEC section 7, "crashes are routine": a run of 20,000 generated papers with 3 workers,
# once undisturbed and once while, at random moments, a worker, the broker and the
# collector are killed with SIGKILL and restarted and redis-server (append-only) is
# restarted, over several rounds. The disturbed run must end with the same digests and
# the same report counts: no paper missing, none twice, every paper in one final state.
source "$(dirname "$0")/lib.sh"
N=${AX_FAULT_PAPERS:-20000}
ROUNDS=${AX_FAULT_ROUNDS:-3}
export ARXDIGEST_BROKER_HEARTBEAT_MS=200 ARXDIGEST_WORKER_HEARTBEAT_MS=200 ARXDIGEST_BROKER_LIVENESS=5 \
  ARXDIGEST_WORKER_LIVENESS=5 ARXDIGEST_WORKER_RESULT_TIMEOUT_MS=1000 ARXDIGEST_BROKER_MAX_ATTEMPTS=6 AX_TEST_JOB_DELAY_MS=12

python3 "$AX_SOURCE_DIR/tests/bench/gen_snapshot.py" "$N" "$T/snap.jsonl" >/dev/null
cat >"$T/config.yaml" <<YAML
broker: { job_size: 20 }
collector: { group_by: run }
run: { source: "snapshot:$T/snap.jsonl" }
profiles:
  - name: recsys
    title: "ArXiv cs.IR 每日论文摘要"
    language: zh
    categories: [cs]
    keywords:
      - { term: recommendation, aliases: [recommender] }
      - { term: ranking, aliases: [re-ranking] }
      - retrieval
      - { term: llm, aliases: ["large language model"] }
      - cold-start
    exclude: [survey]
    top_n: 30
  - name: vision
    language: en
    categories: [cs.CV]
    keywords: [diffusion, video, segmentation, 3d]
    min_hits: 2
    top_n: 25
YAML

REDIS_PORT=$(free_port)
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
BP=$(free_port); CP=$(free_port); COLP=$(free_port)
COMMON=(--config "$T/config.yaml" --set "redis.url=$REDIS_URL" --set broker.metrics= --set worker.metrics=
        --set collector.metrics=)
declare -A PID

launch() {   # launch NAME: (re)starts one component, logs appended
  local name="$1"
  case "$name" in
    redis) redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T" --appendonly yes \
             --appendfsync everysec --save "" >>"$T/redis.log" 2>&1 & ;;
    broker) "$BIN/arxdigest-broker" "${COMMON[@]}" --set "broker.bind=tcp://127.0.0.1:$BP" \
              --set "broker.control=tcp://127.0.0.1:$CP" >>"$T/broker.log" 2>&1 & ;;
    collector) "$BIN/arxdigest-collector" "${COMMON[@]}" --set "collector.bind=tcp://127.0.0.1:$COLP" \
                 --set "collector.output_dir=$T/out" >>"$T/collector.log" 2>&1 & ;;
    worker*) ARXDIGEST_WORKER_NAME="$name" "$BIN/arxdigest-worker" "${COMMON[@]}" \
               --set "worker.broker=tcp://127.0.0.1:$BP" --set "worker.collector=tcp://127.0.0.1:$COLP" \
               >>"$T/$name.log" 2>&1 & ;;
  esac
  PID[$name]=$!
  PIDS+=($!)
}

run_state() { redis-cli -p "$REDIS_PORT" HGET "ax:run:{$1}" state 2>/dev/null || true; }

# submit_and_finish LABEL DISTURB: one run, its id left in RUN_ID (not a subshell: the
# components it restarts must stay known to cleanup). With DISTURB=1, faults are
# injected until the run is done.
submit_and_finish() {
  local label="$1" disturb="$2" run="" end=$((SECONDS + 240))
  run=$("$BIN/arxdigest" submit "${COMMON[@]}" --broker "tcp://127.0.0.1:$CP" 2>>"$T/submit.log") \
    || fail "$label: submit failed"
  local actions=()
  if [ "$disturb" = 1 ]; then
    for _ in $(seq "$ROUNDS"); do actions+=($(printf '%s\n' worker broker collector redis | shuf)); done
  fi
  local i=0
  if [ "$disturb" = 0 ]; then
    sleep 1.5
    "$BIN/arxdigest" status "$run" "${COMMON[@]}" >"$T/status-mid.out" 2>&1 || fail "status failed"
  fi
  while [ "$(run_state "$run")" != done ]; do
    [ "$SECONDS" -lt "$end" ] || fail "$label: run $run not done after 240 s (state $(run_state "$run"))"
    if [ "$i" -lt "${#actions[@]}" ]; then
      sleep "0.$((RANDOM % 7 + 3))"
      local what="${actions[$i]}"; i=$((i + 1))
      case "$what" in
        worker) local w="worker$((RANDOM % 3 + 1))"
                kill -9 "${PID[$w]}"; echo "fault: kill -9 $w" >>"$T/faults.log"; sleep 0.3; launch "$w" ;;
        broker|collector) kill -9 "${PID[$what]}"; echo "fault: kill -9 $what" >>"$T/faults.log"
                sleep 0.3; launch "$what" ;;
        redis)  redis-cli -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || true
                echo "fault: restart redis" >>"$T/faults.log"; sleep 0.5; launch redis
                wait_for 10 "redis back" redis-cli -p "$REDIS_PORT" ping ;;
      esac
    else
      sleep 0.2
    fi
  done
  # Each round has one fault of every kind; the first round at least must be complete.
  [ "$disturb" = 0 ] || [ "$i" -ge 4 ] || fail "$label: the run ended after only $i faults"
  RUN_ID="$run"
}

launch redis
wait_for 10 "redis" redis-cli -p "$REDIS_PORT" ping
for c in collector broker worker1 worker2 worker3; do launch "$c"; done

submit_and_finish baseline 0
BASE="$RUN_ID"
ok "undisturbed run $BASE done"
grep -q "workers alive: 3" "$T/status-mid.out" && grep -q "in flight" "$T/status-mid.out" \
  && grep -qE "rate: [0-9]+ papers/s" "$T/status-mid.out" || fail "status mid-run: $(cat "$T/status-mid.out")"
"$BIN/arxdigest" status "$BASE" "${COMMON[@]}" >"$T/status-end.out"
grep -q "papers: harvested $N, done $N, failed 0" "$T/status-end.out" && grep -q "output: " "$T/status-end.out" \
  || fail "status after the run: $(cat "$T/status-end.out")"
ok "arxdigest status shows workers, jobs in flight and rate mid-run, and the totals at the end"
submit_and_finish disturbed 1
DIST="$RUN_ID"
ok "disturbed run $DIST done after: $(sort "$T/faults.log" | uniq -c | tr -s ' ' | paste -sd, -)"

python3 - "$T/out" "$BASE" "$DIST" <<'PY'
import json, sys, os, re
out, base, dist = sys.argv[1:4]
def load(run):
    rep = json.load(open(f"{out}/{run}/report.json"))
    digests = {}
    for name in rep["profiles"]:
        text = open(f"{out}/{run}/{name}/digest.md", encoding="utf-8").read()
        digests[name] = re.sub(r"\*\*(生成时间|Generated at)\*\*:.*", "", text)
    return rep, digests
rb, db = load(base)
rd, dd = load(dist)
def check(cond, msg):
    if not cond:
        print("FAIL:", msg); sys.exit(1)
    print("ok -", msg)
check(rd["harvested"] == rb["harvested"] == int(os.environ.get("AX_FAULT_PAPERS", "20000")),
      f"harvested {rd['harvested']} papers, as undisturbed ({rb['harvested']})")
check(rd["duplicates"] == rb["duplicates"], "same duplicates count")
for name, pb in rb["profiles"].items():
    pd = rd["profiles"][name]
    for state in ("matched", "enriched", "below_threshold", "excluded", "failed"):
        check(pd[state] == pb[state], f"{name}: {state} {pd[state]} == {pb[state]}")
    check(pd["consistent"] and pd["total"] == rd["harvested"], f"{name}: every paper in exactly one state")
    check(dd[name] == db[name], f"{name}: the digest is the same as the undisturbed run's")
PY
for r in "$BASE" "$DIST"; do
  for p in recsys vision; do
    n=$(redis-cli -p "$REDIS_PORT" HLEN "ax:run:{$r}:states:$p")
    [ "$n" -eq "$N" ] || fail "run $r profile $p: $n paper states, expected $N"
  done
done
ok "Redis holds exactly one state per paper and profile for both runs"
