#!/usr/bin/env bash
# Hostile sources (issue 11, items 6, 9 and 21), against the real broker, worker and
# collector:
#  1. SUBMIT snapshot:/dev/zero and snapshot:FIFO get an ERROR naming the reason at once,
#     and the broker keeps answering STATUS;
#  2. a snapshot with a 40 MB line: that line is counted malformed with its line number,
#     the rest is harvested, and the broker's peak RSS stays under 100 MB;
#  3. papers with multi-MB abstracts: jobs are cut by bytes, the papers over
#     broker.paper_max_bytes are recorded failed with the reason, the run completes and
#     its counts add up;
#  4. the broker killed (kill -9) several times mid-harvest, its Redis connections cut in
#     between: the report's read / malformed / filtered count every line exactly once.
source "$(dirname "$0")/lib.sh"
start_redis
SAMPLE="$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl"
BP=$(free_port); CP=$(free_port); COLP=$(free_port)
# Heartbeats every 200 ms, so that a restarted broker RESETs the worker at once; a
# liveness of 25 (5 s), so that an 8 MB job under ASan is not taken for a dead peer.
cat >"$T/config.yaml" <<YAML
broker: { job_size: 10, heartbeat_ms: 200, liveness: 25 }
worker: { heartbeat_ms: 200, liveness: 25, result_timeout_ms: 5000 }
collector: { group_by: run }
profiles:
  - name: p
    categories: [cs]
    keywords: [video, learning]
YAML
COMMON=(--config "$T/config.yaml" --set "redis.url=$REDIS_URL" --set broker.metrics= --set worker.metrics=
        --set collector.metrics=)

launch_broker() {
  "$BIN/arxdigest-broker" "${COMMON[@]}" --set "broker.bind=tcp://127.0.0.1:$BP" \
    --set "broker.control=tcp://127.0.0.1:$CP" >>"$T/broker.log" 2>&1 &
  BROKER=$!
  PIDS+=("$BROKER")
}
start collector "$BIN/arxdigest-collector" "${COMMON[@]}" --set "collector.bind=tcp://127.0.0.1:$COLP" \
  --set "collector.output_dir=$T/out"
launch_broker
wait_for 10 "broker" grep -q "broker ready" "$T/broker.log"
ARXDIGEST_WORKER_NAME=w1 AX_TEST_JOB_DELAY_MS=150 start worker "$BIN/arxdigest-worker" "${COMMON[@]}" \
  --set "worker.broker=tcp://127.0.0.1:$BP" --set "worker.collector=tcp://127.0.0.1:$COLP"

run_state() { redis-cli -p "$REDIS_PORT" HGET "ax:run:{$1}" state 2>/dev/null || true; }
# submit_wait FILE [--set ...]: submits a snapshot run, waits until rendered; RUN = its id.
submit_wait() {
  local snap="$1"; shift
  RUN=$(timeout 30 "$BIN/arxdigest" submit "${COMMON[@]}" --set "run.source=snapshot:$snap" "$@" \
        --broker "tcp://127.0.0.1:$CP" 2>>"$T/submit.log") || fail "submit of $snap failed: $(tail -3 "$T/submit.log")"
  local end=$((SECONDS + 120))
  until [ "$(run_state "$RUN")" = done ]; do
    [ "$SECONDS" -lt "$end" ] || fail "run $RUN of $snap not done after 120 s (state $(run_state "$RUN"))"
    sleep 0.2
  done
}
hwm_mb() { awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$1/status"; }

# ---- 1. /dev/zero and a FIFO ---------------------------------------------------------------
mkfifo "$T/fifo"
/usr/bin/python3 - "tcp://127.0.0.1:$CP" "$T/fifo" <<'PY' || fail "SUBMIT of a non-regular file"
import os, sys, time
import msgpack, zmq
sys.path.insert(0, os.path.join(os.environ["AX_SOURCE_DIR"], "tests/integration"))
from peerlib import check
control, fifo = sys.argv[1:3]
ctx = zmq.Context()

def request(cmd, body):
    s = ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(control)
    t0 = time.time()
    s.send_multipart([b"AXP1", cmd.encode(), msgpack.packb(dict(body, v=1))])
    got = s.poll(3000)
    frames = s.recv_multipart() if got else None
    s.close()
    if not frames:
        return None, {}, time.time() - t0
    return frames[1].decode(), msgpack.unpackb(frames[2], raw=False), time.time() - t0

profile = {"name": "p", "title": "t", "lang": "en", "interest": "", "cats": [],
           "kw": [{"t": "model", "a": [], "co": None}], "ex": [], "min": 1, "top": 20}
spec = {"categories": [], "from": None, "to": None, "job_size": 10, "group_by": "run", "profiles": [profile]}
for path in ("/dev/zero", fifo):
    cmd, body, secs = request("SUBMIT", dict(spec, source="snapshot:" + path))
    check(cmd == "ERROR" and "not a regular file" in body.get("error", "") and path in body["error"] and secs < 2,
          f"SUBMIT snapshot:{path} -> ERROR at once ({secs:.2f} s): {body.get('error')}")
    cmd, body, secs = request("STATUS", {})
    check(cmd == "OK" and body.get("state") == "idle" and secs < 2, f"the broker still answers STATUS: {body}")
PY
kill -0 "$BROKER" || fail "the broker died"
[ "$(redis-cli -p "$REDIS_PORT" ZCARD ax:runs)" = 0 ] || fail "a refused SUBMIT recorded a run"
ok "/dev/zero and a FIFO are refused at once; the broker answers"

# ---- 2. a 40 MB line -----------------------------------------------------------------------
python3 - "$SAMPLE" "$T/long.jsonl" <<'PY'
import json, sys
lines = open(sys.argv[1]).readlines()[:300]
rec = json.loads(lines[0])
rec["id"], rec["abstract"] = "2606.99998", "video " * ((40 << 20) // 6)
with open(sys.argv[2], "w") as f:
    f.writelines(lines[:150])
    f.write(json.dumps(rec) + "\n")             # line 151: valid JSON, 40 MB
    f.writelines(lines[150:])
PY
submit_wait "$T/long.jsonl"
python3 - "$T/out/$RUN/report.json" <<'PY' || fail "the report of the 40 MB line run"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["read"] == 301 and r["malformed"] == 1 and r["harvested"] + r["filtered"] == 300, r
assert r["profiles"]["p"]["consistent"], r["profiles"]["p"]
print("ok - 301 lines read, the 40 MB one malformed, the other 300 harvested or filtered")
PY
grep -q 'line=151 reason="line longer than' "$T/broker.log" || fail "the long line is not logged with its number"
mb=$(hwm_mb "$BROKER")
[ "$mb" -lt 100 ] || fail "broker peak RSS $mb MB after a 40 MB line (bound: 100 MB)"
ok "the 40 MB line is logged as line 151 and skipped; broker peak RSS $mb MB"

# ---- 3. multi-MB abstracts -----------------------------------------------------------------
python3 - "$SAMPLE" "$T/big.jsonl" <<'PY'
import json, sys
lines = open(sys.argv[1]).readlines()[:26]
with open(sys.argv[2], "w") as f:
    for i, line in enumerate(lines):
        rec = json.loads(line)
        rec["categories"] = "cs.CV"
        rec["abstract"] = "learning " * ((9_500_000 if i in (5, 17) else 700_000) // 9)
        f.write(json.dumps(rec) + "\n")
PY
submit_wait "$T/big.jsonl" --set broker.job_size=64
python3 - "$T/out/$RUN/report.json" <<'PY' || fail "the report of the large papers run"
import json, sys
r = json.load(open(sys.argv[1]))
p = r["profiles"]["p"]
assert r["harvested"] == 26 and p["failed"] == 2 and p["consistent"], r
assert r["jobs"]["total"] >= 3, r["jobs"]       # 24 papers of 700 kB: 8 MB jobs hold ~10
print(f"ok - 26 papers harvested in {r['jobs']['total']} jobs, 2 failed, the counts add up")
PY
for id in $(sed -n '6p;18p' "$T/big.jsonl" | python3 -c 'import json,sys; [print(json.loads(l)["id"]) for l in sys.stdin]'); do
  redis-cli -p "$REDIS_PORT" HGET "ax:run:{$RUN}:states:p" "$id" | grep -q "broker.paper_max_bytes" \
    || fail "paper $id: no failed state naming broker.paper_max_bytes"
done
ok "papers over broker.paper_max_bytes are recorded failed with the reason; jobs cut by bytes"

# ---- 4. kill -9 mid-harvest ------------------------------------------------------------------
python3 - "$SAMPLE" "$T/mixed.jsonl" "$T/expected" <<'PY'
import json, sys
src = open(sys.argv[1]).readlines()
lines, malformed, filtered, papers = 0, 0, 0, 0
with open(sys.argv[2], "w") as f:
    for i, line in enumerate(src):
        if i % 7 == 3:
            f.write('{"id":"0704.0002","title":}\n'); malformed += 1; lines += 1
        if i % 11 == 5:
            f.write("\n"); lines += 1
        f.write(line); lines += 1
        if "cs.CV" in json.loads(line)["categories"].split():
            papers += 1
        else:
            filtered += 1
open(sys.argv[3], "w").write(f"{lines} {malformed} {filtered} {papers}\n")
PY
read -r LINES MALFORMED FILTERED PAPERS <"$T/expected"
RUN=$(timeout 30 "$BIN/arxdigest" submit "${COMMON[@]}" --set "run.source=snapshot:$T/mixed.jsonl" \
      --set run.categories=cs.CV --broker "tcp://127.0.0.1:$CP" 2>>"$T/submit.log") || fail "submit failed"
kills=0
for round in 1 2 3 4; do
  sleep "0.$((RANDOM % 5 + 5))"
  redis-cli -p "$REDIS_PORT" CLIENT KILL TYPE normal >/dev/null
  sleep "0.$((RANDOM % 5 + 3))"
  harvested=$(redis-cli -p "$REDIS_PORT" HGET "ax:run:{$RUN}" harvested)
  [ "${harvested:-0}" -lt "$PAPERS" ] || break
  kill -9 "$BROKER"; kills=$((kills + 1))
  echo "kill -9 broker at harvested=${harvested:-0}" >>"$T/faults.log"
  sleep 0.3
  launch_broker
done
[ "$kills" -ge 2 ] || fail "the harvest ended before the broker was killed twice (make the worker slower)"
end=$((SECONDS + 180))
until [ "$(run_state "$RUN")" = done ]; do
  [ "$SECONDS" -lt "$end" ] || fail "run $RUN not done after the kills (state $(run_state "$RUN"))"
  sleep 0.3
done
python3 - "$T/out/$RUN/report.json" "$LINES" "$MALFORMED" "$FILTERED" "$PAPERS" <<'PY' || fail "counts after kill -9"
import json, sys
r = json.load(open(sys.argv[1]))
lines, malformed, filtered, papers = map(int, sys.argv[2:6])
got = (r["read"], r["malformed"], r["filtered"], r["harvested"])
assert got == (lines, malformed, filtered, papers), f"read/malformed/filtered/harvested {got}, expected {(lines, malformed, filtered, papers)}"
assert r["profiles"]["p"]["consistent"], r["profiles"]["p"]
print(f"ok - read {lines}, malformed {malformed}, filtered {filtered}, harvested {papers}: each line once")
PY
ok "after $kills kill -9 of the broker mid-harvest every line is counted once"
