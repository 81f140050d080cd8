#!/usr/bin/env bash
# Installs every build, test and run dependency of arxdigest from Debian packages.
# Used by the README's commands, .ci/run and deploy/Dockerfile. Safe to run again.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git ca-certificates
  libzmq3-dev            # ZeroMQ: broker/worker/collector transport
  libmsgpack-dev         # msgpack-c: jobs and results on the wire
  libhiredis-dev         # Redis client
  libcurl4-openssl-dev   # HTTP (arXiv, LLM)
  libxml2-dev            # streaming XML reader (Atom, OAI-PMH, RSS)
  libjansson-dev         # JSON (snapshot lines, LLM answers, reports)
  libyaml-dev            # config files
  libssl-dev             # libcrypto SHA-256
  libmicrohttpd-dev      # /metrics and /healthz HTTP endpoints
  libcmocka-dev          # unit tests
  redis-server redis-tools   # run-time store; tests start a private one
  python3 python3-zmq python3-msgpack python3-yaml   # test helpers: fake peers, fake servers, checks
  zstd                   # unpacking fixture archives in tests
  clang libclang-rt-14-dev   # libFuzzer for the decoder fuzz test
  chromium               # headless browser for the static-site test (tests/integration/test_site_browser.sh)
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages already installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# A package install may start redis-server as a system service; arxdigest starts its own.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true; fi
echo "install-deps: done"
