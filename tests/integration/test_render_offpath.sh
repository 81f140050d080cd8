#!/usr/bin/env bash
# Rendering runs off the RESULT/ACK path (collector/renderer.h): while the collector renders
# a 300,000-paper run (a broad profile, a digest a month over a year), it goes on storing and
# acknowledging the RESULTs of the next run, which is collected before the render ends,
# and its /healthz answers 200 all along.
source "$(dirname "$0")/lib.sh"
start_redis
N="${AX_RENDER_PAPERS:-300000}"
"$PY" "$AX_SOURCE_DIR/tests/bench/gen_snapshot.py" "$N" "$T/big.jsonl" >/dev/null
head -n 64 "$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl" >"$T/small.jsonl"
cat >"$T/config.yaml" <<YAML
broker: { job_size: 512 }
collector: { group_by: month }
profiles:
  - name: broad
    language: en
    categories: [cs]
    keywords: [learning, model, data, network, method, results, models, performance]
    top_n: 20
YAML
BP=$(free_port); CP=$(free_port); COLP=$(free_port); MP=$(free_port)
COMMON=(--config "$T/config.yaml" --set "redis.url=$REDIS_URL" --set broker.metrics= --set worker.metrics=)
start collector "$BIN/arxdigest-collector" "${COMMON[@]}" --set "collector.bind=tcp://127.0.0.1:$COLP" \
  --set "collector.output_dir=$T/out" --set "collector.metrics=127.0.0.1:$MP"
start broker "$BIN/arxdigest-broker" "${COMMON[@]}" --set collector.metrics= --set "broker.bind=tcp://127.0.0.1:$BP" \
  --set "broker.control=tcp://127.0.0.1:$CP"
for w in 1 2; do
  start "worker$w" "$BIN/arxdigest-worker" "${COMMON[@]}" --set collector.metrics= \
    --set "worker.broker=tcp://127.0.0.1:$BP" --set "worker.collector=tcp://127.0.0.1:$COLP"
done
submit() {   # submit SNAPSHOT: prints the run id
  "$BIN/arxdigest" submit "${COMMON[@]}" --set collector.metrics= --set "run.source=snapshot:$1" \
    --broker "tcp://127.0.0.1:$CP" 2>>"$T/submit.log"
}
state() { redis-cli -p "$REDIS_PORT" HGET "ax:run:{$1}" state; }

BIG=$(submit "$T/big.jsonl") || fail "submit of the big run failed"
rendering() { [ "$(state "$BIG")" = rendering ]; }
wait_for 300 "the big run to be rendered" rendering
# The big run renders now. A small run goes through the whole cluster meanwhile.
SMALL=$(submit "$T/small.jsonl") || fail "submit of the small run failed"
t0=$SECONDS
healthy=0 unhealthy=0 small_collected_while_rendering=0
while [ "$(state "$BIG")" = rendering ]; do
  code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$MP/healthz" || true)
  if [ "$code" = 200 ]; then healthy=$((healthy + 1)); else unhealthy=$((unhealthy + 1)); fi
  case "$(state "$SMALL")" in
    collected|rendering|done) [ "$(state "$BIG")" = rendering ] && small_collected_while_rendering=1 ;;
  esac
  [ $((SECONDS - t0)) -lt 300 ] || fail "the big run renders for more than 300 s"
  sleep 0.1
done
secs=$((SECONDS - t0))
[ "$(state "$BIG")" = done ] || fail "the big run ended $(state "$BIG")"
[ "$small_collected_while_rendering" = 1 ] \
  || fail "the small run's RESULTs waited for the big run's render (${secs}s): the render blocks the ACK path"
[ "$unhealthy" = 0 ] && [ "$healthy" -gt 0 ] || fail "/healthz: $unhealthy answers not 200, $healthy 200 during the render"
done_small() { [ "$(state "$SMALL")" = done ]; }
wait_for 60 "the small run to be rendered" done_small
harvested=$(jget 'd["harvested"]' <"$T/out/$BIG/report.json")
[ "$harvested" = "$N" ] || fail "the big run harvested $harvested of $N"
ms=$(grep -o "run rendered.*run=$BIG.*ms=[0-9]*" "$T/collector.log" | grep -o 'ms=[0-9]*$' | cut -d= -f2)
ok "a $N-paper run rendered in ${ms} ms (load: $(cut -d" " -f1 /proc/loadavg)); meanwhile the next run was stored, ACKed and collected, /healthz 200 ($healthy of $healthy probes)"
