#!/usr/bin/python3
"""Writes a seed corpus of valid protocol bodies (one per decoder) into argv[1]."""
import os
import sys

import msgpack

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
paper = {"id": "2602.09386", "ver": 3, "sub": 1770724560, "title": "SMES $\\alpha$ 快手", "authors": ["A B", "C D"],
         "abs": "An abstract.", "cats": ["cs.IR", "cs.LG"], "upd": 1770900000, "com": None, "jref": None, "doi": "10.1/x"}
profile = {"name": "recsys", "title": "t", "lang": "zh", "interest": "推荐", "cats": ["cs.IR"],
           "kw": [{"t": "ctr", "a": ["click-through rate"], "co": None}], "ex": ["survey"], "min": 1, "top": 20}
verdict = {"st": "matched", "why": None, "hits": ["ctr"], "co": "快手"}
llm = {"title_translated": "标题", "summary": "s", "score": 4, "tags_top": ["a"], "tags_detail": []}
bodies = {
    "job": {"v": 1, "run": "R", "job": 7, "attempt": 1, "lease_ms": 60000, "profiles": [profile], "papers": [paper]},
    "result": {"v": 1, "run": "R", "job": 7, "attempt": 1, "worker": "w", "profiles": ["recsys", "b"],
               "items": [{"paper": paper, "verdicts": [verdict, dict(verdict, st="enriched", llm=llm)]}]},
    "entry": {"v": 1, "profile": "recsys", "paper": paper, "verdict": verdict},
    "spec": {"v": 1, "source": "snapshot:/x", "categories": ["cs"], "from": "2026-01-01", "to": None,
             "job_size": 64, "group_by": "day", "profiles": [profile]},
    "ctl": {"v": 1, "run": "R", "job": 3, "credit": 2, "reason": "x", "worker": "w"},
}
for name, body in bodies.items():
    open(os.path.join(out, name), "wb").write(msgpack.packb(body))
open(os.path.join(out, "papers"), "wb").write(msgpack.packb([paper, paper]))
