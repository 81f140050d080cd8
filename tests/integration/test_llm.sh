#!/usr/bin/env bash
# LLM enrichment end to end (SPEC section 4): real redis-server, broker, 3 workers and the
# collector against the fake OpenAI-compatible server replaying real DeepSeek answers.
#  1. every matched paper is enriched, requests are valid for OpenAI's spec, the fake never
#     had to send a 429, and the digest shows translated titles and interest scores;
#  2. the same input again makes zero LLM requests (cache);
#  3. a provider whose limit is far below ours (429 storm), with garbage answers and 500s:
#     no paper lost, every paper enriched or failed with a reason;
#  4. a wrong API key stops the run at once with the provider's message.
source "$(dirname "$0")/lib.sh"
start_redis
start_fake() { start_fake_llm "$1" --api-key sk-good "${@:2}"; }
stats() { llm_stats "$@"; }

# The provider allows 30 requests in any 6 s (300/min) and so are we configured: the three
# workers together must stay under it (no 429) while using it.
start_fake fake --latency-ms 50 --rpm 30 --window-s 6
GOOD=$PORT
start_fake storm --latency-ms 20 --rpm 40 --window-s 4 --fail-garbage 0.15 --fail-500 0.1 --repair-ok
STORM=$PORT

cat >"$T/config.yaml" <<YAML
broker: { job_size: 16 }
worker: { concurrency: 8, capacity: 8 }
collector: { group_by: run }
llm: { rpm: 300, tpm: 2000000, max_in_flight: 12, timeout_s: 20, budget_usd: 0 }
run: { source: "snapshot:$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl" }
profiles:
  - name: recsys
    title: "ArXiv cs.IR 每日论文摘要"
    language: zh
    categories: [cs.IR]
    interest: "推荐系统：召回、排序、CTR 预估"
    keywords:
      - { term: recommendation, aliases: [recommender] }
      - { term: ranking, aliases: [re-ranking] }
      - retrieval
      - { term: ctr, aliases: ["click-through rate"] }
    top_n: 20
YAML
BP=$(free_port); CP=$(free_port); COLP=$(free_port)
COMMON=(--config "$T/config.yaml" --set "redis.url=$REDIS_URL" --set broker.metrics= --set worker.metrics=
        --set collector.metrics=)
start collector "$BIN/arxdigest-collector" "${COMMON[@]}" --set "collector.bind=tcp://127.0.0.1:$COLP" \
  --set "collector.output_dir=$T/out"
start broker "$BIN/arxdigest-broker" "${COMMON[@]}" --set "broker.bind=tcp://127.0.0.1:$BP" \
  --set "broker.control=tcp://127.0.0.1:$CP"
WPIDS=()
workers() {   # workers KEY BASE_URL [extra --set ...]: (re)starts 3 workers
  for p in "${WPIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  WPIDS=()
  local key="$1" url="$2"; shift 2
  for w in 1 2 3; do
    ARXDIGEST_LLM_API_KEY="$key" ARXDIGEST_WORKER_NAME="w$w" start "worker$w" "$BIN/arxdigest-worker" "${COMMON[@]}" \
      --set "worker.broker=tcp://127.0.0.1:$BP" --set "worker.collector=tcp://127.0.0.1:$COLP" \
      --set "llm.base_url=$url" "$@"
    WPIDS+=("${PIDS[-1]}")
  done
}
submit() {   # submit LABEL [--set ...]: one run to the end; RUN, REPORT set
  local label="$1"; shift
  timeout "${AX_SUBMIT_TIMEOUT:-120}" "$BIN/arxdigest" submit "${COMMON[@]}" "$@" --broker "tcp://127.0.0.1:$CP" --wait \
    >"$T/$label.out" 2>"$T/$label.err" || return 1
  RUN=$(head -1 "$T/$label.out")
  REPORT="$T/out/$RUN/report.json"
}

# 1. -------------------------------------------------------------------------------------
workers sk-good "http://127.0.0.1:$GOOD"
submit first || fail "first run failed: $(tail -5 "$T/first.err")"
read -r matched enriched failed below requests hits <<<"$(jget 'd["profiles"]["recsys"]["matched"], d["profiles"]["recsys"]["enriched"], d["profiles"]["recsys"]["failed"], d["profiles"]["recsys"]["below_threshold"], d["llm"]["requests"], d["llm"]["cache_hits"]' <"$REPORT" | tr -d '(),')"
[ "$enriched" -gt 20 ] && [ "$matched" -eq 0 ] && [ "$failed" -eq 0 ] \
  || fail "first run: enriched $enriched, matched $matched, failed $failed"
[ "$requests" -eq "$enriched" ] && [ "$hits" -eq 0 ] || fail "first run: $requests requests, $hits cache hits for $enriched papers"
S1=$(stats "$GOOD")
[ "$(echo "$S1" | jget 'd["invalid_requests"]["count"]')" -eq 0 ] \
  || fail "requests invalid for OpenAI's spec: $(echo "$S1" | jget 'd["invalid_requests"]')"
[ "$(echo "$S1" | jget 'd["sent_429"]')" -eq 0 ] || fail "3 workers together exceeded the shared limit: the fake sent 429s"
rate1=$(echo "$S1" | jget 'round((len(d["arrivals"]) - 1) / (d["arrivals"][-1] - d["arrivals"][0]), 2)')
"$PY" -c "import sys; sys.exit(0 if $rate1 >= 4.5 else 1)" || fail "3 workers used only $rate1 of 5 requests/s"
[ "$(echo "$S1" | jget 'd["max_in_flight"]')" -le 12 ] || fail "more than llm.max_in_flight in flight: $S1"
md="$T/out/$RUN/recsys/digest.md"
grep -qE '\*\*感兴趣评分\*\*: 【[1-5]分】' "$md" || fail "no interest score in the digest"
grep -q '^\*\*英文标题\*\*: ' "$md" && ! grep -q '未评分' "$md" || fail "digest not enriched"
first_title=$(grep -m1 '^## 1\. ' "$md")
echo "$first_title" | grep -qP '[\x{4e00}-\x{9fff}]' || fail "first title is not translated: $first_title"
"$BIN/arxdigest" status "$RUN" "${COMMON[@]}" >"$T/status1.out"
grep -qE "llm: $enriched requests, 0 cache hits, [0-9]+ prompt \+ [0-9]+ completion tokens" "$T/status1.out" \
  || fail "status does not show the LLM accounting: $(cat "$T/status1.out")"
[ "$(jget 'd["llm"]["cost_usd"] > 0 and d["llm"]["prompt_tokens"] > 0' <"$REPORT")" = True ] || fail "no cost in the report"
ok "run 1: $enriched papers enriched in $requests valid requests at $rate1/s of 5/s allowed, no 429, digest shows scores and translated titles"

# 2. -------------------------------------------------------------------------------------
before=$(echo "$S1" | jget 'd["requests"]')
submit second || fail "second run failed: $(tail -5 "$T/second.err")"
after=$(stats "$GOOD" | jget 'd["requests"]')
hits2=$(jget 'd["llm"]["cache_hits"]' <"$REPORT")
[ "$after" -eq "$before" ] && [ "$hits2" -eq "$enriched" ] \
  || fail "second run: $((after - before)) LLM requests, $hits2 cache hits (expected 0 and $enriched)"
diff <(grep -v '生成时间' "$md") <(grep -v '生成时间' "$T/out/$RUN/recsys/digest.md") >/dev/null \
  || fail "the cached run's digest differs"
ok "run 2 on the same input: 0 LLM requests, $hits2 cache hits, same digest"

# 3. -------------------------------------------------------------------------------------
# Another reader's interest (so the cache misses), a provider that allows 40 requests per 4 s
# while we are configured for 6000/min, 15 % garbage answers and 10 % 500s.
sed 's/interest: .*/interest: "召回与重排"/' "$T/config.yaml" >"$T/config2.yaml"
workers sk-good "http://127.0.0.1:$STORM" --set llm.rpm=6000
submit storm --config "$T/config2.yaml" || fail "storm run failed: $(tail -5 "$T/storm.err"); fake: $(stats "$STORM" | head -c 1500)"
read -r m2 e2 f2 total2 <<<"$(jget 'd["profiles"]["recsys"]["matched"], d["profiles"]["recsys"]["enriched"], d["profiles"]["recsys"]["failed"], d["profiles"]["recsys"]["total"]' <"$REPORT" | tr -d '(),')"
S3=$(stats "$STORM")
sent429=$(echo "$S3" | jget 'd["sent_429"]')
[ "$sent429" -gt 0 ] || fail "the storm provider never sent a 429: the test proves nothing"
[ $((e2 + f2)) -eq "$enriched" ] && [ "$m2" -eq 0 ] || fail "storm: enriched $e2 + failed $f2 != $enriched"
[ "$e2" -ge $((enriched * 9 / 10)) ] || fail "storm: only $e2 of $enriched enriched"
if [ "$f2" -gt 0 ]; then
  redis-cli -p "$REDIS_PORT" HVALS "ax:run:{$RUN}:states:recsys" | grep -q '^failed	LLM' \
    || fail "failed papers carry no LLM reason"
fi
[ "$(echo "$S3" | jget 'd["repairs"]')" -gt 0 ] || fail "no repair request was made for the garbage answers"
ok "429 storm ($sent429 429s), garbage and 500s: $e2 enriched, $f2 failed with a reason, none lost"

# 4. -------------------------------------------------------------------------------------
workers sk-wrong "http://127.0.0.1:$GOOD"
sed 's/interest: .*/interest: "冷启动"/' "$T/config.yaml" >"$T/config3.yaml"
t0=$SECONDS
if submit badkey --config "$T/config3.yaml"; then fail "a run with a wrong API key succeeded"; fi
grep -q "Incorrect API key" "$T/badkey.err" || fail "no clear message: $(tail -3 "$T/badkey.err")"
[ $((SECONDS - t0)) -lt 30 ] || fail "the wrong key took $((SECONDS - t0)) s to stop the run"
ok "wrong API key: run stopped in $((SECONDS - t0)) s with \"$(grep -o 'Incorrect API key[^.]*' "$T/badkey.err" | head -1)\""

# 5. -------------------------------------------------------------------------------------
# A budget of a fraction of a cent: spent after a few answers; the rest stay matched, listed.
workers sk-good "http://127.0.0.1:$GOOD" --set llm.budget_usd=0.002 --set llm.price_per_mtok.input=100 \
  --set llm.price_per_mtok.output=100 --set worker.concurrency=1
sed 's/interest: .*/interest: "预算测试"/' "$T/config.yaml" >"$T/config4.yaml"
submit budget --config "$T/config4.yaml" || fail "budget run failed: $(tail -5 "$T/budget.err")"
read -r m5 e5 n5 cost5 <<<"$(jget 'd["profiles"]["recsys"]["matched"], d["profiles"]["recsys"]["enriched"], len(d["profiles"]["recsys"]["unenriched"]), d["llm"]["cost_usd"]' <"$REPORT" | tr -d '(),')"
# Each answer costs ~$0.1 here: after the first, only requests already in flight (one per
# worker) may still land.
[ "$e5" -gt 0 ] && [ "$e5" -le 3 ] && [ "$m5" -gt 0 ] && [ "$n5" -eq "$m5" ] \
  || fail "budget: enriched $e5 (at most 3), matched $m5, listed $n5"
jget 'd["profiles"]["recsys"]["unenriched"][0]["reason"]' <"$REPORT" | grep -q "budget" || fail "unenriched without the budget reason"
ok "budget \$0.002 spent (cost \$$cost5): $e5 enriched, $m5 left unenriched and listed in the report with the reason"

# 6. -------------------------------------------------------------------------------------
# The API keys used above never left the workers' environment: not in any log, output,
# `arxdigest status`, nor anywhere in Redis (every key and value, through a dump).
"$BIN/arxdigest" status "${COMMON[@]}" >"$T/status-all.out" 2>&1 || true
redis-cli -p "$REDIS_PORT" --no-auth-warning save >/dev/null
leaks=$(grep -rlaF -e sk-good -e sk-wrong "$T"/*.log "$T/out" "$T"/status*.out "$T/redis" 2>/dev/null \
        | grep -v -e '/fake[^/]*\.log$' || true)
[ -z "$leaks" ] || fail "an API key was written to: $leaks"
ok "the API keys appear in no log, output, status or Redis data"
