#!/usr/bin/env bash
# Issue 11 item 4: under CURVE every allowed key could SUBMIT and read STATUS, so a worker
# host could start runs. The broker's control socket now admits only the keys of
# curve.allowed_control_clients (and the server's own key); the jobs socket only those
# of curve.allowed_clients. Against the real broker, with keys from `arxdigest keygen`
# and fake peers (pyzmq CURVE):
#   - a worker's key is refused on the control socket (SUBMIT gets no answer, the broker
#     logs `client refused ... socket=control`) and still joins as a worker;
#   - the operator's (control) key SUBMITs (the real `arxdigest submit`, and STATUS) but
#     is refused as a worker;
#   - the server's own key is admitted on the control socket;
#   - a broker with no control list admits only its own key there.
source "$(dirname "$0")/lib.sh"
K="$T/keys"; mkdir -p "$K"
for name in server admin w1; do
  "$BIN/arxdigest" keygen --out "$K" "$name" >/dev/null 2>>"$T/keygen.log" || fail "keygen $name"
done
cp "$K/w1.pub" "$K/allowed"
cp "$K/admin.pub" "$K/allowed_control"
head -n 100 "$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl" >"$T/snap.jsonl"
CFG="$T/config.yaml"   # JSON is YAML
python3 - "$AX_SOURCE_DIR/tests/integration/pipeline.json" "$T/snap.jsonl" "$CFG" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["run"] = {"source": "snapshot:" + sys.argv[2]}
json.dump(cfg, open(sys.argv[3], "w"), ensure_ascii=False)
PY
start_redis
BP=$(free_port); CP=$(free_port)
export ARXDIGEST_CURVE_ENABLED=true ARXDIGEST_CURVE_SERVER_PUBLIC_KEY="$K/server.pub" \
  ARXDIGEST_BROKER_METRICS= ARXDIGEST_REDIS_URL="$REDIS_URL"
start broker env ARXDIGEST_CURVE_SECRET_KEY_FILE="$K/server.key" ARXDIGEST_CURVE_ALLOWED_CLIENTS="$K/allowed" \
  ARXDIGEST_CURVE_ALLOWED_CONTROL_CLIENTS="$K/allowed_control" \
  "$BIN/arxdigest-broker" --config "$CFG" --set "broker.bind=tcp://127.0.0.1:$BP" \
  --set "broker.control=tcp://127.0.0.1:$CP"
wait_for 10 "broker" grep -q "broker ready" "$T/broker.log"

# The real command line with the operator's key: a run is accepted.
ARXDIGEST_CURVE_SECRET_KEY_FILE="$K/admin.key" timeout 40 "$BIN/arxdigest" submit --config "$CFG" \
  --broker "tcp://127.0.0.1:$CP" >"$T/submit.out" 2>"$T/submit.log" || fail "admin submit failed: $(cat "$T/submit.log")"
RUN=$(head -1 "$T/submit.out")
[ -n "$RUN" ] || fail "admin submit printed no run id"
ok "arxdigest submit with the control key starts run $RUN"

PEER=(timeout 60 /usr/bin/python3 "$AX_SOURCE_DIR/tests/integration/curve_peer.py" "$K" "tcp://127.0.0.1:$BP"
      "tcp://127.0.0.1:$CP" "$T/snap.jsonl")
"${PEER[@]}" "$T/broker.log" lists || fail "control allow-list checks"
grep -q 'socket=workers reason="key not in curve.allowed_clients"' "$T/broker.log" \
  || fail "the control key's READY was not logged as refused on the workers' socket"

# A broker without curve.allowed_control_clients: only its own key on the control socket.
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
start broker2 env ARXDIGEST_CURVE_SECRET_KEY_FILE="$K/server.key" ARXDIGEST_CURVE_ALLOWED_CLIENTS="$K/allowed" \
  "$BIN/arxdigest-broker" --config "$CFG" --set "broker.bind=tcp://127.0.0.1:$BP" \
  --set "broker.control=tcp://127.0.0.1:$CP"
wait_for 10 "broker2" grep -q "broker ready" "$T/broker2.log"
grep -q "curve.allowed_control_clients lists no key" "$T/broker2.log" || fail "no warning about the empty control list"
"${PEER[@]}" "$T/broker2.log" own-key-only || fail "empty control list checks"
ok "control and worker keys are kept apart on the broker's sockets"
