#!/usr/bin/python3
"""fake_arxiv.py: a fake arXiv (Atom API, OAI-PMH, RSS) for the broker's harvester tests.

Serves a Kaggle-snapshot corpus (--corpus) as export.arxiv.org/api/query, export.arxiv.org/oai2
and rss.arxiv.org would, in the exact layouts of the captured responses in
tests/data/shared/fixtures/arxiv/, with arXiv's limits (2000 per page, the 30 000 results cap,
OAI resumption tokens), replays of the captured files, fault injection and per-request stats
for the politeness tests. See README.md next to it for the endpoints and the control keys.

The HTTP/1.1 side is tests/fake_llm/httpconn.Conn (keep-alive, Content-Length, pipelining),
subclassed here to number connections and to trickle plain bodies. Standard library only; run
it with Debian's /usr/bin/python3.
"""
import argparse
import asyncio
import base64
import calendar
import collections
import email.utils
import hashlib
import itertools
import json
import os
import re
import secrets
import signal
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(os.path.dirname(HERE), "fake_llm"))
import corpus  # noqa: E402
import httpconn  # noqa: E402
import query  # noqa: E402
from corpus import esc, esc_q  # noqa: E402

DEFAULT_FIXTURES = os.path.join(os.path.dirname(HERE), "data", "shared", "fixtures", "arxiv")
KINDS = ("api", "oai", "rss")
CTYPES = {"api": "application/atom+xml; charset=utf-8", "oai": "text/xml; charset=utf-8",
          "rss": "application/rss+xml; charset=utf-8", "json": "application/json",
          "text": "text/plain; charset=utf-8", "html": "text/html"}
httpconn.REASONS.setdefault(504, "Gateway Timeout")
httpconn.REASONS.setdefault(403, "Forbidden")

DEFAULTS = {
    "cap": 30000,                 # api: entries stop at start >= cap (totalResults stays true)
    "page_limit": 2000,           # api: max_results above it -> HTTP 400 error feed
    "default_max_results": 10,    # api: max_results when the request has none
    "oai_page_size": 1000,        # oai: records per ListRecords page
    "oai_token_style": "old",     # oai: "old" (726959|1001, no expiry) or "new" (opaque, expires)
    "oai_token_ttl_s": 3600,      # oai: lifetime of a "new" token (expirationDate)
    "bad_token": 0,               # oai: the next N resumptionToken requests -> badResumptionToken
    "deleted": [],                # oai: ids served as <header status="deleted">
    "rss_day": None,              # rss: the announcement day YYYY-MM-DD (None: last submission day)
    "rss_empty": False,           # rss: a valid channel with no items (weekend/holiday)
    "slow_ms": 0,                 # delay before answering: a number, or {"api": ms, ...}
    "keepalive_timeout_s": 0,     # close a keep-alive connection idle this long (0: never)
    "fail": [],                   # [{"path", "status", "retry_after", "count", "body", "headers"}]
    "truncate": [],               # [{"path", "count", "at"}]
    "trickle": [],                # [{"path", "count", "chunk", "interval_ms"}]
    "hang": [],                   # [{"path", "count", "ms"}]
    "empty_page": [],             # [{"path": "api", "count"}]
}
RULES = {"fail": {"status": 503, "retry_after": None, "body": None, "headers": {}},
         "truncate": {"at": 0.5},
         "trickle": {"chunk": 512, "interval_ms": 100},
         "hang": {"ms": 30000},
         "empty_page": {}}
ACTIONS = ("reset", "reset_stats", "expire_tokens", "replay")

FEED_HEAD = ("<?xml version='1.0' encoding='UTF-8'?>\n"
             '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
             'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">\n')
OAI_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ '
            'http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">\n'
            '<responseDate>%s</responseDate>\n')
OAI_BASE = "http://export.arxiv.org/oai2"
RSS_HEAD = ("<?xml version='1.0' encoding='UTF-8'?>\n"
            '<rss xmlns:arxiv="http://arxiv.org/schemas/atom" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" version="2.0">\n')
# export.arxiv.org's 503 (fixtures/arxiv/oai_http503_retry_after_2018-06-21.txt)
OAI_503 = "<html><body>\n<h1>Retry after %s seconds</h1>\n</body></html>\n"
GENERIC_ERR = ("<html><head><title>%d %s</title></head><body><h1>%s</h1></body></html>\n")
NEW_ID = re.compile(r"^\d{4}\.\d{4,5}(v\d+)?$")
OLD_ID = re.compile(r"^[a-z][a-z-]*(\.[A-Z]{2})?/\d{7}(v\d+)?$")
CAT_RE = re.compile(r"^[a-z][a-z-]*(\.[A-Za-z-]+)?$")
DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
OAI_ARGS = {"ListRecords": ("metadataPrefix", "from", "until", "set", "resumptionToken"),
            "ListIdentifiers": ("metadataPrefix", "from", "until", "set", "resumptionToken"),
            "GetRecord": ("identifier", "metadataPrefix"),
            "Identify": (), "ListSets": ("resumptionToken",),
            "ListMetadataFormats": ("identifier",)}
OAI_FIXTURE = {"Identify": "oai_identify_2018-06-21.xml",
               "ListSets": "oai_listsets_2018-06-21.xml",
               "ListMetadataFormats": "oai_listmetadataformats_2018-06-21.xml"}


def utc_iso(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if t is None else t))


def valid_day(s):
    if not isinstance(s, str) or not DAY_RE.match(s):
        return False
    try:
        time.strptime(s, "%Y-%m-%d")
        return True
    except ValueError:
        return False


class OaiError(Exception):
    def __init__(self, code, msg, attrs=True):
        super().__init__(msg)
        self.code, self.msg, self.attrs = code, msg, attrs


class Stats:
    """What GET /_stats reports. conn_* and internal_errors are httpconn.Conn's counters."""

    def __init__(self):
        self.started = time.time()
        self.conn_open = 0
        self.conn_max = 0
        self.conn_total = 0
        self.internal_errors = 0
        self.log = []
        self.requests = collections.Counter()
        self.connections_opened = 0
        self.max_concurrent = 0
        self.max_concurrent_raw = 0
        self.faults = collections.Counter()


class Conn(httpconn.Conn):
    """httpconn.Conn plus a connection number, the "carried a harvest request" mark used for
    the concurrency count, a plain (Content-Length) trickle and the keep-alive idle timeout."""

    def __init__(self, server):
        super().__init__(server)
        self.no = next(server.conn_numbers)
        self.counted = False
        self.idle = None

    def connection_lost(self, exc):
        super().connection_lost(exc)
        if self.idle:
            self.idle.cancel()
        self.srv.open_counted.discard(self)

    def data_received(self, data):
        if self.idle:
            self.idle.cancel()
            self.idle = None
        super().data_received(data)

    def send(self, data, status=None):
        super().send(data, status)
        t = self.srv.settings["keepalive_timeout_s"]
        if t and not self.closed and not self.busy and not self.buf:
            self.idle = self.srv.loop.call_later(t, self.drop)

    def trickle_plain(self, data, chunk, interval, delay):
        """Sends a whole response `chunk` bytes every `interval` seconds, after `delay`."""
        pos = [0]

        def step():
            if self.closed:
                return
            a = pos[0]
            b = a + chunk
            if b >= len(data):
                return self.send(data[a:])
            self.transport.write(data[a:b])
            pos[0] = b
            self.handles = [self.srv.loop.call_later(interval, step)]
        self.handles = [self.srv.loop.call_later(delay, step)]


class Server:
    def __init__(self, papers, corpus_path, fixtures):
        self.papers = papers
        self.corpus_path = corpus_path
        self.fixtures = fixtures
        self.index = query.Index(papers)
        self.loop = None
        self.conn_numbers = itertools.count(1)
        self.open_counted = set()
        self.checks_until = 0.0
        self.by_sub_day = collections.defaultdict(list)
        self.by_upd_day = collections.defaultdict(list)
        for p in papers:
            self.by_sub_day[p.sub_day].append(p.idx)
            self.by_upd_day[p.upd_day].append(p.idx)
        self.last_sub_day = max(self.by_sub_day) if papers else "1970-01-01"
        self.oai_order = sorted(range(len(papers)), key=lambda i: (papers[i].datestamp, papers[i].id))
        self.id_to_idx = {p.id: p.idx for p in papers}
        self.api_cache = collections.OrderedDict()
        self.oai_cache = collections.OrderedDict()
        self._date = (0, "")
        self.stats = Stats()
        self.defaults()

    def defaults(self):
        self.settings = json.loads(json.dumps(DEFAULTS))
        self.deleted = set()
        self.replay = {k: collections.deque() for k in KINDS}
        self.result_sets = collections.OrderedDict()    # sid -> (indices, verb)
        self.new_tokens = {}                            # token -> (sid, offset, expiry)
        self.next_sid = 726959 + secrets.randbelow(100000)

    # ---- HTTP plumbing (the interface httpconn.Conn calls) -------------------------------
    def date(self):
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, email.utils.formatdate(now, usegmt=True))
        return self._date[1]

    def response(self, status, headers, body, close=False, ctype="application/json"):
        head = [f"HTTP/1.1 {status} {httpconn.REASONS.get(status, 'Status')}\r\n",
                f"Date: {self.date()}\r\nServer: fake_arxiv\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\n"
                f"Connection: {'close' if close else 'keep-alive'}\r\n"]
        for k, v in headers:
            head.append(f"{k}: {v}\r\n")
        head.append("\r\n")
        return "".join(head).encode("latin-1") + body

    @staticmethod
    def error_body(message, etype=None):
        return json.dumps({"error": message}).encode()

    def finish(self, status):
        pass

    # ---- routing ---------------------------------------------------------------------------
    def handle(self, conn, method, target, headers, body):
        path, _, qs = target.partition("?")
        if path == "/_stats":
            return self.send_stats(conn)
        if path == "/_control":
            if method == "POST":
                return conn.send(self.control(body))
            return conn.send(self.json_response(200, self.control_state()))
        if path in ("/api/query", "/api/query/"):
            kind = "api"
        elif path in ("/oai", "/oai/", "/oai2"):
            kind = "oai"
        elif path.startswith("/rss/"):
            kind = "rss"
        else:
            kind = "other"
        now_m, now_w = time.monotonic(), time.time()
        rec = {"n": len(self.stats.log) + 1, "kind": kind, "method": method, "path": path,
               "query": qs, "t_mono": round(now_m, 6), "t_wall": round(now_w, 6),
               "conn": conn.no, "status": None, "bytes": 0, "bytes_sent": 0, "fault": None,
               "replay": None, "user_agent": headers.get("user-agent")}
        self.stats.log.append(rec)
        self.stats.requests[kind] += 1
        self.note_connection(conn)
        if method == "POST" and kind in ("api", "oai"):
            qs = body.decode("utf-8", "replace")
            rec["query"] = qs
        elif method != "GET":
            allow = "GET" if kind == "rss" else "GET, POST"
            return self.deliver(conn, kind, rec, 405, [("Allow", allow)], b"method not allowed\n",
                                CTYPES["text"], plain=True)
        if kind == "other":
            return self.deliver(conn, kind, rec, 404, [], b"not found\n", CTYPES["text"], plain=True)

        # 1. faults that replace the answer, 2. a queued replay, 3. the generated answer
        r = self.take("hang", kind)
        if r:
            rec["fault"] = "hang"
            self.stats.faults["hang"] += 1
            return conn.hang(r["ms"] / 1000.0)
        r = self.take("fail", kind)
        if r:
            return self.fail_answer(conn, kind, rec, r)
        if self.replay[kind]:
            item = self.replay[kind].popleft()
            rec["replay"] = item.get("file") or "<body>"
            hdrs = list(item["headers"].items())
            ctype = next((v for k, v in hdrs if k.lower() == "content-type"), CTYPES[kind])
            hdrs = [(k, v) for k, v in hdrs if k.lower() not in ("content-type", "content-length")]
            return self.deliver(conn, kind, rec, item["status"], hdrs, item["data"], ctype)
        params = urllib.parse.parse_qs(qs, keep_blank_values=True)
        if kind == "api":
            status, data = self.api(params, rec)
        elif kind == "oai":
            status, data = self.oai(params)
        else:
            status, data = self.rss(urllib.parse.unquote(path[5:]))
        return self.deliver(conn, kind, rec, status, [], data, CTYPES[kind] if status != 404 else CTYPES["text"])

    def deliver(self, conn, kind, rec, status, headers, body, ctype, plain=False):
        """Sends an answer through the transport faults: slow_ms, truncate, trickle."""
        resp = self.response(status, headers, body, close=conn.close_after, ctype=ctype)
        rec["status"] = status
        rec["bytes"] = len(resp)
        rec["body_bytes"] = len(body)
        rec["bytes_sent"] = len(resp)
        delay = 0.0 if plain else self.slow_s(kind)
        tr = None if plain else self.take("truncate", kind)
        if tr:
            keep = len(resp) - len(body) + int(len(body) * tr["at"])
            keep = min(keep, len(resp) - 1)
            rec["fault"] = "truncate"
            rec["bytes_sent"] = keep
            self.stats.faults["truncate"] += 1
            return conn.cut(resp[:keep], delay)
        tk = None if plain else self.take("trickle", kind)
        if tk:
            rec["fault"] = (rec["fault"] + "+" if rec["fault"] else "") + "trickle"
            self.stats.faults["trickle"] += 1
            return conn.trickle_plain(resp, max(1, int(tk["chunk"])), tk["interval_ms"] / 1000.0, delay)
        if delay > 0:
            return conn.later(delay, resp, status)
        return conn.send(resp, status)

    def fail_answer(self, conn, kind, rec, r):
        status = int(r["status"])
        ra = r.get("retry_after")
        headers = []
        if ra is not None:
            headers.append(("Retry-After", str(ra)))
        for k, v in (r.get("headers") or {}).items():
            headers.append((k, str(v)))
        if r.get("body") is not None:
            body, ctype = r["body"].encode(), CTYPES["html"]
        elif kind == "oai" and status == 503:
            body, ctype = (OAI_503 % (ra if ra is not None else 10)).encode(), CTYPES["html"]
            headers.append(("Vary", "Accept-Encoding,User-Agent"))
            conn.close_after = True                 # as recorded: Connection: close
        else:
            reason = httpconn.REASONS.get(status, "Error")
            body, ctype = (GENERIC_ERR % (status, reason, reason)).encode(), CTYPES["html"]
        rec["fault"] = f"fail{status}"
        self.stats.faults[f"fail{status}"] += 1
        return self.deliver(conn, kind, rec, status, headers, body, ctype)

    def json_response(self, status, obj):
        return self.response(status, [], (json.dumps(obj, indent=1, ensure_ascii=False) + "\n").encode(),
                             ctype=CTYPES["json"])

    # ---- connections and stats -----------------------------------------------------------
    CHECK_DELAY = 0.05

    def note_connection(self, conn):
        """Counts the connection a harvest request came on. Concurrency is the number of
        harvest connections open when a request arrives, checked CHECK_DELAY later so that a
        connection the client had already closed (its FIN not yet processed) does not count."""
        st = self.stats
        if not conn.counted:
            conn.counted = True
            st.connections_opened += 1
            self.open_counted.add(conn)
        snap = list(self.open_counted)
        st.max_concurrent_raw = max(st.max_concurrent_raw, len(snap))

        def check():
            n = sum(1 for c in snap if c is conn or not c.closed)
            if n > st.max_concurrent:
                st.max_concurrent = n
        self.loop.call_later(self.CHECK_DELAY, check)
        self.checks_until = time.monotonic() + self.CHECK_DELAY + 0.01

    def send_stats(self, conn):
        wait = self.checks_until - time.monotonic()
        if wait > 0:        # let pending concurrency checks land first
            return self.loop.call_later(wait, self.send_stats, conn)
        st = self.stats
        d = {"uptime_s": round(time.time() - st.started, 3),
             "requests": {k: st.requests[k] for k in KINDS + ("other",)},
             "total_requests": len(st.log),
             "connections_opened": st.connections_opened,
             "max_concurrent_connections": st.max_concurrent,
             "max_concurrent_connections_raw": st.max_concurrent_raw,
             "open_connections": len([c for c in self.open_counted if not c.closed]),
             "tcp": {"open": st.conn_open, "max_open": st.conn_max, "total": st.conn_total},
             "faults": dict(st.faults),
             "internal_errors": st.internal_errors,
             "log": st.log}
        conn.send(self.json_response(200, d))

    # ---- control ---------------------------------------------------------------------------
    def take(self, name, kind):
        """The first rule of list `name` for this path, its count consumed (None if none)."""
        rules = self.settings[name]
        for i, r in enumerate(rules):
            if r["path"] in (kind, "*"):
                if r["count"] > 0:
                    r["count"] -= 1
                    if r["count"] == 0:
                        del rules[i]
                return r
        return None

    def slow_s(self, kind):
        v = self.settings["slow_ms"]
        if isinstance(v, dict):
            v = v.get(kind, v.get("*", 0))
        return float(v or 0) / 1000.0

    def control_state(self):
        d = json.loads(json.dumps(self.settings))
        d["rss_day_effective"] = self.rss_day()
        d["replay_pending"] = {k: [i.get("file") or "<body>" for i in q] for k, q in self.replay.items()}
        d["oai_result_sets"] = len(self.result_sets)
        d["corpus"] = {"path": self.corpus_path, "papers": len(self.papers),
                       "last_submission_day": self.last_sub_day}
        d["fixtures"] = self.fixtures
        return d

    def control(self, body):
        try:
            req = json.loads(body or b"{}")
            if not isinstance(req, dict):
                raise ValueError("the body must be a JSON object")
            unknown = [k for k in req if k not in DEFAULTS and k not in ACTIONS]
            if unknown:
                raise ValueError("unknown settings: " + ", ".join(sorted(unknown)))
            new = json.loads(json.dumps(self.settings))
            replay = None
            if req.get("reset"):
                new = json.loads(json.dumps(DEFAULTS))
            for k, v in req.items():
                if k in DEFAULTS:
                    new[k] = self.check_setting(k, v)
            if "replay" in req:
                replay = self.check_replay(req["replay"])
        except (ValueError, TypeError, KeyError) as e:
            return self.json_response(400, {"error": str(e)})
        if req.get("reset"):
            self.defaults()
            self.reset_stats()
        if req.get("reset_stats"):
            self.reset_stats()
        if req.get("expire_tokens"):
            self.result_sets.clear()
            self.new_tokens.clear()
        self.settings = new
        self.deleted = set(new["deleted"])
        if replay is not None:
            for k in KINDS:
                self.replay[k].clear()
            for item in replay:
                self.replay[item["path"]].append(item)
        return self.json_response(200, self.control_state())

    def reset_stats(self):
        old = self.stats
        self.stats = Stats()
        for k in ("conn_open", "conn_max", "conn_total"):
            setattr(self.stats, k, getattr(old, k))
        self.stats.conn_max = old.conn_open
        for c in self.open_counted:
            c.counted = False
        self.open_counted.clear()

    @staticmethod
    def _num(k, v, lo=0, integer=True):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < lo:
            raise ValueError(f"{k}: expected a number >= {lo}")
        if integer and v != int(v):
            raise ValueError(f"{k}: expected an integer")
        return int(v) if integer else v

    def check_setting(self, k, v):
        if k in ("cap", "oai_page_size", "page_limit", "default_max_results"):
            return self._num(k, v, 1)
        if k == "bad_token":
            return self._num(k, v, 0)
        if k in ("oai_token_ttl_s", "keepalive_timeout_s"):
            return self._num(k, v, 0, integer=False)
        if k == "oai_token_style":
            if v not in ("old", "new"):
                raise ValueError("oai_token_style: old or new")
            return v
        if k == "deleted":
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise ValueError("deleted: a list of arXiv ids")
            return [re.sub(r"v\d+$", "", x.replace("oai:arXiv.org:", "")) for x in v]
        if k == "rss_day":
            if v is not None and not valid_day(v):
                raise ValueError("rss_day: YYYY-MM-DD or null")
            return v
        if k == "rss_empty":
            return bool(v)
        if k == "slow_ms":
            if isinstance(v, dict):
                return {p: self._num(f"slow_ms.{p}", x, 0, integer=False) for p, x in v.items()
                        if self._path(p)}
            return self._num(k, v, 0, integer=False)
        if k in RULES:
            rules = v if isinstance(v, list) else [v] if isinstance(v, dict) else None
            if rules is None:
                raise ValueError(f"{k}: a rule object or a list of them")
            out = []
            for r in rules:
                if not isinstance(r, dict):
                    raise ValueError(f"{k}: a rule is an object")
                extra = set(r) - set(RULES[k]) - {"path", "count"}
                if extra:
                    raise ValueError(f"{k}: unknown rule keys " + ", ".join(sorted(extra)))
                n = dict(RULES[k])
                n.update(r)
                n["path"] = self._path(r.get("path", "*"))
                c = r.get("count", 1)
                if isinstance(c, bool) or not isinstance(c, int) or (c < 1 and c != -1):
                    raise ValueError(f"{k}: count is an integer >= 1, or -1 for always")
                n["count"] = c
                if k == "fail":
                    s = n["status"]
                    if isinstance(s, bool) or not isinstance(s, int) or not 100 <= s <= 599:
                        raise ValueError("fail: status is an HTTP status")
                    if n["retry_after"] is not None and not isinstance(n["retry_after"], (int, float, str)):
                        raise ValueError("fail: retry_after is seconds or an HTTP date")
                    if n["body"] is not None and not isinstance(n["body"], str):
                        raise ValueError("fail: body is a string")
                    if not isinstance(n["headers"], dict):
                        raise ValueError("fail: headers is an object")
                elif k == "truncate":
                    n["at"] = self._num("truncate.at", n["at"], 0, integer=False)
                    if n["at"] >= 1:
                        raise ValueError("truncate: at is a fraction in [0, 1)")
                elif k == "trickle":
                    n["chunk"] = self._num("trickle.chunk", n["chunk"], 1)
                    n["interval_ms"] = self._num("trickle.interval_ms", n["interval_ms"], 0, integer=False)
                elif k == "hang":
                    n["ms"] = self._num("hang.ms", n["ms"], 0, integer=False)
                out.append(n)
            return out
        raise ValueError(f"unknown setting {k}")

    @staticmethod
    def _path(p):
        if p in ("*", "any", None):
            return "*"
        if p not in KINDS:
            raise ValueError(f"path: api, oai, rss or * (not {p!r})")
        return p

    def check_replay(self, items):
        if not isinstance(items, list):
            raise ValueError("replay: a list of {path, file|body, status, headers}")
        out = []
        for it in items:
            if not isinstance(it, dict) or set(it) - {"path", "file", "body", "status", "headers"}:
                raise ValueError("replay: each item is {path, file|body, status, headers}")
            path = it.get("path")
            if path not in KINDS:
                raise ValueError("replay: path is api, oai or rss")
            if "file" in it:
                f = it["file"]
                if not isinstance(f, str) or not f:
                    raise ValueError("replay: file is a fixture name")
                full = f if os.path.isabs(f) else os.path.join(self.fixtures, f)
                if not os.path.isabs(f) and ("/" in f or f.startswith(".")):
                    raise ValueError("replay: file is a name in the fixtures folder, or an absolute path")
                try:
                    with open(full, "rb") as fh:
                        data = fh.read()
                except OSError as e:
                    raise ValueError(f"replay: {e}")
            elif isinstance(it.get("body"), str):
                data = it["body"].encode()
            else:
                raise ValueError("replay: an item needs file or body")
            status = it.get("status", 200)
            if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
                raise ValueError("replay: status is an HTTP status")
            headers = it.get("headers") or {}
            if not isinstance(headers, dict):
                raise ValueError("replay: headers is an object")
            out.append({"path": path, "file": it.get("file"), "status": status,
                        "headers": {str(k): str(v) for k, v in headers.items()}, "data": data})
        return out

    # ---- the Atom API ----------------------------------------------------------------------
    def api_error(self, msg):
        anchor = re.sub(r"\s+", "_", msg)
        now = utc_iso()
        href = esc_q("https://arxiv.org/api/errors#" + anchor)
        body = (FEED_HEAD +
                "  <id>https://arxiv.org/</id>\n"
                "  <title>arXiv Search Results</title>\n"
                f"  <updated>{now}</updated>\n"
                "  <opensearch:itemsPerPage>1</opensearch:itemsPerPage>\n"
                "  <opensearch:totalResults>1</opensearch:totalResults>\n"
                "  <opensearch:startIndex>0</opensearch:startIndex>\n"
                "  <entry>\n"
                f"    <id>{href}</id>\n"
                "    <title>Error</title>\n"
                f"    <updated>{now}</updated>\n"
                f'    <link href="{href}" rel="alternate" type="text/html"/>\n'
                f"    <summary>{esc(msg)}</summary>\n"
                "    <author>\n      <name>arXiv api core</name>\n    </author>\n"
                "  </entry>\n</feed>\n")
        return 400, body.encode()

    def api(self, params, rec):
        s = self.settings
        first = {k: v[0] for k, v in params.items()}
        sq = first.get("search_query", "")
        idl = first.get("id_list", "")
        try:
            start = int(first.get("start", "0") or "0")
        except ValueError:
            return self.api_error("start must be an integer")
        try:
            mr = int(first.get("max_results", "") or s["default_max_results"])
        except ValueError:
            return self.api_error("max_results must be an integer")
        if start < 0:
            return self.api_error("start must be non-negative")
        if mr < 0:
            return self.api_error("max_results must be non-negative")
        if mr > s["page_limit"]:
            return self.api_error(f"max_results must be less than or equal to {s['page_limit']}")
        sort_by = first.get("sortBy", "relevance")
        order = first.get("sortOrder", "descending")
        if sort_by not in ("relevance", "submittedDate", "lastUpdatedDate"):
            return self.api_error("sortBy must be in: relevance, lastUpdatedDate, submittedDate")
        if order not in ("ascending", "descending"):
            return self.api_error("sortOrder must be in: ascending, descending")
        ids = [x.strip() for x in idl.split(",") if x.strip()] if idl else []
        for x in ids:
            if not (NEW_ID.match(x) or OLD_ID.match(x)):
                return self.api_error(f"incorrect id format for {x}")
        key = (sq, idl, sort_by, order, "sortBy" in first)
        res = self.api_cache.get(key)
        if res is None:
            try:
                node = query.parse(sq) if sq.strip() else None
            except query.QueryError as e:
                return self.api_error(str(e))
            res = self.api_results(node, bool(sq.strip()), ids, sort_by, order, "sortBy" in first)
            self.api_cache[key] = res
            if len(self.api_cache) > 64:
                self.api_cache.popitem(last=False)
        else:
            self.api_cache.move_to_end(key)
        total = len(res)
        end = min(start + mr, total, s["cap"])
        page = res[start:end] if start < end else []
        r = self.take("empty_page", "api")
        if r:
            page = []
            rec["fault"] = "empty_page"
            self.stats.faults["empty_page"] += 1
        h = base64.b64encode(hashlib.sha1(f"{sq}|{idl}|{start}|{mr}".encode()).digest()).decode().rstrip("=")
        link_q = urllib.parse.quote(sq, safe=":()[]*\"")
        out = [FEED_HEAD,
               f"  <id>https://arxiv.org/api/{h}</id>\n"
               f"  <title>arXiv Query: search_query={esc(sq)}&amp;id_list={esc(idl)}&amp;start={start}"
               f"&amp;max_results={mr}</title>\n"
               f"  <updated>{utc_iso()}</updated>\n"
               f'  <link href="https://arxiv.org/api/query?search_query={esc_q(link_q)}&amp;start={start}'
               f'&amp;max_results={mr}&amp;id_list={esc_q(urllib.parse.quote(idl, safe=","))}" '
               f'type="application/atom+xml"/>\n'
               f"  <opensearch:itemsPerPage>{mr}</opensearch:itemsPerPage>\n"
               f"  <opensearch:totalResults>{total}</opensearch:totalResults>\n"
               f"  <opensearch:startIndex>{start}</opensearch:startIndex>\n"]
        body = out[0].encode() + out[1].encode()
        papers = self.papers
        return 200, b"".join([body] + [papers[i].atom() for i in page] + [b"</feed>\n"])

    def api_results(self, node, has_query, ids, sort_by, order, sort_given):
        found = self.index.evaluate(node) if has_query else None
        if ids:
            in_list = []
            seen = set()
            for x in ids:
                i = self.id_to_idx.get(re.sub(r"v\d+$", "", x))
                if i is not None and i not in seen and (found is None or i in found):
                    seen.add(i)
                    in_list.append(i)
            if not sort_given:
                return in_list
            found = seen
        if not found:
            return []
        rank = self.index.rank["lastUpdatedDate" if sort_by == "lastUpdatedDate" else "submittedDate"]
        return sorted(found, key=rank.__getitem__, reverse=(order == "descending"))

    # ---- OAI-PMH ---------------------------------------------------------------------------
    def oai_doc(self, request_attrs, inner):
        attrs = "".join(f' {k}="{esc_q(v)}"' for k, v in request_attrs)
        return (OAI_HEAD % utc_iso() + f"<request{attrs}>{OAI_BASE}</request>\n" + inner
                + "</OAI-PMH>\n").encode()

    def oai(self, params):
        attrs = [(k, v[0]) for k, v in params.items()]
        # verb first, then the other arguments as given (as export.arxiv.org/oai2 echoed them)
        attrs.sort(key=lambda kv: kv[0] != "verb")
        try:
            return 200, self.oai_answer(params, attrs)
        except OaiError as e:
            a = attrs if e.attrs else []
            return 200, self.oai_doc(a, f'<error code="{e.code}">{esc(e.msg)}</error>\n')

    def oai_answer(self, params, attrs):
        verb = params.get("verb", [None])
        if len(verb) != 1 or verb[0] not in OAI_ARGS:
            raise OaiError("badVerb", "Illegal verb" if verb[0] else "Verb argument is missing",
                           attrs=False)
        verb = verb[0]
        for k, v in params.items():
            if k == "verb":
                continue
            if k not in OAI_ARGS[verb]:
                raise OaiError("badArgument", f"Verb '{verb}', illegal argument '{k}'.", attrs=False)
            if len(v) > 1:
                raise OaiError("badArgument", f"Verb '{verb}', argument '{k}' repeated.", attrs=False)
        a = {k: v[0] for k, v in params.items()}
        if verb in OAI_FIXTURE:
            if "resumptionToken" in a:
                raise OaiError("badResumptionToken",
                               "The resumptionToken supplied is illegal for this repository")
            with open(os.path.join(self.fixtures, OAI_FIXTURE[verb]), "rb") as f:
                data = f.read().decode()
            return re.sub(r"<responseDate>[^<]*</responseDate>", f"<responseDate>{utc_iso()}</responseDate>",
                          data, count=1).encode()
        if verb == "GetRecord":
            for k in ("identifier", "metadataPrefix"):
                if k not in a:
                    raise OaiError("badArgument", f"Verb '{verb}', argument '{k}' is required.", attrs=False)
            self.check_prefix(a["metadataPrefix"])
            ident = a["identifier"]
            pid = ident[len("oai:arXiv.org:"):] if ident.startswith("oai:arXiv.org:") else None
            i = self.id_to_idx.get(pid) if pid else None
            if i is None:
                raise OaiError("idDoesNotExist", f"Identifier '{ident}' has correct form but does not "
                               "correspond to an item in this repository")
            p = self.papers[i]
            return self.oai_doc(attrs, "<GetRecord>\n" + p.oai_record(p.id in self.deleted).decode()
                                + "</GetRecord>\n")
        # ListRecords / ListIdentifiers
        if "resumptionToken" in a:
            if len(a) > 2:
                raise OaiError("badArgument", f"Verb '{verb}', argument 'resumptionToken' is exclusive.",
                               attrs=False)
            res, off = self.resume(a["resumptionToken"], verb)
        else:
            if "metadataPrefix" not in a:
                raise OaiError("badArgument", f"Verb '{verb}', argument 'metadataPrefix' is required.",
                               attrs=False)
            self.check_prefix(a["metadataPrefix"])
            fr, un = a.get("from"), a.get("until")
            for name, v in (("from", fr), ("until", un)):
                if v is not None and not valid_day(v):
                    raise OaiError("badArgument", f"Illegal date/time for \"{name}\" ({v})", attrs=False)
            if fr and un and fr > un:
                raise OaiError("badArgument", f"The 'from' date ({fr}) is later than the 'until' date "
                               f"({un}).", attrs=False)
            res = self.oai_results(a.get("set"), fr, un)
            if not res:
                raise OaiError("noRecordsMatch", "Results not found")
            off = 0
        size = self.settings["oai_page_size"]
        page = res[off:off + size]
        out = [f"<{verb}>\n"]
        papers = self.papers
        dele = self.deleted
        if verb == "ListRecords":
            out += [papers[i].oai_record(papers[i].id in dele).decode() for i in page]
        else:
            out += [papers[i].oai_header(papers[i].id in dele).decode() for i in page]
        nxt = off + len(page)
        if nxt < len(res):
            out.append(self.make_token(res, verb, off, nxt))
        elif off > 0:
            out.append(f'<resumptionToken cursor="{off}" completeListSize="{len(res)}"/>\n')
        out.append(f"</{verb}>\n")
        return self.oai_doc(attrs, "".join(out))

    @staticmethod
    def check_prefix(p):
        if p != "arXiv":
            raise OaiError("cannotDisseminateFormat",
                           f"Metadata format '{p}' is not supported by this repository "
                           "(fake_arxiv serves metadataPrefix=arXiv only)")

    def set_filter(self, spec):
        """A predicate on a paper's categories for an OAI setSpec, None if no such set."""
        parts = spec.split(":")
        groups = corpus.GROUP_ARCHIVES + ("physics",)
        if parts[0] not in groups or len(parts) > 3 or not all(parts):
            return None
        if len(parts) == 1:
            if parts[0] == "physics":
                return lambda cats: any(corpus.old_set(c).startswith("physics:") for c in cats)
            return lambda cats, g=parts[0]: any(corpus.archive_of(c) == g for c in cats)
        group, arch = parts[0], parts[1]
        if group == "physics":
            if arch not in corpus.PHYSICS_ARCHIVES:
                return None
        elif arch != group:
            return None
        if len(parts) == 2:
            return lambda cats: any(corpus.archive_of(c) == arch for c in cats)
        cat = f"{arch}.{parts[2]}"
        return lambda cats: cat in cats

    def oai_results(self, set_spec, fr, un):
        key = (set_spec, fr, un)
        res = self.oai_cache.get(key)
        if res is not None:
            return res
        pred = None
        if set_spec is not None:
            pred = self.set_filter(set_spec)
            if pred is None:
                raise OaiError("noRecordsMatch",
                               f"Set argument doesn't match any sets. The setSpec was '{set_spec}'")
        papers = self.papers
        res = [i for i in self.oai_order
               if (fr is None or papers[i].datestamp >= fr) and (un is None or papers[i].datestamp <= un)
               and (pred is None or pred(papers[i].cats))]
        self.oai_cache[key] = res
        if len(self.oai_cache) > 32:
            self.oai_cache.popitem(last=False)
        return res

    def make_token(self, res, verb, off, nxt):
        sid = self.next_sid
        # one result set per list: the first page registers it, later pages reuse its sid
        for k, (r, v) in self.result_sets.items():
            if r is res and v == verb:
                sid = k
                break
        else:
            self.next_sid += 1
            self.result_sets[sid] = (res, verb)
            if len(self.result_sets) > 1000:
                self.result_sets.popitem(last=False)
        n = len(res)
        if self.settings["oai_token_style"] == "old":
            return f'<resumptionToken cursor="{off}" completeListSize="{n}">{sid}|{nxt + 1}</resumptionToken>\n'
        tok = secrets.token_urlsafe(18)
        exp = time.time() + self.settings["oai_token_ttl_s"]
        self.new_tokens[tok] = (sid, nxt, exp)
        return (f'<resumptionToken expirationDate="{utc_iso(exp)}" completeListSize="{n}" '
                f'cursor="{off}">{tok}</resumptionToken>\n')

    def resume(self, tok, verb):
        bad = OaiError("badResumptionToken", "The resumptionToken supplied is illegal for this repository")
        if self.settings["bad_token"] > 0:
            self.settings["bad_token"] -= 1
            self.stats.faults["bad_token"] += 1
            raise bad
        m = re.match(r"^(\d+)\|(\d+)$", tok)
        if m:
            sid, off = int(m.group(1)), int(m.group(2)) - 1
        elif tok in self.new_tokens:
            sid, off, exp = self.new_tokens[tok]
            if time.time() > exp:
                del self.new_tokens[tok]
                raise bad
        else:
            raise bad
        rs = self.result_sets.get(sid)
        if rs is None or rs[1] != verb or not 0 <= off < len(rs[0]):
            raise bad
        return rs[0], off

    # ---- RSS -------------------------------------------------------------------------------
    def rss_day(self):
        return self.settings["rss_day"] or self.last_sub_day

    def rss(self, spec):
        cats = [c for c in spec.replace(" ", "+").split("+") if c]
        if not cats or not all(CAT_RE.match(c) for c in cats):
            return 404, f"No such feed: {spec}\n".encode()
        want = set(cats)

        def hit(c):
            return c in want or corpus.archive_of(c) in want
        d = self.rss_day()
        y, m, dd = (int(x) for x in d.split("-"))
        weekend = calendar.weekday(y, m, dd) >= 5
        pub = corpus.rfc822_day(d, corpus.eastern_offset(d))
        names = ", ".join(cats)
        joined = "+".join(cats)
        build = time.strftime("%H:%M:%S", time.gmtime())
        last_build = corpus.rfc822_day(d, "+0000").replace("00:00:00", build)
        out = [RSS_HEAD,
               "  <channel>\n"
               f"    <title>{esc(names)} updates on arXiv.org</title>\n"
               f"    <link>http://rss.arxiv.org/rss/{esc(joined)}</link>\n"
               f"    <description>{esc(names)} updates on the arXiv.org e-print archive.</description>\n"
               f'    <atom:link href="http://rss.arxiv.org/rss/{esc_q(joined)}" rel="self" '
               'type="application/rss+xml"/>\n'
               "    <docs>http://www.rssboard.org/rss-specification</docs>\n"
               "    <language>en-us</language>\n"
               f"    <lastBuildDate>{last_build}</lastBuildDate>\n"
               "    <managingEditor>rss-help@arxiv.org</managingEditor>\n"
               f"    <pubDate>{pub}</pubDate>\n"
               "    <skipDays>\n      <day>Sunday</day>\n      <day>Saturday</day>\n    </skipDays>\n"]
        body = [x.encode() for x in out]
        if not (self.settings["rss_empty"] or weekend):
            groups = {"new": [], "cross": [], "replace": [], "replace-cross": []}
            papers = self.papers
            for i in self.by_sub_day.get(d, ()):
                p = papers[i]
                if any(hit(c) for c in p.cats):
                    groups["new" if hit(p.primary) else "cross"].append(p)
            for i in self.by_upd_day.get(d, ()):
                p = papers[i]
                if p.sub_day < d and any(hit(c) for c in p.cats):
                    groups["replace" if hit(p.primary) else "replace-cross"].append(p)
            for kind, ps in groups.items():
                ps.sort(key=lambda p: p.id)
                body += [p.rss_item(kind, pub) for p in ps]
        body.append(b"  </channel>\n</rss>\n")
        return 200, b"".join(body)


def parse_args(argv):
    p = argparse.ArgumentParser(description="Fake arXiv (Atom API, OAI-PMH, RSS) server.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0: a free port (printed as LISTENING <port>)")
    p.add_argument("--corpus", required=True, help="Kaggle-snapshot JSON-lines file")
    p.add_argument("--fixtures", default=DEFAULT_FIXTURES,
                   help="folder of the captured arXiv responses (replay, Identify, ListSets)")
    p.add_argument("--ready-file", help="written (atomically) with the port once listening")
    return p.parse_args(argv)


async def main(argv):
    a = parse_args(argv)
    t0 = time.monotonic()
    papers = corpus.load(a.corpus)
    srv = Server(papers, os.path.abspath(a.corpus), os.path.abspath(a.fixtures))
    srv.loop = asyncio.get_running_loop()
    server = await srv.loop.create_server(lambda: Conn(srv), a.host, a.port, backlog=256,
                                          reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    if a.ready_file:
        tmp = f"{a.ready_file}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, a.ready_file)
    print(f"LISTENING {port}", flush=True)
    print(f"fake_arxiv: {len(papers)} papers from {a.corpus} in {time.monotonic() - t0:.2f}s, "
          f"{a.host}:{port}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        srv.loop.add_signal_handler(s, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
