#!/usr/bin/env bash
# deps.sh GROUP...: install the Debian packages a group needs, if any are missing.
# Groups: build (compile everything), test (run the test suite), browser (the
# browser tests), container (the container test), seed (the seed's .NET
# program, compiled with Mono and run under Xvfb: tests/mono). Needs root or
# sudo when something is missing; does nothing when all is installed. PKG@CMD means:
# install PKG unless the command CMD is already there (a machine may have
# Node.js from elsewhere, whose nodejs conflicts with Debian's npm).
set -euo pipefail

declare -A PKGS=(
  [build]="build-essential cmake pkg-config libwebsockets-dev libcjson-dev libssl-dev libncurses-dev libutf8proc-dev libsqlite3-dev libuv1-dev libhiredis-dev libargon2-dev libjwt-dev"
  [test]="libcmocka-dev clang libclang-rt-14-dev python3 tmux openssl procps faketime sqlite3 util-linux redis-server strace"
  [browser]="chromium nodejs@node npm@npm"
  [seed]="mono-mcs libmono-system-windows-forms4.0-cil xvfb xdotool xclip x11-apps"
  [container]="podman podman-compose runc debootstrap uidmap slirp4netns golang-github-containernetworking-plugin-dnsname"
)

want=()
for group in "$@"; do
  [[ -n "${PKGS[$group]+x}" ]] || { echo "deps.sh: unknown group '$group'" >&2; exit 2; }
  for p in ${PKGS[$group]}; do
    if [[ $p == *@* ]]; then
      command -v "${p#*@}" >/dev/null 2>&1 && continue
      p=${p%@*}
    fi
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || want+=("$p")
  done
done
[[ ${#want[@]} -eq 0 ]] && exit 0

echo "deps.sh: installing ${want[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  # A Debian installed with a root password has no sudo: say what to do
  # rather than fail on a missing command.
  command -v sudo >/dev/null 2>&1 || {
    echo "deps.sh: installing packages needs root: run this as root, or install sudo" >&2
    echo "deps.sh: (as root: apt-get update && apt-get install ${want[*]})" >&2
    exit 1
  }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# Something is missing, so this is a new machine or a new group: refresh the
# package lists first, since an install on stale or absent lists fails.
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${want[@]}"
