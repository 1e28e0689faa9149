#!/usr/bin/env bash
# Runs the headless-Chromium tests of the Kabinet console.
#
#   browser/run.sh [extra node --test arguments]
#
# Environment:
#   KABINET_BIN           the kabinet binary (default: target/debug/kabinet of
#                         this repository, built with cargo if missing)
#   KABINET_DATABASE_URL  passed to the server: run the same tests on PostgreSQL
#                         (an empty database, or one these tests used before;
#                         admin's password is then KABINET_ADMIN_PASSWORD or
#                         "kabinet-browser-tests", as it is only set once)
#   ARTIFACTS_DIR         where screenshots go (default: a fresh temp directory)
#   CHROMIUM_PATH         the browser (default: /usr/bin/chromium)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian's Chromium: the only browser that can be installed here.
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  echo "browser/run.sh: installing Debian's chromium" >&2
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
fi

# playwright-core, exactly as locked; reinstalled when the lock changed.
cd "$here"
if [ ! -f node_modules/.package-lock.json ] \
  || [ package-lock.json -nt node_modules/.package-lock.json ] \
  || [ package.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

if [ -z "${KABINET_BIN:-}" ]; then
  KABINET_BIN="$repo/target/debug/kabinet"
  if [ ! -x "$KABINET_BIN" ]; then
    echo "browser/run.sh: building kabinet" >&2
    (cd "$repo" && cargo build -p kabinet)
  fi
fi
if [ ! -x "$KABINET_BIN" ]; then
  echo "browser/run.sh: no kabinet binary at $KABINET_BIN" >&2
  exit 1
fi
export KABINET_BIN

exec node --test --test-timeout=120000 "$@" tests/*.test.mjs
