#!/usr/bin/python3
"""selftest.py: checks fake_arxiv.py end to end over real HTTP.

    /usr/bin/python3 tests/fake_arxiv/selftest.py [CORPUS.jsonl]

Starts two servers on free ports: one on the real sample corpus
(deploy/sample/arxiv-cs-2026-06.jsonl, 6,356 cs papers of June 2026), one on a small corpus
made here (the Kaggle snapshot fixture plus papers crafted for RSS replace/replace-cross,
old-style ids, physics sets, XML escaping). Expected answers are computed from the JSON
lines directly, not from the server's code. Exits 0 when every check passes.
"""
import calendar
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SAMPLE = os.path.join(ROOT, "deploy", "sample", "arxiv-cs-2026-06.jsonl")
FIX = os.path.join(ROOT, "tests", "data", "shared", "fixtures", "arxiv")
A = "{http://www.w3.org/2005/Atom}"
OS = "{http://a9.com/-/spec/opensearch/1.1/}"
AX = "{http://arxiv.org/schemas/atom}"
O = "{http://www.openarchives.org/OAI/2.0/}"
R = "{http://arxiv.org/OAI/arXiv/}"
MON = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}

CHECKS = [0]


def ok(what):
    CHECKS[0] += 1
    print(f"ok {CHECKS[0]} - {what}", flush=True)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


# ---- the corpus, read independently of the server -------------------------------------------
def epoch(created):
    p = created.split()
    h, m, s = (int(x) for x in p[4].split(":"))
    return calendar.timegm((int(p[3]), MON[p[2]], int(p[1]), h, m, s, 0, 0, 0))


def load(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                d["_sub"] = epoch(d["versions"][0]["created"])
                d["_upd"] = epoch(d["versions"][-1]["created"])
                d["_cats"] = d["categories"].split()
                out.append(d)
    return out


def minute(t):
    return int(time.strftime("%Y%m%d%H%M", time.gmtime(t)))


def day(t):
    return time.strftime("%Y-%m-%d", time.gmtime(t))


# ---- a server -------------------------------------------------------------------------------
class Fake:
    def __init__(self, corpus_path, tmp, name):
        self.ready = os.path.join(tmp, name + ".port")
        self.log = open(os.path.join(tmp, name + ".log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "fake_arxiv.py"), "--port", "0", "--corpus",
             corpus_path, "--ready-file", self.ready], stdout=self.log, stderr=subprocess.STDOUT)
        end = time.monotonic() + 30
        while not os.path.exists(self.ready):
            if self.proc.poll() is not None or time.monotonic() > end:
                raise SystemExit(f"fake_arxiv ({name}) did not start; see {self.log.name}")
            time.sleep(0.02)
        self.port = int(open(self.ready).read())
        self.conn = None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()

    def request(self, method, target, body=None, conn=None, headers=None):
        """(status, headers, body, seconds) on `conn` (or a fresh connection, closed after)."""
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = {"User-Agent": "fake_arxiv-selftest (mailto:test@example.org)"}
        h.update(headers or {})
        t = time.monotonic()
        c.request(method, target, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        dt = time.monotonic() - t
        hd = {k.lower(): v for k, v in r.getheaders()}
        if conn is None:
            c.close()
        return r.status, hd, data, dt

    def get(self, target, conn=None):
        return self.request("GET", target, conn=conn)

    def control(self, obj, expect=200):
        st, _, data, _ = self.request("POST", "/_control", body=json.dumps(obj).encode(),
                                      headers={"Content-Type": "application/json"})
        check(st == expect, f"control {obj}: {st} {data[:300]!r}")
        return json.loads(data)

    def stats(self):
        return json.loads(self.get("/_stats")[2])

    def xml(self, target, status=200):
        st, hd, data, dt = self.get(target)
        check(st == status, f"{target}: status {st}, not {status}: {data[:300]!r}")
        try:
            root = ET.fromstring(data)
        except ET.ParseError as e:
            raise AssertionError(f"{target}: does not parse: {e}")
        return root, data, hd, dt


def q(s):
    import urllib.parse
    return urllib.parse.quote_plus(s, safe=":")


def api_url(sq, start, mr, order="ascending", sort="submittedDate"):
    return (f"/api/query?search_query={q(sq)}&start={start}&max_results={mr}"
            f"&sortBy={sort}&sortOrder={order}")


def feed(root):
    total = int(root.find(OS + "totalResults").text)
    start = int(root.find(OS + "startIndex").text)
    per = int(root.find(OS + "itemsPerPage").text)
    ents = []
    for e in root.findall(A + "entry"):
        eid = e.find(A + "id").text
        m = re.match(r"^http://arxiv\.org/abs/(.+)v(\d+)$", eid)
        check(m, f"entry id {eid}")
        ents.append({"id": m.group(1), "published": e.find(A + "published").text,
                     "cats": [c.get("term") for c in e.findall(A + "category")],
                     "primary": e.find(AX + "primary_category").get("term"),
                     "title": e.find(A + "title").text, "summary": e.find(A + "summary").text})
    return total, start, per, ents


# ---- the checks -----------------------------------------------------------------------------
def test_api(f, papers):
    lo, hi = "202606010000", "202606152359"
    sq = f"(cat:cs.IR OR cat:cs.AI) AND submittedDate:[{lo} TO {hi}]"
    want = sorted((p for p in papers if ({"cs.IR", "cs.AI"} & set(p["_cats"]))
                   and int(lo) <= minute(p["_sub"]) <= int(hi)), key=lambda p: (p["_sub"], p["id"]))
    check(len(want) > 450, f"sample too small: {len(want)}")
    for order in ("ascending", "descending"):
        got, start, total = [], 0, None
        while True:
            root, _, hd, _ = f.xml(api_url(sq, start, 200, order))
            check(hd["content-type"].startswith("application/atom+xml"), hd["content-type"])
            t, s, per, ents = feed(root)
            check(s == start and per == 200, f"startIndex {s} itemsPerPage {per}")
            total = t if total is None else total
            check(t == total, "totalResults changed between pages")
            got += ents
            start += 200
            if start >= total:
                break
        ids = [e["id"] for e in got]
        check(len(ids) == total == len(want), f"{order}: {len(ids)} entries, total {total}, want {len(want)}")
        check(len(set(ids)) == len(ids), "duplicate ids across pages")
        exp = [p["id"] for p in want]
        check(ids == (exp if order == "ascending" else exp[::-1]), f"{order}: wrong order or ids")
        pubs = [e["published"] for e in got]
        check(pubs == sorted(pubs, reverse=(order == "descending")), "not sorted by published")
        for e in got:
            check({"cs.IR", "cs.AI"} & set(e["cats"]), f"{e['id']}: not cs.IR/cs.AI")
            check(f"{lo[:4]}-{lo[4:6]}-{lo[6:8]}" <= e["published"][:10] <= f"{hi[:4]}-{hi[4:6]}-{hi[6:8]}",
                  f"{e['id']}: published {e['published']} outside the window")
    ok(f"api: {total} entries of (cat:cs.IR OR cat:cs.AI) AND submittedDate over 200-entry pages, "
       "both orders, no duplicates, sum == totalResults")

    # a one-day window, minute-exact bounds
    p0 = want[10]
    m = minute(p0["_sub"])
    root, *_ = f.xml(api_url(f"cat:cs.AI AND submittedDate:[{m} TO {m}]", 0, 50))
    t, _, _, ents = feed(root)
    exp = sorted(p["id"] for p in papers if "cs.AI" in p["_cats"] and minute(p["_sub"]) == m)
    check(sorted(e["id"] for e in ents) == exp and t == len(exp), f"minute window: {t} vs {exp}")
    root, *_ = f.xml(api_url("cat:cs.IR AND submittedDate:[203001010000 TO 203012312359]", 0, 10))
    t, _, per, ents = feed(root)
    check(t == 0 and not ents and per == 10, "empty window")
    ok("api: submittedDate window is minute-exact, inclusive; an empty window has totalResults 0")

    # 2000-entry page, timed; first query of that window (cold) and again (entries cached)
    sq_all = "cat:cs.* AND submittedDate:[202606010000 TO 202606302359]"
    for label in ("cold", "warm"):
        root, data, _, dt = f.xml(api_url(sq_all, 0, 2000))
        t, _, _, ents = feed(root)
        check(len(ents) == 2000 and t > 2000, f"2000 page: {len(ents)} of {t}")
        check(dt < 1.0, f"2000-entry page took {dt:.3f}s")
        ok(f"api: a 2000-entry page ({len(data) / 1e6:.1f} MB) in {dt * 1000:.0f} ms ({label})")

    # the cap: totalResults stays true, entries stop at cap
    f.control({"cap": 500})
    root, *_ = f.xml(api_url(sq_all, 400, 200))
    t, _, _, ents = feed(root)
    check(t > 500 and len(ents) == 100, f"cap straddle: {len(ents)} of {t}")
    root, *_ = f.xml(api_url(sq_all, 500, 200))
    t2, s, _, ents = feed(root)
    check(t2 == t and s == 500 and not ents, "start >= cap must be an empty page")
    f.control({"cap": 30000})
    ok(f"api: cap 500 -> entries stop at 500 while totalResults says {t}")

    # arXiv's 400s
    root, data, *_ = f.xml(api_url("cat:cs.IR", 0, 2001), status=400)
    ents = root.findall(A + "entry")
    check(len(ents) == 1 and ents[0].find(A + "title").text == "Error"
          and "2000" in ents[0].find(A + "summary").text, f"400 feed: {data[:400]!r}")
    check(ents[0].find(A + "id").text.startswith("https://arxiv.org/api/errors#"), "error id")
    for bad in ("cat:cs.IR AND (cat:cs.AI", "cat:cs.IR AND submittedDate:[2026 TO 2027]",
                "foo:bar", "cat:cs.IR AND"):
        f.xml(api_url(bad, 0, 10), status=400)
    f.xml("/api/query?search_query=cat:cs.IR&start=-1&max_results=10", status=400)
    f.xml("/api/query?search_query=cat:cs.IR&sortBy=nonsense", status=400)
    root, *_ = f.xml("/api/query?id_list=abc", status=400)
    check(root.find(A + "entry/" + A + "summary").text == "incorrect id format for abc", "id_list error")
    ok("api: max_results 2001, malformed queries, negative start, bad sortBy, bad id -> 400 error feeds")

    # id_list and POST
    ids = [want[0]["id"], want[1]["id"], "0000.0000"]
    root, *_ = f.xml("/api/query?id_list=" + ",".join(ids))
    t, _, _, ents = feed(root)
    check([e["id"] for e in ents] == ids[:2] and t == 2, "id_list")
    st, _, data, _ = f.request("POST", "/api/query", body=f"search_query={q('cat:cs.IR')}&max_results=3".encode(),
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    check(st == 200 and len(feed(ET.fromstring(data))[3]) == 3, "POST form")
    ok("api: id_list (unknown id dropped) and POST form queries")


def oai_page(f, target):
    root, data, hd, _ = f.xml(target)
    check(hd["content-type"].startswith("text/xml"), hd["content-type"])
    err = root.find(O + "error")
    if err is not None:
        return None, err.get("code"), root
    lr = root.find(O + "ListRecords")
    check(lr is not None, f"no ListRecords: {data[:300]!r}")
    recs = []
    for r in lr.findall(O + "record"):
        h = r.find(O + "header")
        md = r.find(O + "metadata")
        recs.append({"id": h.find(O + "identifier").text[len("oai:arXiv.org:"):],
                     "datestamp": h.find(O + "datestamp").text,
                     "sets": [s.text for s in h.findall(O + "setSpec")],
                     "deleted": h.get("status") == "deleted",
                     "cats": md.find(R + "arXiv/" + R + "categories").text.split() if md is not None else None,
                     "md": md})
    tok = lr.find(O + "resumptionToken")
    return recs, tok, root


def oai_harvest(f, args):
    import urllib.parse
    target = "/oai?verb=ListRecords&" + urllib.parse.urlencode(args)
    out, toks, pages = [], [], 0
    size = None
    while True:
        recs, tok, root = oai_page(f, target)
        check(recs is not None, f"error {tok} during harvest")
        pages += 1
        out += recs
        if tok is None:
            break
        toks.append(tok)
        size = int(tok.get("completeListSize"))
        check(int(tok.get("cursor")) == len(out) - len(recs), f"cursor {tok.get('cursor')} at {len(out)}")
        if not (tok.text or "").strip():
            break
        target = "/oai?verb=ListRecords&resumptionToken=" + urllib.parse.quote(tok.text)
    return out, toks, pages, size


def test_oai(f, papers):
    frm, until = "2026-06-01", "2026-06-20"
    want = sorted((p for p in papers if frm <= p["update_date"] <= until
                   and any(c.startswith("cs.") for c in p["_cats"])),
                  key=lambda p: (p["update_date"], p["id"]))
    recs, toks, pages, size = oai_harvest(f, {"metadataPrefix": "arXiv", "set": "cs", "from": frm, "until": until})
    ids = [r["id"] for r in recs]
    check(ids == [p["id"] for p in want], f"old-style harvest: {len(ids)} vs {len(want)}")
    check(size == len(want) and pages == -(-len(want) // 1000), f"pages {pages}, completeListSize {size}")
    check(all(re.match(r"^\d+\|\d+$", t.text) for t in toks[:-1]) and toks[0].get("expirationDate") is None,
          "old-style tokens look like 726959|1001")
    check(toks[0].text.endswith("|1001"), toks[0].text)
    check(not (toks[-1].text or "").strip(), "the last page has an empty token")
    check(all(r["md"] is not None and r["datestamp"] == p["update_date"] for r, p in zip(recs, want)), "datestamps")
    ok(f"oai: set=cs {frm}..{until}: {len(ids)} records in {pages} pages of 1000, old-style tokens, "
       "sorted by datestamp then id, last token empty")

    f.control({"oai_token_style": "new", "oai_page_size": 700})
    recs2, toks2, pages2, size2 = oai_harvest(f, {"metadataPrefix": "arXiv", "set": "cs", "from": frm, "until": until})
    check([r["id"] for r in recs2] == ids and pages2 == -(-len(ids) // 700), "new-style harvest differs")
    check(all(t.get("expirationDate") and "|" not in t.text for t in toks2[:-1]), "new tokens: opaque + expirationDate")
    ok(f"oai: the same list in {pages2} pages of 700 with opaque expiring tokens")

    # a token that expires by time
    f.control({"oai_token_ttl_s": 0.2})
    _, tok, _ = oai_page(f, f"/oai?verb=ListRecords&metadataPrefix=arXiv&set=cs&from={frm}&until={until}")
    time.sleep(0.3)
    _, code, root = oai_page(f, "/oai?verb=ListRecords&resumptionToken=" + tok.text)
    check(code == "badResumptionToken", f"expired new token: {code}")
    f.control({"oai_token_style": "old", "oai_page_size": 1000, "oai_token_ttl_s": 3600})
    ok("oai: a new-style token past its expirationDate -> badResumptionToken")

    # sets
    want_ir = [p["id"] for p in sorted(papers, key=lambda p: (p["update_date"], p["id"]))
               if "cs.IR" in p["_cats"] and frm <= p["update_date"] <= until]
    recs, _, _, _ = oai_harvest(f, {"metadataPrefix": "arXiv", "set": "cs:cs:IR", "from": frm, "until": until})
    check([r["id"] for r in recs] == want_ir and all("cs.IR" in r["cats"] for r in recs), "cs:cs:IR")
    check(len(want_ir) < len(want), "cs:cs:IR is a subset")
    want_lg = sum(1 for p in papers if "cs.LG" in p["_cats"] and p["update_date"] == "2026-06-10")
    recs, _, _, _ = oai_harvest(f, {"metadataPrefix": "arXiv", "set": "cs:cs:LG", "from": "2026-06-10",
                                    "until": "2026-06-10"})
    check(len(recs) == want_lg, "cs:cs:LG one day")
    ok(f"oai: set cs:cs:IR = exactly cs.IR ({len(want_ir)} of {len(want)} cs records); one-day window")

    # errors
    _, code, root = oai_page(f, "/oai?verb=ListRecords&metadataPrefix=arXiv&set=cs&from=2030-01-01")
    check(code == "noRecordsMatch" and root.find(O + "request").get("from") == "2030-01-01", "noRecordsMatch")
    _, code, root = oai_page(f, "/oai?verb=ListRecords&metadataPrefix=arXiv&set=moo")
    check(code == "noRecordsMatch" and "moo" in root.find(O + "error").text, "unknown set")
    for bad in ("verb=ListRecords&from=2026-06-01", "verb=ListRecords&metadataPrefix=arXiv&identifier=x",
                "verb=ListRecords&metadataPrefix=arXiv&from=2026-13-01",
                "verb=ListRecords&metadataPrefix=arXiv&from=2026-06-10&until=2026-06-01",
                "verb=ListRecords&metadataPrefix=arXiv&from=2026-06-01T00:00:00Z",
                "verb=ListRecords&resumptionToken=1|1&set=cs"):
        _, code, root = oai_page(f, "/oai?" + bad)
        check(code == "badArgument" and not root.find(O + "request").attrib, f"{bad}: {code}")
    _, code, _ = oai_page(f, "/oai?verb=Nonsense")
    check(code == "badVerb", "badVerb")
    _, code, _ = oai_page(f, "/oai?verb=ListRecords&metadataPrefix=oai_dc")
    check(code == "cannotDisseminateFormat", "cannotDisseminateFormat")
    for tok in ("999|1001", "garbage", "726959|1001"):
        _, code, _ = oai_page(f, "/oai?verb=ListRecords&resumptionToken=" + q(tok))
        check(code == "badResumptionToken", f"token {tok}: {code}")
    ok("oai: noRecordsMatch (empty window, unknown set), badArgument (x6, no request attributes), "
       "badVerb, cannotDisseminateFormat, unknown tokens -> badResumptionToken")

    # a token made bad by control: expire_tokens, bad_token (then the same token works again)
    first = f"/oai?verb=ListRecords&metadataPrefix=arXiv&set=cs&from={frm}&until={until}"
    _, tok, _ = oai_page(f, first)
    nxt = "/oai?verb=ListRecords&resumptionToken=" + q(tok.text)
    f.control({"bad_token": 1})
    check(oai_page(f, nxt)[1] == "badResumptionToken", "bad_token")
    recs, tok2, _ = oai_page(f, nxt)
    check(recs and int(tok2.get("cursor")) == 1000, "the token works again after the injected failure")
    recs_again, _, _ = oai_page(f, nxt)
    check([r["id"] for r in recs_again] == [r["id"] for r in recs], "a token can be retried")
    f.control({"expire_tokens": True})
    check(oai_page(f, nxt)[1] == "badResumptionToken", "expire_tokens")
    ok("oai: bad_token injects one badResumptionToken, tokens can be retried, expire_tokens kills them")

    # deleted records
    gone = [want[3]["id"], want[5]["id"]]
    f.control({"deleted": gone})
    recs, _, _ = oai_page(f, f"/oai?verb=ListRecords&metadataPrefix=arXiv&set=cs&from={frm}&until={until}")
    dl = [r for r in recs if r["deleted"]]
    check([r["id"] for r in dl] == gone and all(r["md"] is None for r in dl), "deleted headers")
    check(len(recs) == 1000, "deleted records still count")
    f.control({"deleted": []})
    ok('oai: deleted ids -> <header status="deleted"> with no metadata, in place')

    # GetRecord, ListIdentifiers, Identify
    root, *_ = f.xml(f"/oai?verb=GetRecord&metadataPrefix=arXiv&identifier=oai:arXiv.org:{want[0]['id']}")
    check(root.find(O + "GetRecord/" + O + "record/" + O + "metadata/" + R + "arXiv/" + R + "id").text
          == want[0]["id"], "GetRecord")
    root, *_ = f.xml("/oai?verb=GetRecord&metadataPrefix=arXiv&identifier=oai:arXiv.org:0813.2274")
    check(root.find(O + "error").get("code") == "idDoesNotExist", "idDoesNotExist")
    root, *_ = f.xml(f"/oai?verb=ListIdentifiers&metadataPrefix=arXiv&set=cs:cs:IR&from={frm}&until={until}")
    check(len(root.findall(O + "ListIdentifiers/" + O + "header")) == len(want_ir), "ListIdentifiers")
    root, *_ = f.xml("/oai?verb=Identify")
    check(root.find(O + "Identify") is not None, "Identify")
    ok("oai: GetRecord, idDoesNotExist, ListIdentifiers, Identify")


def rss_items(root):
    ch = root.find("channel")
    check(ch is not None and ch.find("title") is not None, "no channel")
    out = []
    for it in ch.findall("item"):
        desc = it.find("description").text
        m = re.match(r"^arXiv:(\S+)v(\d+) Announce Type: (\S+) \nAbstract: ", desc)
        check(m, f"description: {desc[:80]!r}")
        t = it.find(AX + "announce_type").text
        check(t == m.group(3), "announce_type")
        out.append({"id": m.group(1), "type": t, "cats": [c.text for c in it.findall("category")]})
    return out


def test_rss(f, papers):
    want = {"cs.IR", "cs.AI"}
    last = max(day(p["_sub"]) for p in papers)
    root, _, hd, _ = f.xml("/rss/cs.IR+cs.AI")
    items = rss_items(root)
    exp = {p["id"]: ("new" if p["_cats"][0] in want else "cross") for p in papers
           if day(p["_sub"]) == last and want & set(p["_cats"])}
    check({i["id"]: i["type"] for i in items} == exp and len(items) == len(exp), "rss new/cross")
    check(any(t == "cross" for t in exp.values()) and any(t == "new" for t in exp.values()), "both kinds")
    types = [i["type"] for i in items]
    check(types == sorted(types, key=["new", "cross", "replace", "replace-cross"].index), "new before cross")
    check(root.find("channel/title").text == "cs.IR, cs.AI updates on arXiv.org", "channel title")
    check(root.find("channel/pubDate").text.endswith("00:00:00 -0400"), "pubDate")
    ok(f"rss: /rss/cs.IR+cs.AI on {last}: {len(items)} items, new iff the primary is asked for, else cross")

    f.control({"rss_day": "2026-06-27"})             # a Saturday with submissions
    check(any(day(p["_sub"]) == "2026-06-27" for p in papers), "sample has Saturday submissions")
    root, *_ = f.xml("/rss/cs.IR+cs.AI")
    check(root.find("channel") is not None and not rss_items(root), "weekend feed must be empty")
    f.control({"rss_day": "2026-06-29", "rss_empty": True})
    root, *_ = f.xml("/rss/cs.LG")
    check(not rss_items(root), "rss_empty")
    f.control({"rss_empty": False})
    root, *_ = f.xml("/rss/cs.LG")
    check(rss_items(root), "Monday feed")
    f.control({"rss_day": None})
    ok("rss: a Saturday rss_day and rss_empty give a valid channel with no items")


def test_faults(f):
    base = api_url("cat:cs.IR", 0, 5)
    f.control({"fail": [{"path": "api", "status": 503, "retry_after": 2, "count": 2}]})
    for _ in range(2):
        st, hd, data, _ = f.get(base)
        check(st == 503 and hd.get("retry-after") == "2", f"503: {st} {hd}")
    st, *_ = f.get(base)
    check(st == 200, "third request after two 503s")
    ok("fault: fail api 503 x2 with Retry-After: 2, then 200")

    f.control({"fail": {"path": "oai", "status": 503, "retry_after": 5}})
    st, hd, data, _ = f.get("/oai?verb=ListRecords&metadataPrefix=arXiv&set=cs")
    rec = open(os.path.join(FIX, "oai_http503_retry_after_2018-06-21.txt"), encoding="utf-8").read()
    recorded_body = rec.split("\n\n", 1)[1]
    check(st == 503 and hd.get("retry-after") == "5" and hd.get("connection") == "close", f"oai 503 {hd}")
    check(data.decode() == recorded_body.replace("10", "5"), f"oai 503 body {data!r}")
    st, *_ = f.get("/oai?verb=Identify")
    check(st == 200, "oai after 503")
    ok("fault: oai 503 is the recorded export.arxiv.org body and headers (Retry-After, Connection: close)")

    f.control({"fail": {"path": "*", "status": 500}})
    st, hd, *_ = f.get("/rss/cs.IR")
    check(st == 500 and "retry-after" not in hd, "500 without Retry-After")
    ok("fault: fail with path * and no retry_after")

    # truncate: read raw bytes until the server closes
    f.control({"truncate": {"path": "api", "at": 0.5}})
    s = socket.create_connection(("127.0.0.1", f.port), timeout=10)
    s.sendall(f"GET {api_url('cat:cs.LG', 0, 50)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    raw = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        raw += b
    s.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    cl = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))
    check(head.startswith(b"HTTP/1.1 200") and 0 < len(body) < cl and abs(len(body) - cl // 2) <= 1,
          f"truncated: {len(body)} of {cl}")
    try:
        f.get(api_url("cat:cs.LG", 0, 50))      # the next one is whole
    except http.client.IncompleteRead:
        raise AssertionError("truncate count 1 applied twice")
    c = http.client.HTTPConnection("127.0.0.1", f.port, timeout=10)
    f.control({"truncate": {"path": "api", "at": 0.3}})
    try:
        f.get(api_url("cat:cs.LG", 0, 50), conn=c)
        raise AssertionError("http.client did not see the truncation")
    except http.client.IncompleteRead as e:
        check(e.expected > 0, "IncompleteRead")
    c.close()
    ok(f"fault: truncate sends Content-Length {cl} but {len(body)} body bytes, then closes")

    f.control({"empty_page": {"path": "api", "count": 1}})
    root, *_ = f.xml(api_url("cat:cs.LG", 0, 50))
    t, s_, per, ents = feed(root)
    check(t > 50 and not ents and per == 50, "empty page")
    root, *_ = f.xml(api_url("cat:cs.LG", 0, 50))
    check(len(feed(root)[3]) == 50, "page after the empty one")
    ok(f"fault: empty_page -> zero entries while totalResults says {t}; the retry is full")

    f.control({"slow_ms": 300})
    _, _, _, dt = f.get(base)
    check(dt >= 0.29, f"slow: {dt}")
    f.control({"slow_ms": {"oai": 300}})
    _, _, _, dt2 = f.get(base)
    check(dt2 < 0.2, "slow_ms per path")
    f.control({"slow_ms": 0})
    ok(f"fault: slow_ms 300 -> {dt * 1000:.0f} ms; per-path slow_ms spares api")

    f.control({"trickle": {"path": "api", "chunk": 4096, "interval_ms": 40}})
    st, hd, data, dt = f.get(api_url("cat:cs.LG", 0, 20))
    n = -(-len(data) // 4096)
    check(st == 200 and len(data) == int(hd["content-length"]) and dt >= 0.04 * (n - 2), f"trickle {dt}")
    ET.fromstring(data)
    ok(f"fault: trickle sends {len(data)} bytes in 4 KiB chunks every 40 ms ({dt:.2f}s), complete")

    f.control({"hang": {"path": "rss", "ms": 300}})
    t0 = time.monotonic()
    try:
        f.get("/rss/cs.IR")
        raise AssertionError("hang answered")
    except (http.client.RemoteDisconnected, ConnectionResetError):
        pass
    check(time.monotonic() - t0 >= 0.29, "hang too short")
    ok("fault: hang holds the request 300 ms, then drops the connection unanswered")

    f.control({"keepalive_timeout_s": 0.2})
    s = socket.create_connection(("127.0.0.1", f.port), timeout=10)
    s.sendall(f"GET {base} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    raw = b""
    while b"</feed>" not in raw:
        raw += s.recv(65536)
    t0 = time.monotonic()
    check(s.recv(10) == b"", "idle connection not closed")
    idle = time.monotonic() - t0
    s.close()
    check(0.15 <= idle <= 1.0, f"closed after {idle:.2f}s")
    f.control({"keepalive_timeout_s": 0})
    ok("fault: keepalive_timeout_s closes idle keep-alive connections")

    st, _, data, _ = f.request("POST", "/_control", body=b'{"nonsense": 1}')
    check(st == 400 and b"unknown" in data, "unknown control key")
    st, *_ = f.request("POST", "/_control", body=b'{"fail": [{"path": "ftp"}]}')
    check(st == 400, "bad rule path")
    st, _, data, _ = f.get("/_control")
    d = json.loads(data)
    check(d["cap"] == 30000 and d["fail"] == [] and d["rss_day_effective"] == "2026-06-30", f"GET /_control {d}")
    ok("control: unknown keys and bad rules -> 400; GET /_control shows the settings")


def test_replay(f):
    names = ["api_atom_cat_cs.CL_m3_2026-09-24.xml", "api_atom_error_badid_http400_2026-04-12.xml"]
    f.control({"replay": [{"path": "api", "file": names[0]},
                          {"path": "api", "file": names[1], "status": 400, "headers": {"X-Replayed": "yes"}},
                          {"path": "oai", "file": "oai_listrecords_arXiv_2015-01-01_trimmed2_2018-06-21.xml"},
                          {"path": "rss", "file": "rss_cs.LG+cs.AI+cs.CL+stat.ML_trimmed4_2026-09-24.xml"}]})
    st, hd, data, _ = f.get(api_url("cat:cs.IR", 0, 5))
    check(st == 200 and data == open(os.path.join(FIX, names[0]), "rb").read(), "replay 1 byte-for-byte")
    st, hd, data, _ = f.get(api_url("cat:cs.IR", 0, 5))
    check(st == 400 and hd.get("x-replayed") == "yes" and data == open(os.path.join(FIX, names[1]), "rb").read(),
          "replay 2")
    st, _, data, _ = f.get("/oai?verb=ListRecords&metadataPrefix=arXiv")
    check(data == open(os.path.join(FIX, "oai_listrecords_arXiv_2015-01-01_trimmed2_2018-06-21.xml"), "rb").read(),
          "oai replay")
    st, _, data, _ = f.get("/rss/cs.LG")
    check(b"2009.13987" in data, "rss replay")
    root, *_ = f.xml(api_url("cat:cs.IR", 0, 5))
    check(feed(root)[0] > 5, "generated again after the queue")
    st, *_ = f.request("POST", "/_control", body=b'{"replay": [{"path": "api", "file": "nope.xml"}]}')
    check(st == 400, "missing fixture")
    f.control({"replay": [{"path": "api", "body": "<feed/>", "status": 503, "headers": {"Retry-After": "7"}}]})
    st, hd, data, _ = f.get(api_url("cat:cs.IR", 0, 5))
    check(st == 503 and data == b"<feed/>" and hd["retry-after"] == "7", "inline replay body")
    ok("replay: fixtures served byte-for-byte in order (api 200, api 400 + header, oai, rss), inline body, "
       "then generated answers again")


def test_stats(f):
    f.control({"reset": True})
    d = f.stats()
    check(d["total_requests"] == 0 and d["connections_opened"] == 0 and d["max_concurrent_connections"] == 0,
          f"after reset: {d}")
    c = http.client.HTTPConnection("127.0.0.1", f.port, timeout=10)
    targets = [api_url("cat:cs.IR", 0, 5), "/oai?verb=ListRecords&metadataPrefix=arXiv&set=cs:cs:IR",
               "/rss/cs.IR", api_url("cat:cs.IR", 5, 5)]
    for t in targets:
        f.get(t, conn=c)
        f.stats()                               # on other connections: not counted
        time.sleep(0.05)
    d = f.stats()
    c.close()
    check(d["requests"] == {"api": 2, "oai": 1, "rss": 1, "other": 0}, f"requests {d['requests']}")
    check(d["connections_opened"] == 1 and d["max_concurrent_connections"] == 1, f"one keep-alive conn: {d}")
    log = d["log"]
    check([e["path"] + ("?" + e["query"] if e["query"] else "") for e in log] == targets, "log paths/queries")
    check(len({e["conn"] for e in log}) == 1, "same connection number")
    gaps = [b["t_mono"] - a["t_mono"] for a, b in zip(log, log[1:])]
    check(all(g >= 0.05 for g in gaps), f"gaps {gaps}")
    check(all(e["status"] == 200 and e["bytes"] > e["body_bytes"] > 0 and e["t_wall"] > 1e9 for e in log), "log fields")
    check(all(e["user_agent"].startswith("fake_arxiv-selftest") for e in log), "user agent")
    ok(f"stats: 4 requests on one keep-alive connection (+ /_stats on others): connections_opened 1, "
       f"max concurrent 1, gaps >= 50 ms: {[round(g, 3) for g in gaps]}")

    # sequential connections (Connection: close each time) are still never concurrent
    f.control({"reset_stats": True})
    for _ in range(5):
        f.get(api_url("cat:cs.AI", 0, 2))
    d = f.stats()
    check(d["connections_opened"] == 5 and d["max_concurrent_connections"] == 1,
          f"sequential: {d['connections_opened']} / {d['max_concurrent_connections']}")
    ok("stats: 5 sequential connections -> connections_opened 5, max concurrent 1")

    f.control({"reset_stats": True})
    a = http.client.HTTPConnection("127.0.0.1", f.port, timeout=10)
    b = http.client.HTTPConnection("127.0.0.1", f.port, timeout=10)
    f.get(api_url("cat:cs.AI", 0, 2), conn=a)
    f.get(api_url("cat:cs.AI", 0, 2), conn=b)
    d = f.stats()
    a.close()
    b.close()
    check(d["max_concurrent_connections"] == 2 and d["connections_opened"] == 2, f"two at once: {d}")
    check(d["log"][0]["conn"] != d["log"][1]["conn"], "distinct connection numbers")
    ok("stats: two open connections at once -> max_concurrent_connections 2")
    st, *_ = f.get("/nowhere")
    check(st == 404 and f.stats()["requests"]["other"] == 1, "404 counted as other")
    ok("stats: unknown paths answer 404 and count as other")


def crafted_corpus(tmp):
    """The Kaggle fixture plus papers for replace/replace-cross, escaping and old-style ids."""
    def paper(pid, cats, versions, update, title="T", abstract="  A hard-wrapped\nabstract.\n", **kw):
        d = {"id": pid, "submitter": None, "authors": "X", "title": title, "comments": None,
             "journal-ref": None, "doi": None, "report-no": None, "categories": cats, "license": None,
             "abstract": abstract,
             "versions": [{"version": f"v{i + 1}", "created": c} for i, c in enumerate(versions)],
             "update_date": update, "authors_parsed": [["Doe", "Jane", ""], ["Roe", "R.", "Jr", "MIT & <Co>"]]}
        d.update(kw)
        return json.dumps(d)
    day_ = "Tue, 30 Jun 2026"
    lines = [
        paper("2606.90001", "cs.IR cs.LG", [f"{day_} 10:00:00 GMT"], "2026-06-30",
              title="Escaping: $\\alpha<\\beta$ & \"q\"\n  wrapped", abstract="  Line one\nline two \x0c.\n  Para two.\n",
              comments="3 < 4 & 5 > 2", doi="10.1/x&y"),
        paper("2606.90002", "cs.LG cs.AI", [f"{day_} 11:00:00 GMT"], "2026-06-30"),
        paper("2605.90003", "cs.IR", ["Mon, 4 May 2026 09:00:00 GMT", f"{day_} 09:00:00 GMT"], "2026-06-30"),
        paper("2605.90004", "stat.ML cs.AI", ["Mon, 4 May 2026 09:00:00 GMT", "Tue, 5 May 2026 09:00:00 GMT",
                                                f"{day_} 12:00:00 GMT"], "2026-06-30"),
        paper("2606.90005", "math.CO", [f"{day_} 13:00:00 GMT"], "2026-06-30"),
        paper("hep-th/9901001", "hep-th cs.IR", ["Fri, 1 Jan 1999 10:00:00 GMT"], "2008-11-13"),
    ]
    path = os.path.join(tmp, "crafted.jsonl")
    with open(path, "w", encoding="utf-8") as out:
        out.write(open(os.path.join(FIX, "kaggle_snapshot_sample.jsonl"), encoding="utf-8").read())
        out.write("\n".join(lines) + "\n")
    return path


def test_crafted(f, papers):
    root, *_ = f.xml("/rss/cs.IR+cs.AI")
    got = {i["id"]: i["type"] for i in rss_items(root)}
    check(got == {"2606.90001": "new", "2606.90002": "cross", "2605.90003": "replace",
                  "2605.90004": "replace-cross"}, f"rss classes {got}")
    ok("rss: new / cross / replace / replace-cross on a crafted corpus (and math.CO left out)")

    root, data, *_ = f.xml(api_url("cat:cs.IR AND submittedDate:[202606300000 TO 202606302359]", 0, 10))
    _, _, _, ents = feed(root)
    e = [x for x in ents if x["id"] == "2606.90001"][0]
    check(e["title"] == "Escaping: $\\alpha<\\beta$ & \"q\"\n  wrapped", f"title {e['title']!r}")
    check(e["summary"] == "Line one\nline two .\n  Para two.", f"summary {e['summary']!r}")
    ent = [x for x in root.findall(A + "entry") if x.find(A + "id").text.endswith("90001v1")][0]
    check(ent.find(AX + "comment").text == "3 < 4 & 5 > 2" and ent.find(AX + "doi").text == "10.1/x&y", "escapes")
    auths = ent.findall(A + "author")
    check([a.find(A + "name").text for a in auths] == ["Jane Doe", "R. Roe Jr"]
          and auths[1].find(AX + "affiliation").text == "MIT & <Co>", "authors")
    root, *_ = f.xml(api_url("submittedDate:[202605040000 TO 202605042359]", 0, 10, order="descending",
                              sort="lastUpdatedDate"))
    _, _, _, ents = feed(root)
    check([x["id"] for x in ents] == ["2605.90004", "2605.90003"], "lastUpdatedDate sort, descending")
    root, *_ = f.xml("/api/query?id_list=hep-th/9901001")
    check(root.find(A + "entry/" + A + "id").text == "http://arxiv.org/abs/hep-th/9901001v1", "old-style id")
    check(root.find(A + "entry/" + A + "updated").text == "1999-01-01T10:00:00Z", "updated")
    root, *_ = f.xml("/api/query?id_list=2605.90004")
    e = root.find(A + "entry")
    check(e.find(A + "id").text.endswith("90004v3") and e.find(A + "published").text == "2026-05-04T09:00:00Z"
          and e.find(A + "updated").text == "2026-06-30T12:00:00Z", "versions: published v1, updated last")
    ok("api: hard-wrapped text and LaTeX kept, XML escaping, control chars dropped, affiliations, "
       "old-style ids, vN = last version, lastUpdatedDate sort")

    # OAI: physics sets on the Kaggle sample (2007 papers, several versions, update_date later)
    exp = sorted((p for p in papers if "hep-th" in p["_cats"]), key=lambda p: (p["update_date"], p["id"]))
    recs, _, _, _ = oai_harvest(f, {"metadataPrefix": "arXiv", "set": "physics:hep-th"})
    check([r["id"] for r in recs] == [p["id"] for p in exp] and all("physics:hep-th" in r["sets"] for r in recs),
          f"physics:hep-th {len(recs)} vs {len(exp)}")
    exp_ph = [p for p in papers if any(not c.split(".")[0] in ("cs", "math", "stat", "q-bio", "q-fin", "eess", "econ")
                                       for c in p["_cats"])]
    recs_ph, _, _, _ = oai_harvest(f, {"metadataPrefix": "arXiv", "set": "physics"})
    check(len(recs_ph) == len(exp_ph), f"physics {len(recs_ph)} vs {len(exp_ph)}")
    recs_cs, _, _, _ = oai_harvest(f, {"metadataPrefix": "arXiv", "set": "cs"})
    check("hep-th/9901001" in [r["id"] for r in recs_cs], "old-style id in set cs")
    r0 = [r for r in recs_cs if r["id"] == "hep-th/9901001"][0]
    check(r0["sets"] == ["cs", "physics:hep-th"] and r0["datestamp"] == "2008-11-13", f"sets {r0['sets']}")
    multi = [p for p in exp if len(p["versions"]) > 1][0]
    r1 = [r for r in recs if r["id"] == multi["id"]][0]
    check(r1["md"].find(R + "arXiv/" + R + "updated").text == day(multi["_upd"]), "OAI <updated>")
    check(r1["md"].find(R + "arXiv/" + R + "created").text == day(multi["_sub"]), "OAI <created>")
    ab = r1["md"].find(R + "arXiv/" + R + "abstract").text
    check(ab == multi["abstract"], "OAI abstract kept byte for byte")
    ok(f"oai: physics:hep-th ({len(recs)}) and physics ({len(recs_ph)}) sets on the Kaggle sample, "
       "multiple setSpecs, created/updated, abstracts as written")

    # every document of the Kaggle sample parses: a full api dump and the rss of every day
    root, *_ = f.xml(api_url("submittedDate:[199001010000 TO 203001010000]", 0, 2000))
    check(feed(root)[0] == len(papers), "all papers")
    days = sorted({day(p["_sub"]) for p in papers} | {day(p["_upd"]) for p in papers})
    for d in days[:60]:
        f.control({"rss_day": d})
        f.xml("/rss/hep-th+cs+math+astro-ph+quant-ph")
    ok(f"all {len(papers)} crafted/Kaggle papers render as Atom, and {min(60, len(days))} RSS days parse")


def main():
    sample = sys.argv[1] if len(sys.argv) > 1 else SAMPLE
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fake_arxiv-") as tmp:
        papers = load(sample)
        f = Fake(sample, tmp, "sample")
        g = None
        try:
            test_api(f, papers)
            test_oai(f, papers)
            test_rss(f, papers)
            test_faults(f)
            test_replay(f)
            test_stats(f)
            crafted = crafted_corpus(tmp)
            g = Fake(crafted, tmp, "crafted")
            test_crafted(g, load(crafted))
        except AssertionError as e:
            print(f"FAIL: {e}", file=sys.stderr)
            for fake in (f, g):
                if fake:
                    fake.log.flush()
                    print(open(fake.log.name).read()[-3000:], file=sys.stderr)
            return 1
        finally:
            f.stop()
            if g:
                g.stop()
    print(f"selftest: {CHECKS[0]} checks passed in {time.monotonic() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
