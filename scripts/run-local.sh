#!/usr/bin/env bash
# Runs a complete local system for development:
#   redis-server (AOF on) on 127.0.0.1:6390 with its data in run/redis (not the system service),
#   PostgreSQL (Debian's postgresql: initdb into run/pg) on 127.0.0.1:6391, database cs,
#   one cs-gateway on 127.0.0.1:8080, one cs-dispatcher, one cs-notifier, one cs-archiver, one cs-webhooks (it and
#   the gateway accept webhook receivers on localhost: development only),
#   a demo agent `demo` / password `demo` and a demo supervisor `supervisor` / password `demo`.
# Logs go to run/logs/ and are tailed here; Ctrl-C stops everything.
#
# Environment: CS_BIN_DIR (default: `swift build --show-bin-path`), CS_LOCAL_REDIS_PORT (6390),
# CS_LOCAL_PG_PORT (6391), CS_LOCAL_HTTP_PORT (8080), CS_LOG_LEVEL (info).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BIN_DIR="${CS_BIN_DIR:-$(swift build --show-bin-path)}"
REDIS_PORT="${CS_LOCAL_REDIS_PORT:-6390}"
HTTP_PORT="${CS_LOCAL_HTTP_PORT:-8080}"
PG_PORT="${CS_LOCAL_PG_PORT:-6391}"
LOG_LEVEL="${CS_LOG_LEVEL:-info}"
RUN_DIR="$ROOT/run"
LOG_DIR="$RUN_DIR/logs"
REDIS_URL="redis://127.0.0.1:${REDIS_PORT}"
BASE_URL="http://127.0.0.1:${HTTP_PORT}"
DATABASE_URL="postgres://cs@127.0.0.1:${PG_PORT}/cs"

for exe in cs-gateway cs-dispatcher cs-notifier cs-webhooks cs-archiver cs-admin; do
    if [ ! -x "$BIN_DIR/$exe" ]; then
        echo "error: $BIN_DIR/$exe not found; run 'make build' (or set CS_BIN_DIR)" >&2
        exit 1
    fi
done
for tool in redis-server redis-cli curl psql; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: $tool is not installed (make deps installs redis-server; curl: apt-get install curl)" >&2
        exit 1
    fi
done

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# PostgreSQL's programs: pg_config --bindir, else the newest /usr/lib/postgresql/<version>/bin.
PG_BIN="$(pg_config --bindir 2>/dev/null || true)"
if [ ! -x "$PG_BIN/initdb" ]; then
    PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
fi
if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/postgres" ]; then
    echo "error: PostgreSQL is not installed (make deps installs postgresql)" >&2
    exit 1
fi
# initdb and postgres refuse to run as root: as root they run as the postgres user (Debian's
# package creates it), else nobody, and run/pg belongs to that user.
AS_PG=()
if [ "$(id -u)" = 0 ]; then
    PG_USER=postgres
    id -u "$PG_USER" >/dev/null 2>&1 || PG_USER=nobody
    AS_PG=(setpriv --reuid="$(id -u "$PG_USER")" --regid="$(id -g "$PG_USER")" --clear-groups --)
fi

for port in "$REDIS_PORT" "$PG_PORT" "$HTTP_PORT"; do
    if port_in_use "$port"; then
        echo "error: 127.0.0.1:$port is already in use (another run-local.sh?); stop it or set CS_LOCAL_REDIS_PORT / CS_LOCAL_HTTP_PORT" >&2
        exit 1
    fi
done

mkdir -p "$RUN_DIR/redis" "$RUN_DIR/pg" "$LOG_DIR"
if [ "$(id -u)" = 0 ]; then
    chown "$PG_USER" "$RUN_DIR/pg"
    if ! "${AS_PG[@]}" test -w "$RUN_DIR/pg"; then
        echo "error: $PG_USER cannot reach $RUN_DIR/pg (a parent folder such as /root is closed to other users);" \
            "check the repository out where other users may enter, or run make run as a normal user" >&2
        exit 1
    fi
fi
if [ ! -f "$RUN_DIR/pg/data/PG_VERSION" ]; then
    echo "initialising PostgreSQL in run/pg/data"
    (cd /tmp && "${AS_PG[@]}" "$PG_BIN/initdb" -D "$RUN_DIR/pg/data" -U cs --auth=trust -E UTF8 >"$LOG_DIR/initdb.log" 2>&1) \
        || { echo "error: initdb failed; see $LOG_DIR/initdb.log" >&2; exit 1; }
fi

# One JWT secret per checkout, kept across restarts so issued tokens stay valid.
SECRET_FILE="$RUN_DIR/jwt-secret"
if [ ! -s "$SECRET_FILE" ]; then
    (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n/+=' >"$SECRET_FILE")
fi
JWT_SECRET="$(cat "$SECRET_FILE")"

# Children run in their own session (when setsid exists) so that Ctrl-C reaches only this script,
# which then stops them in order: gateway first (clients get 1001), Redis last.
SETSID=""
if command -v setsid >/dev/null 2>&1; then SETSID="setsid"; fi

PIDS=()
NAMES=()
TAIL_PID=""
start() { # name, log file, command...
    local name="$1" log="$2"
    shift 2
    $SETSID "$@" >>"$log" 2>&1 &
    PIDS+=("$!")
    NAMES+=("$name")
    echo "started $name (pid $!), log: ${log#"$ROOT"/}"
}

STOPPING=0
cleanup() {
    [ "$STOPPING" = 1 ] && return
    STOPPING=1
    trap - INT TERM
    echo
    echo "stopping..."
    if [ -n "$TAIL_PID" ]; then kill "$TAIL_PID" 2>/dev/null || true; fi
    # Reverse start order: gateway, webhooks, archiver, notifier, dispatcher, PostgreSQL, then Redis.
    local i pid
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        pid="${PIDS[$i]}"
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 150); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            if kill -0 "$pid" 2>/dev/null; then
                echo "${NAMES[$i]} did not stop within 15 s; killing it"
                kill -KILL "$pid" 2>/dev/null || true
            fi
            wait "$pid" 2>/dev/null || true
            echo "stopped ${NAMES[$i]}"
        fi
    done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_for() { # description, seconds, command...
    local what="$1" seconds="$2"
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            echo "error: $what did not come up within ${seconds}s; see $LOG_DIR" >&2
            exit 1
        fi
        sleep 0.2
    done
}

start redis "$LOG_DIR/redis.log" redis-server \
    --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$RUN_DIR/redis" \
    --appendonly yes --appendfsync everysec --save "" --daemonize no
wait_for "redis-server on port $REDIS_PORT" 20 redis-cli -p "$REDIS_PORT" ping

# PostgreSQL: local connections only, trust authentication (a development machine).
start postgres "$LOG_DIR/postgres.log" "${AS_PG[@]}" "$PG_BIN/postgres" -D "$RUN_DIR/pg/data" -p "$PG_PORT" \
    -k "$RUN_DIR/pg" -c listen_addresses=127.0.0.1
wait_for "PostgreSQL on port $PG_PORT" 30 psql -h 127.0.0.1 -p "$PG_PORT" -U cs -d postgres -Atc "SELECT 1"
if [ "$(psql -h 127.0.0.1 -p "$PG_PORT" -U cs -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'cs'")" != 1 ]; then
    psql -h 127.0.0.1 -p "$PG_PORT" -U cs -d postgres -qc "CREATE DATABASE cs" >/dev/null
fi

export CS_REDIS_URL="$REDIS_URL" CS_LOG_LEVEL="$LOG_LEVEL"

start dispatcher "$LOG_DIR/dispatcher.log" "$BIN_DIR/cs-dispatcher" \
    --redis-url "$REDIS_URL" --dispatcher-id d-local --log-level "$LOG_LEVEL"
start notifier "$LOG_DIR/notifier.log" "$BIN_DIR/cs-notifier" \
    --redis-url "$REDIS_URL" --notifier-id n-local --log-level "$LOG_LEVEL"
start webhooks "$LOG_DIR/webhooks.log" "$BIN_DIR/cs-webhooks" \
    --redis-url "$REDIS_URL" --webhooks-id w-local --log-level "$LOG_LEVEL" --allow-private-targets
start archiver "$LOG_DIR/archiver.log" "$BIN_DIR/cs-archiver" \
    --redis-url "$REDIS_URL" --database-url "$DATABASE_URL" --archiver-id a-local --log-level "$LOG_LEVEL"
start gateway "$LOG_DIR/gateway.log" "$BIN_DIR/cs-gateway" \
    --redis-url "$REDIS_URL" --host 127.0.0.1 --port "$HTTP_PORT" --gateway-id gw-local \
    --jwt-secret "$JWT_SECRET" --log-level "$LOG_LEVEL" --attachments-dir "$RUN_DIR/attachments" --allow-private-webhook-targets
wait_for "the gateway on $BASE_URL" 60 curl -fsS "$BASE_URL/readyz"

# Demo agent, created once (the Redis data in run/redis persists across runs).
# (cs-admin reads the Redis URL from CS_REDIS_URL, exported above.)
if "$BIN_DIR/cs-admin" agent list 2>/dev/null | grep -Eq '(^|[^A-Za-z0-9_.:-])demo([^A-Za-z0-9_.:-]|$)'; then
    echo "demo agent exists"
else
    "$BIN_DIR/cs-admin" agent add \
        --id demo --name "Demo Agent" --password demo --skills default --max 5
    echo "created demo agent"
fi
# A demo supervisor for the dashboard (skill `supervision`, so no customer is routed to it).
"$BIN_DIR/cs-admin" agent add --if-missing \
    --id supervisor --name "Demo Supervisor" --password demo --role supervisor --skills supervision --max 1 >/dev/null

cat <<EOF

================================================================================
 Local customer-service system is running.
   Redis     $REDIS_URL   (AOF, data in run/redis)
   Archive   $DATABASE_URL   (PostgreSQL, data in run/pg; psql "$DATABASE_URL")
   Gateway   $BASE_URL
   Logs      run/logs/

 In a browser:
   Customer widget (demo page)   $BASE_URL/
   Agent console                 $BASE_URL/agent     (agent "demo", password "demo")
   Supervisor dashboard          $BASE_URL/admin     (supervisor "supervisor", password "demo")

 Customer: get a visitor token
   curl -s -X POST $BASE_URL/v1/visitor/session -H 'Content-Type: application/json' -d '{"name":"Ann"}'

 Agent "demo" (password "demo"): sign in
   curl -s -X POST $BASE_URL/v1/agent/login -H 'Content-Type: application/json' -d '{"agentId":"demo","password":"demo"}'

 Then open a WebSocket with the "token" from the answer, e.g. with wsdump
 (pip install websocket-client) or websocat:
   wsdump "ws://127.0.0.1:${HTTP_PORT}/v1/ws?token=<token>"
 Connect the agent first; then as the customer send
   {"type":"message","id":"c-1","body":"Hello"}
 and as the agent answer with the conversationId from conversation.assigned
   {"type":"message","id":"a-1","conversationId":"<conversationId>","body":"Hi, how can I help?"}

 Frames are described in docs/protocol.md.

 Ctrl-C stops everything.
================================================================================

EOF

tail -n 0 -F "$LOG_DIR/gateway.log" "$LOG_DIR/dispatcher.log" "$LOG_DIR/notifier.log" "$LOG_DIR/webhooks.log" "$LOG_DIR/archiver.log" "$LOG_DIR/redis.log" &
TAIL_PID=$!

# Stop when any component dies (or on Ctrl-C via the traps).
while true; do
    for i in "${!PIDS[@]}"; do
        if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
            echo "error: ${NAMES[$i]} exited; see $LOG_DIR" >&2
            exit 1
        fi
    done
    sleep 1
done
