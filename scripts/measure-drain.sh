#!/usr/bin/env bash
# Times the routing `drain` script (Sources/CSServer/RoutingScripts.swift, library + drain, taken
# from the source) on a scratch redis-server with 50 busy agents online and 10,000 waiting
# conversations: (a) each under an invented skill of its own, as before SkillPolicy, (b) all under
# `default`, what SkillPolicy makes of invented skills (docs/reliability.md, hostile input 54).
#   scripts/measure-drain.sh        (needs redis-server, redis-cli, python3)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TMP="$(mktemp -d)"
PORT=$(( 20000 + RANDOM % 10000 ))
trap 'redis-cli -p $PORT SHUTDOWN NOSAVE >/dev/null 2>&1 || true; rm -rf "$TMP"' EXIT

python3 - "$ROOT/Sources/CSServer/RoutingScripts.swift" >"$TMP/drain.lua" <<'PY'
import sys, textwrap
source = open(sys.argv[1]).read()
def literal(marker):
    start = source.index('"""', source.index(marker)) + 3
    return textwrap.dedent(source[start:source.index('"""', start)])
print(literal('static let library') + literal('public static let drain'))
PY

redis-server --port $PORT --save '' --appendonly no --daemonize yes --dir "$TMP" --logfile "$TMP/redis.log"
for _ in $(seq 50); do redis-cli -p $PORT PING >/dev/null 2>&1 && break; sleep 0.1; done
R="redis-cli -p $PORT"
KEYS='cs:{agents}:online cs:{agents}:load cs:{agents}:capacity cs:{agents}:skills cs:{agents}:lastassigned cs:{agents}:assigned cs:{agents}:queued cs:{agents}:queues cs:{agents}:status cs:{agents}:skillof cs:{agents}:assignedat cs:{agents}:transferred'

populate() { # $1 = invented | default
    $R FLUSHALL >/dev/null
    python3 - "$1" <<'PY' | $R --pipe >/dev/null
import sys, time
mode, now = sys.argv[1], int(time.time() * 1000)
def cmd(*args):
    sys.stdout.write("*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(str(a).encode()), a) for a in args))
for i in range(50):  # online, with the default skill, at capacity: every pick walks all 50
    agent = "agent%02d" % i
    cmd("ZADD", "cs:{agents}:online", now + 10**9, agent)
    cmd("HSET", "cs:{agents}:skills", agent, ",default,")
    cmd("HSET", "cs:{agents}:capacity", agent, 2)
    cmd("HSET", "cs:{agents}:load", agent, 2)
for i in range(10000):
    conversation = "v_flood%07d.abcdefgh" % i
    skill = "x%05d" % i if mode == "invented" else "default"
    cmd("RPUSH", "cs:{agents}:queue:" + skill, conversation)
    cmd("HSET", "cs:{agents}:queued", conversation, skill)
    cmd("SADD", "cs:{agents}:queues", skill)
PY
}

for mode in invented default; do
    populate "$mode"
    echo "$mode: $($R SCARD 'cs:{agents}:queues') queues, $($R HLEN 'cs:{agents}:queued') waiting, 50 busy agents online"
    $R CONFIG SET slowlog-log-slower-than 200 >/dev/null
    $R SLOWLOG RESET >/dev/null
    for _ in 1 2 3 4 5; do
        # shellcheck disable=SC2086
        $R EVAL "$(cat "$TMP/drain.lua")" 12 $KEYS 'cs:{agents}:queue:' 'cs:{agents}:of:' 'cs:{agents}:handle:' "$(date +%s%3N)" 100 >/dev/null
    done
    # Inside a script Redis logs every command too: only the EVALs matter here.
    $R --json SLOWLOG GET 128 | python3 -c '
import json, sys
runs = [e[2] / 1000 for e in json.load(sys.stdin) if str(e[3][0]).upper() == "EVAL"]
print("  drain script, ms per run:", " ".join("%.1f" % r for r in sorted(runs)) if runs else "all under 0.2")'
done
