#!/usr/bin/env bash
# Gateway memory during 100 MB uploads (docs/benchmarks.md, "Attachments"): starts redis-server,
# a dispatcher and a gateway on free ports, opens a conversation as a visitor, then samples the
# gateway's RSS (VmRSS, every 5 ms) while it
#   (a) refuses a 100 MB upload announced by Content-Length (limit 10 MB, the default),
#   (b) cuts off a 100 MB chunked upload at the 10 MB limit,
#   (c) stores a 100 MB upload (a second gateway with --attachment-max-bytes 209715200).
#   scripts/measure-attachment-rss.sh   (needs redis-server, python3 and a debug build: swift build)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${CS_BIN_DIR:-$ROOT/.build/debug}"
TMP="$(mktemp -d)"
PIDS=()
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
REDIS_PORT=$(free_port)
cleanup() {
    status=$?
    if [ "$status" -ne 0 ]; then head -n 60 "$TMP"/gateway-*.log >&2 || true; fi
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    redis-cli -p "$REDIS_PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
redis-server --port "$REDIS_PORT" --save '' --appendonly no --daemonize yes --dir "$TMP" --logfile "$TMP/redis.log"
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" PING >/dev/null 2>&1 && break; sleep 0.1; done
SECRET="rss-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
COMMON=(--redis-url "redis://127.0.0.1:$REDIS_PORT" --partitions 2 --log-level warning)
"$BIN/cs-dispatcher" "${COMMON[@]}" --dispatcher-id d-rss >"$TMP/dispatcher.log" 2>&1 &
PIDS+=($!)

start_gateway() { # $1 = max bytes; sets GW_PID and GW_PORT (in this shell, so cleanup stops it)
    GW_PORT=$(free_port)
    "$BIN/cs-gateway" "${COMMON[@]}" --port "$GW_PORT" --gateway-id "gw-rss-$GW_PORT" --jwt-secret "$SECRET" \
        --attachments-dir "$TMP/attachments" --attachment-max-bytes "$1" >"$TMP/gateway-$GW_PORT.log" 2>&1 &
    GW_PID=$!
    PIDS+=("$GW_PID")
    for _ in $(seq 300); do curl -sf "http://127.0.0.1:$GW_PORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
}

start_gateway 10485760
PID_A=$GW_PID PORT_A=$GW_PORT
start_gateway 209715200
PID_C=$GW_PID PORT_C=$GW_PORT

python3 - "$PID_A" "$PORT_A" "$PID_C" "$PORT_C" <<'PY'
import base64, http.client, json, os, socket, sys, threading, time, urllib.request

pid_a, port_a, pid_c, port_c = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
MB = 1 << 20

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

def conversation(port):
    """A visitor session and an open (queued) conversation, over a minimal WebSocket client."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/visitor/session", data=b'{"name":"Rss"}',
                                     headers={"Content-Type": "application/json"})
    token = json.load(urllib.request.urlopen(request))["token"]
    s = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /v1/ws?token={token} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    handshake = b""
    while b"\r\n\r\n" not in handshake:  # the 101 first: frames right behind the request are refused
        chunk = s.recv(4096)
        if not chunk: sys.exit("the gateway closed the WebSocket handshake")
        handshake += chunk
    payload = json.dumps({"type": "message", "id": "rss-1", "body": "hello"}).encode()
    mask = os.urandom(4)
    s.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    data, deadline = handshake.split(b"\r\n\r\n", 1)[1], time.time() + 20
    while b'"conversationId"' not in data or (b"conversation.queued" not in data and b"conversation.assigned" not in data):
        if time.time() > deadline: sys.exit("no conversation: " + data.decode(errors="replace"))
        data += s.recv(65536)
    text = data.decode(errors="replace")
    start = text.index('"conversationId":"', text.index("conversation.")) + len('"conversationId":"')
    return token, text[start:text.index('"', start)], s

def body(total, chunk=256 * 1024):
    block = b"a" * chunk
    sent = 0
    while sent < total:
        n = min(chunk, total - sent)
        sent += n
        yield block[:n]

def measure(label, pid, port, token, conversation_id, chunked):
    peak, stop = [0], threading.Event()
    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(pid)); time.sleep(0.005)
    before = rss_kib(pid)
    sampler = threading.Thread(target=sample); sampler.start()
    started = time.time()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/plain"}
    path = f"/v1/conversations/{conversation_id}/attachments?name=big.txt"
    status = "?"
    try:
        if chunked:
            c.request("POST", path, body=body(100 * MB), headers=headers, encode_chunked=True)
        else:
            headers["Content-Length"] = str(100 * MB)
            c.request("POST", path, body=body(100 * MB), headers=headers)
        status = c.getresponse().status
    except (BrokenPipeError, ConnectionResetError) as error:
        # The gateway answered and closed while the body was still going out: read the answer.
        try: status = c.getresponse().status
        except Exception: status = f"closed ({type(error).__name__})"
    elapsed = time.time() - started
    time.sleep(0.3)
    stop.set(); sampler.join()
    after = rss_kib(pid)
    print(f"{label}: HTTP {status} in {elapsed:.2f} s; gateway RSS before {before/1024:.1f} MiB, "
          f"peak {peak[0]/1024:.1f} MiB (+{(peak[0]-before)/1024:.1f}), after {after/1024:.1f} MiB")

token_a, conv_a, ws_a = conversation(port_a)
measure("(a) 100 MB, Content-Length, limit 10 MB", pid_a, port_a, token_a, conv_a, chunked=False)
measure("(b) 100 MB, chunked, limit 10 MB      ", pid_a, port_a, token_a, conv_a, chunked=True)
token_c, conv_c, ws_c = conversation(port_c)
measure("(c) 100 MB, Content-Length, limit 200 MB", pid_c, port_c, token_c, conv_c, chunked=False)
PY
echo "stored: $(find "$TMP/attachments" -type f -not -name '*.json' -printf '%s bytes\n' 2>/dev/null | sort | uniq -c | tr '\n' ' ')"
