#!/usr/bin/env bash
# Builds the fuzz targets with clang (libFuzzer + ASan + UBSan) and runs each for a bounded
# time (AX_FUZZ_SECONDS, default 60) from a seed corpus of valid inputs:
#   fuzz_decode: the msgpack decoders (seeds: tests/fuzz/seeds.py);
#   fuzz_feed:   the Atom / OAI-PMH / RSS parsers (seeds: the arXiv XML fixtures).
# Any crash, leak or sanitizer report fails the test; the crashing input is kept and named.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
secs="${AX_FUZZ_SECONDS:-60}"
work="$(mktemp -d "${TMPDIR:-/tmp}/axfuzz-XXXXXX")"
trap 'rm -rf "$work"' EXIT
command -v clang >/dev/null || { echo "clang not installed: run deploy/install-deps.sh"; exit 1; }
cflags=(-g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I "$root/common")

# run_target NAME CORPUS MAX_LEN: runs $work/NAME on CORPUS, keeps any crashing input.
run_target() {
  local name="$1" corpus="$2" max_len="$3"
  cd "$work"
  if ! "./$name" -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$work/$name-" "$corpus" >"$name.log" 2>&1; then
    tail -40 "$name.log"
    for f in "$work/$name"-crash-* "$work/$name"-leak-* "$work/$name"-timeout-* "$work/$name"-oom-*; do
      [ -f "$f" ] && { mkdir -p "$root/build-fuzz-artifacts"; cp "$f" "$root/build-fuzz-artifacts/"; \
                       echo "input kept: build-fuzz-artifacts/$(basename "$f")"; }
    done
    exit 1
  fi
  grep -E "^Done [0-9]+ runs" "$name.log" || tail -3 "$name.log"
  echo "$name: no crash in ${secs}s"
}

# shellcheck disable=SC2046
clang "${cflags[@]}" "$root/tests/fuzz/fuzz_decode.c" "$root/common/codec.c" "$root/common/paper.c" \
  $(pkg-config --cflags --libs msgpack) -o "$work/fuzz_decode"
/usr/bin/python3 "$root/tests/fuzz/seeds.py" "$work/corpus"
run_target fuzz_decode "$work/corpus" 4096

# shellcheck disable=SC2046
clang "${cflags[@]}" -I "$root/broker/harvest" "$root/tests/fuzz/fuzz_feed.c" "$root"/broker/harvest/feed*.c \
  "$root/common/paper.c" "$root/common/text.c" $(pkg-config --cflags --libs libxml-2.0) -o "$work/fuzz_feed"
mkdir -p "$work/feed_corpus"
for f in "$root"/tests/data/shared/fixtures/arxiv/*.xml; do
  case "$(basename "$f")" in api_*) kind='\000' ;; oai_*) kind='\001' ;; *) kind='\002' ;; esac
  { printf "$kind"; cat "$f"; } >"$work/feed_corpus/$(basename "$f")"
done
run_target fuzz_feed "$work/feed_corpus" 32768
