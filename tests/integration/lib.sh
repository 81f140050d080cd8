# lib.sh: helpers for the integration tests (sourced). Real redis-server on a free port in
# a private folder, the project's real binaries, a timeout on every wait, and cleanup of
# everything on every exit.
set -euo pipefail

: "${AX_BUILD_DIR:?run through ctest (AX_BUILD_DIR unset)}"
: "${AX_SOURCE_DIR:?run through ctest (AX_SOURCE_DIR unset)}"
BIN="$AX_BUILD_DIR"
T="$(mktemp -d "${TMPDIR:-/tmp}/axtest-XXXXXX")"
PIDS=()

cleanup() {
  local rc=$?
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ]; then
    echo "---- test failed (rc=$rc); logs in $T:" >&2
    for f in "$T"/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -n 30 "$f" >&2; }; done
  else
    rm -rf "$T"
  fi
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

# free_port: a TCP port on 127.0.0.1 that is this test's alone until it exits. Ports come
# from 20000-31999, below the kernel's ephemeral range (32768+), so no port-0 bind or
# outgoing connection is ever given one; a lock file per port (flock) keeps concurrent
# tests apart, held by a sleeper that inherits the lock and ends with this test's shell.
# (Binding port 0, closing and handing the number on raced with every other test.)
AX_PORT_LOCKS="${TMPDIR:-/tmp}/axtest-ports"
free_port() {
  mkdir -p "$AX_PORT_LOCKS"
  local port fd
  for _ in $(seq 500); do
    port=$((20000 + RANDOM % 12000))
    exec {fd}>"$AX_PORT_LOCKS/$port" || continue
    if flock -n "$fd" && /usr/bin/python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', $port))" \
         2>/dev/null; then
      tail --pid=$$ -f /dev/null </dev/null >/dev/null 2>&1 &
      echo "$port"
      return 0
    fi
    exec {fd}>&-
  done
  fail "no free port in 20000-31999"
}

# start_redis: sets REDIS_PORT and REDIS_URL.
start_redis() {
  REDIS_PORT="$(free_port)"
  mkdir -p "$T/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T/redis" --save "" --appendonly no \
    >"$T/redis.log" 2>&1 &
  PIDS+=($!)
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
  for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
  fail "redis-server did not start"
}

# start NAME CMD...: runs a binary in the background with its log in $T/NAME.log.
start() {
  local name="$1"; shift
  "$@" >"$T/$name.log" 2>&1 &
  PIDS+=($!)
}

# wait_for SECONDS DESCRIPTION CMD...: polls CMD until it succeeds.
wait_for() {
  local secs="$1" what="$2"; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || fail "timed out after ${secs}s waiting for $what"
    sleep 0.1
  done
}

# The fake OpenAI-compatible provider (tests/fake_llm/, Debian's python3).
PY=/usr/bin/python3
FL="$AX_SOURCE_DIR/tests/fake_llm"
# start_fake_llm NAME ARGS...: starts it on a free port (log $T/NAME.log); sets PORT.
start_fake_llm() {
  local name="$1"; shift
  start "$name" "$PY" "$FL/fake_llm.py" --port 0 "$@"
  wait_for 20 "$name to listen" grep -q '^LISTENING ' "$T/$name.log"
  PORT="$(awk '/^LISTENING /{print $2; exit}' "$T/$name.log")"
}
# llm_stats PORT: its /_stats JSON. jget EXPR: a Python expression over the JSON on stdin (d).
llm_stats() { curl -sS "http://127.0.0.1:$1/_stats"; }
jget() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
