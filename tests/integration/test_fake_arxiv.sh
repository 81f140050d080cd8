#!/usr/bin/env bash
# The fake arXiv server (tests/fake_arxiv/fake_arxiv.py) that the broker's live harvesters
# (Atom API, OAI-PMH, RSS) are tested against: paging, the date window, the 30 000 cap, the
# 400s, OAI tokens of both styles, sets, OAI errors, deleted records, RSS announce types and
# the empty weekend feed, every fault, replay of the captured fixtures and /_stats
# (selftest.py), then the command line: --ready-file, LISTENING, SIGTERM.
source "$(dirname "$0")/lib.sh"
FA="$AX_SOURCE_DIR/tests/fake_arxiv"
SAMPLE="$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl"

# 1. everything the selftest checks (it starts its own servers on free ports)
"$PY" "$FA/selftest.py" "$SAMPLE" || fail "fake_arxiv selftest"
ok "fake_arxiv selftest"

# 2. the command line: --ready-file holds the port, curl gets a page, SIGTERM stops it
start fake "$PY" "$FA/fake_arxiv.py" --port 0 --corpus "$SAMPLE" --ready-file "$T/fake.port"
wait_for 30 "fake_arxiv to listen" test -s "$T/fake.port"
PORT="$(cat "$T/fake.port")"
grep -q "^LISTENING $PORT\$" "$T/fake.log" || fail "no LISTENING $PORT line"
code="$(curl -sS -o "$T/page.xml" -w '%{http_code}' \
  "http://127.0.0.1:$PORT/api/query?search_query=cat:cs.IR+AND+submittedDate:%5B202606010000+TO+202606302359%5D&start=0&max_results=10&sortBy=submittedDate&sortOrder=ascending")"
[ "$code" = 200 ] || fail "api over curl: $code"
grep -q '<opensearch:totalResults>' "$T/page.xml" || fail "no totalResults"
pid="${PIDS[-1]}"
kill -TERM "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "fake_arxiv ignored SIGTERM"
ok "command line: --ready-file $PORT, LISTENING line, a page over curl, exits on SIGTERM"
