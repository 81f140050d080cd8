#!/usr/bin/env python3
"""gen_snapshot.py: write a big Kaggle-format arXiv snapshot for benchmarks.

usage: gen_snapshot.py [N] [OUT] [--sample FILE] [--start YYYY-MM-DD]

Writes N papers (default 1,000,000) to OUT (default arxiv-bench-N.jsonl, "-" = stdout) by
replaying the real lines of deploy/sample/arxiv-cs-2026-06.jsonl round-robin: titles,
abstracts, authors and categories are the real ones, only the ids and dates are new. v1
dates are spread evenly over a year from --start (longer when N needs it, so that no month
holds more than 99,999 ids); ids are new-style YYMM.NNNNN, in date order like arXiv's own,
unique within the file. Every fourth paper gets a v2 some days later. Streams: memory holds
the sample only. Stdlib only.
"""
import argparse
import calendar
import io
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.normpath(os.path.join(HERE, "..", "..", "deploy", "sample", "arxiv-cs-2026-06.jsonl"))
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
SLOTS = ("id", "versions", "update_date")
MAX_PER_MONTH = 99999           # NNNNN has five digits
BATCH = 2000                    # lines per write


def templates(path):
    """Each sample line as a list of literal pieces around the id, versions and update_date
    slots, so that a paper is one str.join (json.dumps per line would be slower)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            for slot in SLOTS:
                rec[slot] = "@@AX_%s@@" % slot
            text = json.dumps(rec, ensure_ascii=False, separators=(",", ":"))
            pieces = []
            for slot in SLOTS:
                marker = '"@@AX_%s@@"' % slot
                if text.count(marker) != 1:
                    sys.exit("%s:%d: cannot template this line" % (path, n))
                head, text = text.split(marker)
                pieces.append(head)
            pieces.append(text)
            out.append(pieces)
    if not out:
        sys.exit("%s: no papers" % path)
    return out


def rfc2822(tm):
    return "%s, %d %s %d %02d:%02d:%02d GMT" % (DAYS[tm.tm_wday], tm.tm_mday, MONTHS[tm.tm_mon - 1],
                                              tm.tm_year, tm.tm_hour, tm.tm_min, tm.tm_sec)


def generate(n, out, tmpl, start):
    # Spread over a year, or longer so that the busiest (31-day) month stays under 5 digits.
    span_days = max(365, -(-n * 31 // (MAX_PER_MONTH - 1000)))
    span = span_days * 86400
    month, seq, batch = None, 0, []
    for i in range(n):
        t = start + i * span // n
        tm = time.gmtime(t)
        yymm = "%02d%02d" % (tm.tm_year % 100, tm.tm_mon)
        if yymm != month:
            month, seq = yymm, 0
        seq += 1
        versions = '[{"version":"v1","created":"%s"}' % rfc2822(tm)
        if i % 4 == 3:
            tm = time.gmtime(t + (1 + i % 30) * 86400 + 3600)
            versions += ',{"version":"v2","created":"%s"}' % rfc2822(tm)
        p = tmpl[i % len(tmpl)]
        batch.append("".join((p[0], '"%s.%05d"' % (yymm, seq), p[1], versions, "]", p[2],
                              '"%04d-%02d-%02d"' % (tm.tm_year, tm.tm_mon, tm.tm_mday), p[3], "\n")))
        if len(batch) == BATCH:
            out.write("".join(batch))
            batch.clear()
    out.write("".join(batch))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", nargs="?", type=int, default=1000000)
    ap.add_argument("out", nargs="?")
    ap.add_argument("--sample", default=SAMPLE)
    ap.add_argument("--start", default="2025-01-01")
    args = ap.parse_args()
    if args.n < 0:
        sys.exit("N must be >= 0")
    start = calendar.timegm(time.strptime(args.start, "%Y-%m-%d"))
    out_path = args.out or "arxiv-bench-%d.jsonl" % args.n
    tmpl = templates(args.sample)
    t0 = time.monotonic()
    if out_path == "-":
        out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
        generate(args.n, out, tmpl, start)
        out.flush()
    else:
        with open(out_path, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as f:
            generate(args.n, f, tmpl, start)
    print("%s: %d papers in %.1f s" % (out_path, args.n, time.monotonic() - t0), file=sys.stderr)


if __name__ == "__main__":
    main()
