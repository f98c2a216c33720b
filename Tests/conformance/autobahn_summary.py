#!/usr/bin/env python3
"""Checks kosoku's Autobahn reports (index.json) for scripts/test-conformance.sh.

Usage: autobahn_summary.py MAIN_REPORT_DIR OVERSIZE_REPORT_DIR SUMMARY_JSON

- Every case of the main run must pass: behavior OK, NON-STRICT or INFORMATIONAL and
  behaviorClose OK or INFORMATIONAL (Autobahn's own definition of a pass).
- Every case of the oversize run (9.1.2-9.6.6: messages of 256 KiB to 16 MiB, larger than the
  gateway's 64 KiB limit) must end the way docs/protocol.md promises for a too-large message:
  the gateway closes cleanly with 1009 (message too big). Autobahn marks these FAILED because it
  expects the message echoed; they are excluded from the pass count, not ignored.

Prints a table per case section and exits non-zero when a check fails.
"""
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

PASS_BEHAVIOR = {"OK", "NON-STRICT", "INFORMATIONAL"}
PASS_CLOSE = {"OK", "INFORMATIONAL"}

SECTIONS = {
    "1": "Framing (text and binary, all payload lengths)",
    "2": "Pings and pongs",
    "3": "Reserved bits",
    "4": "Opcodes (reserved ones must fail the connection)",
    "5": "Fragmentation",
    "6": "UTF-8 handling",
    "7": "Close handling",
    "9": "Limits and performance",
    "10": "Misc (auto-fragmentation)",
}


def case_key(case_id):
    return [int(part) for part in case_id.split(".")]


def load(directory):
    index = json.loads((Path(directory) / "index.json").read_text())
    cases = {}
    for agent_cases in index.values():
        for case_id, entry in agent_cases.items():
            detail = json.loads((Path(directory) / entry["reportfile"]).read_text())
            cases[case_id] = {
                "behavior": entry["behavior"],
                "behaviorClose": entry["behaviorClose"],
                "remoteCloseCode": detail.get("remoteCloseCode"),
                "wasClean": detail.get("wasClean"),
                "durationMs": entry.get("duration"),
            }
    return cases


def main():
    main_dir, oversize_dir, summary_path = sys.argv[1:4]
    main_cases = load(main_dir)
    oversize_cases = load(oversize_dir)
    problems = []

    rows = defaultdict(Counter)
    for case_id, result in main_cases.items():
        section = case_id.split(".")[0]
        rows[section][result["behavior"]] += 1
        if result["behavior"] not in PASS_BEHAVIOR or result["behaviorClose"] not in PASS_CLOSE:
            problems.append(f"{case_id}: behavior {result['behavior']}, close {result['behaviorClose']}")
    for case_id, result in oversize_cases.items():
        section = case_id.split(".")[0]
        ok = result["remoteCloseCode"] == 1009 and result["wasClean"]
        rows[section]["closed 1009 (limit)" if ok else "oversize: WRONG"] += 1
        if not ok:
            problems.append(f"{case_id} (oversize): expected a clean close 1009, got close {result['remoteCloseCode']}, clean {result['wasClean']}")

    print(f"{'section':<8} {'what':<50} {'cases':>5}  outcome")
    for section in sorted(rows, key=int):
        counts = rows[section]
        outcome = ", ".join(f"{count} {label}" for label, count in sorted(counts.items()))
        print(f"{section:<8} {SECTIONS.get(section, ''):<50} {sum(counts.values()):>5}  {outcome}")
    total = Counter(r["behavior"] for r in main_cases.values())
    print(f"main run: {len(main_cases)} cases: " + ", ".join(f"{n} {b}" for b, n in sorted(total.items())))
    print(f"oversize run: {len(oversize_cases)} cases, "
          f"{sum(1 for r in oversize_cases.values() if r['remoteCloseCode'] == 1009 and r['wasClean'])} closed cleanly with 1009")

    summary = {
        "main": {"cases": len(main_cases), "byBehavior": dict(total),
                 "notPassed": [p for p in problems if "(oversize)" not in p]},
        "oversize": {"cases": len(oversize_cases),
                     "closed1009": sorted((c for c, r in oversize_cases.items() if r["remoteCloseCode"] == 1009 and r["wasClean"]), key=case_key)},
        "nonStrict": sorted((c for c, r in main_cases.items() if r["behavior"] == "NON-STRICT"), key=case_key),
        "informational": sorted((c for c, r in main_cases.items() if r["behavior"] == "INFORMATIONAL"), key=case_key),
        "problems": problems,
        "passed": not problems,
    }
    Path(summary_path).write_text(json.dumps(summary, indent=2) + "\n")
    if problems:
        print("FAILED:")
        for problem in problems:
            print("  " + problem)
        return 1
    print("conformance: all included cases passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
