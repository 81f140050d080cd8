#!/usr/bin/env bash
# The broker's side of docs/protocol.md, against the real arxdigest-broker and
# redis-server, with fake workers written in Python (protocol_peer.py): credit is never
# exceeded, leases expire and are extended by WORKING, a silent worker is declared dead
# and its jobs re-dispatched, a job that keeps failing ends with its papers recorded as
# failed, unknown peers get RESET, only the holder of a job's lease token may finish or fail
# it (a DONE or a fatal FAIL from anyone else changes nothing; the holder's DONE counts
# from a new identity), STATUS answers, and garbage changes nothing.
source "$(dirname "$0")/lib.sh"
start_redis
BP=$(free_port); CP=$(free_port)
head -n 200 "$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl" >"$T/snap.jsonl"
ARXDIGEST_BROKER_LEASE_MS=1000 ARXDIGEST_BROKER_HEARTBEAT_MS=200 ARXDIGEST_BROKER_LIVENESS=3 ARXDIGEST_BROKER_MAX_ATTEMPTS=2 \
  start broker "$BIN/arxdigest-broker" --set "redis.url=$REDIS_URL" --set "broker.bind=tcp://127.0.0.1:$BP" \
  --set "broker.control=tcp://127.0.0.1:$CP" --set broker.metrics=
wait_for 10 "broker" grep -q "broker ready" "$T/broker.log"
AX_BROKER_LOG="$T/broker.log" /usr/bin/python3 "$AX_SOURCE_DIR/tests/integration/protocol_peer.py" "tcp://127.0.0.1:$BP" "tcp://127.0.0.1:$CP" \
  "$T/snap.jsonl" "$REDIS_PORT"
kill -0 "${PIDS[1]}" || fail "the broker died"
ok "broker alive after the whole protocol session"
