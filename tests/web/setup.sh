#!/usr/bin/env bash
# setup.sh: install what the browser tests need on a Debian 12 machine:
# Chromium, Node.js and npm from Debian's packages (scripts/deps.sh browser),
# libfaketime for the history test's clock (scripts/deps.sh test), then
# playwright-core from package-lock.json (npm ci) when node_modules is
# missing or older than the lock file. It downloads no browser of its own.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

"$root/scripts/deps.sh" browser test

stamp="$here/node_modules/.package-lock.json"
if [[ ! -f "$stamp" || "$here/package-lock.json" -nt "$stamp" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi
