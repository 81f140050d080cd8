#!/usr/bin/env bash
# Issue 7, "no one in where they don't belong", on a real (if virtual) network: network
# namespaces stand in for hosts. "hub" holds redis-server, the broker and the collector
# (10.77.0.1 on a bridge); w1..w3 hold one worker each (10.77.0.11-13), joined to the hub
# by veth pairs; w4 (10.77.0.14) holds a worker whose key is not allowed. CURVE is on,
# with keys from `arxdigest keygen`. On the bundled sample, with slowed-down workers:
#   - the traffic on the bridge carries no paper text (it is encrypted);
#   - w2's link is cut mid-run: the broker loses its heartbeats and re-queues its jobs;
#     the link comes back and w2 joins again;
#   - w4 is refused: the broker logs "client refused" with w4's key, once, and w4 gets
#     no job; w4 logs that it cannot connect;
#   - the digests equal those of a single-host run of the same input.
# Needs root and `ip netns`; fails (does not skip) without them.
source "$(dirname "$0")/lib.sh"

command -v ip >/dev/null || fail "iproute2 (ip) is not installed: this test needs ip netns"
P="ax$$"                                  # namespace prefix: parallel runs do not collide
HUB="${P}hub"
NS=("$HUB")
ns_cleanup() {
  for ns in "${NS[@]}"; do ip netns delete "$ns" 2>/dev/null || true; done
}
trap 'rc=$?; set +e; ns_cleanup; (exit $rc); cleanup' EXIT
ip netns add "$HUB" 2>"$T/netns.err" || fail "ip netns add failed (needs root and netns support): $(cat "$T/netns.err")"
hub() { ip netns exec "$HUB" "$@"; }
inw() { local w="$1"; shift; ip netns exec "$P$w" "$@"; }

# ---------------------------------------------------------------- the network
hub ip link set lo up
hub ip link add br0 type bridge
hub ip addr add 10.77.0.1/24 dev br0
hub ip link set br0 up
for i in 1 2 3 4; do
  ip netns add "${P}w$i"; NS+=("${P}w$i")
  ip link add "vh$i" netns "$HUB" type veth peer name eth0 netns "${P}w$i"
  hub ip link set "vh$i" master br0
  hub ip link set "vh$i" up
  inw "w$i" ip link set lo up
  inw "w$i" ip addr add "10.77.0.1$i/24" dev eth0
  inw "w$i" ip link set eth0 up
done
reach() {   # reach NS: a TCP connect from NS to the hub is answered (refused counts)
  ip netns exec "$1" python3 -c 'import socket, sys; s = socket.socket(); s.settimeout(1)
sys.exit(s.connect_ex(("10.77.0.1", 9)) not in (0, 111))'
}
for i in 1 2 3 4; do
  wait_for 10 "w$i to reach the hub" reach "${P}w$i"
done
ok "hub and 4 worker namespaces on 10.77.0.0/24"

# ---------------------------------------------------------------- keys and config
K="$T/keys"; mkdir -p "$K"
for name in server cli w1 w2 w3 intruder; do
  "$BIN/arxdigest" keygen --out "$K" "$name" >"$K/$name.z85" 2>>"$T/keygen.log" || fail "keygen $name"
done
[ "$(stat -c %a "$K/w1.key")" = 600 ] || fail "keygen: w1.key is not mode 0600"
grep -qxF -- "$(cat "$K/w1.z85")" "$K/w1.pub" || fail "keygen: printed key differs from w1.pub"
cat "$K/w1.pub" "$K/w2.pub" "$K/w3.pub" >"$K/allowed"
cp "$K/cli.pub" "$K/allowed_control"
ok "keys from arxdigest keygen (secret files mode 0600), allow-lists of w1..w3 and of cli (control)"

SAMPLE="$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl"
[ -f "$SAMPLE" ] || fail "missing bundled sample $SAMPLE"
CFG="$T/config.yaml"   # JSON is YAML
python3 - "$AX_SOURCE_DIR/tests/integration/pipeline.json" "$SAMPLE" "$CFG" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["run"] = {"source": "snapshot:" + sys.argv[2]}
cfg["broker"]["job_size"] = 20
json.dump(cfg, open(sys.argv[3], "w"), ensure_ascii=False, indent=1)
PY

# ---------------------------------------------------------------- single-host reference
start_redis
"$BIN/arxdigest" run --config "$CFG" --set "redis.url=$REDIS_URL" --workers 2 --output "$T/ref" \
  >"$T/ref.out" 2>"$T/ref.log" || fail "reference run failed: $(tail -5 "$T/ref.log")"
REF=$(find "$T/ref" -name report.json -printf '%h\n' | head -1)
[ -n "$REF" ] && [ -f "$REF/recsys/digest.md" ] || fail "reference run wrote no digest"
ok "single-host reference run: $(basename "$REF")"

# ---------------------------------------------------------------- the cluster
export ARXDIGEST_BROKER_METRICS= ARXDIGEST_WORKER_METRICS= ARXDIGEST_COLLECTOR_METRICS= \
  ARXDIGEST_CURVE_ENABLED=true ARXDIGEST_CURVE_SERVER_PUBLIC_KEY="$K/server.pub" \
  ARXDIGEST_REDIS_URL=redis://10.77.0.1:6379/0 \
  ARXDIGEST_BROKER_BIND=tcp://10.77.0.1:5555 ARXDIGEST_BROKER_CONTROL=tcp://10.77.0.1:5556 \
  ARXDIGEST_COLLECTOR_BIND=tcp://10.77.0.1:5557 ARXDIGEST_COLLECTOR_OUTPUT_DIR="$T/out" \
  ARXDIGEST_WORKER_BROKER=tcp://10.77.0.1:5555 ARXDIGEST_WORKER_COLLECTOR=tcp://10.77.0.1:5557 \
  ARXDIGEST_BROKER_HEARTBEAT_MS=200 ARXDIGEST_BROKER_LIVENESS=5 \
  ARXDIGEST_WORKER_HEARTBEAT_MS=200 ARXDIGEST_WORKER_LIVENESS=5 ARXDIGEST_WORKER_RESULT_TIMEOUT_MS=1000
mkdir -p "$T/redis-hub"
start redis-hub ip netns exec "$HUB" redis-server --port 6379 --bind 10.77.0.1 --dir "$T/redis-hub" \
  --save "" --appendonly no --protected-mode no
wait_for 10 "redis in the hub" hub redis-cli -h 10.77.0.1 ping
SERVER=(env ARXDIGEST_CURVE_SECRET_KEY_FILE="$K/server.key" ARXDIGEST_CURVE_ALLOWED_CLIENTS="$K/allowed"
        ARXDIGEST_CURVE_ALLOWED_CONTROL_CLIENTS="$K/allowed_control")
start collector ip netns exec "$HUB" "${SERVER[@]}" "$BIN/arxdigest-collector" --config "$CFG"
start broker ip netns exec "$HUB" "${SERVER[@]}" "$BIN/arxdigest-broker" --config "$CFG"
wait_for 10 "the broker" grep -q 'broker ready' "$T/broker.log"
wait_for 10 "the collector" grep -q 'collector ready' "$T/collector.log"

# A sniffer on the hub's bridge: any paper title of the sample in clear text is a leak.
cat >"$T/sniff.py" <<'PY'
import json, socket, sys, time
titles = [json.loads(l)["title"][:24].encode() for l in open(sys.argv[1]) if l.strip()][:3000]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("br0", 0)); s.settimeout(0.5)
end, frames, nbytes, leaks = time.time() + float(sys.argv[2]), 0, 0, set()
while time.time() < end:
    try: f = s.recv(65535)
    except socket.timeout: continue
    frames += 1; nbytes += len(f)
    leaks.update(t for t in titles if t in f)
print(json.dumps({"frames": frames, "bytes": nbytes, "leaks": [t.decode(errors="replace") for t in list(leaks)[:5]]}))
PY
hub python3 "$T/sniff.py" "$SAMPLE" 8 >"$T/sniff.json" 2>"$T/sniff.log" &
SNIFF=$!; PIDS+=($SNIFF)

for i in 1 2 3; do
  ARXDIGEST_WORKER_NAME="w$i" AX_TEST_JOB_DELAY_MS=200 ARXDIGEST_CURVE_SECRET_KEY_FILE="$K/w$i.key" \
    start "w$i" ip netns exec "${P}w$i" "$BIN/arxdigest-worker" --config "$CFG"
done
ARXDIGEST_WORKER_NAME=w4 ARXDIGEST_CURVE_SECRET_KEY_FILE="$K/intruder.key" \
  start w4 ip netns exec "${P}w4" "$BIN/arxdigest-worker" --config "$CFG"
for i in 1 2 3; do wait_for 15 "w$i to join" grep -q "worker joined.*worker=w$i " "$T/broker.log"; done
ok "w1..w3 joined the broker over CURVE"

ARXDIGEST_CURVE_SECRET_KEY_FILE="$K/cli.key" hub "$BIN/arxdigest" submit --config "$CFG" \
  >"$T/submit.out" 2>"$T/submit.log" || fail "submit failed: $(tail -5 "$T/submit.log")"
RUN=$(head -1 "$T/submit.out")
run_field() { hub redis-cli -h 10.77.0.1 HGET "ax:run:{$RUN}" "$1"; }
papers_done_over() { [ "$(run_field papers_done)" -gt "$1" ] 2>/dev/null; }
wait_for 30 "the run to be under way" papers_done_over 200

# ---------------------------------------------------------------- cut w2's link
inw w2 ip link set eth0 down
CUT_AT=$(run_field papers_done)
wait_for 20 "the broker to lose w2" grep -q 'worker gone.*worker=w2' "$T/broker.log"
ok "w2's link cut at $CUT_AT papers: broker says $(grep -m1 'worker gone.*worker=w2' "$T/broker.log" | sed 's/.*msg=//')"
sleep 1
inw w2 ip link set eth0 up
rejoined() { [ "$(grep -c 'worker joined.*worker=w2 ' "$T/broker.log")" -ge 2 ]; }
wait_for 40 "w2 to join again" rejoined
ok "w2's link restored: it joined again"

state_done() { [ "$(run_field state)" = done ]; }
wait_for 120 "the run to finish" state_done
OUT="$T/out/$RUN"
[ -f "$OUT/report.json" ] || fail "no report.json in $OUT"
wait "$SNIFF" || true

# ---------------------------------------------------------------- assertions
if grep -q 'job re-queued' "$T/broker.log"; then
  ok "w2's leased jobs were re-queued: $(grep -c 'job re-queued.*heartbeat lost' "$T/broker.log") job(s) after heartbeat loss"
else
  grep -q 'worker gone.*worker=w2' "$T/broker.log" || fail "no heartbeat loss of w2 in the broker log"
  ok "w2 held no job when its link was cut (nothing to re-queue)"
fi

INTRUDER=$(cat "$K/intruder.z85")
n=$(grep -F 'msg="client refused"' "$T/broker.log" | grep -cF "key=$INTRUDER" || true)
[ "$n" = 1 ] || fail "broker: expected one 'client refused' line with the intruder's key, got $n"
grep -q 'level=warn' <(grep -F "key=$INTRUDER" "$T/broker.log") || fail "client refused is not a warning"
grep -q 'worker joined.*worker=w4' "$T/broker.log" && fail "the intruder w4 joined the broker"
grep -q 'cannot connect: the broker refused our key' "$T/w4.log" || fail "w4 does not log that it is refused"
[ "$(grep -c 'broker silent, reconnecting' "$T/w4.log")" -ge 1 ] || fail "w4 does not keep retrying"
grep -qF "key=$INTRUDER" "$T/collector.log" || fail "the collector did not refuse the intruder"
ok "w4 (key not allowed) refused by broker and collector, logged once with its key; w4 retries and says why"

for f in "$T"/broker.log "$T"/collector.log "$T"/w?.log "$T"/submit.*; do
  for k in server cli w1 w2 w3 intruder; do
    sec=$(sed -n 's/.*secret-key = "\(.*\)"/\1/p' "$K/$k.key")
    grep -qF -- "$sec" "$f" && fail "secret key of $k appears in $f"
  done
done
ok "no secret key in any log"

python3 - "$T/sniff.json" <<'PY' || fail "paper text seen in clear on the bridge"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["bytes"] > 100000, f"sniffer saw only {s['bytes']} bytes"
assert not s["leaks"], f"titles on the wire: {s['leaks']}"
print(f"ok - {s['frames']} frames / {s['bytes']} bytes sniffed on the bridge: no paper title in clear")
PY

python3 - "$REF/report.json" "$OUT/report.json" <<'PY' || fail "report counts differ from the reference"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["harvested"] == b["harvested"], (a["harvested"], b["harvested"])
for name, p in a["profiles"].items():
    for k in ("matched", "below_threshold", "excluded", "failed", "total"):
        assert p[k] == b["profiles"][name][k], (name, k, p[k], b["profiles"][name][k])
    assert b["profiles"][name]["consistent"]
PY
n=0
while IFS= read -r f; do
  rel="${f#"$REF"/}"
  [ -f "$OUT/$rel" ] || fail "cluster run lacks $rel"
  diff <(grep -v '生成时间\|Generated' "$f") <(grep -v '生成时间\|Generated' "$OUT/$rel") >/dev/null \
    || fail "$rel differs from the single-host run"
  n=$((n + 1))
done < <(find "$REF" -name digest.md)
[ "$n" -ge 2 ] || fail "only $n digests compared"
ok "$n digest.md files and the report counts equal the single-host run's"
