#!/usr/bin/env bash
# run.sh: install what is missing, build everything, and start the gateway.
# Extra arguments go to wintalk-gateway (see: scripts/run.sh --help).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${WT_BUILD_DIR:-$root/build}

"$root/scripts/deps.sh" build
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"

gw="$build/gateway/wintalk-gateway"
if [[ ! -x "$gw" ]]; then
  echo "run.sh: built everything in $build (no gateway program to start yet)"
  exit 0
fi
exec "$gw" --web-root "$root/web" "$@"
