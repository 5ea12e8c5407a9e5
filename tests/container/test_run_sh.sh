#!/usr/bin/env bash
# test_run_sh.sh: README's run command as a new user on Debian 12 meets it.
# A pristine debian:bookworm-slim container gets a copy of the repository's
# sources (no build directories, node_modules, data or git metadata: nothing
# this machine built or installed) and runs ONLY `scripts/run.sh`, which must
# install what it needs, build, and start the gateway. The container shares
# the host's network, so apt-get reaches Debian's mirrors and the gateway's
# 127.0.0.1 is the host's; it listens on free ports given to run.sh. From the
# host this checks that the gateway answers HTTP (the page, health, a
# WebSocket) and greets a WINTALK client with exactly `WINTALK .NET` and
# `R0:R0:R0:R0:`, then stops the container. The container is stopped on every
# exit of this script, and stops by itself after WT_RUN_DEADLINE seconds even
# if this script is killed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

export CONTAINERS_CONF="$root/docker/containers.conf"
image=docker.io/library/debian:bookworm-slim
name="wtrun$$"
# Seconds run.sh may take to install, build and answer: apt-get downloads
# the build group's packages on every run.
deadline=${WT_RUN_DEADLINE:-1200}

fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d)
log="$work/run.log"
pid=""
cleanup() {
  podman rm -f -t 5 "$name" >/dev/null 2>&1 || true
  if [[ -n "$pid" ]]; then wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

read -r http_port tcp_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')

"$root/scripts/container-base.sh"

# What a fresh clone holds: the sources, without what this machine made.
mkdir "$work/src"
tar -C "$root" --exclude=.git --exclude=node_modules --exclude=__pycache__ \
  --anchored --exclude='./build*' --exclude=./data --exclude=./tests/web/artifacts \
  -cf - . | tar -C "$work/src" -xf -
leaked=$(cd "$work/src" && find . -maxdepth 3 \( -name 'build*' -type d -o -name node_modules \
  -o -name CMakeCache.txt -o -name data \) -print)
[[ -z "$leaked" ]] || fail "the copy holds build output: $leaked"

echo "== scripts/run.sh --http-port $http_port --tcp-port $tcp_port in a pristine $image"
t0=$(date +%s)
# The container's first process is `timeout`, which bounds it and passes
# podman's SIGTERM on to run.sh's gateway.
podman run --rm --name "$name" --network=host -v "$work/src:/src:ro" "$image" \
  bash -c "cp -a /src /w && cd /w && exec timeout -k 10 $((deadline + 60)) \
    scripts/run.sh --http-port $http_port --tcp-port $tcp_port" >"$log" 2>&1 &
pid=$!

ready() {
  python3 - "$root/tests/lib" "$http_port" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import wtlib
try:
    status, _, _ = wtlib.http_get(int(sys.argv[2]), "/readyz", timeout=2)
except OSError:
    sys.exit(1)
sys.exit(0 if status == 200 else 1)
EOF
}

until ready; do
  if ! kill -0 "$pid" 2>/dev/null; then
    status=0
    wait "$pid" || status=$?
    pid=""
    tail -25 "$log" >&2
    fail "scripts/run.sh exited (status $status) after $(( $(date +%s) - t0 )) s without the gateway answering"
  fi
  if (( $(date +%s) - t0 > deadline )); then
    tail -25 "$log" >&2
    fail "the gateway did not answer within $deadline s"
  fi
  sleep 2
done
echo "gateway ready $(( $(date +%s) - t0 )) s after start (install, build, start)"

echo "== checks from the host"
python3 - "$root/tests/lib" "$tcp_port" <<'EOF' || { tail -25 "$log" >&2; fail "WINTALK greeting"; }
import sys
sys.path.insert(0, sys.argv[1])
import wtlib
tcp = wtlib.TcpClient(int(sys.argv[2]), timeout=10)
greeting = tcp.read_exact(24)
tcp.close()
assert greeting == b"WINTALK .NET" + b"R0:R0:R0:R0:", greeting
print("wintalk: %r" % greeting)
EOF
python3 "$root/tests/container/check_container.py" \
  --http-port "$http_port" --tcp-port "$tcp_port" || { tail -25 "$log" >&2; fail "host checks"; }

echo "== on the same machine (build group only), the tests are not quietly left out"
# Configuring the tests without CMocka must stop and say why, not drop them.
out=$(podman exec "$name" cmake -S /w -B /tmp/with-tests 2>&1) &&
  fail "configuring the tests without CMocka succeeded"
grep -q 'needs CMocka' <<<"$out" || fail "configuring the tests without CMocka: $out"
echo "configure without CMocka: stops, naming libcmocka-dev"
# A user who is not root, on a Debian without sudo, is told what to do.
out=$(podman exec --user 65534 "$name" /w/scripts/deps.sh test 2>&1) &&
  fail "deps.sh installed packages as an unprivileged user"
grep -q 'needs root' <<<"$out" || fail "deps.sh as an unprivileged user without sudo: $out"
echo "deps.sh without root or sudo: $(grep "needs root" <<<"$out")"

echo "== stopping the container"
podman stop -t 10 "$name" >/dev/null 2>&1 || true
status=0
wait "$pid" || status=$?
pid=""
echo "run.sh exited with status $status; $(( $(date +%s) - t0 )) s in all"
echo "run.sh test passed"
