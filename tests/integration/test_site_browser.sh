#!/usr/bin/env bash
# The static site and feed.xml (collector/render/site.c, collector/render/atom_feed.c) as a user meets them:
# site_demo writes a site from real papers plus hostile ones; feed.xml must be valid Atom; the
# site is served by python3 -m http.server and also opened from file://, and Debian's chromium
# (headless) loads digest pages with filters in the URL. On the DOM after the page's script
# ran: exactly the papers matching the filters are visible (the others carry `hidden`), the
# count says so, the search works, hostile text stayed text (no injected element ran), and a
# paper page's back link follows #from= only for a digest. A phone-size screenshot of a
# filtered digest is kept in $AX_BUILD_DIR/artifacts/. Last, a Chinese profile over the day's
# real LLM output (2026-07-01_AI_enhanced_Chinese.jsonl): TL;DRs and labels shown, filters work.
source "$(dirname "$0")/lib.sh"
CHROMIUM="$(command -v chromium || true)"
[ -n "$CHROMIUM" ] || fail "chromium is not installed: run deploy/install-deps.sh (it installs Debian's chromium)"
DEMO="$BIN/tests/site_demo"
[ -x "$DEMO" ] || fail "site_demo is not built ($DEMO): build the project first"
ART="$AX_BUILD_DIR/artifacts"
mkdir -p "$ART"
SITE="$T/site"
DIGEST=digest-2026-07-01.html

"$DEMO" "$SITE" >"$T/demo.log" 2>&1 || fail "site_demo failed"
for f in index.html "$DIGEST" digest-2026-06-30.html digest-2026-06-29.html feed.xml assets/site.css \
         assets/site.js papers/hep-th_9901001.html papers/2607.00001.html; do
  [ -s "$SITE/$f" ] || fail "site_demo did not write $f"
done
ok "site_demo wrote a site of $(ls "$SITE/papers" | wc -l) paper pages and feed.xml"

# 1. feed.xml is XML and Atom 1.0 (RFC 4287): the required elements, RFC 3339 dates, unique
#    ids, newest digest first, hostile text only as escaped text.
"$PY" - "$SITE/feed.xml" <<'EOF' || fail "feed.xml is not valid Atom"
import re, sys
import xml.etree.ElementTree as ET
A = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
raw = open(sys.argv[1], encoding="utf-8").read()
root = ET.fromstring(raw.encode("utf-8"))
def need(cond, what):
    if not cond:
        sys.exit("feed.xml: " + what)
need(root.tag == A + "feed", "root is not atom:feed")
for name in ("id", "title", "updated"):
    need(len(root.findall(A + name)) == 1, "feed needs exactly one " + name)
need(RFC3339.match(root.findtext(A + "updated")), "feed updated is not RFC 3339")
need(root.find(A + "author/" + A + "name") is not None, "feed has no author/name")
need(any(l.get("rel") == "self" for l in root.findall(A + "link")), "no self link")
entries = root.findall(A + "entry")
need(len(entries) == 3, "want 3 entries, got %d" % len(entries))
ids = [root.findtext(A + "id")]
for e in entries:
    for name in ("id", "title", "updated"):
        need(len(e.findall(A + name)) == 1, "entry needs exactly one " + name)
    need(RFC3339.match(e.findtext(A + "updated")), "entry updated is not RFC 3339")
    need(e.find(A + "content") is not None and e.find(A + "content").get("type") == "html", "no html content")
    alt = [l for l in e.findall(A + "link") if l.get("rel", "alternate") == "alternate"]
    need(len(alt) == 1 and re.match(r"^digest-[\w.-]+\.html$", alt[0].get("href")), "entry link")
    ids.append(e.findtext(A + "id"))
need(len(set(ids)) == len(ids), "ids are not unique")
need(all(i.startswith("tag:") for i in ids), "ids are not tag: URIs")
periods = [e.findtext(A + "id").rsplit("/", 1)[1] for e in entries]
need(periods == ["2026-07-01", "2026-06-30", "2026-06-29"], "entries not newest first: %s" % periods)
need("<script" not in raw and "<img" not in raw, "raw markup in feed.xml")
html = entries[0].findtext(A + "content")
need("&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html, "hostile title not escaped in content")
EOF
ok "feed.xml: Atom 1.0 with id/title/updated/author, 3 entries newest first, unique tag: ids, RFC 3339 dates"

# 2. The DOM checker: reads chromium's --dump-dom output and checks the visible papers against
#    the filters, computed here from each card's data-* attributes and text.
cat >"$T/dom_check.py" <<'EOF'
import json, sys
from html.parser import HTMLParser
VOID = {"meta", "link", "input", "br", "img", "hr", "source", "wbr", "area", "base", "col", "embed"}
class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.kids = tag, dict(attrs), parent, []
    def text(self):
        return "".join(k if isinstance(k, str) else k.text() for k in self.kids)
    def walk(self):
        yield self
        for k in self.kids:
            if isinstance(k, Node):
                yield from k.walk()
class Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#doc", [], None)
        self.cur = self.root
    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.kids.append(n)
        if tag not in VOID:
            self.cur = n
    def handle_startendtag(self, tag, attrs):
        self.cur.kids.append(Node(tag, attrs, self.cur))
    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent
    def handle_data(self, data):
        self.cur.kids.append(data)

def fail(msg):
    sys.exit("DOM check (%s): %s" % (sys.argv[1], msg))

path, want = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
t = Tree()
t.feed(open(path, encoding="utf-8").read())
nodes = list(t.root.walk())
html = [n for n in nodes if n.tag == "html"][0]
if "js" not in html.attrs.get("class", "").split():
    fail("site.js did not run (html has no class js)")
if any(k.startswith("data-pwned") for n in nodes for k in n.attrs):
    fail("a hostile script ran (data-pwned set)")
scripts = [n for n in nodes if n.tag == "script"]
if len(scripts) != 1 or scripts[0].attrs.get("src") not in ("assets/site.js", "../assets/site.js"):
    fail("script elements other than site.js: %s" % [s.attrs for s in scripts])
for n in nodes:
    if n.tag in ("img", "svg", "style", "iframe", "object") or any(k.startswith("on") for k in n.attrs):
        fail("injected element <%s %s>" % (n.tag, n.attrs))

if "back" in want:  # a paper page
    back = [n for n in nodes if n.attrs.get("id") == "ax-back"][0]
    if back.attrs.get("href") != want["back"]:
        fail("back link is %r, want %r" % (back.attrs.get("href"), want["back"]))
    sys.exit(0)

cards = [n for n in nodes if n.tag == "li" and "paper" in n.attrs.get("class", "").split()]
kw, cat, score = want.get("kw", "").lower(), want.get("cat", "").lower(), want.get("score", "")
terms = want.get("q", "").lower().split()
visible, expected = [], []
for c in cards:
    hits = [h.lower() for h in json.loads(c.attrs["data-kw"])]
    cats = [x.lower() for x in json.loads(c.attrs["data-cat"])]
    s = int(c.attrs["data-score"])
    text = " ".join(c.text().lower().split())
    ok = (not kw or kw in hits) and (not cat or cat in cats)
    ok = ok and (not score or (s == 0 if score == "none" else s >= int(score)))
    ok = ok and all(w in text for w in terms)
    title = " ".join(c.text().split())[:70]
    if ok:
        expected.append(title)
    if "hidden" not in c.attrs:
        visible.append(title)
if visible != expected:
    fail("visible papers differ from the filter\n  visible:  %s\n  expected: %s" % (visible, expected))
status = [n for n in nodes if n.attrs.get("id") == "ax-status"][0]
if status.attrs.get("data-shown") != str(len(visible)) or str(len(visible)) not in status.text():
    fail("status says %r / %r, %d visible" % (status.attrs.get("data-shown"), status.text(), len(visible)))
empty = [n for n in nodes if n.attrs.get("id") == "ax-empty"][0]
if ("hidden" in empty.attrs) != (len(visible) > 0):
    fail("the 'no paper matches' line is wrong for %d visible" % len(visible))
if "shown" in want and int(want["shown"]) != len(visible):
    fail("%d visible, want %s" % (len(visible), want["shown"]))
if want.get("some") == "1" and not (0 < len(visible) < len(cards)):
    fail("filter should keep some but not all of %d papers, kept %d" % (len(cards), len(visible)))
if "contains" in want and not any(want["contains"] in " ".join(c.text().split()) for c in cards if "hidden" not in c.attrs):
    fail("no visible paper shows %r" % want["contains"])
print("%d of %d visible" % (len(visible), len(cards)))
EOF

# dom URL OUT: the DOM of URL after its scripts ran, from headless chromium.
dom() {
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --user-data-dir="$T/chrome" --virtual-time-budget=5000 --dump-dom "$1" >"$2" 2>>"$T/chromium.log" \
    || fail "chromium could not load $1 (see $T/chromium.log)"
  grep -q '</html>' "$2" || fail "chromium dumped no page for $1"
}
# check DOMFILE KEY=VALUE...: dom_check.py with the filters the URL set and expectations.
check() { "$PY" "$T/dom_check.py" "$@" || fail "DOM check of $1"; }

# 3. over HTTP from a static server
PORT="$(free_port)"
start http "$PY" -m http.server --bind 127.0.0.1 --directory "$SITE" "$PORT"
wait_for 20 "http.server on $PORT" curl -sf -o /dev/null "http://127.0.0.1:$PORT/index.html"
URL="http://127.0.0.1:$PORT"

dom "$URL/$DIGEST" "$T/all.html"
n_all="$(check "$T/all.html" | cut -d' ' -f3)"
[ "$n_all" -gt 10 ] || fail "the digest shows $n_all papers"
ok "http: the unfiltered digest shows all $n_all papers, site.js ran, nothing injected"

dom "$URL/$DIGEST#kw=language%20model&score=4&cat=cs.CL" "$T/f1.html"
check "$T/f1.html" kw="language model" score=4 cat=cs.CL some=1 >/dev/null
ok "http: #kw=language model&score=4&cat=cs.CL shows exactly the matching papers ($(check "$T/f1.html" kw="language model" score=4 cat=cs.CL))"

dom "$URL/$DIGEST?kw=ranking&score=none" "$T/f2.html"
check "$T/f2.html" kw=ranking score=none >/dev/null
dom "$URL/$DIGEST?kw=ranking&score=none#score=" "$T/f3.html"
check "$T/f3.html" kw=ranking some=1 >/dev/null
ok "http: filters from the query string (?kw=ranking&score=none), the fragment overriding them"

dom "$URL/$DIGEST#q=moral%20SAFETY" "$T/q1.html"
check "$T/q1.html" q="moral safety" shown=1 contains="Moral Safety in LLMs" >/dev/null
dom "$URL/$DIGEST#q=zzzz-no-such-word" "$T/q2.html"
check "$T/q2.html" q=zzzz-no-such-word shown=0 >/dev/null
ok "http: the search (#q=moral SAFETY) finds the one paper, a word no paper has shows none and says so"

dom "$URL/papers/2607.00001.html#from=$DIGEST" "$T/p1.html"
check "$T/p1.html" back="../$DIGEST"
dom "$URL/papers/2607.00001.html#from=javascript:alert(1)" "$T/p2.html"
check "$T/p2.html" back="../index.html"
ok "http: a paper page returns to its digest (#from=), and ignores a #from= that is no digest"

# 4. from file:// (no server): the same script, the hostile paper visible and inert
dom "file://$SITE/$DIGEST#kw=ranking&score=5" "$T/file1.html"
check "$T/file1.html" kw=ranking score=5 some=1 contains="<script>alert(1)</script> Ranking with" >/dev/null
dom "file://$SITE/index.html" "$T/file2.html"
"$PY" - "$T/file2.html" <<'EOF' || fail "index over file:// does not list the digests newest first"
import re, sys
hrefs = re.findall(r'href="(digest-[^"]+)"', open(sys.argv[1], encoding="utf-8").read())
sys.exit(0 if hrefs == ["digest-2026-07-01.html", "digest-2026-06-30.html", "digest-2026-06-29.html"] else hrefs)
EOF
ok "file://: filters work without a server; the hostile title shows as text; the index lists 07-01, 06-30, 06-29"

# 5. a phone-size screenshot of a filtered digest, kept as a test artifact
SHOT="$ART/site-digest-phone.png"
rm -f "$SHOT"
timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
  --user-data-dir="$T/chrome" --hide-scrollbars --virtual-time-budget=5000 --window-size=412,915 \
  --screenshot="$SHOT" "$URL/$DIGEST#kw=ranking&score=3" >>"$T/chromium.log" 2>&1 || fail "chromium --screenshot"
"$PY" - "$SHOT" <<'EOF' || fail "bad screenshot $SHOT"
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
assert (w, h) == (412, 915), (w, h)
assert len(data) > 10000, "suspiciously small: %d bytes" % len(data)
EOF
ok "screenshot 412x915 of $DIGEST#kw=ranking&score=3: $SHOT"

# 6. a Chinese profile with the real LLM output of the day: TL;DR on the cards, the LLM
#    sections on the paper pages, Chinese labels, and the filters still apply.
ENRICHED="$AX_SOURCE_DIR/tests/data/shared/fixtures/dae/2026-07-01_AI_enhanced_Chinese.jsonl"
[ -s "$ENRICHED" ] || fail "missing fixture $ENRICHED"
"$DEMO" "$T/site-zh" --lang zh --input "$ENRICHED" >"$T/demo-zh.log" 2>&1 || fail "site_demo --lang zh failed"
dom "file://$T/site-zh/$DIGEST#kw=agent&score=3" "$T/zh1.html"
check "$T/zh1.html" kw=agent score=3 some=1 >/dev/null
grep -q '<html lang="zh"' "$T/zh1.html" || fail "zh: page language is not zh"
grep -q '显示 [0-9]* / [0-9]* 篇' "$T/zh1.html" || fail "zh: the status line is not in Chinese"
[ "$(grep -c 'class="tldr"' "$T/zh1.html")" -gt 10 ] || fail "zh: the cards show no TL;DR"
paper="$(grep -o 'papers/[0-9.]*\.html' "$T/zh1.html" | head -n 1)"
for h in 研究动机 方法 结果 结论; do
  grep -q "<h2>$h</h2>" "$T/site-zh/$paper" || fail "zh: $paper has no $h section"
done
ok "zh: real LLM output shown (TL;DR on cards, motivation/method/result/conclusion on $paper), filters work"
