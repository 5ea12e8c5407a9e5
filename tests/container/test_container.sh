#!/usr/bin/env bash
# test_container.sh: the container as a user of `docker compose up` gets it,
# run with podman and podman-compose (no Docker engine here). It builds the
# image from docker/Dockerfile and brings up compose.yaml, both unchanged,
# on free 127.0.0.1 ports, then checks health, the page, the WINTALK port, a
# line from WINTALK reaching a WebSocket client, the compose file's client
# service joining the hub, the user the gateway runs as, a clean exit on
# SIGTERM within 10 s, history kept across `compose down` and `up` (the
# named volume), and reports the image's size.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

export CONTAINERS_CONF="$root/docker/containers.conf"
# OCI image format drops HEALTHCHECK; the docker format keeps it.
export BUILDAH_FORMAT=docker
image=localhost/wintalk-gateway:latest
project="wtctest$$"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
export WINTALK_PUBLISH_ADDR=127.0.0.1
export WINTALK_HTTP_PUBLISH=$(free_port)
export WINTALK_TCP_PUBLISH=$(free_port)

fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() {
  podman-compose -p "$project" down -v -t 2 >/dev/null 2>&1 || true
  # podman-compose's down leaves the project's network behind.
  podman network rm -f "${project}_default" >/dev/null 2>&1 || true
}
trap cleanup EXIT

"$root/scripts/container-base.sh"

echo "== building $image from docker/Dockerfile"
t0=$(date +%s)
# --network=host lets apt-get in the build reach Debian's mirrors here.
podman build --network=host -q -f docker/Dockerfile -t "$image" . >/dev/null
echo "built in $(( $(date +%s) - t0 )) s"

echo "== compose up (project $project, http $WINTALK_HTTP_PUBLISH, tcp $WINTALK_TCP_PUBLISH)"
podman-compose -p "$project" up -d gateway >/dev/null 2>&1 || fail "compose up"
ctr=$(podman ps -q --filter "label=io.podman.compose.project=$project" | head -1)
[[ -n "$ctr" ]] || fail "no container for project $project"

echo "== waiting for health"
healthy=0
for _ in $(seq 1 60); do
  if podman healthcheck run "$ctr" >/dev/null 2>&1; then healthy=1; break; fi
  sleep 1
done
[[ $healthy -eq 1 ]] || { podman logs "$ctr" | tail -20; fail "container never became healthy"; }
status=$(podman inspect --format '{{.State.Health.Status}}' "$ctr")
[[ "$status" == healthy ]] || fail "health status is '$status'"
echo "healthy"

echo "== checks from the host"
checks=$(python3 "$root/tests/container/check_container.py" \
  --http-port "$WINTALK_HTTP_PUBLISH" --tcp-port "$WINTALK_TCP_PUBLISH") || fail "host checks"
echo "$checks"
epoch=$(sed -n 's/^epoch: //p' <<<"$checks")
[[ -n "$epoch" ]] || fail "no epoch in the welcome"

echo "== the client service joins the hub (service names resolve on the compose network)"
# The client joins, prints what it is shown (its own join among it: it is
# the second guest) and leaves when its input ends, 4 s later.
# podman-compose's run now and then fails before the container starts (it
# prints only its own version): that is said, with its errors, and the run
# tried once more; the client's own failures fail the test.
client_run() {
  sleep 4 | timeout 90 podman-compose -p "$project" run -T --rm client 2>"$tmp_err"
}
tmp_err=$(mktemp)
out=$(client_run) || true
if ! grep -q 'joined' <<<"$out"; then
  echo "client service did not start (output: $out; errors: $(tail -5 "$tmp_err")): once more"
  out=$(client_run) || fail "client service failed: $(tail -5 "$tmp_err")"
fi
rm -f "$tmp_err"
grep -q '\* guest-[2-9][0-9]* joined (tcp)' <<<"$out" || fail "client service output: $out"
echo "client service: joined the hub"

echo "== not root"
users=$(podman top "$ctr" user,comm | tail -n +2)
echo "$users"
grep -q wintalk-gateway <<<"$users" || fail "gateway process not found"
if awk '$2 == "wintalk-gateway" && $1 == "root"' <<<"$users" | grep -q .; then
  fail "the gateway runs as root"
fi
uid=$(podman exec "$ctr" id -u)
[[ "$uid" != 0 ]] || fail "container user is root"

echo "== nothing to build with in the runtime image"
tools=$(podman run --rm --entrypoint /bin/sh "$image" -c \
  'command -v cc gcc clang make cmake; dpkg-query -W -f "\${Package}\n" | grep -- "-dev$"' || true)
[[ -z "$tools" ]] || fail "runtime image holds build tools: $tools"

echo "== SIGTERM"
t0=$(date +%s.%N)
podman stop -t 10 "$ctr" >/dev/null
t1=$(date +%s.%N)
code=$(podman inspect --format '{{.State.ExitCode}}' "$ctr")
secs=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
echo "exit code $code after ${secs} s"
[[ "$code" == 0 ]] || fail "exit code $code on SIGTERM"
python3 -c "import sys; sys.exit(0 if $t1 - $t0 < 10 else 1)" || fail "took ${secs} s to stop"

echo "== history kept across compose down and up"
podman-compose -p "$project" down -t 5 >/dev/null 2>&1 || fail "compose down"
podman-compose -p "$project" up -d gateway >/dev/null 2>&1 || fail "compose up again"
ctr=$(podman ps -q --filter "label=io.podman.compose.project=$project" | head -1)
[[ -n "$ctr" ]] || fail "no container after up again"
healthy=0
for _ in $(seq 1 60); do
  if podman healthcheck run "$ctr" >/dev/null 2>&1; then healthy=1; break; fi
  sleep 1
done
[[ $healthy -eq 1 ]] || { podman logs "$ctr" | tail -20; fail "not healthy after up again"; }
python3 "$root/tests/container/check_container.py" --http-port "$WINTALK_HTTP_PUBLISH" \
  --tcp-port "$WINTALK_TCP_PUBLISH" --kept "hello from the container test" --epoch "$epoch" ||
  fail "history lost across down and up"

size=$(podman image inspect --format '{{.Size}}' "$image")
echo "image size: $(( size / 1024 / 1024 )) MiB ($size bytes)"
echo "container test passed"
