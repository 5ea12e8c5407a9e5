#!/usr/bin/env bash
# container-base.sh: make sure podman has a debian:bookworm-slim image.
# Where an image registry is reachable podman pulls it as usual; where none
# is, this builds the same base from Debian's packages with debootstrap and
# imports it under the same name, so docker/Dockerfile builds unchanged.
set -euo pipefail
image=docker.io/library/debian:bookworm-slim
podman image exists "$image" && exit 0
if timeout 60 podman pull -q "$image" >/dev/null 2>&1; then
  exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "container-base.sh: building $image with debootstrap"
debootstrap --variant=minbase bookworm "$dir" >/dev/null
# Trim what Debian's slim images leave out too: documentation, manuals, locales.
rm -rf "$dir"/var/cache/apt/* "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* \
  "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/locale/*
tar -C "$dir" -c . | podman import --change 'CMD ["bash"]' - "$image" >/dev/null 2>&1
