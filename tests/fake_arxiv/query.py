"""query.py: the subset of arXiv's search_query language fake_arxiv.py understands.

    query   := term (op term)*          op: AND | OR | ANDNOT   (left to right, no precedence)
    term    := '(' query ')' | field ':' value | word          (a bare word is all:word)
    value   := [A TO B] | "a phrase" | word
    fields  := cat  (any of the paper's categories; a trailing * is a prefix: cat:cs.*)
               submittedDate / lastUpdatedDate  [YYYYMMDDHHMM TO YYYYMMDDHHMM]  (GMT, inclusive;
                       8 digits = a whole day, 14 digits = seconds dropped, * = open)
               id   (without version)
               ti, au, abs, co, jr, all   (case-insensitive substring)

parse() raises QueryError on anything else, which the server answers with a 400 error feed.
evaluate() turns the tree into a set of paper indexes, using the category index and the
papers sorted by date (bisect) so that a query costs little more than its result.
"""
import bisect
import re


class QueryError(ValueError):
    pass


_TOKEN = re.compile(r'\s*(?:(\()|(\))|([A-Za-z_]+):(\[[^\]]*\]|"[^"]*"|[^\s()]+)|("[^"]*"|[^\s()]+))')
OPS = ("AND", "OR", "ANDNOT")
TEXT_FIELDS = ("ti", "au", "abs", "co", "jr", "all")
DATE_FIELDS = ("submittedDate", "lastUpdatedDate")


def tokenize(s):
    out = []
    pos = 0
    s = s.strip()
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if not m or m.end() == pos:
            raise QueryError(f"unable to parse search query at {s[pos:pos + 20]!r}")
        pos = m.end()
        if m.group(1):
            out.append(("(",))
        elif m.group(2):
            out.append((")",))
        elif m.group(3):
            out.append(("term", m.group(3), m.group(4)))
        else:
            w = m.group(5)
            if w in OPS:
                out.append(("op", w))
            else:
                out.append(("term", "all", w))
    return out


def parse(s):
    toks = tokenize(s)
    if not toks:
        return None
    node, i = _expr(toks, 0)
    if i != len(toks):
        raise QueryError("unable to parse search query: unexpected " + _show(toks[i]))
    return node


def _show(t):
    return t[0] if len(t) == 1 else " ".join(t[1:])


def _expr(toks, i):
    left, i = _term(toks, i)
    while i < len(toks) and toks[i][0] == "op":
        op = toks[i][1]
        right, i = _term(toks, i + 1)
        left = (op, left, right)
    return left, i


def _term(toks, i):
    if i >= len(toks):
        raise QueryError("unable to parse search query: it ends too early")
    t = toks[i]
    if t[0] == "(":
        node, i = _expr(toks, i + 1)
        if i >= len(toks) or toks[i][0] != ")":
            raise QueryError("unable to parse search query: unbalanced parentheses")
        return node, i + 1
    if t[0] != "term":
        raise QueryError("unable to parse search query: unexpected " + _show(t))
    field, value = t[1], t[2]
    if field in DATE_FIELDS:
        return ("date", field, _range(field, value)), i + 1
    if value.startswith("["):
        raise QueryError(f"unable to parse search query: a range for {field}")
    if value.startswith('"'):
        value = value[1:-1]
    if field == "cat":
        return ("cat", value), i + 1
    if field == "id":
        return ("id", value), i + 1
    if field in TEXT_FIELDS:
        return ("text", field, value.lower()), i + 1
    raise QueryError(f"unable to parse search query: unknown field {field!r}")


def _bound(v, upper):
    if v == "*":
        return 999999999999 if upper else 0
    if not v.isdigit() or len(v) not in (8, 12, 14):
        raise QueryError(f"unable to parse search query: bad date {v!r} (YYYYMMDDHHMM)")
    if len(v) == 8:
        v += "2359" if upper else "0000"
    mo, d, h, mi = int(v[4:6]), int(v[6:8]), int(v[8:10]), int(v[10:12])
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h <= 23 and mi <= 59):
        raise QueryError(f"unable to parse search query: bad date {v!r}")
    return int(v[:12])


def _range(field, v):
    if not (v.startswith("[") and v.endswith("]")):
        raise QueryError(f"unable to parse search query: {field} needs [FROM TO UNTIL]")
    parts = v[1:-1].split()
    if len(parts) != 3 or parts[1] != "TO":
        raise QueryError(f"unable to parse search query: {field}:{v}")
    lo, hi = _bound(parts[0], False), _bound(parts[2], True)
    return lo, hi


class Index:
    """Category index and date orders over a list of corpus.Paper."""

    def __init__(self, papers):
        self.papers = papers
        self.by_cat = {}
        for p in papers:
            for c in p.cats:
                self.by_cat.setdefault(c, []).append(p.idx)
        self.by_id = {p.id: p.idx for p in papers}
        self.order = {}
        for f, attr in (("submittedDate", "sub_min"), ("lastUpdatedDate", "upd_min")):
            o = sorted(range(len(papers)), key=lambda i, a=attr: (getattr(papers[i], a), papers[i].id))
            self.order[f] = (o, [getattr(papers[i], attr) for i in o])
        # rank of every paper in (submitted, id) and (updated, id) order, for sorting results
        self.rank = {}
        for f in self.order:
            r = [0] * len(papers)
            for pos, i in enumerate(self.order[f][0]):
                r[i] = pos
            self.rank[f] = r

    def evaluate(self, node):
        if node is None:
            return set()
        kind = node[0]
        if kind in ("AND", "OR", "ANDNOT"):
            a, b = self.evaluate(node[1]), self.evaluate(node[2])
            return a & b if kind == "AND" else a | b if kind == "OR" else a - b
        if kind == "cat":
            v = node[1]
            if v.endswith("*"):
                pre = v[:-1]
                s = set()
                for c, lst in self.by_cat.items():
                    if c.startswith(pre):
                        s.update(lst)
                return s
            return set(self.by_cat.get(v, ()))
        if kind == "date":
            order, keys = self.order[node[1]]
            lo, hi = node[2]
            return set(order[bisect.bisect_left(keys, lo):bisect.bisect_right(keys, hi)])
        if kind == "id":
            i = self.by_id.get(re.sub(r"v\d+$", "", node[1]))
            return {i} if i is not None else set()
        field, needle = node[1], node[2]
        out = set()
        for p in self.papers:
            if field == "ti":
                hay = p.title
            elif field == "abs":
                hay = p.abstract
            elif field == "au":
                hay = " ".join(p.full_names())
            elif field == "co":
                hay = p.comments or ""
            elif field == "jr":
                hay = p.journal_ref or ""
            else:
                hay = " ".join((p.title, p.abstract, " ".join(p.full_names()), p.comments or ""))
            if needle in hay.lower():
                out.add(p.idx)
        return out
