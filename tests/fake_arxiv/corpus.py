"""corpus.py: the papers fake_arxiv.py serves, and their XML in arXiv's three formats.

A corpus is a Kaggle-snapshot JSON-lines file (arxiv-metadata-oai-snapshot.json). Each paper
keeps its fields as written (hard-wrapped titles and abstracts, LaTeX) and renders, lazily and
once, its Atom <entry> (the post-2025 export.arxiv.org/api format), its OAI-PMH <record>
(metadataPrefix=arXiv, as export.arxiv.org/oai2 wrote it) and its RSS <item> (rss.arxiv.org,
post-2024) as UTF-8 bytes. Layouts copy the captured responses in
tests/data/shared/fixtures/arxiv/ (see SOURCES.md there).

Dates: submitted = versions[0].created, updated = versions[-1].created (both GMT), the OAI
datestamp = update_date (arXiv's modification date).
"""
import calendar
import json
import re
import time

MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DEFAULT_LICENSE = "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"

# Archives that are their own top-level OAI set; every other archive is physics:<archive>.
GROUP_ARCHIVES = ("cs", "econ", "eess", "math", "q-bio", "q-fin", "stat")
PHYSICS_ARCHIVES = ("astro-ph", "cond-mat", "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th",
                    "math-ph", "nlin", "nucl-ex", "nucl-th", "physics", "quant-ph")

# Characters XML 1.0 forbids (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF).
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def esc(s):
    """Text content: &, <, > (as arXiv's API and RSS do)."""
    if _BAD_XML.search(s):
        s = _BAD_XML.sub("", s)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def esc_q(s):
    """Attribute values, and OAI text (export.arxiv.org/oai2 wrote quotes as &quot;)."""
    return esc(s).replace('"', "&quot;")


def archive_of(cat):
    return cat.split(".", 1)[0]


def old_set(cat):
    """The pre-2025 OAI setSpec of a category: cs.IR -> cs, hep-th -> physics:hep-th."""
    a = archive_of(cat)
    return a if a in GROUP_ARCHIVES else "physics:" + a


def parse_created(s):
    """'Mon, 2 Apr 2007 19:18:42 GMT' -> epoch seconds (UTC)."""
    p = s.split()
    try:
        hh, mm, ss = (int(x) for x in p[4].split(":"))
        return calendar.timegm((int(p[3]), MONTHS[p[2][:3]], int(p[1]), hh, mm, ss, 0, 0, 0))
    except (IndexError, KeyError, ValueError):
        raise ValueError(f"bad version date {s!r}")


def iso(t):
    g = _gm(t)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % g[:6]


def day(t):
    g = _gm(t)
    return "%04d-%02d-%02d" % g[:3]


_gm = time.gmtime


def minute_key(t):
    """Epoch -> the integer YYYYMMDDHHMM (arXiv's submittedDate query granularity)."""
    g = _gm(t)
    return ((g[0] * 100 + g[1]) * 100 + g[2]) * 10000 + g[3] * 100 + g[4]


def rfc822_day(d, tz):
    """'2026-06-30', '-0400' -> 'Tue, 30 Jun 2026 00:00:00 -0400'."""
    y, m, dd = (int(x) for x in d.split("-"))
    wd = calendar.weekday(y, m, dd)
    return "%s, %02d %s %04d 00:00:00 %s" % (WEEKDAYS[wd], dd, MONTH_NAMES[m - 1], y, tz)


def eastern_offset(d):
    """US Eastern offset at local midnight of day d ('-0400' in daylight time, else '-0500')."""
    y, m, dd = (int(x) for x in d.split("-"))

    def nth_sunday(month, n):
        first = calendar.weekday(y, month, 1)            # Monday = 0
        return 1 + (6 - first) % 7 + 7 * (n - 1)
    start = (3, nth_sunday(3, 2))
    end = (11, nth_sunday(11, 1))
    return "-0400" if start < (m, dd) <= end else "-0500"


class Paper:
    __slots__ = ("idx", "id", "title", "abstract", "authors", "cats", "comments", "journal_ref",
                 "doi", "report_no", "license", "submitted", "updated", "nver", "datestamp",
                 "sub_day", "upd_day", "sub_min", "upd_min", "_atom", "_oai", "_hdr", "_rss")

    def __init__(self, idx, d):
        self.idx = idx
        self.id = d["id"]
        self.title = d.get("title") or ""
        self.abstract = d.get("abstract") or ""
        self.authors = []
        for a in d.get("authors_parsed") or []:
            a = [x or "" for x in a] + ["", "", ""]
            self.authors.append((a[0], a[1], a[2], [x for x in a[3:] if x]))
        self.cats = (d.get("categories") or "").split()
        self.comments = d.get("comments")
        self.journal_ref = d.get("journal-ref")
        self.doi = d.get("doi")
        self.report_no = d.get("report-no")
        self.license = d.get("license")
        vers = d.get("versions") or []
        if not vers:
            raise ValueError(f"{self.id}: no versions")
        self.submitted = parse_created(vers[0]["created"])
        self.updated = parse_created(vers[-1]["created"])
        self.nver = len(vers)
        self.sub_day = day(self.submitted)
        self.upd_day = day(self.updated)
        self.datestamp = d.get("update_date") or self.upd_day
        self.sub_min = minute_key(self.submitted)
        self.upd_min = minute_key(self.updated)
        self._atom = self._oai = self._hdr = None
        self._rss = {}

    @property
    def primary(self):
        return self.cats[0] if self.cats else ""

    def sets(self):
        return sorted({old_set(c) for c in self.cats})

    def full_names(self):
        return [" ".join(x for x in (first, last, suffix) if x)
                for last, first, suffix, _ in self.authors]

    # ---- Atom (export.arxiv.org/api/query, post-2025 layout) -----------------------------
    def atom(self):
        e = self._atom
        if e is None:
            vid = f"{self.id}v{self.nver}"
            o = ["  <entry>\n",
                 f"    <id>http://arxiv.org/abs/{vid}</id>\n",
                 f"    <title>{esc(self.title)}</title>\n",
                 f"    <updated>{iso(self.updated)}</updated>\n",
                 f'    <link href="https://arxiv.org/abs/{vid}" rel="alternate" type="text/html"/>\n',
                 f'    <link href="https://arxiv.org/pdf/{vid}" rel="related" type="application/pdf" title="pdf"/>\n',
                 f"    <summary>{esc(self.abstract.strip())}</summary>\n"]
            for c in self.cats:
                o.append(f'    <category term="{esc_q(c)}" scheme="http://arxiv.org/schemas/atom"/>\n')
            o.append(f"    <published>{iso(self.submitted)}</published>\n")
            if self.comments:
                o.append(f"    <arxiv:comment>{esc(self.comments)}</arxiv:comment>\n")
            o.append(f'    <arxiv:primary_category term="{esc_q(self.primary)}"/>\n')
            if self.journal_ref:
                o.append(f"    <arxiv:journal_ref>{esc(self.journal_ref)}</arxiv:journal_ref>\n")
            for name, (_, _, _, affs) in zip(self.full_names(), self.authors):
                o.append(f"    <author>\n      <name>{esc(name)}</name>\n")
                for a in affs:
                    o.append(f"      <arxiv:affiliation>{esc(a)}</arxiv:affiliation>\n")
                o.append("    </author>\n")
            if self.doi:
                o.append(f"    <arxiv:doi>{esc(self.doi)}</arxiv:doi>\n")
                o.append(f'    <link rel="related" href="https://doi.org/{esc_q(self.doi)}" title="doi"/>\n')
            o.append("  </entry>\n")
            e = self._atom = "".join(o).encode()
        return e

    # ---- OAI-PMH (metadataPrefix=arXiv) ------------------------------------------------
    def oai_header(self, deleted=False):
        h = self._hdr
        if h is None:
            h = self._hdr = "".join(
                [f" <identifier>oai:arXiv.org:{esc(self.id)}</identifier>\n",
                 f" <datestamp>{self.datestamp}</datestamp>\n"]
                + [f" <setSpec>{s}</setSpec>\n" for s in self.sets()]).encode()
        return (b'<header status="deleted">\n' if deleted else b"<header>\n") + h + b"</header>\n"

    def oai_record(self, deleted=False):
        if deleted:
            return b"<record>\n" + self.oai_header(True) + b"</record>\n"
        r = self._oai
        if r is None:
            o = ['<metadata>\n <arXiv xmlns="http://arxiv.org/OAI/arXiv/" '
                 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                 'xsi:schemaLocation="http://arxiv.org/OAI/arXiv/ http://arxiv.org/OAI/arXiv.xsd">\n',
                 f" <id>{esc(self.id)}</id><created>{self.sub_day}</created>"]
            if self.nver > 1:
                o.append(f"<updated>{self.upd_day}</updated>")
            o.append("<authors>")
            for last, first, suffix, affs in self.authors:
                o.append(f"<author><keyname>{esc_q(last)}</keyname>")
                if first:
                    o.append(f"<forenames>{esc_q(first)}</forenames>")
                if suffix:
                    o.append(f"<suffix>{esc_q(suffix)}</suffix>")
                for a in affs:
                    o.append(f"<affiliation>{esc_q(a)}</affiliation>")
                o.append("</author>")
            o.append(f"</authors><title>{esc_q(self.title)}</title>"
                     f"<categories>{esc_q(' '.join(self.cats))}</categories>")
            for tag, v in (("comments", self.comments), ("report-no", self.report_no),
                           ("journal-ref", self.journal_ref), ("doi", self.doi),
                           ("license", self.license)):
                if v:
                    o.append(f"<{tag}>{esc_q(v)}</{tag}>")
            o.append(f"<abstract>{esc_q(self.abstract)}</abstract></arXiv>\n</metadata>\n")
            r = self._oai = "".join(o).encode()
        return b"<record>\n" + self.oai_header() + r + b"</record>\n"

    # ---- RSS (rss.arxiv.org) -------------------------------------------------------------
    def rss_item(self, kind, pubdate):
        key = (kind, pubdate)
        it = self._rss.get(key)
        if it is None:
            vid = f"{self.id}v{self.nver}"
            o = ["    <item>\n",
                 f"      <title>{esc(self.title)}</title>\n",
                 f"      <link>https://arxiv.org/abs/{esc(self.id)}</link>\n",
                 f"      <description>arXiv:{esc(vid)} Announce Type: {kind} \n"
                 f"Abstract: {esc(self.abstract.strip())}</description>\n",
                 f'      <guid isPermaLink="false">oai:arXiv.org:{esc(vid)}</guid>\n']
            for c in self.cats:
                o.append(f"      <category>{esc(c)}</category>\n")
            o.append(f"      <pubDate>{pubdate}</pubDate>\n"
                     f"      <arxiv:announce_type>{kind}</arxiv:announce_type>\n"
                     f"      <dc:rights>{esc(self.license or DEFAULT_LICENSE)}</dc:rights>\n")
            if self.journal_ref:
                o.append(f"      <arxiv:journal_reference>{esc(self.journal_ref)}</arxiv:journal_reference>\n")
            if self.doi:
                o.append(f"      <arxiv:DOI>{esc(self.doi)}</arxiv:DOI>\n")
            o.append(f"      <dc:creator>{esc(', '.join(self.full_names()))}</dc:creator>\n"
                     "    </item>\n")
            it = self._rss[key] = "".join(o).encode()
            if len(self._rss) > 8:
                self._rss.clear()
                self._rss[key] = it
        return it


def load(path):
    """Reads a Kaggle-snapshot JSON-lines file; a line that is not a paper is an error."""
    papers = []
    seen = set()
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                p = Paper(len(papers), json.loads(line))
            except (ValueError, KeyError, TypeError) as e:
                raise SystemExit(f"{path}:{n}: not a Kaggle-snapshot paper: {e}")
            if p.id in seen:
                continue
            seen.add(p.id)
            papers.append(p)
    return papers
