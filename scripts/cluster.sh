#!/usr/bin/env bash
# The production topology on one machine, without Docker (make cluster / make cluster-down):
#   redis-server 127.0.0.1:6391 (AOF everysec, ACL users), HAProxy on 127.0.0.1:8088 (health checks
#   on /readyz, WebSocket, no stickiness) in front of 2 gateways (8091, 8092), 2 dispatchers,
#   1 notifier, 1 cs-webhooks, each process connected as its own Redis ACL user; a demo agent `demo` / `demo`.
#
#   scripts/cluster.sh up | down | status | smoke
#
# Everything lives in run/cluster/: secrets.env (generated once: Redis passwords, JWT secret,
# admin key; kept so data and tokens stay valid), users.acl and haproxy.cfg (rendered from
# deploy/redis/users.acl.template and deploy/haproxy/local.cfg.template), redis/ (data), logs/,
# pids/. Environment: CS_BIN_DIR (default `swift build --show-bin-path`), CS_CLUSTER_REDIS_PORT
# (6391), CS_CLUSTER_HTTP_PORT (8088), CS_CLUSTER_GATEWAY_PORTS ("8091 8092"), CS_LOG_LEVEL (info).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="$ROOT/run/cluster"
LOGS="$RUN/logs"
PIDS="$RUN/pids"
REDIS_PORT="${CS_CLUSTER_REDIS_PORT:-6391}"
HTTP_PORT="${CS_CLUSTER_HTTP_PORT:-8088}"
read -r -a GW_PORTS <<<"${CS_CLUSTER_GATEWAY_PORTS:-8091 8092}"
LOG_LEVEL="${CS_LOG_LEVEL:-info}"
LB="http://127.0.0.1:$HTTP_PORT"
# Stop order: gateways first (clients get 1001), Redis last.
STOP_ORDER=(gw-1 gw-2 gw-3 gw-4 haproxy w-1 n-1 d-1 d-2 redis)

die() { echo "cluster: $*" >&2; exit 1; }
pid_of() { [ -s "$PIDS/$1.pid" ] && cat "$PIDS/$1.pid"; }
alive() { local pid; pid="$(pid_of "$1")" && kill -0 "$pid" 2>/dev/null; }
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Redis URLs and secrets go in the environment of each process, not on its command line (ps).
url() { echo "CS_REDIS_URL=redis://$1:$2@127.0.0.1:$REDIS_PORT"; }

wait_for() { # description, seconds, command...
    local what="$1" deadline=$((SECONDS + $2))
    shift 2
    local file name
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "$what did not come up within the time allowed; see ${LOGS#"$ROOT"/}/"
        for file in "$PIDS"/*.pid; do
            name="$(basename "$file" .pid)"
            alive "$name" || die "$name exited; see run/cluster/logs/$name.log"
        done
        sleep 0.2
    done
}

start() { # name, command... (own session, detached; pid recorded)
    local name="$1"
    shift
    # setsid does not fork here (we are not a group leader), so $! is the process itself.
    setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
    echo $! >"$PIDS/$name.pid"
    echo "started $name (pid $!), log: run/cluster/logs/$name.log"
}

redis_ready() { redis-cli -p "$REDIS_PORT" ping 2>&1 | grep -Eq 'PONG|NOAUTH'; }

up() {
    for name in "${STOP_ORDER[@]}"; do
        ! alive "$name" || die "already running ($name); 'scripts/cluster.sh down' first"
    done
    local bin="${CS_BIN_DIR:-$(cd "$ROOT" && swift build --show-bin-path)}"
    for exe in cs-gateway cs-dispatcher cs-notifier cs-webhooks cs-admin; do
        [ -x "$bin/$exe" ] || die "$bin/$exe not found; run 'swift build' (or set CS_BIN_DIR)"
    done
    for tool in redis-server redis-cli haproxy curl setsid sha256sum; do
        command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install redis-server haproxy curl)"
    done
    for port in "$REDIS_PORT" "$HTTP_PORT" "${GW_PORTS[@]}"; do
        ! port_in_use "$port" || die "127.0.0.1:$port is in use; stop its owner or set CS_CLUSTER_*_PORT"
    done
    mkdir -p "$RUN/redis" "$LOGS" "$PIDS"
    # A failed start stops whatever it started.
    # shellcheck disable=SC2154
    trap 'rc=$?; if [ "$rc" -ne 0 ]; then echo "cluster: start failed; stopping what was started" >&2; down; fi' EXIT

    if [ ! -s "$RUN/secrets.env" ]; then
        secret() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
        (umask 077 && {
            for role in GATEWAY DISPATCHER NOTIFIER WEBHOOKS ADMIN; do echo "CS_REDIS_PASSWORD_$role=$(secret)"; done
            echo "CS_JWT_SECRET=$(secret)"
            echo "CS_ADMIN_KEY=$(secret)"
        } >"$RUN/secrets.env")
        echo "generated run/cluster/secrets.env (Redis passwords, JWT secret, admin key)"
    fi
    # Shell variables only: each process gets just its own secrets (below).
    # shellcheck disable=SC1091
    . "$RUN/secrets.env"
    # A secrets file from before cs-webhooks existed gets its password now.
    if ! grep -q '^CS_REDIS_PASSWORD_WEBHOOKS=' "$RUN/secrets.env"; then
        (umask 077 && echo "CS_REDIS_PASSWORD_WEBHOOKS=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >>"$RUN/secrets.env")
        . "$RUN/secrets.env"
    fi
    (umask 077 && env -u CS_REDIS_PASSWORD_GATEWAY -u CS_REDIS_PASSWORD_DISPATCHER -u CS_REDIS_PASSWORD_NOTIFIER \
        -u CS_REDIS_PASSWORD_WEBHOOKS -u CS_REDIS_PASSWORD_ADMIN "$ROOT/deploy/redis/render-acl.sh" "$RUN/secrets.env" >"$RUN/users.acl")

    start redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$RUN/redis" \
        --aclfile "$RUN/users.acl" --appendonly yes --appendfsync everysec --save "" \
        --daemonize no --logfile "$LOGS/redis.log"
    wait_for "redis-server on port $REDIS_PORT" 20 redis_ready
    # The deploy step: the roles may only call their Redis functions; the admin loads them.
    env "$(url admin "$CS_REDIS_PASSWORD_ADMIN")" "$bin/cs-admin" functions load >/dev/null \
        || die "cs-admin functions load failed"

    local common=(--partitions "${CS_PARTITIONS:-8}" --log-level "$LOG_LEVEL")
    local d n=0
    for d in d-1 d-2; do
        n=$((n + 1))
        start "$d" env "$(url dispatcher "$CS_REDIS_PASSWORD_DISPATCHER")" "$bin/cs-dispatcher" \
            --dispatcher-id "$d" --metrics-port "$((9190 + n))" "${common[@]}"
    done
    start n-1 env "$(url notifier "$CS_REDIS_PASSWORD_NOTIFIER")" "$bin/cs-notifier" \
        --notifier-id n-1 --metrics-port 9193 --log-level "$LOG_LEVEL"
    start w-1 env "$(url webhooks "$CS_REDIS_PASSWORD_WEBHOOKS")" "$bin/cs-webhooks" \
        --webhooks-id w-1 --metrics-port 9194 --log-level "$LOG_LEVEL"
    local i servers=""
    for i in "${!GW_PORTS[@]}"; do
        local id="gw-$((i + 1))" port="${GW_PORTS[$i]}"
        start "$id" env "$(url gateway "$CS_REDIS_PASSWORD_GATEWAY")" CS_JWT_SECRET="$CS_JWT_SECRET" \
            CS_ADMIN_KEY="$CS_ADMIN_KEY" "$bin/cs-gateway" --host 127.0.0.1 --port "$port" --gateway-id "$id" \
            --metrics-port "$((9180 + i + 1))" --attachments-dir "$RUN/attachments" "${common[@]}"
        servers+="    server $id 127.0.0.1:$port check"$'\n'
    done
    for i in "${!GW_PORTS[@]}"; do
        wait_for "gateway gw-$((i + 1))" 60 curl -fsS "http://127.0.0.1:${GW_PORTS[$i]}/readyz"
    done

    SERVERS="$servers" awk -v bind="127.0.0.1:$HTTP_PORT" -v pidfile="$RUN/haproxy.pid" '
        $0 == "@SERVERS@" { printf "%s", ENVIRON["SERVERS"]; next }
        !/^#/ { gsub(/@BIND@/, bind); gsub(/@PIDFILE@/, pidfile) } { print }
    ' "$ROOT/deploy/haproxy/local.cfg.template" >"$RUN/haproxy.cfg"
    haproxy -c -q -f "$RUN/haproxy.cfg" || die "run/cluster/haproxy.cfg is invalid (haproxy -c)"
    # HAProxy drops O_APPEND from its standard output: give it a fresh file (keep the last one).
    [ ! -e "$LOGS/haproxy.log" ] || mv -f "$LOGS/haproxy.log" "$LOGS/haproxy.log.1"
    start haproxy haproxy -db -f "$RUN/haproxy.cfg"
    wait_for "HAProxy on $LB" 20 curl -fsS "$LB/readyz"

    env "$(url admin "$CS_REDIS_PASSWORD_ADMIN")" "$bin/cs-admin" agent add --if-missing \
        --id demo --name "Demo Agent" --password demo --skills default --max 5 >/dev/null
    cat <<EOF

================================================================================
 Cluster is running (stop it with: make cluster-down, or scripts/cluster.sh down)
   Clients, browsers   $LB   (HAProxy; WebSocket at ws://127.0.0.1:$HTTP_PORT/v1/ws)
   Gateways            $(for p in "${GW_PORTS[@]}"; do printf 'http://127.0.0.1:%s ' "$p"; done)
   Redis               127.0.0.1:$REDIS_PORT, ACL users gateway, dispatcher, notifier, webhooks, admin
                       (passwords in run/cluster/secrets.env); e.g.
     redis-cli -p $REDIS_PORT --user admin --pass "\$(sed -n 's/^CS_REDIS_PASSWORD_ADMIN=//p' run/cluster/secrets.env)" ZRANGE 'cs:{ops}:dispatchers' 0 -1
   Metrics             gateways :9181-:918${#GW_PORTS[@]}, dispatchers :9191, :9192, notifier :9193, webhooks :9194 (/metrics, /readyz)
   Status              CS_REDIS_URL=redis://admin:<password>@127.0.0.1:$REDIS_PORT cs-admin status
   Demo agent          demo / demo
   Logs                run/cluster/logs/
 Customer: curl -s -X POST $LB/v1/visitor/session -H 'Content-Type: application/json' -d '{"name":"Ann"}'
 Agent:    curl -s -X POST $LB/v1/agent/login -H 'Content-Type: application/json' -d '{"agentId":"demo","password":"demo"}'
 Then open ws://127.0.0.1:$HTTP_PORT/v1/ws?token=<token> (docs/protocol.md), or run a
 scripted chat through the balancer: scripts/cluster.sh smoke
================================================================================
EOF
}

down() {
    local name pid stopped=0
    for name in "${STOP_ORDER[@]}"; do
        pid="$(pid_of "$name")" || continue
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            if kill -0 "$pid" 2>/dev/null; then
                echo "$name (pid $pid) did not stop within 15 s of SIGTERM; killing it"
                kill -KILL "$pid" 2>/dev/null || true
            fi
            echo "stopped $name"
            stopped=$((stopped + 1))
        fi
        rm -f "$PIDS/$name.pid"
    done
    [ "$stopped" -gt 0 ] || echo "cluster: nothing was running"
}

status() {
    local name state
    for name in "${STOP_ORDER[@]}"; do
        [ -e "$PIDS/$name.pid" ] || continue
        if alive "$name"; then state="running (pid $(pid_of "$name"))"; else state="NOT RUNNING"; fi
        printf '%-8s %s\n' "$name" "$state"
    done
    for i in "${!GW_PORTS[@]}"; do
        printf '%-8s readyz %s\n' "gw-$((i + 1))" "$(curl -s -m 2 "http://127.0.0.1:${GW_PORTS[$i]}/readyz" || echo unreachable)"
    done
    printf '%-8s readyz %s\n' lb "$(curl -s -m 2 "$LB/readyz" || echo unreachable)"
    # Redis ACL refusals: NOPERM, or from inside a Lua script "The user executing the script can't".
    local refusals
    refusals="$(cat "$LOGS"/gw-*.log "$LOGS"/d-*.log "$LOGS"/n-*.log 2>/dev/null | grep -c -e NOPERM -e 'user executing the script' || true)"
    echo "ACL refusals in run/cluster/logs: $refusals"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    smoke) python3 "$ROOT/deploy/smoke-chat.py" "$LB" demo demo ;;
    *) echo "usage: $0 up|down|status|smoke" >&2; exit 64 ;;
esac
