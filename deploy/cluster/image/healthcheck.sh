#!/bin/bash
# arxdigest-healthcheck [PORT...]: exit 0 when a daemon in this container answers
# GET /healthz with HTTP 200 on 127.0.0.1:PORT; 1 otherwise. No curl needed: bash's
# /dev/tcp. Without PORT, the ports of broker.metrics, worker.metrics and
# collector.metrics (from ARXDIGEST_{BROKER,WORKER,COLLECTOR}_METRICS, else 9101, 9102,
# 9103) are tried: one container runs one daemon, so whichever answers is this one's.
# A daemon whose metrics are off ("") has no /healthz: give that service no health check.
set -u
timeout_s="${AX_HEALTH_TIMEOUT:-4}"

ports=("$@")
if [ "${#ports[@]}" -eq 0 ]; then
  for pair in "BROKER 9101" "WORKER 9102" "COLLECTOR 9103"; do
    set -- $pair
    var="ARXDIGEST_${1}_METRICS"
    addr="${!var-}"
    if [ -z "${!var+x}" ]; then ports+=("$2"); elif [ -n "$addr" ]; then ports+=("${addr##*:}"); fi
  done
fi

probe() {   # probe PORT: the status line of GET /healthz
  local port="$1" line=""
  { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
  printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$port" >&3
  IFS= read -r -t "$timeout_s" line <&3 || true
  exec 3<&- 3>&-
  case "$line" in
    "HTTP/1."[01]" 200"*) return 0 ;;
  esac
  echo "arxdigest-healthcheck: 127.0.0.1:$port/healthz answered: ${line%$'\r'}" >&2
  return 1
}

if [ "${#ports[@]}" -eq 0 ]; then
  echo "arxdigest-healthcheck: metrics are off (\"\"): no /healthz to ask" >&2
  exit 1
fi
for port in "${ports[@]}"; do
  case "$port" in ''|*[!0-9]*) echo "arxdigest-healthcheck: bad port '$port'" >&2; continue ;; esac
  if probe "$port"; then exit 0; fi
done
echo "arxdigest-healthcheck: no /healthz answered 200 on port(s) ${ports[*]}" >&2
exit 1
