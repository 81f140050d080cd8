#!/usr/bin/python3
"""fake_llm.py: a fake OpenAI-compatible chat-completions server for arxdigest's tests and
benchmarks. See README.md next to it for the flags, the control API and the stats.

POST {base}/chat/completions (and /v1/chat/completions) answers one JSON object per paper
(answers.py: the real DeepSeek output when the paper is in tests/data/llm/, else a synthetic
one) with the body, headers and errors of the real recordings in shared/fixtures/llm/. It
checks every request against OpenAI's spec (validate.py), enforces --rpm/--tpm over a
sliding minute (ratelimit.py), injects faults by rate or by count, and counts everything in
GET /_stats. POST /_control changes any setting while it runs.

It is a raw asyncio HTTP/1.1 server (keep-alive, Content-Length or chunked bodies, Expect:
100-continue, pipelined requests answered in order) so that it is never the bottleneck:
answers are delayed with timers, never by blocking. Standard library only; run it with
Debian's /usr/bin/python3.
"""
import argparse
import asyncio
import collections
import email.utils
import hashlib
import json
import os
import random
import signal
import sys
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import answers  # noqa: E402
import httpconn  # noqa: E402
import validate  # noqa: E402
from ratelimit import Window, go_duration  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.join(os.path.dirname(HERE), "data", "llm", "dae_answers.jsonl.zst")

# Fault kinds, in the order a random draw and the "next N" counters are tried.
FAULTS = ("disconnect", "hang", "500", "502", "503", "429", "429_long", "vllm", "endless",
          "leading_ws", "garbage", "missing_fields", "bad_score", "fenced", "truncated", "empty",
          "empty_length", "huge")
CONTENT_FAULTS = ("garbage", "missing_fields", "bad_score", "fenced", "truncated", "empty",
                  "empty_length", "huge")

# Error texts. The 401 and the "overloaded" 429 are the recorded ones (shared/fixtures/llm/),
# the rate-limit and quota texts follow the real bodies quoted in its SOURCES.md, the 500 /
# 503 texts and Cloudflare's 502 page are OpenAI's as commonly seen (not in the recordings).
MSG_500 = "The server had an error while processing your request. Sorry about that!"
MSG_503 = "The server is overloaded or not ready yet."
MSG_OVERLOADED = ("That model is currently overloaded with other requests. You can retry your "
                  "request, or contact us through our help center at help.openai.com if the "
                  "error persists. (Please include the request ID {rid} in your message.)")
MSG_QUOTA = ("You exceeded your current quota, please check your plan and billing details. For "
             "more information on this error, read the docs: "
             "https://platform.openai.com/docs/guides/error-codes/api-errors.")
MSG_BAD_KEY = ("Incorrect API key provided: {key}. You can find your API key at "
               "https://platform.openai.com/account/api-keys.")
MSG_NO_KEY = ("You didn't provide an API key. You need to provide your API key in an "
              "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or "
              "as the password field (with blank username) if you're accessing the API from your "
              "browser and are prompted for a username. You can obtain an API key from "
              "https://platform.openai.com/account/api-keys.")
MSG_RATE = ("Rate limit reached for {model} in organization org-fakellm on {what} per min "
            "({abbr}): Limit {limit}, Used {used}, Requested {req}. Please try again in {wait}. "
            "Visit https://platform.openai.com/account/rate-limits to learn more.")
MSG_TOO_LARGE = ("Request too large for {model} in organization org-fakellm on tokens per min "
                 "(TPM): Limit {limit}, Requested {req}. The input or output tokens must be "
                 "reduced in order to run successfully. Visit "
                 "https://platform.openai.com/account/rate-limits to learn more.")
HTML_502 = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 "
            "Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n"
            "</html>\r\n")
VLLM_TYPES = {400: "BadRequestError", 404: "NotFoundError", 500: "InternalServerError",
              503: "ServiceUnavailableError"}

# The 200 body, laid out as OpenAI's (shared/fixtures/llm/openai_chat_json_schema_strict_*).
OPENAI_BODY = (
    '{\n  "id": %s,\n  "object": "chat.completion",\n  "created": %d,\n  "model": %s,\n'
    '  "choices": [\n    {\n      "index": 0,\n      "message": {\n        "role": "assistant",\n'
    '        "content": %s,\n        "refusal": null,\n        "annotations": []\n      },\n'
    '      "logprobs": null,\n      "finish_reason": %s\n    }\n  ],\n  "usage": {\n'
    '    "prompt_tokens": %d,\n    "completion_tokens": %d,\n    "total_tokens": %d,\n'
    '    "prompt_tokens_details": {\n      "cached_tokens": %d,\n      "audio_tokens": 0\n    },\n'
    '    "completion_tokens_details": {\n      "reasoning_tokens": %d,\n      "audio_tokens": 0,\n'
    '      "accepted_prediction_tokens": 0,\n      "rejected_prediction_tokens": 0\n    }\n  },\n'
    '  "service_tier": "default",\n  "system_fingerprint": "fp_fakellm01"\n}\n')


def error_body(message, etype, param=None, code=None, indent=4):
    """OpenAI's {"error": {...}} with Go's escaping of <, > and & (as the real 401 shows)."""
    s = json.dumps({"error": {"message": message, "type": etype, "param": param, "code": code}},
                   indent=indent, ensure_ascii=False) + "\n"
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


def mask_key(k):
    """How OpenAI quotes a wrong key: "<not-a-real-key>" -> "<not-a-r****key>"."""
    return k[:8] + "****" + k[-4:] if len(k) > 12 else k


def stats_key(k):
    if k is None:
        return "<none>"
    return k if len(k) <= 12 else k[:6] + "..." + k[-4:]


class Config:
    """Every run-time setting; flags set it at start, POST /_control changes it."""

    NUMS = {"latency_ms": float, "jitter_ms": float, "rpm": int, "tpm": int, "seed": int,
            "vllm_status": int, "hang_ms": float, "stats_window_s": int, "window_s": float,
            "long_retry_after_s": int, "huge_bytes": int}

    def __init__(self, a):
        self.latency_ms = a.latency_ms
        self.jitter_ms = a.jitter_ms
        self.rpm = a.rpm
        self.tpm = a.tpm
        self.tpm_mode = a.tpm_mode
        self.window_s = a.window_s
        self.api_keys = list(a.api_key or [])
        self.quota_exhausted = a.quota_exhausted
        self.repair_ok = a.repair_ok
        self.seed = a.seed
        self.flavor = a.flavor
        self.vllm_status = a.vllm_status
        self.hang_ms = a.hang_ms
        self.long_retry_after_s = a.long_retry_after_s
        self.huge_bytes = a.huge_bytes
        self.stats_window_s = a.stats_window_s
        self.rates = {k: getattr(a, "fail_" + k) for k in FAULTS}
        self.next = {k: getattr(a, "fail_" + k + "_next") for k in FAULTS}

    def to_json(self):
        d = {k: getattr(self, k) for k in ("latency_ms", "jitter_ms", "rpm", "tpm", "tpm_mode",
                                           "window_s",
                                           "quota_exhausted", "repair_ok", "seed", "flavor",
                                           "vllm_status", "hang_ms", "stats_window_s",
                                           "long_retry_after_s", "huge_bytes")}
        d["api_keys"] = [stats_key(k) for k in self.api_keys]
        for k in FAULTS:
            d["fail_" + k] = self.rates[k]
            d["fail_" + k + "_next"] = self.next[k]
        return d


class Stats:
    def __init__(self):
        self.started = time.time()
        self.requests = 0
        self.by_status = collections.Counter()
        self.sent_429 = 0
        self.rate_limited = collections.Counter()     # "requests" / "tokens"
        self.in_flight = 0
        self.max_in_flight = 0
        self.conn_open = 0
        self.conn_max = 0
        self.conn_total = 0
        self.tokens = collections.Counter()            # prompt, completion, total, cached
        self.per_key = collections.Counter()
        self.models = collections.Counter()
        self.languages = collections.Counter()
        self.answers = collections.Counter()           # known / synthetic
        self.faults = collections.Counter()
        self.endless_bytes = 0                         # bytes the endless fault streamed
        self.repairs = 0
        self.internal_errors = 0
        self.unauthorized = 0
        self.invalid = 0
        self.invalid_reasons = collections.Counter()
        self.invalid_last = collections.deque(maxlen=20)
        self.arrivals = collections.deque(maxlen=1000)
        self.per_sec = {}                              # int second -> [arrived, accepted]
        self.last_sec = 0

    def arrive(self, now):
        self.requests += 1
        self.arrivals.append(now)
        sec = int(now)
        b = self.per_sec.get(sec)
        if b is None:
            b = self.per_sec[sec] = [0, 0]
            if sec != self.last_sec:
                self.last_sec = sec
                for s in [s for s in self.per_sec if s < sec - 600]:
                    del self.per_sec[s]
        b[0] += 1
        return b

    def to_json(self, window, state):
        now = time.time()
        sec = int(now)
        w = max(1, min(window, 600))
        done = [self.per_sec.get(s, (0, 0)) for s in range(sec - w, sec)]
        d = {
            "uptime_s": round(now - self.started, 3),
            "requests": self.requests,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items(), key=lambda kv: str(kv[0]))},
            "sent_429": self.sent_429,
            "rate_limited": dict(self.rate_limited),
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "connections": {"open": self.conn_open, "max_open": self.conn_max, "total": self.conn_total},
            "rps_window_s": w,
            "rps": round(sum(b[0] for b in done) / w, 3),
            "accepted_rps": round(sum(b[1] for b in done) / w, 3),
            "per_second": [[s, b[0], b[1]] for s, b in sorted(self.per_sec.items()) if s >= sec - 60],
            "tokens": {k: self.tokens[k] for k in ("prompt", "completion", "total", "cached")},
            "per_key": dict(self.per_key),
            "models": dict(self.models),
            "languages": dict(self.languages),
            "answers": {k: self.answers[k] for k in ("known", "synthetic")},
            "repairs": self.repairs,
            "internal_errors": self.internal_errors,
            "unauthorized": self.unauthorized,
            "faults": dict(self.faults),
            "endless_bytes": self.endless_bytes,
            "invalid_requests": {"count": self.invalid, "reasons": dict(self.invalid_reasons),
                                 "last": list(self.invalid_last)},
            "window": state.window_json(now),
            "arrivals": [round(t, 6) for t in self.arrivals],
        }
        return d


class Server:
    def __init__(self, cfg, papers):
        self.cfg = cfg
        self.papers = papers
        self.stats = Stats()
        self.loop = None
        self.rng = random.Random(cfg.seed)
        self.jit = random.Random(cfg.seed + 1)
        self.win_req = self.win_tok = None
        self.new_windows()
        self.seen_prefixes = set()
        self.content_cache = {}
        self.counter = 0
        self.id_salt = hashlib.sha256(str(time.time()).encode()).hexdigest()[:6]
        self._date = (0, "")

    # ---- helpers ------------------------------------------------------------------------
    error_body = staticmethod(error_body)

    def new_windows(self):
        """Empty windows for the current limits (a limit of 0 is no limit)."""
        c = self.cfg
        self.win_req = Window(c.rpm, c.window_s) if c.rpm > 0 else None
        self.win_tok = Window(c.tpm, c.window_s) if c.tpm > 0 else None

    def date(self):
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, email.utils.formatdate(now, usegmt=True))
        return self._date[1]

    def request_id(self):
        self.counter += 1
        return f"req_{self.id_salt}{self.counter:026x}"

    def window_json(self, now):
        d = {}
        if self.win_req:
            d["requests_used"] = self.win_req.used(now)
            d["requests_limit"] = self.win_req.limit
        if self.win_tok:
            d["tokens_used"] = self.win_tok.used(now)
            d["tokens_limit"] = self.win_tok.limit
        return d

    def ratelimit_headers(self, now, extra_req=None, extra_tok=None):
        """x-ratelimit-* for the configured limits (none when a limit is off, as DeepSeek)."""
        h = []
        if self.cfg.flavor != "openai":
            return h
        if self.win_req:
            w = self.win_req
            reset = w.reset_s(now) if extra_req is None else max(extra_req, w.reset_s(now))
            h += [("x-ratelimit-limit-requests", str(w.limit)),
                  ("x-ratelimit-remaining-requests", str(max(0, w.limit - w.used(now)))),
                  ("x-ratelimit-reset-requests", go_duration(reset))]
        if self.win_tok:
            w = self.win_tok
            reset = w.reset_s(now) if extra_tok is None else max(extra_tok, w.reset_s(now))
            h += [("x-ratelimit-limit-tokens", str(w.limit)),
                  ("x-ratelimit-remaining-tokens", str(max(0, w.limit - w.used(now)))),
                  ("x-ratelimit-reset-tokens", go_duration(reset))]
        return h

    def response(self, status, headers, body, close=False, ctype="application/json"):
        head = [f"HTTP/1.1 {status} {httpconn.REASONS.get(status, 'Status')}\r\n",
                f"date: {self.date()}\r\ncontent-type: {ctype}\r\ncontent-length: {len(body)}\r\n"
                f"connection: {'close' if close else 'keep-alive'}\r\n"]
        for k, v in headers:
            head.append(f"{k}: {v}\r\n")
        head.append("\r\n")
        return "".join(head).encode() + body

    def finish(self, status):
        """Book-keeping when a chat request is answered (or dropped: status None)."""
        st = self.stats
        st.in_flight -= 1
        if status is not None:
            st.by_status[status] += 1
            if status == 429:
                st.sent_429 += 1

    # ---- routing ------------------------------------------------------------------------
    def handle(self, conn, method, target, headers, body):
        path, _, query = target.partition("?")
        if path in httpconn.CHAT_PATHS:
            if method != "POST":
                return conn.send(self.response(405, [], error_body(
                    f"Invalid method for URL ({method} {path})", "invalid_request_error")))
            return self.chat(conn, headers, body)
        if path == "/_stats" and method == "GET":
            q = dict(p.partition("=")[::2] for p in query.split("&") if p)
            try:
                w = int(q.get("window", self.cfg.stats_window_s))
            except ValueError:
                w = self.cfg.stats_window_s
            return conn.send(self.response(200, [], json.dumps(
                self.stats.to_json(w, self), ensure_ascii=False).encode()))
        if path == "/_control" and method in ("GET", "POST"):
            return conn.send(self.control(body if method == "POST" else b"{}"))
        if path in ("/models", "/v1/models") and method == "GET":
            return conn.send(self.response(200, [], json.dumps({"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "fake-llm"}
                for m in (list(self.stats.models) or ["fake-model"])]}).encode()))
        if path == "/health":
            return conn.send(self.response(200, [], b'{"status":"ok"}'))
        return conn.send(self.response(404, [], error_body(
            f"Invalid URL ({method} {path})", "invalid_request_error")))

    def control(self, body):
        """POST /_control: apply a JSON object of settings; answer the new configuration."""
        try:
            req = json.loads(body or b"{}")
            if not isinstance(req, dict):
                raise ValueError("the body must be a JSON object")
            self.apply(req)
        except (ValueError, TypeError, KeyError) as e:
            return self.response(400, [], json.dumps({"error": str(e)}).encode())
        return self.response(200, [], json.dumps(self.cfg.to_json()).encode())

    def apply(self, req):
        """Applies settings in order. An unknown key: nothing is applied; a bad value: the
        keys before it were applied. Both raise ValueError (a 400)."""
        c = self.cfg
        unknown = [k for k in req if not self.known_setting(k)]
        if unknown:
            raise ValueError("unknown settings: " + ", ".join(sorted(unknown)))
        for k, v in req.items():
            if k in Config.NUMS:
                if v is None or isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                    raise ValueError(f"{k}: expected a number >= 0")
                if k == "window_s" and v <= 0:
                    raise ValueError("window_s: expected a number > 0")
                if k == "vllm_status" and not 100 <= v <= 599:
                    raise ValueError("vllm_status: an HTTP status")
                setattr(c, k, Config.NUMS[k](v))
                if k in ("rpm", "tpm", "window_s"):
                    self.new_windows()
                elif k == "seed":
                    self.rng = random.Random(c.seed)
                    self.jit = random.Random(c.seed + 1)
            elif k in ("quota_exhausted", "repair_ok"):
                setattr(c, k, bool(v))
            elif k == "tpm_mode":
                if v not in ("prompt", "prompt+max", "total"):
                    raise ValueError("tpm_mode: prompt, prompt+max or total")
                c.tpm_mode = v
            elif k == "flavor":
                if v not in ("openai", "deepseek"):
                    raise ValueError("flavor: openai or deepseek")
                c.flavor = v
            elif k in ("api_key", "api_keys"):
                keys = [v] if isinstance(v, str) else list(v or [])
                if not all(isinstance(x, str) for x in keys):
                    raise ValueError(f"{k}: a string or a list of strings")
                c.api_keys = keys
            elif k.startswith("fail_") and k.endswith("_next") and k[5:-5] in FAULTS:
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    raise ValueError(f"{k}: expected an integer >= 0")
                c.next[k[5:-5]] = v
            elif k.startswith("fail_") and k[5:] in FAULTS:
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
                    raise ValueError(f"{k}: expected a rate in [0, 1]")
                c.rates[k[5:]] = float(v)
            elif k == "clear_faults":
                if v:
                    for f in FAULTS:
                        c.rates[f] = 0.0
                        c.next[f] = 0
            elif k == "reset_stats":
                if v:
                    old, self.stats = self.stats, Stats()
                    self.stats.in_flight = old.in_flight
                    self.stats.conn_open = old.conn_open
            elif k == "reset_window":
                if v:
                    self.new_windows()

    @staticmethod
    def known_setting(k):
        if k in Config.NUMS or k in ("quota_exhausted", "repair_ok", "tpm_mode", "flavor", "api_key",
                                     "api_keys", "clear_faults", "reset_stats", "reset_window"):
            return True
        return k.startswith("fail_") and (k[5:] in FAULTS or (k.endswith("_next") and k[5:-5] in FAULTS))

    # ---- the chat endpoint -------------------------------------------------------------
    def chat(self, conn, headers, raw):
        st = self.stats
        now = time.time()
        bucket = st.arrive(now)
        st.in_flight += 1
        if st.in_flight > st.max_in_flight:
            st.max_in_flight = st.in_flight
        cfg = self.cfg
        rid = self.request_id()
        auth = headers.get("authorization")
        key = auth[7:].strip() if auth and auth[:7].lower() == "bearer " else None
        st.per_key[stats_key(key)] += 1

        # 1. the key (401 as recorded), then the quota
        if cfg.api_keys and key not in cfg.api_keys:
            st.unauthorized += 1
            msg = MSG_BAD_KEY.format(key=mask_key(key)) if key else MSG_NO_KEY
            code = "invalid_api_key" if key else None
            return self.reply(conn, 401, [("vary", "Origin"), ("x-request-id", rid)],
                              error_body(msg, "invalid_request_error", None, code),
                              "application/json; charset=utf-8")
        if cfg.quota_exhausted:
            return self.reply(conn, 429, [("x-request-id", rid)],
                              error_body(MSG_QUOTA, "insufficient_quota", None, "insufficient_quota"),
                              "application/json; charset=utf-8")

        # 2. the body against the spec
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            body = None
        problems = validate.validate(body) if body is not None else [
            ("body_not_json", validate.NOT_JSON, None, None)]
        if problems:
            st.invalid += 1
            for p in problems:
                st.invalid_reasons[p[0]] += 1
            st.invalid_last.append({"time": round(now, 6), "reasons": [p[0] for p in problems],
                                    "message": problems[0][1][:300]})
            r, msg, param, code = problems[0]
            return self.reply(conn, 400, [("x-request-id", rid)],
                              error_body(msg, "invalid_request_error", param, code),
                              "application/json; charset=utf-8")
        model = body["model"]
        msgs = body["messages"]
        st.models[model] += 1
        chars = 0
        for m in msgs:
            c = m.get("content")
            if isinstance(c, str):
                chars += len(c)
        prompt_tokens = max(1, (chars + 3) // 4)
        max_out = body.get("max_completion_tokens") or body.get("max_tokens") or 0

        # 3. the answer (before the limits only when the TPM counts the answer too)
        repair = answers.is_repair(msgs)
        ans = None
        if cfg.tpm_mode == "total" and self.win_tok:
            ans = self.answer(msgs)
            req_tokens = prompt_tokens + (len(ans[0]) + 3) // 4
        elif cfg.tpm_mode == "prompt":
            req_tokens = prompt_tokens
        else:
            req_tokens = prompt_tokens + max_out

        # 4. the sliding-minute limits: a request counts when it arrives and is accepted
        mono = time.monotonic()
        wr = self.win_req.wait(mono, 1) if self.win_req else 0.0
        wt = self.win_tok.wait(mono, req_tokens) if self.win_tok else 0.0
        if wr != 0.0 or wt != 0.0:
            return self.rate_limited(conn, rid, model, mono, wr, wt, req_tokens)
        if self.win_req:
            self.win_req.add(mono, 1)
        if self.win_tok:
            self.win_tok.add(mono, req_tokens)
        bucket[1] += 1

        # 5. a fault, by count first, then by rate (a repair is spared with repair_ok)
        if repair:
            st.repairs += 1
        fault = None
        if not (repair and cfg.repair_ok):
            for k in FAULTS:
                if cfg.next[k] > 0:
                    cfg.next[k] -= 1
                    fault = k
                    break
            if fault is None:
                u = self.rng.random()
                acc = 0.0
                for k in FAULTS:
                    r = cfg.rates[k]
                    if r > 0.0:
                        acc += r
                        if u < acc:
                            fault = k
                            break
        if fault:
            st.faults[fault] += 1
        delay = (cfg.latency_ms + (self.jit.uniform(0, cfg.jitter_ms) if cfg.jitter_ms > 0 else 0)) / 1000.0
        rl = self.ratelimit_headers(mono)
        if cfg.flavor == "openai":
            base = rl + [("openai-organization", "org-fakellm"),
                         ("openai-processing-ms", str(int(delay * 1000))),
                         ("openai-version", "2020-10-01"), ("x-request-id", rid)]
        else:
            base = [("vary", "origin, access-control-request-method, access-control-request-headers"),
                    ("access-control-allow-credentials", "true")]
        if fault == "hang":
            return conn.hang(cfg.hang_ms / 1000.0)
        if fault in ("500", "503"):
            return self.reply(conn, int(fault), base, error_body(
                MSG_500 if fault == "500" else MSG_503, "server_error"), delay=delay)
        if fault == "502":
            return self.reply(conn, 502, [("x-request-id", rid)], HTML_502.encode(), "text/html",
                              delay=delay)
        if fault == "429":
            return self.reply(conn, 429, base, error_body(
                MSG_OVERLOADED.format(rid=rid), "server_error", indent=2), delay=delay)
        if fault == "429_long":         # a provider that shuts us out for a long time (a day)
            wait = cfg.long_retry_after_s
            msg = MSG_RATE.format(model=model, what="requests", abbr="RPD", limit=10000, used=10000, req=1,
                                  wait=go_duration(wait)).replace("per min", "per day")
            return self.reply(conn, 429, [("retry-after", str(wait)), ("x-request-id", rid)],
                              error_body(msg, "requests", None, "rate_limit_exceeded"),
                              "application/json; charset=utf-8", delay=delay)
        if fault == "endless":          # a 200 whose body never ends
            return conn.endless(self, base, delay)
        if fault == "vllm":
            return self.reply(conn, cfg.vllm_status, [], self.vllm_error(prompt_tokens, max_out),
                              delay=delay)

        # 6. a 200
        if ans is None:
            ans = self.answer(msgs)
        content, known, lang = ans
        st.answers["known" if known else "synthetic"] += 1
        st.languages[lang] += 1
        finish = "stop"
        reasoning = 0
        if fault in CONTENT_FAULTS:
            content, finish = self.spoil(fault, content, lang)
        completion = (len(content) + 3) // 4
        if finish == "length":
            completion = max(completion, max_out or completion)
            if not content:
                reasoning = completion
        cached = self.cached_tokens(msgs, prompt_tokens)
        st.tokens["prompt"] += prompt_tokens
        st.tokens["completion"] += completion
        st.tokens["total"] += prompt_tokens + completion
        st.tokens["cached"] += cached
        body = self.ok_body(model, content, finish, prompt_tokens, completion, cached, reasoning)
        if fault == "leading_ws":
            return conn.trickle(self, base, body, delay)
        if fault == "disconnect":
            resp = self.response(200, base, body)
            return conn.cut(resp[:len(resp) - len(body) // 2], delay)
        return self.reply(conn, 200, base, body, delay=delay)

    def answer(self, msgs):
        """(content, known?, language) for a request, cached per known paper and language."""
        lang = answers.detect_language(msgs)
        pid = answers.find_paper_id(msgs, self.papers)
        if pid is not None and pid in self.papers:
            key = (pid, lang)
            c = self.content_cache.get(key)
            if c is None:
                if len(self.content_cache) > 50000:
                    self.content_cache.clear()
                c = self.content_cache[key] = json.dumps(
                    answers.real_answer(self.papers[pid], lang), ensure_ascii=False)
            return c, True, lang
        a = answers.synthetic_answer(pid, answers.user_text(msgs), lang)
        return json.dumps(a, ensure_ascii=False), False, lang

    def spoil(self, fault, content, lang):
        """(content, finish_reason) of a content fault."""
        if fault == "truncated":
            return answers.truncated(content), "length"
        if fault == "empty":
            return "", "stop"
        if fault == "empty_length":     # a reasoning model spent every token on thinking
            return "", "length"
        a = json.loads(content)
        if fault == "huge":             # a valid answer whose summary is huge_bytes long
            a["summary"] = ("huge " * (self.cfg.huge_bytes // 5 + 1))[:self.cfg.huge_bytes]
            return json.dumps(a, ensure_ascii=False), "stop"
        if fault == "garbage":
            return answers.garbage(a, lang), "stop"
        if fault == "missing_fields":
            return answers.missing_fields(a), "stop"
        if fault == "bad_score":
            return answers.bad_score(a), "stop"
        return answers.fenced(a), "stop"

    def cached_tokens(self, msgs, prompt_tokens):
        """A prompt-cache hit on a repeated system message: OpenAI caches prefixes of 1024+
        tokens in steps of 128, DeepSeek in steps of 64."""
        first = msgs[0].get("content") if msgs else None
        if not isinstance(first, str):
            return 0
        t = (len(first) + 3) // 4
        if self.cfg.flavor == "openai" and t < 1024:
            return 0
        h = hash(first)
        if h not in self.seen_prefixes:
            if len(self.seen_prefixes) > 100000:
                self.seen_prefixes.clear()
            self.seen_prefixes.add(h)
            return 0
        step = 128 if self.cfg.flavor == "openai" else 64
        return min(prompt_tokens, t // step * step)

    def ok_body(self, model, content, finish, pt, ct, cached, reasoning):
        c = json.dumps(content, ensure_ascii=False)
        if self.cfg.flavor == "openai":
            cid = f'"chatcmpl-{self.id_salt}{self.counter:020d}"'
            return (OPENAI_BODY % (cid, int(time.time()), json.dumps(model), c, json.dumps(finish),
                                   pt, ct, pt + ct, cached, reasoning)).encode()
        # DeepSeek (shared/fixtures/llm/deepseek_reasoner_*): compact, cache hit/miss fields
        return json.dumps({
            "id": f"{self.id_salt}{self.counter:08x}-0000-4000-8000-000000000000",
            "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "logprobs": None, "finish_reason": finish}],
            "usage": {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct,
                      "prompt_tokens_details": {"cached_tokens": cached},
                      "prompt_cache_hit_tokens": cached, "prompt_cache_miss_tokens": pt - cached},
            "system_fingerprint": "fp_fakellm01_prod0225"}, ensure_ascii=False).encode()

    def vllm_error(self, pt, max_out):
        """vLLM's flat error object (no "error" wrapper, numeric code)."""
        s = self.cfg.vllm_status
        if s == 400:
            msg = (f"This model's maximum context length is 4096 tokens. However, you requested "
                   f"{pt + max_out} tokens ({pt} in the messages, {max_out} in the completion). "
                   f"Please reduce the length of the messages or completion.")
        else:
            msg = "Internal server error" if s >= 500 else "The request failed."
        return json.dumps({"object": "error", "message": msg,
                           "type": VLLM_TYPES.get(s, "Error"), "param": None, "code": s}).encode()

    def rate_limited(self, conn, rid, model, now, wr, wt, req_tokens):
        """429 rate_limit_exceeded for the first window that is full."""
        st = self.stats
        if wr != 0.0:
            w, kind, abbr, req, wait = self.win_req, "requests", "RPM", 1, wr
        else:
            w, kind, abbr, req, wait = self.win_tok, "tokens", "TPM", req_tokens, wt
        st.rate_limited[kind] += 1
        if wait is None:                 # more tokens than the whole limit: never fits
            msg = MSG_TOO_LARGE.format(model=model, limit=w.limit, req=req)
            wait = w.span
        else:
            msg = MSG_RATE.format(model=model, what=kind, abbr=abbr, limit=w.limit,
                                  used=w.used(now), req=req,
                                  wait=go_duration(-(-wait * 1000 // 1) / 1000))  # ms, rounded up
        waits = [x if x is not None else w.span for x in (wr, wt)]
        longest = max(waits)
        h = [("retry-after", str(max(1, int(-(-longest // 1))))),
             ("retry-after-ms", str(max(1, int(-(-longest * 1000 // 1)))))]
        h += self.ratelimit_headers(now, waits[0] if self.win_req else None,
                                    waits[1] if self.win_tok else None)
        h.append(("x-request-id", rid))
        return self.reply(conn, 429, h, error_body(msg, kind, None, "rate_limit_exceeded"),
                          "application/json; charset=utf-8")

    def reply(self, conn, status, headers, body, ctype="application/json", delay=0.0):
        resp = self.response(status, headers, body, close=conn.close_after, ctype=ctype)
        if delay > 0:
            conn.later(delay, resp, status)
        else:
            conn.send(resp, status)


def parse_args(argv):
    p = argparse.ArgumentParser(description="Fake OpenAI-compatible chat-completions server.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0: a free port (printed as LISTENING <port>)")
    p.add_argument("--latency-ms", type=float, default=0.0, help="delay of every answer")
    p.add_argument("--jitter-ms", type=float, default=0.0, help="plus uniform 0..jitter")
    p.add_argument("--rpm", type=int, default=0, help="requests per sliding minute (0: no limit)")
    p.add_argument("--tpm", type=int, default=0, help="tokens per sliding minute (0: no limit)")
    p.add_argument("--window-s", type=float, default=60.0,
                   help="length of the sliding window (60: per minute; tests shorten it)")
    p.add_argument("--tpm-mode", default="prompt+max", choices=("prompt", "prompt+max", "total"),
                   help="what a request costs against --tpm when it arrives")
    p.add_argument("--api-key", action="append", help="accepted key (repeatable; none: any)")
    p.add_argument("--quota-exhausted", action="store_true", help="429 insufficient_quota")
    p.add_argument("--repair-ok", action="store_true", help="repair requests get no fault")
    p.add_argument("--seed", type=int, default=1, help="seed of fault draws and jitter")
    p.add_argument("--flavor", default="openai", choices=("openai", "deepseek"))
    p.add_argument("--vllm-status", type=int, default=400, help="HTTP status of the vllm fault")
    p.add_argument("--hang-ms", type=float, default=30000.0, help="how long the hang fault holds")
    p.add_argument("--long-retry-after-s", type=int, default=86400,
                   help="Retry-After (s) of the 429_long fault")
    p.add_argument("--huge-bytes", type=int, default=10 * 1024 * 1024,
                   help="length of the huge fault's summary")
    p.add_argument("--stats-window-s", type=int, default=10, help="default /_stats rps window")
    p.add_argument("--data", default=DEFAULT_DATA, help="answers extract (.jsonl[.zst])")
    for k in FAULTS:
        p.add_argument("--fail-" + k.replace("_", "-"), dest="fail_" + k, type=float, default=0.0,
                       metavar="RATE", help=f"share of requests that get the {k} fault")
        p.add_argument("--fail-" + k.replace("_", "-") + "-next", dest="fail_" + k + "_next",
                       type=int, default=0, metavar="N", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    for k in FAULTS:
        if not 0.0 <= getattr(a, "fail_" + k) <= 1.0:
            p.error(f"--fail-{k}: a rate in [0, 1]")
    return a


async def main(argv):
    a = parse_args(argv)
    papers = answers.load_papers(a.data) if a.data else {}
    srv = Server(Config(a), papers)
    srv.loop = asyncio.get_running_loop()
    server = await srv.loop.create_server(lambda: httpconn.Conn(srv), a.host, a.port, backlog=4096,
                                          reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    print(f"LISTENING {port}", flush=True)
    print(f"fake_llm: {len(papers)} papers, {a.host}:{port}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        srv.loop.add_signal_handler(s, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
