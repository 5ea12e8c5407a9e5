#!/usr/bin/env bash
# setup.sh: install what the browser tests need on a Debian 12 machine:
# Chromium, Node.js and npm from Debian's packages (scripts/deps.sh browser),
# then playwright-core from package-lock.json (npm ci) when node_modules is
# missing or older than the lock file. It downloads no browser of its own.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# A machine with Node.js and npm from elsewhere (whose nodejs package
# conflicts with Debian's npm) only needs Chromium.
if command -v node >/dev/null && command -v npm >/dev/null; then
  if [[ ! -x /usr/bin/chromium ]]; then
    echo "setup.sh: installing chromium"
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q
    $sudo apt-get install -y -q --no-install-recommends chromium
  fi
else
  "$root/scripts/deps.sh" browser
fi

stamp="$here/node_modules/.package-lock.json"
if [[ ! -f "$stamp" || "$here/package-lock.json" -nt "$stamp" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi
