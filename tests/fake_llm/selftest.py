#!/usr/bin/python3
"""selftest.py: the checks of tests/integration/test_fake_llm.sh against a running fake_llm.py.

  selftest.py PORT SAMPLE_JSONL

The server must have been started with --api-key sk-test-1 --api-key sk-test-2 and no other
option. Every check prints "ok - ..." or raises (exit status 1). SAMPLE_JSONL holds real
records of the DeepSeek month copied unchanged from shared/fixtures/dae/ (the ground truth
for "a real id gets its real answer").
"""
import http.client
import json
import math
import os
import re
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import answers  # noqa: E402

PORT = int(sys.argv[1])
SAMPLE = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8") if l.strip()]
KEY = "sk-test-1"
FIELDS = ("title_translated", "one_sentence", "summary", "tldr", "motivation", "method", "result",
          "conclusion", "score", "score_reason", "company", "tags_top", "tags_detail")
SYS_ZH = "你是一名科研助理。请用中文阅读论文，只输出一个 JSON 对象。"
SYS_EN = "You are a research assistant. Write in English and answer with one JSON object."
_conn = None


def ok(what):
    print("ok -", what, flush=True)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def request(method, path, body=None, key=KEY, headers=None, fresh=False):
    """(status, lower-cased headers, body bytes) over a kept-alive connection."""
    global _conn
    if fresh or _conn is None:
        _conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=20)
    h = {"Content-Type": "application/json"}
    if key is not None:
        h["Authorization"] = "Bearer " + key
    h.update(headers or {})
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    try:
        _conn.request(method, path, data, h)
        r = _conn.getresponse()
    except (http.client.HTTPException, OSError):
        _conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=20)
        _conn.request(method, path, data, h)
        r = _conn.getresponse()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()


def control(**kw):
    st, _, b = request("POST", "/_control", kw)
    check(st == 200, f"control {kw}: {st} {b[:200]}")
    return json.loads(b)


def stats(window=None):
    st, _, b = request("GET", "/_stats" + (f"?window={window}" if window else ""))
    check(st == 200, "stats")
    return json.loads(b)


def paper_msg(pid, title="A paper", abstract="We study things."):
    return f"arXiv id: {pid}v2\nTitle: {title}\nAuthors: A. Author\nAbstract: {abstract}"


def chat_body(pid, lang="zh", **extra):
    b = {"model": "deepseek-chat", "temperature": 0.2, "max_tokens": 2048,
         "response_format": {"type": "json_object"},
         "messages": [{"role": "system", "content": SYS_ZH if lang == "zh" else SYS_EN},
                      {"role": "user", "content": paper_msg(pid)}]}
    b.update(extra)
    return b


def chat(body, path="/chat/completions", **kw):
    st, h, raw = request("POST", path, body, **kw)
    return st, h, raw, (json.loads(raw) if raw.strip().startswith(b"{") else None)


def content_of(doc):
    return doc["choices"][0]["message"]["content"]


def test_real_answers():
    for rec in SAMPLE:
        st, h, raw, doc = chat(chat_body(rec["id"]))
        check(st == 200, f"{rec['id']}: status {st}")
        a = json.loads(content_of(doc))
        ai = rec["AI"]
        for k in ("tldr", "motivation", "method", "result", "conclusion"):
            check(a[k] == ai[k].strip(), f"{rec['id']}: {k} is not the real one")
        check(a["one_sentence"] == ai["tldr"].strip(), "one_sentence = tldr")
        check(a["summary"] == ai["motivation"].strip() + ai["method"].strip() + ai["result"].strip(),
              "zh summary = motivation+method+result")
        check(a["company"] == "未知", "zh company")
        check(isinstance(a["score"], int) and 1 <= a["score"] <= 5, "score 1..5")
        check(a["tags_top"] == answers.category_tags(rec["categories"]) and a["tags_top"],
              "tags_top from the categories")
        check(set(a) == set(FIELDS), f"fields {sorted(a)}")
    ok(f"{len(SAMPLE)} real ids (July and June) answer with their real DeepSeek fields (zh)")

    rec = SAMPLE[0]
    st, h, raw, doc = chat(chat_body(rec["id"], "en"), path="/v1/chat/completions")
    a = json.loads(content_of(doc))
    check(st == 200 and a["company"] == "unknown", "en company")
    check(a["title_translated"] == " ".join(rec["title"].split()), "en title_translated = title")
    check(a["tldr"] == rec["AI"]["tldr"].strip(), "en tldr")
    ok("English prompt: company 'unknown', title_translated = the English title; /v1 path")

    body = chat_body(rec["id"], "en")
    body["messages"][0]["content"] += "\nThe reader's research interest:\n<interest>\n推荐系统、检索与排序\n</interest>"
    check(json.loads(content_of(chat(body)[3]))["company"] == "unknown", "en with a Chinese interest")
    body["messages"][0]["content"] = "你是一名资深研究员。只输出一个 JSON 对象，字段 title_translated 等。"
    check(json.loads(content_of(chat(body)[3]))["company"] == "未知", "a template written in Chinese")
    ok("language: an English template quoting a Chinese interest stays English; a Chinese one is zh")

    # an abstract may cite other ids: an unknown id before the paper's own does not mislead
    body = chat_body(rec["id"])
    body["messages"][1]["content"] = "See arXiv:2101.00001 and this paper, " + paper_msg(rec["id"])
    a = json.loads(content_of(chat(body)[3]))
    check(a["tldr"] == rec["AI"]["tldr"].strip(), "known id found after an unknown one")
    ok("the known paper id is found among several ids")


def test_shape_and_usage():
    body = chat_body(SAMPLE[1]["id"])
    st, h, raw, doc = chat(body)
    check(st == 200, "status")
    for k in ("x-request-id", "openai-processing-ms", "openai-version", "date"):
        check(k in h, f"header {k}")
    check(h["content-type"] == "application/json", "content-type")
    check(not any(k.startswith("x-ratelimit") for k in h), "no x-ratelimit headers without limits")
    check(re.match(r"^chatcmpl-\w+$", doc["id"]) is not None, "id")
    check(doc["object"] == "chat.completion" and isinstance(doc["created"], int), "object/created")
    check(doc["model"] == "deepseek-chat", "model echoed")
    c = doc["choices"][0]
    check(c["index"] == 0 and c["finish_reason"] == "stop" and c["message"]["role"] == "assistant",
          "choice")
    u = doc["usage"]
    chars = sum(len(m["content"]) for m in body["messages"])
    check(u["prompt_tokens"] == math.ceil(chars / 4), f"prompt_tokens {u['prompt_tokens']} vs {chars}/4")
    check(u["completion_tokens"] == math.ceil(len(c["message"]["content"]) / 4), "completion_tokens")
    check(u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"], "total_tokens")
    check(u["prompt_tokens_details"]["cached_tokens"] == 0, "cached_tokens")
    check(raw.startswith(b'{\n  "id": "chatcmpl-') and raw.endswith(b"}\n"), "OpenAI's layout")
    ok("200 shape: id, object, created, model, choices, usage (chars/4), headers")

    a1 = json.loads(content_of(chat(chat_body("2101.99999"))[3]))
    a2 = json.loads(content_of(chat(chat_body("2101.99999"))[3]))
    check(a1 == a2 and set(a1) == set(FIELDS), "synthetic answer is deterministic and complete")
    check(1 <= a1["score"] <= 5 and a1["company"] == "未知", "synthetic score/company")
    check("2101.99999" in a1["tldr"], "synthetic names the id")
    ok("unknown id: deterministic synthetic answer with all 13 fields")


def test_auth():
    st, h, raw, doc = chat(chat_body(SAMPLE[0]["id"]), key="<not-a-real-key>")
    check(st == 401, f"401 expected, got {st}")
    want = ('{\n    "error": {\n        "message": "Incorrect API key provided: \\u003cnot-a-r****key'
            '\\u003e. You can find your API key at https://platform.openai.com/account/api-keys.",\n'
            '        "type": "invalid_request_error",\n        "param": null,\n'
            '        "code": "invalid_api_key"\n    }\n}\n')
    check(raw.decode() == want, "401 body byte-identical to the recording")
    check(h["content-length"] == "276" and h["content-type"] == "application/json; charset=utf-8",
          "401 headers as recorded")
    st, h, raw, doc = chat(chat_body(SAMPLE[0]["id"]), key=None)
    check(st == 401 and doc["error"]["message"].startswith("You didn't provide an API key"), "no key")
    st, *_ = chat(chat_body(SAMPLE[0]["id"]), key="sk-test-2")
    check(st == 200, "second key accepted")
    s = stats()
    check(s["per_key"].get("<not-a...key>") == 1 and s["per_key"].get("<none>") == 1, "per_key")
    check(s["per_key"].get("sk-test-2") == 1, "per_key second key")
    check(s["unauthorized"] == 2 and s["by_status"].get("401") == 2, "401 counted")
    ok("401 on a wrong key (byte-identical to the recording) and on a missing key; per-key counts")


def test_invalid():
    before = stats()["invalid_requests"]["count"]
    good = chat_body(SAMPLE[0]["id"])
    bad = {
        "temperature_range": dict(good, temperature=3),
        "messages_empty": dict(good, messages=[]),
        "unknown_argument": dict(good, max_token=100),
        "policy_message_role": dict(good, messages=good["messages"] + [{"role": "tool", "content": "x", "tool_call_id": "1"}]),
        "json_object_without_json_word": dict(good, messages=[{"role": "user", "content": paper_msg("2101.00001")}]),
        "max_tokens_range": dict(good, max_tokens=0),
        "json_schema_name": dict(good, response_format={"type": "json_schema", "json_schema": {"schema": {"type": "object"}}}),
        "model_missing": {k: v for k, v in good.items() if k != "model"},
        "message_content_type": dict(good, messages=[{"role": "user", "content": 5}]),
        "response_format_kind": dict(good, response_format={"type": "yaml"}),
        "policy_stream": dict(good, stream=True),
    }
    for reason, body in bad.items():
        st, h, raw, doc = chat(body)
        check(st == 400, f"{reason}: status {st}")
        e = doc["error"]
        check(set(e) == {"message", "type", "param", "code"} and e["type"] == "invalid_request_error",
              f"{reason}: error shape {e}")
    st, h, raw, doc = chat(b"{not json")
    check(st == 400 and "could not parse the JSON body" in doc["error"]["message"], "bad JSON body")
    s = stats()["invalid_requests"]
    check(s["count"] - before == len(bad) + 1, f"invalid count {s['count']} - {before}")
    for reason in bad:
        check(s["reasons"].get(reason, 0) >= 1, f"reason {reason} counted: {s['reasons']}")
    check(s["reasons"].get("body_not_json") == 1, "body_not_json counted")
    # and the shapes arxdigest may send are accepted
    for body in (dict(good, response_format={"type": "json_schema", "json_schema": {
                     "name": "paper_digest", "strict": True, "schema": {"type": "object"}}}),
                 dict(good, max_completion_tokens=100, temperature=None),
                 {k: v for k, v in good.items() if k not in ("temperature", "max_tokens", "response_format")}):
        st, *_ = chat(body)
        check(st == 200, f"valid body rejected: {body.keys()}")
    check(stats()["invalid_requests"]["count"] == s["count"], "valid bodies not counted")
    ok(f"{len(bad) + 1} kinds of invalid request rejected with 400 and counted by reason")


def test_rpm():
    control(rpm=5, window_s=4, reset_window=True)
    t0 = time.monotonic()
    remaining = []
    for i in range(5):
        st, h, raw, doc = chat(chat_body(SAMPLE[0]["id"]))
        check(st == 200, f"request {i} under the limit: {st}")
        remaining.append(int(h["x-ratelimit-remaining-requests"]))
        check(h["x-ratelimit-limit-requests"] == "5", "limit header")
        check(re.match(r"^(\d+(\.\d+)?(ms|s|µs)|\d+m\d+(\.\d+)?s)$", h["x-ratelimit-reset-requests"]),
              "reset-requests is a Go duration")
    check(remaining == [4, 3, 2, 1, 0], f"remaining {remaining}")
    st, h, raw, doc = chat(chat_body(SAMPLE[0]["id"]))
    check(st == 429, f"6th request: {st}")
    e = doc["error"]
    check(e["type"] == "requests" and e["code"] == "rate_limit_exceeded" and e["param"] is None, f"{e}")
    m = re.match(r"^Rate limit reached for deepseek-chat in organization \S+ on requests per min "
                 r"\(RPM\): Limit 5, Used 5, Requested 1\. Please try again in (\S+)\. Visit "
                 r"https://platform\.openai\.com/account/rate-limits to learn more\.$", e["message"])
    check(m is not None, f"message: {e['message']}")
    ra, ra_ms = int(h["retry-after"]), int(h["retry-after-ms"])
    check(m.group(1) == (f"{ra_ms}ms" if ra_ms < 1000 else f"{ra_ms / 1000:g}s"),
          f"'try again in {m.group(1)}' agrees with retry-after-ms {ra_ms}")
    elapsed = time.monotonic() - t0
    check(1 <= ra <= 4 and ra == math.ceil(ra_ms / 1000), f"retry-after {ra} / {ra_ms}")
    check(4000 - elapsed * 1000 - 50 <= ra_ms <= 4000, f"retry-after-ms {ra_ms} after {elapsed:.2f}s")
    check(h["x-ratelimit-remaining-requests"] == "0" and h["x-ratelimit-limit-requests"] == "5", "429 headers")
    check("x-ratelimit-reset-requests" in h, "429 reset header")
    time.sleep(ra_ms / 1000 + 0.05)
    st, h, *_ = chat(chat_body(SAMPLE[0]["id"]))
    check(st == 200, f"after Retry-After: {st}")
    s = stats()
    check(s["rate_limited"].get("requests") == 1 and s["sent_429"] >= 1, f"stats {s['rate_limited']}")
    ok(f"RPM 5: 6th request 429 rate_limit_exceeded (Retry-After {ra}, retry-after-ms {ra_ms}, "
       f"'try again in {m.group(1)}'), recovers after the wait")

    control(rpm=0, tpm=700, tpm_mode="prompt", window_s=3)
    big = chat_body(SAMPLE[0]["id"])
    big["messages"][1]["content"] += " pad" * 500         # ~ 560 tokens
    st, h, *_ = chat(big)
    check(st == 200 and h["x-ratelimit-limit-tokens"] == "700", "first big request fits")
    check("x-ratelimit-limit-requests" not in h, "no request headers with rpm off")
    st, h, raw, doc = chat(big)
    check(st == 429 and doc["error"]["type"] == "tokens", f"TPM: {st} {raw[:200]}")
    check("on tokens per min (TPM): Limit 700, Used" in doc["error"]["message"], "TPM message")
    big["messages"][1]["content"] += " pad" * 1000
    st, h, raw, doc = chat(big)
    check(st == 429 and doc["error"]["message"].startswith("Request too large"), "too large")
    control(tpm=0, window_s=60)
    check(stats()["rate_limited"].get("tokens") == 2, "tokens 429s counted")
    ok("TPM: 429 type tokens with the TPM message; a request above the whole limit: 'Request too large'")

    control(quota_exhausted=True)
    st, h, raw, doc = chat(chat_body(SAMPLE[0]["id"]))
    check(st == 429 and doc["error"]["code"] == "insufficient_quota" and "retry-after" not in h, "quota")
    control(quota_exhausted=False)
    ok("quota exhausted: 429 insufficient_quota without Retry-After")


def raw_exchange(payload, read_timeout=5.0):
    """Sends bytes on a new socket, returns everything read until close or timeout."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=read_timeout)
    s.sendall(payload)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except socket.timeout:
        pass
    s.close()
    return out


def raw_request(body, extra=b"", close=True):
    b = json.dumps(body).encode()
    return (b"POST /chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY.encode() +
            b"\r\nContent-Type: application/json\r\n" + extra +
            (b"Connection: close\r\n" if close else b"") +
            b"Content-Length: " + str(len(b)).encode() + b"\r\n\r\n" + b)


def test_faults():
    rec = SAMPLE[2]
    good = json.loads(content_of(chat(chat_body(rec["id"]))[3]))
    before = stats()["faults"]

    def one(kind, **kw):
        control(**{f"fail_{kind}_next": 1}, **kw)
        r = chat(chat_body(rec["id"]))
        st, *_ = chat(chat_body(rec["id"]))
        check(st == 200, f"{kind}: the next request is normal again ({st})")
        return r

    st, h, raw, doc = one("500")
    check(st == 500 and doc["error"]["type"] == "server_error", "500")
    st, h, raw, doc = one("502")
    check(st == 502 and h["content-type"] == "text/html" and b"502 Bad Gateway" in raw, "502 html")
    st, h, raw, doc = one("503")
    check(st == 503 and doc["error"]["type"] == "server_error", "503")
    st, h, raw, doc = one("429")
    check(st == 429 and doc["error"]["type"] == "server_error" and "overloaded" in doc["error"]["message"]
          and "retry-after" not in h, "429 overloaded as recorded")
    st, h, raw, doc = one("vllm")
    check(st == 400 and doc["object"] == "error" and doc["code"] == 400 and "error" not in doc, "vllm flat")
    control(vllm_status=500)
    st, h, raw, doc = one("vllm")
    check(st == 500 and doc["type"] == "InternalServerError", "vllm 500")
    ok("500, 502 (HTML), 503, 429 overloaded, vLLM flat errors; each once, then normal again")

    st, h, raw, doc = one("garbage")
    c = content_of(doc)
    check(st == 200 and "{" not in c, f"garbage {c}")
    st, h, raw, doc = one("missing_fields")
    a = json.loads(content_of(doc))
    check("score" not in a and "method" not in a and a["tldr"] == good["tldr"], "missing fields")
    st, h, raw, doc = one("bad_score")
    check(json.loads(content_of(doc))["score"] == "high", "bad score")
    st, h, raw, doc = one("fenced")
    c = content_of(doc)
    m = re.search(r"```json\n(.*)\n```$", c, re.S)
    check(m is not None and json.loads(m.group(1)) == good, "fenced")
    st, h, raw, doc = one("truncated")
    c = content_of(doc)
    check(doc["choices"][0]["finish_reason"] == "length" and json.dumps(good, ensure_ascii=False).startswith(c)
          and len(c) < len(json.dumps(good, ensure_ascii=False)), "truncated")
    st, h, raw, doc = one("empty")
    check(content_of(doc) == "" and doc["choices"][0]["finish_reason"] == "stop"
          and doc["usage"]["completion_tokens"] == 0, "empty")
    st, h, raw, doc = one("empty_length")
    check(content_of(doc) == "" and doc["choices"][0]["finish_reason"] == "length"
          and doc["usage"]["completion_tokens"] == 2048
          and doc["usage"]["completion_tokens_details"]["reasoning_tokens"] == 2048, "empty_length")
    ok("garbage, missing fields, score 'high', ```json fence, truncated (finish_reason length), "
       "empty, empty after all tokens went to reasoning")

    control(fail_leading_ws_next=1, latency_ms=100)
    out = raw_exchange(raw_request(chat_body(rec["id"])))
    head, _, rest = out.partition(b"\r\n\r\n")
    check(b"transfer-encoding: chunked" in head.lower(), "leading_ws is chunked")
    body = b""
    while True:
        size, _, rest = rest.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            break
        body, rest = body + rest[:n], rest[n + 2:]
    check(body.startswith(b"\n\n\n{") and json.loads(content_of(json.loads(body))) == good, "blank lines then JSON")
    st, h, raw, doc = chat(chat_body(rec["id"]), fresh=True)
    control(fail_leading_ws_next=1)
    st, h, raw, doc = chat(chat_body(rec["id"]))     # http.client de-chunks
    check(st == 200 and raw.startswith(b"\n\n") and json.loads(raw)["object"] == "chat.completion",
          "leading blank lines over http.client")
    ok("leading blank lines (DeepSeek keep-alive) in a chunked 200")

    control(fail_disconnect_next=1, latency_ms=0)
    out = raw_exchange(raw_request(chat_body(rec["id"]), close=False))
    head, _, body = out.partition(b"\r\n\r\n")
    n = int(re.search(rb"content-length: (\d+)", head).group(1))
    check(out.startswith(b"HTTP/1.1 200") and 0 < len(body) < n, f"disconnect: {len(body)} of {n}")
    control(fail_hang_next=1, hang_ms=300)
    t = time.monotonic()
    out = raw_exchange(raw_request(chat_body(rec["id"]), close=False))
    check(out == b"" and 0.25 < time.monotonic() - t < 3, "hang: nothing, then closed")
    ok("connection closed mid-body; a hang without an answer")

    after = stats()["faults"]
    for k in ("500", "502", "503", "429", "garbage", "missing_fields", "bad_score", "fenced",
              "truncated", "empty", "empty_length", "disconnect", "hang"):
        check(after.get(k, 0) - before.get(k, 0) == 1, f"fault {k} counted once: {after}")
    check(after.get("vllm", 0) - before.get("vllm", 0) == 2 and
          after.get("leading_ws", 0) - before.get("leading_ws", 0) == 2, "vllm/leading_ws counted")
    check(stats()["in_flight"] == 0, "nothing left in flight")
    check(stats()["internal_errors"] == 0, "no internal errors")
    ok("each injected fault counted in /_stats")

    # by rate, deterministic for a seed
    def run(n):
        control(seed=7, fail_500=0.3, fail_garbage=0.2)
        seq = []
        for _ in range(n):
            st, h, raw, doc = chat(chat_body(rec["id"]))
            seq.append("500" if st == 500 else "garbage" if "{" not in content_of(doc) else "ok")
        return seq
    s1 = run(200)
    s2 = run(200)
    control(clear_faults=True)
    n500, ng = s1.count("500"), s1.count("garbage")
    check(s1 == s2, "same seed, same faults")
    check(35 <= n500 <= 85 and 20 <= ng <= 60, f"rates: {n500} 500s, {ng} garbage in 200")
    ok(f"faults by rate: 0.3 -> {n500}/200 500s, 0.2 -> {ng}/200 garbage, same sequence for a seed")

    # repair_ok: a repair (previous answer + error) is answered correctly
    repair = chat_body(rec["id"])
    repair["messages"] += [{"role": "assistant", "content": "Sorry, no."},
                           {"role": "user", "content": "Your answer was not valid JSON: expected '{'. "
                            "Answer again with the complete JSON object."}]
    control(fail_garbage=1.0)
    check("{" not in content_of(chat(chat_body(rec["id"]))[3]), "garbage everywhere")
    check("{" not in content_of(chat(repair)[3]), "repairs get garbage too without repair_ok")
    control(repair_ok=True)
    check("{" not in content_of(chat(chat_body(rec["id"]))[3]), "first answers still garbage")
    check(json.loads(content_of(chat(repair)[3])) == good, "the repair gets the right answer")
    control(clear_faults=True, repair_ok=False)
    check(stats()["repairs"] >= 2, "repairs counted")
    ok("repair_ok: the repair request gets the correct answer while first answers are garbage")


def test_latency_and_stats():
    control(latency_ms=300, reset_stats=True)
    results = []

    def one():
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
        c.request("POST", "/chat/completions", json.dumps(chat_body(SAMPLE[3]["id"])),
                  {"Authorization": "Bearer " + KEY})
        results.append(c.getresponse().status)
    t = time.monotonic()
    th = [threading.Thread(target=one) for _ in range(40)]
    for x in th:
        x.start()
    for x in th:
        x.join()
    el = time.monotonic() - t
    check(results == [200] * 40, "40 answers")
    check(0.29 < el < 2.5, f"40 concurrent 300 ms answers took {el:.2f}s (not serialised)")
    s = stats(window=5)
    check(s["max_in_flight"] >= 20, f"max_in_flight {s['max_in_flight']}")
    check(s["requests"] == 40 and s["by_status"] == {"200": 40}, f"requests {s['requests']}")
    check(len(s["arrivals"]) == 40 and s["arrivals"] == sorted(s["arrivals"]), "arrivals")
    check(s["tokens"]["total"] == s["tokens"]["prompt"] + s["tokens"]["completion"] > 0, "tokens")
    check(s["answers"]["known"] == 40 and s["languages"] == {"zh": 40}, "answers")
    control(latency_ms=0)
    time.sleep(1.05)     # the second of the burst is complete
    s = stats(window=5)
    check(abs(s["rps"] - 40 / 5) < 1e-6 and s["rps_window_s"] == 5, f"rps {s['rps']}")
    ok(f"40 concurrent answers with 300 ms latency in {el:.2f}s; max_in_flight {s['max_in_flight']}; "
       f"stats: requests, by_status, arrivals, tokens, rps")


def test_http():
    # pipelined: two requests in one write, answered in order on one connection
    r1 = raw_request(chat_body(SAMPLE[0]["id"]), close=False)
    r2 = raw_request(chat_body(SAMPLE[1]["id"]), close=True)
    out = raw_exchange(r1 + r2)
    check(out.count(b"HTTP/1.1 200 OK") == 2, "two answers")
    i0, i1 = out.find(SAMPLE[0]["AI"]["tldr"][:10].encode()), out.find(SAMPLE[1]["AI"]["tldr"][:10].encode())
    check(0 < i0 < i1, "in order")
    # Expect: 100-continue, then the body
    b = json.dumps(chat_body(SAMPLE[0]["id"])).encode()
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY.encode() +
              b"\r\nExpect: 100-continue\r\nContent-Length: " + str(len(b)).encode() + b"\r\n\r\n")
    check(s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n", "100 Continue")
    s.sendall(b)
    out = b""
    while b"}\n" not in out:
        out += s.recv(65536)
    check(out.startswith(b"HTTP/1.1 200 OK"), "200 after 100")
    s.close()
    # chunked request body
    b = json.dumps(chat_body(SAMPLE[0]["id"])).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(b[i:i + 100]), b[i:i + 100]) for i in range(0, len(b), 100))
    out = raw_exchange(b"POST /chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY.encode() +
                       b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + b"0\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 200 OK"), "chunked request body")
    st, h, raw = request("POST", "/_control", {"latency_ms": 999, "fail_bogus": 1})
    check(st == 400 and b"unknown settings: fail_bogus" in raw, "unknown control key rejected")
    check(control()["latency_ms"] == 0, "nothing applied with an unknown key")
    st, h, raw = request("POST", "/_control", {"fail_500": 2})
    check(st == 400 and control()["fail_500"] == 0, "a rate above 1 rejected")
    st, h, raw = request("GET", "/nowhere")
    check(st == 404 and json.loads(raw)["error"]["message"] == "Invalid URL (GET /nowhere)", "404")
    ok("keep-alive pipelining in order, Expect: 100-continue, chunked request body, 404, control errors")


def test_deepseek_flavor():
    control(flavor="deepseek", rpm=100)
    body = chat_body(SAMPLE[0]["id"])
    body["messages"][0]["content"] *= 40          # a prefix long enough to be cached
    chat(body)
    st, h, raw, doc = chat(body)
    check(st == 200 and not any(k.startswith("x-ratelimit") for k in h), "no ratelimit headers")
    u = doc["usage"]
    check(u["prompt_cache_hit_tokens"] + u["prompt_cache_miss_tokens"] == u["prompt_tokens"], "cache fields")
    check(u["prompt_cache_hit_tokens"] > 0 and u["prompt_tokens_details"]["cached_tokens"] == u["prompt_cache_hit_tokens"],
          "repeated system prompt is a cache hit")
    check(json.loads(content_of(doc))["tldr"] == SAMPLE[0]["AI"]["tldr"].strip(), "same answer")
    control(flavor="openai", rpm=0)
    ok("DeepSeek flavour: no x-ratelimit headers, prompt_cache_hit/miss_tokens")


def main():
    for t in (test_real_answers, test_shape_and_usage, test_auth, test_invalid, test_rpm,
              test_faults, test_latency_and_stats, test_http, test_deepseek_flavor):
        t()


if __name__ == "__main__":
    main()
