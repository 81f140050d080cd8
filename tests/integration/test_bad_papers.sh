#!/usr/bin/env bash
# Papers that enter a run are real arXiv papers (issue 11): an id that is not arXiv's
# ("../1234567": a link to arxiv.org/abs/../1234567 and no paper page) or a paper without a
# readable submission date (a "1970-01" digest) is counted malformed with its reason, end
# to end through `arxdigest run`; the good papers of the same file are digested as usual.
source "$(dirname "$0")/lib.sh"
SAMPLE="$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl"
head -n 40 "$SAMPLE" >"$T/snap.jsonl"
/usr/bin/python3 - "$SAMPLE" >>"$T/snap.jsonl" <<'PY'
import json, sys
lines = open(sys.argv[1]).readlines()[40:44]
bad = [json.loads(l) for l in lines]
bad[0]["id"] = "../1234567"                      # not an arXiv id
bad[1]["id"] = "cs/../../1234567"                # nor this
del bad[2]["versions"]                           # no submission date at all
bad[3]["versions"] = [{"version": "v1", "created": "someday"}]   # an unreadable one
for rec in bad:
    rec["title"] = "Recommendation " + rec["title"]     # they would all match
    print(json.dumps(rec))
PY
cat >"$T/config.yaml" <<YAML
collector: { group_by: month }
run: { source: "snapshot:$T/snap.jsonl" }
profiles:
  - name: all
    keywords: [recommendation, model, learning, data, the]
    top_n: 100
YAML
(cd "$T" && timeout 120 "$BIN/arxdigest" run --config "$T/config.yaml" --workers 1 --output "$T/out" \
   --set redis.url=redis://127.0.0.1:1/0 >"$T/run.out" 2>"$T/run.log") || fail "run failed: $(tail -5 "$T/run.log")"
report=$(sed -n 's/^report: //p' "$T/run.out")
read -r read_ malformed harvested <<<"$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["read"], r["malformed"], r["harvested"])' "$report")"
[ "$malformed" -eq 4 ] && [ "$harvested" -eq 40 ] \
  || fail "expected 4 malformed and 40 harvested, got malformed $malformed harvested $harvested (read $read_)"
run_dir=$(dirname "$report")
found=$(find "$run_dir" -name '1970-*' | head -3)
[ -z "$found" ] || fail "a digest for 1970 was written: $found"
grep -rl 'abs/\.\./\|1234567' "$run_dir" >/dev/null && fail "a bad id reached the digests: $(grep -rl 'abs/\.\.\|1234567' "$run_dir" | head -3)"
ok "bad ids and missing dates: 4 papers malformed, no 1970-01 digest, no bad link"
