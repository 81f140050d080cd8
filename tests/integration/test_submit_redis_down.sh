#!/usr/bin/env bash
# A SUBMIT to a broker that has no Redis (docs/protocol.md section 6): `arxdigest submit`
# fails at once with "redis unreachable", and the failed submit never becomes a run when
# Redis comes back: the retried submit is the only run. A SUBMIT repeated with the same
# request id gets the same run (an idempotent retry); one past its deadline creates none.
source "$(dirname "$0")/lib.sh"
REDIS_PORT=$(free_port)
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
BP=$(free_port); CP=$(free_port)
head -n 50 "$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl" >"$T/snap.jsonl"
cat >"$T/config.yaml" <<YAML
run: { source: "snapshot:$T/snap.jsonl" }
profiles:
  - { name: p, categories: [cs], keywords: [model] }
YAML
COMMON=(--config "$T/config.yaml" --set "redis.url=$REDIS_URL")
start broker "$BIN/arxdigest-broker" "${COMMON[@]}" --set "broker.bind=tcp://127.0.0.1:$BP" \
  --set "broker.control=tcp://127.0.0.1:$CP" --set broker.metrics=
wait_for 10 "the broker to find Redis down" grep -q "redis unreachable" "$T/broker.log"

# 1. Redis down: the submit fails fast, saying why.
t0=$SECONDS
set +e
timeout 60 "$BIN/arxdigest" submit "${COMMON[@]}" --broker "tcp://127.0.0.1:$CP" >"$T/s1.out" 2>"$T/s1.err"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "submit succeeded without Redis: $(cat "$T/s1.out")"
[ $((SECONDS - t0)) -le 5 ] || fail "submit took $((SECONDS - t0)) s to fail: $(cat "$T/s1.err")"
grep -q "redis unreachable" "$T/s1.err" || fail "submit did not say Redis is unreachable: $(cat "$T/s1.err")"
ok "submit while the broker has no Redis: fails in $((SECONDS - t0)) s with \"$(cat "$T/s1.err")\""

# 2. Redis comes back: the retried submit is the only run.
start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T" --save "" --appendonly no
wait_for 15 "the broker to work" grep -q "broker ready" "$T/broker.log"
run=$("$BIN/arxdigest" submit "${COMMON[@]}" --broker "tcp://127.0.0.1:$CP" 2>"$T/s2.err") \
  || fail "submit with Redis back failed: $(cat "$T/s2.err")"
sleep 1.5
runs=$(redis-cli -p "$REDIS_PORT" ZRANGE ax:runs 0 -1 | tr '\n' ' ')
[ "$runs" = "$run " ] || fail "runs after a failed and a good submit: $runs (expected only $run)"
ok "Redis back: exactly one run, the retried one ($run)"

# 3. Request ids and deadlines, from a fake client.
/usr/bin/python3 - "tcp://127.0.0.1:$CP" "$T/snap.jsonl" "$REDIS_PORT" <<'PY'
import sys, time
import msgpack, zmq
sys.path.insert(0, __import__("os").environ["AX_SOURCE_DIR"] + "/tests/integration")
from peerlib import check, redis_cli

control, snap, port = sys.argv[1:4]
ctx = zmq.Context()
profile = {"name": "p", "title": "t", "lang": "en", "interest": "", "cats": [],
           "kw": [{"t": "model", "a": []}], "ex": [], "min": 1, "top": 20}
spec = {"v": 1, "source": "snapshot:" + snap, "categories": [], "job_size": 10, "group_by": "run",
        "profiles": [profile]}

def submit(**extra):
    req = ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.connect(control)
    req.send_multipart([b"AXP1", b"SUBMIT", msgpack.packb(dict(spec, **extra))])
    check(req.poll(5000), "the broker answers SUBMIT")
    frames = req.recv_multipart()
    req.close()
    return frames[1].decode(), msgpack.unpackb(frames[2], raw=False)

now = int(time.time() * 1000)
before = int(redis_cli(port, "ZCARD", "ax:runs"))
c1, b1 = submit(req="retry-0001", deadline=now + 20000)
c2, b2 = submit(req="retry-0001", deadline=now + 20000)
check(c1 == "OK" and c2 == "OK" and b1["run"] == b2["run"], "a retried request id gets the same run: %s %s" % (b1, b2))
c3, b3 = submit(req="late-0001", deadline=now - 1000)
check(c3 == "ERROR" and "expired" in b3["error"], "a request past its deadline is refused: %s" % b3)
c4, b4 = submit(req="not an id")
check(c4 == "ERROR" and "req" in b4["error"], "a malformed request id is refused: %s" % b4)
check(int(redis_cli(port, "ZCARD", "ax:runs")) == before + 1, "one run for the retried request, none for the others")
PY
ok "request ids make retries idempotent; deadlines are kept"
