#!/usr/bin/env bash
# Issue 11 item 5: a worker name with a newline or an ANSI escape forged a log line. Fake
# workers send READY to the real broker with such names; the broker's log must hold one
# `worker joined` line for each, with the name escaped in it (\n, \x1b), and nothing else:
# no line of the forger's, no raw control byte.
source "$(dirname "$0")/lib.sh"
start_redis
BP=$(free_port); CP=$(free_port)
start broker "$BIN/arxdigest-broker" --set "redis.url=$REDIS_URL" --set "broker.bind=tcp://127.0.0.1:$BP" \
  --set "broker.control=tcp://127.0.0.1:$CP" --set broker.metrics=
wait_for 10 "broker" grep -q "broker ready" "$T/broker.log"
timeout 20 /usr/bin/python3 - "tcp://127.0.0.1:$BP" <<'PY'
import sys, time
import msgpack, zmq
ctx = zmq.Context()
socks = []
for name in ["evil\nrun failed|run=x", "\x1b[2J", "ok \"quoted\" level=error"]:
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(sys.argv[1])
    s.send_multipart([b"AXP1", b"READY", msgpack.packb({"v": 1, "worker": name, "credit": 1})])
    socks.append(s)
time.sleep(0.5)
PY
wait_for 10 "three workers to join" sh -c "[ \$(grep -c 'worker joined' '$T/broker.log') -ge 3 ]"
sleep 0.3
lines=$(grep -c 'worker joined' "$T/broker.log")
[ "$lines" -eq 3 ] || fail "expected 3 'worker joined' lines, got $lines"
grep -qF 'msg="worker joined" worker="evil\nrun failed|run=x" credit=1 ' "$T/broker.log" \
  || fail "the newline name is not escaped in one line: $(grep -a 'worker joined' "$T/broker.log")"
grep -qF 'msg="worker joined" worker=\x1b[2J credit=1 ' "$T/broker.log" \
  || fail "the ANSI name is not escaped: $(grep -a 'worker joined' "$T/broker.log" | cat -v)"
grep -qF 'msg="worker joined" worker="ok \"quoted\" level=error" credit=1 ' "$T/broker.log" \
  || fail "the quoted name is not escaped: $(grep -a 'worker joined' "$T/broker.log")"
grep -q '^run failed' "$T/broker.log" && fail "a forged line reached the log"
grep -c $'\x1b' "$T/broker.log" >/dev/null && fail "a raw ESC byte reached the log"
bad=$(grep -cv '^[0-9-]*T[0-9:.]*Z level=[a-z]* comp=broker msg="' "$T/broker.log" || true)
[ "$bad" -eq 0 ] || fail "$bad line(s) of the broker's log are not log lines"
ok "hostile worker names are escaped inside one log line each"
