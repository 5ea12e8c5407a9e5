#!/usr/bin/env bash
# test.sh: install what is missing, build with warnings as errors, and run
# every test with CTest: first a normal build, then the whole suite again
# under AddressSanitizer and UndefinedBehaviorSanitizer. The last lines are
# CTest's summary of the sanitizer run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

"$root/scripts/deps.sh" build test

run_suite() { # name, extra cmake args...
  local name=$1; shift
  local build="$root/build-$name"
  echo "== $name build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DWT_WERROR=ON "$@" >/dev/null
  cmake --build "$build" -j"$jobs"
  echo "== $name tests"
  (cd "$build" && ctest --output-on-failure -j"$jobs" ${WT_CTEST_ARGS:-})
}

run_suite plain
run_suite sanitize -DWT_SANITIZE=ON
