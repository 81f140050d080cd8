#!/usr/bin/env bash
# A digest folder that cannot be written is found before the first job, not at render time
# after all the work (issue 11):
#  1. `arxdigest run --output` a path under a regular file: exit 2 naming the folder and
#     the cause, nothing started; the collector daemon refuses to start with it;
#  2. a disk that fills while the digests are written (a 64 KiB tmpfs): the run fails with
#     an error naming the file and "No space left on device". Needs mount (root); skipped
#     with a message where it is not permitted.
source "$(dirname "$0")/lib.sh"
SMALL="$T/small"
trap 'rc=$?; umount "$SMALL" 2>/dev/null || true; (exit $rc); cleanup' EXIT
AX="$BIN/arxdigest"
head -n 600 "$AX_SOURCE_DIR/deploy/sample/arxiv-cs-2026-06.jsonl" >"$T/snap.jsonl"
cat >"$T/config.yaml" <<YAML
collector: { group_by: run }
run: { source: "snapshot:$T/snap.jsonl" }
profiles:
  - name: broad
    keywords: [model, learning, data, language, network]
YAML

# 1. -------------------------------------------------------------------------------------
touch "$T/file.txt"
set +e
(cd "$T" && timeout 60 "$AX" run --config "$T/config.yaml" --workers 1 --output "$T/file.txt/sub" \
   --set redis.url=redis://127.0.0.1:1/0 >"$T/r1.out" 2>"$T/r1.log"); rc=$?
set -e
[ "$rc" -eq 2 ] || fail "unwritable output folder: exit $rc, expected 2: $(cat "$T/r1.log")"
grep -q "collector.output_dir: cannot create $T/file.txt/sub: Not a directory" "$T/r1.log" \
  || fail "no clear message: $(cat "$T/r1.log")"
grep -qE "redis|cluster|run " "$T/r1.log" && fail "something started before the folder was checked: $(cat "$T/r1.log")"
ok "arxdigest run with an output folder under a file: exit 2 before anything starts"

set +e
timeout 20 "$BIN/arxdigest-collector" --set redis.url=redis://127.0.0.1:1/0 --set collector.metrics= \
  --set "collector.bind=ipc://$T/results" --set "collector.output_dir=$T/file.txt/sub" >"$T/c1.log" 2>&1; rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "collector.output_dir: cannot create $T/file.txt/sub: Not a directory" "$T/c1.log" \
  || fail "the collector started with an unwritable output folder (exit $rc): $(cat "$T/c1.log")"
ok "the collector refuses to start with it"

# 2. -------------------------------------------------------------------------------------
mkdir -p "$SMALL"
if ! mount -t tmpfs -o size=64k tmpfs "$SMALL" 2>"$T/mount.err"; then
  echo "skip - a tmpfs cannot be mounted here ($(cat "$T/mount.err")): full-disk check not run"
  exit 0
fi
set +e
(cd "$T" && timeout 120 "$AX" run --config "$T/config.yaml" --workers 1 --output "$SMALL/out" \
   --set redis.url=redis://127.0.0.1:1/0 >"$T/r2.out" 2>"$T/r2.log"); rc=$?
set -e
[ "$rc" -eq 1 ] || fail "full disk: exit $rc, expected 1: $(tail -5 "$T/r2.log")"
line=$(grep "arxdigest: run .* failed: " "$T/r2.log" || true)
echo "$line" | grep -qE "cannot (write|create) $SMALL/out/[^ ]+: No space left on device" \
  || fail "the run's error does not name the file and the cause: $(tail -5 "$T/r2.log")"
ok "full disk while rendering: ${line#*failed: }"
