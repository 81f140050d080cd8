#!/usr/bin/env python3
"""make_sample.py: convert the real papers of fixtures/dae/ into the Kaggle snapshot format.

The dae files (dw-dengwei/daily-arXiv-ai-enhanced, data branch) hold real cs.* papers as
{id, categories[], authors[], title, comment, summary, ...} with no dates. This writes one
Kaggle `arxiv-metadata-oai-snapshot.json` line per distinct id (the union of the June 2026
month and the 2026-07-01 day; the day is read last so its record wins), metadata only.

Dates are ESTIMATED (see SOURCES.md): arXiv gives new-style ids YYMM.NNNNN in submission
order within a month, so v1's creation time is taken as
    month_start + (NNNNN / max NNNNN seen for YYMM in the input) * month_length
clamped to the month (a month with fewer than 100 ids uses the largest NNNNN of any
month instead). Stdlib only.

usage: make_sample.py [--day FILE.jsonl] [--month FILE.jsonl.zst] [--out FILE.jsonl]
"""
import argparse
import calendar
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DAE = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "fixtures", "dae"))
ID_RE = re.compile(r"^(\d{2})(\d{2})\.(\d{4,5})(?:v(\d+))?$")
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
SPARSE_MONTH = 100  # ids seen in a month below which its own maximum is not used
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def read_jsonl(path):
    """Yields the records of a .jsonl file, or of a .jsonl.zst through `zstd -dc`."""
    if path.endswith(".zst"):
        out = subprocess.run(["zstd", "-dc", path], check=True, stdout=subprocess.PIPE).stdout
        lines = out.decode("utf-8").splitlines()
    else:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: bad JSON: {e}")


def rfc2822(t):
    """'Mon, 2 Apr 2007 19:18:42 GMT' as in the Kaggle snapshot (day not zero-padded)."""
    tm = time.gmtime(t)
    return "%s, %d %s %d %02d:%02d:%02d GMT" % (DAYS[tm.tm_wday], tm.tm_mday, MONTHS[tm.tm_mon - 1],
                                              tm.tm_year, tm.tm_hour, tm.tm_min, tm.tm_sec)


def month_bounds(yymm):
    """Unix seconds of the first instant of month YYMM and its length in seconds."""
    year = 2000 + int(yymm[:2]) if int(yymm[:2]) < 91 else 1900 + int(yymm[:2])
    month = int(yymm[2:])
    start = calendar.timegm((year, month, 1, 0, 0, 0))
    days = calendar.monthrange(year, month)[1]
    return start, days * 86400


def split_author(name):
    """'Peter Förster' -> ['Förster', 'Peter', '']: the last word is the last name."""
    words = name.split()
    if not words:
        return None
    return [words[-1], " ".join(words[:-1]), ""]


def convert(rec, max_seq):
    m = ID_RE.match(rec["id"])
    if not m:
        raise ValueError("not a new-style id: %r" % rec["id"])
    yymm, seq, ver = m.group(1) + m.group(2), int(m.group(3)), int(m.group(4) or 1)
    start, length = month_bounds(yymm)
    t = start + int(seq / max_seq[yymm] * length)
    t = max(start, min(start + length - 1, t))
    created = rfc2822(t)
    # Only v1's date is estimated; later versions (none in the dae data) reuse it.
    versions = [{"version": "v%d" % v, "created": created} for v in range(1, ver + 1)]
    authors = [a.strip() for a in rec.get("authors") or [] if a and a.strip()]
    parsed = [p for p in (split_author(a) for a in authors) if p]
    cats = rec.get("categories") or []
    if isinstance(cats, str):
        cats = cats.split()
    tm = time.gmtime(t)
    # Key order and types of the real snapshot; what dae does not carry is null.
    return {
        "id": "%s.%s" % (yymm, m.group(3)),
        "submitter": None,
        "authors": ", ".join(authors),
        "title": rec.get("title") or "",
        "comments": rec.get("comment"),
        "journal-ref": None,
        "doi": None,
        "report-no": None,
        "categories": " ".join(cats),
        "license": None,
        "abstract": rec.get("summary") or "",
        "versions": versions,
        "update_date": "%04d-%02d-%02d" % (tm.tm_year, tm.tm_mon, tm.tm_mday),
        "authors_parsed": parsed,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--month", default=os.path.join(DAE, "2026-06_AI_enhanced_Chinese.jsonl.zst"))
    ap.add_argument("--day", default=os.path.join(DAE, "2026-07-01.jsonl"))
    ap.add_argument("--out", default=os.path.join(HERE, "arxiv-cs-2026-06.jsonl"))
    args = ap.parse_args()

    records = {}
    for path in (args.month, args.day):     # the day last: its record wins
        for rec in read_jsonl(path):
            records[rec["id"]] = rec
    max_seq, seen = {}, {}
    for rid in records:
        m = ID_RE.match(rid)
        if not m:
            sys.exit("unexpected id %r" % rid)
        yymm = m.group(1) + m.group(2)
        max_seq[yymm] = max(max_seq.get(yymm, 1), int(m.group(3)))
        seen[yymm] = seen.get(yymm, 0) + 1
    # A month with a handful of ids (a late cross-list of an old paper) says nothing
    # about its own size: scale those by the largest sequence number of any month.
    biggest = max(max_seq.values())
    for yymm in max_seq:
        if seen[yymm] < SPARSE_MONTH:
            max_seq[yymm] = biggest

    def key(rid):
        m = ID_RE.match(rid)
        return (int(m.group(1)) < 91, m.group(1) + m.group(2), int(m.group(3)))

    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for rid in sorted(records, key=key):
            f.write(json.dumps(convert(records[rid], max_seq), separators=(",", ":"), ensure_ascii=False))
            f.write("\n")
    os.replace(tmp, args.out)
    print("%s: %d papers" % (args.out, len(records)), file=sys.stderr)


if __name__ == "__main__":
    main()
