"""Benchmark: a cold ``rke2image fleet`` over 1,003 nodes' audit JSON files.

Why: the fleet report runs after an Ansible ad-hoc audit of every node, or in a cron job
over what the DaemonSet left; 1,000 files must read in well under a person's patience.
Target (issue 11): 1,000 node files in under 2 s on a 2-core machine, and the odd master
among 3 servers and 1,000 agents named on the first line. The fleet is generated: three
servers (cp-1 with kernel.panic = 0, the outage of docs/design.md) and 1,000 agents, two of them
odd too, one file per node as an Ansible ``fetch`` leaves them. Cold = a new process per
run through the installed console script. Not a test: figures only, no assertion.

    .venv/bin/python bench/bench_fleet.py [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the fleet tests' generator of audit documents
from machine import machine  # noqa: E402

from acceptance.fleet.audit_docs import NOW, audit_document, write_fleet  # noqa: E402

SERVERS, AGENTS = 3, 1000
SECONDS_TARGET = 2.0


def documents() -> list[dict[str, Any]]:
    servers = [
        audit_document(f"cp-{i}", "server", values={"kernel.panic": "0"} if i == 1 else None)
        for i in range(1, SERVERS + 1)
    ]
    odd_agents: dict[str, dict[str, Any]] = {
        "worker-0007": {"vm.overcommit_memory": "0"},
        "worker-0512": {"kernel.panic_on_oops": ("1", "0", "0")},
    }
    agents = [
        audit_document(name, "agent", values=odd_agents.get(name))
        for name in (f"worker-{i:04d}" for i in range(1, AGENTS + 1))
    ]
    return agents + servers  # servers last on disk: the report must still name cp-1 first


def rke2image() -> str:
    beside = Path(sys.executable).parent / "rke2image"
    if not beside.is_file():
        raise SystemExit("bench_fleet: rke2image not found beside this Python; run `make venv`")
    return str(beside)


def once(argv: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 1:  # the fleet has odd nodes: 1 is the expected exit
        raise SystemExit(f"bench_fleet: exit {result.returncode}:\n{result.stderr}")
    return elapsed, result.stdout


def measure(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rke2image-bench-fleet-") as tmp:
        files = write_fleet(Path(tmp), documents())
        argv = [rke2image(), "fleet", "--now", NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), tmp]
        _, first_output = once(argv)  # warm the page cache
        samples = [once(argv)[0] for _ in range(runs)]
    return {
        "runs": runs,
        "files": len(files),
        "median_s": round(statistics.median(samples), 4),
        "max_s": round(max(samples), 4),
        "first_line": first_output.splitlines()[0],
        "last_line": first_output.splitlines()[-1],
        "machine": machine(),
    }


def report(result: dict[str, Any]) -> None:
    median = result["median_s"]
    named_first = result["first_line"].startswith("server cp-1: kernel.panic live is 0")
    print(f"fleet: cold process per run, median of {result['runs']} runs")
    print("| case | median | max | target |")
    print("|---|---|---|---|")
    print(
        f"| `rke2image fleet`, {result['files']} node files | {median:.3f} s "
        f"| {result['max_s']:.3f} s | < {SECONDS_TARGET} s: "
        f"{'met' if median < SECONDS_TARGET else 'MISSED'} |"
    )
    print(
        f"first line ({'odd master named first' if named_first else 'NOT the odd master'}): "
        f"{result['first_line']}"
    )
    print(f"last line: {result['last_line']}")
    mach = result["machine"]
    print(f"machine: {mach['nproc']} CPUs, {mach['cpu']}, Python {mach['python']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--runs",
        type=int,
        default=int(os.environ.get("RKE2IMAGE_BENCH_RUNS", "10")),
        help="runs (default: $RKE2IMAGE_BENCH_RUNS or 10)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    result = measure(args.runs)
    print(json.dumps(result, indent=2)) if args.json else report(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
