#!/usr/bin/env bash
# `arxdigest run` as a user runs it: no Redis configured (a private redis-server is started
# and stopped), broker + 2 workers + collector started and stopped by the command, progress
# shown, the digest's path printed, exit 0. Then the ways it must fail: a missing snapshot,
# a config typo, no profiles, and a daemon that dies: non-zero exit with a clear message,
# nothing left running.
source "$(dirname "$0")/lib.sh"
AX="$BIN/arxdigest"
SAMPLE_CFG="$AX_SOURCE_DIR/deploy/sample/arxdigest.yaml"

# 1. The main job on the bundled sample, with an unreachable configured Redis.
(cd "$T" && timeout 120 "$AX" run --config "$SAMPLE_CFG" --workers 2 --output "$T/digests" \
   --set redis.url=redis://127.0.0.1:1/0 >"$T/run.out" 2>"$T/run.log") || fail "arxdigest run failed: $(tail "$T/run.log")"
grep -q "starting a private redis-server" "$T/run.log" || fail "no notice about the private redis"
grep -q "keyword-only run" "$T/run.log" || fail "no notice that the run is keyword-only"
grep -q "progress:" "$T/run.log" || fail "no progress shown"
digest=$(grep -o '/[^ ]*/recsys/2026-06/digest.md' "$T/run.out" | head -1)
[ -n "$digest" ] && [ -f "$digest" ] || fail "run did not print an existing recsys digest path: $(cat "$T/run.out")"
grep -q '^# ArXiv cs.IR' "$digest" || fail "digest has no heading"
grep -q '20 篇（Top 20）' "$digest" || fail "digest is not a top-20"
site=$(sed -n 's/^  site: *\([^ ]*\).*/\1/p' "$T/run.out" | head -1)
[ -n "$site" ] && [ -f "$site" ] || fail "run did not print an existing site index: $(cat "$T/run.out")"
grep -q 'report: ' "$T/run.out" || fail "no report path printed"
report=$(sed -n 's/^report: //p' "$T/run.out")
python3 - "$report" <<'PY' || fail "report counts do not add up"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["harvested"] > 3000, r["harvested"]
for name, p in r["profiles"].items():
    assert p["total"] == r["harvested"] and p["consistent"], (name, p)
    assert p["matched"] > 0, name
PY
ok "run on the bundled sample: private redis, progress, digest and report"
# Its daemons and redis-server were started with endpoints in its private folder.
private=$(sed -n 's/.*(logs in \(.*\))$/\1/p' "$T/run.log")
[ -n "$private" ] || fail "run did not say where its logs are"
sleep 0.3
pgrep -f "$private" >/dev/null && fail "arxdigest run left processes running: $(pgrep -af "$private")"
[ -e "$private" ] && fail "arxdigest run left its private folder $private"
ok "everything it started is stopped"

# 2. A snapshot that does not exist: refused by the broker, clear message, exit 1.
set +e
(cd "$T" && timeout 60 "$AX" run --config "$SAMPLE_CFG" --source snapshot:/nonexistent.jsonl \
   --set redis.url=redis://127.0.0.1:1/0 --output "$T/d2" >"$T/r2.out" 2>"$T/r2.log"); rc=$?
set -e
[ "$rc" -eq 1 ] || fail "missing snapshot: exit $rc, expected 1"
grep -q "nonexistent.jsonl" "$T/r2.log" || fail "missing snapshot not named: $(cat "$T/r2.log")"
ok "missing snapshot: exit 1 naming the file"

# 3. A typo in the config: exit 2, the key named, nothing started.
printf 'collector:\n  output_dri: x\nprofiles:\n  - name: a\n    keywords: [x]\n' >"$T/typo.yaml"
set +e; "$AX" run --config "$T/typo.yaml" >"$T/r3.out" 2>"$T/r3.log"; rc=$?; set -e
[ "$rc" -eq 2 ] || fail "typo: exit $rc, expected 2"
grep -q "output_dri" "$T/r3.log" && grep -q "output_dir" "$T/r3.log" || fail "typo not reported with a suggestion: $(cat "$T/r3.log")"
ok "config typo: exit 2 with the key and a suggestion"

# 4. No profiles at all.
printf 'broker:\n  job_size: 10\n' >"$T/noprof.yaml"
set +e; "$AX" run --config "$T/noprof.yaml" >/dev/null 2>"$T/r4.log"; rc=$?; set -e
[ "$rc" -eq 2 ] && grep -q "no profiles" "$T/r4.log" || fail "no profiles: exit $rc: $(cat "$T/r4.log")"
ok "no profiles: exit 2 with a clear message"
