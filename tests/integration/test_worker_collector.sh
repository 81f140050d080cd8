#!/usr/bin/env bash
# The worker's and the collector's sides of docs/protocol.md, each real binary facing fake
# peers written in Python (worker_peer.py): READY with its capacity, garbage JOBs dropped,
# RESULT before DONE, re-sent RESULT without ACK, reconnect to a silent broker, RESET,
# the JOB's lease token echoed in WORKING and DONE; the collector drops garbage, stores
# only the RESULT of an outstanding job of an active run (the job's papers, the run's
# profiles: forged ones create no key, 20 000 profiles are refused at once), ACKs late
# RESULTs of finished runs and jobs without changing them, and a duplicate RESULT changes
# no count.
source "$(dirname "$0")/lib.sh"
start_redis
BP=$(free_port); CP=$(free_port); RCP=$(free_port)
head -n 5 "$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl" >"$T/snap.jsonl"
start collector "$BIN/arxdigest-collector" --set "redis.url=$REDIS_URL" --set "collector.bind=tcp://127.0.0.1:$RCP" \
  --set collector.metrics= --set "collector.output_dir=$T/out"
AX_READY_FILE="$T/peer.ready" /usr/bin/python3 "$AX_SOURCE_DIR/tests/integration/worker_peer.py" \
  "$BP" "$CP" "$RCP" "$REDIS_PORT" "$T/snap.jsonl" &
peer=$!
PIDS+=("$peer")
wait_for 10 "the fake peers" test -e "$T/peer.ready"
ARXDIGEST_WORKER_CAPACITY=2 ARXDIGEST_WORKER_HEARTBEAT_MS=200 ARXDIGEST_WORKER_LIVENESS=3 \
ARXDIGEST_WORKER_RESULT_TIMEOUT_MS=1000 start worker "$BIN/arxdigest-worker" --set "redis.url=$REDIS_URL" \
  --set "worker.broker=tcp://127.0.0.1:$BP" --set "worker.collector=tcp://127.0.0.1:$CP" --set worker.metrics=
wait "$peer" || fail "protocol checks failed"
grep -q 'bad JOB dropped' "$T/worker.log" || fail "the worker did not log the garbage JOB"
grep -q 'bad RESULT dropped' "$T/collector.log" || fail "the collector did not log the garbage RESULT"
ok "garbage is logged by both"
