#!/usr/bin/env bash
# test.sh: install what is missing, build with warnings as errors, and run
# every test with CTest: first a plain build, then the whole suite again
# under AddressSanitizer and UndefinedBehaviorSanitizer (the container test,
# which builds its own image, runs in the plain pass only). The last lines
# are CTest's summary of the sanitizer pass.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

"$root/scripts/deps.sh" build test
# The seed program's test (tests/mono) needs Mono, Xvfb, xdotool and xclip.
"$root/scripts/deps.sh" seed
# The browser tests need Chromium and their npm packages.
if [[ -x "$root/tests/web/setup.sh" ]]; then
  "$root/tests/web/setup.sh"
fi
# The container test needs podman and a base image.
if [[ -d "$root/tests/container" ]]; then
  "$root/scripts/deps.sh" container
  CONTAINERS_CONF="$root/docker/containers.conf" "$root/scripts/container-base.sh"
fi

run_suite() { # name, ctest args (one string), cmake args...
  local name=$1 ctest_args=$2
  shift 2
  local build="$root/build-$name"
  echo "== $name build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DWT_WERROR=ON \
    -DWT_BUILD_TESTS=ON "$@" >/dev/null
  cmake --build "$build" -j"$jobs"
  echo "== $name tests"
  # shellcheck disable=SC2086
  (cd "$build" && ctest --output-on-failure --no-tests=error -j"$jobs" $ctest_args)
}

run_suite plain ""
run_suite sanitize "-LE container" -DWT_SANITIZE=ON
