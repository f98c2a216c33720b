#!/usr/bin/env bash
# Browser tests (Tests/browser): the customer widget, the agent console and the supervisor
# dashboard in headless Chromium driven by Selenium, against private systems started on free
# loopback ports (redis-server, cs-dispatcher, cs-notifier, cs-gateway; never 6379 or 6390).
#
# Needs the Debian packages chromium, chromium-driver and python3-selenium, and redis-server.
# Environment: CS_BIN_DIR (built binaries; default `swift build --show-bin-path`),
# CS_STATIC_DIR (serve the pages from this folder instead of the bundled copy),
# CS_CHROMIUM / CS_CHROMEDRIVER (browser and driver paths), CS_BROWSER_TESTS (unittest names).
# Screenshots and process logs go to test-output/browser/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export CS_BIN_DIR="${CS_BIN_DIR:-$(swift build --show-bin-path)}"
PYTHON=/usr/bin/python3   # Debian's, where python3-selenium lives (not a pyenv or venv python)
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)"

missing=()
command -v "${CS_CHROMIUM:-chromium}" >/dev/null 2>&1 || missing+=(chromium)
command -v "${CS_CHROMEDRIVER:-chromedriver}" >/dev/null 2>&1 || missing+=(chromium-driver)
"$PYTHON" -c 'import selenium' >/dev/null 2>&1 || missing+=(python3-selenium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "error: missing ${missing[*]}; install with: apt-get install -y ${missing[*]}" >&2
    exit 1
fi
for exe in cs-gateway cs-dispatcher cs-notifier cs-admin; do
    [ -x "$CS_BIN_DIR/$exe" ] || { echo "error: $CS_BIN_DIR/$exe not found; run swift build" >&2; exit 1; }
done

rm -rf test-output/browser
mkdir -p test-output/browser
echo "==> browser tests (screenshots and logs in test-output/browser)"
cd Tests/browser
# shellcheck disable=SC2086
exec "$PYTHON" -m unittest -v ${CS_BROWSER_TESTS:-test_http test_chat test_queue test_embed test_attachments}
