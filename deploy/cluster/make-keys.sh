#!/usr/bin/env bash
# make-keys.sh [--out DIR] [WORKER_NAME...]: the CURVE keys of a cluster, made with
# `arxdigest keygen` (docs/cluster.md). Run it on the broker host; run it again to add a
# worker host: existing keys are kept, never overwritten, and the allow-list is rebuilt.
#
# In DIR (default deploy/cluster/keys/, which the compose files mount at /etc/arxdigest/keys):
#   server.key/.pub    the broker's and the collector's key pair (one host, one identity);
#                      server.pub is curve.server_public_key of every client
#   admin.key/.pub     the operator's key pair: `arxdigest submit` (the broker's control socket)
#   NAME.key/.pub      one pair per worker host, NAME = each WORKER_NAME (default: worker)
#   allowed_clients    curve.allowed_clients of broker and collector: the workers' public
#                      keys, one a line (admin's is not there: it cannot pose as a worker)
#   allowed_control_clients
#                      curve.allowed_control_clients of the broker: admin's public key, the
#                      only client that may SUBMIT runs (a worker host cannot)
# A worker host needs only its NAME.key and server.pub. Restart broker and collector
# (`docker compose up -d --force-recreate broker collector`) after adding a worker: they
# read the allow-lists when they start.
#
# arxdigest is found as $ARXDIGEST, else build/arxdigest of this checkout, else on PATH,
# else the image ($ARXDIGEST_IMAGE, default arxdigest:latest) is run with docker.
# The secret keys are made readable by the containers' user (uid ARXDIGEST_UID, 10001):
# chown when run as root, else an ACL (setfacl), else a warning with the command to run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$here/keys"
names=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --out) [ "$#" -ge 2 ] || { echo "make-keys: --out needs a folder" >&2; exit 2; }; out="$2"; shift 2 ;;
    -h|--help) sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "make-keys: unknown option $1" >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
[ "${#names[@]}" -gt 0 ] || names=(worker)
for n in "${names[@]}"; do
  if ! [[ "$n" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$ ]] || [ "$n" = server ] || [ "$n" = admin ]; then
    echo "make-keys: bad worker name '$n' (1-63 of [A-Za-z0-9_.-], not server or admin)" >&2
    exit 2
  fi
done
mkdir -p "$out"
chmod 0755 "$out"
out="$(cd "$out" && pwd)"
uid="${ARXDIGEST_UID:-10001}"
gid="${ARXDIGEST_GID:-10001}"
in_container=/etc/arxdigest/keys

keygen() {   # keygen NAME: NAME.key and NAME.pub in $out
  if [ -n "${ARXDIGEST:-}" ]; then
    "$ARXDIGEST" keygen --out "$out" "$1"
  elif [ -x "$root/build/arxdigest" ]; then
    "$root/build/arxdigest" keygen --out "$out" "$1"
  elif command -v arxdigest >/dev/null 2>&1; then
    arxdigest keygen --out "$out" "$1"
  elif command -v docker >/dev/null 2>&1; then
    docker run --rm --user "$(id -u):$(id -g)" -v "$out:/keys" "${ARXDIGEST_IMAGE:-arxdigest:latest}" \
      arxdigest keygen --out /keys "$1"
  else
    echo "make-keys: no arxdigest: build it (cmake), set ARXDIGEST=/path/to/arxdigest, or build the image" >&2
    exit 1
  fi
}

pubkey() {   # pubkey NAME: the Z85 key in NAME.pub (the line that is 40 Z85 characters)
  local k
  k="$(grep -xE '[[:space:]]*[][0-9A-Za-z.:+=^!/*?&<>(){}@%$#-]{40}[[:space:]]*' "$out/$1.pub" | tr -d '[:space:]' | head -c 40 || true)"
  if [ "${#k}" -ne 40 ]; then
    echo "make-keys: $out/$1.pub does not hold a 40-character Z85 public key" >&2
    exit 1
  fi
  printf '%s' "$k"
}

readable_by_containers() {   # readable_by_containers FILE
  local f="$1"
  chmod 0600 "$f"
  if [ "$(id -u)" -eq 0 ]; then
    chown "$uid:$gid" "$f"
  elif command -v setfacl >/dev/null 2>&1 && setfacl -m "u:$uid:r" "$f" 2>/dev/null; then
    :
  elif [ "$(id -u)" -ne "$uid" ]; then
    echo "make-keys: warning: the containers (uid $uid) cannot read $f:" \
         "run 'sudo chown $uid:$gid $f' (or install acl and run this again)" >&2
  fi
}

made=0
for n in server admin "${names[@]}"; do
  if [ -e "$out/$n.key" ] || [ -e "$out/$n.pub" ]; then
    [ -e "$out/$n.key" ] && [ -e "$out/$n.pub" ] || { echo "make-keys: $out/$n: .key or .pub missing; remove the other to make a new pair" >&2; exit 1; }
    continue
  fi
  if ! msg="$(keygen "$n" 2>&1 >/dev/null)"; then
    echo "$msg" >&2
    exit 1
  fi
  [ -s "$out/$n.key" ] && [ -s "$out/$n.pub" ] || { echo "make-keys: keygen did not write $out/$n.key and $n.pub" >&2; exit 1; }
  readable_by_containers "$out/$n.key"
  chmod 0644 "$out/$n.pub"
  echo "make-keys: new key $n ($(pubkey "$n"))"
  made=$((made + 1))
done

# The allow-lists (a comment line, then one key a line): the workers' .pub files, server's
# and admin's excepted; and admin's alone for the control socket.
tmp="$(mktemp "$out/.allowed_clients.XXXXXX")"
clients=0
{
  echo "# made by deploy/cluster/make-keys.sh: the workers the broker and the collector admit"
  for pub in "$out"/*.pub; do
    n="$(basename "$pub" .pub)"
    [ "$n" = server ] || [ "$n" = admin ] && continue
    printf '%s  # %s\n' "$(pubkey "$n")" "$n"
    clients=$((clients + 1))
  done
} >"$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$out/allowed_clients"
tmp="$(mktemp "$out/.allowed_control_clients.XXXXXX")"
{
  echo "# made by deploy/cluster/make-keys.sh: who may SUBMIT runs to the broker (its control socket)"
  printf '%s  # %s\n' "$(pubkey admin)" admin
} >"$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$out/allowed_control_clients"

echo "make-keys: $made new key(s) in $out; allow-lists: $clients worker(s), admin for the control socket"
echo "make-keys: next: CURVE_ENABLED=true in deploy/.env on every host; restart broker and collector;" \
     "copy each worker host its NAME.key and server.pub (docs/cluster.md)"
