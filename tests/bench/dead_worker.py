#!/usr/bin/python3
"""dead_worker.py: how long the real broker takes to notice a dead worker and hand its
job to another, with the broker's configured heartbeat_ms x liveness.

usage: dead_worker.py JOBS_ENDPOINT CONTROL_ENDPOINT SNAPSHOT [ROUNDS]
Prints the detection-to-redispatch time of each round and their median."""
import statistics
import sys
import time

import msgpack
import zmq

JOBS, CONTROL, SNAPSHOT = sys.argv[1:4]
ROUNDS = int(sys.argv[4]) if len(sys.argv) > 4 else 5
ctx = zmq.Context()


def send(sock, cmd, body=None):
    sock.send_multipart([b"AXP1", cmd.encode()] + ([msgpack.packb(dict(body, v=1))] if body is not None else []))


def recv_job(sock, seconds, heartbeat=True):
    end = time.time() + seconds
    last = 0
    while time.time() < end:
        if heartbeat and time.time() - last > 0.1:
            send(sock, "HEARTBEAT")
            last = time.time()
        if sock.poll(10):
            f = sock.recv_multipart()
            if f[1] == b"JOB":
                return msgpack.unpackb(f[2], raw=False)
    return None


def dealer():
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(JOBS)
    return s


def submit():
    req = ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.connect(CONTROL)
    profile = {"name": "p", "title": "t", "lang": "en", "interest": "", "cats": [],
               "kw": [{"t": "model", "a": [], "co": None}], "ex": [], "min": 1, "top": 20}
    send(req, "SUBMIT", {"source": "snapshot:" + SNAPSHOT, "categories": [], "job_size": 10, "group_by": "run",
                         "profiles": [profile]})
    assert req.poll(5000) and req.recv_multipart()[1] == b"OK"
    req.close()


times = []
for _ in range(ROUNDS):
    submit()                            # one run per round: it ends once the heir has every job
    doomed, heir = dealer(), dealer()
    send(doomed, "READY", {"worker": "doomed", "credit": 1})
    job = recv_job(doomed, 10)
    assert job, "no job for the doomed worker"
    t0 = time.time()                    # the doomed worker's last word: it says nothing more
    send(heir, "READY", {"worker": "heir", "credit": 1})
    while True:                         # the heir finishes every other job until the doomed one comes
        got = recv_job(heir, 30)
        assert got, "the dead worker's job was not re-dispatched"
        send(heir, "DONE", {"run": got["run"], "job": got["job"], "lease": got["lease"], "credit": 1})
        if got["job"] == job["job"] and got["run"] == job["run"]:
            break
    times.append(time.time() - t0)
    send(heir, "BYE")
    doomed.close()
    heir.close()
print("dead worker -> job re-dispatched: " + ", ".join(f"{t:.2f}" for t in times) +
      f" s; median {statistics.median(times):.2f} s")
