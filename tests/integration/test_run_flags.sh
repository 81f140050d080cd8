#!/usr/bin/env bash
# `arxdigest run --set KEY=VALUE` reaches every daemon it starts (SPEC section 6), also the
# keys it does not pin itself: with a config file whose llm.base_url points at another
# provider, `--set llm.base_url=...` sends the papers (and the API key) to the endpoint
# given on the command line, and `--set llm.budget_usd=...` is enforced by the workers.
# No daemon carries the values on its command line (they travel in its environment).
source "$(dirname "$0")/lib.sh"
start_fake() { start_fake_llm "$1" --api-key sk-good --latency-ms 20; }
requests() { llm_stats "$1" | jget 'd["requests"]'; }

start_fake flagged; FLAGGED=$PORT
start_fake in-file; INFILE=$PORT

cat >"$T/config.yaml" <<YAML
collector: { group_by: run }
llm: { base_url: "http://127.0.0.1:$INFILE", budget_usd: 0, timeout_s: 20 }
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
YAML

# Each answer costs ~$0.1 at these prices: the budget is spent after the first one.
ARXDIGEST_LLM_API_KEY=sk-good timeout 180 "$BIN/arxdigest" run --config "$T/config.yaml" --workers 1 \
  --output "$T/out" --set redis.url=redis://127.0.0.1:1/0 --set "llm.base_url=http://127.0.0.1:$FLAGGED" \
  --set llm.budget_usd=0.002 --set llm.price_per_mtok.input=100 --set llm.price_per_mtok.output=100 \
  --set worker.concurrency=1 >"$T/run.out" 2>"$T/run.log" &
RUNPID=$!
PIDS+=("$RUNPID")
wait_for 30 "the daemons to start" grep -q 'logs in ' "$T/run.log"
# While they run: no daemon has the flagged values on its command line.
for f in /proc/[0-9]*/cmdline; do
  cmd=$(tr '\0' ' ' <"$f" 2>/dev/null || true)
  case "$cmd" in
    *arxdigest-broker*|*arxdigest-worker*|*arxdigest-collector*)
      case "$cmd" in *"127.0.0.1:$FLAGGED"*|*budget_usd*) fail "a daemon got the config on its command line: $cmd";; esac;;
  esac
done
rc=0; wait "$RUNPID" || rc=$?
[ "$rc" -eq 0 ] || fail "arxdigest run failed (exit $rc): $(tail -5 "$T/run.log")"

in_file=$(requests "$INFILE"); flagged=$(requests "$FLAGGED")
[ "$in_file" -eq 0 ] || fail "$in_file LLM requests went to the config file's base_url, not to --set llm.base_url"
[ "$flagged" -gt 0 ] || fail "no LLM request reached --set llm.base_url"
ok "--set llm.base_url reached the workers: $flagged requests there, none to the file's endpoint"

report=$(sed -n 's/^report: //p' "$T/run.out")
[ -f "$report" ] || fail "no report printed: $(cat "$T/run.out")"
read -r matched enriched listed <<<"$("$PY" -c 'import json,sys; p=json.load(open(sys.argv[1]))["profiles"]["recsys"]; print(p["matched"], p["enriched"], len(p["unenriched"]))' "$report")"
[ "$enriched" -ge 1 ] && [ "$enriched" -le 2 ] && [ "$matched" -gt 0 ] && [ "$listed" -eq "$matched" ] \
  || fail "--set llm.budget_usd not enforced: enriched $enriched (at most 2), matched $matched, listed $listed"
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1]))["profiles"]["recsys"]["unenriched"][0]["reason"]; sys.exit("budget" not in r)' "$report" \
  || fail "unenriched papers without the budget reason"
ok "--set llm.budget_usd enforced: $enriched enriched, $matched left matched with the budget reason"
