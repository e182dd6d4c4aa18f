"""Benchmark: the shell preflight against an equivalent Python check, in one run.

Why: the preflight runs before every start of rke2-server/rke2-agent, so it
must cost next to nothing (target: median under 5 ms under dash, and at most
half of what the same check costs in Python). Both are measured here on the same
compliant fake node (six kernel parameters, the etcd user and group, swap),
interleaved so that machine noise hits both alike. Not a test: no assertion on
time, only figures.

    PYTHONPATH=src python3 bench/bench_preflight.py [--runs N] [--json]

``--runs`` defaults to $RKE2IMAGE_BENCH_RUNS (set by bench/run.py), else 200.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import machine

from rke2image import resources
from rke2image.kernel import REQUIRED_PARAMETERS

# The same check in Python, as a node-side Python preflight would do it.
PYTHON_CHECK = r"""
import sys
conf, tree, passwd, group, swaps = sys.argv[1:6]
want = {}
for line in open(conf, encoding="utf-8"):
    line = line.strip()
    if not line or line[0] in "#;" or "=" not in line:
        continue
    key, value = (part.strip() for part in line.split("=", 1))
    key = key.lstrip("-").strip()
    first = min((i for i in (key.find("."), key.find("/")) if i >= 0), default=-1)
    if first >= 0 and key[first] == ".":
        key = key.translate(str.maketrans("./", "/."))
    want[key] = " ".join(value.split())
bad = 0
for path, value in want.items():
    with open(f"{tree}/{path}", encoding="ascii") as f:
        actual = " ".join(f.read().split())
    if actual != value:
        print(f"invalid kernel flag: {path}, expected value: {value}, actual value: {actual}",
              file=sys.stderr)
        bad += 1
def has(table, name):
    return any(line.split(":", 1)[0] == name for line in open(table, encoding="utf-8"))
bad += not has(passwd, "etcd")
bad += not has(group, "etcd")
bad += len([l for l in open(swaps, encoding="ascii").read().splitlines()[1:] if l.strip()])
print(f"ok: {len(want)} kernel parameters" if not bad else f"{bad} problems")
sys.exit(1 if bad else 0)
"""


def make_node(folder: Path) -> dict[str, str]:
    """A compliant fake node; returns the paths the two checks take."""
    tree = folder / "proc-sys"
    for p in REQUIRED_PARAMETERS:
        target = tree / p.kubelet_flag
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(p.value + "\n", encoding="ascii")
    conf = folder / "99-zz-rke2image.conf"
    header = "# Managed by rke2image: do not edit, re-render from the node spec.\n" * 4
    conf.write_text(header + "".join(f"{p.key} = {p.value}\n" for p in REQUIRED_PARAMETERS))
    passwd = folder / "passwd"
    passwd.write_text(Path("/etc/passwd").read_text() + "etcd:x:999:999::/:/sbin/nologin\n")
    group = folder / "group"
    group.write_text(Path("/etc/group").read_text() + "etcd:x:999:\n")
    swaps = folder / "swaps"
    swaps.write_text("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n")
    script = folder / "preflight"
    script.write_text(resources.read_text("templates", "preflight.sh"))
    script.chmod(0o755)
    paths = {"tree": tree, "conf": conf, "passwd": passwd, "group": group, "swaps": swaps}
    return {name: str(path) for name, path in {**paths, "script": script}.items()}


def spawn_ns(argv: list[str], env: dict[str, str]) -> int:
    """Wall time of one run in ns (posix_spawn: the cheapest launch Python has)."""
    actions = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_WRONLY, 0) for fd in (1, 2)]
    start = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter_ns() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark run failed (not compliant?): {argv}")
    return elapsed


def commands(node: dict[str, str]) -> dict[str, list[str]]:
    flags = ["--sysctl-file", node["conf"], "--proc-sys", node["tree"]]
    flags += ["--require-user", "etcd", "--require-group", "etcd", "--no-swap"]
    files = [node[k] for k in ("conf", "tree", "passwd", "group", "swaps")]
    py = sys.executable
    dash = shutil.which("dash")
    if dash is None:
        raise SystemExit("dash is not installed")
    return {
        "dash remediate (default)": [dash, node["script"], *flags],
        "dash enforce": [dash, node["script"], "--mode", "enforce", *flags],
        "python3 -c": [py, "-c", PYTHON_CHECK, *files],
        "python3 -I -S -c": [py, "-I", "-S", "-c", PYTHON_CHECK, *files],
        "baseline /bin/true": [shutil.which("true") or "/bin/true"],
    }


def measure(runs: int) -> dict[str, Any]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    with tempfile.TemporaryDirectory(prefix="rke2image-bench-") as tmp:
        node = make_node(Path(tmp))
        env.update(RKE2IMAGE_PASSWD=node["passwd"], RKE2IMAGE_GROUP=node["group"])
        env["RKE2IMAGE_SWAPS"] = node["swaps"]
        cmds = commands(node)
        samples: dict[str, list[int]] = {name: [] for name in cmds}
        for _ in range(5):  # warm the page cache and the shells
            for argv in cmds.values():
                spawn_ns(argv, env)
        for _ in range(runs):  # interleaved: noise hits every command alike
            for name, argv in cmds.items():
                samples[name].append(spawn_ns(argv, env))
    medians = {name: statistics.median(s) / 1e6 for name, s in samples.items()}
    return {
        "runs": runs,
        "median_ms": {name: round(ms, 3) for name, ms in medians.items()},
        "dash_over_python": round(
            medians["dash remediate (default)"] / medians["python3 -I -S -c"], 3
        ),
        "machine": machine(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    default_runs = int(os.environ.get("RKE2IMAGE_BENCH_RUNS") or 200)
    parser.add_argument("--runs", type=int, default=default_runs)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.runs)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"preflight benchmark, {args.runs} interleaved runs each, median wall time")
    for name, ms in result["median_ms"].items():
        print(f"  {name:28} {ms:8.3f} ms")
    print(f"  dash remediate / python3 -I -S: {result['dash_over_python']}")
    print(f"  machine: {result['machine']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
