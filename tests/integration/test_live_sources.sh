#!/usr/bin/env bash
# The live sources against the fake arXiv (tests/fake_arxiv), which serves the bundled
# sample in arXiv's real Atom / OAI-PMH / RSS layouts:
#  1. `api` over June 2026, cs.IR + cs.CV, with a result cap of 600 (so the window must be
#     split) and 250 results a page, while the fake injects two 503s with Retry-After, a
#     cut body and an empty page: the digests equal those of the same run read from the
#     snapshot file, every paper exactly once; and the harvest was polite: one connection,
#     requests spaced by at least arxiv.min_interval_ms, Retry-After honoured, our UA.
#  2. `oai` (new-style expiring tokens, 300 records a page, one token refused): the same
#     digests again.
#  3. `rss`: the papers announced on the fake's day, as new / cross, in the report; an
#     empty weekend feed is a run with nothing harvested, not an error.
#  4. the API's HTTP 400 error feed ends the run with arXiv's message.
#  5. resume: the broker is killed (-9) mid-harvest and restarted: the run completes with
#     every paper exactly once, the entries read, malformed and filtered counted as in an
#     undisturbed run, and no page before the one in progress is fetched again.
source "$(dirname "$0")/lib.sh"
start_redis
SAMPLE="$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl"
start fake "$PY" "$AX_SOURCE_DIR/tests/fake_arxiv/fake_arxiv.py" --port 0 --corpus "$SAMPLE" \
  --ready-file "$T/fake.port"
wait_for 30 "fake arXiv" test -s "$T/fake.port"
FA="http://127.0.0.1:$(cat "$T/fake.port")"
control() { curl -sS -f -X POST -d "$1" "$FA/_control" >/dev/null || fail "fake control $1"; }
stats() { curl -sS -f "$FA/_stats"; }

CFG="$T/config.yaml"
python3 - "$AX_SOURCE_DIR/tests/integration/pipeline.json" "$CFG" "$FA" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
fa = sys.argv[3]
cfg["arxiv"] = {"api_url": fa + "/api/query", "oai_url": fa + "/oai", "rss_url": fa + "/rss",
                "min_interval_ms": 100, "user_agent": "arxdigest-test (mailto:tests@example.org)",
                "page_size": 250, "api_result_cap": 600, "max_attempts": 4, "timeout_s": 5}
json.dump(cfg, open(sys.argv[2], "w"), ensure_ascii=False, indent=1)
PY
BROKER_PORT=$(free_port); CONTROL_PORT=$(free_port); COLLECTOR_PORT=$(free_port)
COMMON=(--config "$CFG" --set "redis.url=$REDIS_URL" --set broker.metrics= --set worker.metrics= --set collector.metrics=)
start collector "$BIN/arxdigest-collector" "${COMMON[@]}" --set "collector.bind=tcp://127.0.0.1:$COLLECTOR_PORT" \
  --set "collector.output_dir=$T/out"
start_broker() {
  start "broker$1" "$BIN/arxdigest-broker" "${COMMON[@]}" --set "broker.bind=tcp://127.0.0.1:$BROKER_PORT" \
    --set "broker.control=tcp://127.0.0.1:$CONTROL_PORT"
  BROKER_PID="${PIDS[-1]}"
}
start_broker 1
for w in 1 2; do
  start "worker$w" "$BIN/arxdigest-worker" "${COMMON[@]}" \
    --set "worker.broker=tcp://127.0.0.1:$BROKER_PORT" --set "worker.collector=tcp://127.0.0.1:$COLLECTOR_PORT"
done
WINDOW=(--categories cs.IR,cs.CV --from 2026-06-01 --to 2026-06-30)
submit() {  # submit NAME ARGS...: runs to completion; RUN and OUT are set
  local name="$1"; shift
  timeout 300 "$BIN/arxdigest" submit "${COMMON[@]}" --broker "tcp://127.0.0.1:$CONTROL_PORT" "$@" --wait \
    >"$T/$name.out" 2>"$T/$name.log" || fail "$name run failed: $(tail -5 "$T/$name.log")"
  RUN=$(head -1 "$T/$name.out"); OUT="$T/out/$RUN"
  [ -f "$OUT/report.json" ] || fail "$name: no report.json"
}
# same_digests DIR_A DIR_B WHAT: the digests are equal but for the generation time line.
same_digests() {
  for p in recsys vision; do
    diff <(grep -v -e '生成时间' -e 'Generated' "$1/$p/digest.md") <(grep -v -e '生成时间' -e 'Generated' "$2/$p/digest.md") \
      >"$T/diff-$3-$p.txt" || fail "$3: $p digest differs from the snapshot run's: $(head -20 "$T/diff-$3-$p.txt")"
  done
}
# same_counts DIR_A DIR_B WHAT: every profile's count per state is equal. For OAI, whose
# arXiv format dates papers to the day (<created>2026-06-29</created>), digests may order
# equally ranked papers of one day differently, so the counts are what must match.
same_counts() {
  python3 - "$1/report.json" "$2/report.json" "$3" <<'PY'
import json, sys
a, b = (json.load(open(f))["profiles"] for f in sys.argv[1:3])
for name in a:
    for state in ("matched", "enriched", "below_threshold", "excluded", "failed", "total"):
        if a[name][state] != b[name][state]:
            print(f"FAIL: {sys.argv[3]}: {name} {state} {b[name][state]} != {a[name][state]}"); sys.exit(1)
PY
}
report() { python3 -c "import json,sys; r=json.load(open('$1/report.json')); print(r$2)"; }

# -- reference: the same window read from the snapshot file
submit snapshot --source "snapshot:$SAMPLE" "${WINDOW[@]}"
REF="$OUT"; REF_N=$(report "$REF" '["harvested"]')
[ "$REF_N" -gt 1000 ] || fail "reference run harvested only $REF_N papers"
ok "reference snapshot run: $REF_N papers"

# -- 1. api, with faults
control '{"reset": true, "cap": 600}'
control '{"fail": [{"path": "api", "status": 503, "retry_after": 1, "count": 2}], "truncate": {"path": "api", "count": 1, "at": 0.4}, "empty_page": {"path": "api", "count": 1}}'
submit api --source api "${WINDOW[@]}"
API_OUT="$OUT"
[ "$(report "$OUT" '["harvested"]')" = "$REF_N" ] || fail "api harvested $(report "$OUT" '["harvested"]'), expected $REF_N"
[ "$(report "$OUT" '["duplicates"]')" = 0 ] || fail "api: duplicates"
same_digests "$REF" "$OUT" api
stats >"$T/api-stats.json"
python3 - "$T/api-stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
log = [r for r in s["log"] if r["kind"] == "api"]
def check(c, m):
    if not c: print("FAIL:", m); sys.exit(1)
check(s["max_concurrent_connections"] == 1, f"{s['max_concurrent_connections']} connections at once")
gaps = [b["t_mono"] - a["t_mono"] for a, b in zip(log, log[1:])]
check(min(gaps) >= 0.1, f"requests {min(gaps):.3f}s apart, below min_interval_ms 100")
for a, b, g in zip(log, log[1:], gaps):
    if a["status"] == 503:
        check(g >= 1.0, f"retried {g:.3f}s after a 503 with Retry-After: 1")
check(all("mailto:tests@example.org" in (r["user_agent"] or "") for r in log), "User-Agent without the contact")
statuses = [r["status"] for r in log]
check(statuses.count(503) == 2, f"503s seen: {statuses}")
check(any(r["fault"] == "truncate" for r in log) and any(r["fault"] == "empty_page" for r in log), "faults injected")
splits = {r["query"].split("submittedDate")[1].split("&")[0] for r in log}
check(len(splits) >= 3, f"the window was not split: {splits}")
print(f"ok - polite: {len(log)} requests on 1 connection, >= {min(gaps):.3f}s apart, Retry-After kept, {len(splits)} windows")
PY
ok "api: $REF_N papers through 503s, a cut body and an empty page; digests equal the snapshot run's"

# -- 2. oai, new-style tokens, one refused
control '{"reset": true, "oai_token_style": "new", "oai_page_size": 300, "bad_token": 1}'
submit oai --source oai "${WINDOW[@]}"
[ "$(report "$OUT" '["harvested"]')" = "$REF_N" ] || fail "oai harvested $(report "$OUT" '["harvested"]'), expected $REF_N"
same_counts "$REF" "$OUT" oai
ok "oai: $REF_N papers over resumption tokens (one refused: set listed again, nothing twice); same counts"
# a deleted record is skipped and counted; a window with no records is an empty run
DEL=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    p = json.loads(l)
    if p["id"].startswith("2606.") and "cs.IR" in p["categories"].split(): print(p["id"]); break' "$SAMPLE")
control "{\"reset\": true, \"deleted\": [\"$DEL\"]}"
submit oai-deleted --source oai "${WINDOW[@]}"
[ "$(report "$OUT" '["harvested"]')" = $((REF_N - 1)) ] || fail "oai with $DEL deleted harvested $(report "$OUT" '["harvested"]')"
[ "$(report "$OUT" '["malformed"]')" = 1 ] || fail "the deleted record is not counted"
submit oai-none --source oai --categories cs.IR --from 2027-01-01 --to 2027-01-02
[ "$(report "$OUT" '["harvested"]')" = 0 ] || fail "noRecordsMatch harvested something"
ok "oai: a deleted record skipped and counted; noRecordsMatch is an empty run"

# -- 3. rss: the fake's announcement day; then an empty (weekend) feed
control '{"reset": true}'
submit rss --source rss --categories cs.IR,cs.CV
EXPECT=$(python3 - "$SAMPLE" "$(curl -sS "$FA/_control" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rss_day_effective"])')" <<'PY'
import json, sys
from email.utils import parsedate_to_datetime
day = sys.argv[2]; n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    p = json.loads(line)
    cats = p["categories"].split()
    if parsedate_to_datetime(p["versions"][0]["created"]).strftime("%Y-%m-%d") == day and \
       any(c in ("cs.IR", "cs.CV") for c in cats):
        n += 1          # new (primary asked for) or cross: both kept by default
print(n)
PY
)
[ "$(report "$OUT" '["harvested"]')" = "$EXPECT" ] || fail "rss harvested $(report "$OUT" '["harvested"]'), expected $EXPECT"
ok "rss: $EXPECT papers announced (new + cross)"
control '{"rss_empty": true}'
submit rss-empty --source rss --categories cs.IR
[ "$(report "$OUT" '["harvested"]')" = 0 ] || fail "empty feed harvested something"
ok "rss: an empty weekend feed is a run with nothing harvested"

# -- 4. the API's 400 error feed
control '{"reset": true, "replay": [{"path": "api", "file": "api_atom_error_badid_http400_2026-04-12.xml", "status": 400}]}'
if timeout 60 "$BIN/arxdigest" submit "${COMMON[@]}" --broker "tcp://127.0.0.1:$CONTROL_PORT" --source api \
     "${WINDOW[@]}" --wait >"$T/err.out" 2>"$T/err.log"; then
  fail "a run fed the API's error feed succeeded"
fi
grep -q "incorrect id format for abc" "$T/err.log" || fail "arXiv's message not reported: $(tail -3 "$T/err.log")"
ok "api: the 400 error feed fails the run with arXiv's message"

# -- 5. resume after kill -9 mid-harvest
control '{"reset": true, "cap": 600, "slow_ms": 150}'
timeout 30 "$BIN/arxdigest" submit "${COMMON[@]}" --broker "tcp://127.0.0.1:$CONTROL_PORT" --source api "${WINDOW[@]}" \
  >"$T/resume.out" 2>"$T/resume.log" || fail "submit failed"
RUN=$(head -1 "$T/resume.out")
RKEY="ax:run:{$RUN}"
wait_for 120 "700 papers split into jobs" sh -c "[ \"\$(redis-cli -p $REDIS_PORT HGET '$RKEY' harvested)\" -ge 700 ]"
kill -9 "$BROKER_PID"
CURSOR=$(redis-cli -p "$REDIS_PORT" HGET "$RKEY" cursor)
BEFORE=$(stats | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["log"]))')
start_broker 2
wait_for 300 "the resumed run to finish" test -f "$T/out/$RUN/report.json"
[ "$(report "$T/out/$RUN" '["harvested"]')" = "$REF_N" ] || fail "resumed run harvested $(report "$T/out/$RUN" '["harvested"]'), expected $REF_N"
[ "$(report "$T/out/$RUN" '["duplicates"]')" = 0 ] || fail "resumed run: duplicates"
for n in read malformed filtered; do      # the cursor's page is fetched again, counted once
  [ "$(report "$T/out/$RUN" "[\"$n\"]")" = "$(report "$API_OUT" "[\"$n\"]")" ] \
    || fail "resumed run: $n $(report "$T/out/$RUN" "[\"$n\"]"), undisturbed $(report "$API_OUT" "[\"$n\"]")"
done
same_digests "$REF" "$T/out/$RUN" resume
stats >"$T/resume-stats.json"
python3 - "$T/resume-stats.json" "$BEFORE" "$CURSOR" <<'PY'
import json, sys, time, urllib.parse
s = json.load(open(sys.argv[1])); before = int(sys.argv[2]); cursor = sys.argv[3]
def check(c, m):
    if not c: print("FAIL:", m); sys.exit(1)
key, taken = cursor.rsplit("|", 1)
kind, a, b, start = key.split()
check(kind == "api", f"cursor {cursor!r}")
fmt = lambda t: time.strftime("%Y%m%d%H%M", time.gmtime(int(t)))
api = [r for r in s["log"] if r["kind"] == "api" and r["status"] == 200]
old = [r for r in api if r["n"] <= before]
new = [r for r in api if r["n"] > before]
q = urllib.parse.parse_qs(new[0]["query"])
check(f"[{fmt(a)} TO {fmt(b)}]" in q["search_query"][0] and q["start"] == [start],
      f"first request after the restart {new[0]['query']} is not the cursor's page {cursor}")
# Pages fetched before the kill and again after it: only the one the cursor names and the
# (at most two) pages read ahead of it, never one whose papers were all split into jobs.
first_at = min(i for i, r in enumerate(old) if r["query"] == new[0]["query"])
again = [r["query"] for r in new if r["query"] in {o["query"] for o in old}]
check(all(any(o["query"] == g for o in old[first_at:]) for g in again), "a page before the cursor was fetched again")
check(len(again) <= 3, f"{len(again)} pages fetched again")
print(f"ok - resumed at the cursor's page ({cursor}, {taken} papers of it taken): {len(again)} page(s) fetched again, none before it")
PY
ok "resume: broker killed mid-harvest, restarted; every paper once, same digests"
