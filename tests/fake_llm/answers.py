"""answers.py: what fake_llm.py writes into message.content.

arxdigest's workers ask for one JSON object per paper (SPEC section 4): title_translated,
one_sentence, summary, tldr, motivation, method, result, conclusion, score (1..5),
score_reason, company, tags_top, tags_detail. The fake finds the paper's arXiv id in the
user messages; for a paper of the real DeepSeek month (tests/data/llm/dae_answers.jsonl.zst,
built by make_data.py) it answers with that paper's real tldr / motivation / method /
result / conclusion, otherwise with a deterministic synthetic answer. Everything here is a
pure function of the request, so tests can predict every field (see expected_answer).

Derived fields of a real paper:
  title_translated  zh: the tldr's first clause (up to 60 chars); en: the English title
  one_sentence      the tldr
  summary           motivation + method + result
  score             sha256(id) mod 5 + 1, the same in both languages
  company           "未知" (zh) / "unknown" (en)
  tags_top          the paper's categories as lower-case field names (at most 3)
  tags_detail       up to 4 long words of the English title, lower-cased
"""
import hashlib
import json
import re
import subprocess

ID_RE = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(?:v\d+)?(?![\d])")
CJK_RE = re.compile(r"[\u4e00-\u9fff]")
LATIN_RE = re.compile(r"[A-Za-z]")
# tags_top: the template asks for lower-case English field names
CATEGORY_TAGS = {
    "cs.AI": "artificial intelligence", "cs.CL": "natural language processing",
    "cs.CV": "computer vision", "cs.LG": "machine learning", "cs.IR": "information retrieval",
    "cs.RO": "robotics", "cs.CR": "security", "cs.DC": "distributed computing",
    "cs.DB": "databases", "cs.SE": "software engineering", "cs.HC": "human-computer interaction",
    "cs.NE": "neural computing", "cs.MA": "multi-agent systems", "cs.GT": "game theory",
    "cs.IT": "information theory", "cs.GR": "graphics", "cs.CE": "computational engineering",
    "cs.SD": "sound", "cs.NI": "networking", "cs.DS": "algorithms", "cs.SI": "social networks",
    "cs.MM": "multimedia", "cs.CY": "computers and society", "cs.AR": "hardware architecture",
    "cs.PL": "programming languages", "cs.OS": "operating systems", "cs.LO": "logic",
    "eess.IV": "image processing", "eess.AS": "audio processing", "eess.SP": "signal processing",
    "stat.ML": "machine learning", "math.OC": "optimization", "math.NA": "numerical analysis",
}
TITLE_RE = re.compile(r"^\s*(?:title|标题)\s*[:：]\s*(.+?)\s*$", re.I | re.M)
FIELDS = ("title_translated", "one_sentence", "summary", "tldr", "motivation", "method", "result",
          "conclusion", "score", "score_reason", "company", "tags_top", "tags_detail")


def load_papers(path):
    """id -> record (title, categories, tldr, motivation, method, result, conclusion) from a
    .jsonl or .jsonl.zst file (zst through the zstd tool, which install-deps.sh installs)."""
    if path.endswith(".zst"):
        raw = subprocess.run(["zstd", "-dc", path], check=True, stdout=subprocess.PIPE).stdout
    else:
        with open(path, "rb") as f:
            raw = f.read()
    papers = {}
    for line in raw.decode("utf-8").splitlines():
        if line:
            r = json.loads(line)
            papers[r["id"]] = r
    return papers


def detect_language(messages):
    """"zh" when the system (or developer) message asks for Chinese ("zh", "Chinese", "中文")
    or is mostly written in Chinese (a Chinese interest quoted in an English template is not
    enough), else "en"."""
    for m in messages:
        if m.get("role") in ("system", "developer") and isinstance(m.get("content"), str):
            c = m["content"]
            if "中文" in c or "Chinese" in c or "chinese" in c or re.search(r"\bzh\b", c):
                return "zh"
            cjk = len(CJK_RE.findall(c))
            if cjk and cjk * 4 > len(LATIN_RE.findall(c)):
                return "zh"
    return "en"


def is_repair(messages):
    """A repair request shows the model its previous answer (an assistant message) or, when
    that answer was empty, adds a second user message with the error."""
    users = 0
    for m in messages:
        r = m.get("role")
        if r == "assistant":
            return True
        users += r == "user"
    return users > 1


def user_text(messages):
    return "\n".join(m["content"] for m in messages
                     if m.get("role") == "user" and isinstance(m.get("content"), str))


def find_paper_id(messages, papers):
    """The paper's id: the first new-style id in the user messages that is a known paper,
    else the first id at all (an abstract may cite other ids after the paper's own), else None."""
    first = None
    for m in messages:
        if m.get("role") != "user" or not isinstance(m.get("content"), str):
            continue
        for mt in ID_RE.finditer(m["content"]):
            i = mt.group(1)
            if i in papers:
                return i
            if first is None:
                first = i
    return first


def score_for(key):
    """Deterministic score 1..5 for an id (or any text)."""
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % 5 + 1


def _first_clause(s, limit=60):
    m = re.split(r"[，。；：,.;:]", s, maxsplit=1)
    c = m[0].strip() or s.strip()
    return c[:limit]


def category_tags(categories):
    """Up to 3 distinct tags for the paper's categories (unknown codes kept as they are)."""
    out = []
    for c in categories:
        t = CATEGORY_TAGS.get(c, c)
        if t not in out:
            out.append(t)
    return out[:3]


def _title_words(title, n=4):
    seen = []
    for w in re.findall(r"[A-Za-z][A-Za-z0-9-]{4,}", title):
        w = w.lower()
        if w not in seen:
            seen.append(w)
        if len(seen) == n:
            break
    return seen


def _reason(lang, score):
    if lang == "zh":
        return f"模拟评分：根据摘要与兴趣方向的相关程度给出 {score} 分。"
    return f"Simulated score {score}/5 from how closely the abstract matches the stated interest."


def real_answer(p, lang):
    """The answer for a paper of the real month."""
    score = score_for(p["id"])
    if lang == "zh":
        title_t = _first_clause(p["tldr"])
        summary = p["motivation"] + p["method"] + p["result"]
    else:
        title_t = p["title"] or p["id"]
        summary = " ".join((p["motivation"], p["method"], p["result"]))
    return {
        "title_translated": title_t,
        "one_sentence": p["tldr"],
        "summary": summary,
        "tldr": p["tldr"],
        "motivation": p["motivation"],
        "method": p["method"],
        "result": p["result"],
        "conclusion": p["conclusion"],
        "score": score,
        "score_reason": _reason(lang, score),
        "company": "未知" if lang == "zh" else "unknown",
        "tags_top": category_tags(p.get("categories") or []),
        "tags_detail": _title_words(p.get("title") or ""),
    }


def synthetic_answer(pid, text, lang):
    """A deterministic answer for a paper the data does not hold (pid may be None: then the
    user text's hash names it)."""
    key = pid or hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    score = score_for(key)
    tm = TITLE_RE.search(text)
    title = tm.group(1)[:200] if tm else f"paper {key}"
    if lang == "zh":
        a = {
            "title_translated": f"（模拟译名）{title}"[:120],
            "tldr": f"这是论文 {key} 的模拟摘要，由测试用的假模型生成。",
            "motivation": f"论文 {key} 的动机（模拟）。",
            "method": f"论文 {key} 的方法（模拟）。",
            "result": f"论文 {key} 的结果（模拟）。",
            "conclusion": f"论文 {key} 的结论（模拟）。",
            "company": "未知",
        }
        a["summary"] = a["motivation"] + a["method"] + a["result"]
    else:
        a = {
            "title_translated": title,
            "tldr": f"Synthetic summary of paper {key}, written by the fake model for tests.",
            "motivation": f"Motivation of paper {key} (synthetic).",
            "method": f"Method of paper {key} (synthetic).",
            "result": f"Result of paper {key} (synthetic).",
            "conclusion": f"Conclusion of paper {key} (synthetic).",
            "company": "unknown",
        }
        a["summary"] = " ".join((a["motivation"], a["method"], a["result"]))
    a["one_sentence"] = a["tldr"]
    a["score"] = score
    a["score_reason"] = _reason(lang, score)
    a["tags_top"] = ["synthetic"]
    a["tags_detail"] = _title_words(title) or ["synthetic"]
    return {k: a[k] for k in FIELDS}


def expected_answer(messages, papers):
    """(answer dict, paper id or None, known?, language) for a request's messages."""
    lang = detect_language(messages)
    pid = find_paper_id(messages, papers)
    if pid is not None and pid in papers:
        return real_answer(papers[pid], lang), pid, True, lang
    return synthetic_answer(pid, user_text(messages), lang), pid, False, lang


# Content faults: each turns a good answer into what a misbehaving model writes.
def garbage(answer, lang):
    """Not JSON at all (no braces, so no object can be dug out of it)."""
    if lang == "zh":
        return "抱歉，我暂时无法按要求的格式回答这篇论文的问题。"
    return "Sorry, I cannot produce the requested format for this paper right now."


def missing_fields(answer):
    """Valid JSON without score, method and tags_detail."""
    return json.dumps({k: v for k, v in answer.items() if k not in ("score", "method", "tags_detail")},
                      ensure_ascii=False)


def bad_score(answer):
    """Valid JSON, every field present, but score is the string "high"."""
    return json.dumps(dict(answer, score="high"), ensure_ascii=False)


def fenced(answer):
    """The answer wrapped in a ```json fence with a sentence before it (valid once unwrapped)."""
    return "Here is the JSON:\n```json\n" + json.dumps(answer, ensure_ascii=False, indent=2) + "\n```"


def truncated(content):
    """The content cut after 60 % of its characters (mid-JSON); finish_reason "length"."""
    return content[:max(1, len(content) * 6 // 10)]
