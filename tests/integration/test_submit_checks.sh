#!/usr/bin/env bash
# A SUBMIT from any client is checked like a config file's profiles (common/config.c):
# a profile named ".." (its digests would land outside the run's folder) or
# "report.json" (the run's own file), and keywords, aliases or exclude terms with no
# letter or digit (the matcher would fail every job) get ERROR with the config's
# message, no run is recorded and nothing is written. A good spec still runs.
source "$(dirname "$0")/lib.sh"

# The same profiles in a config file: `arxdigest run` exits 2 naming them, before anything starts.
printf 'profiles:\n  - {name: "..", keywords: [x]}\n  - {name: report.json, keywords: [x]}\n  - {name: p, keywords: [x, "*"], exclude: ["["]}\n' >"$T/bad.yaml"
set +e; "$BIN/arxdigest" run --config "$T/bad.yaml" --set redis.url=redis://127.0.0.1:1/0 >/dev/null 2>"$T/bad.err"; rc=$?; set -e
[ "$rc" -eq 2 ] || fail "bad profiles: exit $rc, expected 2: $(cat "$T/bad.err")"
for m in 'profiles\[0\].name: must be 1-64' 'profiles\[1\].name: is the name of a file' \
         'profiles\[2\].keywords\[1\].term: has no letter or digit' 'profiles\[2\].exclude\[0\]: has no letter or digit'; do
  grep -q "$m" "$T/bad.err" || fail "no '$m' in: $(cat "$T/bad.err")"
done
grep -q "redis" "$T/bad.err" && fail "something started before the config was refused: $(cat "$T/bad.err")"
ok "config with profile names .. and report.json and a keyword \"*\": exit 2 naming each"

start_redis
BP=$(free_port); CP=$(free_port); COLP=$(free_port)
head -n 50 "$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl" >"$T/snap.jsonl"
mkdir -p "$T/out/runs"
COMMON=(--set "redis.url=$REDIS_URL" --set broker.metrics= --set worker.metrics= --set collector.metrics=)
start collector "$BIN/arxdigest-collector" "${COMMON[@]}" --set "collector.bind=tcp://127.0.0.1:$COLP" \
  --set "collector.output_dir=$T/out/runs"
start broker "$BIN/arxdigest-broker" "${COMMON[@]}" --set "broker.bind=tcp://127.0.0.1:$BP" \
  --set "broker.control=tcp://127.0.0.1:$CP"
start worker "$BIN/arxdigest-worker" "${COMMON[@]}" --set "worker.broker=tcp://127.0.0.1:$BP" \
  --set "worker.collector=tcp://127.0.0.1:$COLP"
wait_for 10 "broker" grep -q "broker ready" "$T/broker.log"

/usr/bin/python3 - "tcp://127.0.0.1:$CP" "$T/snap.jsonl" "$REDIS_PORT" <<'PY' || fail "SUBMIT checks"
import sys, time
import msgpack, zmq
sys.path.insert(0, __import__("os").environ["AX_SOURCE_DIR"] + "/tests/integration")
from peerlib import check, redis_cli

CONTROL, SNAPSHOT, PORT = sys.argv[1:4]
ctx = zmq.Context()

def submit(profiles):
    req = ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.connect(CONTROL)
    spec = {"v": 1, "source": "snapshot:" + SNAPSHOT, "categories": [], "from": None, "to": None,
            "job_size": 10, "group_by": "run", "profiles": profiles}
    req.send_multipart([b"AXP1", b"SUBMIT", msgpack.packb(spec)])
    check(req.poll(5000), "the broker answers SUBMIT")
    frames = req.recv_multipart()
    req.close()
    return frames[1].decode(), msgpack.unpackb(frames[2], raw=False)

def profile(name="p", kw=None, ex=None):
    return {"name": name, "title": "t", "lang": "en", "interest": "", "cats": [],
            "kw": kw or [{"t": "model", "a": [], "co": None}], "ex": ex or [], "min": 1, "top": 20}

bad = [
    ([profile("..")], "profiles[0].name: must be 1-64 characters"),
    ([profile("p"), profile("report.json")], "profiles[1].name: is the name of a file the run's output folder holds"),
    ([profile(kw=[{"t": "model", "a": [], "co": None}, {"t": "*", "a": [], "co": None}])],
     'profiles[0].keywords[1].term: has no letter or digit (got "*")'),
    ([profile(kw=[{"t": "model", "a": ["["], "co": None}])],
     'profiles[0].keywords[0].aliases: item 1 has no letter or digit (got "[")'),
    ([profile(ex=["survey", "--"])], 'profiles[0].exclude: item 2 has no letter or digit (got "--")'),
]
for profiles, message in bad:
    cmd, body = submit(profiles)
    check(cmd == "ERROR" and message in body.get("error", ""), "SUBMIT refused: %s (got %s %s)" % (message, cmd, body))
check(redis_cli(PORT, "ZCARD", "ax:runs") == "0", "no refused run was recorded")
cmd, body = submit([profile("ok.name-1", kw=[{"t": "model", "a": ["快手"], "co": None}])])
check(cmd == "OK", "a good spec is accepted: %s" % body)
run = body["run"]
for _ in range(300):
    if redis_cli(PORT, "HGET", "ax:run:{%s}" % run, "state") in ("done", "failed"):
        break
    time.sleep(0.1)
check(redis_cli(PORT, "HGET", "ax:run:{%s}" % run, "state") == "done", "the good run is done")
print(run)
PY
# Only the good run's folder was written, inside the output folder.
ls -A "$T/out" | grep -qvx runs && fail "something was written beside the output folder: $(ls -A "$T/out")"
[ "$(ls -A "$T/out/runs" | wc -l)" -eq 1 ] || fail "output folder holds more than the good run: $(ls -A "$T/out/runs")"
ok "refused specs wrote nothing; the good run rendered inside the output folder"
