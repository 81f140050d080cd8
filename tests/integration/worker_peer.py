#!/usr/bin/python3
"""worker_peer.py: a fake broker and a fake collector (ROUTER sockets) around the real
arxdigest-worker, then the real arxdigest-collector with a fake worker, checking their
sides of docs/protocol.md (the worker echoes its JOB's lease token). Run by
test_worker_collector.sh.

usage: worker_peer.py BROKER_PORT COLLECTOR_PORT REAL_COLLECTOR_PORT REDIS_PORT SNAPSHOT
"""
import json
import os
import sys
import time

import msgpack
import zmq

from peerlib import check, redis_cli

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
w = CTX.socket(zmq.DEALER)
w.setsockopt(zmq.LINGER, 0)
w.connect(f"tcp://127.0.0.1:{REAL_COLLECTOR_PORT}")
w.send_multipart([b"AXP1", b"RESULT", b"\x93\x01"])                             # truncated
w.send_multipart([b"garbage"])
w.send_multipart([b"AXP1", b"RESULT", msgpack.packb({"v": 1, "run": "R2", "job": 1, "profiles": ["p"],
                                                     "items": [{"paper": {"id": "2601.00001"},
                                                                "verdicts": []}]})])    # verdict count wrong
result["run"] = "R2"
for _ in range(2):                                                               # a duplicate delivery
    w.send_multipart([b"AXP1", b"RESULT", msgpack.packb(result)])
acks = []
end = time.time() + 5
while len(acks) < 2 and time.time() < end:
    if w.poll(200):
        f = w.recv_multipart()
        if f[1] == b"ACK":
            acks.append(msgpack.unpackb(f[2], raw=False))
check(len(acks) == 2 and all(a["run"] == "R2" and a["job"] == 1 for a in acks),
      "garbage is dropped without an ACK; each valid RESULT is ACKed")
counts = dict(zip(*[iter(redis("HGETALL", "ax:run:{R2}:counts:p").split("\n"))] * 2))
check(sum(int(v) for v in counts.values()) == 5, f"a RESULT delivered twice counts its 5 papers once: {counts}")
check(redis("HGET", "ax:run:{R2}", "papers_done") == "5", "papers_done counts each paper once")
