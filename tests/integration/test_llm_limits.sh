#!/usr/bin/env bash
# What a hostile or broken LLM provider may cost (issue 11 items 7, 8, 20): real redis-server,
# broker, collector and workers against the fake OpenAI-compatible server.
#  1. an answer that never ends and one with a 200 KB summary: the worker reads at most
#     llm.max_response_bytes of a body and no field over AX_LLM_FIELD_MAX_BYTES enters a
#     digest; those papers fail with the reason, the others are enriched, memory stays flat;
#  2. a 429 asking to wait a day: nobody waits longer than llm.max_retry_after_s, the papers
#     that would wait fail with the provider's words, the run finishes, the cluster is not
#     paused, and the next run is served at once;
#  3. workers killed with kill -9 mid-run: the report counts every request the provider
#     received (a request is recorded before it goes out) and the tokens of every answer
#     but those in flight at the kills.
source "$(dirname "$0")/lib.sh"
start_redis
stats() { llm_stats "$@"; }
control() { curl -sS -XPOST "http://127.0.0.1:$1/_control" -d "$2" >/dev/null; }

cat >"$T/config.yaml" <<YAML
broker: { job_size: 64 }
worker: { concurrency: 2, capacity: 4 }
collector: { group_by: run }
llm: { rpm: 100000, tpm: 100000000, max_in_flight: 64, timeout_s: 60 }
run: { source: "snapshot:$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl" }
profiles:
  - name: recsys
    language: en
    categories: [cs.IR]
    interest: "recommender systems"
    keywords:
      - { term: recommendation, aliases: [recommender] }
      - { term: ranking, aliases: [re-ranking] }
      - retrieval
      - { term: ctr, aliases: ["click-through rate"] }
YAML
BP=$(free_port); CP=$(free_port); COLP=$(free_port)
COMMON=(--config "$T/config.yaml" --set "redis.url=$REDIS_URL" --set broker.metrics= --set worker.metrics=
        --set collector.metrics=)
start collector "$BIN/arxdigest-collector" "${COMMON[@]}" --set "collector.bind=tcp://127.0.0.1:$COLP" \
  --set "collector.output_dir=$T/out"
start broker "$BIN/arxdigest-broker" "${COMMON[@]}" --set "broker.bind=tcp://127.0.0.1:$BP" \
  --set "broker.control=tcp://127.0.0.1:$CP"
WPIDS=()
stop_workers() {
  for p in "${WPIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${WPIDS[@]:-}"; do [ -n "$p" ] && while kill -0 "$p" 2>/dev/null; do sleep 0.05; done; done
  WPIDS=()
}
worker() {   # worker N URL [--set ...]: starts worker N (log worker-N.log, appended)
  local n="$1" url="$2"; shift 2
  ARXDIGEST_LLM_API_KEY=sk-test ARXDIGEST_WORKER_NAME="w$n" "$BIN/arxdigest-worker" "${COMMON[@]}" \
    --set "worker.broker=tcp://127.0.0.1:$BP" --set "worker.collector=tcp://127.0.0.1:$COLP" \
    --set "llm.base_url=$url" "$@" >>"$T/worker-$n.log" 2>&1 &
  PIDS+=($!)
  WPIDS[$n]=$!
}
submit() {   # submit LABEL INTEREST: one run with that interest (a cache miss) to the end; RUN, REPORT set
  local label="$1"
  sed "s/interest: .*/interest: \"$2\"/" "$T/config.yaml" >"$T/config-$label.yaml"
  timeout "${3:-90}" "$BIN/arxdigest" submit "${COMMON[@]}" --config "$T/config-$label.yaml" \
    --broker "tcp://127.0.0.1:$CP" --wait >"$T/$label.out" 2>"$T/$label.err" || return 1
  RUN=$(head -1 "$T/$label.out")
  REPORT="$T/out/$RUN/report.json"
}
count() { jget "d['profiles']['recsys']['$1']" <"$REPORT"; }
reasons() { redis-cli -p "$REDIS_PORT" HVALS "ax:run:{$RUN}:states:recsys" | grep '^failed' || true; }

# 1. -------------------------------------------------------------------------------------
# One worker, one request at a time: the first request streams forever, the second and its
# repair request answer a 200 KB summary; every other answer is good.
start_fake_llm big --latency-ms 20 --fail-endless-next 1 --fail-huge-next 2 --huge-bytes 200000
BIG=$PORT
worker 1 "http://127.0.0.1:$BIG" --set worker.concurrency=1 --set llm.max_response_bytes=1048576
t0=$SECONDS
submit big "big answers" || fail "run with an endless answer failed: $(tail -3 "$T/big.err")"
secs=$((SECONDS - t0))
[ "$secs" -lt 40 ] || fail "the endless answer was read for ${secs}s (llm.timeout_s is 60)"
S=$(stats "$BIG")
[ "$(echo "$S" | jget 'd["faults"].get("endless", 0)')" = 1 ] && [ "$(echo "$S" | jget 'd["faults"].get("huge", 0)')" = 2 ] \
  || fail "the faults were not served: $(echo "$S" | jget 'd["faults"]')"
streamed=$(echo "$S" | jget 'd["endless_bytes"]')
[ "$streamed" -le $((8 * 1048576)) ] || fail "the worker read $streamed bytes of an endless answer (cap 1 MiB)"
hwm=$(awk '/VmHWM/{print $2}' "/proc/${WPIDS[1]}/status")
[ "$hwm" -lt 400000 ] || fail "worker peak RSS ${hwm} kB"
[ "$(count failed)" = 2 ] && [ "$(count matched)" = 0 ] || fail "big: failed $(count failed), matched $(count matched)"
enriched1=$(count enriched)
total=$((enriched1 + 2))      # the papers the profile matches
reasons | grep -q 'LLM answer cut off: longer than llm.max_response_bytes (1048576 bytes)' \
  || fail "no reason for the endless answer: $(reasons)"
reasons | grep -q 'summary is 200000 bytes long, at most 16384 are allowed' \
  || fail "no reason for the 200 KB summary: $(reasons)"
big_file=$(find "$T/out/$RUN" -type f -size +1M | head -1)
[ -z "$big_file" ] || fail "a file over 1 MB in the outputs: $big_file"
! grep -rqa 'huge huge huge' "$T/out/$RUN" || fail "the huge summary reached an output"
ok "endless answer cut at $streamed bytes, 200 KB summary refused (twice): 2 papers failed with the reason, $enriched1 enriched, in ${secs}s, worker peak RSS ${hwm} kB"
stop_workers

# 2. -------------------------------------------------------------------------------------
# Every request: 429 "try again in 24h". Two workers, llm.max_retry_after_s 3.
start_fake_llm day --latency-ms 20 --fail-429-long 1.0
DAY=$PORT
for n in 1 2; do worker "$n" "http://127.0.0.1:$DAY" --set llm.max_retry_after_s=3; done
t0=$SECONDS
submit day "a day's wait" 60 || fail "the run behind a day's Retry-After did not finish: $(tail -3 "$T/day.err")"
secs=$((SECONDS - t0))
[ "$(count failed)" = "$total" ] || fail "day: $(count failed) of $total papers failed, enriched $(count enriched)"
[ "$(reasons | grep -c 'the provider asks to wait 86400 s, longer than llm.max_retry_after_s (3 s): HTTP 429.*requests per day')" \
  = "$total" ] || fail "failed without the provider's words: $(reasons | head -3)"
sent=$(stats "$DAY" | jget 'd["requests"]')
[ "$sent" -le $((total / 2)) ] || fail "$sent requests for $total papers: the refusal was not remembered"
pause=$(redis-cli -p "$REDIS_PORT" --scan --pattern 'ax:llm:*:pause' | head -1)
[ -z "$pause" ] || [ "$(redis-cli -p "$REDIS_PORT" PTTL "$pause")" -le 3000 ] \
  || fail "the cluster is paused for $(redis-cli -p "$REDIS_PORT" PTTL "$pause") ms"
ok "a day's Retry-After: $total papers failed with the provider's words in ${secs}s ($sent requests), no cluster pause"
control "$DAY" '{"clear_faults": true}'
sleep 3   # the refusal lasts llm.max_retry_after_s
t0=$SECONDS
submit after "the next day" 60 || fail "the run after the refusal failed: $(tail -3 "$T/after.err")"
[ "$(count enriched)" = "$total" ] || fail "after: enriched $(count enriched) of $total"
ok "the next run is served at once: $total enriched in $((SECONDS - t0))s"
stop_workers

# 3. -------------------------------------------------------------------------------------
# Two workers, 2 requests in flight each, 400 ms answers; worker 1 is killed with kill -9
# twice while its requests are in flight and restarted.
start_fake_llm slow --latency-ms 400
SLOW=$PORT
for n in 1 2; do worker "$n" "http://127.0.0.1:$SLOW"; done
sed "s/interest: .*/interest: \"kills\"/" "$T/config.yaml" >"$T/config-kill.yaml"
timeout 120 "$BIN/arxdigest" submit "${COMMON[@]}" --config "$T/config-kill.yaml" --broker "tcp://127.0.0.1:$CP" \
  --wait >"$T/kill.out" 2>"$T/kill.err" &
SUB=$!
kills=0
for at in 12 36; do
  seen() { [ "$(stats "$SLOW" | jget 'd["requests"]')" -ge "$at" ]; }
  wait_for 60 "$at requests" seen
  kill -9 "${WPIDS[1]}"
  wait "${WPIDS[1]}" 2>/dev/null || true
  kills=$((kills + 1))
  worker 1 "http://127.0.0.1:$SLOW"
done
wait "$SUB" || fail "the run with killed workers failed: $(tail -3 "$T/kill.err")"
RUN=$(head -1 "$T/kill.out")
REPORT="$T/out/$RUN/report.json"
[ "$(count enriched)" = "$total" ] || fail "kill: enriched $(count enriched) of $total"
S=$(stats "$SLOW")
read -r fake_req fake_tok <<<"$(echo "$S" | jget 'd["requests"], d["tokens"]["total"]' | tr -d '(),')"
read -r rep_req rep_tok <<<"$(jget 'd["llm"]["requests"], d["llm"]["prompt_tokens"] + d["llm"]["completion_tokens"]' <"$REPORT" | tr -d '(),')"
# A request is counted before it is sent: at most the few granted in the very turn of a kill
# could be counted and never sent.
[ "$rep_req" -ge "$fake_req" ] && [ "$rep_req" -le $((fake_req + kills * 2)) ] \
  || fail "the provider received $fake_req requests, the report says $rep_req"
# Tokens are known only from answers: those in flight at a kill (at most 2 a kill) are paid
# and never seen.
per=$((fake_tok / fake_req + 1))
[ "$rep_tok" -le "$fake_tok" ] && [ "$rep_tok" -ge $((fake_tok - kills * 2 * per * 2)) ] \
  || fail "the provider answered $fake_tok tokens, the report says $rep_tok"
ok "$kills × kill -9: the provider received $fake_req requests, the report counts $rep_req; tokens $rep_tok of $fake_tok"
