#!/usr/bin/env bash
# test_cluster.sh: several gateways behind HAProxy, as a user of
# `docker compose -f docker/compose.cluster.yaml up` gets them, run with
# podman and podman-compose (no Docker engine here). It builds the three
# images (the gateway's, Redis', HAProxy's) and brings up the compose file
# unchanged under its own project name on free 127.0.0.1 ports; checks that
# Redis runs as its own user with the append-only file on and that only
# HAProxy is published; then check_cluster.py checks, through HAProxy, the
# page, the WINTALK port, a chat between a browser and a WINTALK peer on
# different gateways, a gateway stopped (the chat goes on, the browser that
# was on it resumes on the other), the gateway started again, the network's
# DNS failing while both gateways are healthy (HAProxy keeps both), and
# HAProxy starting while a gateway is down. Always `down -v` at the end; on
# failure the containers' logs are shown.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

export CONTAINERS_CONF="$root/docker/containers.conf"
# OCI image format drops HEALTHCHECK; the docker format keeps it.
export BUILDAH_FORMAT=docker
compose_file=docker/compose.cluster.yaml
project="wtcluster$$"
# The images get this run's own tag: another tree's build of :latest on the
# same machine cannot swap the gateway under the test.
export WINTALK_IMAGE_TAG="$project"
images=(wintalk-gateway wintalk-redis wintalk-haproxy)
dockerfiles=(docker/Dockerfile docker/redis/Dockerfile docker/haproxy/Dockerfile)
services=(redis gateway1 gateway2 haproxy)

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
WINTALK_HTTP_PUBLISH=$(free_port)
WINTALK_TCP_PUBLISH=$(free_port)
export WINTALK_PUBLISH_ADDR=127.0.0.1 WINTALK_HTTP_PUBLISH WINTALK_TCP_PUBLISH

compose() { timeout 300 podman-compose -p "$project" -f "$compose_file" "$@"; }
ctr() { echo "${project}_$1_1"; }

show_logs() {
  for s in "${services[@]}"; do
    echo "---- $s (last 40 lines)" >&2
    podman logs --tail 40 "$(ctr "$s")" 2>&1 | grep -v 'systemd connection' >&2 || true
  done
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
cleanup() {
  local rc=$?
  [[ $rc -eq 0 ]] || show_logs
  compose down -v -t 2 >/dev/null 2>&1 || true
  # podman-compose's down leaves the project's network behind.
  podman network rm -f "${project}_default" >/dev/null 2>&1 || true
  # Only this run's tags go; the layers stay in the cache for the next run.
  for i in "${images[@]}"; do
    podman untag "localhost/$i:$WINTALK_IMAGE_TAG" "localhost/$i:$WINTALK_IMAGE_TAG" \
      >/dev/null 2>&1 || true
  done
  exit $rc
}
trap cleanup EXIT

"$root/scripts/container-base.sh"

# The images are built here, once, as test_container.sh builds the
# gateway's; compose up then finds them (--network=host lets apt-get in the
# builds reach Debian's mirrors).
for i in "${!images[@]}"; do
  image="localhost/${images[$i]}:$WINTALK_IMAGE_TAG"
  echo "== building $image from ${dockerfiles[$i]}"
  t0=$(date +%s)
  podman build --network=host -q -f "${dockerfiles[$i]}" -t "$image" . >/dev/null ||
    fail "building $image"
  echo "built in $(( $(date +%s) - t0 )) s"
done

echo "== compose up (project $project, http $WINTALK_HTTP_PUBLISH, tcp $WINTALK_TCP_PUBLISH)"
compose up -d >/dev/null 2>&1 || fail "compose up"
for s in "${services[@]}"; do
  [[ $(podman inspect --format '{{.State.Running}}' "$(ctr "$s")" 2>/dev/null) == true ]] ||
    fail "$s is not running"
done

echo "== waiting for health (redis, gateway1, gateway2)"
for s in redis gateway1 gateway2; do
  healthy=0
  for _ in $(seq 1 60); do
    if podman healthcheck run "$(ctr "$s")" >/dev/null 2>&1; then healthy=1; break; fi
    sleep 1
  done
  [[ $healthy -eq 1 ]] || fail "$s never became healthy"
done
echo "healthy"

echo "== redis: its own user, the append-only file, not published"
users=$(podman top "$(ctr redis)" user,comm | tail -n +2)
grep -q '^redis  *redis-server' <<<"$users" || fail "redis-server's user: $users"
aof=$(podman exec "$(ctr redis)" redis-cli config get appendonly | tail -1)
[[ "$aof" == yes ]] || fail "appendonly is '$aof'"
for s in redis gateway1 gateway2; do
  ports=$(podman port "$(ctr "$s")" || true)
  [[ -z "$ports" ]] || fail "$s is published: $ports"
done
ports=$(podman port "$(ctr haproxy)")
grep -q "127.0.0.1:$WINTALK_HTTP_PUBLISH" <<<"$ports" || fail "haproxy's ports: $ports"
grep -q "127.0.0.1:$WINTALK_TCP_PUBLISH" <<<"$ports" || fail "haproxy's ports: $ports"
echo "redis runs as redis with appendonly yes; only haproxy is published ($(tr '\n' ' ' <<<"$ports"))"

echo "== checks through HAProxy"
timeout 600 python3 "$root/tests/container/check_cluster.py" --project "$project" \
  --http-port "$WINTALK_HTTP_PUBLISH" --tcp-port "$WINTALK_TCP_PUBLISH" || fail "cluster checks"

echo "== history is in Redis' append-only file"
keys=$(podman exec "$(ctr redis)" redis-cli dbsize)
[[ "$keys" -gt 0 ]] || fail "redis holds $keys keys"
podman exec "$(ctr redis)" sh -c 'ls /var/lib/redis/appendonlydir/*.incr.aof' >/dev/null ||
  fail "no append-only file in the volume"
echo "redis holds $keys keys; append-only file in /var/lib/redis/appendonlydir"
echo "cluster test passed"
