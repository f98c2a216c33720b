#!/usr/bin/env python3
"""Records one profiling step for docs/benchmarks.md's "fix by fix" table.

    BENCH_SCENARIOS=chat BENCH_SWEEP=0.5 BENCH_NO_DOCS=1 BENCH_OUT=bench-output/step scripts/bench.sh
    python3 scripts/bench_step.py bench-output/step "what changed" docs/benchmarks/steps/NN-name.json

Keeps the chat run at maximum throughput and the one at half of it, with the commit measured.
"""
import json
import subprocess
import sys

run_dir, step, output = sys.argv[1:4]


def load(name):
    try:
        with open(f"{run_dir}/{name}.json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


meta = load("meta") or {}
json.dump({"step": step, "commit": meta.get("commit") or subprocess.run(
    ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
    "date": meta.get("date"), "result": load("chat-max"), "half": load("chat-rate-0.5")},
    open(output, "w"), indent=1, sort_keys=True)
