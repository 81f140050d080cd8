#!/usr/bin/env bash
# Builds the decoder fuzz target with clang (libFuzzer + ASan + UBSan) and runs it for a
# bounded time (AX_FUZZ_SECONDS, default 60) from a seed corpus of valid bodies. Any
# crash, leak or sanitizer report fails the test; the crashing input is kept and named.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
secs="${AX_FUZZ_SECONDS:-60}"
work="$(mktemp -d "${TMPDIR:-/tmp}/axfuzz-XXXXXX")"
trap 'rm -rf "$work"' EXIT
command -v clang >/dev/null || { echo "clang not installed: run deploy/install-deps.sh"; exit 1; }
flags=$(pkg-config --cflags --libs msgpack)
clang -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I "$root/common" "$root/tests/fuzz/fuzz_decode.c" "$root/common/codec.c" "$root/common/paper.c" \
  $flags -o "$work/fuzz_decode"
/usr/bin/python3 "$root/tests/fuzz/seeds.py" "$work/corpus"
cd "$work"
if ! ./fuzz_decode -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
     -artifact_prefix="$work/" corpus >fuzz.log 2>&1; then
  tail -40 fuzz.log
  for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
    [ -f "$f" ] && { mkdir -p "$root/build-fuzz-artifacts"; cp "$f" "$root/build-fuzz-artifacts/"; \
                     echo "input kept: build-fuzz-artifacts/$(basename "$f")"; }
  done
  exit 1
fi
grep -E "^Done [0-9]+ runs" fuzz.log || tail -3 fuzz.log
echo "fuzz_decode: no crash in ${secs}s"
