"""Benchmark: render a 1,000-node Cluster end to end (load, validate, render, write).

Target: under 3 s on a 2-core machine. Run from the repository root:

    PYTHONPATH=src python3 bench/bench_render.py [--nodes 1000] [--repeat 3] [--dir /dev/shm]

It writes a Cluster spec with N nodes (3 servers, the rest agents) to a
temporary folder, then times ``rke2image render SPEC -o OUT`` in-process, the
way the CLI runs it, and prints each phase: into a new OUT (--repeat times) and
once over an existing OUT. Not a test: no assertion on time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml
from clusters import cluster_document

from rke2image.render import render_node, write_outputs
from rke2image.spec import load_nodes


def run_once(spec: Path, out: Path) -> dict[str, float]:
    times: dict[str, float] = {}
    start = time.perf_counter()
    specs = load_nodes([spec])
    times["load+validate"] = time.perf_counter() - start
    mark = time.perf_counter()
    rendered = [render_node(node) for node in specs]
    times["render"] = time.perf_counter() - mark
    mark = time.perf_counter()
    write_outputs(rendered, out)
    times["write"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - start
    assert len(rendered) == len(specs)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="where to write (default: the system temporary folder); "
        "/dev/shm takes the disk out of the figure",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        spec = Path(tmp, "cluster.yaml")
        spec.write_text(yaml.safe_dump(cluster_document(3, args.nodes - 3), sort_keys=False))
        for attempt in range(1, args.repeat + 1):
            times = run_once(spec, Path(tmp, f"out-{attempt}"))
            report(f"run {attempt} (new OUT)", args.nodes, times)
        # Re-rendering over an earlier output also deletes the old tree.
        report("re-render (replace OUT)", args.nodes, run_once(spec, Path(tmp, "out-1")))


def report(label: str, nodes: int, times: dict[str, float]) -> None:
    phases = "  ".join(f"{name} {seconds:.2f}s" for name, seconds in times.items())
    print(f"{label}: {nodes} nodes: {phases}")


if __name__ == "__main__":
    main()
