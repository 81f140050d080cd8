#!/usr/bin/env python3
"""oracle.py: an independent, slow and simple model of what a keyword-only run must produce.

Reads a Kaggle-format snapshot and a JSON config (the same one the run uses; JSON is YAML),
applies SPEC section 3 with Python regular expressions, and prints the expected counts and
ranked top-N per profile as JSON. The integration tests compare the real pipeline's report
and digest.md against it, so a bug in the C matcher, broker, store or ranking shows up as a
difference here.
"""
import json
import re
import sys
from datetime import datetime, timezone

SEP = r"[-\s/_]*"
# Word characters: ASCII letters/digits and the 2-byte UTF-8 range (U+0080..U+07FF).
WORD = "A-Za-z0-9\u0080-\u07ff"


def word_forms(w):
    forms = {w, w + "s", w + "es"}
    if w.endswith("y"):
        forms.add(w[:-1] + "ies")
    if w.endswith("ies"):
        forms.add(w[:-3] + "y")
    if w.endswith("es"):
        forms.add(w[:-2])
    if w.endswith("s"):
        forms.add(w[:-1])
    return forms


def term_regex(term):
    """SPEC: hyphen = space = nothing between words, in the term and in the text, so a
    term is its letters with separators removed, and the text may put separators between
    any two of them ("3d" matches "3-D", "cold-start" matches "coldstart"); the last word
    may be singular or plural."""
    t = term.lower().strip()
    if not re.search(r"[a-z0-9]", t):
        return re.compile(re.escape(t))
    key = re.sub(r"[-\s/_]+", "", t)
    alts = []
    for form in sorted(word_forms(key), key=len, reverse=True):
        alts.append(SEP.join(re.escape(ch) for ch in form))
    body = "(?:" + "|".join(alts) + ")"
    return re.compile(r"(?<![%s])%s(?![%s])" % (WORD, body, WORD), re.IGNORECASE)


def fold(s):
    return " ".join((s or "").split())


def hits_in(texts, regexes):
    return any(r.search(t) for r in regexes for t in texts)


def in_cats(paper_cats, wanted):
    if not wanted:
        return True
    for c in paper_cats:
        for w in wanted:
            if c == w or ("." not in w and c.split(".")[0] == w):
                return True
    return False


def main():
    snapshot, config = sys.argv[1], sys.argv[2]
    cfg = json.load(open(config))
    profiles = cfg["profiles"]
    run_cats = []
    for p in profiles:
        for c in p.get("categories", []):
            if c not in run_cats:
                run_cats.append(c)
    compiled = []
    for p in profiles:
        kws = []
        for k in p["keywords"]:
            if isinstance(k, str):
                k = {"term": k}
            kws.append((k["term"], [term_regex(x) for x in [k["term"]] + k.get("aliases", [])]))
        excl = [(e, [term_regex(e)]) for e in p.get("exclude", [])]
        compiled.append((p, kws, excl))
    seen, malformed, duplicates = set(), 0, 0
    out = {p["name"]: {"counts": {"matched": 0, "below_threshold": 0, "excluded": 0}, "kept": []}
           for p in profiles}
    for line in open(snapshot, encoding="utf-8", errors="replace"):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            pid, title = rec["id"], rec["title"]
            if not isinstance(pid, str) or not isinstance(title, str):
                raise ValueError
        except Exception:
            malformed += 1
            continue
        cats = (rec.get("categories") or "").split()
        if not in_cats(cats, run_cats):
            continue
        if pid in seen:
            duplicates += 1
            continue
        seen.add(pid)
        vers = rec.get("versions") or [{}]
        sub = datetime.strptime(vers[0]["created"], "%a, %d %b %Y %H:%M:%S %Z").replace(tzinfo=timezone.utc)
        texts = [fold(title), fold(rec.get("abstract")), fold(rec.get("comments"))]
        for p, kws, excl in compiled:
            o = out[p["name"]]
            if not in_cats(cats, p.get("categories", [])):
                o["counts"]["excluded"] += 1
                continue
            if any(hits_in(texts, rx) for _, rx in excl):
                o["counts"]["excluded"] += 1
                continue
            hits = [term for term, rx in kws if hits_in(texts, rx)]
            if len(hits) < p.get("min_hits", 1):
                o["counts"]["below_threshold"] += 1
                continue
            o["counts"]["matched"] += 1
            o["kept"].append({"id": pid, "hits": hits, "sub": sub.timestamp()})
    result = {"harvested": len(seen), "duplicates": duplicates, "malformed": malformed, "profiles": {}}
    for p in profiles:
        o = out[p["name"]]
        kept = sorted(o["kept"], key=lambda e: (-len(e["hits"]), -e["sub"], e["id"]))
        result["profiles"][p["name"]] = {
            "counts": o["counts"],
            "top": [{"id": e["id"], "hits": e["hits"]} for e in kept[: p.get("top_n", 20)]],
        }
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
