#!/usr/bin/env bash
# run.sh: install what is missing, build the programs, and start the gateway.
# Extra arguments go to wintalk-gateway (see: scripts/run.sh --help).
#
# It needs only the build group's packages: its build directory (build-run,
# or WT_BUILD_DIR) is configured without the test suite, whose CMocka,
# Python and the rest scripts/test.sh installs. Being its own directory, it
# never turns the tests off in a build a developer configured by hand.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${WT_BUILD_DIR:-$root/build-run}

"$root/scripts/deps.sh" build
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWT_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)"

gw="$build/gateway/wintalk-gateway"
if [[ ! -x "$gw" ]]; then
  echo "run.sh: built everything in $build (no gateway program to start yet)"
  exit 0
fi
# History is kept in data/ in the checkout (git ignores it) unless
# --data-dir or WINTALK_DATA_DIR says otherwise.
data=()
[[ -z "${WINTALK_DATA_DIR:-}" && " $* " != *" --data-dir"* ]] && data=(--data-dir "$root/data")
exec "$gw" --web-root "$root/web" "${data[@]}" "$@"
