#!/usr/bin/env bash
# SPEC section 7, "Redis password/ACL supported": the bundled sample run against a
# redis-server that wants a password (requirepass) and, again, as an ACL user with its
# own password; a wrong password fails clearly. The passwords never show in the logs,
# the command's output, `arxdigest status`, the digests or what Redis stores.
source "$(dirname "$0")/lib.sh"

PASS="pw-Requirepass-7f3a9c"
APASS="pw-AclUser-51d0e2"
PORT=$(free_port)
mkdir -p "$T/redis"
cat >"$T/redis.conf" <<CONF
port $PORT
bind 127.0.0.1
dir $T/redis
save ""
appendonly no
rdbcompression no
requirepass $PASS
user digest on >$APASS ~ax:* &* +@all -@dangerous +info +select +ping +auth +flushdb
CONF
redis-server "$T/redis.conf" >"$T/redis.log" 2>&1 &
PIDS+=($!)
wait_for 10 "redis-server" redis-cli -p "$PORT" -a "$PASS" --no-auth-warning ping

SAMPLE="$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl"
CFG="$T/config.yaml"
python3 - "$AX_SOURCE_DIR/tests/integration/pipeline.json" "$SAMPLE" "$CFG" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["run"] = {"source": "snapshot:" + sys.argv[2]}
json.dump(cfg, open(sys.argv[3], "w"), ensure_ascii=False, indent=1)
PY
export ARXDIGEST_BROKER_METRICS= ARXDIGEST_WORKER_METRICS= ARXDIGEST_COLLECTOR_METRICS=

# A wrong password: a clear error, no private Redis started behind our back, no echo.
ARXDIGEST_REDIS_URL="redis://:wrong-$PASS@127.0.0.1:$PORT/0" "$BIN/arxdigest" status \
  >"$T/wrong.out" 2>"$T/wrong.log" && fail "status with a wrong password succeeded"
grep -qi 'auth' "$T/wrong.log" || fail "wrong password: no authentication error ($(cat "$T/wrong.log"))"
ok "a wrong password is refused with: $(head -1 "$T/wrong.log")"

run_as() {   # run_as TAG URL: arxdigest run against URL (given in the environment)
  ARXDIGEST_REDIS_URL="$2" "$BIN/arxdigest" run --config "$CFG" --workers 2 --output "$T/out-$1" \
    >"$T/run-$1.out" 2>"$T/run-$1.log" &
  local pid=$! seen=0
  # While it runs, no process's command line may show the password (any user can read them).
  while kill -0 "$pid" 2>/dev/null; do
    local procs
    procs=$(grep -la "arxdigest-" /proc/[0-9]*/cmdline 2>/dev/null || true)
    if [ -n "$procs" ]; then
      seen=1
      # shellcheck disable=SC2086
      ! grep -laF -e "$PASS" -e "$APASS" $procs 2>/dev/null || fail "$1: a password on a command line"
    fi
    sleep 0.05
  done
  wait "$pid" || fail "$1: arxdigest run failed: $(tail -5 "$T/run-$1.log")"
  [ "$seen" = 1 ] || echo "note: $1: the run ended before its daemons could be inspected"
  grep -q 'starting a private redis-server' "$T/run-$1.log" && fail "$1: the authenticated Redis was not used"
  ARXDIGEST_REDIS_URL="$2" "$BIN/arxdigest" status >"$T/status-$1.out" 2>&1 || fail "$1: status failed"
  [ -n "$(find "$T/out-$1" -name digest.md)" ] || fail "$1: no digest"
}
run_as requirepass "redis://:$PASS@127.0.0.1:$PORT/0"
ok "a run with redis.url=redis://:***@host:port/0 (requirepass)"
run_as acl "redis://digest:$APASS@127.0.0.1:$PORT/0"
ok "a run with redis.url=redis://digest:***@host:port/0 (ACL user)"
grep -q 'digest:\*\*\*@' "$T/run-acl.log" || fail "the ACL run does not name its Redis (redacted)"
digests() { find "$1" -name digest.md | sort | xargs grep -hv '生成时间\|Generated at'; }
cmp -s <(digests "$T/out-requirepass") <(digests "$T/out-acl") || fail "the two runs' digests differ"
ok "both runs wrote the same digests"

redis-cli -p "$PORT" -a "$PASS" --no-auth-warning save >/dev/null
for pw in "$PASS" "$APASS"; do
  if grep -rlF -- "$pw" "$T"/*.log "$T"/*.out "$T"/out-* "$T/redis/dump.rdb"; then
    fail "a Redis password appears in the files above"
  fi
done
ok "no password in logs, outputs, status, digests or the Redis data (dump.rdb)"
