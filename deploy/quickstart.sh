#!/usr/bin/env bash
# The README's first command: installs the dependencies (Debian packages), builds arxdigest
# and runs the main job on the bundled sample: a private Redis, the broker, one worker per
# core and the collector, keyword-only unless an LLM key is set. Digests land in ./digests.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/deploy/install-deps.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" -j"$(nproc)" >/dev/null
exec "$root/build/arxdigest" run --config "$root/deploy/sample/arxdigest.yaml" --output "${OUTPUT:-digests}" "$@"
