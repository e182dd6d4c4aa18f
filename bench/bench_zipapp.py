"""Benchmark: a cold `audit` from the zipapp beside the installed command's.

Why: the zipapp is what an operator copies onto a down master; it must start about as
fast as ``pip install rke2image`` would (target: within 1.3 times the installed
command's cold start). Python never writes bytecode for modules imported from a zip,
so the zipapp unpacks itself once into ~/.cache/rke2image and imports from there
(src/rke2image/_zipapp.py); the "from the zip itself" case shows what that saves, the
"first start" case what the unpacking costs once. Not a test: figures only.

    .venv/bin/python bench/bench_zipapp.py [--runs N] [--json] [--zipapp PATH]

Every case is the same audit (an RKE2-shaped root, the real /proc/sys, ``--format
json``) through the same interpreter, a new process per run, the cases interleaved so
that machine noise hits them alike; medians of wall and CPU time. Without --zipapp it
runs scripts/dist.py into a temporary folder first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_audit import cold, command, rke2_root
from machine import machine

REPO = Path(__file__).resolve().parents[1]
TARGET = 1.3


def build_zipapp(out: Path) -> Path:
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "dist.py"), "--out", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (zipapp,) = out.glob("rke2image-*.pyz")
    return zipapp


def with_home(home: Path | str, argv: list[str]) -> list[str]:
    """argv with HOME set (through env, for every case alike)."""
    return ["env", f"HOME={home}", "XDG_CACHE_HOME=", *argv]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("RKE2IMAGE_BENCH_RUNS", 10)))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--zipapp", type=Path)
    parser.add_argument(
        "--installed", help="the installed command to compare with (default: this venv's)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp)
        zipapp = args.zipapp or build_zipapp(base / "dist")
        root = rke2_root(base / "node", 0)
        audit = ["audit", "--root", str(root), "--proc-sys", "/proc/sys", "--format", "json"]
        warm_home = base / "home"
        warm_home.mkdir()
        zipped = [sys.executable, "-I", str(zipapp), *audit]
        installed = [args.installed] if args.installed else command()
        cases: dict[str, list[str]] = {
            "installed rke2image audit": with_home(warm_home, [*installed, *audit]),
            "zipapp, unpacked cache": with_home(warm_home, zipped),
            # a home that is a file: no cache can be made, it imports from the zip
            "zipapp, from the zip itself": with_home(os.devnull, zipped),
        }
        for argv in cases.values():  # warm the page cache; unpack the zipapp once
            cold(argv)
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        first: list[tuple[float, float]] = []
        for run in range(args.runs):
            for name, argv in cases.items():
                seconds, code, _, cpu = cold(argv)
                if code not in (0, 1):
                    print(f"{name}: exit {code}: {' '.join(argv)}", file=sys.stderr)
                    return 2
                results[name].append((seconds, cpu))
            fresh = base / f"fresh-{run}"
            fresh.mkdir()
            seconds, _, _, cpu = cold(with_home(fresh, zipped))
            first.append((seconds, cpu))
        results["zipapp, first start (unpacks)"] = first
        size = zipapp.stat().st_size
    figures = {
        name: {
            "median_seconds": statistics.median(s for s, _ in runs),
            "median_cpu_seconds": statistics.median(c for _, c in runs),
        }
        for name, runs in results.items()
    }
    reference = figures["installed rke2image audit"]["median_seconds"]
    for name, figure in figures.items():
        ratio = figure["median_seconds"] / reference
        print(
            f"{name:<34} median wall {figure['median_seconds'] * 1000:7.1f} ms"
            f"  cpu {figure['median_cpu_seconds'] * 1000:7.1f} ms  x{ratio:.2f}"
        )
    ratio = figures["zipapp, unpacked cache"]["median_seconds"] / reference
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"zipapp / installed: {ratio:.2f} (target <= {TARGET}: {verdict}); {args.runs} runs")
    print(f"zipapp: {size:,} bytes")
    if args.json:
        print(json.dumps({"machine": machine(), "ratio": ratio, "cases": figures}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
