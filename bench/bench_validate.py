"""Benchmark: a cold ``rke2image validate`` against ``check-jsonschema``, in one run.

Why: the validator runs in pull requests and as a pre-commit hook, so a cold
start must stay cheap. Targets (issue 2): one spec in at most half of
check-jsonschema's time on the same schema and file; a 1,000-node Cluster in
under 2 s on a 2-core machine. Cold = a new process per run, through the
installed console scripts (``make venv`` installs both). Runs are interleaved
so machine noise hits both tools alike. Not a test: figures only, no assertion.

    .venv/bin/python bench/bench_validate.py [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from clusters import cluster_document
from machine import machine

REPO = Path(__file__).resolve().parents[1]
NODE_SPEC = REPO / "examples" / "node.yaml"
SERVERS, AGENTS = 3, 997
ONE_SPEC_RATIO_TARGET = 0.5
CLUSTER_SECONDS_TARGET = 2.0


def tool(name: str) -> str:
    """The console script beside this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        raise SystemExit(
            f"bench_validate: {name} not found; run `make venv` and use .venv/bin/python"
        )
    return found


def prepare(folder: Path, rke2image: str) -> dict[str, Path]:
    """Write the schema (as `rke2image schema` prints it), the node spec and the cluster."""
    schema = folder / "node-spec.schema.json"
    schema.write_text(
        subprocess.run([rke2image, "schema"], check=True, capture_output=True, text=True).stdout,
        encoding="utf-8",
    )
    node = folder / "node.yaml"
    shutil.copy(NODE_SPEC, node)
    cluster = folder / "cluster.yaml"
    cluster.write_text(
        yaml.safe_dump(cluster_document(SERVERS, AGENTS), sort_keys=False), encoding="utf-8"
    )
    return {"schema": schema, "node": node, "cluster": cluster}


def once(argv: list[str]) -> float:
    """Wall time of one cold run, in seconds; a failing run stops the benchmark."""
    start = time.perf_counter()
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(
            f"bench_validate: {' '.join(argv)} exited {result.returncode}:\n"
            f"{result.stderr.decode(errors='replace')}"
        )
    return elapsed


def measure(runs: int) -> dict[str, Any]:
    rke2image, checker = tool("rke2image"), tool("check-jsonschema")
    with tempfile.TemporaryDirectory(prefix="rke2image-bench-") as tmp:
        files = prepare(Path(tmp), rke2image)
        commands = {
            (case, name): argv
            for case in ("node", "cluster")
            for name, argv in (
                ("rke2image", [rke2image, "validate", str(files[case])]),
                (
                    "check-jsonschema",
                    [checker, "--schemafile", str(files["schema"]), str(files[case])],
                ),
            )
        }
        for argv in commands.values():  # warm the page cache; also proves both accept the files
            once(argv)
        samples: dict[tuple[str, str], list[float]] = {key: [] for key in commands}
        for _ in range(runs):
            for key, argv in commands.items():
                samples[key].append(once(argv))
    median = {key: statistics.median(values) for key, values in samples.items()}
    return {
        "runs": runs,
        "median_s": {f"{case}/{name}": round(s, 4) for (case, name), s in median.items()},
        "node_ratio": round(median["node", "rke2image"] / median["node", "check-jsonschema"], 3),
        "cluster_s": round(median["cluster", "rke2image"], 4),
        "machine": machine(),
    }


def report(result: dict[str, Any]) -> None:
    m = result["median_s"]
    ratio, cluster = result["node_ratio"], result["cluster_s"]
    print(f"validate: cold process per run, median of {result['runs']} interleaved runs")
    print("| case | rke2image validate | check-jsonschema | ratio | target |")
    print("|---|---|---|---|---|")
    print(
        f"| one NodeSpec | {m['node/rke2image']:.3f} s | {m['node/check-jsonschema']:.3f} s "
        f"| {ratio:.2f} | ratio <= {ONE_SPEC_RATIO_TARGET}: "
        f"{'met' if ratio <= ONE_SPEC_RATIO_TARGET else 'MISSED'} |"
    )
    print(
        f"| Cluster, {SERVERS + AGENTS} nodes | {cluster:.3f} s "
        f"| {m['cluster/check-jsonschema']:.3f} s "
        f"| {cluster / m['cluster/check-jsonschema']:.2f} | < {CLUSTER_SECONDS_TARGET} s: "
        f"{'met' if cluster < CLUSTER_SECONDS_TARGET else 'MISSED'} |"
    )
    mach = result["machine"]
    print(f"machine: {mach['nproc']} CPUs, {mach['cpu']}, Python {mach['python']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    default_runs = int(os.environ.get("RKE2IMAGE_BENCH_RUNS", "10"))
    parser.add_argument(
        "--runs",
        type=int,
        default=default_runs,
        help="runs per command (default: $RKE2IMAGE_BENCH_RUNS or 10)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    result = measure(args.runs)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        report(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
