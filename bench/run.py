"""Run every bench/bench_*.py, each in its own process, and sum them up in one table.

Why a subprocess per benchmark: each one measures cold starts and sets up its
own temporary files, and one that fails must not hide the others. Each prints
its own lines (streamed as it goes); this script adds the machine, a heading
per benchmark and a closing table of exit code and wall time. Not a test.

    .venv/bin/python bench/run.py [--runs N] [NAME ...]

``NAME`` picks benchmarks by name (``validate`` runs bench_validate.py).
``--runs`` is exported as RKE2IMAGE_BENCH_RUNS for the benchmarks that read it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from machine import cpu_model

BENCH = Path(__file__).resolve().parent
SRC = BENCH.parent / "src"


def discover(names: list[str]) -> list[Path]:
    found = sorted(BENCH.glob("bench_*.py"))
    if names:
        found = [p for p in found if p.stem.removeprefix("bench_") in names]
    return found


def environment(runs: int | None) -> dict[str, str]:
    """The child environment: the checkout's src/ only if rke2image is not installed."""
    env = dict(os.environ)
    if importlib.util.find_spec("rke2image") is None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    if runs is not None:
        env["RKE2IMAGE_BENCH_RUNS"] = str(runs)
    return env


def machine() -> str:
    return (
        f"{os.cpu_count()} CPUs, {cpu_model()}, Python {platform.python_version()} "
        f"({sys.executable}), {platform.system()} {platform.release()}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="only these benchmarks")
    parser.add_argument("--runs", type=int, help="exported as RKE2IMAGE_BENCH_RUNS")
    args = parser.parse_args()
    scripts = discover(args.names)
    if not scripts:
        print(f"run.py: no benchmark matches {args.names}", file=sys.stderr)
        return 2
    env = environment(args.runs)
    print(f"machine: {machine()}", flush=True)
    rows = []
    for script in scripts:
        print(f"\n== {script.name}", flush=True)
        start = time.perf_counter()
        code = subprocess.run([sys.executable, str(script)], env=env, check=False).returncode
        rows.append((script.name, code, time.perf_counter() - start))
    print("\n| benchmark | exit | wall time |\n|---|---|---|")
    for name, code, seconds in rows:
        print(f"| {name} | {code} | {seconds:.1f} s |")
    return 1 if any(code != 0 for _, code, _ in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
