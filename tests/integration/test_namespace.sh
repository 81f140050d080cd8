#!/usr/bin/env bash
# Two brokers never work one namespace (docs/protocol.md section 8, docs/cluster.md):
# 1. `arxdigest run` against a shared Redis that holds a cluster's unfinished run works
#    in a namespace of its own: its run completes, the cluster's run is untouched (same
#    keys, same values), not rendered, and no folder of it lands in the local output.
# 2. A second broker on the cluster's namespace stands by (one log line, no jobs socket,
#    SUBMIT refused), takes over when the first dies, and resumes the unfinished run.
# 3. A broker paused past its lease while a standby took over stops at once when it
#    wakes up; one with broker.standby=false refuses to start beside an active one.
source "$(dirname "$0")/lib.sh"
start_redis
AX="$BIN/arxdigest"
head -n 400 "$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl" >"$T/snap.jsonl"
cat >"$T/config.yaml" <<YAML
broker: { job_size: 20 }
collector: { group_by: run }
run: { source: "snapshot:$T/snap.jsonl" }
profiles:
  - name: p
    categories: [cs]
    keywords: [model, learning]
YAML
COMMON=(--config "$T/config.yaml" --set "redis.url=$REDIS_URL" --set broker.metrics= --set collector.metrics=
        --set worker.metrics=)
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

# broker NAME: a cluster broker on ports of its own (BP_NAME, CP_NAME), default namespace.
broker() {
  local name="$1"; shift
  local bp cp; bp=$(free_port); cp=$(free_port)
  eval "BP_$name=$bp CP_$name=$cp"
  start "$name" "$BIN/arxdigest-broker" "${COMMON[@]}" --set "broker.bind=tcp://127.0.0.1:$bp" \
    --set "broker.control=tcp://127.0.0.1:$cp" "$@"
  eval "PID_$name=${PIDS[-1]}"
}

# The cluster's keys of run $1 and their values, as one digest.
cluster_digest() {
  local k
  for k in $(rcli --scan --pattern "ax:run:{$1}*" | sort) ax:runs ax:render; do
    echo "$k $(rcli TYPE "$k")"
    case "$(rcli TYPE "$k")" in
      hash) rcli HGETALL "$k" | paste - - | sort ;;
      set) rcli SMEMBERS "$k" | sort ;;
      zset) rcli ZRANGE "$k" 0 -1 WITHSCORES ;;
      list) rcli LRANGE "$k" 0 -1 ;;
      string) rcli GET "$k" ;;
    esac
  done | sha256sum
}

# --- a cluster's unfinished run: broker + collector, no worker, SUBMIT, kill -9 -------
broker b1
COLP=$(free_port)
start collector "$BIN/arxdigest-collector" "${COMMON[@]}" --set "collector.bind=tcp://127.0.0.1:$COLP" \
  --set "collector.output_dir=$T/cluster-out"
PID_collector=${PIDS[-1]}
wait_for 10 "the cluster broker" grep -q "broker ready" "$T/b1.log"
R=$("$AX" submit "${COMMON[@]}" --broker "tcp://127.0.0.1:$CP_b1" 2>"$T/submit.err") || fail "submit: $(cat "$T/submit.err")"
wait_for 20 "the cluster run to harvest" test "$(rcli HGET "ax:run:{$R}" jobs_total)" -gt 0
kill -9 "$PID_b1" "$PID_collector"
sleep 0.5
state=$(rcli HGET "ax:run:{$R}" state)
case "$state" in harvesting|dispatching) ;; *) fail "the cluster run is $state, not unfinished" ;; esac
before=$(cluster_digest "$R")
ok "a cluster's unfinished run $R ($state) in the shared Redis"

# --- 1. arxdigest run on the shared Redis ---------------------------------------------
(cd "$T" && timeout 120 "$AX" run "${COMMON[@]}" --workers 1 --output "$T/local" >"$T/run.out" 2>"$T/run.err") \
  || fail "arxdigest run failed: $(tail "$T/run.err")"
[ -e "$T/local/$R" ] && fail "the cluster's run $R landed in the local output"
[ "$(cluster_digest "$R")" = "$before" ] || fail "the cluster's run $R was changed (state now $(rcli HGET "ax:run:{$R}" state))"
rcli LRANGE ax:render 0 -1 | grep -qx "$R" && fail "the cluster's run was queued for rendering"
mine=$(sed -n 's/^run \([^:]*\): source.*/\1/p' "$T/run.err")
[ -n "$mine" ] && [ "$mine" != "$R" ] || fail "arxdigest run did not start a run of its own: $(cat "$T/run.err")"
[ -f "$T/local/$mine/report.json" ] || fail "its own run was not rendered into $T/local/$mine"
grep -q "namespace ax:local:" "$T/run.err" || fail "arxdigest run did not say which namespace it works in"
ns=$(grep -o 'namespace ax:local:[^)]*' "$T/run.err" | head -1 | cut -d' ' -f2)
[ "$(rcli HGET "$ns:run:{$mine}" state)" = done ] || fail "its own run is not done in $ns"
"$AX" status "$mine" "${COMMON[@]}" >"$T/status.out" 2>&1 || fail "status does not find the local run: $(cat "$T/status.out")"
grep -q "run $mine  done" "$T/status.out" || fail "status of the local run: $(cat "$T/status.out")"
ok "arxdigest run worked in $ns: its run done, the cluster's run untouched and not rendered"
# Another `arxdigest run` of this user on this machine holds the namespace: a clear error.
rcli SET "$ns:broker:lease" "elsewhere:1:0000" PX 60000 >/dev/null
set +e
(cd "$T" && timeout 60 "$AX" run "${COMMON[@]}" --workers 1 --output "$T/local2" >/dev/null 2>"$T/run2.err"); rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "elsewhere:1:0000" "$T/run2.err" || fail "arxdigest run beside another: exit $rc: $(cat "$T/run2.err")"
rcli DEL "$ns:broker:lease" >/dev/null
ok "arxdigest run beside another one in its namespace: exit 1 naming the other broker"

# --- 2. a standby broker takes over when the active one dies --------------------------
broker b2
wait_for 10 "b2 active" grep -q "broker ready" "$T/b2.log"
broker b3
wait_for 10 "b3 to stand by" grep -q "another broker works this namespace, standing by" "$T/b3.log"
sleep 1
grep -q "broker ready" "$T/b3.log" && fail "the second broker works the namespace too"
[ "$(grep -c "standing by" "$T/b3.log")" -eq 1 ] || fail "the standby logs more than one line while waiting"
out=$(timeout 20 "$AX" submit "${COMMON[@]}" --broker "tcp://127.0.0.1:$CP_b3" 2>&1) && fail "the standby took a run: $out"
echo "$out" | grep -q "standby" || fail "SUBMIT to the standby: $out"
python3 -c 'import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0)' "$BP_b3" \
  || fail "the standby bound its jobs socket"
ok "a second broker stands by: one log line, no jobs socket, SUBMIT refused"
kill -9 "$PID_b2"
wait_for 15 "b3 to take over" grep -q "broker ready" "$T/b3.log"
grep -q "run resumed\" run=$R" "$T/b3.log" || fail "the new active broker did not resume $R"
ok "the standby takes over when the active broker dies, and resumes the cluster's run"

# --- 3. a paused broker that lost its lease stops; standby=false refuses --------------
broker b4
wait_for 10 "b4 to stand by" grep -q "standing by" "$T/b4.log"
kill -STOP "$PID_b3"
wait_for 20 "b4 to take over from the paused b3" grep -q "broker ready" "$T/b4.log"
kill -CONT "$PID_b3"
wait_for 10 "the paused broker to stop" bash -c "! kill -0 $PID_b3 2>/dev/null"
grep -q "namespace lease lost, stopping" "$T/b3.log" || fail "b3 did not say it lost the lease"
ok "a broker paused past its lease stops when it wakes up; the new holder goes on"
broker b5 --set broker.standby=false
wait_for 10 "b5 to refuse" bash -c "! kill -0 $PID_b5 2>/dev/null"
grep -q "another broker works this namespace and broker.standby is false" "$T/b5.log" || fail "b5: $(cat "$T/b5.log")"
ok "broker.standby=false: a clear error beside an active broker"
