#!/usr/bin/env bash
# Every output of SPEC section 5 from a real run: the bundled sample plus one hostile paper
# (a title with <script>, an abstract with ](javascript:...), |, *, _, a stray </details>
# and <details>) through redis-server, broker, worker and collector, grouped by day:
#  - one folder per day that has papers (no empty ones), each with digest.md,
#    by-category.md, papers.jsonl and papers/<id>.md; papers.jsonl lines add up to the
#    profile's matched count and carry every field; index.md lists the days newest first;
#    site/index.html, a page per digest, feed.xml (well-formed Atom);
#  - the hostile paper lands escaped in every format: its title reads back intact from
#    papers.jsonl and feed.xml, and no file holds it raw where it could act;
#  - `arxdigest render RUN --group-by month` re-renders from Redis into month folders,
#    and rendering by day again reproduces every file but the generation time.
source "$(dirname "$0")/lib.sh"
start_redis
SAMPLE="$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl"
SNAP="$T/snapshot.jsonl"
cp "$SAMPLE" "$SNAP"
python3 - >>"$SNAP" <<'PY'
import json
print(json.dumps({"id": "2606.99001", "submitter": None, "authors": "Eve Hacker, <b>Mallory</b>",
  "authors_parsed": [["Hacker", "Eve", ""], ["<b>Mallory</b>", "", ""]],
  "title": "<script>alert(1)</script> ranking | *bold* _it_ for recommendation",
  "comments": None, "journal-ref": None, "doi": None, "report-no": None, "categories": "cs.IR",
  "license": None,
  "abstract": "A user study ](javascript:alert(1)) with | pipes | and *stars* and </details> then <details> "
              "and `code` & entities &amp; <img src=x onerror=alert(1)> end.",
  "versions": [{"version": "v1", "created": "Tue, 16 Jun 2026 10:00:00 GMT"}],
  "update_date": "2026-06-16"}))
PY
CFG="$T/config.yaml"
python3 - "$AX_SOURCE_DIR/tests/integration/pipeline.json" "$SNAP" "$CFG" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["run"] = {"source": "snapshot:" + sys.argv[2]}
cfg["collector"] = {"group_by": "day"}
json.dump(cfg, open(sys.argv[3], "w"), ensure_ascii=False, indent=1)
PY
BP=$(free_port); CP=$(free_port); COLP=$(free_port)
COMMON=(--config "$CFG" --set "redis.url=$REDIS_URL" --set broker.metrics= --set worker.metrics= --set collector.metrics=)
start collector "$BIN/arxdigest-collector" "${COMMON[@]}" --set "collector.bind=tcp://127.0.0.1:$COLP" --set "collector.output_dir=$T/out"
start broker "$BIN/arxdigest-broker" "${COMMON[@]}" --set "broker.bind=tcp://127.0.0.1:$BP" --set "broker.control=tcp://127.0.0.1:$CP"
start worker "$BIN/arxdigest-worker" "${COMMON[@]}" --set "worker.broker=tcp://127.0.0.1:$BP" --set "worker.collector=tcp://127.0.0.1:$COLP"
timeout 120 "$BIN/arxdigest" submit "${COMMON[@]}" --broker "tcp://127.0.0.1:$CP" --wait >"$T/submit.out" 2>"$T/submit.log" \
  || fail "run failed: $(tail -5 "$T/submit.log")"
RUN=$(head -1 "$T/submit.out")
OUT="$T/out/$RUN"

python3 - "$OUT" <<'PY'
import json, os, re, sys, xml.etree.ElementTree as ET
out = sys.argv[1]
rep = json.load(open(f"{out}/report.json"))
def check(c, m):
    if not c: print("FAIL:", m); sys.exit(1)
HOSTILE = "<script>alert(1)</script> ranking | *bold* _it_ for recommendation"
for name in ("recsys", "vision"):
    pdir = f"{out}/{name}"
    days = sorted(d for d in os.listdir(pdir) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", d))
    check(days, f"{name}: no day folders")
    total = 0
    for d in days:
        ddir = f"{pdir}/{d}"
        for f in ("digest.md", "by-category.md", "papers.jsonl"):
            check(os.path.isfile(f"{ddir}/{f}"), f"{name}/{d}: no {f}")
        lines = [json.loads(l) for l in open(f"{ddir}/papers.jsonl", encoding="utf-8")]
        check(lines, f"{name}/{d}: an empty period was rendered")
        for p in lines:
            for k in ("id", "version", "title", "authors", "abstract", "categories", "submitted", "state",
                      "hits", "llm"):
                check(k in p, f"{name}/{d}: papers.jsonl line without {k}")
            check(p["state"] == "matched" and p["submitted"].startswith(d), f"{name}/{d}: {p['id']} {p['state']} {p['submitted']}")
            check(os.path.isfile(f"{ddir}/papers/{p['id'].replace('/', '_')}.md"), f"{name}/{d}: no page for {p['id']}")
        md = open(f"{ddir}/by-category.md", encoding="utf-8").read()
        ids = re.findall(r"^### \[\d+\] \[.*\]\(https://arxiv\.org/abs/([^)v]+)", md, re.M)
        check(sorted(ids) == sorted(p["id"] for p in lines), f"{name}/{d}: by-category.md and papers.jsonl differ")
        total += len(lines)
    check(total == rep["profiles"][name]["matched"], f"{name}: {total} papers in papers.jsonl, {rep['profiles'][name]['matched']} matched")
    idx = open(f"{pdir}/index.md", encoding="utf-8").read()
    listed = re.findall(r"^- \*\*(\d{4}-\d{2}-\d{2})\*\*", idx, re.M)
    check(listed == sorted(days, reverse=True), f"{name}: index.md lists {listed[:3]}..., not the days newest first")
    check(os.path.isfile(f"{pdir}/site/index.html"), f"{name}: no site")
    feed = ET.parse(f"{pdir}/site/feed.xml").getroot()
    A = "{http://www.w3.org/2005/Atom}"
    check(feed.tag == A + "feed" and feed.find(A + "id") is not None and feed.find(A + "updated") is not None, "feed.xml is not Atom")
    entries = feed.findall(A + "entry")
    check(entries and len({e.find(A + "id").text for e in entries}) == len(entries), f"{name}: feed entries/ids")
    print(f"ok - {name}: {len(days)} days, {total} papers, every file present, index newest first, feed.xml is Atom")

# the hostile paper, everywhere it lands
d = f"{out}/recsys/2026-06-16"
paper = [json.loads(l) for l in open(f"{d}/papers.jsonl", encoding="utf-8") if "2606.99001" in l]
check(len(paper) == 1 and paper[0]["title"] == HOSTILE, "papers.jsonl does not give the hostile title back intact")
for f in (f"{d}/digest.md", f"{d}/by-category.md", f"{d}/papers/2606.99001.md"):
    text = open(f, encoding="utf-8").read()
    check("<script>" not in text and "<img" not in text and not re.search(r"(?<!\\)\]\(javascript:", text)
          and "<b>Mallory" not in text, f"{f}: hostile text unescaped")
by = open(f"{d}/by-category.md", encoding="utf-8").read()
check(by.count("</details>") == by.count("<details>") == len(re.findall(r"^### \[", by, re.M)), "by-category.md: details blocks broken")
for root, _, files in os.walk(f"{out}/recsys/site"):
    for f in files:
        if f.endswith(".html"):
            text = open(os.path.join(root, f), encoding="utf-8").read()
            check("<script>alert" not in text and "<img src=x" not in text and "<b>Mallory" not in text, f"site {f}: hostile text unescaped")
feed = ET.parse(f"{out}/recsys/site/feed.xml")     # well-formed despite the title
print("ok - the hostile paper is escaped in digest.md, by-category.md, its page, the site and feed.xml; intact in papers.jsonl")
PY
ok "run $RUN: every output per day"

# re-render: by month into another folder, then by day again (same bytes but the time)
"$BIN/arxdigest" render "${COMMON[@]}" "$RUN" --group-by month --output "$T/month" >"$T/render.log" 2>&1 \
  || fail "render --group-by month: $(tail -3 "$T/render.log")"
[ -f "$T/month/$RUN/recsys/2026-06/digest.md" ] && [ -f "$T/month/$RUN/recsys/2026-06/by-category.md" ] \
  || fail "render --group-by month: no month folder"
[ -z "$(ls "$T/month/$RUN/recsys" | grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' || true)" ] || fail "render by month wrote day folders"
sleep 1
"$BIN/arxdigest" render "${COMMON[@]}" "$RUN" --output "$T/again" >"$T/render2.log" 2>&1 || fail "render again failed"
python3 - "$OUT" "$T/again/$RUN" <<'PY' || fail "re-render differs"
import os, re, sys
a, b = sys.argv[1:3]
def strip(t):
    t = re.sub(r".*(生成时间|Generated|generated).*\n?", "", t)
    t = re.sub(r"<updated>[^<]*</updated>", "", t)
    return re.sub(r'"rendered": "[^"]*"', "", t)
n = 0
for root, _, files in os.walk(a):
    for f in files:
        p = os.path.join(root, f); rel = os.path.relpath(p, a); q = os.path.join(b, rel)
        if not os.path.isfile(q):
            print("FAIL: re-render lacks", rel); sys.exit(1)
        x, y = (strip(open(z, encoding="utf-8").read()) for z in (p, q))
        if x != y:
            print("FAIL: re-render differs in", rel); sys.exit(1)
        n += 1
print(f"ok - {n} files compared")
PY
ok "render RUN reproduces every file (but the generation time); --group-by month gives month folders"
