#!/usr/bin/env python3
"""Turns one `make bench` run (scripts/bench.sh) into docs/benchmarks.md, docs/benchmarks/results.json
and docs/benchmarks/chart.svg. Standard library only.

    python3 scripts/bench_report.py bench-output/<run> --docs docs

The goals are those of issue 8. docs/benchmarks/baseline.json (a results.json of the code before the
profiling fixes) gives the "before" column; docs/benchmarks/steps/*.json the per-fix measurements;
docs/benchmarks/notes.md (profiling findings, next steps) is appended verbatim.
"""
import argparse
import csv
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_chart import latency_chart  # noqa: E402


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def collect(run_dir):
    """The combined results of one run (the shape of results.json)."""
    results = {"meta": load(os.path.join(run_dir, "meta.json")) or {}}
    ceiling = {}
    csv_path = os.path.join(run_dir, "redis-benchmark.csv")
    if os.path.exists(csv_path):
        plain, piped = [], []
        for row in csv.reader(open(csv_path)):
            if len(row) >= 4:
                (plain if row[0] == "plain" else piped).append(float(row[3]))
        if plain:
            plain.sort()
            ceiling["xaddPerSecond"] = plain[len(plain) // 2]
            ceiling["xaddRuns"] = plain
        if piped:
            ceiling["xaddPipelined16PerSecond"] = piped[0]
    results["ceiling"] = ceiling
    results["chatMax"] = load(os.path.join(run_dir, "chat-max.json"))
    rates = {}
    for path in glob.glob(os.path.join(run_dir, "chat-rate-*.json")):
        fraction = os.path.basename(path)[len("chat-rate-"):-len(".json")]
        rates[fraction] = load(path)
    results["chatRates"] = dict(sorted(rates.items(), key=lambda kv: float(kv[0])))
    fixed = {}
    for path in glob.glob(os.path.join(run_dir, "chat-fixed-*.json")):
        fixed[os.path.basename(path)[len("chat-fixed-"):-len(".json")]] = load(path)
    results["chatFixed"] = dict(sorted(fixed.items(), key=lambda kv: int(kv[0])))
    for name in ("idle", "storm", "broadcast"):
        results[name] = load(os.path.join(run_dir, name + ".json"))
    return results


def ms(micros):
    return None if micros is None else micros / 1000.0


def fmt(value, digits=2, unit=""):
    if value is None:
        return "n/a"
    if isinstance(value, float) and value >= 1000:
        return f"{value:,.0f}{unit}"
    return f"{value:,.{digits}f}{unit}" if isinstance(value, float) else f"{value:,}{unit}"


def goal_rows(r):
    """(goal, target, measured, ratio, result) rows; ratio = measured / target."""
    rows = []
    xadd = r["ceiling"].get("xaddPerSecond")
    chat = ((r.get("chatMax") or {}).get("chat")) or {}
    half = ((r.get("chatRates") or {}).get("0.5") or {}).get("chat") or {}

    def row(goal, target, target_text, measured, measured_text, higher_is_better, status=None):
        if status is None and measured is not None and target:
            ratio = measured / target
            ok = ratio >= 1 if higher_is_better else ratio <= 1
            rows.append((goal, target_text, measured_text, f"{ratio:.2f}", "**pass**" if ok else "**fail**"))
        else:
            rows.append((goal, target_text, measured_text, "n/a", status or "not measured"))

    lat = half.get("latency") or {}
    at = f" at {half.get('throughput', 0):,.0f} msg/s" if half else ""
    row("p50 end-to-end latency at half the maximum throughput", 1.0, "≤ 1 ms", ms(lat.get("p50")),
        f"{fmt(ms(lat.get('p50')), 3)} ms{at}", False)
    row("p99 end-to-end latency at half the maximum throughput", 5.0, "≤ 5 ms", ms(lat.get("p99")),
        f"{fmt(ms(lat.get('p99')), 3)} ms{at}", False)
    fixed = (((r.get("chatFixed") or {}).get("2000") or {}).get("chat")) or {}
    if fixed:
        flat = fixed.get("latency") or {}
        row("p99 end-to-end latency at 2,000 msg/s (200 pairs over 2 gateways)", 5.0, "≤ 5 ms", ms(flat.get("p99")),
            f"{fmt(ms(flat.get('p99')), 3)} ms", False)
        redis_us = (fixed.get("cpuMicrosPerMessage") or {}).get("redis")
        row("Redis CPU per chat message at 2,000 msg/s", 40.0, "≤ 40 µs", redis_us, f"{fmt(redis_us, 1)} µs", False)
        cmds = (fixed.get("redis") or {}).get("commandsPerMessage")
        row("Redis commands per chat message at 2,000 msg/s (INFO commandstats, functions' own calls and FCALL included)",
            6.0, "≤ 6", cmds, fmt(cmds, 2), False)
    redis = chat.get("redis") or {}
    row("Redis commands per chat message at saturation: every command Redis ran (INFO commandstats, Lua included)",
        4.0, "≤ 4", redis.get("commandsPerMessage"), fmt(redis.get("commandsPerMessage"), 2), False)
    row("… of which sent by clients (round-trip commands; commandstats minus script-internal calls)",
        4.0, "≤ 4", redis.get("clientCommandsPerMessage"), fmt(redis.get("clientCommandsPerMessage"), 2), False)
    idle = ((r.get("idle") or {}).get("idle")) or {}
    if idle:
        per = idle.get("gatewayBytesPerConnection")
        row(f"Gateway memory per idle authenticated connection (at {idle.get('alive', 0):,} connections over "
            f"{idle.get('gateways')} gateways; goal: at 50,000)", 8192, "≤ 8 KiB", per, f"{per / 1024:.1f} KiB", False,
            None if (r["idle"].get("status") == "ok") else "failed: " + "; ".join(r["idle"].get("notes", [])))
    else:
        row("Gateway memory per idle connection", 8192, "≤ 8 KiB", None, "n/a", False)
    b = r.get("broadcast") or {}
    if not b:
        rows.append(("Broadcast to 50,000 connections over 2 gateways: p95 delivery to the last one; one PUBLISH",
                     "≤ 500 ms", "n/a", "n/a", "not measured"))
    elif not ((b.get("broadcast") or {}).get("latencyToLast")):
        rows.append(("Broadcast to 50,000 connections over 2 gateways: p95 delivery to the last one; one PUBLISH",
                     "≤ 500 ms", f"{b.get('status')}: " + "; ".join(b.get("notes", [])), "n/a", "**fail**"))
    else:
        bm = b.get("broadcast") or {}
        p95 = ms((bm.get("latencyToLast") or {}).get("p95"))
        row(f"Broadcast to {bm.get('opened', 0):,} connections over {bm.get('gateways')} gateways: p95 to the last one",
            500.0, "≤ 500 ms", p95, f"{fmt(p95, 1)} ms, {bm.get('publishPerBroadcast')} PUBLISH per broadcast", False)
    s = ((r.get("storm") or {}).get("storm")) or {}
    if s:
        failed = s.get("failed", 0) + max(0, s.get("connections", 0) - s.get("aliveAfterHold", 0) - s.get("failed", 0))
        rows.append((f"Connect storm: {s.get('connections'):,} connections, {s.get('burst'):,} at a time, no failure",
                     "0 failures", f"{failed} failed ({s.get('opened'):,} opened in {s.get('seconds')} s, "
                     f"p99 connect {fmt(ms(s['connectLatency']['p99']), 0)} ms)", "n/a",
                     "**pass**" if failed == 0 else "**fail**"))
    return rows


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def chat_rows(r):
    rows = []
    runs = [("max", r.get("chatMax"))] + [(f"{float(k):.0%} of max", v) for k, v in (r.get("chatRates") or {}).items()]
    for label, result in runs:
        c = (result or {}).get("chat")
        if not c:
            rows.append((label, "failed", "", "", "", "", "", "", ""))
            continue
        lat = c["latency"]
        rows.append((label, fmt(c.get("targetRate"), 0) if c.get("targetRate") else f"window {c.get('window')}",
                     f"{c['throughput']:,.0f}", f"{ms(lat['p50']):.3f}", f"{ms(lat['p90']):.3f}", f"{ms(lat['p99']):.3f}",
                     f"{ms(lat['p999']):.3f}", f"{ms(c['ackLatency']['p50']):.3f}",
                     ", ".join(f"{k} {v}" for k, v in sorted((result.get("cpu") or {}).get("coresByProcess", {}).items()))))
    return rows


def fixed_rate_rows(r):
    """One row per fixed rate: cost per message by process (CPU µs, voluntary context switches)."""
    rows = []
    names = ["gateway-1", "gateway-2", "dispatcher", "redis"]
    for rate, result in (r.get("chatFixed") or {}).items():
        c = (result or {}).get("chat")
        if not c:
            rows.append((f"{int(rate):,}", "failed") + ("",) * 6)
            continue
        cpu = c.get("cpuMicrosPerMessage") or {}
        switches = c.get("contextSwitchesPerMessage") or {}
        lat = c["latency"]
        servers = sum(cpu.get(n, 0) for n in names)
        rows.append((f"{int(rate):,}", f"{c['throughput']:,.0f}", f"{ms(lat['p50']):.2f} / {ms(lat['p99']):.2f}",
                     " · ".join(fmt(cpu.get(n), 0) for n in names) + f" = **{servers:,.0f}**",
                     f"{1e6 / servers:,.0f}" if servers else "n/a",
                     " · ".join(fmt(switches.get(n), 2) for n in names),
                     fmt((c.get("redis") or {}).get("commandsPerMessage"), 2), fmt(c.get("undelivered"), 0)))
    return rows


def cpu_text(result):
    cpu = (result or {}).get("cpu") or {}
    parts = [f"{k} {v}" for k, v in sorted((cpu.get("coresByProcess") or {}).items())]
    if cpu.get("unattributedCores") is not None:
        parts.append(f"other {cpu['unattributedCores']}")
    return ", ".join(parts) or "n/a"


def mib(value):
    return f"{value / 2**20:,.0f} MiB" if value is not None else "n/a"


def status_text(result):
    notes = result.get("notes") or []
    return result.get("status", "?") + ("; " + "; ".join(notes) if notes else "")


def scenario_sections(r):
    """Tables for the idle, storm and broadcast results."""
    out = []
    idle = r.get("idle") or {}
    i = idle.get("idle")
    if i:
        lat = i["connectLatency"]
        out += ["## Idle connections: gateway memory", "", table(["", ""], [
            ("Status", status_text(idle)),
            ("Connections alive / opened / failed", f"{i['alive']:,} / {i['opened']:,} / {i['failed']:,}"),
            ("Gateways, load generator processes", f"{i['gateways']}, {i['workers']}"),
            ("Time to open all (1,000 at a time)",
             f"{i['connectSeconds']} s; connect → hello p50 {ms(lat['p50']):.0f} ms, p99 {ms(lat['p99']):.0f} ms"),
            ("Gateways' RSS before / connected / 2 s after closing",
             f"{mib(i['gatewayRSSBefore'])} / {mib(i['gatewayRSSAfter'])} / {mib(i['gatewayRSSAfterClose'])}"),
            ("**Gateway bytes per idle connection**",
             f"**{i['gatewayBytesPerConnection']:,}** ({i['gatewayBytesPerConnection'] / 1024:.1f} KiB)"),
            ("Load generator bytes per connection (client side, all workers)", f"{i['loadgenBytesPerConnection']:,}"),
            ("CPU while connecting (cores)", cpu_text(idle)),
        ]), ""]
    storm = r.get("storm") or {}
    st = storm.get("storm")
    if st:
        lat = st["connectLatency"]
        out += ["## Connect storm", "", table(["", ""], [
            ("Status", status_text(storm)),
            ("Connections, at a time",
             f"{st['connections']:,}, {st['burst']:,} (over {st['gateways']} gateways, {st['workers']} load generator processes)"),
            ("Opened / failed / alive after the hold", f"{st['opened']:,} / {st['failed']:,} / {st['aliveAfterHold']:,}"),
            ("Time, rate", f"{st['seconds']} s, {st['connectionsPerSecond']:,.0f} connections/s"),
            ("TCP connect → hello", f"p50 {ms(lat['p50']):.0f} ms, p90 {ms(lat['p90']):.0f} ms, "
                                    f"p99 {ms(lat['p99']):.0f} ms, max {ms(lat['max']):.0f} ms"),
            ("CPU (cores)", cpu_text(storm)),
        ]), ""]
    b = r.get("broadcast") or {}
    bm = b.get("broadcast")
    if bm:
        lat = bm.get("latencyToLast") or {}
        out += ["## Broadcast", "", table(["", ""], [
            ("Status", status_text(b)),
            ("Connections opened, gateways", f"{bm['opened']:,}, {bm['gateways']}"),
            ("Broadcasts sent / reaching every connection", f"{bm['sent']} / {bm['complete']}"),
            ("Request → last connection", f"p50 {fmt(ms(lat.get('p50')), 1)} ms, p95 {fmt(ms(lat.get('p95')), 1)} ms, "
                                          f"max {fmt(ms(lat.get('max')), 1)} ms" if lat else "n/a"),
            ("PUBLISH per broadcast", fmt(bm.get("publishPerBroadcast"), 2)),
        ]), ""]
    return out


def comparison(before, after):
    """Before/after rows of the headline numbers."""
    def get(r, *path):
        for key in path:
            r = (r or {}).get(key) if isinstance(r, dict) else None
        return r

    items = [
        ("Chat throughput, msg/s", ("chatMax", "chat", "throughput"), 0),
        ("p50 latency at max, ms", ("chatMax", "chat", "latency", "p50"), "ms"),
        ("p99 latency at max, ms", ("chatMax", "chat", "latency", "p99"), "ms"),
        ("p50 latency at 50 % of max, ms", ("chatRates", "0.5", "chat", "latency", "p50"), "ms"),
        ("p99 latency at 50 % of max, ms", ("chatRates", "0.5", "chat", "latency", "p99"), "ms"),
        ("Redis commands per message (all)", ("chatMax", "chat", "redis", "commandsPerMessage"), 2),
        ("Redis commands per message (sent by clients)", ("chatMax", "chat", "redis", "clientCommandsPerMessage"), 2),
        ("Gateway CPU at max, cores", ("chatMax", "cpu", "coresByProcess", "gateway-1"), 2),
        ("Dispatcher CPU at max, cores", ("chatMax", "cpu", "coresByProcess", "dispatcher"), 2),
        ("Redis CPU at max, cores", ("chatMax", "cpu", "coresByProcess", "redis"), 2),
        ("Load generator CPU at max, cores", ("chatMax", "cpu", "coresByProcess", "cs-loadgen"), 2),
        ("Gateway bytes per idle connection", ("idle", "idle", "gatewayBytesPerConnection"), 0),
        ("Raw XADD/s (redis-benchmark)", ("ceiling", "xaddPerSecond"), 0),
    ]
    rows = []
    for label, path, kind in items:
        b, a = get(before, *path), get(after, *path)
        if kind == "ms":
            b, a = ms(b), ms(a)
        def show(v):
            if v is None:
                return "n/a"
            return f"{v:,.3f}" if kind == "ms" else (f"{v:,.0f}" if kind == 0 else f"{v:,.2f}")
        change = f"{a / b:.2f}×" if (a is not None and b) else "n/a"
        if path[0] == "chatRates":
            rates = [get(x, "chatRates", path[1], "chat", "throughput") for x in (before, after)]
            label += " (at " + " → ".join(f"{v:,.0f}" if v else "n/a" for v in rates) + " msg/s: not the same load)"
        rows.append((label, show(b), show(a), change))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--docs", default="docs")
    args = parser.parse_args()
    r = collect(args.run_dir)
    bench_dir = os.path.join(args.docs, "benchmarks")
    os.makedirs(bench_dir, exist_ok=True)
    with open(os.path.join(bench_dir, "results.json"), "w") as f:
        json.dump(r, f, indent=1, sort_keys=True)
    xadd = r["ceiling"].get("xaddPerSecond")
    baseline = load(os.path.join(bench_dir, "baseline.json"))
    with open(os.path.join(bench_dir, "chart.svg"), "w") as f:
        f.write(latency_chart(r, xadd, baseline))
    steps = [load(p) for p in sorted(glob.glob(os.path.join(bench_dir, "steps", "*.json")))]
    notes_path = os.path.join(bench_dir, "notes.md")
    notes = open(notes_path).read() if os.path.exists(notes_path) else ""
    with open(os.path.join(args.docs, "benchmarks.md"), "w") as f:
        f.write(render(r, baseline, [s for s in steps if s], notes))


def render(r, baseline, steps, notes):
    m = r["meta"]
    c = r["ceiling"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (scripts/bench.sh, scripts/bench_report.py) from one run; raw results in",
        "[benchmarks/results.json](benchmarks/results.json). Goals from issues 8 and 17. **Ratio** is measured ÷ target:",
        "a `≥` goal passes at ≥ 1, a `≤` goal at ≤ 1 (issue 17 replaced the 0.30 × XADD goal with costs at fixed rates). Everything runs on one machine over loopback: Redis, the",
        "gateways, the dispatcher and the load generator share its cores.",
        "",
        "## Machine and versions",
        "",
        table(["", ""], [
            ("CPU", f"{m.get('nproc')} × {m.get('cpuModel')}"),
            ("Memory", f"{(m.get('memoryBytes') or 0) / 2**30:.1f} GiB"),
            ("Kernel", m.get("kernel")),
            ("Swift", m.get("swift")),
            ("Redis", m.get("redis")),
            ("Commit", m.get("commit")),
            ("Open-file limit", f"{m.get('openFileLimit')} per process (the soft limit raised to the hard limit)"),
            ("Date", m.get("date")),
            ("CPU busy before the run", f"{(m.get('busyBeforeStart') or 0):.0%} (other work on the machine)"),
        ]),
        "",
        "## Results against the goals",
        "",
        table(["Goal", "Target", "Measured", "Ratio", "Result"], goal_rows(r)),
        "",
        f"Ceiling: `redis-benchmark -c 50 -P 1 XADD` = {fmt(c.get('xaddPerSecond'), 0)} XADD/s (median of "
        f"{len(c.get('xaddRuns', []))} runs: {', '.join(f'{v:,.0f}' for v in c.get('xaddRuns', []))}); with 16 pipelined: "
        f"{fmt(c.get('xaddPipelined16PerSecond'), 0)} XADD/s. Same Redis configuration as the system under test "
        "(AOF, `appendfsync everysec`).",
        "",
        "## Chat: throughput and latency",
        "",
        "![Latency percentiles against throughput](benchmarks/chart.svg)", "",
        "Dashed: the same percentiles before the profiling fixes (baseline.json), for comparing latency at equal load.",
        "",
        "Latency is customer send → agent receives the committed message (through gateway, inbound stream,",
        "dispatcher, Lua append + PUBLISH, pub/sub, gateway). At a fixed rate it is taken from each message's",
        "*intended* send time (no coordinated omission). *ack p50* is customer send → the gateway's `ack`",
        "(XADD done). CPU in cores (1.0 = one core busy) over the measured window, from /proc.",
        "",
        table(["Load", "Target", "Delivered msg/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "ack p50 ms", "CPU (cores)"],
              chat_rows(r)),
        "",
    ]
    if r.get("chatFixed"):
        lines += ["## Cost per message at fixed rates", "",
                  "200 customer/agent pairs, customers on gateway 1 and agents on gateway 2 (so every message crosses",
                  "Redis), at the rates real deployments run rather than at saturation. CPU is utime + stime from /proc of",
                  "each process over the measured window, divided by the messages delivered; context switches are the",
                  "voluntary ones of all its threads (a thread going to sleep: each is a wake on the message path).",
                  "Compare side by side with nginx + nchan with `../shared/peers` (docs/benchmarks/notes.md).", "",
                  table(["msg/s", "delivered/s", "p50 / p99 ms", "CPU µs per message: gw-1 · gw-2 · dispatcher · Redis = servers",
                         "msgs per server-CPU-s", "context switches per message (same order)", "Redis commands per message",
                         "undelivered"], fixed_rate_rows(r)), ""]
    chat = (r.get("chatMax") or {}).get("chat") or {}
    if chat.get("redis"):
        per = chat["redis"]["perMessageByCommand"]
        lines += ["Redis commands per delivered message at maximum throughput (INFO commandstats delta):", "",
                  table(["Command", "Per message"], sorted(per.items(), key=lambda kv: -kv[1])), ""]
    lines += scenario_sections(r)
    if baseline:
        lines += ["## Before and after the profiling fixes", "",
                  f"Before: commit {baseline.get('meta', {}).get('commit')} ({baseline.get('meta', {}).get('date')}), "
                  f"after: this run. Same scenarios and sizes.", "",
                  table(["Metric", "Before", "After", "After ÷ before"], comparison(baseline, r)), ""]
    if steps or baseline:
        rows = ([step_row(as_step(baseline, "0. before (baseline)"))] if baseline else []) + [step_row(x) for x in steps]
        rows.append(step_row(as_step(r, "this run")))
        lines += ["### Fix by fix", "",
                  "`cs-loadgen chat` at maximum throughput and at half of it after each change (one run each, same "
                  "machine and sizes; CPU is µs of CPU time per delivered message, which varies less with other load "
                  "on the machine than throughput does; *other* is CPU used meanwhile by processes not ours, in cores):", "",
                  table(["Step", "Commit", "max msg/s", "gateway µs", "dispatcher µs", "redis µs", "loadgen µs",
                         "p50 / p99 ms at ½ max", "other"], rows), ""]
    lines += ["## How to reproduce", "",
              "```sh",
              "make bench      # release build in .build-release (~11 min the first time), then ~12 minutes; rewrites this page",
              "BENCH_SCENARIOS=\"ceiling chat\" BENCH_SECONDS=30 make bench   # a subset, longer runs",
              "```", "",
              "Sizes and options are at the top of scripts/bench.sh. Individual scenarios: `cs-loadgen <scenario> --help`.",
              "`make test` runs every scenario at a tiny size (Tests/CSEndToEndTests/EndToEnd+Loadgen.swift).", ""]
    if notes:
        lines += [notes.rstrip(), ""]
    return "\n".join(lines)


def step_row(step):
    """One row of the fix-by-fix table: a step file, or the baseline / this run (results.json shape)."""
    chat = ((step.get("result") or {}).get("chat")) or {}
    half = ((step.get("half") or {}).get("chat")) or {}
    per = chat.get("cpuMicrosPerMessage") or {}
    hl = half.get("latency") or {}
    unattributed = ((step.get("result") or {}).get("cpu") or {}).get("unattributedCores")
    return (step.get("step", "?"), step.get("commit", "?"), fmt(chat.get("throughput"), 0),
            per.get("gateway-1", "n/a"), per.get("dispatcher", "n/a"), per.get("redis", "n/a"), per.get("cs-loadgen", "n/a"),
            f"{fmt(ms(hl.get('p50')), 2)} / {fmt(ms(hl.get('p99')), 2)}" if hl else "n/a",
            fmt(unattributed, 2))


def as_step(results, label):
    """A results.json (baseline or this run) as a step row."""
    return {"step": label, "commit": (results.get("meta") or {}).get("commit", "?"), "result": results.get("chatMax"),
            "half": (results.get("chatRates") or {}).get("0.5")}


if __name__ == "__main__":
    main()
