#!/usr/bin/env bash
# WebSocket conformance: the Autobahn TestSuite cases 1-10, run by kosoku (PyPI), against the
# gateway's test-only echo endpoint /v1/test/echo (cs-gateway --enable-test-echo; same
# WebSocket stack and configuration as /v1/ws: 64 KiB frame and message limit, UTF-8
# validation, no compression). See docs/reliability.md "WebSocket conformance".
#
# Starts its own redis-server and gateway on free loopback ports (never 6379 or 6390), installs
# kosoku itself, and fails unless:
#   - every case of 1.*, 2.*, 3.*, 4.*, 5.*, 6.*, 7.*, 9.1.1, 9.2.1, 9.7.*, 9.8.*, 10.* passes
#     (OK, NON-STRICT or INFORMATIONAL; Autobahn has no section 8);
#   - every case of 9.1.2-9.6.6 (messages of 256 KiB to 16 MiB: over our 64 KiB limit by design)
#     ends with a clean close 1009, as docs/protocol.md promises.
# 12.* and 13.* (permessage-deflate) are not run: compression is off.
# Reports (HTML + JSON per case) and summary.json go to test-output/autobahn/. About 30 s.
#
# Environment: CS_BIN_DIR (built binaries; default `swift build --show-bin-path`), PYTHON.
set -euo pipefail

KOSOKU_VERSION=0.1.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CS_BIN_DIR="${CS_BIN_DIR:-$(swift build --show-bin-path)}"
PYTHON="${PYTHON:-$(command -v python3)}"
OUT="$ROOT/test-output/autobahn"

command -v redis-server >/dev/null 2>&1 || { echo "error: redis-server not found (apt-get install -y redis-server)" >&2; exit 1; }
[ -x "$CS_BIN_DIR/cs-gateway" ] || { echo "error: $CS_BIN_DIR/cs-gateway not found; run swift build" >&2; exit 1; }

# kosoku, pinned. pip refuses to touch a Debian-managed Python (PEP 668) unless told to.
if ! "$PYTHON" -c "import importlib.metadata as m, sys; sys.exit(m.version('kosoku') != '$KOSOKU_VERSION')" 2>/dev/null; then
    echo "==> installing kosoku==$KOSOKU_VERSION"
    "$PYTHON" -m pip install --quiet --disable-pip-version-check "kosoku==$KOSOKU_VERSION" 2>/dev/null \
        || "$PYTHON" -m pip install --quiet --disable-pip-version-check --break-system-packages "kosoku==$KOSOKU_VERSION"
fi
KOSOKU=("$PYTHON" -c 'import sys; from kosoku._cli import main; sys.argv[0] = "kosoku"; main()')

rm -rf "$OUT"
mkdir -p "$OUT/redis"
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
REDIS_PORT="$(free_port)"
GATEWAY_PORT="$(free_port)"
while [ "$REDIS_PORT" = 6379 ] || [ "$REDIS_PORT" = 6390 ]; do REDIS_PORT="$(free_port)"; done

PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$OUT/redis" \
    --logfile "$OUT/redis.log" --daemonize no >/dev/null 2>&1 &
PIDS+=($!)
"$CS_BIN_DIR/cs-gateway" --redis-url "redis://127.0.0.1:$REDIS_PORT" --host 127.0.0.1 --port "$GATEWAY_PORT" \
    --gateway-id gw-conformance --jwt-secret "conformance-secret-$(date +%s%N)-0123456789abcdef" \
    --enable-test-echo --log-level warning 2>"$OUT/gateway.log" &
GATEWAY_PID=$!
PIDS+=($GATEWAY_PID)

ready=""
for _ in $(seq 1 300); do
    kill -0 "$GATEWAY_PID" 2>/dev/null || { echo "error: cs-gateway exited; see $OUT/gateway.log" >&2; tail -20 "$OUT/gateway.log" >&2; exit 1; }
    if "$PYTHON" -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:$GATEWAY_PORT/readyz', timeout=2).status != 200)" 2>/dev/null; then
        ready=1; break
    fi
    sleep 0.1
done
[ -n "$ready" ] || { echo "error: cs-gateway not ready within 30 s; see $OUT/gateway.log" >&2; exit 1; }

URL="ws://127.0.0.1:$GATEWAY_PORT/v1/test/echo"
MAIN_CASES=('1.*' '2.*' '3.*' '4.*' '5.*' '6.*' '7.*' 9.1.1 9.2.1 '9.7.*' '9.8.*' '10.*')
args=()
for c in "${MAIN_CASES[@]}"; do args+=(-i "$c"); done
echo "==> kosoku $KOSOKU_VERSION: Autobahn cases ${MAIN_CASES[*]} against $URL"
start=$SECONDS
# kosoku exits 1 when a case failed; the summary below decides.
"${KOSOKU[@]}" "$URL" "${args[@]}" -p 2 -o "$OUT/main" >"$OUT/kosoku-main.log" 2>&1 || true
args=()
for c in 9.1.2 9.1.3 9.1.4 9.1.5 9.1.6 9.2.2 9.2.3 9.2.4 9.2.5 9.2.6 '9.3.*' '9.4.*' '9.5.*' '9.6.*'; do args+=(-i "$c"); done
echo "==> kosoku: oversize cases 9.1.2-9.6.6 (must close with 1009)"
"${KOSOKU[@]}" "$URL" "${args[@]}" -p 2 -o "$OUT/oversize" >"$OUT/kosoku-oversize.log" 2>&1 || true
for dir in main oversize; do
    [ -f "$OUT/$dir/index.json" ] || { echo "error: kosoku wrote no report in $OUT/$dir" >&2; cat "$OUT/kosoku-$dir.log" >&2; exit 1; }
done
kill -0 "$GATEWAY_PID" 2>/dev/null || { echo "error: cs-gateway died during the run; see $OUT/gateway.log" >&2; exit 1; }

echo "==> results ($((SECONDS - start)) s; reports in test-output/autobahn/main and oversize, open index.html)"
"$PYTHON" "$ROOT/Tests/conformance/autobahn_summary.py" "$OUT/main" "$OUT/oversize" "$OUT/summary.json"
