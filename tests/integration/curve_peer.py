#!/usr/bin/python3
"""curve_peer.py: fake peers with CURVE keys against the real broker (test_curve_control.sh):
control requests (SUBMIT, STATUS) and READY on the jobs socket, each with a key made by
`arxdigest keygen` in KEYS (server, admin, w1).

usage: curve_peer.py KEYS JOBS_ENDPOINT CONTROL_ENDPOINT SNAPSHOT BROKER_LOG MODE
  MODE lists:         broker with curve.allowed_clients = w1, allowed_control_clients = admin
  MODE own-key-only:  broker with no curve.allowed_control_clients
"""
import re
import sys

import msgpack
import zmq

from peerlib import check

keys, jobs, control, snap, log, mode = sys.argv[1:7]
ctx = zmq.Context()

def keypair(name):
    text = open(f"{keys}/{name}.key").read()
    pub = re.search(r'public-key\s*=\s*"([^"]+)"', text).group(1)
    sec = re.search(r'secret-key\s*=\s*"([^"]+)"', text).group(1)
    return pub.encode(), sec.encode()

def curve(sock, name):
    pub, sec = keypair(name)
    sock.curve_publickey, sock.curve_secretkey = pub, sec
    sock.curve_serverkey = open(f"{keys}/server.pub").read().split()[-1].encode()
    sock.setsockopt(zmq.LINGER, 0)

def ask(name, cmd, body, timeout_ms):
    """A control request with `name`'s key: (command, body) or (None, None)."""
    req = ctx.socket(zmq.REQ)
    curve(req, name)
    req.connect(control)
    req.send_multipart([b"AXP1", cmd.encode(), msgpack.packb(dict(body, v=1))])
    reply = (None, None)
    if req.poll(timeout_ms):
        f = req.recv_multipart()
        reply = (f[1].decode(), msgpack.unpackb(f[2], raw=False) if len(f) > 2 else None)
    req.close()
    return reply

def join(name, timeout_s):
    """READY with `name`'s key; True when a JOB or HEARTBEAT comes back."""
    d = ctx.socket(zmq.DEALER)
    curve(d, name)
    d.connect(jobs)
    d.send_multipart([b"AXP1", b"READY", msgpack.packb({"v": 1, "worker": "as-" + name, "credit": 1})])
    got = d.poll(int(timeout_s * 1000))
    d.close()
    return bool(got)

profile = {"name": "p", "title": "t", "lang": "en", "interest": "", "cats": [],
           "kw": [{"t": "model", "a": [], "co": None}], "ex": [], "min": 1, "top": 20}
spec = {"source": "snapshot:" + snap, "categories": [], "from": None, "to": None, "job_size": 10,
        "group_by": "run", "profiles": [profile]}

if mode == "own-key-only":
    check(ask("admin", "STATUS", {"run": "x"}, 2000)[0] is None, "no control list: the admin key is refused")
    check(ask("server", "STATUS", {"run": "x"}, 5000)[0] == "ERROR", "no control list: the server's own key is admitted")
    sys.exit(0)

cmd, body = ask("w1", "SUBMIT", spec, 3000)
check(cmd is None, f"a worker's key cannot SUBMIT (got {cmd} {body})")
cmd, body = ask("w1", "STATUS", {"run": "x"}, 2000)
check(cmd is None, "a worker's key cannot ask STATUS")
check(re.search(r'msg="client refused" key=\S+ address=\S* socket=control reason="key not in curve.allowed_control_clients"',
                open(log).read()) is not None, "the broker logs the refusal on the control socket")
cmd, body = ask("admin", "STATUS", {"run": "no-such-run"}, 5000)
check(cmd == "ERROR", f"the control key asks STATUS (got {cmd})")
cmd, body = ask("server", "STATUS", {"run": "no-such-run"}, 5000)
check(cmd == "ERROR", f"the server's own key is admitted on the control socket (got {cmd})")
check(not join("admin", 2.0), "the control key cannot join as a worker")
check('worker joined" worker=as-admin' not in open(log).read(), "the broker logged no worker for the control key")
check(join("w1", 5.0), "a worker's key still joins as a worker")
