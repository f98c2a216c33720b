#!/usr/bin/env bash
# Checks the deployment files (run by `make test`; exits non-zero on the first problem):
#   1. deploy/docker-compose.yml is valid with deploy/.env.example (docker-compose config -q),
#   2. deploy/redis/users.acl is the rendering of users.acl.template with deploy/.env.example,
#   3. redis-server loads it (on a free port): the expected users exist, each role's password
#      from deploy/.env.example works, and the default user is refused,
#   4. the HAProxy configs are valid (haproxy -c): deploy/haproxy/haproxy.cfg and the local
#      template rendered as scripts/cluster.sh renders it,
#   5. haproxy.cfg's per-address limit works: run with a local (absent) backend, the 61st
#      POST /v1/visitor/session in a minute from one address gets 429, other paths do not.
# Needs docker-compose (or `docker compose`), redis-server, redis-cli and haproxy.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ENV_EXAMPLE=deploy/.env.example
TMP="$(mktemp -d)"
REDIS_PID=""
HAPROXY_PID=""
cleanup() {
    if [ -n "$REDIS_PID" ]; then kill -TERM "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; fi
    if [ -n "$HAPROXY_PID" ]; then kill -TERM "$HAPROXY_PID" 2>/dev/null || true; wait "$HAPROXY_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "test-deploy: FAILED: $*" >&2; exit 1; }
ok() { echo "test-deploy: ok: $*"; }
for tool in redis-server redis-cli haproxy; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (apt-get install redis-server haproxy)"
done

# 1. Compose file.
if command -v docker-compose >/dev/null; then
    COMPOSE=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
else
    fail "docker-compose is not installed (apt-get install docker-compose)"
fi
"${COMPOSE[@]}" -f deploy/docker-compose.yml --env-file "$ENV_EXAMPLE" config -q \
    || fail "deploy/docker-compose.yml is invalid (${COMPOSE[*]} config)"
services="$("${COMPOSE[@]}" -f deploy/docker-compose.yml --env-file "$ENV_EXAMPLE" config --services | sort | tr '\n' ' ')"
for service in archiver dispatcher functions gateway lb migrate notifier postgres redis webhooks; do
    [[ " $services" == *" $service "* ]] || fail "docker-compose.yml has no service $service (has: $services)"
done
ok "deploy/docker-compose.yml (${COMPOSE[*]} config; services: $services)"

# 2. The committed ACL file is up to date.
env -u CS_REDIS_PASSWORD_GATEWAY -u CS_REDIS_PASSWORD_DISPATCHER -u CS_REDIS_PASSWORD_NOTIFIER \
    -u CS_REDIS_PASSWORD_WEBHOOKS -u CS_REDIS_PASSWORD_ARCHIVER -u CS_REDIS_PASSWORD_ADMIN deploy/redis/render-acl.sh "$ENV_EXAMPLE" >"$TMP/users.acl"
diff -u deploy/redis/users.acl "$TMP/users.acl" >&2 \
    || fail "deploy/redis/users.acl is stale: run deploy/redis/render-acl.sh deploy/.env.example > deploy/redis/users.acl"
ok "deploy/redis/users.acl matches users.acl.template and $ENV_EXAMPLE"

# 3. Redis loads it. A copy gets one extra user, only to run ACL LIST.
# Below the kernel's ephemeral range: a port in it may be the local end of some outgoing
# connection, which nothing listens on but which redis-server still cannot bind.
ephemeral_low="$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
port=""
for candidate in $(shuf -i "20000-$((ephemeral_low > 21000 ? ephemeral_low - 1 : 30999))" -n 20); do
    (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null || { port="$candidate"; break; }
done
[ -n "$port" ] || fail "no free port found"
check_password="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cp deploy/redis/users.acl "$TMP/check.acl"
echo "user cs-deploy-check on >$check_password ~* &* +@all" >>"$TMP/check.acl"
redis-server --port "$port" --bind 127.0.0.1 --dir "$TMP" --save "" --appendonly no \
    --aclfile "$TMP/check.acl" --logfile "$TMP/redis.log" >"$TMP/redis.out" 2>&1 &
REDIS_PID=$!
for _ in $(seq 1 100); do
    redis-cli -p "$port" ping 2>/dev/null | grep -q NOAUTH && break
    kill -0 "$REDIS_PID" 2>/dev/null || fail "redis-server did not start with the ACL file: $(tail -n 5 "$TMP/redis.out" "$TMP/redis.log" 2>/dev/null)"
    sleep 0.1
done
cli() { REDISCLI_AUTH="$2" redis-cli -p "$port" --user "$1" "${@:3}" 2>&1; }
users="$(cli cs-deploy-check "$check_password" ACL LIST)"
echo "$users" | cut -d' ' -f1-4
for user in default gateway dispatcher notifier webhooks archiver admin; do
    grep -q "^user $user " <<<"$users" || fail "ACL user $user is missing"
done
for role in gateway dispatcher notifier webhooks archiver admin; do
    var="CS_REDIS_PASSWORD_$(tr '[:lower:]' '[:upper:]' <<<"$role")"
    password="$(sed -n "s/^${var}=//p" "$ENV_EXAMPLE" | tail -n 1)"
    [ "$(cli "$role" "$password" PING)" = PONG ] || fail "$role cannot sign in with $var of $ENV_EXAMPLE"
    [[ "$(cli "$role" "$password" FLUSHALL)" == *NOPERM* ]] || fail "$role may run FLUSHALL"
done
[[ "$(cli default anything PING)" == *WRONGPASS* ]] || fail "the default user is not disabled"
ok "redis-server loads deploy/redis/users.acl; every role signs in; FLUSHALL is refused"

# 4. HAProxy.
haproxy -c -q -f deploy/haproxy/haproxy.cfg || fail "deploy/haproxy/haproxy.cfg is invalid (haproxy -c)"
SERVERS=$'    server gw-1 127.0.0.1:8091 check\n    server gw-2 127.0.0.1:8092 check\n' awk \
    -v bind="127.0.0.1:8088" -v pidfile="$TMP/haproxy.pid" '
    $0 == "@SERVERS@" { printf "%s", ENVIRON["SERVERS"]; next }
    !/^#/ { gsub(/@BIND@/, bind); gsub(/@PIDFILE@/, pidfile) } { print }
' deploy/haproxy/local.cfg.template >"$TMP/local.cfg"
haproxy -c -q -f "$TMP/local.cfg" || fail "deploy/haproxy/local.cfg.template renders an invalid config (haproxy -c)"
ok "deploy/haproxy/haproxy.cfg and local.cfg.template (haproxy -c)"

# 5. HAProxy per-address limits, with the gateways replaced by a closed local port (503) and
#    without the Docker resolver (the server is disabled: every request that passes gets 503).
if command -v curl >/dev/null; then
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    sed -e '/^resolvers docker/,/^$/d' -e "s|bind :8080|bind 127.0.0.1:$port|" -e 's/maxconn 100000/maxconn 2000/' \
        -e 's|server-template gw 1-32 gateway:8080 .*|server gw-1 127.0.0.1:1 disabled|' deploy/haproxy/haproxy.cfg >"$TMP/limits.cfg"
    setsid haproxy -db -f "$TMP/limits.cfg" >"$TMP/haproxy.log" 2>&1 </dev/null &
    HAPROXY_PID=$!
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
    codes=""
    for n in $(seq 61); do
        codes+="$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/v1/visitor/session" </dev/null) "
    done
    other="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" </dev/null)"
    expected=""
    for n in $(seq 60); do expected+="503 "; done
    [[ "$codes" == "${expected}429 " && "$other" == 503 ]] \
        || fail "haproxy.cfg: expected 60 sessions passed on and the 61st refused with 429, other paths passed on; got $codes / $other"
    ok "deploy/haproxy/haproxy.cfg limits sign-ins, sessions and offline messages per address (429 after 60 a minute)"
fi
echo "test-deploy: all checks passed"
