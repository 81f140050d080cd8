#!/usr/bin/python3
"""load.py: a small asyncio load generator for fake_llm.py (or any chat-completions server).

N keep-alive connections, each sending the next request as soon as the previous answer is
complete, for a fixed time; the bodies look like arxdigest's (a ~1.2 kB system prompt, a
paper message with a real id of tests/data/llm/, response_format json_object). With --procs P
the connections are split over P processes (a Python client is as slow as a Python server;
one process alone would measure itself). Prints one JSON line: requests, req/s, statuses,
latency percentiles.

  load.py --port 8000 --concurrency 256 --duration 10 --procs 2
"""
import argparse
import asyncio
import collections
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import answers  # noqa: E402

SYSTEM = ("你是一名资深的科研助理。请用中文（zh）阅读下面的论文信息，并只输出一个 JSON 对象，字段为 "
          "title_translated, one_sentence, summary, tldr, motivation, method, result, conclusion, "
          "score (1-5 的整数，依据读者的兴趣：推荐系统、检索、排序、大语言模型), score_reason, "
          "company, tags_top, tags_detail。") * 4


def bodies(data, model, n=200):
    """n request bodies (bytes) for real papers of the data file."""
    papers = answers.load_papers(data)
    out = []
    for pid in sorted(papers)[:n]:
        p = papers[pid]
        user = (f"arXiv id: {pid}\nTitle: {p['title']}\nCategories: {' '.join(p['categories'])}\n"
                f"Abstract: {p['motivation']} {p['method']} {p['result']}")
        out.append(json.dumps({"model": model, "messages": [
            {"role": "system", "content": SYSTEM}, {"role": "user", "content": user}],
            "temperature": 0.2, "max_tokens": 2048,
            "response_format": {"type": "json_object"}}, ensure_ascii=False).encode())
    return out


class Client(asyncio.Protocol):
    """One keep-alive connection sending requests back to back."""

    def __init__(self, run, offset):
        self.run = run
        self.i = offset
        self.buf = bytearray()
        self.t0 = 0.0
        self.transport = None
        self.lost = None

    def connection_made(self, transport):
        self.transport = transport
        self.send()

    def send(self):
        r = self.run
        if time.monotonic() >= r.end:
            self.transport.close()
            return
        b = r.bodies[self.i % len(r.bodies)]
        self.i += 1
        self.t0 = time.monotonic()
        self.transport.write(r.head % len(b) + b)

    def data_received(self, data):
        self.buf += data
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(buf[:end]).lower()
        i = head.find(b"content-length:")
        if i >= 0:
            n = int(head[i + 15:head.find(b"\r\n", i) if head.find(b"\r\n", i) > 0 else None])
            if len(buf) < end + 4 + n:
                return
            used = end + 4 + n
        else:   # chunked: wait for the terminating chunk
            t = buf.find(b"\r\n0\r\n\r\n", end)
            if t < 0:
                return
            used = t + 7
        status = int(head[9:12])
        del buf[:used]
        r = self.run
        r.status[status] += 1
        r.lat.append(time.monotonic() - self.t0)
        self.send()

    def connection_lost(self, exc):
        if self.lost and not self.lost.done():
            self.lost.set_result(True)


class Run:
    pass


async def drive(host, port, conc, duration, data, model, key):
    r = Run()
    r.bodies = bodies(data, model)
    r.head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\n"
              f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
              f"Content-Length: %d\r\n\r\n").encode()
    r.status = collections.Counter()
    r.lat = []
    loop = asyncio.get_running_loop()
    start = time.monotonic()
    r.end = start + duration
    waits = []
    for i in range(conc):
        c = Client(r, i * 7)
        c.lost = loop.create_future()
        await loop.create_connection(lambda c=c: c, host, port)
        waits.append(c.lost)
    await asyncio.gather(*waits)
    el = time.monotonic() - start
    return {"requests": sum(r.status.values()), "seconds": el,
            "status": {str(k): v for k, v in r.status.items()}, "lat": sorted(r.lat)}


def pct(lat, q):
    return round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1) if lat else None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--procs", type=int, default=1)
    p.add_argument("--model", default="deepseek-chat")
    p.add_argument("--key", default="sk-load")
    p.add_argument("--data", default=answers_default())
    p.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.procs > 1:
        per = [a.concurrency // a.procs + (i < a.concurrency % a.procs) for i in range(a.procs)]
        kids = [subprocess.Popen([sys.executable, __file__, "--raw", "--host", a.host, "--port",
                                  str(a.port), "--concurrency", str(n), "--duration",
                                  str(a.duration), "--model", a.model, "--key", a.key,
                                  "--data", a.data], stdout=subprocess.PIPE) for n in per if n]
        res = [json.loads(k.communicate()[0]) for k in kids]
    else:
        res = [asyncio.run(drive(a.host, a.port, a.concurrency, a.duration, a.data, a.model, a.key))]
    if a.raw:
        print(json.dumps(res[0]))
        return
    n = sum(x["requests"] for x in res)
    secs = max(x["seconds"] for x in res)
    st = collections.Counter()
    lat = []
    for x in res:
        st.update(x["status"])
        lat += x["lat"]
    lat.sort()
    print(json.dumps({"concurrency": a.concurrency, "procs": a.procs, "requests": n,
                      "seconds": round(secs, 2), "rps": round(n / secs, 1), "status": dict(st),
                      "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99), "max_ms": pct(lat, 1.0)}))


def answers_default():
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "data", "llm", "dae_answers.jsonl.zst")


if __name__ == "__main__":
    main()
