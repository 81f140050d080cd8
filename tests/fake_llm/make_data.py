#!/usr/bin/python3
"""make_data.py: builds tests/data/llm/dae_answers.jsonl.zst, the answers fake_llm.py serves.

Reads the real DeepSeek output of another arXiv digest system (shared/fixtures/dae/: the
June 2026 month, then 2026-07-01) and keeps, per arXiv id, what the fake needs: the English
title, the categories and the five "AI" fields (tldr, motivation, method, result,
conclusion). An id seen on several days keeps its last record (files in date order). One
compact JSON object per line, sorted by id, compressed with the zstd command-line tool.

Usage: make_data.py [SHARED_DIR [OUT_FILE]]   (defaults: ../shared, tests/data/llm/...)
Run it only to regenerate the committed file; the tests read the committed file.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
AI_FIELDS = ("tldr", "motivation", "method", "result", "conclusion")


def records(path):
    """Yields the JSON records of a .jsonl or .jsonl.zst file."""
    if path.endswith(".zst"):
        data = subprocess.run(["zstd", "-dc", path], check=True, stdout=subprocess.PIPE).stdout
    else:
        with open(path, "rb") as f:
            data = f.read()
    for line in data.decode("utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


def main():
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(REPO), "shared")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(REPO, "tests/data/llm/dae_answers.jsonl.zst")
    dae = os.path.join(shared, "fixtures/dae")
    sources = [os.path.join(dae, "2026-06_AI_enhanced_Chinese.jsonl.zst"),
               os.path.join(dae, "2026-07-01_AI_enhanced_Chinese.jsonl")]
    by_id = {}
    for src in sources:
        for r in records(src):
            ai = r.get("AI")
            if not isinstance(ai, dict) or not all(isinstance(ai.get(k), str) and ai[k].strip()
                                                   for k in AI_FIELDS):
                continue
            e = {"id": r["id"], "title": " ".join(r.get("title", "").split()),
                 "categories": r.get("categories") or []}
            for k in AI_FIELDS:
                e[k] = ai[k].strip()
            by_id[r["id"]] = e
    text = "".join(json.dumps(by_id[k], ensure_ascii=False, separators=(",", ":")) + "\n"
                   for k in sorted(by_id))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    subprocess.run(["zstd", "-q", "-19", "-f", "-o", out], input=text.encode("utf-8"), check=True)
    print(f"{len(by_id)} papers -> {out} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main()
