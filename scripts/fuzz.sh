#!/usr/bin/env bash
# fuzz.sh [SECONDS] [TARGET...]: build the libFuzzer targets with clang and run
# each for SECONDS (default 300) on a scratch copy of its corpus. Prints the
# executions per second and the total for each; a finding stops with its
# reproducer under build-fuzz/findings/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-300}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=($(ls "$root/tests/fuzz/corpus"))

"$root/scripts/deps.sh" build test
build="$root/build-fuzz"
CC=clang cmake -S "$root" -B "$build" -DWT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
mkdir -p "$build/findings"
for t in "${targets[@]}"; do
  cmake --build "$build" --target "fuzz_$t" -j"$(nproc)" >/dev/null
  work=$(mktemp -d)
  cp "$root/tests/fuzz/corpus/$t/"* "$work/"
  log="$build/findings/$t.log"
  echo "== fuzz_$t for ${secs}s"
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$build/findings/$t-" "$work" >"$log" 2>&1 || { tail -40 "$log"; exit 1; }
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  echo "fuzz_$t: $runs executions, $rate exec/s, no finding"
  rm -rf "$work"
done
