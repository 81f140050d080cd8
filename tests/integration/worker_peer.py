#!/usr/bin/python3
"""worker_peer.py: a fake broker and a fake collector (ROUTER sockets) around the real
arxdigest-worker, then the real arxdigest-collector with a fake worker, checking their
sides of docs/protocol.md: the worker echoes its JOB's lease token, and the collector
stores only the RESULT of an outstanding job of an active run that names exactly the
run's profiles and the job's papers. Run by test_worker_collector.sh.

usage: worker_peer.py BROKER_PORT COLLECTOR_PORT REAL_COLLECTOR_PORT REDIS_PORT SNAPSHOT
"""
import json
import os
import sys
import time

import msgpack
import zmq

from peerlib import check, redis_cli, redis_cli_bytes

BROKER_PORT, COLLECTOR_PORT, REAL_COLLECTOR_PORT, REDIS_PORT, SNAPSHOT = sys.argv[1:6]
CTX = zmq.Context()


def router(port):
    s = CTX.socket(zmq.ROUTER)
    s.setsockopt(zmq.LINGER, 0)
    s.bind(f"tcp://127.0.0.1:{port}")
    return s


KEEPALIVE = {}   # socket -> peer identity we send HEARTBEATs to while waiting


def recv(sock, timeout_ms, skip_heartbeats=True):
    """(identity, command, body) of the next message, or (None, None, None). While
    waiting, every socket in KEEPALIVE heartbeats its peer every 100 ms."""
    end = time.time() + timeout_ms / 1000
    while True:
        left = int((end - time.time()) * 1000)
        for s, peer in KEEPALIVE.items():
            s.send_multipart([peer, b"AXP1", b"HEARTBEAT"])
        if left <= 0:
            return None, None, None
        if not sock.poll(min(left, 100)):
            continue
        frames = sock.recv_multipart()
        ident, sig, cmd = frames[0], frames[1], frames[2].decode()
        assert sig == b"AXP1", frames
        body = msgpack.unpackb(frames[3], raw=False) if len(frames) > 3 else None
        if cmd == "HEARTBEAT" and skip_heartbeats:
            continue
        return ident, cmd, body


def expect(sock, want, timeout_ms):
    """The first `want` message within timeout_ms, skipping others (READY re-grants)."""
    end = time.time() + timeout_ms / 1000
    while time.time() < end:
        ident, cmd, body = recv(sock, max(1, int((end - time.time()) * 1000)))
        if cmd == want:
            return ident, cmd, body
    return None, None, None


def send(sock, ident, cmd, body=None):
    frames = [ident, b"AXP1", cmd.encode()]
    if body is not None:
        frames.append(msgpack.packb(dict(body, v=1)))
    sock.send_multipart(frames)


def redis(*args):
    return redis_cli(REDIS_PORT, *args)


papers = []
for line in open(SNAPSHOT):
    r = json.loads(line)
    papers.append({"id": r["id"], "ver": 1, "sub": 1780000000, "title": r["title"], "authors": ["A B"],
                   "abs": r["abstract"], "cats": r["categories"].split(), "upd": 1780000000})
    if len(papers) == 5:
        break
profile = {"name": "p", "title": "t", "lang": "en", "interest": "", "cats": [],
           "kw": [{"t": "model", "a": ["models"], "co": None}], "ex": [], "min": 1, "top": 20}
job = {"run": "R1", "job": 1, "attempt": 1, "lease_ms": 1500, "lease": 2**64 - 77, "profiles": [profile],
       "papers": papers}

# --- the real worker between a fake broker and a fake collector -------------------------
broker, collector = router(BROKER_PORT), router(COLLECTOR_PORT)
open(os.environ["AX_READY_FILE"], "w").close()
ident, cmd, body = recv(broker, 5000)
check(cmd == "READY" and body["credit"] == 2, f"the worker announces itself with READY credit 2 ({cmd} {body})")
KEEPALIVE[broker] = ident
broker.send_multipart([ident, b"AXP1", b"JOB", b"\xdd\xff\xff\xff\xff"])        # garbage body
broker.send_multipart([ident, b"NOPE"])                                         # garbage frames
broker.send_multipart([ident, b"AXP1", b"JOB", msgpack.packb(dict(job, v=7))])  # newer schema
send(broker, ident, "JOB", job)
cident, cmd, result = recv(collector, 5000)
check(cmd == "RESULT" and result["job"] == 1 and result["run"] == "R1",
      "after three garbage JOBs, the valid one is judged and its RESULT sent to the collector")
states = [it["verdicts"][0]["st"] for it in result["items"]]
check(len(states) == 5 and set(states) <= {"matched", "below_threshold"}, f"one verdict per paper: {states}")
_, cmd, body = expect(broker, "WORKING", 1500)
check(cmd == "WORKING" and body["job"] == 1 and body.get("lease") == 2**64 - 77,
      f"WORKING for a held job echoes the JOB's lease token ({body})")
_, cmd, _ = expect(broker, "DONE", 700)
check(cmd is None, "no DONE before the collector ACKs")
cident2, cmd, again = recv(collector, 3000)
check(cmd == "RESULT" and again == result, "without an ACK the same RESULT is sent again after result_timeout_ms")
send(collector, cident2, "ACK", {"run": "R1", "job": 1})
_, cmd, body = expect(broker, "DONE", 3000)
check(cmd == "DONE" and body["job"] == 1 and body["credit"] == 1 and body.get("lease") == 2**64 - 77,
      f"the ACK turns into DONE with one credit and the JOB's lease token ({body})")
# The broker goes silent: the worker must reconnect and announce itself again.
del KEEPALIVE[broker]
t0 = time.time()
ident2, cmd, body = ident, None, None
while ident2 == ident and time.time() - t0 < 5:
    ident2, cmd, body = expect(broker, "READY", 5000)
took = time.time() - t0
check(cmd == "READY" and ident2 != ident and body["credit"] == 2,
      f"a silent broker is left: the worker reconnects with a new identity and READY after {took:.1f} s")
KEEPALIVE[broker] = ident2
send(broker, ident2, "RESET")
_, cmd, body = expect(broker, "READY", 2000)
check(cmd == "READY" and body["credit"] >= 1, "RESET makes the worker announce itself again")
broker.close()
collector.close()

# --- the real collector with a fake worker ------------------------------------------------
# Run R2 as a broker leaves it in Redis: dispatching, two outstanding jobs; job 1 with its
# id list in :jobids, job 2 (as an older broker wrote it) only as packed papers.
spec = {"v": 1, "source": "snapshot:x", "categories": [], "from": None, "to": None, "job_size": 10,
        "group_by": "run", "profiles": [profile]}
papers2 = [dict(p, id="9999.%05d" % i) for i, p in enumerate(papers)]
redis_cli_bytes(REDIS_PORT, msgpack.packb(spec), "HSET", "ax:run:{R2}", "spec")
redis("HSET", "ax:run:{R2}", "state", "dispatching", "jobs_total", "2")
redis_cli_bytes(REDIS_PORT, msgpack.packb(papers), "HSET", "ax:run:{R2}:jobs", "1")
redis_cli_bytes(REDIS_PORT, msgpack.packb(papers2), "HSET", "ax:run:{R2}:jobs", "2")
redis_cli_bytes(REDIS_PORT, b"\0".join(p["id"].encode() for p in papers), "HSET", "ax:run:{R2}:jobids", "1")

w = CTX.socket(zmq.DEALER)
w.setsockopt(zmq.LINGER, 0)
w.connect(f"tcp://127.0.0.1:{REAL_COLLECTOR_PORT}")


def deliver(*bodies, timeout=5.0):
    """Sends the RESULT bodies, then a HEARTBEAT; returns the ACKs that came before the
    collector's HEARTBEAT (it handles messages in order) and the seconds that took."""
    t0 = time.time()
    for b in bodies:
        w.send_multipart([b"AXP1", b"RESULT", b if isinstance(b, bytes) else msgpack.packb(b)])
    w.send_multipart([b"AXP1", b"HEARTBEAT"])
    acks, end = [], time.time() + timeout
    while time.time() < end:
        if w.poll(100):
            f = w.recv_multipart()
            if f[1] == b"HEARTBEAT":
                return acks, time.time() - t0
            if f[1] == b"ACK":
                acks.append(msgpack.unpackb(f[2], raw=False))
    return acks, None


def states(run, prof="p"):
    return redis("HGETALL", "ax:run:{%s}:states:%s" % (run, prof))


def keys(pattern):
    return [k for k in redis("KEYS", pattern).split("\n") if k]


acks, _ = deliver(b"\x93\x01", msgpack.packb({"v": 1, "run": "R2", "job": 1, "profiles": ["p"],
                                            "items": [{"paper": {"id": "2601.00001"}, "verdicts": []}]}))
w.send_multipart([b"garbage"])
check(acks == [], "garbage and a RESULT with a wrong verdict count get no ACK")
result["run"] = "R2"
mine = [it["paper"]["id"] for it in result["items"]]
forged = []
forged.append(dict(result, job=9))                                               # never handed out
forged.append(dict(result, items=[dict(it, paper=dict(it["paper"], id="6666.%05d" % i))
                                  for i, it in enumerate(result["items"])]))      # not the job's papers
forged.append(dict(result, items=result["items"][:4]))                           # a paper left out
forged.append(dict(result, items=result["items"] + result["items"][:1]))         # one twice
forged.append(dict(result, profiles=["p", "x"], items=[dict(it, verdicts=it["verdicts"] * 2)
                                                       for it in result["items"]]))  # not the run's
acks, _ = deliver(*forged)
check(acks == [], f"RESULTs that are not an outstanding job's papers and the run's profiles get no ACK ({acks})")
check(sorted(keys("ax:run:{R2}:*")) == ["ax:run:{R2}:jobids", "ax:run:{R2}:jobs"],
      f"... and store nothing: {sorted(keys('ax:run:{R2}:*'))}")
n = 20000
many = dict(result, profiles=["p%d" % i for i in range(n)],
            items=[dict(result["items"][0], verdicts=[{"st": "below_threshold", "hits": []}] * n)])
acks, took = deliver(many)
check(acks == [] and took is not None and took < 2.0,
      f"a RESULT naming {n} profiles is refused at once (took {took})")
check(keys("ax:run:{R2}:states:*") == [] and keys("ax:run:{R2}:counts:*") == [],
      f"... and creates no key: {keys('ax:run:{R2}:counts:*')[:3]}")
acks, _ = deliver(dict(result, run="no-such-run"))
check(keys("ax:run:{no-such-run}*") == [], "a RESULT for a run that does not exist creates no key")
check(len(acks) == 1, "... and is ACKed: nothing could ever store it, the worker need not re-send")

acks, _ = deliver(result, result)                                                 # a duplicate delivery
check(len(acks) == 2 and all(a["run"] == "R2" and a["job"] == 1 for a in acks),
      "each delivery of the job's RESULT is ACKed")
counts = dict(zip(*[iter(redis("HGETALL", "ax:run:{R2}:counts:p").split("\n"))] * 2))
check(sum(int(v) for v in counts.values()) == 5, f"a RESULT delivered twice counts its 5 papers once: {counts}")
check(redis("HGET", "ax:run:{R2}", "papers_done") == "5", "papers_done counts each paper once")
result2 = dict(result, job=2, items=[dict(it, paper=dict(it["paper"], id=p["id"]))
                                     for it, p in zip(result["items"], papers2)])
acks, _ = deliver(result2)
check(len(acks) == 1 and redis("HGET", "ax:run:{R2}", "papers_done") == "10",
      "a job recorded without an id list (an older broker) is checked against its packed papers")

# Job 1 done (gone from :jobs), then the run finished: late RESULTs change nothing.
before = states("R2")
redis("HDEL", "ax:run:{R2}:jobs", "1")
redis("HDEL", "ax:run:{R2}:jobids", "1")
failed = [dict(it, verdicts=[{"st": "failed", "why": "late", "hits": []}]) for it in result["items"]]
acks, _ = deliver(dict(result, items=failed))
check(len(acks) == 1 and states("R2") == before, "a RESULT of a job already done is ACKed and changes nothing")
for st in ("collected", "rendering", "done", "failed"):
    redis("HSET", "ax:run:{R2}", "state", st)
    acks, _ = deliver(dict(result2, items=[dict(it, verdicts=[{"st": "failed", "why": "late", "hits": []}])
                                           for it in result2["items"]]))
    check(len(acks) == 1 and states("R2") == before,
          f"a RESULT for a {st} run is ACKed and changes nothing")
