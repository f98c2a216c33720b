#!/usr/bin/env bash
# Soak (make soak; docs/reliability.md "Soak"): bounded, loopback only. Starts its own
# redis-server (AOF on), one cs-gateway and one cs-dispatcher on free ports, then
#   1. connect/disconnect cycles: cs-loadgen storm rounds of SOAK_STORM_CONNECTIONS connections
#      (opened SOAK_STORM_BURST at a time, held 0.5 s, closed) until SOAK_CYCLES connections
#      have come and gone (default 100,000);
#   2. an hour of chat compressed: cs-loadgen chat, SOAK_CHAT_PAIRS conversations at a fixed
#      SOAK_CHAT_RATE messages/s for SOAK_CHAT_SECONDS (default 100 conversations, each a message
#      every 10 s for an hour = 36,000 messages, sent at 200/s: 180 s).
# It samples the gateway's and the dispatcher's RSS (VmRSS, /proc/<pid>/status) and open file
# descriptors (/proc/<pid>/fd) before, every 2 s during, and after, and fails unless
#   - every storm round opened all its connections (failed 0) and the chat lost nothing
#     (errors 0, undelivered 0, disconnects 0);
#   - open descriptors return to baseline + SOAK_FD_SLACK (default 8) after each phase;
#   - RSS shows no steady growth: after the last storm round it exceeds the RSS after the first
#     round by at most SOAK_RSS_GROWTH_MB (default 32 MiB), and after each phase it is at most
#     the larger of the baseline and the first round's RSS + SOAK_RSS_SLACK_MB (default 64 MiB).
#     The first round is the reference, not the idle baseline: memory freed when 5,000
#     connections close stays with the allocator (glibc arenas) and is reused by the next round;
#   - both processes still run, and their logs have no `error` or `critical` line.
# Writes test-output/soak/summary.json, summary.txt, samples.csv, the loadgen JSON and the logs.
#
# Environment: CS_BIN_DIR (default `swift build --show-bin-path`; a release build is faster),
# SOAK_CYCLES, SOAK_STORM_CONNECTIONS, SOAK_STORM_BURST, SOAK_CHAT_PAIRS, SOAK_CHAT_RATE,
# SOAK_CHAT_SECONDS, SOAK_FD_SLACK, SOAK_RSS_SLACK_MB, SOAK_RSS_GROWTH_MB.
# Defaults take about 9 minutes with a debug build on 2 cores.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CS_BIN_DIR="${CS_BIN_DIR:-$(swift build --show-bin-path)}"
CYCLES="${SOAK_CYCLES:-100000}"
STORM_CONNECTIONS="${SOAK_STORM_CONNECTIONS:-5000}"
STORM_BURST="${SOAK_STORM_BURST:-1000}"
CHAT_PAIRS="${SOAK_CHAT_PAIRS:-100}"
CHAT_RATE="${SOAK_CHAT_RATE:-200}"
CHAT_SECONDS="${SOAK_CHAT_SECONDS:-180}"
FD_SLACK="${SOAK_FD_SLACK:-8}"
RSS_SLACK_MB="${SOAK_RSS_SLACK_MB:-64}"
RSS_GROWTH_MB="${SOAK_RSS_GROWTH_MB:-32}"
OUT="$ROOT/test-output/soak"
ROUNDS=$(( (CYCLES + STORM_CONNECTIONS - 1) / STORM_CONNECTIONS ))

command -v redis-server >/dev/null 2>&1 || { echo "error: redis-server not found (apt-get install -y redis-server)" >&2; exit 1; }
for exe in cs-gateway cs-dispatcher cs-loadgen; do
    [ -x "$CS_BIN_DIR/$exe" ] || { echo "error: $CS_BIN_DIR/$exe not found; run swift build" >&2; exit 1; }
done
# A storm round holds thousands of sockets in one process.
ulimit -n "$(ulimit -Hn)"

rm -rf "$OUT"
mkdir -p "$OUT/redis"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
REDIS_PORT="$(free_port)"
while [ "$REDIS_PORT" = 6379 ] || [ "$REDIS_PORT" = 6390 ]; do REDIS_PORT="$(free_port)"; done
GATEWAY_PORT="$(free_port)"
SECRET="soak-secret-$(date +%s%N)-0123456789abcdef"
REDIS_URL="redis://127.0.0.1:$REDIS_PORT"

PIDS=()
SAMPLER=""
cleanup() {
    [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null || true
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
    --dir "$OUT/redis" --logfile "$OUT/redis.log" --daemonize no >/dev/null 2>&1 &
PIDS+=($!)
"$CS_BIN_DIR/cs-dispatcher" --redis-url "$REDIS_URL" --dispatcher-id d-soak 2>"$OUT/dispatcher.log" &
DISPATCHER_PID=$!
PIDS+=($DISPATCHER_PID)
"$CS_BIN_DIR/cs-gateway" --redis-url "$REDIS_URL" --host 127.0.0.1 --port "$GATEWAY_PORT" --gateway-id gw-soak \
    --jwt-secret "$SECRET" --rate-limit-frames-per-second 0 2>"$OUT/gateway.log" &
GATEWAY_PID=$!
PIDS+=($GATEWAY_PID)

ready() { python3 -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:$GATEWAY_PORT/readyz', timeout=2).status != 200)" 2>/dev/null; }
for _ in $(seq 1 300); do
    kill -0 "$GATEWAY_PID" 2>/dev/null || { echo "error: cs-gateway exited; see $OUT/gateway.log" >&2; exit 1; }
    ready && break
    sleep 0.1
done
ready || { echo "error: cs-gateway not ready within 30 s" >&2; exit 1; }

# sample PHASE: one line per process to samples.csv (time, phase, process, rss kB, fds)
START_NS=$(date +%s%N)
echo "seconds,phase,process,rss_kb,fds" >"$OUT/samples.csv"
sample() {
    local phase=$1 now
    now=$(( ($(date +%s%N) - START_NS) / 1000000 ))
    for entry in "gateway:$GATEWAY_PID" "dispatcher:$DISPATCHER_PID"; do
        local name=${entry%%:*} pid=${entry##*:} rss fds
        rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo -1)
        fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
        echo "$(( now / 1000 )).$(printf '%03d' $(( now % 1000 ))),$phase,$name,${rss:--1},$fds" >>"$OUT/samples.csv"
    done
}
loadgen() {
    "$CS_BIN_DIR/cs-loadgen" "$@" --gateway "http://127.0.0.1:$GATEWAY_PORT" --redis-url "$REDIS_URL" \
        --jwt-secret "$SECRET" --progress-interval 0
}

sleep 5
sample baseline
( while true; do sleep 2; sample during; done ) &
SAMPLER=$!

echo "==> soak 1/2: $CYCLES connect/disconnect cycles ($ROUNDS storm rounds of $STORM_CONNECTIONS, $STORM_BURST at a time)"
storm_start=$SECONDS
for round in $(seq 1 "$ROUNDS"); do
    loadgen storm --connections "$STORM_CONNECTIONS" --burst "$STORM_BURST" --hold 0.5 \
        --output "$OUT/storm-$round.json" 2>>"$OUT/loadgen.log" || echo "storm round $round exited non-zero" >>"$OUT/loadgen.log"
    sleep 1
    sample "storm-$round"
    printf '    round %d/%d done (%d s)\n' "$round" "$ROUNDS" $((SECONDS - storm_start))
done
STORM_SECONDS=$((SECONDS - storm_start))
sleep 5
sample after-storm

echo "==> soak 2/2: chat, $CHAT_PAIRS conversations at $CHAT_RATE messages/s for $CHAT_SECONDS s"
chat_start=$SECONDS
loadgen chat --pairs "$CHAT_PAIRS" --rate "$CHAT_RATE" --duration "$CHAT_SECONDS" --warmup 3 \
    --output "$OUT/chat.json" 2>>"$OUT/loadgen.log" || echo "chat exited non-zero" >>"$OUT/loadgen.log"
CHAT_SECONDS_TAKEN=$((SECONDS - chat_start))
sleep 10
sample after-chat
kill "$SAMPLER" 2>/dev/null || true
SAMPLER=""

ALIVE="gateway=$(kill -0 "$GATEWAY_PID" 2>/dev/null && echo yes || echo no),dispatcher=$(kill -0 "$DISPATCHER_PID" 2>/dev/null && echo yes || echo no)"
python3 - "$OUT" "$ROUNDS" "$STORM_SECONDS" "$CHAT_SECONDS_TAKEN" "$ALIVE" "$FD_SLACK" "$RSS_SLACK_MB" "$RSS_GROWTH_MB" "$CYCLES" "$CHAT_PAIRS" "$CHAT_RATE" "$CHAT_SECONDS" <<'PY'
import csv, json, re, sys
from pathlib import Path

out = Path(sys.argv[1])
rounds, storm_seconds, chat_seconds = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
alive = dict(item.split("=") for item in sys.argv[5].split(","))
fd_slack, rss_slack_mb, growth_mb = int(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8])
cycles, pairs, rate, seconds = int(sys.argv[9]), int(sys.argv[10]), float(sys.argv[11]), int(sys.argv[12])
problems = []

samples = {}
for row in csv.DictReader(open(out / "samples.csv")):
    samples.setdefault(row["process"], []).append(row)
def at(process, phase):
    rows = [r for r in samples.get(process, []) if r["phase"] == phase]
    return (int(rows[-1]["rss_kb"]), int(rows[-1]["fds"])) if rows else (None, None)

processes = {}
for process in ("gateway", "dispatcher"):
    rows = samples.get(process, [])
    base_rss, base_fds = at(process, "baseline")
    info = {"baseline": {"rssMiB": round(base_rss / 1024, 1), "fds": base_fds},
            "peak": {"rssMiB": round(max(int(r["rss_kb"]) for r in rows) / 1024, 1), "fds": max(int(r["fds"]) for r in rows)}}
    for phase in ("after-storm", "after-chat"):
        rss, fds = at(process, phase)
        info[phase] = {"rssMiB": round(rss / 1024, 1), "fds": fds}
        if fds - base_fds > fd_slack:
            problems.append(f"{process}: {fds} open descriptors {phase}, baseline {base_fds} (+{fd_slack} allowed)")
        # Freed memory stays with the allocator (glibc keeps its arenas): the reference is the
        # high-water mark of the first storm round, not the idle baseline.
        reference = max(base_rss, at(process, "storm-1")[0])
        if (rss - reference) / 1024 > rss_slack_mb:
            problems.append(f"{process}: RSS {rss / 1024:.1f} MiB {phase}, {reference / 1024:.1f} MiB after the first storm round (+{rss_slack_mb:.0f} MiB allowed)")
    first, middle, last = (at(process, f"storm-{n}")[0] for n in (1, max(1, rounds // 2), rounds))
    info["stormRssMiB"] = {"firstRound": round(first / 1024, 1), "middleRound": round(middle / 1024, 1), "lastRound": round(last / 1024, 1)}
    if (last - first) / 1024 > growth_mb:
        problems.append(f"{process}: RSS grew {(last - first) / 1024:.1f} MiB from storm round 1 to {rounds} (+{growth_mb:.0f} MiB allowed)")
    if alive.get(process) != "yes":
        problems.append(f"{process} is not running any more")
    processes[process] = info

opened = failed = 0
for number in range(1, rounds + 1):
    path = out / f"storm-{number}.json"
    if not path.exists():
        problems.append(f"storm round {number}: no result")
        continue
    storm = json.loads(path.read_text())
    opened += storm.get("storm", {}).get("opened", 0)
    failed += storm.get("storm", {}).get("failed", 0)
    if storm.get("status") != "ok" or storm.get("storm", {}).get("failed", 1) != 0:
        problems.append(f"storm round {number}: status {storm.get('status')}, failed {storm.get('storm', {}).get('failed')}, failures {storm.get('storm', {}).get('failures')}")

chat = {}
if (out / "chat.json").exists():
    result = json.loads((out / "chat.json").read_text())
    c = result.get("chat", {})
    chat = {k: c.get(k) for k in ("sent", "acked", "delivered", "undelivered", "errors", "disconnects", "throughput")}
    chat["latencyMs"] = {k: round(c.get("latency", {}).get(k, 0) / 1000, 1) for k in ("p50", "p99", "max")}
    if result.get("status") != "ok" or c.get("errors") or c.get("undelivered") or c.get("disconnects"):
        problems.append(f"chat: status {result.get('status')}, errors {c.get('errors')} {c.get('errorCodes')}, undelivered {c.get('undelivered')}, disconnects {c.get('disconnects')}")
else:
    problems.append("chat: no result")

bad_lines = {}
for name in ("gateway", "dispatcher"):
    lines = [l.rstrip() for l in open(out / f"{name}.log", errors="replace") if re.match(r"^\S+ (error|critical) ", l)]
    bad_lines[name] = len(lines)
    if lines:
        problems.append(f"{name}.log: {len(lines)} error/critical lines, first: {lines[0][:200]}")

summary = {
    "cycles": {"planned": cycles, "rounds": rounds, "opened": opened, "failed": failed, "seconds": storm_seconds,
               "perSecond": round(opened / storm_seconds, 1) if storm_seconds else None},
    "chat": {"pairs": pairs, "rate": rate, "seconds": seconds, "wallSeconds": chat_seconds, **chat},
    "processes": processes, "errorLines": bad_lines,
    "tolerances": {"fdSlack": fd_slack, "rssSlackMiB": rss_slack_mb, "stormRssGrowthMiB": growth_mb},
    "problems": problems, "passed": not problems,
}
(out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
lines = [
    f"soak: {opened} connections opened and closed in {rounds} storm rounds ({failed} failed) in {storm_seconds} s",
    f"chat: {chat.get('sent')} messages at {rate:g}/s over {seconds} s in {pairs} conversations: "
    f"{chat.get('delivered')} delivered, {chat.get('undelivered')} undelivered, {chat.get('errors')} errors, latency p50 {chat.get('latencyMs', {}).get('p50')} ms p99 {chat.get('latencyMs', {}).get('p99')} ms",
]
for name, info in processes.items():
    lines.append(f"{name:<10} RSS MiB baseline {info['baseline']['rssMiB']}, peak {info['peak']['rssMiB']}, after storms {info['after-storm']['rssMiB']}, "
                 f"after chat {info['after-chat']['rssMiB']} (storm rounds: first {info['stormRssMiB']['firstRound']}, middle {info['stormRssMiB']['middleRound']}, last {info['stormRssMiB']['lastRound']}); "
                 f"fds baseline {info['baseline']['fds']}, peak {info['peak']['fds']}, after storms {info['after-storm']['fds']}, after chat {info['after-chat']['fds']}")
lines.append(f"error/critical log lines: gateway {bad_lines['gateway']}, dispatcher {bad_lines['dispatcher']}")
lines.append("PASSED" if not problems else "FAILED:\n  " + "\n  ".join(problems))
(out / "summary.txt").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
sys.exit(1 if problems else 0)
PY
