#!/usr/bin/python3
"""protocol_peer.py: fake workers and a fake submitter that drive the real broker through
docs/protocol.md and check what it does, including that only the holder of a job's lease
(the token of its JOB) may extend, finish or fail it. Run by test_protocol.sh with the broker started
with broker.lease_ms 1000, heartbeat_ms 200, liveness 3 and max_attempts 2.

usage: protocol_peer.py JOBS_ENDPOINT CONTROL_ENDPOINT SNAPSHOT REDIS_PORT
"""
import os
import sys
import time

import msgpack
import zmq

from peerlib import check, redis_cli

JOBS, CONTROL, SNAPSHOT, REDIS_PORT = sys.argv[1:5]
CTX = zmq.Context()


def send(sock, cmd, body=None):
    frames = [b"AXP1", cmd.encode()]
    if body is not None:
        frames.append(msgpack.packb(dict(body, v=1)))
    sock.send_multipart(frames)


def recv(sock, timeout_ms):
    if not sock.poll(timeout_ms):
        return None, None
    frames = sock.recv_multipart()
    assert frames[0] == b"AXP1", frames
    body = msgpack.unpackb(frames[2], raw=False) if len(frames) > 2 else None
    return frames[1].decode(), body


def redis(*args):
    return redis_cli(REDIS_PORT, *args)


class Worker:
    """A fake worker: a DEALER that sends HEARTBEAT (unless silent) and WORKING for the
    jobs in `working` (job id -> lease token: every job it gets, until the test removes
    it) every 150 ms, and records the JOBs and other commands it gets."""

    def __init__(self, name):
        self.sock = CTX.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(JOBS)
        self.name = name
        self.jobs, self.new, self.other = [], [], []
        self.working = {}
        self.silent = False
        self.last = 0

    def ready(self, credit):
        send(self.sock, "READY", {"worker": self.name, "credit": credit})

    def tick(self):
        if not self.silent and time.time() - self.last > 0.15:
            send(self.sock, "HEARTBEAT")
            for job, lease in self.working.items():
                send(self.sock, "WORKING", {"run": RUN, "job": job, "lease": lease})
            self.last = time.time()
        while True:
            cmd, body = recv(self.sock, 0)
            if cmd is None:
                return
            if cmd == "JOB":
                self.jobs.append(body)
                self.new.append(body)
                self.working[body["job"]] = body.get("lease", 0)   # a real worker keeps its jobs alive
            elif cmd != "HEARTBEAT":
                self.other.append(cmd)

    def take(self):
        """The JOBs received since the last take()."""
        new, self.new = self.new, []
        return new


WORKERS = []


def pump(seconds):
    """Lets every fake worker live for `seconds`."""
    end = time.time() + seconds
    while time.time() < end:
        for w in WORKERS:
            w.tick()
        time.sleep(0.01)


def worker(name):
    w = Worker(name)
    WORKERS.append(w)
    return w


def control(cmd, body=None, raw=None):
    req = CTX.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.connect(CONTROL)
    if raw is not None:
        req.send_multipart(raw)
    else:
        send(req, cmd, body)
    reply = recv(req, 5000)
    req.close()
    return reply


profile = {"name": "p", "title": "t", "lang": "en", "interest": "", "cats": [],
           "kw": [{"t": "model", "a": [], "co": None}], "ex": [], "min": 1, "top": 20}
spec = {"source": "snapshot:" + SNAPSHOT, "categories": [], "from": None, "to": None, "job_size": 10,
        "group_by": "run", "profiles": [profile]}

# --- control channel --------------------------------------------------------------
cmd, body = control(None, raw=[b"AXP1", b"SUBMIT", b"\xdd\xff\xff\xff\xff"])
check(cmd == "ERROR" and "bad run spec" in body["error"], "SUBMIT with a garbage body gets ERROR")
# A request without one of its required keys (docs/protocol.md section 6) is refused, the
# key named, and creates nothing.
for key in ("group_by", "categories"):
    cmd, body = control("SUBMIT", {k: v for k, v in spec.items() if k != key})
    check(cmd == "ERROR" and body["error"] == f"bad run spec: {key}: missing",
          f"SUBMIT without {key} gets ERROR naming it ({cmd} {body})")
check(redis("ZCARD", "ax:runs") == "0", "... and records no run")
cmd, body = control("SUBMIT", dict(spec, source="snapshot:/no/such/file.jsonl"))
check(cmd == "ERROR" and "/no/such/file.jsonl" in body["error"], "SUBMIT of a missing snapshot names it")
cmd, body = control("SUBMIT", spec)
check(cmd == "OK" and body.get("run"), "SUBMIT returns a run id")
RUN = body["run"]
cmd, body = control("STATUS", {"run": RUN})
check(cmd == "OK" and body["state"] in ("harvesting", "dispatching"), f"STATUS says {body}")
cmd, body = control("STATUS", {"run": "no-such-run"})
check(cmd == "ERROR", "STATUS of an unknown run is an ERROR")

# --- credit -------------------------------------------------------------------------
w1 = worker("w1")
w1.ready(2)
pump(1.2)
got = w1.take()
check(len(got) == 2, f"READY credit 2 gives exactly 2 jobs (got {len(got)})")
j1, j2 = got
check(j1["run"] == RUN and len(j1["papers"]) == 10 and j1["attempt"] == 1 and j1["profiles"][0]["name"] == "p",
      "a JOB carries the run, 10 papers, attempt 1 and the profiles")
check(j1.get("lease", 0) > 0 and j2.get("lease", 0) > 0 and j1["lease"] != j2["lease"],
      "each JOB carries its own lease token")

# --- garbage changes nothing ----------------------------------------------------------
w1.sock.send_multipart([os.urandom(7)])
w1.sock.send_multipart([b"AXP1", b"READY", b"\x81\xa1v"])          # truncated msgpack
w1.sock.send_multipart([b"AXP1", b"READY", msgpack.packb({"v": 9, "credit": 50})])  # newer schema
w1.sock.send_multipart([b"AXP1", b"FOO"])
w1.sock.send_multipart([b"AXP1", b"READY", b"x", b"y"])            # too many frames
pump(0.8)
check(w1.take() == [], "garbage frames and bodies grant no credit and send no job")
send(w1.sock, "DONE", {"run": RUN, "job": j1["job"], "lease": j1["lease"], "credit": 1})
w1.working.pop(j1["job"])
pump(0.8)
got = w1.take()
check(len(got) == 1, "DONE with credit 1 gives exactly one more job")
j3 = got[0]

# --- leases: WORKING extends, silence expires -------------------------------------------
pump(2.0)
log = open(os.environ["AX_BROKER_LOG"]).read()
check('msg="job re-queued"' not in log, "jobs kept alive by WORKING past their lease are not re-queued")
w1.working.pop(j2["job"])
pump(1.6)                                                          # job 2's lease runs out
check('msg="job re-queued" run=%s job=%d attempt=1 reason="lease expired"' % (RUN, j2["job"]) in
      open(os.environ["AX_BROKER_LOG"]).read(), "an expired lease is logged and the job re-queued")
w2 = worker("w2")
w2.ready(1)
pump(0.8)
got = w2.take()
w2.working.clear()
check(len(got) == 1 and got[0]["job"] == j2["job"] and got[0]["attempt"] == 2,
      f"the expired job is re-dispatched first, attempt 2 (got {[(j['job'], j['attempt']) for j in got]})")
check(got[0]["lease"] != j2["lease"], "a re-dispatched job has a new lease token")

# --- a dead worker's job: attempt 2 was the last, so its papers are recorded failed ---------
w2.silent = True
pump(1.5)
check('msg="worker gone" worker=w2 reason="heartbeat lost"' in open(os.environ["AX_BROKER_LOG"]).read(),
      "a silent worker is declared dead")
failed = redis("HGET", "ax:run:{%s}:counts:p" % RUN, "failed")
check(failed == "10", f"a job failed 2 times has its 10 papers recorded failed (got {failed!r})")
ids = [p["id"] for p in j2["papers"]]
state = redis("HGET", "ax:run:{%s}:states:p" % RUN, ids[0])
check(state.startswith("failed\t") and "failed 2 times" in state, f"the failed paper carries its reason: {state!r}")
WORKERS.remove(w2)

# --- only the holder of a job's lease may finish or fail it -------------------------------
# j3 is leased to w1. Peers that do not hold its lease (one never announced, one announced
# with no job) send DONE, FAIL and a fatal FAIL for it: nothing changes.
def outstanding(job):
    return redis("HEXISTS", "ax:run:{%s}:jobs" % RUN, str(job)) == "1"


def attempts(job):
    return redis("HGET", "ax:run:{%s}:attempts" % RUN, str(job))


def run_state():
    return redis("HGET", "ax:run:{%s}" % RUN, "state")


w3 = worker("w3")                                       # never sends READY
w5 = worker("w5")
w5.ready(0)                                             # known to the broker, holds nothing
pump(0.3)
for peer in (w3, w5):
    send(peer.sock, "DONE", {"run": RUN, "job": j3["job"], "credit": 0})
    send(peer.sock, "DONE", {"run": RUN, "job": j3["job"], "lease": j3["lease"] ^ 1, "credit": 0})
pump(0.5)
check("RESET" in w3.other, "a DONE from an unknown peer is answered with RESET")
check(outstanding(j3["job"]), "a DONE without the job's lease (none, or a wrong one) does not finish it")
for peer in (w3, w5):
    send(peer.sock, "FAIL", {"run": RUN, "job": j3["job"], "reason": "forged", "credit": 0})
pump(0.5)
check(outstanding(j3["job"]) and attempts(j3["job"]) == "",
      f"a FAIL without the job's lease neither re-queues it nor counts an attempt ({attempts(j3['job'])!r})")
for peer in (w3, w5):
    send(peer.sock, "FAIL", {"run": RUN, "job": j3["job"], "reason": "forged", "state": "fatal", "credit": 0})
pump(0.5)
check(run_state() in ("harvesting", "dispatching"),
      f"a fatal FAIL from a peer that holds no lease does not fail the run (state {run_state()!r})")
cmd, body = control("STATUS", {"run": RUN})
check(cmd == "OK" and body["state"] in ("harvesting", "dispatching"), "STATUS still shows the run active")
# The reconnect rule (protocol.md section 5): a worker that lost the broker sends its DONE
# from a new identity; the lease token proves the job was its own.
send(w3.sock, "DONE", {"run": RUN, "job": j3["job"], "lease": j3["lease"], "credit": 1})
w1.working.pop(j3["job"])
pump(0.5)
check(not outstanding(j3["job"]), "a DONE with the job's lease counts, even from a new identity")
WORKERS.remove(w3)
WORKERS.remove(w5)

# --- the rest of the run, never more in hand than granted ------------------------------
w4 = worker("w4")
w4.ready(3)
held, peak, end = [], 0, time.time() + 15
while time.time() < end and redis("HGET", "ax:run:{%s}" % RUN, "state") != "collected":
    pump(0.05)
    held += w4.take()
    peak = max(peak, len(held))
    for job in held:
        send(w4.sock, "DONE", {"run": RUN, "job": job["job"], "lease": job["lease"], "credit": 1})
    held = []
check(peak <= 3, f"a worker with credit 3 never holds more than 3 jobs (peak {peak})")
fields = ["state", "jobs_total", "jobs_done", "jobs_failed"]
h = dict(zip(fields, redis("HMGET", "ax:run:{%s}" % RUN, *fields).split("\n")))
check(h.get("state") == "collected", f"the run is collected: {h.get('state')}")
check(h["jobs_total"] == "20" and h["jobs_done"] == "20" and h["jobs_failed"] == "1",
      f"jobs: total {h['jobs_total']}, done {h['jobs_done']}, failed {h['jobs_failed']}")
check(redis("LRANGE", "ax:render", "0", "-1") == RUN, "the collected run waits in ax:render")
